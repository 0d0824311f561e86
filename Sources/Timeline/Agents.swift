import Foundation

/// An agent's login state as the gateway keeps it across restarts and reloads:
/// logged in or out, paused and why, and the queues it serves. What changes
/// with every call (ringing, on a call, wrap-up) is not kept: no call outlives
/// the gateway.
public struct SavedAgentState: Sendable, Codable, Equatable {
    public var agent: String
    /// `logged_out`, `available` or `paused`.
    public var presence: String
    /// Why the agent paused (empty otherwise).
    public var reason: String
    /// The queues it serves, in order.
    public var queues: [String]
    public var changedAt: Date

    public init(agent: String, presence: String, reason: String = "", queues: [String], changedAt: Date) {
        self.agent = agent
        self.presence = presence
        self.reason = reason
        self.queues = queues
        self.changedAt = changedAt
    }
}

/// One registered phone of an agent, kept so a restart does not lose it and other
/// gateways on the store can ring it.
public struct SavedRegistration: Sendable, Codable, Equatable {
    /// The Contact the phone registered.
    public var contact: String
    /// Where calls to it go (its source address, with its transport).
    public var target: String
    public var expires: Date
    public var sourceHost: String
    public var sourcePort: Int
    public var transport: String
    public var userAgent: String
    /// The gateway run it registered with (empty: saved before runs were kept with it). Read
    /// from the store only: a write names its run itself.
    public var run: String = ""

    private enum CodingKeys: String, CodingKey {
        case contact, target, expires, sourceHost, sourcePort, transport, userAgent
    }

    public init(contact: String, target: String, expires: Date, sourceHost: String, sourcePort: Int, transport: String, userAgent: String,
                run: String = "") {
        self.run = run
        self.contact = contact
        self.target = target
        self.expires = expires
        self.sourceHost = sourceHost
        self.sourcePort = sourcePort
        self.transport = transport
        self.userAgent = userAgent
    }
}

extension TimelineStore {
    func save(_ state: SavedAgentState, _ db: Connection) throws {
        let queues = String(decoding: try JSONEncoder().encode(state.queues), as: UTF8.self)
        // A write that arrives late (replayed from the spill file) never undoes a newer one.
        try db.run("""
            INSERT INTO agent_states (agent, presence, reason, queues, changed_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(agent) DO UPDATE SET presence = excluded.presence, reason = excluded.reason, queues = excluded.queues,
                changed_at = excluded.changed_at
            WHERE excluded.changed_at >= agent_states.changed_at
            """, [.text(Fitting.line(state.agent, max: Limits.agent).value), .text(state.presence),
                  .text(Fitting.line(state.reason, max: Limits.name).value), .text(queues), .int(state.changedAt.milliseconds)])
        // Every change in order, for the agent.state_changed webhook (its cursor reads this log).
        try db.run("INSERT INTO agent_state_log (agent, presence, reason, queues, changed_at) VALUES (?, ?, ?, ?, ?)",
                   [.text(Fitting.line(state.agent, max: Limits.agent).value), .text(state.presence),
                    .text(Fitting.line(state.reason, max: Limits.name).value), .text(queues), .int(state.changedAt.milliseconds)])
    }

    /// Replaces the phones `run` has registered for `agent`. A phone another run holds
    /// (it registered there later) moves to this one: the latest REGISTER tells where it is.
    func save(registrations: [SavedRegistration], of agent: String, run: String, _ db: Connection) throws {
        let agent = Fitting.line(agent, max: Limits.agent).value
        try db.run("DELETE FROM registrations WHERE agent = ? AND run = ?", [.text(agent), .text(run)])
        for binding in registrations {
            try db.run("""
                INSERT INTO registrations (agent, contact, target, expires, source_host, source_port, transport, user_agent, run)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(agent, contact) DO UPDATE SET target = excluded.target, expires = excluded.expires,
                    source_host = excluded.source_host, source_port = excluded.source_port, transport = excluded.transport,
                    user_agent = excluded.user_agent, run = excluded.run
                """, [.text(agent), .text(Fitting.line(binding.contact, max: Limits.identity).value),
                      .text(Fitting.line(binding.target, max: Limits.identity).value), .int(binding.expires.milliseconds),
                      .text(binding.sourceHost), .int(Int64(binding.sourcePort)), .text(binding.transport),
                      .text(Fitting.line(binding.userAgent, max: Limits.name).value), .text(run)])
        }
    }

