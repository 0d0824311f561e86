@testable import Dialplan
import Foundation
import Testing

/// The example admins start from, `Dialplans/`: it checks clean, each branch
/// its header lists is taken by a call or message here, and together these
/// run every priority the files have.
@Suite("the shipped Dialplans/")
struct ShippedPlanTests {
    // Business hours are New York's (UTC-5 in November), whatever the zone the run is given (UTC here).
    static let open = "2026-11-24T15:00:00Z"     // a Tuesday, 10:00 in New York
    static let closed = "2026-11-25T03:00:00Z"   // the same Tuesday, 22:00 in New York

    struct Call {
        let branch: String
        var context = "from-trunk"
        var exten = "18005550100"
        var time = ShippedPlanTests.open
        var script = ScriptedChannel.Script()
        /// What the caller must hear or get, in order (a subsequence of the channel's commands).
        let expected: [String]
    }

    static let calls: [Call] = [
        Call(branch: "1. a leading + is dropped", exten: "+18005550100", script: script("1") { $0.queueStatus["sales"] = "TIMEOUT" },
             expected: ["play(welcome&menu)", "queue(sales)", "voicemail(support)"]),
        Call(branch: "2. a VIP goes to the VIP queue", script: script { $0.contact["tier"] = "vip" },
             expected: ["answer", "play(pls-hold-while-try)", "queue(vip)", "hangup(16)"]),
        Call(branch: "3. the VIP queue does not answer: the menu", script: script("2") { $0.contact["tier"] = "vip"; $0.queueStatus["vip"] = "TIMEOUT" },
             expected: ["queue(vip)", "play(welcome&menu)", "queue(support)"]),
        Call(branch: "3. back from the VIP queue, the menu counts three tries from 0",
             script: script("987") { $0.contact["tier"] = "vip"; $0.queueStatus["vip"] = "TIMEOUT" },
             expected: ["queue(vip)", "play(invalid)", "play(invalid)", "play(invalid)", "voicemail(support)"]),
        Call(branch: "3. the VIP queue after hours: closed", time: closed,
             script: script { $0.contact["tier"] = "vip"; $0.queueStatus["vip"] = "TIMEOUT" },
             expected: ["queue(vip)", "play(closed)", "voicemail(support)"]),
        Call(branch: "4. back to the last agent", script: script { $0.contact["last_agent"] = "alice" },
             expected: ["play(pls-hold-while-try)", "dial(PJSIP/alice)", "hangup(16)"]),
        Call(branch: "5. the last agent does not answer: the menu", script: script("3") { $0.contact["last_agent"] = "alice"; $0.dialStatus["*"] = "NOANSWER" },
             expected: ["dial(PJSIP/alice)", "play(welcome&menu)", "voicemail(support)"]),
        Call(branch: "5. back from the last agent, the menu counts three tries from 0",
             script: script("987") { $0.contact["last_agent"] = "alice"; $0.dialStatus["*"] = "NOANSWER" },
             expected: ["dial(PJSIP/alice)", "play(invalid)", "play(invalid)", "play(invalid)", "voicemail(support)"]),
        Call(branch: "6. the last agent, after hours: closed", time: closed, script: script { $0.contact["last_agent"] = "alice" },
             expected: ["answer", "play(closed)", "voicemail(support)", "play(vm-goodbye)", "hangup(16)"]),
        Call(branch: "7. after hours: closed, then voicemail", time: closed,
             expected: ["answer", "play(closed)", "voicemail(support)", "play(vm-goodbye)", "hangup(16)"]),
        Call(branch: "8. menu 1: sales", script: script("1"), expected: ["play(welcome&menu)", "play(pls-hold-while-try)", "queue(sales)"]),
        Call(branch: "8. menu 2: support", script: script("2"), expected: ["play(welcome&menu)", "play(pls-hold-while-try)", "queue(support)"]),
        Call(branch: "8. menu 3: voicemail", script: script("3"), expected: ["play(welcome&menu)", "voicemail(support)"]),
        Call(branch: "9. a queue nobody answers: voicemail", script: script("2") { $0.queueStatus["support"] = "TIMEOUT" },
             expected: ["queue(support)", "voicemail(support)", "play(vm-goodbye)", "hangup(16)"]),
        Call(branch: "10. wrong keys: three tries, then voicemail", script: script("987"),
             expected: ["play(invalid)", "play(invalid)", "play(invalid)", "voicemail(support)"]),
        Call(branch: "11. no key: voicemail", expected: ["play(welcome&menu)", "voicemail(support)", "hangup(16)"]),
        Call(branch: "12. a caller who hangs up is noted too", script: script { $0.hangUpAfterCommands = 2 },
             expected: ["answer", "play(welcome&menu)"]),
        Call(branch: "no number given", exten: "s", script: script("3"), expected: ["voicemail(support)"]),
        Call(branch: "14. *45 logs the agent in", context: "from-agents", exten: "*45",
             expected: ["AddQueueMember(,)", "answer", "play(agent-loginok)"]),
        Call(branch: "14. *45 for an agent with no queue", context: "from-agents", exten: "*45",
             script: script { $0.memberStatus["AddQueueMember"] = "NOSUCHQUEUE" }, expected: ["AddQueueMember(,)", "play(invalid)"]),
        Call(branch: "14. *46 logs it out", context: "from-agents", exten: "*46", expected: ["RemoveQueueMember(,)", "play(agent-loggedoff)"]),
        Call(branch: "14. *47 pauses it", context: "from-agents", exten: "*47", expected: ["PauseQueueMember(,)", "play(agent-paused)"]),
        Call(branch: "14. *48 makes it ready", context: "from-agents", exten: "*48", expected: ["UnpauseQueueMember(,)", "play(agent-ready)"]),
        Call(branch: "15. an agent calls the sales queue", context: "from-agents", exten: "sales", expected: ["queue(sales)"]),
        Call(branch: "15. an agent calls the support queue", context: "from-agents", exten: "support", expected: ["queue(support)"]),
        Call(branch: "15. an agent calls another by name", context: "from-agents", exten: "bob", expected: ["dial(PJSIP/bob)"]),
        Call(branch: "15. an agent calls a customer", context: "from-agents", exten: "12015550100",
             expected: ["dial(PJSIP/12015550100@provider)"]),
        Call(branch: "15. an agent calls a +number", context: "from-agents", exten: "+12015550100",
             expected: ["dial(PJSIP/+12015550100@provider)"]),
    ]

