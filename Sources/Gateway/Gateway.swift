// Gateway: where the SIP engine, the dialplan and the timeline meet.
//
// Rules, first:
// - Engine events arrive on the engine thread; the service only routes them
//   there (a dictionary lookup, a non-blocking post) and starts a task per
//   call or message. Nothing here blocks the engine thread.
// - Every inbound call runs the dialplan of the trunk it came in on, on the
//   plan that was current when it arrived; a reload never changes it.
// - The customer store is reached through `StoreAccess`: writes are queued,
//   reads are time-boxed, so a slow or locked store never holds up a call.
// - A call record is opened when the INVITE arrives, noted at answer and
//   finalised at hangup; records that a run which is over (a crash, a kill)
//   left open are closed as interrupted, by whichever gateway finds them.

import Configuration
import Dialplan
import Foundation
import Log
import SIPEngine
import Synchronization
import Timeline

/// The running gateway.
public final class Service: Sendable {
    private let services: Services
    private let plans: LivePlan
    private let directory: TrunkDirectory
    private let logins: AgentLogins
    private let configPath: String?
    private let live = Atomic<Int>(0)
    private let log = Logger("gateway")
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    /// The transports the gateway listens on, with the ports actually bound.
    public var transports: [BoundTransport] { services.engine.transports }

    /// The screen-pop bus (agent-facing interfaces subscribe to it).
    public var screenPops: ScreenPopBus { services.bus }
    /// Agents' state: read and changed by the HTTP API as by feature codes.
    public var agents: AgentRoster { services.roster }
    /// The configuration in force (agents, queues and screen pops as last reloaded).
    public var configuration: GatewayConfig { services.config }
    /// Calls started, answered and ended, as they happen.
    public var callEvents: Broadcast<CallEvent> { services.calls }

    /// SMS in from customers and out from agents, as they happen.
    public var messageEvents: Broadcast<MessageEvent> { services.messages }
    /// Sends an SMS as an agent, as if its phone had sent it: through the
    /// agent's message context (the shipped plan sends it out through the
    /// outbound trunk, From the company's number, on the customer's timeline
    /// with the agent). False when there is no such agent.
    public func sendMessage(asAgent name: String, to destination: String, body: String) async -> Bool {
        guard let agent = services.roster.agent(named: name) else { return false }
        let host = services.localHost
        let message = IncomingMessage(from: SIPAddress(uri: "sip:\(MessageSender.escapedUser(name))@\(host)"),
                                      to: SIPAddress(uri: "sip:\(MessageSender.escapedUser(destination))@\(host)"), body: body,
                                      sipCallID: "api-" + UUID().uuidString, source: SourceAddress(host: "127.0.0.1", port: 0, transport: "API"),
                                      agent: name)
        await InboundMessageHandler(services: services, plans: plans).handle(message, agent: agent)
        return true
    }

    /// How a click-to-call went, as far as the agent's phone.
    public enum ClickToCall: Sendable, Equatable {
        /// The agent answered; the customer is being called through the agent's context.
        case connecting
        case noSuchAgent
        /// No phone to ring: none registered or reachable, no contact.
        case agentUnreachable
        /// The agent's phone did not answer (or refused) within `timeout`.
        case agentDidNotAnswer(status: Int)
        case failed(String)
    }

