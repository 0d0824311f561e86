@testable import Dialplan
import Foundation
import Testing


private let asteriskSamplePath = "/var/cache/omnigate/asterisk/extensions.conf.sample"

@Suite("shipped and borrowed plans")
struct PlanFileTests {
    @Test("Asterisk's own sample dialplan loads with no errors; what Omnigate lacks is a warning with its line",
          .enabled(if: FileManager.default.fileExists(atPath: asteriskSamplePath),
                   "scripts/setup.sh extracts Asterisk's extensions.conf.sample; it is missing, so the sample was not checked"))
    func asteriskSample() {
        let load = DialplanLoader.load(paths: [asteriskSamplePath], compatibility: true)
        #expect(load.errors.isEmpty, "\(load.errors)")
        #expect(load.plan?.contexts.count == 28)
        #expect(load.diagnostics.contains { $0.message == "application 'PlayTones' is not supported by Omnigate; this step will be skipped" })
        #expect(load.diagnostics.allSatisfy { $0.location.line > 0 })
    }

    private var shipped: Dialplan {
        get throws {
            let load = DialplanLoader.load(paths: [packageRoot + "/Dialplans"])
            guard let plan = load.plan else { throw LoadFailure(diagnostics: load.diagnostics) }
            return plan
        }
    }

    @Test("the shipped Dialplans/ check clean")
    func shippedIsClean() {
        #expect(DialplanLoader.load(paths: [packageRoot + "/Dialplans"]).diagnostics.isEmpty)
    }

    private func call(_ script: ScriptedChannel.Script, at time: String = "2026-11-24T10:00:00Z") async throws -> (Outcome, [String]) {
        let (outcome, channel) = await simulate(try shipped, context: "from-trunk", exten: "18005550100", script: script, time: time)
        return (outcome, channel.commands)
    }

    @Test("every branch of the shipped plan is reachable")
    func branches() async throws {
        var script = ScriptedChannel.Script()
        script.digits = ["1"]
        #expect(try await call(script).1.contains("queue(sales)"), "1: sales")
        script.digits = ["2"]
        #expect(try await call(script).1.contains("queue(support)"), "2: support")
        script.digits = ["3"]
        #expect(try await call(script).1.contains("voicemail(support)"), "3: voicemail")
        script.digits = ["9", "8", "7"]
        let (invalid, commands) = try await call(script)
        #expect(commands.filter { $0 == "play(invalid)" }.count == 3 && commands.contains("voicemail(support)"), "\(invalid.steps)")
        script.digits = []
        #expect(try await call(script).1.contains("voicemail(support)"), "no choice: voicemail")
        #expect(try await call(script, at: "2026-11-24T22:00:00Z").1.prefix(3) == ["answer", "play(closed)", "voicemail(support)"], "after hours")
        script.contact["tier"] = "vip"
        #expect(try await call(script).1.contains("queue(vip)"), "VIP")
        script.contact = ["last_agent": "alice"]
        #expect(try await call(script).1.contains("dial(PJSIP/alice)"), "sticky")
        script.queueStatus["*"] = "TIMEOUT"
        script.contact = [:]
        script.digits = ["2"]
        #expect(try await call(script).1.suffix(3) == ["voicemail(support)", "play(vm-goodbye)", "hangup(16)"], "queue timeout: voicemail")
    }

    @Test("the shipped SMS context auto-replies, in and out of hours")
    func smsReply() async throws {
        let p = try shipped
        for (time, text) in [("2026-11-24T10:00:00Z", "An agent will reply shortly."), ("2026-11-24T22:00:00Z", "We are closed now")] {
            let channel = ScriptedChannel()
            var start = CallStart(context: "sms-in", exten: "18005550100", uniqueID: "m")
            start.message = ("Hi", "sip:+12015550100@trunk", "sip:18005550100@gw")
            let date = ISO8601DateFormatter().date(from: time)!
            start.now = { date }
            start.timeZone = TimeZone(identifier: "UTC")!
            _ = await Interpreter(plan: p, channel: channel, globals: Globals(p), start: start).runMessage()
            #expect(channel.commands.count == 1 && channel.commands[0].hasPrefix("message(sip:+12015550100@trunk: Thanks"))
            #expect(channel.commands[0].contains(text))
        }
    }

