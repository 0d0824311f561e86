/// Exec, TryExec, ExecIf, ExecIfTime: running another application.
///
/// The application and its arguments are found in the text the plan wrote
/// (see `Shape`) and substituted once, with the rest of the step. Asterisk's
/// Exec and TryExec substitute their arguments a second time; Omnigate never
/// expands a value again, so `Exec(${APP})` runs the value of APP as it is.
extension Interpreter {
    /// `Exec(App(args))`, and `TryExec(App(args))`, which never ends the call: TRYSTATUS
    /// is SUCCESS, FAILED (the application failed, as a Goto to a missing label does)
    /// or NOAPP (no such application in Omnigate).
    func exec(_ arguments: Arguments, trying: Bool) async -> Flow {
        let what = arguments.text
        guard !what.trimmingCharacters(in: .whitespaces).isEmpty else { return .next }
        guard case .call(let name, let app, _, let inner, _) = arguments, let app else {
            let name = Self.callName(arguments)
            if case .text = arguments, Application.named(name) != nil {
                return fail("exec", "Exec: applications nested deeper than \(Shape.maxNesting); the call ends")
            }
            if trying {
                if Catalog.isAsteriskApplication(name) {
                    warnings.append("\(located)TryExec: application \(name) is not supported by Omnigate; TRYSTATUS is NOAPP")
                }
                setVariable("TRYSTATUS", "NOAPP")
                return .next
            }
            if Catalog.isAsteriskApplication(name) {
                warnings.append("application \(name) is not supported by Omnigate; the call continues")
                return .next
            }
            return fail("exec", "Exec(\(what)): there is no application '\(name)'; the call ends, as in Asterisk")
        }
        let flow = await runApplication(app, name: name, arguments: inner)
        guard trying else { return flow }
        if case .fail(_, let message) = flow {
            warnings.append("\(located)TryExec: \(message)")
            setVariable("TRYSTATUS", "FAILED")
            return .next
        }
        setVariable("TRYSTATUS", "SUCCESS")
        return flow
    }

    /// `ExecIf(condition?App(args)[:App(args)])`; the old `ExecIf(condition,App,args)` too.
    func execIf(_ arguments: Arguments) async -> Flow {
        guard case .branches(let condition, let yes, let no, _) = arguments else { return .next }
        guard let yes else {
            // The old syntax: condition,application,arguments.
            let parts = Self.standardArguments(condition)
            guard parts.count >= 2, truthy(parts[0]) else { return .next }
            let args = parts.count > 2 ? parts[2...].joined(separator: ",") : ""
            return await runCall(.call(name: parts[1], app: Application.named(parts[1]), prefix: parts[1] + "(", arguments: .text(args),
                                       suffix: ")"), in: "ExecIf")
        }
        if truthy(condition) { return await runCall(yes, in: "ExecIf") }
        guard let no, !no.text.isEmpty else { return .next }
        return await runCall(no, in: "ExecIf")
    }

    /// `ExecIfTime(times,weekdays,mdays,months[,timezone]?App(args))`.
    func execIfTime(_ arguments: Arguments) async -> Flow {
        guard case .branches(let spec, let yes, _, _) = arguments, let yes else {
            return fail("exec", "ExecIfTime needs times?App(args); the call ends, as in Asterisk")
        }
        switch TimeSpec.parse(spec) {
        case .success(let time):
            guard time.matches(start.now(), zone: start.timeZone) else { return .next }
            return await runCall(yes, in: "ExecIfTime")
        case .failure(let error):
            return fail("exec", "ExecIfTime: \(error.message); the call ends, as in Asterisk")
        }
    }

    /// Runs the application a branch names; one Omnigate does not know ends the call, as in Asterisk.
    private func runCall(_ call: Arguments, in caller: String) async -> Flow {
        guard case .call(let name, let app, _, let inner, _) = call, let app else {
            let name = Self.callName(call)
            if Catalog.isAsteriskApplication(name) {
                warnings.append("application \(name) is not supported by Omnigate; the call continues")
                return .next
            }
            return fail("exec", "\(caller): there is no application '\(name)'; the call ends, as in Asterisk")
        }
        return await runApplication(app, name: name, arguments: inner)
    }

    /// The application a call names, for messages.
    static func callName(_ arguments: Arguments) -> String {
        if case .call(let name, _, _, _, _) = arguments { return name }
        let text = arguments.text
        return String(text.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces)
    }
}
