/// The applications Omnigate runs. Names match without regard to case, as in Asterisk.
enum Application: String, CaseIterable, Sendable {
    // The call
    case answer = "Answer", ringing = "Ringing", progress = "Progress", wait = "Wait", hangup = "Hangup", busy = "Busy",
         congestion = "Congestion", playback = "Playback", background = "Background", waitExten = "WaitExten", read = "Read",
         dial = "Dial", queue = "Queue", voiceMail = "VoiceMail", record = "Record", messageSend = "MessageSend"
    // Agents and queues
    case addQueueMember = "AddQueueMember", removeQueueMember = "RemoveQueueMember", pauseQueueMember = "PauseQueueMember",
         unpauseQueueMember = "UnpauseQueueMember"
    // Variables, the log and events
    case noOp = "NoOp", verbose = "Verbose", log = "Log", set = "Set", mSet = "MSet", clearHash = "ClearHash",
         userEvent = "UserEvent"
    // Jumps and subroutines
    case goto = "Goto", gotoIf = "GotoIf", gotoIfTime = "GotoIfTime", gosub = "Gosub", gosubIf = "GosubIf",
         `return` = "Return", stackPop = "StackPop", raiseException = "RaiseException"
    // Running another application
    case exec = "Exec", tryExec = "TryExec", execIf = "ExecIf", execIfTime = "ExecIfTime"
    // Blocks
    case `if` = "If", elseIf = "ElseIf", `else` = "Else", endIf = "EndIf", exitIf = "ExitIf", `while` = "While",
         endWhile = "EndWhile", exitWhile = "ExitWhile", continueWhile = "ContinueWhile"

    private static let byName: [String: Application] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue.lowercased(), $0) })

    static func named(_ name: String) -> Application? { byName[name.lowercased()] }

    /// Applications after which the next priority never runs.
    var neverContinues: Bool {
        [.goto, .hangup, .busy, .congestion, .return, .raiseException, .exitWhile, .continueWhile].contains(self)
    }

    /// Applications that touch the call, which the `h` extension skips (the call is over).
    var touchesCall: Bool {
        [.answer, .ringing, .progress, .wait, .playback, .background, .waitExten, .read, .dial, .queue, .voiceMail, .record]
            .contains(self)
    }
}

/// Each application: what it does to control flow, variables and the channel.
extension Interpreter {
    func runApplication(_ app: Application?, name: String, arguments: Arguments) async -> Flow {
        guard let app else {
            guard Catalog.isAsteriskApplication(name) else {
                return fail("no-application", "Asterisk 22 has no application '\(name)'; the call ends, as in Asterisk")
            }
            warnings.append("application \(name) is not supported by Omnigate; the call continues")
            return .next
        }
        let text = arguments.text
        // Split at commas only for the applications that read separate arguments.
        var args: [String] { text.isEmpty ? [] : Self.arguments(text) }
        switch app {
        case .noOp: return .next
        case .verbose: return verbose(text)
        case .log: return log(text)
        case .userEvent: return userEvent(text)
        case .set: return set(text)
        case .mSet: return mSet(args)
        case .clearHash: return clearHash(args.first ?? "")
        case .goto: return goto(text)
        case .gotoIf: return gotoIf(arguments)
        case .gotoIfTime: return gotoIfTime(arguments)
        case .gosub: return gosub(text)
        case .gosubIf: return gosubIf(arguments)
        case .return: return returnFromGosub(text)
        case .stackPop: return stackPop()
        case .raiseException: return raiseException(args.first ?? "")
        case .exec: return await exec(arguments, trying: false)
        case .tryExec: return await exec(arguments, trying: true)
        case .execIf: return await execIf(arguments)
        case .execIfTime: return await execIfTime(arguments)
        case .if, .elseIf, .else, .endIf, .exitIf: return conditionalBlock(app, text)
        case .while, .endWhile, .exitWhile: return whileLoop(app, text)
        case .continueWhile: return continueWhile()
        case .wait: return await wait(args)
        case .answer:
            if inHangupHandler { return .next }
            return await answer() ? .next : .hangup(cause: nil, reason: "caller-hangup")
        case .ringing:
            if !inHangupHandler { await channel.ringing() }
            return .next
        case .progress:
            if !inHangupHandler { await channel.progress() }
            return .next
        case .hangup:
            let cause = args.first.flatMap { Self.hangupCause($0) } ?? 16
            if !inHangupHandler { await channel.hangup(cause: cause) }
            return .hangup(cause: cause, reason: "hangup")
        case .busy:
            if !inHangupHandler { await channel.hangup(cause: 17) }
            return .hangup(cause: 17, reason: "hangup")
        case .congestion:
            if !inHangupHandler { await channel.hangup(cause: 34) }
            return .hangup(cause: 34, reason: "hangup")
        case .playback: return await playback(args)
        case .background: return await background(args)
        case .waitExten:
            if inHangupHandler { return .next }
            let seconds = args.first.flatMap { Double($0) }.flatMap { $0 > 0 ? $0 : nil }
            let timeout = seconds.map { Duration.milliseconds(Int64($0 * 1000)) } ?? timeouts.response
            return .collect(first: nil, responseTimeout: timeout, context: nil, waitExten: true)
        case .read: return await read(args)
        case .dial: return await dial(args)
        case .queue: return await queue(args)
        case .voiceMail: return await voicemail(args)
        case .record: return await record(args)
        case .messageSend: return await messageSend(args)
        case .addQueueMember, .removeQueueMember, .pauseQueueMember, .unpauseQueueMember: return await queueMember(app, args)
        }
    }

