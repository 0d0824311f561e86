/// The applications Omnigate runs. Names match without regard to case, as in Asterisk.
enum Application: String, CaseIterable, Sendable {
    case answer = "Answer", ringing = "Ringing", progress = "Progress", wait = "Wait", noOp = "NoOp", verbose = "Verbose",
         log = "Log", set = "Set", goto = "Goto", gotoIf = "GotoIf", gotoIfTime = "GotoIfTime", gosub = "Gosub",
         gosubIf = "GosubIf", `return` = "Return", hangup = "Hangup", busy = "Busy", congestion = "Congestion",
         playback = "Playback", background = "Background", waitExten = "WaitExten", read = "Read", dial = "Dial",
         queue = "Queue", voiceMail = "VoiceMail", record = "Record", messageSend = "MessageSend"

    private static let byName: [String: Application] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue.lowercased(), $0) })

    static func named(_ name: String) -> Application? { byName[name.lowercased()] }

    /// Applications after which the next priority never runs.
    var neverContinues: Bool { [.goto, .hangup, .busy, .congestion, .return].contains(self) }
}

/// Each application: what it does to control flow, variables and the channel.
extension Interpreter {
    func runApplication(_ app: Application?, name: String, arguments: String) async -> Flow {
        guard let app else {
            warnings.append("application \(name) is not supported by Omnigate; the call continues")
            return .next
        }
        let args = arguments.isEmpty ? [] : Self.arguments(arguments)
        switch app {
        case .noOp: return .next
        case .verbose:
            // Verbose([level,]message)
            let parts = Parser.splitTopLevel(arguments, maxSplits: 1)
            let leveled = parts.count == 2 && Int(parts[0].trimmingCharacters(in: .whitespaces)) != nil
            messages.append("VERBOSE: " + (leveled ? parts[1] : arguments))
            return .next
        case .log:
            // Log(level,message)
            let parts = Parser.splitTopLevel(arguments, maxSplits: 1)
            messages.append(parts.count == 2 ? "\(parts[0].trimmingCharacters(in: .whitespaces).uppercased()): \(parts[1])" : arguments)
            return .next
        case .set: return set(arguments)
        case .goto: return goto(arguments)
        case .gotoIf: return gotoIf(arguments)
        case .gotoIfTime: return gotoIfTime(arguments)
        case .gosub: return gosub(arguments)
        case .gosubIf: return gosubIf(arguments)
        case .return: return returnFromGosub(args.first ?? "")
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
