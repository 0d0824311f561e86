/// Set, Goto, GotoIf, GotoIfTime, Gosub, GosubIf, Return, Wait.
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

    func goto(_ arguments: String) -> Flow {
        guard let target = target(arguments) else {
            warnings.append("Goto(\(arguments)): no such place")
            return .hangup(cause: 16, reason: "bad-goto")
        }
        return .jump(target)
    }

    func gotoIf(_ arguments: String) -> Flow {
        let (condition, yes, no) = conditional(arguments)
        let chosen = truthy(condition) ? yes : no
        return chosen.isEmpty ? .next : goto(chosen)
    }

    func gotoIfTime(_ arguments: String) -> Flow {
        let (spec, yes, no) = conditional(arguments)
        switch TimeSpec.parse(spec) {
        case .success(let time):
            let chosen = time.matches(start.now(), zone: start.timeZone) ? yes : no
            return chosen.isEmpty ? .next : goto(chosen)
        case .failure(let error):
            warnings.append("GotoIfTime: \(error.message)")
            return .next
        }
    }

    /// `Gosub([[context,]exten,]priority[(arg1[,…])])`.
    func gosub(_ arguments: String) -> Flow {
        var place = arguments
        var args: [String] = []
        if let open = arguments.firstIndex(of: "("), arguments.hasSuffix(")") {
            place = String(arguments[..<open])
            args = Self.arguments(String(arguments[arguments.index(after: open)..<arguments.index(before: arguments.endIndex)]))
        }
        guard frames.count < 128 else {
            warnings.append("Gosub nested deeper than 128 levels")
            return .hangup(cause: 16, reason: "bad-gosub")
        }
        guard let target = target(place) else {
            warnings.append("Gosub(\(arguments)): no such place")
            return .hangup(cause: 16, reason: "bad-gosub")
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

    func gosubIf(_ arguments: String) -> Flow {
        let (condition, yes, no) = conditional(arguments)
        let chosen = truthy(condition) ? yes : no
        return chosen.isEmpty ? .next : gosub(chosen)
    }

    func returnFromGosub(_ value: String) -> Flow {
        guard let frame = frames.popLast() else {
            warnings.append("Return without Gosub")
            return .hangup(cause: 16, reason: "bad-return")
        }
        variables["GOSUB_RETVAL"] = value
        return .jump(frame.returnTo)
    }

    func wait(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let duration = seconds(args.first) ?? .zero
        return await channel.wait(duration) ? .next : .hangup(cause: nil, reason: "caller-hangup")
    }
}