    @Test("graph draws contexts, menu choices and jumps")
    func graph() throws {
        let mermaid = DialplanGraph.render(try shipped, format: .mermaid)
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains("|\"press 2\"|"))
        #expect(mermaid.contains("subgraph"))
        let dot = DialplanGraph.render(try shipped, context: "menu", format: .dot)
        #expect(dot.hasPrefix("digraph dialplan {"))
        #expect(dot.contains("label=\"[menu]\""))
        #expect(!dot.contains("[sms-in]"), "only what [menu] reaches")
    }
}

@Suite("live reload")
struct ReloadTests {
    @Test("a good edit is swapped in; a bad one is refused with file:line and the old plan keeps running")
    func reload() throws {
        let dir = NSTemporaryDirectory() + "reload-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/extensions.conf"
        try "[default]\nexten => 1,1,NoOp(v1)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let live = try LivePlan(paths: [dir])
        let inProgress = live.current.plan
        #expect(live.reloadIfChanged() == nil)

        try "[default]\nexten => 1,1,NoOp(v2)\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file)
        let good = try #require(live.reloadIfChanged())
        #expect(good.applied)
        #expect(live.current.plan.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v2")
        #expect(inProgress.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v1", "a call keeps its plan")

        try "[default]\nexten => 1,1,Dail(x)\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: file)
        let bad = try #require(live.reloadIfChanged())
        #expect(!bad.applied)
        #expect(bad.diagnostics.map(\.description) == ["\(file):2:14: error: unknown application 'Dail'; did you mean 'Dial'?"])
        #expect(live.current.plan.contexts["default"]?.extensions[0].priorities[1]?.arguments == "v2")
        #expect(live.reloadIfChanged() == nil, "a broken file is reported once")

        try "[default]\nexten => 1,1,NoOp(v3)\n".write(toFile: dir + "/more.conf", atomically: true, encoding: .utf8)
        #expect(live.reload().applied == false, "extensions.conf is still broken")
    }

    @Test("a plan with errors cannot be started")
    func badStart() throws {
        let dir = NSTemporaryDirectory() + "reload-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\nexten => 1,1,Dail(x)\n".write(toFile: dir + "/a.conf", atomically: true, encoding: .utf8)
        #expect(throws: LoadFailure.self) { try LivePlan(paths: [dir]) }
    }
}

@Suite("hostile input")
struct FuzzTests {
    /// Random and mutated dialplans: the loader and the interpreter must neither
    /// crash nor hang. Deterministic (seeded) and bounded to a few seconds.
    @Test("random and mutated files never crash or hang the parser, checker or interpreter")
    func fuzz() async throws {
        var random = SeededRandom(seed: 0x5EED)
        let corpus = [
            try String(contentsOfFile: packageRoot + "/Dialplans/extensions.conf", encoding: .utf8),
            "[default]\nexten => _X.,1,Set(A=$[${EXTEN} + 1])\nsame => n,GotoIf($[${A} > 5]?default,1,1)\nsame => n,Gosub(s,1(a,b))\n",
        ]
        let alphabet = Array("[]()=>,;-_.!XNZ$ {}:?\"\\#&|+*/%<>0123456789abcsnhit\n\t")
        let deadline = ContinuousClock.now + .seconds(8)
        var runs = 0
        while ContinuousClock.now < deadline && runs < 3000 {
            runs += 1
            var text = Array(corpus[runs % corpus.count])
            for _ in 0..<(1 + random.next() % 12) {
                let at = text.isEmpty ? 0 : random.next() % text.count
                switch random.next() % 4 {
                case 0: if !text.isEmpty { text.remove(at: at) }
                case 1: text.insert(alphabet[random.next() % alphabet.count], at: at)
                case 2: if !text.isEmpty { text[at] = alphabet[random.next() % alphabet.count] }
                default:
                    let length = min(text.count - at, random.next() % 20)
                    if length > 0 { text.insert(contentsOf: text[at..<(at + length)], at: at) }
                }
            }
            if runs % 5 == 0 { text = (0..<(random.next() % 300)).map { _ in alphabet[random.next() % alphabet.count] } }
            let load = DialplanLoader.parse(String(text))
            _ = DialplanGraph.render(load.plan ?? Dialplan(), format: .mermaid)
            _ = Expression.evaluate(String(text.prefix(200)))
            if let plan = load.plan, let context = plan.contextNames.first {
                var script = ScriptedChannel.Script()
                script.digits = ["1", "2", "#"]
                let interpreter = Interpreter(plan: plan, channel: ScriptedChannel(script), globals: Globals(plan),
                                              start: CallStart(context: context, exten: "s", uniqueID: "f"))
                interpreter.stepLimit = 200
                _ = await interpreter.run()
            }
        }
        #expect(runs > 100)
    }
}

