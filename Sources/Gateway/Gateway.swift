// Gateway: where the SIP engine, the dialplan and the timeline meet.
//
// `Service` owns a running `SIPEngine` and decides what happens to each call
// and message. Events arrive on the engine thread; the service never blocks
// there and answers through `SIPEngine.post`.

import Configuration
import Foundation
import Log
import SIPEngine
import Synchronization

/// The running gateway.
public final class Service: Sendable {
    private let engine: SIPEngine
    private let log = Logger("gateway")

    /// The transports the gateway listens on, with the ports actually bound.
    public var transports: [BoundTransport] { engine.transports }

    /// Starts the SIP engine with the configured transports.
    /// - Throws: `TransportError` (a port in use, …) or `SIPError`.
    public static func start(config: GatewayConfig) throws -> Service {
        let box = EngineBox()
        var engineConfig = EngineConfig()
        engineConfig.udp = config.sip.udp.map { ($0.host, Int($0.port)) }
        engineConfig.tcp = config.sip.tcp.map { ($0.host, Int($0.port)) }
        engineConfig.maxCalls = config.general.maxCalls
        engineConfig.userAgent = config.general.userAgent
        engineConfig.rtpPortStart = config.sip.rtpPortStart
        engineConfig.rtpPortRange = config.sip.rtpPortRange
        let directory = TrunkDirectory(trunks: config.trunks)
        engineConfig.accounts = directory.accounts
        let refusals = RefusalLog()
        engineConfig.admit = { request in
            guard directory.trunk(source: request.source) == nil else { return nil }
            refusals.note(request)
            return 403
        }
        let log = Logger("gateway")
        let engine = try SIPEngine.start(engineConfig) { event in
            guard let engine = box.engine.withLock({ $0 }) else { return }
            Service.handle(event, engine: engine, log: log)
        }
        box.engine.withLock { $0 = engine }
        return Service(engine: engine)
    }

    private init(engine: SIPEngine) {
        self.engine = engine
    }

    /// Hangs up live calls with BYE, closes the transports and stops.
    public func stop() {
        engine.stop()
    }

    public var liveCalls: Int { engine.liveCalls }

    /// Until the dialplan runs calls, every inbound call is answered and kept
    /// up until the caller hangs up, and every MESSAGE is logged.
    private static func handle(_ event: SIPEvent, engine: SIPEngine, log: Logger) {
        switch event {
        case .incomingCall(let call):
            log.info("call in", ("call.id", call.id), ("from", call.from.uri), ("to", call.to.uri), ("source", call.source))
            engine.post(.answer(call.id))
        case .callState(let id, .disconnected(let status, let reason, let byUs)):
            log.info("call ended", ("call.id", id), ("sip.status", status), ("reason", reason), ("by", byUs ? "gateway" : "peer"))
        case .incomingMessage(let message):
            log.info("message in", ("from", message.from.uri), ("to", message.to.uri),
                     ("content.type", message.contentType), ("body", message.body))
        case .dtmf(let id, let digit, let method):
            log.info("dtmf", ("call.id", id), ("digit", digit), ("method", method.rawValue))
        case .commandFailed(let id, let command, let error):
            log.warning("command failed", ("call.id", id.map(String.init(describing:)) ?? "-"), ("command", command), ("error", error))
        default:
            break
        }
    }
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

/// Lets the event handler reach the engine it belongs to, which exists only
/// once `SIPEngine.start` returns. Guarded by its mutex.
private final class EngineBox: Sendable {
    let engine = Mutex<SIPEngine?>(nil)
}
