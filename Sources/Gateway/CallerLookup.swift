import Dispatch
import Foundation
import Synchronization
import Timeline

/// The caller's record in the customer store, looked up once per call as soon
/// as the INVITE arrives, so it is usually ready before anyone needs it (the
/// dialplan's CONTACT(), the screen pop). Whoever needs it waits at most the
/// configured budget; a slow or failed store never holds up a call.
final class CallerLookup: Sendable {
    private let task: Task<Result<TimelinePop, LookupFailure>, Never>
    private let startedAt = ContinuousClock.now

    init(access: StoreAccess, caller: String) {
        task = Task { await access.read(budget: .seconds(30)) { try $0.screenPop(for: caller) } }
    }

    /// The pop if it is ready within `budget`, or why not.
    func value(within budget: Duration) async -> Result<TimelinePop, LookupFailure> {
        let answer = FirstAnswer<Result<TimelinePop, LookupFailure>>()
        Task { answer.give(await task.value) }
        Deadlines.queue.asyncAfter(deadline: .now() + budget.timeInterval) { answer.give(.failure(.timedOut(budget))) }
        return await answer.value()
    }
}

extension CallerLookup {
    /// Answers the dialplan's `CONTACT(field)`: the store's value, empty when
    /// the store did not answer within `budget`, nil for a field that does not exist.
    func field(_ name: String, within budget: Duration) async -> String? {
        switch await value(within: budget) {
        case .success(let pop): pop.field(name)
        case .failure: TimelinePop.fields.contains(name.lowercased()) ? "" : nil
        }
    }
}

extension CallerContext {
    /// The agent-facing summary of a store pop.
    init(_ pop: TimelinePop, now: Date = Date()) {
        self.init()
        known = pop.known
        contactID = pop.contact?.id
        name = pop.contact?.name
        tier = pop.contact?.tier
        lastAgent = pop.summary.lastAgent
        if let last = pop.recent.first {
            let about = last.subject ?? last.summary ?? ""
            lastInteraction = "\(last.channel.rawValue) \(Self.ago(last.time, now: now))" + (about.isEmpty ? "" : ": \(about)")
        }
        document = pop
    }

    /// "5m ago", "3h ago", "2d ago".
    static func ago(_ date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "just now"
        case ..<3600: return "\(seconds / 60)m ago"
        case ..<86_400: return "\(seconds / 3600)h ago"
        default: return "\(seconds / 86_400)d ago"
        }
    }

    /// The one-line header for plain softphones: `name="Ada Lovelace"; tier=vip; last="chat 2h ago: Refund"`.
    var summaryHeader: String {
        func quoted(_ s: String) -> String {
            "\"" + String(s.prefix(120)).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var parts: [String] = []
        parts.append("name=" + quoted(name ?? (known ? "" : "unknown caller")))
        if let tier { parts.append("tier=\(tier.filter { $0.isLetter || $0.isNumber || $0 == "-" })") }
        if let lastInteraction { parts.append("last=" + quoted(lastInteraction)) }
        return parts.joined(separator: "; ")
    }
}
