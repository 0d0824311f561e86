@testable import Dialplan
import Foundation
import Synchronization
import Testing

/// The package root (the directory holding Package.swift).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return "."
}()

/// Loads text, expecting no errors.
func plan(_ text: String, file: String = "t.conf") throws -> Dialplan {
    let load = DialplanLoader.parse(text, file: file)
    if let plan = load.plan { return plan }
    throw LoadFailure(diagnostics: load.diagnostics)
}

/// Every diagnostic for some text, rendered.
func diagnostics(_ text: String, mode: DialplanMode = .strict, names: ConfigurationNames? = nil) -> [String] {
    DialplanLoader.parse(text, file: "t.conf", mode: mode, names: names).diagnostics.map(\.description)
}

/// Runs a plan against a scripted channel.
func simulate(_ plan: Dialplan, context: String = "default", exten: String, callerID: String = "2015550100",
              script: ScriptedChannel.Script = .init(), time: String? = nil, variables: [String: String] = [:]) async -> (Outcome, ScriptedChannel) {
    let channel = ScriptedChannel(script)
    var start = CallStart(context: context, exten: exten, callerIDNumber: callerID, callerIDName: "Ada", uniqueID: "u-1")
    if let time {
        let date = ISO8601DateFormatter().date(from: time)!
        start.now = { date }
    }
    start.timeZone = TimeZone(identifier: "UTC")!
    start.variables = variables
    let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start)
    return (await interpreter.run(), channel)
}

/// A script of digits (`,` is a pause), with other fields set by `configure`.
func script(_ digits: String = "", _ configure: (inout ScriptedChannel.Script) -> Void = { _ in }) -> ScriptedChannel.Script {
    var script = ScriptedChannel.Script()
    script.digits = Array(digits)
    configure(&script)
    return script
}

/// A fresh temporary directory; the caller removes it.
func temporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A tiny deterministic generator for the fuzz tests.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(truncatingIfNeeded: (state >> 33) & 0x7fff_ffff)
    }
}

/// A channel that keeps every request whole, for tests that look inside them;
/// answers like an empty ScriptedChannel otherwise. Its state sits behind a mutex.
final class RecordingChannel: Channel, Sendable {
    struct Requests {
        var dials: [DialRequest] = []
        var queues: [QueueRequest] = []
        var voicemails: [VoicemailRequest] = []
        var recordings: [RecordRequest] = []
        var messages: [OutboundMessage] = []
        var plays: [[String]] = []
        var hangups: [Int] = []
    }

    let requests = Mutex(Requests())
    private let dialStatus: String

    init(dialStatus: String = "NOANSWER") { self.dialStatus = dialStatus }

    var isHungUp: Bool { requests.withLock { !$0.hangups.isEmpty } }
    func answer() async -> Bool { true }
    func ringing() async {}
    func progress() async {}
    func hangup(cause: Int) async { requests.withLock { $0.hangups.append(cause) } }
    func wait(_ duration: Duration) async -> Bool { true }
    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult {
        requests.withLock { $0.plays.append(prompts) }
        return .finished
    }
    func digit(timeout: Duration) async -> Character? { nil }
    func dial(_ request: DialRequest) async -> DialResult {
        requests.withLock { $0.dials.append(request) }
        return DialResult(status: dialStatus)
    }
    func queue(_ request: QueueRequest) async -> QueueResult {
        requests.withLock { $0.queues.append(request) }
        return QueueResult(status: "TIMEOUT")
    }
    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult {
        requests.withLock { $0.voicemails.append(request) }
        return VoicemailResult(status: "SUCCESS")
    }
    func record(_ request: RecordRequest) async -> RecordResult {
        requests.withLock { $0.recordings.append(request) }
        return RecordResult(status: "SILENCE", path: request.path)
    }
    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult {
        requests.withLock { $0.messages.append(message) }
        return MessageSendResult(status: "SUCCESS")
    }
    func contact(field: String) async -> String? { field == "tier" ? "gold" : nil }
}

/// Runs a plan on any channel.
func run(_ plan: Dialplan, on channel: Channel, context: String = "default", exten: String,
         message: (body: String, from: String, to: String)? = nil) async -> Outcome {
    var start = CallStart(context: context, exten: exten, callerIDNumber: "2015550100", callerIDName: "Ada", uniqueID: "u-2")
    start.message = message
    start.timeZone = TimeZone(identifier: "UTC")!
    let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start)
    return message == nil ? await interpreter.run() : await interpreter.runMessage()
}
