import Dispatch
import Synchronization

/// The callers waiting in one queue, in order: higher priority first
/// (Asterisk's QUEUE_PRIO), then first come, first served.
///
/// The turn is the first caller in line that is not ringing an agent right
/// now: only it is offered agents. A caller that rings someone steps aside
/// and keeps its place, so the next caller can be offered another free agent
/// meanwhile (Asterisk's `autofill`); if nobody answers it steps back in,
/// ahead of those who came after it. Waiting is event-driven: a caller's task
/// sleeps until it has the turn and something changed that could free an
/// agent (`agentsChanged`), or it is woken (it hung up, the queue emptied).
/// Nothing polls.
final class WaitingLine: Sendable {
    struct Entry {
        let ticket: UInt64
        let priority: Int
        let joined: ContinuousClock.Instant
        var waiter: CheckedContinuation<Void, Never>?
        /// Set when the caller was given the turn and has not waited since: a
        /// turn that came while it was busy (playing an announcement) is not lost.
        var pending = false
        /// Ringing agents: out of the turn, in its place.
        var ringing = false
    }

    private struct State {
        var entries: [Entry] = []
        var nextTicket: UInt64 = 1
        /// Callers who were answered, and how long each waited (for the expected wait).
        var averageWait: Duration?
    }

    let queue: String
    private let state = Mutex(State())

    init(queue: String) { self.queue = queue }

    /// Joins the line; the ticket is used for every later step.
    func join(priority: Int = 0, now: ContinuousClock.Instant = .now) -> UInt64 {
        state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            // Behind everyone of the same or a higher priority.
            let index = state.entries.firstIndex { $0.priority < priority } ?? state.entries.count
            state.entries.insert(Entry(ticket: ticket, priority: priority, joined: now), at: index)
            // A caller who takes the turn (an empty line, or a jump ahead) gets it at once.
            if Self.turn(in: state) == index { state.entries[index].pending = true }
            return ticket
        }
    }

    /// Leaves the line (answered, gave up, hung up): a wait of its own ends,
    /// and when it had the turn, the next caller gets it.
    func leave(_ ticket: UInt64) {
        let wake = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return [] }
            let hadTurn = Self.turn(in: state) == index
            let leaving = state.entries.remove(at: index)
            var wake = leaving.waiter.map { [$0] } ?? []
            if hadTurn, let next = Self.giveTurn(&state) { wake.append(next) }
            return wake
        }
        wake.forEach { $0.resume() }
    }

    /// The caller rings agents: the next caller in line gets the turn.
    func stepAside(_ ticket: UInt64) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return nil }
            state.entries[index].ringing = true
            state.entries[index].pending = false
            return Self.giveTurn(&state)
        }
        wake?.resume()
    }

    /// Nobody answered the caller: back in its place; if that is the turn, it
    /// may try again at once.
    func stepBack(_ ticket: UInt64) {
        state.withLock { state in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return }
            state.entries[index].ringing = false
            if Self.turn(in: state) == index { state.entries[index].pending = true }
        }
    }

    /// 1 for the first in line; nil when the ticket is not in it.
    func position(of ticket: UInt64) -> Int? {
        state.withLock { state in state.entries.firstIndex { $0.ticket == ticket }.map { $0 + 1 } }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// True when this caller has the turn now (the first in line not ringing agents).
    func hasTurn(_ ticket: UInt64) -> Bool {
        state.withLock { state in Self.turn(in: state).map { state.entries[$0].ticket == ticket } ?? false }
    }

    /// How long the caller who has waited longest has waited (zero when nobody waits).
    func longestWait(now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in state.entries.map { now - $0.joined }.max() ?? .zero }
    }

    /// Callers whose task is parked in `waitForTurn` now.
    var parked: Int { state.withLock { $0.entries.filter { $0.waiter != nil }.count } }

    /// A caller was answered after waiting `waited`: the expected wait follows,
    /// weighted as Asterisk's holdtime (three parts the old, one part the new).
    func answered(after waited: Duration) {
        state.withLock { state in
            state.averageWait = state.averageWait.map { ($0 * 3 + waited) / 4 } ?? waited
        }
    }

    /// How long a caller who joins now can expect to wait; nil until a caller was answered.
    var expectedWait: Duration? { state.withLock { $0.averageWait } }

    /// Something changed that may let the caller with the turn be served (an
    /// agent freed, logged in, unpaused, registered): it is woken.
    func agentsChanged() {
        let wake = state.withLock { state in Self.giveTurn(&state) }
        wake?.resume()
    }

    /// Ends this caller's wait now (it hung up).
    func wake(_ ticket: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return nil }
            defer { state.entries[index].waiter = nil }
            return state.entries[index].waiter
        }
        waiter?.resume()
    }

    /// Wakes every waiting caller, to look again at whether to stay (a member
    /// logged out or paused: `leavewhenempty`).
    func wakeAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { for index in state.entries.indices { state.entries[index].waiter = nil } }
            return state.entries.compactMap(\.waiter)
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits until this caller has the turn and was given it since it last
    /// looked, or until it is woken, or `timeout`. True when it has the turn.
    func waitForTurn(_ ticket: UInt64, timeout: Duration) async -> Bool {
        if takePending(ticket) { return true }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { state in
                guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return true }
                if state.entries[index].pending { return true }
                state.entries[index].waiter = continuation
                return false
            }
            if now { continuation.resume(); return }
            Deadlines.queue.asyncAfter(deadline: .now() + timeout.timeInterval) { [weak self] in self?.wake(ticket) }
        }
        return takePending(ticket)
    }

    private func takePending(_ ticket: UInt64) -> Bool {
        state.withLock { state in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }), state.entries[index].pending else { return false }
            state.entries[index].pending = false
            return Self.turn(in: state) == index
        }
    }

    /// The index of the caller with the turn: the first not ringing.
    private static func turn(in state: State) -> Int? { state.entries.firstIndex { !$0.ringing } }

    /// Gives the turn to whoever has it now; its waiter to resume, if it waits.
    private static func giveTurn(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard let index = turn(in: state) else { return nil }
        state.entries[index].pending = true
        if let waiter = state.entries[index].waiter {
            state.entries[index].waiter = nil
            return waiter
        }
        return nil
    }
}

/// Every queue's waiting line, made when its first caller arrives.
final class WaitingLines: Sendable {
    private let lines = Mutex<[String: WaitingLine]>([:])

    func line(for queue: String) -> WaitingLine {
        lines.withLock { lines in
            if let line = lines[queue] { return line }
            let line = WaitingLine(queue: queue)
            lines[queue] = line
            return line
        }
    }

    /// The line of `queue` if anyone ever waited in it.
    func existing(_ queue: String) -> WaitingLine? { lines.withLock { $0[queue] } }
}
