import Dialplan
import Log

/// What a running plan reports, into the gateway's log: the load's and reload's
/// warnings (each with its file:line), and as calls and messages run, what
/// Verbose(), Log() and UserEvent() say. UserEvent is the plan's event stream:
/// one line each, its fields as `event.KEY=value`.
enum DialplanLog {
    static let log = Logger("dialplan")

    /// Lists a load's or reload's warnings, one line each.
    static func warnings(_ diagnostics: [Diagnostic], cause: String) {
        for diagnostic in diagnostics where diagnostic.severity == .warning {
            log.warning("dialplan warning", ("cause", cause), ("at", diagnostic.location), ("problem", diagnostic.message))
        }
    }

    /// Logs what a run reports as it happens; `id` names the call or message.
    static func attach(_ interpreter: Interpreter, id: LogField) {
        interpreter.onEvent = { event in
            switch event {
            case .log(let level, let text, let location):
                let logLevel: LogLevel = switch level {
                case "ERROR": .error
                case "WARNING": .warning
                case "DEBUG", "DTMF": .debug
                default: .info
                }
                log.log(logLevel, { level == "VERBOSE" ? "Verbose" : "Log \(level)" }, [("text", text), ("at", location), id])
            case .user(let event, let location):
                var fields: [LogField] = [("event", event.name), id, ("at", location)]
                for field in event.fields { fields.append(("event." + field.key.filter { !$0.isWhitespace }, field.value)) }
                log.log(.info, { "user event" }, fields)
            }
        }
    }
}