    /// Answers the call (once), remembering that it is answered.
    func answer() async -> Bool {
        guard await channel.answer() else { return false }
        answered = true
        return true
    }

    /// A Q.850 cause by number or by Asterisk's name for it (`USER_BUSY`, `NORMAL_CLEARING`, …).
    static func hangupCause(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let number = Int(trimmed), (0...127).contains(number) { return number }
        let names = ["UNALLOCATED": 1, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_USER_RESPONSE": 18,
                     "NO_ANSWER": 19, "CALL_REJECTED": 21, "NUMBER_CHANGED": 22, "DESTINATION_OUT_OF_ORDER": 27,
                     "INVALID_NUMBER_FORMAT": 28, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "CONGESTION": 34,
                     "NETWORK_OUT_OF_ORDER": 38, "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42]
        return names[trimmed.uppercased()]
    }

    /// Asterisk-style option letters, each perhaps followed by `(argument)`:
    /// in `tgU(greeting)` the letters are t, g and U (the `g` of `greeting` is
    /// not an option). Each comes with its byte offset in `text`.
    static func optionLetters(_ text: String) -> [(letter: Character, offset: Int)] {
        var letters: [(Character, Int)] = []
        var depth = 0, offset = 0
        for c in text {
            defer { offset += c.utf8.count }
            switch c {
            case "(": depth += 1
            case ")": depth = max(0, depth - 1)
            default: if depth == 0 && !c.isWhitespace { letters.append((c, offset)) }
            }
        }
        return letters
    }

    /// Application arguments as Asterisk separates them: at commas outside
    /// parentheses, brackets and quotes; quotes removed; `\` escapes a character.
    static func arguments(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var depth = 0, brackets = 0
        var quoted = false
        var escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "\"": quoted.toggle()
            case "(" where !quoted: depth += 1; current.append(c)
            case ")" where !quoted: depth = max(0, depth - 1); current.append(c)
            case "[" where !quoted: brackets += 1; current.append(c)
            case "]" where !quoted: brackets = max(0, brackets - 1); current.append(c)
            case "," where !quoted && depth == 0 && brackets == 0:
                result.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            default: current.append(c)
            }
        }
        result.append(current.trimmingCharacters(in: .whitespaces))
        return result
    }

    func seconds(_ text: String?) -> Duration? {
        guard let text, let value = Double(text), value >= 0 else { return nil }
        return .milliseconds(Int64(value * 1000))
    }
}

extension Interpreter {
    /// Splits run-time text at the first `separator`, as Asterisk does: plainly
    /// (strsep), or with `nested` outside parentheses, brackets and double quotes
    /// (its raw argument splitting). One part when there is no separator.
    static func split(_ text: String, at separator: Character, nested: Bool) -> [String] {
        var depth = 0, brackets = 0
        var quoted = false, escaped = false
        for index in text.indices {
            let c = text[index]
            if nested {
                if escaped { escaped = false; continue }
                switch c {
                case "\\": escaped = true; continue
                case "\"": quoted.toggle()
                case "(" where !quoted: depth += 1
                case ")" where !quoted: depth = max(0, depth - 1)
                case "[" where !quoted: brackets += 1
                case "]" where !quoted: brackets = max(0, brackets - 1)
                default: break
                }
            }
            if c == separator, !nested || (depth == 0 && brackets == 0 && !quoted) {
                return [String(text[..<index]), String(text[text.index(after: index)...])]
            }
        }
        return [text]
    }

    /// Arguments split as Asterisk's standard argument parsing does: at commas
    /// outside parentheses, brackets and quotes; quotes removed; a backslash keeps
    /// the next character; blanks kept (ARRAY, HASH, UserEvent read them this way).
    static func standardArguments(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var depth = 0, brackets = 0
        var quoted = false, escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "\"": quoted.toggle()
            case "(" where !quoted: depth += 1; current.append(c)
            case ")" where !quoted: depth = max(0, depth - 1); current.append(c)
            case "[" where !quoted: brackets += 1; current.append(c)
            case "]" where !quoted: brackets = max(0, brackets - 1); current.append(c)
            case "," where !quoted && depth == 0 && brackets == 0:
                result.append(current)
                current = ""
            default: current.append(c)
            }
        }
        result.append(current)
        return result
    }

    /// One argument as Asterisk's standard parsing leaves it: quotes removed, a
    /// backslash keeping the next character.
    static func unquotedArgument(_ text: String) -> String {
        guard text.contains("\"") || text.contains("\\") else { return text }
        var result = ""
        var escaped = false
        for c in text {
            if escaped { result.append(c); escaped = false; continue }
            if c == "\\" { escaped = true } else if c != "\"" { result.append(c) }
        }
        return result
    }

    /// Arguments split as Asterisk's raw argument parsing does (Gosub's): at commas
    /// outside parentheses, brackets and quotes, with quotes, backslashes and blanks kept.
    static func rawArguments(_ text: String) -> [String] {
        var result: [String] = []
        var rest = text
        while true {
            let parts = split(rest, at: ",", nested: true)
            result.append(parts[0])
            guard parts.count == 2 else { return result }
            rest = parts[1]
        }
    }
}
