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

/// One registered phone of an agent, kept so a restart does not lose it.
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

    public init(contact: String, target: String, expires: Date, sourceHost: String, sourcePort: Int, transport: String, userAgent: String) {
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

    func save(registrations: [SavedRegistration], of agent: String, _ db: Connection) throws {
        let agent = Fitting.line(agent, max: Limits.agent).value
        try db.run("DELETE FROM registrations WHERE agent = ?", [.text(agent)])
        for binding in registrations {
            try db.run("""
                INSERT INTO registrations (agent, contact, target, expires, source_host, source_port, transport, user_agent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(agent, contact) DO NOTHING
                """, [.text(agent), .text(Fitting.line(binding.contact, max: Limits.identity).value),
                      .text(Fitting.line(binding.target, max: Limits.identity).value), .int(binding.expires.milliseconds),
                      .text(binding.sourceHost), .int(Int64(binding.sourcePort)), .text(binding.transport),
                      .text(Fitting.line(binding.userAgent, max: Limits.name).value)])
        }
    }

    /// Every agent's saved login state.
    public func agentStates() throws -> [SavedAgentState] {
        try read { db in
            try db.rows("SELECT * FROM agent_states ORDER BY agent").map { row in
                let queues = (row.text("queues")?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String].self, from: $0) } ?? []
                return SavedAgentState(agent: row.text("agent") ?? "", presence: row.text("presence") ?? "available",
                                       reason: row.text("reason") ?? "", queues: queues,
                                       changedAt: Date(milliseconds: row.int("changed_at") ?? 0))
            }
        }
    }

    /// The registrations that have not expired by `now`, by agent.
    public func registrations(now: Date = Date()) throws -> [String: [SavedRegistration]] {
        try read { db in
            var byAgent: [String: [SavedRegistration]] = [:]
            for row in try db.rows("SELECT * FROM registrations WHERE expires > ? ORDER BY agent, contact", [.int(now.milliseconds)]) {
                byAgent[row.text("agent") ?? "", default: []].append(SavedRegistration(
                    contact: row.text("contact") ?? "", target: row.text("target") ?? "",
                    expires: Date(milliseconds: row.int("expires") ?? 0), sourceHost: row.text("source_host") ?? "",
                    sourcePort: Int(row.int("source_port") ?? 0), transport: row.text("transport") ?? "UDP",
                    userAgent: row.text("user_agent") ?? ""))
            }
            return byAgent
        }
    }
}
