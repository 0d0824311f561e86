import CMalloc
import Dispatch
import Log

/// Gives memory freed after a load back to the system.
///
/// glibc keeps freed heap pages for reuse, so after a burst of calls (PJSIP
/// holds each call's transactions for 32 s after its BYE) resident memory
/// would stay at its peak. Every 10 s, when more than 16 MiB of the heap is
/// free, `malloc_trim(0)` returns the free pages of every arena
/// (https://man7.org/linux/man-pages/man3/malloc_trim.3.html). It runs on a
/// queue of its own, never on the SIP thread.
final class MemoryTrim {
    private let timer: DispatchSourceTimer
    static let threshold = 16 << 20

    init() {
        let log = Logger("memory")
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "omnigate.memory", qos: .utility))
        timer.schedule(deadline: .now() + 10, repeating: 10, leeway: .seconds(1))
        timer.setEventHandler {
            let free = Int(mallinfo2().fordblks)
            guard free > MemoryTrim.threshold else { return }
            let released = malloc_trim(0) != 0
            if log.isEnabled(.debug) {
                log.debug("heap trimmed", ("free_before", free), ("free_after", Int(mallinfo2().fordblks)), ("released", released))
            }
        }
        timer.resume()
    }

    func stop() { timer.cancel() }
}
