import Configuration
import Foundation
import SIPEngine
import Synchronization
import Timeline

/// Whether an agent takes queue calls: what the agent (or a supervisor) sets.
public enum AgentPresence: Sendable, Equatable {
    case loggedOut
    case available
    case paused(reason: String)

    /// As stored and shown: `logged_out`, `available`, `paused`.
    public var name: String {
        switch self {
        case .loggedOut: "logged_out"
        case .available: "available"
        case .paused: "paused"
        }
    }

    init(name: String, reason: String) {
        switch name {
        case "logged_out": self = .loggedOut
        case "paused": self = .paused(reason: reason)
        default: self = .available
        }
    }
}

/// An agent as everyone sees it (the log, the store, and whatever subscribes
/// to `AgentRoster.changes`): one state, derived from what the agent set and
/// what its calls are doing.
public struct AgentStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case loggedOut = "logged_out", available, paused, ringing, onCall = "on_call", wrapUp = "wrap_up"
    }
    public var agent: String
    public var state: State
    public var presence: AgentPresence
    /// The queues the agent serves, in order (it takes their calls unless logged out or paused).
    public var queues: [String]
    /// Phones a call to the agent would ring now (configured contact and reachable registrations).
    public var phones: Int
    /// When `state` last changed.
    public var since: Date
    /// Rung, on a call or in wrap-up on this gateway (what it holds the agent for on a shared store).
    public var held = false
    /// When the presence or the queues last changed, and whether that change came from
    /// another gateway on the store (it is already saved there).
    public var presenceChangedAt = Date()
    public var adopted = false

    /// The part that survives a restart and that other gateways on the store follow.
    var saved: SavedAgentState {
        var reason = ""
        if case .paused(let why) = presence { reason = why }
        return SavedAgentState(agent: agent, presence: presence.name, reason: reason, queues: queues, changedAt: presenceChangedAt)
    }
}

/// Who can take a call right now, and which agents a queue rings next: the
/// one owner of agents' state.
///
/// Each agent has a presence it sets (logged out, available, paused with a
/// reason), the queues it is logged in to, its phones, and what its calls do
/// (ringing, on a call, wrap-up after a queue call). Queues pick agents from
/// here by their strategy. Every change of an agent's status is sent to
/// `changes` (and to `onChange`, which the gateway uses to keep the store and
/// the waiting lines up to date). Shared by every call and guarded by a
/// mutex; nothing in it blocks.
public final class AgentRoster: Sendable {
    public struct AgentState: Sendable, Equatable {
        public var agent: Agent
        public var presence: AgentPresence = .available
        /// The queues the agent is logged in to.
        public var queues: [String] = []
        /// Legs ringing the agent now, and calls it is on.
        public var ringing = 0
        public var onCall = 0
        public var wrapUpUntil: ContinuousClock.Instant?
        public var lastCallEnded: ContinuousClock.Instant?
        public var callsTaken = 0
        /// Held by another gateway on a shared store (rung, on a call or in wrap-up there).
        public var elsewhere = false
        var state: AgentStatus.State = .available
        var since = Date()
        var presenceChangedAt = Date()
        /// The presence came from another gateway through the store.
        var adopted = false

        /// Rung or on a call, here or on another gateway: not offered another call.
        public var engaged: Bool { ringing > 0 || onCall > 0 || elsewhere }
        /// Rung, on a call or in wrap-up on this gateway.
        func heldHere(_ now: ContinuousClock.Instant) -> Bool { ringing > 0 || onCall > 0 || inWrapUp(now) }
        func inWrapUp(_ now: ContinuousClock.Instant) -> Bool { wrapUpUntil.map { $0 > now } ?? false }
    }

    private struct State {
        var agents: [String: AgentState] = [:]
        var order: [String] = []
        var queues: [String: Queue] = [:]
        /// Per queue: the member who took its last call (for roundrobin).
        var lastAnswered: [String: String] = [:]
        /// Per agent: the phones registered now.
        var bindings: [String: [Binding]] = [:]
        /// Per agent: where its phones registered with other gateways on the store are (shared store only).
        var remotePhones: [String: [String]] = [:]
    }

    private let state = Mutex(State())
    private let followers = Mutex<[@Sendable (_ before: AgentStatus?, _ after: AgentStatus) -> Void]>([])
    /// Every change of an agent's status, for the console, the API and tests.
    public let changes = Broadcast<AgentStatus>()