    /// Click-to-call: rings the agent's phone first (showing the number it will
    /// call) and, once the agent answers, calls `number` as if the agent had
    /// dialled it: the agent's context routes it (the shipped plan: out through
    /// the trunk, with the company's number), and the record is outbound with
    /// the agent and the customer. Returns once the agent answered or did not.
    public func clickToCall(agent name: String, to number: String, timeout: Duration = .seconds(30)) async -> ClickToCall {
        guard let agent = services.roster.agent(named: name) else { return .noSuchAgent }
        guard let destination = services.roster.destinations(of: name).first else { return .agentUnreachable }
        let host = services.localHost
        let id = CallID.make()
        let user = MessageSender.escapedUser(number)
        let call = IncomingCall(id: id, from: SIPAddress(displayName: agent.displayName, uri: "sip:\(MessageSender.escapedUser(name))@\(host)"),
                                to: SIPAddress(uri: "sip:\(user)@\(host)"), sipCallID: "click-" + UUID().uuidString,
                                requestURI: "sip:\(user)@\(host)", source: SourceAddress(host: "127.0.0.1", port: 0, transport: "API"),
                                agent: name)
        let session = CallSession(engine: services.engine, call: call, trunk: nil, router: services.router,
                                  prompts: services.config.media.prompts)
        services.roster.ringing(name)
        do {
            try await services.engine.perform(.call(id, to: destination, from: SIPAddress(displayName: "Call \(number)", uri: "sip:\(user)@\(host)"),
                                                    headers: [("X-Omnigate-Click-To-Call", user)], srtp: agent.media.srtp))
        } catch {
            services.roster.release(name)
            session.close()
            return .failed(error.description)
        }
        let event = await session.mailbox.wait(timeout: timeout) { if case .callState(id, .confirmed) = $0 { true } else { false } }
        guard case .callState(_, .confirmed)? = event else {
            services.roster.release(name)
            var status = 408
            if case .callState(_, .disconnected(let code, _, _))? = event { status = code } else { services.engine.post(.hangup(id)) }
            session.close()
            return .agentDidNotAnswer(status: status)
        }
        let answered = Date()
        services.roster.answered(name)
        session.markAnswered()
        live.add(1, ordering: .relaxed)
        let (plan, globals) = plans.current
        Task {
            await CallHandler(services: services, session: session, origin: .agent(agent), agentAnswered: answered)
                .run(plan: plan, globals: globals)
            services.roster.finished(name, queue: nil)
            live.subtract(1, ordering: .relaxed)
        }
        return .connecting
    }

    /// Callers waiting in a queue's line now.
    public func waitingCount(in queue: String) -> Int { services.lines.line(for: queue).count }

    /// How long the longest-waiting caller in a queue has waited, in seconds.
    public func longestWait(in queue: String) -> Double {
        services.lines.line(for: queue).longestWait().timeInterval
    }