    /// `run` takes `agent` (it rings it, or the agent is on or wrapping up one of its calls),
    /// unless another run holds it; taking it again is a no-op.
    func claim(agent: String, run: String, at time: Date, _ db: Connection) throws {
        try db.run("""
            INSERT INTO agent_claims (agent, run, claimed_at) VALUES (?, ?, ?)
            ON CONFLICT(agent) DO NOTHING
            """, [.text(Fitting.line(agent, max: Limits.agent).value), .text(run), .int(time.milliseconds)])
    }

    /// `run` lets `agent` go (a claim of another run stays).
    func release(agent: String, run: String, _ db: Connection) throws {
        try db.run("DELETE FROM agent_claims WHERE agent = ? AND run = ?", [.text(Fitting.line(agent, max: Limits.agent).value), .text(run)])
    }

    /// The run that holds `agent` now, or nil when none does.
    public func claimHolder(agent: String) throws -> String? {
        try read { db in try db.scalar("SELECT run FROM agent_claims WHERE agent = ?", [.text(agent)])?.string }
    }

    func save(_ caller: WaitingCaller, _ db: Connection) throws {
        try db.run("""
            INSERT INTO queue_callers (call, queue, run, priority, joined_at, ringing) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(call) DO UPDATE SET ringing = excluded.ringing
            """, [.text(caller.call), .text(Fitting.line(caller.queue, max: Limits.name).value), .text(caller.run),
                  .int(Int64(caller.priority)), .int(caller.joinedAt.milliseconds), .int(caller.ringing ? 1 : 0)])
    }

    /// Lets go of the agents held by runs that `isOver` says are over (a gateway that was
    /// killed holds its agents until a peer or its own restart does this), and drops their
    /// callers from the queues' shared lines; returns the agents let go.
    @discardableResult
    public func releaseClaims(isOver: (GatewayRun) -> Bool) throws -> [String] {
        try write { db in
            for row in try db.rows("SELECT DISTINCT run FROM queue_callers") {
                let id = row.text("run") ?? ""
                if let run = try run(id: id, db), !isOver(run) { continue }
                try db.run("DELETE FROM queue_callers WHERE run = ?", [.text(id)])
            }
            var released: [String] = []
            for row in try db.rows("SELECT agent, run FROM agent_claims ORDER BY agent") {
                let agent = row.text("agent") ?? "", id = row.text("run") ?? ""
                // A run the store has no row for counts as over, as for call records.
                if let run = try run(id: id, db), !isOver(run) { continue }
                try db.run("DELETE FROM agent_claims WHERE agent = ? AND run = ?", [.text(agent), .text(id)])
                released.append(agent)
            }
            return released
        }
    }

    /// What every gateway on the store shares about agents, as one read: who holds whom,
    /// the phones registered (with the run each is on), and the login states.
    public func sharedAgents(now: Date = Date()) throws -> SharedAgentsView {
        try read { db in
            var view = SharedAgentsView()
            for row in try db.rows("SELECT agent, run FROM agent_claims") {
                view.claims[row.text("agent") ?? ""] = row.text("run") ?? ""
            }
            view.registrations = try registrations(now: now, db)
            view.waiting = try db.rows("SELECT * FROM queue_callers ORDER BY queue, priority DESC, joined_at, call").map { row in
                WaitingCaller(call: row.text("call") ?? "", queue: row.text("queue") ?? "", run: row.text("run") ?? "",
                              priority: Int(row.int("priority") ?? 0), joinedAt: Date(milliseconds: row.int("joined_at") ?? 0),
                              ringing: row.int("ringing") == 1)
            }
            view.states = try agentStates(db)
            // Only the runs that hold someone (every run ever is a row: restarts add up over the years).
            let runs = try db.rows("""
                SELECT * FROM gateway_runs WHERE id IN (SELECT run FROM agent_claims UNION SELECT run FROM queue_callers)
                """)
            view.runs = Dictionary(runs.map { (($0.text("id") ?? ""), GatewayRun(row: $0)) }, uniquingKeysWith: { $1 })
            return view
        }
    }

