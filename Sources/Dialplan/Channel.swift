import Foundation

/// What the dialplan asks of a call. The gateway backs it with a live SIP call;
/// `ScriptedChannel` backs it with a script for `dialplan simulate` and tests.
///
/// Every method is a command on the call and returns when it is done (or the
/// caller hung up). None of them decides control flow: the interpreter does.
public protocol Channel: AnyObject, Sendable {
    /// True once the caller has hung up (or the call was hung up).
    var isHungUp: Bool { get }
    /// Answers the call (200 OK). False when the caller is gone.
    func answer() async -> Bool
    /// Sends 180 Ringing.
    func ringing() async
    /// Sends 183 Session Progress (early media).
    func progress() async
    /// Ends the call with a Q.850 cause (16 normal, 17 busy, 34 congestion, 21 rejected, …).
    func hangup(cause: Int) async
    /// Waits; false when the caller hung up meanwhile.
    func wait(_ duration: Duration) async -> Bool
    /// Plays prompts in turn (names like `welcome` or absolute paths). A digit in
    /// `interruptDigits` stops playback and is returned.
    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult
    /// The next digit the caller presses (typed-ahead first), or nil on timeout or hangup.
    func digit(timeout: Duration) async -> Character?
    /// Rings targets and bridges the first to answer; returns when that call ends or nobody answered.
    func dial(_ request: DialRequest) async -> DialResult
    /// Puts the caller in a queue until an agent answers, the wait ends or the caller hangs up.
    func queue(_ request: QueueRequest) async -> QueueResult
    /// Records a voicemail for a mailbox and puts it on the caller's timeline.
    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult
    /// Records the caller to a file.
    func record(_ request: RecordRequest) async -> RecordResult
    /// Sends a text message (SMS as SIP MESSAGE).
    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult
    /// Answers `CONTACT(field)` from the customer store; nil for an unknown field.
    func contact(field: String) async -> String?
    /// AddQueueMember, RemoveQueueMember, PauseQueueMember, UnpauseQueueMember:
    /// changes an agent's state; returns what Asterisk puts in AQMSTATUS (and RQMSTATUS, …).
    func queueMember(_ change: QueueMemberChange) async -> String
    /// `QUEUE_MEMBER(queue,option[,interface])` and `QUEUE_WAITING_COUNT(queue)`; nil for an option it does not know.
    func queueFigure(_ query: QueueQuery) async -> String?
}

extension Channel {
    /// A channel with no agents (a test's, a message's): every member is not found.
    public func queueMember(_ change: QueueMemberChange) async -> String { change.action == .add || change.action == .remove ? "NOSUCHQUEUE" : "NOTFOUND" }
    public func queueFigure(_ query: QueueQuery) async -> String? { "0" }
}

/// An agent's state as a queue-member application changes it.
public struct QueueMemberChange: Sendable, Equatable {
    public enum Action: String, Sendable {
        case add = "AddQueueMember", remove = "RemoveQueueMember", pause = "PauseQueueMember", unpause = "UnpauseQueueMember"

        /// The channel variable the outcome goes in.
        public var statusVariable: String {
            switch self {
            case .add: "AQMSTATUS"
            case .remove: "RQMSTATUS"
            case .pause: "PQMSTATUS"
            case .unpause: "UPQMSTATUS"
            }
        }
    }
    public var action: Action
    /// The queue; empty for every queue the agent serves.
    public var queue: String
    /// `PJSIP/alice` (or `alice`); empty for the agent whose phone placed the call.
    public var interface: String
    /// Why the agent pauses.
    public var reason: String

    public init(action: Action, queue: String, interface: String, reason: String = "") {
        self.action = action
        self.queue = queue
        self.interface = interface
        self.reason = reason
    }
}

/// What `QUEUE_MEMBER` and `QUEUE_WAITING_COUNT` ask.
public enum QueueQuery: Sendable, Equatable {
    /// `logged`, `free`, `ready`, `count`, `paused`, `penalty`, `ignorebusy`; `interface` for one member.
    case member(queue: String, option: String, interface: String)
    case waiting(queue: String)
}

public enum PlayResult: Sendable, Equatable {
    case finished
    case interrupted(Character)
    case failed(String)
    case hungUp
}

