import Configuration
import Dispatch
import Foundation
import Gateway
import HTTPAPI
import Log
import SIPEngine
import Synchronization
import Dialplan

/// `omnigate run`: the gateway service, until SIGINT or SIGTERM.
enum RunCommand: Command {
    static let name = "run"
    static let summary = "run the gateway (SIP service) in the foreground"
    static let help = """
    Usage: omnigate run [--config PATH] [--log-level LEVEL] [--log-format text|json]

    Runs the gateway in the foreground. Logs go to stderr, one line per event
    (PJSIP's own lines too), which systemd's journal keeps under the unit.
    Without --config: $OMNIGATE_CONFIG, or /etc/omnigate/omnigate.conf for an
    installed omnigate, or else the built-in defaults (Config/omnigate.conf lists them).
    Under systemd (Type=notify) it reports READY, RELOADING, STOPPING and, with
    WatchdogSec=, WATCHDOG while its SIP thread answers.

    Signals:
      SIGTERM   graceful stop: no new calls (503), live calls may go on for
                [general] drain_time, then they are hung up with BYE
      SIGINT    stop now: live calls are hung up with BYE
      SIGHUP    reload the dialplan (only if it has no errors) and the agents,
                queues and screen-pop settings of the configuration file
    Dialplan files are also reloaded when they change.

    Options:
      --config PATH       configuration file (INI, see Config/omnigate.conf)
      --log-level LEVEL   debug, info, warning or error (overrides [general] log_level)
      --log-format F      text or json (overrides [general] log_format)
      --help              show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let configPath = try arguments.option("config") ?? Layout.defaultConfigPath
        let levelOverride = try arguments.option("log-level")
        let formatOverride = try arguments.option("log-format")
        try arguments.finish()
        if let formatOverride, LogFormat(rawValue: formatOverride) == nil { throw UsageError("--log-format takes text or json") }

        var config = GatewayConfig()
        if let configPath {
            do {
                config = try GatewayConfig.load(path: configPath)
            } catch let error as ConfigError {
                writeError(error.description)
                return 1
            }
        }
        if let levelOverride {
            guard LogLevel(name: levelOverride) != nil else { throw UsageError("--log-level takes debug, info, warning or error") }
            config.general.logLevel = levelOverride
        }
        if let formatOverride { config.general.logFormat = formatOverride }
        Logger.level = LogLevel(name: config.general.logLevel) ?? .info
        Logger.format = LogFormat(rawValue: config.general.logFormat) ?? .text
        let log = Logger("omnigate")

        // Signals are handled on a dispatch queue, never in a signal handler. SIGXFSZ is ignored so
        // that a file-size limit makes a write fail (EFBIG), which the store survives, instead of
        // killing the process.
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGXFSZ] { signal(signalNumber, SIG_IGN) }
        let service: Service
        do {
            service = try Service.start(config: config, configPath: configPath)
        } catch let failure as LoadFailure {
            writeError(failure.description)
            writeError("omnigate: the dialplan in \(config.dialplan.path) has errors; fix them (omnigate dialplan check) and start again")
            return 1
        } catch {
            writeError("omnigate: \(error)")
            return 1
        }
        let transports = service.transports.map(\.description).joined(separator: ",")
        var http: HTTPServer?
        var api: API?
        if let listen = config.http.listen {
            do {
                (http, api) = try APIServer.start(service: service, config: config, listen: listen)
            } catch {
                writeError("omnigate: \(error)")
                service.stop(drain: .zero)
                return 1
            }
        }
        let webhooks = WebhookDispatcher.start(service: service, config: config)
        let httpAddress = http.map { "\(config.http.tlsCertificate == nil ? "http" : "https") \(config.http.listen!.host):\($0.port)" } ?? "off"
        log.info("ready", ("config", configPath ?? "built-in defaults"), ("transports", transports), ("api", httpAddress),
                 ("version", Version.omnigate))
        Systemd.notify("READY=1\nSTATUS=taking calls on \(transports)")
        let trim = MemoryTrim()
        let watchdog = Watchdog(service: service)

        let stopping = DispatchSemaphore(value: 0)
        let received = Mutex<Int32>(0)
        let queue = DispatchQueue(label: "omnigate.signals")
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                if signalNumber == SIGHUP {
                    log.info("reloading", ("signal", "SIGHUP"))
                    Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(Systemd.monotonicMicroseconds)")
                    service.reload()
                    // The API's tokens too: a token taken out of the file stops working now.
                    if let api, let configPath, let reloaded = try? GatewayConfig.load(path: configPath) { api.reload(tokens: reloaded.tokens) }
                    Systemd.notify("READY=1\nSTATUS=taking calls on \(transports)")
                    return
                }
                log.info("stopping", ("signal", signalNumber == SIGINT ? "SIGINT" : "SIGTERM"), ("calls", service.liveCalls))
                Systemd.notify("STOPPING=1\nSTATUS=stopping: \(service.liveCalls) calls live")
                received.withLock { $0 = signalNumber }
                stopping.signal()
            }
            source.resume()
            sources.append(source)
        }
        stopping.wait()
        http?.stop()
        service.stop(drain: received.withLock { $0 } == SIGINT ? .zero : nil)
        webhooks?.stop()
        watchdog?.stop()
        trim.stop()
        log.info("stopped")
        sources.forEach { $0.cancel() }
        // Everything is closed: the store (committed or spilled), the transports, the HTTP
        // server. Leave without the libraries' exit-time destructors (OpenSSL, GnuTLS, pjlib,
        // Foundation): under load, a gateway that had logged "stopped" was seen to hang in
        // exit() for more than 20 s, and systemd would have to kill it.
        fflush(nil)  // every C stream (printed output; log lines are written unbuffered)
        _exit(0)
    }
}

/// Sends `WATCHDOG=1` at half of `WatchdogSec=` each time the SIP thread runs
/// a probe, so a stuck engine thread lets systemd restart the service.
final class Watchdog {
    private let timer: DispatchSourceTimer

    init?(service: Service) {
        guard let interval = Systemd.watchdogInterval else { return nil }
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "omnigate.watchdog"))
        let half = Double(interval.components.seconds) / 2 + Double(interval.components.attoseconds) / 2e18
        timer.schedule(deadline: .now(), repeating: half, leeway: .milliseconds(100))
        timer.setEventHandler {
            service.probeEngine { Systemd.notify("WATCHDOG=1") }
        }
        timer.resume()
    }

    func stop() { timer.cancel() }
}