    /// - Parameter saved: login states kept by an earlier run; an agent
    ///   without one starts available in the queues the configuration gives it.
    public init(agents: [Agent], queues: [Queue], saved: [SavedAgentState] = []) {
        let saved = Dictionary(saved.map { ($0.agent, $0) }, uniquingKeysWith: { $1 })
        state.withLock { state in
            for agent in agents {
                var entry = AgentState(agent: agent)
                if let kept = saved[agent.name] {
                    entry.presence = AgentPresence(name: kept.presence, reason: kept.reason)
                    entry.queues = kept.queues.filter { name in queues.contains { $0.name == name } }
                    entry.since = kept.changedAt
                    entry.presenceChangedAt = kept.changedAt
                } else {
                    entry.queues = queues.filter { $0.members.contains(agent.name) }.map(\.name)
                }
                state.agents[agent.name] = entry
            }
            state.order = agents.map(\.name)
            state.queues = Dictionary(uniqueKeysWithValues: queues.map { ($0.name, $0) })
            for name in state.order { state.agents[name]!.state = Self.derive(name, in: state, now: .now) }
        }
    }

    /// Replaces agents and queues (config reload). Agents that stay keep their
    /// state and their queues (less those that are gone); new agents start in
    /// the queues the configuration gives them.
    public func reload(agents: [Agent], queues: [Queue]) {
        mutate(agents.map(\.name)) { state in
            var next: [String: AgentState] = [:]
            for agent in agents {
                var entry = state.agents[agent.name] ?? AgentState(agent: agent)
                if state.agents[agent.name] == nil {
                    entry.queues = queues.filter { $0.members.contains(agent.name) }.map(\.name)
                } else {
                    entry.queues = entry.queues.filter { name in queues.contains { $0.name == name } }
                }
                entry.agent = agent
                next[agent.name] = entry
            }
            state.agents = next
            state.order = agents.map(\.name)
            state.queues = Dictionary(uniqueKeysWithValues: queues.map { ($0.name, $0) })
        }
    }

    public func queue(named name: String) -> Queue? { state.withLock { $0.queues[name] } }

    public var queueNames: [String] { state.withLock { $0.queues.keys.sorted() } }

    /// An agent's registered phones, as the registrar reports them.
    public func updateBindings(agent: String, bindings: [Binding]) {
        mutate([agent]) { $0.bindings[agent] = bindings.isEmpty ? nil : bindings }
    }

    /// What the other gateways on a shared store say (`SharedAgents`): the agents they hold,
    /// where their phones registered there are, and login states changed there later than here.
    public func share(elsewhere: Set<String>, remotePhones: [String: [String]], states: [SavedAgentState]) {
        let saved = Dictionary(states.map { ($0.agent, $0) }, uniquingKeysWith: { $1 })
        // Called every second: only the agents something changed for are restated and reported.
        let touched = state.withLock { state in
            state.order.filter { name in
                guard let agent = state.agents[name] else { return false }
                return agent.elsewhere != elsewhere.contains(name) || state.remotePhones[name] != remotePhones[name]
                    || (saved[name].map { $0.changedAt > agent.presenceChangedAt } ?? false)
            }
        }
        guard !touched.isEmpty else { return }
        mutate(touched, byPeer: true) { state in
            for name in touched where state.agents[name] != nil {
                state.agents[name]!.elsewhere = elsewhere.contains(name)
                state.remotePhones[name] = remotePhones[name]
                guard let kept = saved[name], kept.changedAt > state.agents[name]!.presenceChangedAt else { continue }
                state.agents[name]!.presence = AgentPresence(name: kept.presence, reason: kept.reason)
                state.agents[name]!.queues = kept.queues.filter { state.queues[$0] != nil }
                state.agents[name]!.presenceChangedAt = kept.changedAt
            }
        }
    }

    /// Another gateway holds the agent (found when claiming it): not offered calls here until
    /// the next `share` says otherwise.
    public func takenElsewhere(_ agent: String) { mutate([agent], byPeer: true) { $0.agents[agent]?.elsewhere = true } }

    /// The phones of every agent with any registered (to save them).
    public func bindings(of agent: String) -> [Binding] { state.withLock { $0.bindings[agent] ?? [] } }

