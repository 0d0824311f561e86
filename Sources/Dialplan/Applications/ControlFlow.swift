/// Set, MSet, Goto, GotoIf, GotoIfTime, Gosub, GosubIf, Return, StackPop, RaiseException, Wait.
extension Interpreter {
    func set(_ arguments: String) -> Flow {
        guard let equals = arguments.firstIndex(of: "=") else {
            warnings.append("Set needs name=value")
            return .next
        }
        let name = arguments[..<equals].trimmingCharacters(in: .whitespaces)
        let value = String(arguments[arguments.index(after: equals)...])
        if !assign(name, value) { warnings.append("Set: \(name) cannot be set in Omnigate") }
        return .next
    }

    /// `MSet(name1=value1,name2=value2,…)`: arguments split as Asterisk's are (quotes removed).
    func mSet(_ args: [String]) -> Flow {
        for pair in args where !pair.isEmpty {
            guard let equals = pair.firstIndex(of: "=") else {
                warnings.append("MSet: '\(pair)' is not name=value")
                continue
            }
            let name = pair[..<equals].trimmingCharacters(in: .whitespaces)
            if !assign(name, String(pair[pair.index(after: equals)...])) { warnings.append("MSet: \(name) cannot be set in Omnigate") }
        }
        return .next
    }

    func goto(_ arguments: String) -> Flow {
        switch target(arguments) {
        case .success(let target): return .jump(target)
        case .failure(let problem): return fail("bad-goto", "Goto(\(arguments)): \(problem.message); the call ends, as in Asterisk")
        }
    }

    func gotoIf(_ arguments: Arguments) -> Flow {
        guard case .branches(let condition, let yes, let no, _) = arguments else { return .next }
        let chosen = truthy(condition) ? yes : no
        guard let chosen, !chosen.text.isEmpty else { return .next }
        return goto(chosen.text)
    }

    func gotoIfTime(_ arguments: Arguments) -> Flow {
        guard case .branches(let spec, let yes, let no, _) = arguments else { return .next }
        switch TimeSpec.parse(spec) {
        case .success(let time):
            let chosen = time.matches(start.now(), zone: start.timeZone) ? yes : no
            guard let chosen, !chosen.text.isEmpty else { return .next }
            return goto(chosen.text)
        case .failure(let error):
            // Asterisk takes the false branch when the time does not parse.
            warnings.append("GotoIfTime: \(error.message)")
            guard let no, !no.text.isEmpty else { return .next }
            return goto(no.text)
        }
    }

    /// `Gosub([[context,]exten,]priority[(arg1[,…])])`. The arguments are split as
    /// Asterisk splits them: at commas outside quotes and parentheses, quotes and blanks kept.
    func gosub(_ arguments: String) -> Flow {
        var place = arguments
        var args: [String] = []
        if let open = arguments.firstIndex(of: "(") {
            place = String(arguments[..<open])
            var inner = arguments[arguments.index(after: open)...]
            if let close = inner.lastIndex(of: ")") { inner = inner[..<close] }
            args = Self.rawArguments(String(inner))
        }
        guard frames.count < 128 else {
            return fail("bad-gosub", "Gosub(\(arguments)): nested deeper than 128 levels; the call ends")
        }
        let target: Position
        switch self.target(place) {
        case .success(let found): target = found
        case .failure(let problem): return fail("bad-gosub", "Gosub(\(arguments)): \(problem.message); the call ends, as in Asterisk")
        }
        // Asterisk checks the destination before it goes there.
        guard lookup(target) != nil else {
            return fail("bad-gosub", "Gosub(\(arguments)): there is no priority \(target.priority) of '\(target.exten)' in [\(target.context)]; the call ends, as in Asterisk")
        }
        var locals: [String: String] = ["ARGC": String(args.count)]
        for (i, value) in args.enumerated() { locals["ARG\(i + 1)"] = value }
        // Arguments the caller had beyond these read as empty here, as in Asterisk.
        let outer = frames.last.flatMap { $0.locals["ARGC"] }.flatMap { Int($0) } ?? 0
        if outer > args.count { for i in (args.count + 1)...outer { locals["ARG\(i)"] = "" } }
        var returnTo = position
        returnTo.priority += 1
        frames.append(Frame(returnTo: returnTo, locals: locals))
        return .jump(target)
    }

    func gosubIf(_ arguments: Arguments) -> Flow {
        guard case .branches(let condition, let yes, let no, _) = arguments else { return .next }
        let chosen = truthy(condition) ? yes : no
        guard let chosen, !chosen.text.isEmpty else { return .next }
        return gosub(chosen.text)
    }

    func returnFromGosub(_ value: String) -> Flow {
        guard let frame = frames.popLast() else {
            return fail("bad-return", "Return(\(value)) without a Gosub; the call ends, as in Asterisk")
        }
        variables["GOSUB_RETVAL"] = value
        return .jump(frame.returnTo)
    }

    /// `StackPop()`: forgets the innermost Gosub's return address and local variables without returning.
    func stackPop() -> Flow {
        if frames.popLast() == nil { warnings.append("StackPop: not in a Gosub") }
        return .next
    }

    /// `RaiseException(reason)`: to the `e` extension with `EXCEPTION(reason)` set; without one the call ends.
    func raiseException(_ reason: String) -> Flow {
        guard let target = raise(reason, in: position.context) else {
            return fail("exception", "RaiseException(\(reason)): [\(position.context)] has no 'e' extension; the call ends, as in Asterisk")
        }
        return .jump(target)
    }

    func wait(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let duration = seconds(args.first) ?? .zero
        return await channel.wait(duration) ? .next : .hangup(cause: nil, reason: "caller-hangup")
    }

    /// An application failed as Asterisk's do when they return -1: the call ends
    /// (and `h` runs), unless TryExec ran it. The warning names the step's file:line.
    func fail(_ reason: String, _ message: String) -> Flow {
        .fail(reason: reason, message: message)
    }
}
