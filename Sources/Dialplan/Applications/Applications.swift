/// Each application, by name: what it does to control flow, variables and the channel.
extension Interpreter {
    func runApplication(_ name: String, arguments: String) async -> Flow {
        var args: [String] { arguments.isEmpty ? [] : Self.arguments(arguments) }
        switch name {
        case "NoOp": return .next
        case "Verbose", "Log": return .next
        case "Set": return set(arguments)
        case "Goto": return goto(arguments)
        case "GotoIf": return gotoIf(arguments)
        case "GotoIfTime": return gotoIfTime(arguments)
        case "Gosub": return gosub(arguments)
        case "GosubIf": return gosubIf(arguments)
        case "Return": return returnFromGosub(args.first ?? "")
        case "Wait": return await wait(args)
        case "Answer":
            if inHangupHandler { return .next }
            return await channel.answer() ? .next : .hangup(cause: nil, reason: "caller-hangup")
        case "Ringing":
            if !inHangupHandler { await channel.ringing() }
            return .next
        case "Progress":
            if !inHangupHandler { await channel.progress() }
            return .next
        case "Hangup":
            let cause = args.first.flatMap { Int($0) } ?? 16
            if !inHangupHandler { await channel.hangup(cause: cause) }
            return .hangup(cause: cause, reason: "hangup")
        case "Busy":
            if !inHangupHandler { await channel.hangup(cause: 17) }
            return .hangup(cause: 17, reason: "hangup")
        case "Congestion":
            if !inHangupHandler { await channel.hangup(cause: 34) }
            return .hangup(cause: 34, reason: "hangup")
        case "Playback": return await playback(args)
        case "Background": return await background(args)
        case "WaitExten":
            if inHangupHandler { return .next }
            let seconds = args.first.flatMap { Double($0) }
            let timeout = seconds.map { Duration.milliseconds(Int64($0 * 1000)) } ?? timeouts.response
            return .collect(first: nil, responseTimeout: timeout, context: nil)
        case "Read": return await read(args)
        case "Dial": return await dial(args)
        case "Queue": return await queue(args)
        case "VoiceMail": return await voicemail(args)
        case "Record": return await record(args)
        case "MessageSend": return await messageSend(args)
        default:
            warnings.append("application \(name) is not supported by Omnigate; the call continues")
            return .next
        }
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
