import Foundation
import Synchronization
import Timeline

/// This process's run on the store, and the uniqueids it gives calls.
///
/// A uniqueid is `SYSTEM-RUN-SEQUENCE` (`pbx1-k3x9q2a7b1-42`): Asterisk's
/// `systemname` prefix, then a random run id drawn at start, then a sequence.
/// Two runs never share a run id (60 random bits), so ids repeat across no
/// restart, host or clock step: none of it depends on the time.
final class RunIdentity: Sendable {
    let run: GatewayRun
    private let sequence = Atomic<Int>(0)

    init(systemName: String?) {
        let name = Self.systemName(systemName)
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() >> 4  // 60 bits
        let id = String(random, radix: 36)
        run = GatewayRun(id: id, systemName: name, pid: getpid(), bootID: Self.bootID,
                         processStart: Self.processStart(getpid()) ?? 0, startedAt: Date())
    }

    /// The next call's uniqueid.
    func nextUniqueID() -> String {
        "\(run.systemName)-\(run.id)-\(sequence.add(1, ordering: .relaxed).newValue)"
    }

    /// True when `other` is over: stopped, or its process is gone (same host), or silent for
    /// 30 s (another host). This run is never over.
    func isOver(_ other: GatewayRun, now: Date = Date()) -> Bool {
        if other.id == run.id { return false }
        if other.stoppedAt != nil { return true }
        if !other.bootID.isEmpty && other.bootID == run.bootID {
            return Self.processStart(other.pid) != other.processStart
        }
        return now.timeIntervalSince(other.aliveAt) > 30
    }

    /// The configured name, or this host's, as letters, digits, '.', '-' and '_' (at most 32).
    static func systemName(_ configured: String?) -> String {
        if let configured { return configured }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let clean = String(host.prefix { $0 != "." }.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }.prefix(32))
        return clean.isEmpty ? "omnigate" : clean
    }

    /// This boot of this host (`/proc/sys/kernel/random/boot_id`).
    static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }()

    /// When process `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22); nil when it is gone.
    static func processStart(_ pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }
}