    /// Where to ring an agent: its configured contact, and every registered
    /// phone not known to be unreachable. Empty: the agent cannot be offered calls.
    public func destinations(of name: String) -> [String] {
        state.withLock { state in Self.destinations(of: name, in: state) }
    }

    /// Why an agent cannot be offered a queue call right now, or nil when it can.
    public func unavailability(of name: String, queue: String? = nil, now: ContinuousClock.Instant = .now) -> String? {
        state.withLock { state in
            guard let agent = state.agents[name] else { return "not an agent" }
            if let queue, !agent.queues.contains(queue) {
                return agent.presence == .loggedOut ? "logged out" : "not logged in to this queue"
            }
            switch agent.presence {
            case .loggedOut: return "logged out"
            case .paused(let reason): return reason.isEmpty ? "paused" : "paused (\(reason))"
            case .available: break
            }
            if agent.onCall > 0 { return "on a call" }
            if agent.ringing > 0 { return "ringing" }
            if agent.elsewhere { return "taken by another gateway" }
            if agent.inWrapUp(now) { return "in wrap-up" }
            if Self.destinations(of: name, in: state).isEmpty {
                let bindings = state.bindings[name] ?? []
                return bindings.isEmpty ? "no phone registered" : "no registered phone answers OPTIONS"
            }
            return nil
        }
    }

    public func agent(named name: String) -> Agent? { state.withLock { $0.agents[name]?.agent } }

    public func snapshot(_ name: String) -> AgentState? { state.withLock { $0.agents[name] } }

    /// The agent's status now.
    public func status(of name: String) -> AgentStatus? {
        state.withLock { state in state.agents[name] == nil ? nil : Self.status(name, in: state) }
    }

    /// Every agent's status, in configuration order.
    public var statuses: [AgentStatus] {
        state.withLock { state in state.order.map { Self.status($0, in: state) } }
    }

    /// The agents logged in to a queue: its configured members first, in
    /// their order, then agents who joined it since, in configuration order.
    public func members(of queue: String) -> [String] {
        state.withLock { state in Self.members(of: queue, in: state) }
    }

    /// Asterisk's `get_member_status`: whether any member of the queue counts
    /// under `conditions` (a member that is paused, say, does not count when
    /// `.paused` is among them). No conditions: always true.
    public func hasUsableMember(_ queue: String, under conditions: EmptyConditions, now: ContinuousClock.Instant = .now) -> Bool {
        guard !conditions.isEmpty else { return true }
        return state.withLock { state in
            Self.members(of: queue, in: state).contains { name in
                guard let agent = state.agents[name] else { return false }
                if Self.destinations(of: name, in: state).isEmpty {
                    if conditions.contains(.unavailable) { return false }
                } else if agent.onCall > 0 || agent.elsewhere {
                    if conditions.contains(.inUse) { return false }
                } else if agent.ringing > 0 {
                    if conditions.contains(.ringing) { return false }
                }
                if case .paused = agent.presence, conditions.contains(.paused) { return false }
                if conditions.contains(.wrapUp) && agent.inWrapUp(now) { return false }
                return true
            }
        }
    }

