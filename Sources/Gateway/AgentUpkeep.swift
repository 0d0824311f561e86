import Configuration
import Foundation
import Log
import SIPEngine
import Timeline

/// What follows a change of an agent's status: a log line when the agent
/// changed what it set, the store (so a restart keeps it), and the queues'
/// waiting lines (a freed agent is offered to the caller with the turn at
/// once; one that stops counting may empty a queue, `leavewhenempty`).
struct AgentFollowUp: Sendable {
    let access: StoreAccess
    let lines: WaitingLines
    let queues: @Sendable (String) -> Queue?
    private let log = Logger("agents")

    init(access: StoreAccess, lines: WaitingLines, queues: @escaping @Sendable (String) -> Queue?) {
        self.access = access
        self.lines = lines
        self.queues = queues
    }

    func changed(_ before: AgentStatus?, _ after: AgentStatus) {
        if before?.presence != after.presence || before?.queues != after.queues {
            var fields: [LogField] = [("agent", after.agent), ("presence", after.presence.name),
                                      ("queues", after.queues.joined(separator: ",")), ("state", after.state.rawValue)]
            if case .paused(let reason) = after.presence, !reason.isEmpty { fields.append(("reason", reason)) }
            if after.adopted {
                // Set on another gateway, which saved it.
                log.log(.info, { "agent changed on another gateway" }, fields)
            } else {
                log.log(.info, { "agent changed" }, fields)
                access.write(.agentState(after.saved))
            }
        } else if log.isEnabled(.debug) {
            log.debug("agent state", ("agent", after.agent), ("state", after.state.rawValue), ("phones", after.phones))
        }
        let queuesTouched = Set(after.queues + (before?.queues ?? []))
        if after.state == .available && after.phones > 0 {
            for queue in after.queues { lines.existing(queue)?.agentsChanged() }
        } else if before?.state != after.state || before?.phones != after.phones || before?.queues != after.queues {
            // Callers look again at whether the queue still holds them.
            for queue in queuesTouched where queues(queue).map({ !$0.leaveWhenEmpty.isEmpty }) ?? true {
                lines.existing(queue)?.wakeAll()
            }
        }
    }
}

/// Agents' login states and registered phones as the last run left them in the store.
/// The phones are those registered with a run that is over (this gateway before its
/// restart, or another that stopped or died): a phone registered with a gateway still
/// running stays that gateway's.
struct AgentsKept {
    var states: [SavedAgentState] = []
    var registrations: [String: [SavedRegistration]] = [:]

    init(_ access: StoreAccess) {
        guard let store = access.store else { return }
        do {
            states = try store.agentStates()
            let runs = Dictionary(try store.runs().map { ($0.id, $0) }, uniquingKeysWith: { $1 })
            let over = { (id: String) in runs[id].map { access.identity.isOver($0) } ?? true }
            registrations = try store.registrations().compactMapValues { saved in
                let kept = saved.filter { over($0.run) }
                return kept.isEmpty ? nil : kept
            }
        } catch {
            Logger("agents").warning("agents' saved states were not read; they start from the configuration",
                                     ("error", String(describing: error)))
        }
    }
}

extension SavedRegistration {
    init(_ binding: Binding) {
        self.init(contact: binding.contact, target: binding.target, expires: binding.expires, sourceHost: binding.source.host,
                  sourcePort: binding.source.port, transport: binding.source.transport, userAgent: binding.userAgent)
    }
}

extension Binding {
    init(_ saved: SavedRegistration) {
        self.init(contact: saved.contact, target: saved.target, expires: saved.expires,
                  source: SourceAddress(host: saved.sourceHost, port: saved.sourcePort, transport: saved.transport),
                  userAgent: saved.userAgent)
    }
}