    /// Every agent's saved login state.
    public func agentStates() throws -> [SavedAgentState] {
        try read { db in try agentStates(db) }
    }

    private func agentStates(_ db: Connection) throws -> [SavedAgentState] {
        try db.rows("SELECT * FROM agent_states ORDER BY agent").map { row in
            let queues = (row.text("queues")?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String].self, from: $0) } ?? []
            return SavedAgentState(agent: row.text("agent") ?? "", presence: row.text("presence") ?? "available",
                                   reason: row.text("reason") ?? "", queues: queues,
                                   changedAt: Date(milliseconds: row.int("changed_at") ?? 0))
        }
    }

    /// The registrations that have not expired by `now`, by agent.
    public func registrations(now: Date = Date()) throws -> [String: [SavedRegistration]] {
        try read { db in try registrations(now: now, db) }
    }

    private func registrations(now: Date, _ db: Connection) throws -> [String: [SavedRegistration]] {
        var byAgent: [String: [SavedRegistration]] = [:]
        for row in try db.rows("SELECT * FROM registrations WHERE expires > ? ORDER BY agent, contact", [.int(now.milliseconds)]) {
            byAgent[row.text("agent") ?? "", default: []].append(SavedRegistration(
                contact: row.text("contact") ?? "", target: row.text("target") ?? "",
                expires: Date(milliseconds: row.int("expires") ?? 0), sourceHost: row.text("source_host") ?? "",
                sourcePort: Int(row.int("source_port") ?? 0), transport: row.text("transport") ?? "UDP",
                userAgent: row.text("user_agent") ?? "", run: row.text("run") ?? ""))
        }
        return byAgent
    }
}

/// A caller waiting in a queue on one gateway, as the others see it: their queues serve
/// callers in one order across gateways (higher priority first, then who came first).
public struct WaitingCaller: Sendable, Codable, Equatable {
    /// The call's uniqueid.
    public var call: String
    public var queue: String
    public var run: String
    public var priority: Int
    public var joinedAt: Date
    /// Agents are being rung for it now: it is out of the turn, in its place.
    public var ringing: Bool

    public init(call: String, queue: String, run: String, priority: Int, joinedAt: Date, ringing: Bool = false) {
        self.call = call
        self.queue = queue
        self.run = run
        self.priority = priority
        self.joinedAt = joinedAt
        self.ringing = ringing
    }

    /// True when this caller is served before one of `priority` who joined at `joinedAt`.
    public func isAhead(ofPriority priority: Int, joinedAt: Date) -> Bool {
        self.priority > priority || (self.priority == priority && self.joinedAt < joinedAt)
    }
}

/// What the gateways on one store share about agents (`TimelineStore.sharedAgents`).
public struct SharedAgentsView: Sendable {
    /// Agent → the run holding it.
    public var claims: [String: String] = [:]
    /// Agent → its phones registered on any run, unexpired.
    public var registrations: [String: [SavedRegistration]] = [:]
    public var states: [SavedAgentState] = []
    /// Callers waiting in queues on every run, each queue's in its order.
    public var waiting: [WaitingCaller] = []
    /// The runs that hold an agent or have a caller waiting, by id.
    public var runs: [String: GatewayRun] = [:]
    public init() {}
}