    /// True when `pick` would find an agent for `queue` now.
    public func hasFreeMember(_ queue: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in !Self.free(Self.members(of: queue, in: state), in: state, now: now).isEmpty }
    }

    /// Picks the agents to ring next for `queue`, marks them ringing and returns
    /// them (empty when nobody is free). `lastAgent` is the agent who last
    /// handled this caller on any channel (for `sticky`).
    public func pick(queue name: String, lastAgent: String?, now: ContinuousClock.Instant = .now,
                     random: (Int) -> Int = { Int.random(in: 0..<$0) }) -> [Agent] {
        var changed: [(AgentStatus, AgentStatus)] = []
        let picked = state.withLock { state -> [Agent] in
            guard let queue = state.queues[name] else { return [] }
            let members = Self.members(of: name, in: state)
            let free = Self.free(members, in: state, now: now)
            guard !free.isEmpty else { return [] }
            var strategy = queue.strategy
            var chosen: [String] = []
            if strategy == .sticky {
                if let lastAgent, free.contains(lastAgent) { chosen = [lastAgent] }
                strategy = queue.fallback
            }
            if chosen.isEmpty {
                switch strategy {
                case .ringall:
                    chosen = free
                case .linear:
                    chosen = [free[0]]
                case .random:
                    chosen = [free[random(free.count)]]
                case .fewestcalls:
                    chosen = [free.min { state.agents[$0]!.callsTaken < state.agents[$1]!.callsTaken }!]
                case .leastrecent:
                    // Never-called agents first, then the one whose last call ended longest ago.
                    chosen = [free.min { a, b in
                        switch (state.agents[a]!.lastCallEnded, state.agents[b]!.lastCallEnded) {
                        case (nil, .some): true
                        case (.some, nil), (nil, nil): false
                        case (.some(let x), .some(let y)): x < y
                        }
                    }!]
                case .roundrobin, .sticky:
                    // The next member after the one who took the queue's last call.
                    let start = state.lastAnswered[name].flatMap { members.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                    let order = (0..<members.count).map { members[(start + $0) % members.count] }
                    chosen = [order.first { free.contains($0) }!]
                }
            }
            for member in chosen {
                let before = Self.status(member, in: state)
                state.agents[member]!.ringing += 1
                if let after = Self.restate(member, &state, now: now), after != before { changed.append((before, after)) }
            }
            return chosen.map { state.agents[$0]!.agent }
        }
        for (before, after) in changed { announce(before, after) }
        return picked
    }

    /// A Dial rings the agent's phones (it is not picked by a queue).
    public func ringing(_ agent: String) { mutate([agent]) { $0.agents[agent]?.ringing += 1 } }

    /// An agent rung but not connected (no answer, busy, another agent answered):
    /// free again at once.
    public func release(_ agent: String) {
        mutate([agent]) { state in
            guard let current = state.agents[agent]?.ringing else { return }
            state.agents[agent]!.ringing = max(0, current - 1)
        }
    }

    /// The agent places a call of its own (a customer, a colleague, a feature code): its phone
    /// is busy until `ownCallEnded`, so no queue offers it a call meanwhile (Asterisk's device
    /// state is in use from the moment the agent's channel exists).
    public func ownCall(_ agent: String) { mutate([agent]) { $0.agents[agent]?.onCall += 1 } }

    /// The agent's own call ended: free again (no wrap-up, not counted as a queue call taken).
    public func ownCallEnded(_ agent: String) {
        mutate([agent]) { state in
            guard let current = state.agents[agent]?.onCall else { return }
            state.agents[agent]!.onCall = max(0, current - 1)
        }
    }

    /// The agent answered: on a call until `finished`.
    public func answered(_ agent: String) {
        mutate([agent]) { state in
            guard let entry = state.agents[agent] else { return }
            state.agents[agent]!.ringing = max(0, entry.ringing - 1)
            state.agents[agent]!.onCall += 1
        }
    }

    /// An agent finished a call (taken from `queue`, when one): in wrap-up for
    /// the queue's time, then free again.
    public func finished(_ agent: String, queue: String?, now: ContinuousClock.Instant = .now) {
        var wrapUp: Duration?
        mutate([agent], now: now) { state in
            guard var entry = state.agents[agent] else { return }
            entry.onCall = max(0, entry.onCall - 1)
            entry.callsTaken += 1
            entry.lastCallEnded = now
            if let queue, let time = state.queues[queue]?.wrapUp, time > .zero {
                entry.wrapUpUntil = now + time
                wrapUp = time
            }
            state.agents[agent] = entry
            if let queue { state.lastAnswered[queue] = agent }
        }
        // Wrap-up ends by itself: its end is a change of state like any other.
        if let wrapUp {
            Deadlines.queue.asyncAfter(deadline: .now() + wrapUp.timeInterval) { [weak self] in self?.mutate([agent]) { _ in } }
        }
    }

    /// Asterisk's `QUEUE_MEMBER(queue,option[,interface])` for a queue: `count`
    /// members (logged in), `logged` (with a phone), `free` (with a phone,
    /// available and not on or rung for a call, or in wrap-up), `ready` (free
    /// and not in wrap-up), `paused` (how many, or 1/0 for `member`),
    /// `penalty` and `ignorebusy` (always 0). nil for another option.
    public func memberFigure(queue: String, option: String, member: String? = nil, now: ContinuousClock.Instant = .now) -> String? {
        state.withLock { locked in
            let state = locked  // a copy the closures below may hold (dictionaries copy on write)
            let members = Self.members(of: queue, in: state)
            let paused = { (name: String) in if case .paused = state.agents[name]?.presence { true } else { false } }
            let free = { (name: String) in
                guard let agent = state.agents[name] else { return false }
                return agent.presence == .available && !agent.engaged && !Self.destinations(of: name, in: state).isEmpty
            }
            switch option {
            case "count": return String(members.count)
            case "logged": return String(members.filter { !Self.destinations(of: $0, in: state).isEmpty }.count)
            case "free": return String(members.filter(free).count)
            case "ready": return String(members.filter { free($0) && !state.agents[$0]!.inWrapUp(now) }.count)
            case "paused":
                if let member { return members.contains(member) && paused(member) ? "1" : "0" }
                return String(members.filter(paused).count)
            case "penalty", "ignorebusy": return "0"
            default: return nil
            }
        }
    }

    // MARK: - What agents set

    /// The outcome of a change an agent asked for, as Asterisk's queue-member applications report it.
    public enum MemberChange: String, Sendable {
        case added = "ADDED", memberAlready = "MEMBERALREADY", removed = "REMOVED", notInQueue = "NOTINQUEUE",
             noSuchQueue = "NOSUCHQUEUE", paused = "PAUSED", unpaused = "UNPAUSED", notFound = "NOTFOUND"
    }

    /// Logs the agent in: to `queue` (which it then serves), or with no queue
    /// to every queue it serves. Asterisk's AddQueueMember.
    public func logIn(_ agent: String, queue: String?) -> MemberChange {
        var result = MemberChange.notFound
        mutate([agent]) { state in
            guard var entry = state.agents[agent] else { return }
            if let queue {
                guard state.queues[queue] != nil else { result = .noSuchQueue; return }
                let already = entry.queues.contains(queue) && entry.presence != .loggedOut
                if !entry.queues.contains(queue) { entry.queues.append(queue) }
                result = already ? .memberAlready : .added
            } else {
                if entry.queues.isEmpty {
                    entry.queues = state.queues.values.filter { $0.members.contains(agent) }.map(\.name).sorted()
                }
                // An agent that serves no queue has nothing to log in to.
                guard !entry.queues.isEmpty else { result = .noSuchQueue; return }
                result = entry.presence == .loggedOut ? .added : .memberAlready
            }
            if entry.presence == .loggedOut { entry.presence = .available }
            state.agents[agent] = entry
        }
        return result
    }

    /// Logs the agent out: of `queue`, or with no queue of every queue (it
    /// keeps the list for its next login). Asterisk's RemoveQueueMember.
    public func logOut(_ agent: String, queue: String?) -> MemberChange {
        var result = MemberChange.notFound
        mutate([agent]) { state in
            guard var entry = state.agents[agent] else { return }
            if let queue {
                guard state.queues[queue] != nil else { result = .noSuchQueue; return }
                guard entry.presence != .loggedOut, let index = entry.queues.firstIndex(of: queue) else { result = .notInQueue; return }
                entry.queues.remove(at: index)
                if entry.queues.isEmpty { entry.presence = .loggedOut }
            } else {
                guard entry.presence != .loggedOut else { result = .notInQueue; return }
                entry.presence = .loggedOut
            }
            result = .removed
            state.agents[agent] = entry
        }
        return result
    }

    /// Pauses the agent in every queue (Asterisk's PauseQueueMember).
    public func pause(_ agent: String, reason: String) -> MemberChange {
        var result = MemberChange.notFound
        mutate([agent]) { state in
            guard let entry = state.agents[agent], entry.presence != .loggedOut else { return }
            state.agents[agent]!.presence = .paused(reason: reason)
            result = .paused
        }
        return result
    }

    /// Makes a paused agent available again, and ends its wrap-up: the agent
    /// says it is ready (Asterisk's UnpauseQueueMember).
    public func unpause(_ agent: String) -> MemberChange {
        var result = MemberChange.notFound
        mutate([agent]) { state in
            guard let entry = state.agents[agent], entry.presence != .loggedOut else { return }
            state.agents[agent]!.presence = .available
            state.agents[agent]!.wrapUpUntil = nil
            result = .unpaused
        }
        return result
    }

    // MARK: - Internals

    /// Runs `body` under the lock, then reports the agents in `names` whose status changed.
    /// A change of presence or queues is dated now, unless it came from another gateway (`byPeer`).
    private func mutate(_ names: [String], now: ContinuousClock.Instant = .now, byPeer: Bool = false, _ body: (inout State) -> Void) {
        let changed = state.withLock { state -> [(AgentStatus?, AgentStatus)] in
            let before = names.map { state.agents[$0] == nil ? nil : Self.status($0, in: state) }
            body(&state)
            return zip(names, before).compactMap { name, before in
                if let before, let entry = state.agents[name], before.presence != entry.presence || before.queues != entry.queues {
                    state.agents[name]!.adopted = byPeer
                    // After the change it follows, even one dated by another host's clock ahead of
                    // this one: the store keeps the later of two, and this one is the later.
                    if !byPeer { state.agents[name]!.presenceChangedAt = max(Date(), entry.presenceChangedAt.addingTimeInterval(0.001)) }
                }
                guard let after = Self.restate(name, &state, now: now) else { return nil }
                return after == before ? nil : (before, after)
            }
        }
        for (before, after) in changed { announce(before, after) }
    }

    /// Calls `follower` after every change of an agent's status, outside the lock, in order.
    func follow(_ follower: @escaping @Sendable (_ before: AgentStatus?, _ after: AgentStatus) -> Void) {
        followers.withLock { $0.append(follower) }
    }

    private func announce(_ before: AgentStatus?, _ after: AgentStatus) {
        for follower in followers.withLock({ $0 }) { follower(before, after) }
        changes.send(after)
    }

    /// Derives the agent's state again and moves `since` when it changed; its status then.
    private static func restate(_ name: String, _ state: inout State, now: ContinuousClock.Instant) -> AgentStatus? {
        guard state.agents[name] != nil else { return nil }
        let derived = derive(name, in: state, now: now)
        if derived != state.agents[name]!.state {
            state.agents[name]!.state = derived
            state.agents[name]!.since = Date()
        }
        return status(name, in: state, now: now)
    }

    private static func derive(_ name: String, in state: State, now: ContinuousClock.Instant) -> AgentStatus.State {
        let agent = state.agents[name]!
        if agent.onCall > 0 { return .onCall }
        if agent.ringing > 0 { return .ringing }
        if agent.elsewhere { return .onCall }
        switch agent.presence {
        case .loggedOut: return .loggedOut
        case .paused: return .paused
        case .available: return agent.inWrapUp(now) ? .wrapUp : .available
        }
    }

    private static func status(_ name: String, in state: State, now: ContinuousClock.Instant = .now) -> AgentStatus {
        let agent = state.agents[name]!
        return AgentStatus(agent: name, state: agent.state, presence: agent.presence, queues: agent.queues,
                           phones: destinations(of: name, in: state).count, since: agent.since, held: agent.heldHere(now),
                           presenceChangedAt: agent.presenceChangedAt, adopted: agent.adopted)
    }

    private static func members(of queue: String, in state: State) -> [String] {
        let configured = state.queues[queue]?.members ?? []
        let loggedIn = { (name: String) in
            guard let agent = state.agents[name] else { return false }
            return agent.presence != .loggedOut && agent.queues.contains(queue)
        }
        return configured.filter(loggedIn) + state.order.filter { !configured.contains($0) && loggedIn($0) }
    }

    /// The members available, not engaged, out of wrap-up and with a phone to ring.
    private static func free(_ members: [String], in state: State, now: ContinuousClock.Instant) -> [String] {
        members.filter { member in
            guard let agent = state.agents[member], agent.presence == .available, !agent.engaged, !agent.inWrapUp(now) else { return false }
            return !destinations(of: member, in: state).isEmpty
        }
    }

    private static func destinations(of name: String, in state: State) -> [String] {
        guard let agent = state.agents[name]?.agent else { return [] }
        var phones = (state.bindings[name] ?? []).filter { $0.reachable != false }.map(\.target)
        // Phones registered with another gateway on the store, when none registered here.
        if state.bindings[name] == nil { phones = state.remotePhones[name] ?? [] }
        return (agent.contact.isEmpty ? [] : [agent.contact]) + phones
    }
}