    struct Message {
        let branch: String
        var context = "sms-in"
        let exten: String
        var time = ShippedPlanTests.open
        var variables: [String: String] = [:]
        /// Where it is sent, From whom (nil: the default), and a part of the body.
        let destination: String
        var from: String?
        var body = "Hi, is my order shipped?"
    }

    static let messages: [Message] = [
        Message(branch: "13. an SMS in business hours", exten: "18005550100", destination: "sip:+12015550100@trunk",
                body: "An agent will reply shortly."),
        Message(branch: "13. an SMS after hours, to a +number", exten: "+18005550100", time: closed, destination: "sip:+12015550100@trunk",
                body: "We are closed now"),
        Message(branch: "16. mid-conversation, an SMS goes on to the agent, From the customer", exten: "18005550100",
                variables: ["SMS_AGENT": "alice"], destination: "pjsip:alice", from: "+12015550100"),
        Message(branch: "17. an agent's SMS to a customer goes out through the trunk", context: "agents-sms", exten: "12025550142",
                destination: "12025550142@provider"),
        Message(branch: "17. an agent's SMS to a +number", context: "agents-sms", exten: "+12025550142", destination: "+12025550142@provider"),
        Message(branch: "17. an agent's SMS to another agent", context: "agents-sms", exten: "bob", destination: "pjsip:bob"),
    ]

    private var shipped: Dialplan {
        get throws {
            let load = DialplanLoader.load(paths: [packageRoot + "/Dialplans"])
            guard let plan = load.plan else { throw LoadFailure(diagnostics: load.diagnostics) }
            return plan
        }
    }

    @Test("it checks clean: no errors, no warnings")
    func clean() {
        #expect(DialplanLoader.load(paths: [packageRoot + "/Dialplans"]).diagnostics.map(\.description) == [])
    }

    @Test("each call branch does what the header says", arguments: calls.indices)
    func callBranch(_ index: Int) async throws {
        let call = Self.calls[index]
        let (outcome, channel) = await simulate(try shipped, context: call.context, exten: call.exten, script: call.script, time: call.time)
        var remaining = channel.commands[...]
        for command in call.expected {
            guard let at = remaining.firstIndex(of: command) else {
                Issue.record("\(call.branch): '\(command)' missing from \(channel.commands)")
                return
            }
            remaining = remaining[(at + 1)...]
        }
        // 12: every call ends in [call-end]'s h, whatever context it ended in.
        #expect(outcome.steps.last?.application == "NoOp" && outcome.steps.last?.exten == "h", "\(call.branch)")
        #expect(outcome.warnings.isEmpty, "\(call.branch): \(outcome.warnings)")
    }

