import Configuration
import Dialplan
import Foundation

/// `omnigate dialplan check|simulate|graph`.
enum DialplanCommand: Command {
    static let name = "dialplan"
    static let summary = "check, simulate or draw the dialplans in Dialplans/"
    static let help = """
    Usage: omnigate dialplan check [PATH…] [--asterisk|--strict] [--config PATH]
           omnigate dialplan simulate --context C --exten E [options] [PATH…]
           omnigate dialplan graph [--context C] [--format mermaid|dot] [--config PATH] [PATH…]

    PATH is a dialplan file or a directory of .conf files (default: the configuration's
    [dialplan] path, else Dialplans/).
    --config PATH   the gateway's configuration (default: $OMNIGATE_CONFIG, or for an
                    installed omnigate /etc/omnigate/omnigate.conf, else Config/omnigate.conf when
                    there is one): its [dialplan] mode, and its queues, agents and trunks, which
                    check holds Queue(), Dial(PJSIP/…) and MessageSend() to and graph shows.
    --asterisk      read the plan as [dialplan] mode = asterisk does: an Asterisk dialplan as
                    it is, references Asterisk resolves at run time (jumps, includes, queues,
                    agents) are warnings instead of errors.
    --strict        read it as mode = strict does (the default): any error refuses the plan.

    check     Prints every problem as file:line:column: error|warning: message.
              Exit 0 when there are no errors (warnings alone still exit 0), 1 otherwise.

    simulate  Runs the plan against a scripted call and prints each step
              (context,exten,priority: App(args)) and the outcome.
              --context C        the context the call enters (required)
              --exten E          the dialled extension (required)
              --callerid N       the caller's number
              --callername NAME  the caller's name
              --digits D         digits the caller presses, in order (e.g. 1#); a comma lets
                                 one prompt play out or one wait time out (e.g. ,2)
              --time T           the time of the call, ISO 8601 (e.g. 2026-11-24T10:00)
              --timezone Z       the time zone for --time and time conditions (default UTC)
              --var K=V          a channel variable (repeatable)
              --contact K=V      a CONTACT() field the store would answer (repeatable)
              --dial-status S    DIALSTATUS for every Dial (default ANSWER)
              --queue-status S   QUEUESTATUS for every Queue (default: an agent answers)
              --voicemail-status S  VMSTATUS for VoiceMail (default SUCCESS)
              --record-status S  RECORD_STATUS for Record (default DTMF)
              --message-status S MESSAGE_SEND_STATUS for MessageSend (default SUCCESS)
              --hangup-after N   the caller hangs up after N commands
              --patience N       once the digits run out, the caller lets N waits time out,
                                 then hangs up (default 3)
              --message BODY     run a message context with this SMS body
              --format F         text (default) or json
              What Verbose() and Log() write and the UserEvent()s sent show as -- lines.

    graph     Prints the plan as a flowchart: one box per extension, arrows for jumps,
              menu choices and includes.
              --context C        only this context and what it reaches
              --format F         mermaid (default) or dot

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        guard let sub = arguments.subcommand() else {
            if arguments.wantsHelp { print(help, terminator: ""); return 0 }
            throw UsageError("say check, simulate or graph")
        }
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        switch sub {
        case "check": return try check(&arguments)
        case "simulate": return try simulate(&arguments)
        case "graph": return try graph(&arguments)
        default: throw UsageError("unknown dialplan command '\(sub)'; say check, simulate or graph")
        }
    }

    /// The configuration a command reads: `--config PATH`, else the installed one (`Layout`), else
    /// `Config/omnigate.conf` when there is one.
    struct Setting {
        var config: GatewayConfig?
        var source: String?
        var mode: DialplanMode
        var paths: [String]

        /// The configuration's queues, agents and trunks, for check and graph.
        var names: ConfigurationNames? {
            guard let config, let source else { return nil }
            return ConfigurationNames(source: source, queues: Dictionary(config.queues.map { ($0.name, $0.members) }, uniquingKeysWith: { a, _ in a }),
                                      agents: Set(config.agents.map(\.name)), trunks: Set(config.trunks.map(\.name)))
        }
    }

    /// Reads `--config`, `--asterisk`, `--strict` and the paths; a configuration with errors is a usage error.
    private static func setting(_ arguments: inout Arguments) throws -> Setting {
        let given = try arguments.option("config")
        let asterisk = arguments.flag("asterisk"), strict = arguments.flag("strict")
        guard !(asterisk && strict) else { throw UsageError("say --asterisk or --strict, not both") }
        var setting = Setting(config: nil, source: nil, mode: .strict, paths: [])
        let path = given ?? Layout.defaultConfigPath
            ?? (FileManager.default.fileExists(atPath: "Config/omnigate.conf") ? "Config/omnigate.conf" : nil)
        if let path {
            do {
                setting.config = try GatewayConfig.load(path: path)
                setting.source = path
            } catch let error as ConfigError {
                throw UsageError("the configuration has errors:\n\(error.description)")
            }
        }
        if let mode = setting.config.flatMap({ DialplanMode(rawValue: $0.dialplan.mode) }) { setting.mode = mode }
        if asterisk { setting.mode = .asterisk }
        if strict { setting.mode = .strict }
        let positional = arguments.positionals()
        setting.paths = positional.isEmpty ? [setting.config?.dialplan.path ?? "Dialplans"] : positional
        return setting
    }

    private static func check(_ arguments: inout Arguments) throws -> Int32 {
        let setting = try setting(&arguments)
        try arguments.finish()
        let paths = setting.paths
        let load = DialplanLoader.load(paths: paths, mode: setting.mode, names: setting.names)
        for diagnostic in load.diagnostics { print(diagnostic) }
        let errors = load.errors.count, warnings = load.diagnostics.count - errors
        let against = setting.source.map { "; names checked against \($0)" } ?? ""
        let mode = setting.mode == .asterisk ? " (read as Asterisk does)" : ""
        if let plan = load.plan {
            let extensions = plan.contexts.values.reduce(0) { $0 + $1.extensions.count }
            writeError("\(paths.joined(separator: " "))\(mode): \(plan.contexts.count) contexts, \(extensions) extensions; "
                       + "\(errors) errors, \(warnings) warnings\(against)")
        } else {
            writeError("\(paths.joined(separator: " "))\(mode): \(errors) errors, \(warnings) warnings; the plan would not be loaded\(against)")
        }
        return errors == 0 ? 0 : 1
    }

    private static func simulate(_ arguments: inout Arguments) throws -> Int32 {
        guard let context = try arguments.option("context") else { throw UsageError("--context is required") }
        guard let exten = try arguments.option("exten") else { throw UsageError("--exten is required") }
        var script = ScriptedChannel.Script()
        let callerID = try arguments.option("callerid") ?? ""
        let callerName = try arguments.option("callername") ?? ""
        script.digits = Array(try arguments.option("digits") ?? "")
        let zoneName = try arguments.option("timezone") ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else { throw UsageError("unknown time zone '\(zoneName)'") }
        var when = Date()
        if let text = try arguments.option("time") {
            let formatter = DateFormatter()
            formatter.timeZone = zone
            formatter.locale = Locale(identifier: "en_US_POSIX")
            let formats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mmXXXXX", "yyyy-MM-dd'T'HH:mm:ssXXXXX"]
            guard let date = formats.lazy.compactMap({ format -> Date? in formatter.dateFormat = format; return formatter.date(from: text) }).first else {
                throw UsageError("--time takes an ISO 8601 time such as 2026-11-24T10:00")
            }
            when = date
        }
        var variables: [String: String] = [:]
        for pair in try arguments.options("var") {
            guard let eq = pair.firstIndex(of: "=") else { throw UsageError("--var takes NAME=VALUE") }
            variables[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        for pair in try arguments.options("contact") {
            guard let eq = pair.firstIndex(of: "=") else { throw UsageError("--contact takes FIELD=VALUE") }
            script.contact[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        if let status = try arguments.option("dial-status") { script.dialStatus["*"] = status }
        if let status = try arguments.option("queue-status") { script.queueStatus["*"] = status }
        if let status = try arguments.option("voicemail-status") { script.voicemailStatus = status }
        if let status = try arguments.option("record-status") { script.recordStatus = status }
        if let status = try arguments.option("message-status") { script.messageStatus = status }
        if let n = try arguments.option("hangup-after") {
            guard let count = Int(n), count > 0 else { throw UsageError("--hangup-after takes a positive number") }
            script.hangUpAfterCommands = count
        }
        if let n = try arguments.option("patience") {
            guard let count = Int(n), count >= 0 else { throw UsageError("--patience takes a number of waits, 0 or more") }
            script.patience = count
        }
        let message = try arguments.option("message")
        let format = try arguments.option("format") ?? "text"
        guard ["text", "json"].contains(format) else { throw UsageError("--format takes text or json") }
        let setting = try setting(&arguments)
        let paths = setting.paths
        try arguments.finish()

        let load = DialplanLoader.load(paths: paths, mode: setting.mode)
        guard let plan = load.plan else {
            for diagnostic in load.diagnostics.errors { writeError(diagnostic.description) }
            writeError("the plan has errors; fix them first (omnigate dialplan check)")
            return 1
        }
        guard plan.contexts[context] != nil else { throw UsageError("no context [\(context)] in \(paths.joined(separator: " "))") }
        let channel = ScriptedChannel(script)
        var start = CallStart(context: context, exten: exten, callerIDNumber: callerID, callerIDName: callerName, uniqueID: "simulated-1")
        start.variables = variables
        let moment = when
        start.now = { moment }
        start.timeZone = zone
        // The addresses a message from the caller to the extension has in the service, at this machine's trunk.
        if let message {
            start.message = (message, MessageAddresses.from(displayName: callerName, user: callerID, host: "127.0.0.1"),
                             MessageAddresses.to(user: exten, host: "127.0.0.1"))
        }
        let callStart = start
        let outcome = runBlocking {
            let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: callStart)
            return message == nil ? await interpreter.run() : await interpreter.runMessage()
        }
        if format == "json" {
            let document = SimulationReport.document(outcome, commands: channel.commands)
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for step in outcome.steps { print(step) }
            for message in outcome.messages { print("-- \(message)") }
            for event in outcome.userEvents { print("-- UserEvent: \(event)") }
            print("-- call: \(channel.commands.joined(separator: ", "))")
            print("-- ended: \(outcome.reason)\(outcome.hangupCause.map { " (cause \($0))" } ?? "")")
            for warning in outcome.warnings { print("-- warning: \(warning)") }
        }
        return 0
    }

    private static func graph(_ arguments: inout Arguments) throws -> Int32 {
        let context = try arguments.option("context")
        let formatText = try arguments.option("format") ?? "mermaid"
        guard let format = DialplanGraph.Format(rawValue: formatText) else { throw UsageError("--format takes mermaid or dot") }
        let setting = try setting(&arguments)
        let paths = setting.paths
        try arguments.finish()
        let load = DialplanLoader.load(paths: paths, mode: setting.mode)
        guard let plan = load.plan else {
            for diagnostic in load.diagnostics.errors { writeError(diagnostic.description) }
            writeError("the plan has errors; fix them first (omnigate dialplan check)")
            return 1
        }
        if let context, plan.contexts[context] == nil { throw UsageError("no context [\(context)]") }
        print(DialplanGraph.render(plan, context: context, format: format, names: setting.names), terminator: "")
        return 0
    }
}

/// Runs async work to completion from synchronous command code.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task {
        box.value = await work()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Hands a result from a task to the waiting thread; the semaphore orders the accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
