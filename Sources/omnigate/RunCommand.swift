import Configuration
import Dispatch
import Foundation
import Gateway
import Log
import SIPEngine
import Synchronization
import Dialplan

/// `omnigate run`: the gateway service, until SIGINT or SIGTERM.
enum RunCommand: Command {
    static let name = "run"
    static let summary = "run the gateway (SIP service) in the foreground"
    static let help = """
    Usage: omnigate run [--config PATH] [--log-level LEVEL]

    Runs the gateway in the foreground. Logs go to stderr, one line per event.
    Without --config the built-in defaults apply (Config/omnigate.conf lists them).

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
      --help              show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let configPath = try arguments.option("config")
        let levelOverride = try arguments.option("log-level")
        try arguments.finish()

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
        Logger.level = LogLevel(name: config.general.logLevel) ?? .info
        let log = Logger("omnigate")

        // Signals are handled on a dispatch queue, never in a signal handler.
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { signal(signalNumber, SIG_IGN) }
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
        log.info("ready", ("config", configPath ?? "built-in defaults"),
                 ("transports", service.transports.map(\.description).joined(separator: ",")))

        let stopping = DispatchSemaphore(value: 0)
        let received = Mutex<Int32>(0)
        let queue = DispatchQueue(label: "omnigate.signals")
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                if signalNumber == SIGHUP {
                    log.info("reloading", ("signal", "SIGHUP"))
                    service.reload()
                    return
                }
                log.info("stopping", ("signal", signalNumber == SIGINT ? "SIGINT" : "SIGTERM"), ("calls", service.liveCalls))
                received.withLock { $0 = signalNumber }
                stopping.signal()
            }
            source.resume()
            sources.append(source)
        }
        stopping.wait()
        service.stop(drain: received.withLock { $0 } == SIGINT ? .zero : nil)
        log.info("stopped")
        sources.forEach { $0.cancel() }
        return 0
    }
}
