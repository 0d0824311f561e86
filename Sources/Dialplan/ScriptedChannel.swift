import Foundation
import Synchronization

/// A channel that answers every command from a script and records what was
/// asked of it: for `omnigate dialplan simulate` and tests. Nothing waits
/// for real time: waits and timeouts pass at once.
public final class ScriptedChannel: Channel, Sendable {
    public struct Script: Sendable {
        /// Digits the caller presses, in order (`1#`). A `,` is a pause: the caller
        /// lets the next prompt play out, or the next wait for a digit time out.
        public var digits: [Character] = []
        /// DIALSTATUS per target (`PJSIP/alice`), or for any target under "*"; default ANSWER.
        public var dialStatus: [String: String] = [:]
        /// QUEUESTATUS per queue, or "*"; nil (the default) means an agent answers.
        public var queueStatus: [String: String] = [:]
        /// The agent who answers a queue call.
        public var queueAgent = "agent"
        /// CONTACT(field) answers.
        public var contact: [String: String] = [:]
        /// The caller hangs up after this many commands (nil: never).
        public var hangUpAfterCommands: Int?
        /// Once the digits run out, the caller lets this many waits for a digit
        /// time out, and hangs up at the next (nil: waits forever), as real
        /// callers do; it keeps a menu that repeats on timeout from looping.
        public var patience: Int? = 3
        /// Prompts that do not exist (playback of them fails).
        public var missingPrompts: Set<String> = []
        /// MESSAGE_SEND_STATUS for MessageSend.
        public var messageStatus = "SUCCESS"
        /// VMSTATUS for VoiceMail.
        public var voicemailStatus = "SUCCESS"
        /// RECORD_STATUS for Record.
        public var recordStatus = "DTMF"
        /// What AddQueueMember, RemoveQueueMember, PauseQueueMember and
        /// UnpauseQueueMember report, by application; default ADDED, REMOVED, PAUSED, UNPAUSED.
        public var memberStatus: [String: String] = [:]
        /// QUEUE_MEMBER and QUEUE_WAITING_COUNT answers: `queue,option` or `waiting,queue`; default 0.
        public var queueFigures: [String: String] = [:]

        public init() {}
    }

    private struct State {
        var script: Script
        var commands: [String] = []
        var hungUp = false
        var answered = false
        var silentWaits = 0
    }

    private let state: Mutex<State>

    public init(_ script: Script = Script()) {
        state = Mutex(State(script: script))
    }

    /// Every command the plan gave, in order (`answer`, `play(welcome)`, `dial(PJSIP/alice)`, …).
    public var commands: [String] { state.withLock { $0.commands } }

    public var isHungUp: Bool { state.withLock { $0.hungUp } }

    private func note(_ command: String) {
        state.withLock { state in
            state.commands.append(command)
            if let limit = state.script.hangUpAfterCommands, state.commands.count >= limit { state.hungUp = true }
        }
    }

    private func nextDigit() -> Character? {
        state.withLock { state in state.script.digits.isEmpty ? nil : state.script.digits.removeFirst() }
    }

    public func answer() async -> Bool {
        let first = state.withLock { state -> Bool in
            defer { state.answered = true }
            return !state.answered
        }
        if first { note("answer") }
        return !isHungUp
    }

    public func ringing() async { note("ringing") }
    public func progress() async { note("progress") }

    public func hangup(cause: Int) async {
        note("hangup(\(cause))")
        state.withLock { $0.hungUp = true }
    }

    public func wait(_ duration: Duration) async -> Bool {
        note("wait(\(formatNumber(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)))")
        return !isHungUp
    }

    public func play(_ prompts: [String], interruptDigits: String) async -> PlayResult {
        note("play(\(prompts.joined(separator: "&")))")
        if isHungUp { return .hungUp }
        if let missing = prompts.first(where: { state.withLock { $0.script.missingPrompts }.contains($0) }) {
            return .failed("no prompt \(missing)")
        }
        let next = state.withLock { $0.script.digits.first }
        if next == "," {
            _ = nextDigit()  // the caller listens to the end
        } else if !interruptDigits.isEmpty, let digit = next, interruptDigits.contains(digit) {
            _ = nextDigit()
            return .interrupted(digit)
        }
        return .finished
    }