    /// Opens the store, loads the dialplan, starts the SIP engine.
    /// - Throws: `StoreError`, `LoadFailure` (dialplan errors with file:line),
    ///   `TransportError` (a port in use, …) or `SIPError`.
    public static func start(config: GatewayConfig, configPath: String? = nil) throws -> Service {
        let log = Logger("gateway")
        let identity = RunIdentity(systemName: config.general.systemName)
        let plans = try LivePlan(paths: [config.dialplan.path], mode: DialplanMode(rawValue: config.dialplan.mode) ?? .strict)
        DialplanLog.warnings(plans.warnings, cause: "load")
        let popFile = try config.screenPop.log.map { try ScreenPopFile(path: $0) }
        let directory = TrunkDirectory(trunks: config.trunks)
        let router = CallRouter()
        let box = ServiceBox()
        // Opened after the dialplan loaded, so a plan with errors never touches the store.
        let access = try StoreAccess(settings: config.store, identity: identity)

        var engineConfig = EngineConfig()
        engineConfig.udp = config.sip.udp.map { ($0.host, Int($0.port)) }
        engineConfig.tcp = config.sip.tcp.map { ($0.host, Int($0.port)) }
        if let tls = config.sip.tls, let certificate = config.sip.tlsCertificate, let key = config.sip.tlsPrivateKey {
            var settings = TLSSettings(host: tls.host, port: Int(tls.port), certificate: certificate, privateKey: key)
            settings.caFile = config.sip.tlsCA
            settings.verifyClient = config.sip.tlsVerifyClient
            settings.verifyServer = config.sip.tlsVerifyServer
            engineConfig.tls = settings
        }
        engineConfig.maxCalls = config.general.maxCalls
        engineConfig.userAgent = config.general.userAgent
        engineConfig.rtpPortStart = config.sip.rtpPortStart
        engineConfig.rtpPortRange = config.sip.rtpPortRange
        engineConfig.accounts = directory.accounts
        engineConfig.limits = SourceLimits(config.sip)
        let refusals = RefusalLog()
        let logins = AgentLogins(config.agents)
        engineConfig.admit = { request in
            // A trunk by its source (Asterisk's identify by IP).
            if let trunk = directory.trunk(source: request.source) {
                if trunk.requireTLS && request.source.transport.uppercased() != "TLS" {
                    refusals.note(request, reason: "the trunk requires TLS")
                    return .refuse(403)
                }
                // A call whose record could be neither written nor held is not taken ([store] when_full).
                if request.method == "INVITE" && access.refusesCalls { return .refuse(503) }
                return .admit
            }
            // An agent's phone calls or texts from anywhere: its digest credentials decide.
            // Every such request is challenged alike, so a stranger learns no agent's name.
            if logins.any && (request.method == "INVITE" || request.method == "MESSAGE") {
                if request.method == "INVITE" && access.refusesCalls { return .refuse(503) }
                return .authenticate
            }
            refusals.note(request, reason: "no trunk matches the source")
            return .refuse(403)
        }
        engineConfig.isTrustedSource = { host in directory.trusts(host: host) }
        let lines = WaitingLines()
        let kept = AgentsKept(access)
        let roster = AgentRoster(agents: config.agents, queues: config.queues, saved: kept.states)
        roster.follow(AgentFollowUp(access: access, lines: lines, queues: { roster.queue(named: $0) }).changed)
        // Several gateways can share a PostgreSQL store: agents are kept in step through it.
        let shared = config.store.backend == .postgresql ? SharedAgents(access: access, roster: roster, lines: lines) : nil
        if let shared { roster.follow(shared.changed) }
        var registrar = RegistrarSettings { logins.credential(user: $0) }
        registrar.realm = config.sip.realm
        registrar.isOpen = { logins.any }
        engineConfig.registrar = registrar
        let transfers = TransferPolicy(router: router, plans: plans, roster: roster, trunks: config.trunks)
        engineConfig.transferPolicy = { transfers.decide($0) }
        let engine: SIPEngine
        do {
            engine = try SIPEngine.start(engineConfig) { event in
                switch event {
                case .incomingCall(let call): box.service.withLock { $0 }?.incoming(call)
                case .incomingMessage(let message): box.service.withLock { $0 }?.incoming(message)
                case .registration(let account, let status, let reason, _):
                    if status / 100 != 2 { log.warning("trunk registration failed", ("trunk", account), ("sip.status", status), ("reason", reason)) }
                case .registrations(let agent, let bindings):
                    roster.updateBindings(agent: agent, bindings: bindings)
                    access.write(.registrations(agent: agent, bindings: bindings.map(SavedRegistration.init), run: identity.run.id))
                default:
                    router.deliver(event)
                }
            }
        } catch {
            access.stop(quietly: true)
            throw error
        }
        log.info("run started", ("run", identity.run.id), ("system_name", identity.run.systemName), ("store", config.store.displayName))
        let services = Services(engine: engine, router: router, access: access,
                                roster: roster, lines: lines, bus: ScreenPopBus(),
                                popFile: popFile, shared: shared, config: config)
        // Phones registered before a restart are reachable again at once (their next REGISTER refreshes them).
        // On a shared store, only phones of runs that are over (AgentsKept): the others stay with their gateway.
        for (agent, bindings) in kept.registrations.sorted(by: { $0.key < $1.key }) where roster.agent(named: agent) != nil {
            log.info("agent's phones restored from the store", ("agent", agent), ("phones", bindings.map(\.target).joined(separator: ",")))
            engine.post(.restoreRegistrations(agent: agent, bindings: bindings.map(Binding.init)))
        }
        let service = Service(services: services, plans: plans, directory: directory, logins: logins, configPath: configPath)
        box.service.withLock { $0 = service }
        service.watchDialplans()
        shared?.start()
        return service
    }

    private init(services: Services, plans: LivePlan, directory: TrunkDirectory, logins: AgentLogins, configPath: String?) {
        self.services = services
        self.plans = plans
        self.directory = directory
        self.logins = logins
        self.configPath = configPath
    }

    /// Calls in progress.
    public var liveCalls: Int { live.load(ordering: .relaxed) }

