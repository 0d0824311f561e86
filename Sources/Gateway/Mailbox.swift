import Dispatch
import SIPEngine
import Synchronization

/// The engine events of one call (its inbound leg and the legs it places),
/// waited for by the call's task.
///
/// The engine thread `post`s without blocking; the call's task `wait`s for the
/// first event matching a predicate, with a timeout. Events nobody waits for
/// yet are kept (DTMF typed ahead, a leg that answered while a prompt played),
/// up to `capacity`. The inbound leg's end is never consumed: once the caller
/// hangs up, every wait returns it at once.
final class Mailbox: Sendable {
    private struct Waiter {
        let id: UInt64
        let matches: @Sendable (SIPEvent) -> Bool
        let continuation: CheckedContinuation<SIPEvent?, Never>
        /// False for a wait that goes on after the caller hung up (a recording's end).
        let endsOnHangup: Bool
    }

    private struct State {
        var events: [SIPEvent] = []
        var waiters: [Waiter] = []
        var hangup: SIPEvent?
        var nextWaiter: UInt64 = 0
        var hangupObservers: [@Sendable () -> Void] = []
        /// Legs placed by this call that have ended, whoever took their last event.
        var ended: Set<CallID> = []
    }

    let inbound: CallID
    private let capacity: Int
    private let state = Mutex(State())

    init(inbound: CallID, capacity: Int = 256) {
        self.inbound = inbound
        self.capacity = capacity
    }

    /// The caller's hangup, once it happened.
    var hangup: SIPEvent? { state.withLock { $0.hangup } }

    /// Hands an event to the waiter it matches, or keeps it. Never blocks.
    func post(_ event: SIPEvent) {
        var resume: [(CheckedContinuation<SIPEvent?, Never>, SIPEvent)] = []
        var observers: [@Sendable () -> Void] = []
        defer { observers.forEach { $0() } }
        state.withLock { state in
            if case .callState(inbound, .disconnected) = event {
                state.hangup = event
                resume = state.waiters.filter(\.endsOnHangup).map { ($0.continuation, event) }
                state.waiters.removeAll(where: \.endsOnHangup)
                observers = state.hangupObservers
                state.hangupObservers.removeAll()
                return
            }
            if case .callState(let leg, .disconnected) = event { state.ended.insert(leg) }
            if let index = state.waiters.firstIndex(where: { $0.matches(event) }) {
                resume.append((state.waiters.remove(at: index).continuation, event))
                return
            }
            state.events.append(event)
            if state.events.count > capacity { state.events.removeFirst(state.events.count - capacity) }
        }
        for (continuation, event) in resume { continuation.resume(returning: event) }
    }

    /// Whether a leg this call placed has ended (its end may have been taken by another wait).
    func hasEnded(_ leg: CallID) -> Bool { state.withLock { $0.ended.contains(leg) } }

    /// The first event matching `predicate` (kept ones first), the caller's
    /// hangup, or nil after `timeout`. With `afterHangup`, the caller's hangup
    /// does not end the wait: for what still comes after it (a recording's end,
    /// the other legs' ends).
    func wait(timeout: Duration? = nil, afterHangup: Bool = false,
              _ predicate: @escaping @Sendable (SIPEvent) -> Bool) async -> SIPEvent? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<SIPEvent?, Never>) in
            let immediate: SIPEvent?? = state.withLock { state in
                // An event that came before the hangup is returned first: under load the caller's BYE can
                // arrive before this wait begins, and an ACK already queued still means the call was answered.
                if let index = state.events.firstIndex(where: predicate) { return .some(state.events.remove(at: index)) }
                if !afterHangup, let hangup = state.hangup { return .some(hangup) }
                if timeout.map({ $0 <= .zero }) == true { return .some(nil) }
                state.waiters.append(Waiter(id: id, matches: predicate, continuation: continuation, endsOnHangup: !afterHangup))
                return .none
            }
            if let immediate {
                continuation.resume(returning: immediate)
                return
            }
            if let timeout {
                Deadlines.queue.asyncAfter(deadline: .now() + timeout.timeInterval) { [weak self] in self?.expire(id) }
            }
        }
    }

    /// Runs `observer` once the caller hangs up (at once if it already has):
    /// for waits that are not on this mailbox, such as a queue's line.
    func onHangup(_ observer: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.hangup != nil { return true }
            state.hangupObservers.append(observer)
            return false
        }
        if now { observer() }
    }

    /// Takes every kept event matching `predicate` without waiting.
    func drain(_ predicate: (SIPEvent) -> Bool) -> [SIPEvent] {
        state.withLock { state in
            let taken = state.events.filter(predicate)
            state.events.removeAll(where: predicate)
            return taken
        }
    }

    private func expire(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<SIPEvent?, Never>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(returning: nil)
    }
}