/// `Dial(targets,timeout,options)`.
public struct DialRequest: Sendable, Equatable {
    /// `PJSIP/agent1`, `PJSIP/+15551234567@provider`, `SIP/…`, `Local/…`.
    public var targets: [String]
    public var timeout: Duration?
    public var options: String
    /// Variables the dialled legs inherit (`_VAR`, `__VAR`), with the underscores kept.
    public var inherited: [String: String]
    public var callerIDNumber: String
    public var callerIDName: String
}

/// DIALSTATUS: ANSWER, BUSY, NOANSWER, CANCEL (the caller hung up while it
/// rang: the call ends and h runs), CONGESTION, CHANUNAVAIL.
public struct DialResult: Sendable, Equatable {
    public var status: String
    /// The target that answered, and for how long the call was bridged.
    public var answeredTarget: String?
    public var answeredSeconds: Int
    public var dialedSeconds: Int
    /// The answering party transferred the caller: the call goes on there.
    public var transfer: TransferTarget?
    public init(status: String, answeredTarget: String? = nil, answeredSeconds: Int = 0, dialedSeconds: Int = 0,
                transfer: TransferTarget? = nil) {
        self.status = status
        self.answeredTarget = answeredTarget
        self.answeredSeconds = answeredSeconds
        self.dialedSeconds = dialedSeconds
        self.transfer = transfer
    }
}

/// Where a blind transfer sends the caller: the extension in the transferring
/// party's context (Asterisk's TRANSFER_CONTEXT), run from priority 1.
public struct TransferTarget: Sendable, Equatable {
    public var context: String
    public var exten: String
    public init(context: String, exten: String) {
        self.context = context
        self.exten = exten
    }
}

/// `Queue(name,options,URL,announce,timeout)`.
public struct QueueRequest: Sendable, Equatable {
    public var queue: String
    public var options: String
    public var timeout: Duration?
    public var inherited: [String: String]
    /// `QUEUE_PRIO`: a caller with a higher number goes ahead of those with lower ones.
    public var priority = 0
}

/// QUEUESTATUS: TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY, JOINUNAVAIL, LEAVEUNAVAIL, CONTINUE;
/// nil status with an agent when the call was answered.
public struct QueueResult: Sendable, Equatable {
    public var status: String?
    public var agent: String?
    /// The agent transferred the caller: the call goes on there.
    public var transfer: TransferTarget?
    public init(status: String?, agent: String? = nil, transfer: TransferTarget? = nil) {
        self.status = status
        self.agent = agent
        self.transfer = transfer
    }
}

/// `VoiceMail(mailbox[@context][&…],options)`.
public struct VoicemailRequest: Sendable, Equatable {
    public var mailboxes: [String]
    /// `u` unavailable greeting, `b` busy greeting, `s` skip instructions.
    public var options: String
}

/// VMSTATUS: SUCCESS, USEREXIT, FAILED.
public struct VoicemailResult: Sendable, Equatable {
    public var status: String
    public var recording: String?
    public init(status: String, recording: String? = nil) {
        self.status = status
        self.recording = recording
    }
}

/// `Record(file.format,silence,maxduration,options)`.
public struct RecordRequest: Sendable, Equatable {
    public var path: String
    public var silence: Duration?
    public var maxDuration: Duration?
    public var options: String
}

/// RECORD_STATUS: DTMF, SILENCE, SKIP, TIMEOUT, HANGUP, ERROR.
public struct RecordResult: Sendable, Equatable {
    public var status: String
    public var path: String?
    public init(status: String, path: String? = nil) {
        self.status = status
        self.path = path
    }
}

/// `MessageSend(destination,from)` with the body from `MESSAGE(body)`.
public struct OutboundMessage: Sendable, Equatable {
    public var destination: String
    public var from: String?
    public var body: String
}

/// MESSAGE_SEND_STATUS: SUCCESS, FAILURE, INVALID_URI, …; `detail` says what the next hop answered.
public struct MessageSendResult: Sendable, Equatable {
    public var status: String
    public var detail: String
    public init(status: String, detail: String = "") {
        self.status = status
        self.detail = detail
    }
}
