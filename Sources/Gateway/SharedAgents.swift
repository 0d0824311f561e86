import Foundation
import Log
import SIPEngine
import Synchronization
import Timeline

/// Agents shared by several gateways on one PostgreSQL store: each gateway
/// keeps its own `AgentRoster`, and this keeps the rosters in step through the
/// store.
///
/// - **Who holds an agent.** A gateway that rings an agent, or has it on a
///   call or in wrap-up, holds it: a row in `agent_claims`, taken with
///   `ON CONFLICT DO NOTHING` (the store decides between two gateways that
///   pick the same agent at once) and let go when the agent is free here again.
///   A queue offers a call only after confirming its claim (`confirm`).
///   A killed gateway's claims are let go by the sweep of runs that are over.
/// - **Where its phones are.** Registrations are saved with the run they
///   came to; an agent with no phone registered here is rung at the phones it
///   registered with another gateway (UDP only: a TCP or TLS phone is reached
///   over its own connection, which only that gateway has).
/// - **What it set.** Login states changed on another gateway (later than
///   here) are taken over, without being saved again.
///
/// The store is read once a second (`refresh`), so another gateway's change
/// shows here within about a second; the claim itself is never stale.
final class SharedAgents: Sendable {
    private let access: StoreAccess
    private let roster: AgentRoster
    private let running = Atomic<Bool>(true)
    /// The other gateways' phones as last read, to log what changed.
    private let remotePhones = Mutex<[String: [String]]>([:])
    private let log = Logger("agents")
    static let refreshInterval: Duration = .seconds(1)

    init(access: StoreAccess, roster: AgentRoster) {
        self.access = access
        self.roster = roster
    }

    private var run: String { access.identity.run.id }

    /// Follows the roster: claims an agent in the store when this gateway starts holding it
    /// and lets go when it stops. The writes keep their order, so a release never
    /// overtakes the claim before it.
    func changed(_ before: AgentStatus?, _ after: AgentStatus) {
        let held = before?.held ?? false
        if after.held && !held {
            access.write(.agentClaim(agent: after.agent, run: run, at: Date()))
        } else if !after.held && held {
            access.write(.agentRelease(agent: after.agent, run: run))
        }
    }

    /// Before a queue offers a call to `agent` (marked ringing here, so its claim is
    /// queued): true once the store says this gateway holds it. False when another does:
    /// the agent counts as taken until the next refresh. A store that cannot say (down,
    /// slow) does not stop the call: the offer goes ahead, and a phone already on a call
    /// answers busy.
    func confirm(_ agent: String) async -> Bool {
        await access.writeAndWait(.agentClaim(agent: agent, run: run, at: Date()))
        switch await access.read(budget: .seconds(1), { try $0.claimHolder(agent: agent) }) {
        case .success(let holder):
            guard let holder, holder != run else { return true }
            roster.takenElsewhere(agent)
            log.info("agent taken by another gateway", ("agent", agent), ("run", holder))
            return false
        case .failure(let failure):
            log.warning("the store could not confirm the agent's claim; offering the call anyway", ("agent", agent),
                        ("error", failure.description))
            return true
        }
    }

    /// Reads what the other gateways hold, where their agents' phones are and the login
    /// states, until `stop`.
    func start() {
        Task.detached { [self] in
            while running.load(ordering: .relaxed) {
                await refresh()
                try? await Task.sleep(for: Self.refreshInterval)
            }
        }
    }

    func stop() { running.store(false, ordering: .relaxed) }

    func refresh() async {
        guard case .success(let view) = await access.read(budget: .seconds(2), { try $0.sharedAgents() }) else { return }
        let me = run, identity = access.identity
        // Claims of a run that is over are let go by the sweep; they hold nobody meanwhile.
        let live = { (id: String) in view.runs[id].map { !identity.isOver($0) } ?? false }
        let elsewhere = Set(view.claims.filter { $0.value != me && live($0.value) }.keys)
        var phones: [String: [String]] = [:]
        for (agent, registrations) in view.registrations {
            for registration in registrations where registration.run != me && registration.transport.uppercased() == "UDP" {
                if !(phones[agent]?.contains(registration.target) ?? false) { phones[agent, default: []].append(registration.target) }
            }
        }
        let before = remotePhones.withLock { last in defer { last = phones }; return last }
        for agent in Set(before.keys).union(phones.keys).sorted() where before[agent] != phones[agent] {
            log.info("agent's phones registered with another gateway", ("agent", agent),
                     ("phones", (phones[agent] ?? []).joined(separator: ",")))
        }
        roster.share(elsewhere: elsewhere, remotePhones: phones, states: view.states)
    }
}