    @Test("an SMS gets the auto-reply for the time it arrives, or goes on to the agent in the conversation; agents' SMS go out")
    func smsBranches() async throws {
        for message in Self.messages {
            let channel = RecordingChannel()
            let outcome = await runMessage(try shipped, on: channel, message)
            let sent = channel.requests.withLock { $0.messages }
            #expect(sent.count == 1 && sent.first?.destination == message.destination, "\(message.branch): \(sent)")
            #expect(sent.first?.from == message.from, "\(message.branch): \(sent)")
            #expect(sent.first?.body.contains(message.body) == true, "\(message.branch): \(sent)")
            #expect(outcome.reason == "message-done" && outcome.warnings.isEmpty, "\(message.branch): \(outcome.warnings)")
        }
    }

    @Test("together, the branches run every priority of every extension in the files")
    func everyPriorityRuns() async throws {
        let plan = try shipped
        var ran: Set<String> = []
        func note(_ steps: [Step]) {
            for step in steps {
                // The extension that served the step, as Asterisk finds it.
                guard let served = plan.extensions(matching: step.exten, in: step.context)
                    .first(where: { $0.extension.priorities[step.priority] != nil }) else { continue }
                ran.insert("\(served.context),\(served.extension.name),\(step.priority)")
            }
        }
        for call in Self.calls {
            note(await simulate(plan, context: call.context, exten: call.exten, script: call.script, time: call.time).0.steps)
        }
        for message in Self.messages {
            note(await runMessage(plan, on: RecordingChannel(), message).steps)
        }
        var all: Set<String> = []
        for (name, context) in plan.contexts {
            for entry in context.extensions { for number in entry.numbers { all.insert("\(name),\(entry.name),\(number)") } }
        }
        #expect(all.subtracting(ran).sorted() == [], "priorities no branch runs")
        #expect(all.count > 50)
    }

    private func runMessage(_ plan: Dialplan, on channel: Channel, _ message: Message) async -> Outcome {
        var start = CallStart(context: message.context, exten: message.exten, callerIDNumber: "+12015550100", uniqueID: "sms-1")
        start.message = ("Hi, is my order shipped?", "sip:+12015550100@trunk", "sip:\(message.exten)@gateway")
        start.variables = message.variables
        let date = ISO8601DateFormatter().date(from: message.time)!
        start.now = { date }
        start.timeZone = TimeZone(identifier: "UTC")!
        return await Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start).runMessage()
    }

    @Test("graph draws its contexts, menu choices and jumps, and --context keeps to what a context reaches")
    func graph() throws {
        let mermaid = DialplanGraph.render(try shipped, format: .mermaid)
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains("-.->|\"press 2\"|") && mermaid.contains("-.->|\"timeout\"|"))
        #expect(mermaid.contains("subgraph") && mermaid.contains("[sms-in]"))
        let dot = DialplanGraph.render(try shipped, context: "menu", format: .dot)
        #expect(dot.hasPrefix("digraph dialplan {"))
        #expect(dot.contains("label=\"[menu]\"") && dot.contains("label=\"[voicemail]\""))
        #expect(!dot.contains("[sms-in]") && !dot.contains("[welcome]"), "only what [menu] reaches")
    }

    @Test("graph draws the computed jump of a +number, the label jumps, and the queues with their members")
    func graphDrawsEveryJump() throws {
        let names = ConfigurationNames(source: "omnigate.conf", queues: ["vip": ["ann"], "sales": [], "support": ["alice", "bob"]],
                                       agents: ["ann", "alice", "bob"], trunks: ["local"])
        let mermaid = DialplanGraph.render(try shipped, format: .mermaid, names: names)
        #expect(mermaid.contains("[\"computed: from-trunk,${EXTEN:1},1\"]"))
        #expect(mermaid.contains("[\"computed: sms-in,${EXTEN:1},1\"]"))
        #expect(mermaid.contains("-->|\"if ${GLOBAL(OPEN_HOURS)} to open\"|"))
        #expect(mermaid.contains("-->|\"if $[${TRIES} #lt; 3] to again\"|"))
        #expect(mermaid.contains("[\"queue support<br/>members: alice, bob\"]"))
        #expect(mermaid.contains("[\"queue sales<br/>no members\"]"))
        #expect(mermaid.contains("[\"queue vip<br/>members: ann\"]"))
    }

    @Test("business hours are New York's whatever time zone the call is run in")
    func namedTimeZone() async throws {
        let plan = try shipped
        for zone in ["UTC", "Asia/Tokyo", "America/Los_Angeles"] {
            for (time, expected) in [(Self.open, "play(welcome&menu)"), (Self.closed, "play(closed)")] {
                let channel = ScriptedChannel(script { $0.patience = 0 })
                var start = CallStart(context: "from-trunk", exten: "18005550100", uniqueID: "tz")
                let date = ISO8601DateFormatter().date(from: time)!
                start.now = { date }
                start.timeZone = TimeZone(identifier: zone)!
                _ = await Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start).run()
                #expect(channel.commands.contains(expected), "\(zone) \(time): \(channel.commands)")
            }
        }
    }
}
