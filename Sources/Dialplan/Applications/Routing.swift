import Foundation

/// Dial, Queue, MessageSend.
extension Interpreter {
    /// `Dial(Tech/target[&…][,timeout[,options[,URL]]])`: DIALSTATUS, DIALEDTIME, ANSWEREDTIME.
    /// After an answered call, the caller is hung up too unless option `g` is given.
    func dial(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let targets = (args.first ?? "").split(separator: "&").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !targets.isEmpty else {
            warnings.append("Dial needs at least one target")
            setVariable("DIALSTATUS", "CHANUNAVAIL")
            return .next
        }
        let options = args.count > 2 ? args[2] : ""
        let result = await channel.dial(DialRequest(targets: targets, timeout: seconds(args.count > 1 ? args[1] : nil).flatMap { $0 == .zero ? nil : $0 },
                                                    options: options, inherited: inheritedVariables,
                                                    callerIDNumber: callerIDNumber, callerIDName: callerIDName))
        setVariable("DIALSTATUS", result.status)
        setVariable("DIALEDTIME", String(result.dialedSeconds))
        setVariable("ANSWEREDTIME", String(result.answeredSeconds))
        if let answered = result.answeredTarget { setVariable("DIALEDPEERNUMBER", answered) }
        // CANCEL: the caller hung up while the targets rang.
        if channel.isHungUp || result.status == "CANCEL" { return .hangup(cause: nil, reason: "caller-hangup") }
        if let transfer = result.transfer { return .jump(Position(context: transfer.context, exten: transfer.exten, priority: 1)) }
        if result.status == "ANSWER" && !Self.optionLetters(options).contains(where: { $0.letter == "g" }) { return .hangup(cause: 16, reason: "dial-ended") }
        return .next
    }

    /// `Queue(name[,options[,URL[,announce[,timeout]]]])`: QUEUESTATUS when no agent took the call.
    /// After an answered call, the caller is hung up too unless option `c` is given.
    func queue(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        guard let name = args.first, !name.isEmpty else {
            warnings.append("Queue needs a queue name")
            setVariable("QUEUESTATUS", "JOINUNAVAIL")
            return .next
        }
        let options = args.count > 1 ? args[1] : ""
        let result = await channel.queue(QueueRequest(queue: name, options: options,
                                                      timeout: seconds(args.count > 4 ? args[4] : nil).flatMap { $0 == .zero ? nil : $0 },
                                                      inherited: inheritedVariables))
        if let status = result.status { setVariable("QUEUESTATUS", status) }
        if let agent = result.agent { setVariable("QUEUEAGENT", agent) }
        if channel.isHungUp { return .hangup(cause: nil, reason: "caller-hangup") }
        if let transfer = result.transfer { return .jump(Position(context: transfer.context, exten: transfer.exten, priority: 1)) }
        if result.status == nil && !Self.optionLetters(options).contains(where: { $0.letter == "c" }) { return .hangup(cause: 16, reason: "dial-ended") }
        return .next
    }

    /// `MessageSend(destination[,from])` with the body from `MESSAGE(body)`:
    /// MESSAGE_SEND_STATUS SUCCESS (the next hop accepted it), FAILURE or INVALID_URI.
    func messageSend(_ args: [String]) async -> Flow {
        guard let destination = args.first, !destination.isEmpty else {
            warnings.append("MessageSend needs a destination")
            setVariable("MESSAGE_SEND_STATUS", "INVALID_URI")
            return .next
        }
        let result = await channel.sendMessage(OutboundMessage(destination: destination,
                                                               from: args.count > 1 && !args[1].isEmpty ? args[1] : nil,
                                                               body: messageBody ?? ""))
        setVariable("MESSAGE_SEND_STATUS", result.status)
        return .next
    }
}
