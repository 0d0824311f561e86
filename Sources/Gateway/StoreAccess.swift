import Dispatch
import Foundation
import Log
import Synchronization
import Timeline

/// The gateway's way to the customer store: writes queued in order on one
/// serial queue (a call never waits for a write), reads time-boxed.
///
/// A write that finds the store locked by another process is retried for up
/// to a minute before it is given up and logged; a call record left open that
/// way is closed as interrupted at the next start, never lost silently.
final class StoreAccess: Sendable {
    let store: TimelineStore
    private let writes = DispatchQueue(label: "omnigate.store.writes")
    private let lookups = DispatchQueue(label: "omnigate.store.lookups", attributes: .concurrent)
    /// Lookups running now; beyond the limit a lookup is not started (the store is stuck).
    private let running = Atomic<Int>(0)
    private let maxRunningLookups = 8
    private let log = Logger("store")

    init(store: TimelineStore) {
        self.store = store
    }

    /// Queues a write; `what` names it in logs.
    func write(_ what: String, _ body: @escaping @Sendable (TimelineStore) throws -> Void,
               done: (@Sendable () -> Void)? = nil) {
        writes.async { [store, log] in
            defer { done?() }
            var delay = 0.05
            let deadline = Date().addingTimeInterval(60)
            while true {
                do {
                    try body(store)
                    return
                } catch let error as StoreError where error.isBusy && Date() < deadline {
                    Thread.sleep(forTimeInterval: delay)
                    delay = min(delay * 2, 2)
                } catch {
                    log.error("store write failed", ("what", what), ("error", String(describing: error)))
                    return
                }
            }
        }
    }

    /// Queues a write and waits (without blocking a thread) until it is committed or given up.
    func writeAndWait(_ what: String, _ body: @escaping @Sendable (TimelineStore) throws -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            write(what, body, done: { continuation.resume() })
        }
    }

    /// Waits until every queued write is done (at stop).
    func flush() { writes.sync {} }

    /// Runs a read on the lookup queue and returns its result, or nil after
    /// `budget` (the read goes on, and its result is dropped).
    func read<T: Sendable>(budget: Duration, _ body: @escaping @Sendable (TimelineStore) throws -> T) async -> Result<T, LookupFailure> {
        guard running.add(1, ordering: .relaxed).newValue <= maxRunningLookups else {
            running.subtract(1, ordering: .relaxed)
            return .failure(.busy)
        }
        return await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            lookups.async { [self] in
                let result: Result<T, LookupFailure>
                do { result = .success(try body(store)) } catch { result = .failure(.failed(String(describing: error))) }
                running.subtract(1, ordering: .relaxed)
                once.resume(result)
            }
            Deadlines.queue.asyncAfter(deadline: .now() + budget.timeInterval) {
                once.resume(.failure(.timedOut(budget)))
            }
        }
    }
}

/// Where deadlines fire: a serial queue of its own, which (unlike the global
/// queues and the task pool) gets a thread even when all the others are busy,
/// so a time budget holds under load.
enum Deadlines {
    static let queue = DispatchQueue(label: "omnigate.deadlines", qos: .userInteractive)
}

extension Duration {
    /// Seconds, for dispatch deadlines.
    var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}

/// A continuation resumed by whichever comes first, the answer or the deadline.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>
    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = Mutex(continuation) }
    func resume(_ value: T) { continuation.withLock { $0.take() }?.resume(returning: value) }
}

/// Why a store read gave no answer in time.
enum LookupFailure: Error, Sendable, CustomStringConvertible {
    case timedOut(Duration)
    case busy
    case failed(String)

    var description: String {
        switch self {
        case .timedOut(let budget):
            "store lookup exceeded its \(budget.components.seconds * 1000 + budget.components.attoseconds / 1_000_000_000_000_000) ms budget"
        case .busy: "store lookups are stuck; none started"
        case .failed(let error): "store lookup failed: \(error)"
        }
    }
}

extension StoreError {
    /// SQLite said the database is locked by someone else (SQLITE_BUSY or SQLITE_LOCKED).
    var isBusy: Bool {
        if case .sqlite(let code) = kind { return code & 0xff == 5 || code & 0xff == 6 }
        return false
    }
}
