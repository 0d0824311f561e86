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
// - A call record is opened when the INVITE arrives and finalised at hangup;
//   at start, records a crash or kill left open are closed as interrupted.

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
    private let configPath: String?
    private let live = Atomic<Int>(0)
    private let log = Logger("gateway")
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    /// The transports the gateway listens on, with the ports actually bound.
    public var transports: [BoundTransport] { services.engine.transports }

    /// The screen-pop bus (agent-facing interfaces subscribe to it).
    public var screenPops: ScreenPopBus { services.bus }

    /// Opens the store, loads the dialplan, starts the SIP engine.
    /// - Throws: `StoreError`, `LoadFailure` (dialplan errors with file:line),
    ///   `TransportError` (a port in use, …) or `SIPError`.
    public static func start(config: GatewayConfig, configPath: String? = nil) throws -> Service {
        let log = Logger("gateway")
        let store = try TimelineStore(path: config.store.path, defaultCountry: config.store.defaultCountry)
        let closed = try store.closeInterruptedCallRecords()
        if closed > 0 { log.warning("closed call records a previous run left open", ("records", closed)) }
        let plans = try LivePlan(paths: [config.dialplan.path], mode: DialplanMode(rawValue: config.dialplan.mode) ?? .strict)
        DialplanLog.warnings(plans.warnings, cause: "load")
        let popFile = try config.screenPop.log.map { try ScreenPopFile(path: $0) }
        let directory = TrunkDirectory(trunks: config.trunks)
        let router = CallRouter()
        let box = ServiceBox()

        var engineConfig = EngineConfig()
        engineConfig.udp = config.sip.udp.map { ($0.host, Int($0.port)) }
        engineConfig.tcp = config.sip.tcp.map { ($0.host, Int($0.port)) }
        engineConfig.maxCalls = config.general.maxCalls
        engineConfig.userAgent = config.general.userAgent
        engineConfig.rtpPortStart = config.sip.rtpPortStart
        engineConfig.rtpPortRange = config.sip.rtpPortRange
        engineConfig.accounts = directory.accounts
        let refusals = RefusalLog()
        engineConfig.admit = { request in
            guard directory.trunk(source: request.source) == nil else { return nil }
            refusals.note(request)
            return 403
        }
        let engine = try SIPEngine.start(engineConfig) { event in
            switch event {
            case .incomingCall(let call): box.service.withLock { $0 }?.incoming(call)
            case .incomingMessage(let message): box.service.withLock { $0 }?.incoming(message)
            case .registration(let account, let status, let reason, _):
                if status / 100 != 2 { log.warning("trunk registration failed", ("trunk", account), ("sip.status", status), ("reason", reason)) }
            default:
                router.deliver(event)
            }
        }
        let services = Services(engine: engine, router: router, access: StoreAccess(store: store),
                                roster: AgentRoster(agents: config.agents, queues: config.queues), bus: ScreenPopBus(),
                                popFile: popFile, config: config)
        let service = Service(services: services, plans: plans, directory: directory, configPath: configPath)
        box.service.withLock { $0 = service }
        service.watchDialplans()
        return service
    }

    private init(services: Services, plans: LivePlan, directory: TrunkDirectory, configPath: String?) {
        self.services = services
        self.plans = plans
        self.directory = directory
        self.configPath = configPath
    }

    /// Calls in progress.
    public var liveCalls: Int { live.load(ordering: .relaxed) }

    // MARK: - Calls

    /// On the engine thread: register the call's mailbox now (its next events
    /// may arrive before its task runs), then run it on its own task.
    private func incoming(_ call: IncomingCall) {
        guard let trunk = directory.trunk(source: call.source, account: call.account) else {
            services.engine.post(.reject(call.id, status: 403))
            return
        }
        live.add(1, ordering: .relaxed)
        let session = CallSession(engine: services.engine, call: call, router: services.router, prompts: services.config.media.prompts)
        let (plan, globals) = plans.current
        Task {
            await CallHandler(services: services, session: session, trunk: trunk).run(plan: plan, globals: globals)
            live.subtract(1, ordering: .relaxed)
        }
    }

    private func incoming(_ message: IncomingMessage) {
        guard let trunk = directory.trunk(source: message.source) else { return }
        let handler = InboundMessageHandler(services: services, plans: plans)
        Task { await handler.handle(message, trunk: trunk) }
    }

    // MARK: - Reload

    /// Reloads the dialplan (all or nothing) and, from the configuration file,
    /// agents, queues and screen-pop settings. Calls in progress are not touched.
    public func reload() {
        report(plans.reload(), cause: "reload")
        guard let configPath else { return }
        do {
            let config = try GatewayConfig.load(path: configPath)
            services.roster.reload(agents: config.agents, queues: config.queues)
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
        services.engine.refuseNewCalls()
        let deadline = ContinuousClock.now + (drain ?? services.config.general.drainTime)
        if liveCalls > 0 { log.info("draining live calls", ("calls", liveCalls)) }
        while liveCalls > 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        services.engine.stop()
        // Calls hung up just now finish their records.
        let settle = ContinuousClock.now + .seconds(3)
        while liveCalls > 0 && ContinuousClock.now < settle { Thread.sleep(forTimeInterval: 0.02) }
        services.access.flush()
    }
}

/// Lets engine callbacks reach the service, which exists only once the engine runs.
private final class ServiceBox: Sendable {
    let service = Mutex<Service?>(nil)
}

/// Logs refused requests without letting a scanner flood the log: the 1st,
/// 10th, 100th, … refusal from each source address.
final class RefusalLog: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let log = Logger("gateway")

    func note(_ request: AdmissionRequest) {
        let count = counts.withLock { counts -> Int in
            if counts.count > 10_000 { counts.removeAll() }
            counts[request.source.host, default: 0] += 1
            return counts[request.source.host]!
        }
        var n = count
        while n >= 10 && n % 10 == 0 { n /= 10 }
        guard n == 1 else { return }
        log.warning("refused: no trunk matches the source", ("method", request.method), ("source", request.source),
                    ("from", request.from.uri), ("to", request.requestURI), ("refusals", count))
    }
}