    /// SIP responses sent and received, by class: index 0 is 1xx, … 5 is 6xx.
    public var sipResponses: (sent: [Int], received: [Int]) {
        let counts = services.engine.responseCounts
        return (counts.sent, counts.received)
    }

    /// What the SIP engine refused or dropped of hostile or broken traffic, by what it was.
    public var sipRefusals: [(what: String, count: Int)] {
        let counters = services.engine.securityCounters
        return [("requests_dropped", counters.requestsDropped), ("connections_refused", counters.connectionsRefused),
                ("connections_closed_idle", counters.connectionsClosedIdle), ("oversized_messages", counters.oversizedMessages),
                ("malformed_messages", counters.malformedMessages)]
    }

    /// The store's commits (one transaction each), and its writes' waits from queued to committed.
    public var storeCommits: LatencyHistogram { services.access.commitLatency }
    public var storeWriteWaits: LatencyHistogram { services.access.writeWait }

    /// Runs `body` on the SIP engine's thread between two polls (the service watchdog's proof of life).
    public func probeEngine(_ body: @escaping @Sendable () -> Void) { services.engine.probe(body) }

    // MARK: - Calls

    /// On the engine thread: register the call's mailbox now (its next events
    /// may arrive before its task runs), then run it on its own task.
    private func incoming(_ call: IncomingCall) {
        let origin: CallOrigin
        if let name = call.agent {
            guard let agent = services.roster.agent(named: name) else {
                services.engine.post(.reject(call.id, status: 403))
                return
            }
            origin = .agent(agent)
        } else if let trunk = directory.trunk(source: call.source, account: call.account) {
            origin = .trunk(trunk)
        } else {
            services.engine.post(.reject(call.id, status: 403))
            return
        }
        let media = origin.trunk?.media ?? origin.agent?.media ?? MediaEncryption()
        if media.sdes && !media.optimistic && !call.offersSRTP {
            log.warning("refused: SRTP is required and the offer has none", ("from", origin.name), ("source", call.source))
            services.engine.post(.reject(call.id, status: 488, reason: "SRTP required"))
            return
        }
        live.add(1, ordering: .relaxed)
        let session = CallSession(engine: services.engine, call: call, trunk: origin.trunk?.name, router: services.router,
                                  prompts: services.config.media.prompts)
        let (plan, globals) = plans.current
        Task {
            await CallHandler(services: services, session: session, origin: origin).run(plan: plan, globals: globals)
            live.subtract(1, ordering: .relaxed)
        }
    }

    private func incoming(_ message: IncomingMessage) {
        let handler = InboundMessageHandler(services: services, plans: plans)
        if let trunk = directory.trunk(source: message.source) {
            Task { await handler.handle(message, trunk: trunk) }
        } else if let name = message.agent, let agent = services.roster.agent(named: name) {
            Task { await handler.handle(message, agent: agent) }
        }
    }

    // MARK: - Reload

    /// The plan calls start on now (to simulate a call on it, with globals of its own).
    public var currentPlan: Dialplan { plans.current.0 }

    /// Reloads the dialplan only (all or nothing), as a file change does: what the HTTP API's reload does.
    public func reloadDialplan() -> LivePlan.Reload {
        let result = plans.reload()
        report(result, cause: "api")
        return result
    }

    /// Reloads the dialplan (all or nothing) and, from the configuration file,
    /// agents, queues and screen-pop settings. Calls in progress are not touched.
    public func reload() {
        report(plans.reload(), cause: "reload")
        guard let configPath else { return }
        do {
            let config = try GatewayConfig.load(path: configPath)
            services.roster.reload(agents: config.agents, queues: config.queues)
            logins.reload(config.agents)
            var current = services.config
            current.agents = config.agents
            current.queues = config.queues
            current.screenPop = config.screenPop
            services.update(current)
            log.info("agents and queues reloaded", ("agents", config.agents.count), ("queues", config.queues.count))
        } catch let error as ConfigError {
            for diagnostic in error.diagnostics { log.error("configuration not reloaded", ("problem", diagnostic.description)) }
        } catch {
            log.error("configuration not reloaded", ("error", String(describing: error)))
        }
    }

