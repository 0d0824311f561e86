@testable import Dialplan
import Foundation
import Synchronization
import Testing

/// A channel whose first wait for a digit blocks until the test presses one,
/// so a call can be held mid-plan while the plan is reloaded. State behind a mutex.
final class GateChannel: Channel, Sendable {
    private struct State {
        var waiting: CheckedContinuation<Character?, Never>?
        var prompts: [String] = []
    }
    private let state = Mutex(State())

    var isWaiting: Bool { state.withLock { $0.waiting != nil } }
    var prompts: [String] { state.withLock { $0.prompts } }

    func press(_ digit: Character?) { state.withLock { $0.waiting.take() }?.resume(returning: digit) }

    var isHungUp: Bool { false }
    func answer() async -> Bool { true }
    func ringing() async {}
    func progress() async {}
    func hangup(cause: Int) async {}
    func wait(_ duration: Duration) async -> Bool { true }
    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult {
        state.withLock { $0.prompts += prompts }
        return .finished
    }
    func digit(timeout: Duration) async -> Character? {
        await withCheckedContinuation { continuation in state.withLock { $0.waiting = continuation } }
    }
    func dial(_ request: DialRequest) async -> DialResult { DialResult(status: "NOANSWER") }
    func queue(_ request: QueueRequest) async -> QueueResult { QueueResult(status: "TIMEOUT") }
    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult { VoicemailResult(status: "SUCCESS") }
    func record(_ request: RecordRequest) async -> RecordResult { RecordResult(status: "DTMF") }
    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult { MessageSendResult(status: "SUCCESS") }
    func contact(field: String) async -> String? { nil }
}

@Suite("live reload")
struct ReloadTests {
    private func write(_ text: String, to file: String, age: TimeInterval) throws {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        // Distinct modification times, whatever the file system's resolution.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(age)], ofItemAtPath: file)
    }

    @Test("a good edit is swapped in; a bad one is refused with file:line and the old plan keeps running")
    func reload() throws {
        let dir = try temporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/extensions.conf"
        try write("[default]\nexten => 1,1,NoOp(v1)\n", to: file, age: 0)
        let live = try LivePlan(paths: [dir])
        let inProgress = live.current.plan
        #expect(live.reloadIfChanged() == nil)

        try write("[default]\nexten => 1,1,NoOp(v2)\n", to: file, age: 5)
        let good = try #require(live.reloadIfChanged())
        #expect(good.applied)
        #expect(live.current.plan.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v2")
        #expect(inProgress.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v1", "a call keeps its plan")

        try write("[default]\nexten => 1,1,NoOp(v3)\nexten => 2,1,Dail(x)\n", to: file, age: 10)
        let bad = try #require(live.reloadIfChanged())
        #expect(!bad.applied)
        #expect(bad.diagnostics.map(\.description) == ["\(file):3:14: error: unknown application 'Dail'; did you mean 'Dial'?"])
        #expect(live.current.plan.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v2", "nothing of the bad file is taken")
        #expect(live.reloadIfChanged() == nil, "a broken file is reported once")

        try write("[default]\nexten => 1,1,NoOp(v3)\n", to: dir + "/more.conf", age: 15)
        #expect(live.reloadIfChanged()?.applied == false, "a new file is noticed; extensions.conf is still broken")
        try FileManager.default.removeItem(atPath: dir + "/more.conf")
        try write("[default]\nexten => 1,1,NoOp(v4)\n", to: file, age: 20)
        #expect(live.reload().applied)
        #expect(live.current.plan.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v4")
    }

    @Test("a call in progress finishes on the plan it started with")
    func callInProgress() async throws {
        let dir = try temporaryDirectory("reload-call")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/extensions.conf"
        try write("[default]\nexten => s,1,Background(old-menu)\nsame => n,WaitExten(5)\nexten => 1,1,Playback(old-choice)\n", to: file, age: 0)
        let live = try LivePlan(paths: [dir])
        let (plan, globals) = live.current
        let channel = GateChannel()
        let call = Task {
            await Interpreter(plan: plan, channel: channel, globals: globals,
                              start: CallStart(context: "default", exten: "s", uniqueID: "held")).run()
        }
        // Hold the call at the menu, waiting for a digit.
        // Generous: a full run's blocking tests can hold the concurrency pool's threads for seconds.
        let deadline = ContinuousClock.now + .seconds(60)
        while !channel.isWaiting && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(channel.isWaiting)

        try write("[default]\nexten => s,1,Background(new-menu)\nsame => n,WaitExten(5)\nexten => 1,1,Playback(new-choice)\n", to: file, age: 5)
        #expect(live.reloadIfChanged()?.applied == true)
        channel.press("1")
        let outcome = await call.value
        #expect(channel.prompts == ["old-menu", "old-choice"])
        #expect(outcome.steps.map(\.description) == ["default,s,1: Background(old-menu)", "default,s,2: WaitExten(5)",
                                                     "default,1,1: Playback(old-choice)"])

        let (_, after) = await simulate(live.current.plan, exten: "s", script: script("1"))
        #expect(after.commands.contains("play(new-choice)"), "new calls take the new plan")
    }

    @Test("globals set at run time survive a reload, unless clearglobalvars = yes")
    func globalsAcrossReloads() throws {
        let dir = try temporaryDirectory("reload-globals")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/extensions.conf"
        try write("[globals]\nFROM_FILE=1\n[default]\nexten => 1,1,NoOp()\n", to: file, age: 0)
        let live = try LivePlan(paths: [dir])
        let globals = live.current.globals
        globals["SET_BY_A_CALL"] = "yes"
        try write("[globals]\nFROM_FILE=2\n[default]\nexten => 1,1,NoOp()\n", to: file, age: 5)
        #expect(live.reload().applied)
        #expect(live.current.globals === globals, "old and new calls share one set of globals")
        #expect(globals["FROM_FILE"] == "2" && globals["SET_BY_A_CALL"] == "yes")
        try write("[general]\nclearglobalvars=yes\n[globals]\nFROM_FILE=3\n[default]\nexten => 1,1,NoOp()\n", to: file, age: 10)
        #expect(live.reload().applied)
        #expect(globals["FROM_FILE"] == "3" && globals["SET_BY_A_CALL"] == nil)
    }

    @Test("a plan with errors cannot be started")
    func badStart() throws {
        let dir = try temporaryDirectory("reload-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\nexten => 1,1,Dail(x)\n".write(toFile: dir + "/a.conf", atomically: true, encoding: .utf8)
        #expect(throws: LoadFailure.self) { try LivePlan(paths: [dir]) }
    }
}
