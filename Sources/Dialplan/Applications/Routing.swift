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
        var request = QueueRequest(queue: name, options: options,
                                   timeout: seconds(args.count > 4 ? args[4] : nil).flatMap { $0 == .zero ? nil : $0 },
                                   inherited: inheritedVariables)
        request.priority = variable("QUEUE_PRIO").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        let result = await channel.queue(request)
        let continues = Self.optionLetters(options).contains { $0.letter == "c" }
        if let status = result.status {
            setVariable("QUEUESTATUS", status)
        } else if continues && result.transfer == nil {
            setVariable("QUEUESTATUS", "CONTINUE")  // answered, and the caller goes on after the agent hangs up
        }
        if let agent = result.agent { setVariable("QUEUEAGENT", agent) }
        if channel.isHungUp { return .hangup(cause: nil, reason: "caller-hangup") }
        if let transfer = result.transfer { return .jump(Position(context: transfer.context, exten: transfer.exten, priority: 1)) }
        if result.status == nil && !continues { return .hangup(cause: 16, reason: "dial-ended") }
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

    /// `AddQueueMember(queue[,interface,…])`, `RemoveQueueMember(queue[,interface])`,
    /// `PauseQueueMember([queue],interface[,options[,reason]])`, `UnpauseQueueMember(…)`:
    /// an empty interface is the agent whose phone placed the call; an empty
    /// queue (Omnigate's reading, for the log-in and log-out feature codes) is every queue it serves.
    func queueMember(_ app: Application, _ args: [String]) async -> Flow {
        let action: QueueMemberChange.Action = switch app {
        case .addQueueMember: .add
        case .removeQueueMember: .remove
        case .pauseQueueMember: .pause
        default: .unpause
        }
        let argument = { (index: Int) in args.count > index ? args[index].trimmingCharacters(in: .whitespaces) : "" }
        let reason = action == .pause || action == .unpause ? argument(3) : ""
        let change = QueueMemberChange(action: action, queue: argument(0), interface: argument(1), reason: reason)
        setVariable(action.statusVariable, await channel.queueMember(change))
        return .next
    }

    /// `QUEUE_MEMBER(queue,option[,interface])`, `QUEUE_WAITING_COUNT(queue)`.
    func queueFigure(_ function: FunctionName, _ arguments: String) async -> String {
        let args = Self.standardArguments(arguments).map { $0.trimmingCharacters(in: .whitespaces) }
        let queue = args.first ?? ""
        let query: QueueQuery
        if function == .queueWaitingCount {
            query = .waiting(queue: queue)
        } else {
            guard args.count >= 2 else {
                warnings.append("\(located)QUEUE_MEMBER needs queue,option[,interface]")
                return ""
            }
            query = .member(queue: queue, option: args[1].lowercased(), interface: args.count > 2 ? args[2] : "")
        }
        guard let value = await channel.queueFigure(query) else {
            warnings.append("\(located)QUEUE_MEMBER(\(arguments)): no such option; it reads as empty")
            return ""
        }
        return value
    }
}