    /// Polls the dialplan files every second and reloads on a change.
    private func watchDialplans() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self else { return }
                if let result = self.plans.reloadIfChanged() { self.report(result, cause: "file change") }
            }
        }
        watcher.withLock { $0 = task }
    }

    private func report(_ result: LivePlan.Reload, cause: String) {
        if result.applied {
            log.info("dialplan reloaded", ("cause", cause), ("warnings", result.diagnostics.warnings.count))
            DialplanLog.warnings(result.diagnostics, cause: cause)
        } else {
            log.error("dialplan not reloaded: the running plan stays", ("cause", cause), ("errors", result.diagnostics.errors.count))
            for diagnostic in result.diagnostics.errors { log.error("dialplan error", ("at", diagnostic.location), ("problem", diagnostic.message)) }
        }
    }

    // MARK: - Stop

    /// Stops taking calls (503), lets live calls finish for up to `drain_time`,
    /// hangs up the rest with BYE, then closes the transports and the store.
    public func stop(drain: Duration? = nil) {
        watcher.withLock { $0?.cancel() }
        services.shared?.stop()
        services.engine.refuseNewCalls()
        let deadline = ContinuousClock.now + (drain ?? services.config.general.drainTime)
        if liveCalls > 0 { log.info("draining live calls", ("calls", liveCalls)) }
        while liveCalls > 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        services.engine.stop()
        // Calls hung up just now finish their records.
        let settle = ContinuousClock.now + .seconds(3)
        while liveCalls > 0 && ContinuousClock.now < settle { Thread.sleep(forTimeInterval: 0.02) }
        services.access.stop()
    }
}

/// Agents' digest credentials by username, for the registrar (asked on the engine thread).
final class AgentLogins: Sendable {
    private let byUser: Mutex<[String: SIPCredential]>

    init(_ agents: [Agent]) { byUser = Mutex(Self.index(agents)) }

    func reload(_ agents: [Agent]) { byUser.withLock { $0 = Self.index(agents) } }

    func credential(user: String) -> SIPCredential? { byUser.withLock { $0[user] } }

    /// Whether any agent can register (has a password).
    var any: Bool { byUser.withLock { !$0.isEmpty } }

    private static func index(_ agents: [Agent]) -> [String: SIPCredential] {
        var index: [String: SIPCredential] = [:]
        for agent in agents {
            let secret: SIPCredential.Secret
            if let password = agent.password { secret = .password(password) } else if let hash = agent.passwordHash { secret = .ha1(hash) } else { continue }
            var credential = SIPCredential(user: agent.username, agent: agent.name, secret: secret)
            credential.maxContacts = agent.maxContacts
            credential.qualifyEvery = agent.qualifyFrequency
            index[agent.username] = credential
        }
        return index
    }
}

extension MediaEncryption {
    /// The engine's SRTP use for this setting.
    var srtp: SRTPUse { !sdes ? .disabled : optimistic ? .optional : .mandatory }
}

extension SourceLimits {
    init(_ sip: GatewayConfig.SIP) {
        self.init()
        requestsPerSecond = Double(sip.requestsPerSecond)
        requestBurst = sip.requestBurst
        connectionsPerSource = sip.connectionsPerSource
        connections = sip.maxConnections
        idleTimeout = sip.idleTimeout
    }
}

/// Lets engine callbacks reach the service, which exists only once the engine runs.
private final class ServiceBox: Sendable {
    let service = Mutex<Service?>(nil)
}

/// Logs refused requests without letting a scanner flood the log: the 1st,
/// 10th, 100th, … refusal from each source address.
final class RefusalLog: Sendable {
    private let throttle = LogThrottle(capacity: 1024)
    private let log = Logger("gateway")

    func note(_ request: AdmissionRequest, reason: String) {
        guard let count = throttle.admit(request.source.host + " " + reason) else { return }
        log.warning("refused: \(reason)", ("method", request.method), ("source", request.source),
                    ("from", request.from.uri), ("to", request.requestURI), ("refusals", count))
    }
}