    public func digit(timeout: Duration) async -> Character? {
        if isHungUp { return nil }
        if let digit = nextDigit() { return digit == "," ? nil : digit }
        let givesUp = state.withLock { state -> Bool in
            state.silentWaits += 1
            guard let patience = state.script.patience, state.silentWaits > patience else { return false }
            state.hungUp = true
            return true
        }
        if givesUp { note("caller hangs up") }
        return nil
    }

    public func dial(_ request: DialRequest) async -> DialResult {
        note("dial(\(request.targets.joined(separator: "&")))")
        let statuses = state.withLock { $0.script.dialStatus }
        let status = request.targets.compactMap { statuses[$0] }.first ?? statuses["*"] ?? "ANSWER"
        return DialResult(status: status, answeredTarget: status == "ANSWER" ? request.targets.first : nil)
    }

    public func queue(_ request: QueueRequest) async -> QueueResult {
        note("queue(\(request.queue))")
        let (status, agent) = state.withLock { state in
            (state.script.queueStatus[request.queue] ?? state.script.queueStatus["*"], state.script.queueAgent)
        }
        return QueueResult(status: status, agent: status == nil ? agent : nil)
    }

    public func voicemail(_ request: VoicemailRequest) async -> VoicemailResult {
        note("voicemail(\(request.mailboxes.joined(separator: "&")))")
        let status = isHungUp ? "FAILED" : state.withLock { $0.script.voicemailStatus }
        return VoicemailResult(status: status, recording: status == "FAILED" ? nil : "voicemail/\(request.mailboxes[0]).wav")
    }

    public func record(_ request: RecordRequest) async -> RecordResult {
        note("record(\(request.path))")
        return RecordResult(status: state.withLock { $0.script.recordStatus }, path: request.path)
    }

    public func sendMessage(_ message: OutboundMessage) async -> MessageSendResult {
        note("message(\(message.destination): \(message.body))")
        return MessageSendResult(status: state.withLock { $0.script.messageStatus })
    }

    public func contact(field: String) async -> String? {
        state.withLock { $0.script.contact[field] } ?? (TimelineFields.known.contains(field) ? "" : nil)
    }

    public func queueMember(_ change: QueueMemberChange) async -> String {
        note("\(change.action.rawValue)(\(change.queue),\(change.interface))")
        let defaults: [QueueMemberChange.Action: String] = [.add: "ADDED", .remove: "REMOVED", .pause: "PAUSED", .unpause: "UNPAUSED"]
        return state.withLock { $0.script.memberStatus[change.action.rawValue] } ?? defaults[change.action]!
    }

    public func queueFigure(_ query: QueueQuery) async -> String? {
        let key = switch query {
        case .member(let queue, let option, _): "\(queue),\(option)"
        case .waiting(let queue): "waiting,\(queue)"
        }
        return state.withLock { $0.script.queueFigures[key] } ?? "0"
    }
}

/// CONTACT() field names (answered by the gateway from the store).
public enum TimelineFields {
    public static let known: Set<String> = ["name", "tier", "id", "company", "known", "last_agent", "last_channel",
                                            "last_contact", "last_subject", "open_items", "interactions", "email", "phone"]
}

/// What a simulated call did, as JSON objects: for `omnigate dialplan simulate
/// --format json` and the HTTP API, with the same (snake_case) names.
public enum SimulationReport {
    public static func document(_ outcome: Outcome, commands: [String]) -> [String: Any] {
        [
            "steps": outcome.steps.map { ["context": $0.context, "exten": $0.exten, "priority": $0.priority,
                                          "application": $0.application, "arguments": $0.arguments] },
            "commands": commands,
            "outcome": ["reason": outcome.reason, "hangup_cause": outcome.hangupCause.map { $0 as Any } ?? NSNull()],
            "variables": outcome.variables,
            "warnings": outcome.warnings,
            "messages": outcome.messages,
            "user_events": outcome.userEvents.map { event in
                ["name": event.name, "fields": event.fields.map { ["key": $0.key, "value": $0.value] }] as [String: Any]
            },
        ]
    }
}
