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
/// - **Queues in one order.** Each queue caller is a row in `queue_callers`;
///   a caller with the turn here lets a caller who came first on another
///   gateway (or has a higher priority) be served first: it waits while one
///   is there and not being rung, at most `deferLimit` with an agent free here
///   (the other gateway may be unable to reach that agent's phone).
///
/// The store is read once a second (`refresh`), so another gateway's change
/// shows here within about a second; the claim itself is never stale.
final class SharedAgents: Sendable {
    private let access: StoreAccess
    private let roster: AgentRoster
    private let lines: WaitingLines
    /// Callers waiting on other gateways, by queue, in their order.
    private let waitingElsewhere = Mutex<[String: [WaitingCaller]]>([:])
    private let running = Atomic<Bool>(true)
    /// The other gateways' phones as last read, to log what changed.
    private let remotePhones = Mutex<[String: [String]]>([:])
    private let log = Logger("agents")
    static let refreshInterval: Duration = .seconds(1)
    /// How long a caller with an agent free here waits for a caller ahead on another gateway.
    static let deferLimit: Duration = .seconds(3)
    /// How long a queue waits for the store to confirm a claim before it offers the call anyway
    /// (a busy store commits in milliseconds; this is for one that has just stopped answering).
    static let confirmWait: Duration = .seconds(5)

    init(access: StoreAccess, roster: AgentRoster, lines: WaitingLines) {
        self.access = access
        self.roster = roster
        self.lines = lines
    }

    /// A caller of this gateway joined a queue, rings agents, or waits again: the others see it.
    func waiting(_ call: String, queue: String, priority: Int, joinedAt: Date, ringing: Bool) {
        access.write(.queueCaller(WaitingCaller(call: call, queue: queue, run: run, priority: priority, joinedAt: joinedAt,
                                                ringing: ringing)))
    }

    /// The caller left the queue.
    func left(_ call: String) { access.write(.queueCallerLeft(call: call)) }

    /// Callers on other gateways to be served before one of `priority` who joined `queue` at `joinedAt`.
    func callersAhead(in queue: String, priority: Int, joinedAt: Date) -> Int {
        // One being rung is out of the turn, in its place.
        waitingElsewhere.withLock { $0[queue]?.filter { !$0.ringing && $0.isAhead(ofPriority: priority, joinedAt: joinedAt) }.count ?? 0 }
    }

    /// Callers waiting in `queue` on other gateways.
    func callersElsewhere(in queue: String) -> Int { waitingElsewhere.withLock { $0[queue]?.count ?? 0 } }

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
        // While the store cannot be written the claim is held in memory, and the caller would wait
        // for it as long: a store known to be failing is not waited for, a slow one a bounded time.
        guard !access.isFailing else {
            log.warning("the store cannot be written: offering the call without confirming the agent's claim", ("agent", agent))
            return true
        }
        let committed = FirstAnswer<Bool>()
        access.write(.agentClaim(agent: agent, run: run, at: Date())) { committed.give(true) }
        Deadlines.queue.asyncAfter(deadline: .now() + Self.confirmWait.timeInterval) { committed.give(false) }
        guard await committed.value() else {
            log.warning("the store did not take the agent's claim in time; offering the call anyway", ("agent", agent))
            return true
        }
        switch await access.read(budget: Self.confirmWait, { try $0.claimHolder(agent: agent) }) {
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
        var waiting: [String: [WaitingCaller]] = [:]
        for caller in view.waiting where caller.run != me && live(caller.run) {
            waiting[caller.queue, default: []].append(caller)
        }
        let waited = waitingElsewhere.withLock { last in defer { last = waiting }; return last }
        for queue in Set(waited.keys).union(waiting.keys).sorted() where waited[queue] != waiting[queue] {
            log.debug("callers waiting on other gateways", ("queue", queue), ("callers", waiting[queue]?.count ?? 0))
            // The caller with the turn here looks again at whether someone elsewhere comes first.
            lines.existing(queue)?.agentsChanged()
        }
    }
}
