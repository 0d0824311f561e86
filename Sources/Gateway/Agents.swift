import Configuration
import Foundation
import SIPEngine
import Synchronization

/// Who can take a call right now, and which agents a queue rings next.
///
/// The roster is the gateway's memory of agents: on a call or being rung,
/// resting after a call (wrap-up), when each last finished a call and how
/// many calls each took. Queues pick agents from it by their strategy. It is
/// shared by every call's session and guarded by a mutex; nothing in it blocks.
public final class AgentRoster: Sendable {
    public struct AgentState: Sendable, Equatable {
        public var agent: Agent
        /// Rung or on a call: not offered another call.
        public var engaged = false
        public var wrapUpUntil: ContinuousClock.Instant?
        public var lastCallEnded: ContinuousClock.Instant?
        public var callsTaken = 0
    }

    private struct State {
        var agents: [String: AgentState] = [:]
        var queues: [String: Queue] = [:]
        /// Per queue: the member who took its last call (for roundrobin).
        var lastAnswered: [String: String] = [:]
        /// Per agent: the phones registered now.
        var bindings: [String: [Binding]] = [:]
    }

    private let state = Mutex(State())

    public init(agents: [Agent], queues: [Queue]) {
        reload(agents: agents, queues: queues)
    }

    /// Replaces agents and queues (config reload); agents that stay keep their state.
    public func reload(agents: [Agent], queues: [Queue]) {
        state.withLock { state in
            var next: [String: AgentState] = [:]
            for agent in agents {
                var entry = state.agents[agent.name] ?? AgentState(agent: agent)
                entry.agent = agent
                next[agent.name] = entry
            }
            state.agents = next
            state.queues = Dictionary(uniqueKeysWithValues: queues.map { ($0.name, $0) })
        }
    }

    public func queue(named name: String) -> Queue? { state.withLock { $0.queues[name] } }

    /// An agent's registered phones, as the registrar reports them.
    public func updateBindings(agent: String, bindings: [Binding]) {
        state.withLock { $0.bindings[agent] = bindings.isEmpty ? nil : bindings }
    }

    /// Where to ring an agent: its configured contact, and every registered
    /// phone not known to be unreachable. Empty: the agent cannot be offered calls.
    public func destinations(of name: String) -> [String] {
        state.withLock { state in Self.destinations(of: name, in: state) }
    }

    /// Why an agent cannot be offered a call right now, or nil when it can.
    public func unavailability(of name: String, now: ContinuousClock.Instant = .now) -> String? {
        state.withLock { state in
            guard let agent = state.agents[name] else { return "not an agent" }
            if agent.engaged { return "ringing or on a call" }
            if let until = agent.wrapUpUntil, until > now { return "in wrap-up" }
            if Self.destinations(of: name, in: state).isEmpty {
                let bindings = state.bindings[name] ?? []
                return bindings.isEmpty ? "no phone registered" : "no registered phone answers OPTIONS"
            }
            return nil
        }
    }

    private static func destinations(of name: String, in state: State) -> [String] {
        guard let agent = state.agents[name]?.agent else { return [] }
        let registered = (state.bindings[name] ?? []).filter { $0.reachable != false }.map(\.target)
        return (agent.contact.isEmpty ? [] : [agent.contact]) + registered
    }

    public func agent(named name: String) -> Agent? { state.withLock { $0.agents[name]?.agent } }

    public func snapshot(_ name: String) -> AgentState? { state.withLock { $0.agents[name] } }

    /// Whether any member of the queue could ever take a call (is configured).
    public func hasMembers(_ queue: String) -> Bool {
        state.withLock { state in
            (state.queues[queue]?.members ?? []).contains { state.agents[$0] != nil }
        }
    }

    /// Picks the agents to ring next for `queue`, marks them engaged and returns
    /// them (empty when nobody is free). `lastAgent` is the agent who last
    /// handled this caller on any channel (for `sticky`).
    public func pick(queue name: String, lastAgent: String?, now: ContinuousClock.Instant = .now,
                     random: (Int) -> Int = { Int.random(in: 0..<$0) }) -> [Agent] {
        state.withLock { state in
            guard let queue = state.queues[name] else { return [] }
            let free = queue.members.filter { member in
                guard let agent = state.agents[member], !agent.engaged, !Self.destinations(of: member, in: state).isEmpty else { return false }
                return agent.wrapUpUntil.map { $0 <= now } ?? true
            }
            guard !free.isEmpty else { return [] }
            var strategy = queue.strategy
            if strategy == .sticky {
                if let lastAgent, free.contains(lastAgent) {
                    state.agents[lastAgent]!.engaged = true
                    return [state.agents[lastAgent]!.agent]
                }
                strategy = queue.fallback
            }
            let chosen: [String]
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
                let members = queue.members
                let start = state.lastAnswered[name].flatMap { members.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                let order = (0..<members.count).map { members[(start + $0) % members.count] }
                chosen = [order.first { free.contains($0) }!]
            }
            for member in chosen { state.agents[member]!.engaged = true }
            return chosen.map { state.agents[$0]!.agent }
        }
    }

    /// An agent rung but not connected (no answer, busy, another agent answered):
    /// free again at once.
    public func release(_ agent: String) {
        state.withLock { $0.agents[agent]?.engaged = false }
    }

    /// An agent finished a call taken from `queue`: free after the queue's wrap-up.
    public func finished(_ agent: String, queue: String?, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard var entry = state.agents[agent] else { return }
            entry.engaged = false
            entry.callsTaken += 1
            entry.lastCallEnded = now
            if let queue, let wrapUp = state.queues[queue]?.wrapUp { entry.wrapUpUntil = now + wrapUp }
            state.agents[agent] = entry
            if let queue { state.lastAnswered[queue] = agent }
        }
    }
}
