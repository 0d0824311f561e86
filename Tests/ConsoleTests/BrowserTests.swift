import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OmnigateTestSupport
import Testing
import Timeline

/// The agent console in real headless Chromium (Debian's chromium and chromium-driver, driven by
/// Tests/ConsoleTests/browser/console_driver.py with python3-selenium) against the real gateway and SIPp.
/// Without the browser the tests are skipped with a message (scripts/setup.sh installs it).
@Suite("the console in a browser", .serialized, .enabled(if: Browser.available, Browser.missing))
struct BrowserTests {
    static let adminToken = "test-token-admin-0123456789abcdef"
    static let leadToken = "test-token-lead-0123456789abcdef"

    static var tokens: String {
        "[token admin]\nrole = admin\nsha256 = \(Browser.sha256(adminToken))\n[token lead]\nrole = supervisor\nsha256 = \(Browser.sha256(leadToken))\n"
    }

    /// Ada, known with a company and history on three channels; the number 0199 is nobody's.
    static let contacts = "id,name,tier,company,phone,email\nc-ada,Ada Lovelace,gold,Analytical Engines Ltd,+12025550142,ada@example.com\n"
    static let history = """
        {"source":"chat","channel":"chat","time":"2026-11-20T10:00:00Z","address":"ada@example.com","subject":"Refund for order 4711","status":"open","agent":"bob","external_ref":"conv-9"}
        {"source":"mail","channel":"email","time":"2026-11-18T09:00:00Z","address":"ada@example.com","subject":"Invoice <b>4711</b>","external_ref":"mail-1"}
        {"source":"sms","channel":"sms","direction":"in","time":"2026-11-15T09:00:00Z","address":"+12025550142","subject":"Where is my order?","external_ref":"sms-1"}

        """

    static let queuePlan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Queue(support)\n same => n,Hangup()\n"

    struct Setup {
        let gateway: GatewayProcess
        let directory: String
        let store: String
    }

    static func start(agents: [(name: String, port: Int)], strategy: String = "ringall", wrapup: String = "30s", extra: String = "",
                      dialplan: String = queuePlan) async throws -> Setup {
        let directory = try TestPaths.temporaryDirectory("console")
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: contacts, events: history)
        // A voicemail Ada left, with its recording (half a second of 8 kHz silence), to play in the page.
        let recording = directory + "/voicemail.wav"
        try Self.silence(milliseconds: 500).write(to: URL(fileURLWithPath: recording))
        do {
            let timeline = try TimelineStore(path: store)
            try timeline.recordVoicemail(callID: "vm-test-1", from: "+12025550142", mailbox: "support", recordingPath: recording,
                                         durationMilliseconds: 500, time: Timestamp.parse("2026-11-10T08:00:00Z")!)
            timeline.close()
        }
        // The browser runs at a low priority beside the other suites (below): give its acknowledgement time.
        var config = "[store]\npath = \(store)\n[screenpop]\nconsole_wait = 3s\n" + tokens
        for agent in agents {
            config += "[agent \(agent.name)]\ncontact = sip:\(agent.name)@127.0.0.1:\(agent.port)\npassword = \(agent.name)-secret\n"
                + "qualify_frequency = 0\nqueues = support\n"
        }
        config += "[queue support]\nstrategy = \(strategy)\nring_timeout = 15s\nwrapup = \(wrapup)\n" + extra
        if !config.contains("[trunk") { config = GatewayProcess.loopbackTrunk() + config }
        let gateway = try await GatewayProcess.start(config: config, dialplan: dialplan)
        return Setup(gateway: gateway, directory: directory, store: store)
    }

    /// A WAV file of silence: 8 kHz, 16-bit mono PCM.
    static func silence(milliseconds: Int) -> Data {
        let samples = 8 * milliseconds
        var data = Data()
        func put(_ text: String) { data.append(contentsOf: Array(text.utf8)) }
        func put32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func put16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        put("RIFF"); put32(UInt32(36 + samples * 2)); put("WAVE")
        put("fmt "); put32(16); put16(1); put16(1); put32(8000); put32(16000); put16(2); put16(16)
        put("data"); put32(UInt32(samples * 2)); data.append(Data(count: samples * 2))
        return data
    }

    static func api(_ gateway: GatewayProcess, _ path: String, token: String = adminToken) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)\(path)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    @Test("an agent logs in and goes available; the pop with the caller's name and last interaction is on screen no later than the agent's INVITE arrives; the wrap-up note is on the timeline, joined to the call")
    func agentCall() async throws {
        let agentPort = Ports.free()
        let setup = try await Self.start(agents: [("alice", agentPort)])
        let gateway = setup.gateway
        let screenshot = TestPaths.packageRoot + "/docs/console-agent.png"
        let browser = try Browser.start(gateway, scenario: "agent-call",
                                        ["--agent", "alice", "--password", "alice-secret", "--note", "Refund agreed <script>alert(1)</script>",
                                         "--contact-page", "/console/contact.html?id=c-ada&number=%2B12025550142",
                                         "--screenshot", Browser.screenshots ? screenshot : ""])
        defer { browser.stop() }
        try await browser.step("available")

        let (agent, agentDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: agentPort,
                                                     arguments: ["-m", "1", "-d", "6000"])
        defer { agent.kill() }
        let (caller, callerDirectory) = try SIPp.start("uac-caller-waits.xml", target: gateway.udpTarget, port: Ports.free(),
                                                       arguments: ["-m", "1", "-s", "18005550100", "-key", "user", "+12025550142", "-key", "display", "Ada"])
        defer { caller.kill() }
        // The browser sees the pop, the call answered, and ended; when not, the driver and the gateway say why.
        try await browser.step("ended") { "gateway:\n\(gateway.process.stderr.suffix(4000))\nagent SIPp:\n\(SIPp.messages(in: agentDirectory).suffix(2000))" }
        #expect(try await SIPp.finish(caller, directory: callerDirectory).successful == 1)
        #expect(try await SIPp.finish(agent, directory: agentDirectory).successful == 1)

        // The pop: Ada's name and her last interaction, rendered before (or as) the INVITE reached her phone.
        let pop = try #require(browser.data("pop"))
        #expect(pop["name"] as? String == "Ada Lovelace", "\(pop)")
        #expect((pop["last"] as? String)?.contains("Refund for order 4711") == true, "\(pop)")
        #expect(pop["tier"] as? String == "gold")
        let invite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") })
        let rendered = try #require(pop["rendered_at"] as? Double) / 1000
        let lead = invite.time.timeIntervalSince1970 - rendered
        print("pop rendered \(String(format: "%.3f", lead * 1000)) ms before the agent's INVITE arrived")
        #expect(lead >= 0, "the pop was rendered \(String(format: "%.3f", -lead * 1000)) ms after the agent's INVITE arrived")
        let callID = try #require(pop["call_id"] as? String)
        #expect(CallFlow.header("X-Omnigate-Call", in: invite.text) == callID)
        // The Call-Info URL a softphone opens is the console's page for the customer (the default [screenpop] url).
        #expect(CallFlow.header("Call-Info", in: invite.text) == "<http://localhost:8080/console/contact.html?id=c-ada&number=%2B12025550142>;purpose=info")
        // The timeline had every channel, newest first; the filters left only what was asked for.
        let timeline = try #require(browser.list("timeline") as? [String])
        #expect(Set(timeline).isSuperset(of: ["chat", "email", "sms"]), "\(timeline)")
        #expect(try #require(browser.list("filtered") as? [String]).allSatisfy { ["voice", "note"].contains($0) })
        // The voicemail plays in the page: its recording comes with the session's cookie, as audio/wav.
        let voicemail = try #require(browser.data("voicemail"))
        #expect(voicemail["status"] as? Int == 200 && voicemail["type"] as? String == "audio/wav" && voicemail["size"] as? Int == 8044, "\(voicemail)")

        try await browser.step("wrapped")
        // The note is on Ada's timeline and joined to the call's record by its uniqueid; the agent is available again.
        let wrapUps = try await Self.api(gateway, "/api/v1/calls/\(callID)/wrapup")
        let note = try #require((wrapUps["wrap_ups"] as? [[String: Any]])?.first, "\(wrapUps)")
        #expect(note["body"] as? String == "Refund agreed <script>alert(1)</script>" && note["thread_id"] as? String == callID)
        #expect(note["contact_id"] as? String == "c-ada" && note["agent"] as? String == "alice" && note["subject"] as? String == "Wrap-up: resolved")
        let record = try await Self.api(gateway, "/api/v1/calls/\(callID)")
        #expect(record["uniqueid"] as? String == callID && record["agent"] as? String == "alice", "\(record)")
        let page = try await Self.api(gateway, "/api/v1/contacts/c-ada/timeline")
        #expect((page["events"] as? [[String: Any]])?.first?["channel"] as? String == "note", "newest first: \(page)")
        #expect(try await Self.api(gateway, "/api/v1/agents/alice")["state"] as? String == "available")

        try await browser.step("done")
        // Keyboard, contrast, a narrow screen, German.
        Browser.expectAccessible(browser, "agent")
        let german = try #require(browser.data("german"))
        #expect(german["heading"] as? String == "Anrufe" && german["lang"] as? String == "de", "\(german)")
        #expect((german["time"] as? String)?.contains("2026") == true, "\(german)")
        let contactPage = try #require(browser.data("contact-page"))
        #expect(contactPage["name"] as? String == "Ada Lovelace" && contactPage["company"] as? String == "Analytical Engines Ltd", "\(contactPage)")
        #expect((contactPage["events"] as? Int ?? 0) >= 5, "chat, email, SMS, voicemail, the call and its note: \(contactPage)")
        #expect(try await gateway.stop() == 0)
    }
}

/// The browser driver and what it prints.
final class Browser: @unchecked Sendable {
    // @unchecked: `process` is the only state and TestProcess guards its own.
    let process: TestProcess
    let directory: String

    static let driver = TestPaths.packageRoot + "/Tests/ConsoleTests/browser/console_driver.py"
    static let python = "/usr/bin/python3"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/selenium")
    }
    static let missing: Comment = "needs Debian's chromium, chromium-driver and python3-selenium (scripts/setup.sh installs them)"
    /// Screenshots go to docs/ when OMNIGATE_SCREENSHOTS=1 (they are committed once, not rewritten by every run).
    static var screenshots: Bool { ProcessInfo.processInfo.environment["OMNIGATE_SCREENSHOTS"] == "1" }

    init(process: TestProcess, directory: String) {
        self.process = process
        self.directory = directory
    }

    static func start(_ gateway: GatewayProcess, scenario: String, _ arguments: [String], timeout: Int = 60) throws -> Browser {
        let directory = try TestPaths.temporaryDirectory("browser")
        // Niced, so the browsers give way to the suites that run beside these and measure their own timing.
        let process = try TestProcess("/usr/bin/nice", ["-n", "15", python, driver, "--base", "http://127.0.0.1:\(gateway.apiPort)", "--dir", directory,
                                               "--scenario", scenario, "--timeout", String(timeout)] + arguments)
        return Browser(process: process, directory: directory)
    }

    /// Stops the driver: SIGTERM, so it quits its browsers; SIGKILL only when that took too long.
    func stop() {
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        process.waitForExitBlocking(timeout: .seconds(20))  // kills it when that takes longer
    }

    /// Waits for `STEP name`; a FAIL line or an exit first fails with what the driver said.
    func step(_ name: String, timeout: Duration = .seconds(90), context: () -> String = { "" }) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = process.stdout
            if out.split(separator: "\n").contains(where: { $0 == "STEP \(name)" }) { return }
            if let failure = out.split(separator: "\n").first(where: { $0.hasPrefix("FAIL ") }) {
                throw TestProcessError("browser: \(failure.dropFirst(5))\n\(process.stderr.suffix(2000))\n\(context())")
            }
            if !process.isRunning && !process.stdout.contains("STEP \(name)") {
                throw TestProcessError("the browser driver exited before step \(name):\n\(out)\n\(process.stderr.suffix(2000))\n\(context())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestProcessError("no step \(name) within \(timeout):\n\(process.stdout)\n\(process.stderr.suffix(2000))\n\(context())")
    }

    /// Lets a waiting scenario go on (it waits for the file go-NAME).
    func go(_ name: String) throws {
        try Data().write(to: URL(fileURLWithPath: directory + "/go-" + name))
    }

    func value(_ name: String) -> Any? {
        guard let line = process.stdout.split(separator: "\n").first(where: { $0.hasPrefix("DATA \(name) ") }) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(line.dropFirst("DATA \(name) ".count).utf8), options: [.fragmentsAllowed])
    }

    func data(_ name: String) -> [String: Any]? { value(name) as? [String: Any] }
    func list(_ name: String) -> [Any]? { value(name) as? [Any] }

    /// Every control reached by Tab with a visible focus indicator, no text below AA contrast, nothing wider than a
    /// narrow (800 px) window, and no errors in the browser's console.
    static func expectAccessible(_ browser: Browser, _ page: String) {
        let keyboard = browser.data("\(page)-keyboard") ?? [:]
        #expect((keyboard["controls"] as? Int ?? 0) > 5, "\(page): \(keyboard)")
        #expect((keyboard["missing"] as? [Any])?.isEmpty == true, "\(page): controls Tab never reached: \(keyboard)")
        #expect((keyboard["no_focus_indicator"] as? [Any])?.isEmpty == true, "\(page): focus not shown: \(keyboard)")
        let contrast = browser.data("\(page)-contrast") ?? [:]
        #expect((contrast["checked"] as? Int ?? 0) > 10, "\(page): \(contrast)")
        #expect((contrast["failures"] as? [Any])?.isEmpty == true, "\(page): below WCAG AA contrast: \(contrast)")
        #expect(browser.value("\(page)-overflow-narrow") as? Int == 0, "\(page): wider than an 800 px window")
        #expect((browser.list("\(page)-errors") ?? ["none read"]).isEmpty, "\(page): browser errors \(browser.list("\(page)-errors") ?? [])")
    }

    static func sha256(_ text: String) -> String {
        guard let process = try? TestProcess("/bin/sh", ["-c", "printf %s \"$0\" | /usr/bin/sha256sum", text]) else { return "" }
        process.waitForExitBlocking(timeout: .seconds(10))
        return String(process.stdout.prefix(64))
    }
}

extension BrowserTests {
    @Test("with two agents on ring-all, both get the pop; when one answers, the other's pop leaves the screen")
    func ringAll() async throws {
        let alicePort = Ports.free(), bobPort = Ports.free()
        let setup = try await Self.start(agents: [("alice", alicePort), ("bob", bobPort)], wrapup: "0s")
        let gateway = setup.gateway
        let browser = try Browser.start(gateway, scenario: "ring-all", ["--agents", "alice,bob", "--passwords", "alice=alice-secret,bob=bob-secret"])
        defer { browser.stop() }
        try await browser.step("available")
        let (alice, aliceDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: alicePort, arguments: ["-m", "1", "-d", "3000"])
        let (bob, bobDirectory) = try SIPp.start("uas-agent-rings-no-answer.xml", target: nil, port: bobPort, arguments: ["-m", "1"])
        defer { alice.kill(); bob.kill() }
        let caller = try await SIPp.run("uac-caller-waits.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-s", "18005550100", "-key", "user", "+12025550199", "-key", "display", "Someone"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(alice, directory: aliceDirectory).successful == 1)
        _ = try await SIPp.finish(bob, directory: bobDirectory)
        try await browser.step("done")
        // Both were offered the unknown caller (shown as such, with the number).
        for name in ["alice", "bob"] {
            let pop = try #require(browser.data("pop-\(name)"), "\(browser.process.stdout)")
            #expect(pop["name"] as? String == "Unknown caller" && pop["number"] as? String == "+12025550199", "\(name): \(pop)")
        }
        let after = try #require(browser.data("after-answer"))
        let alicePop = (after["alice"] as? [String: Any])?["pop"] as? [String: Any]
        let bobSide = after["bob"] as? [String: Any]
        #expect(["on_call", "ended"].contains(alicePop?["phase"] as? String), "alice answered: \(after)")
        #expect(bobSide?["pop"] is NSNull, "bob's pop left his screen: \(after)")
        let callID = try #require(alicePop?["call_id"] as? String)
        #expect((bobSide?["withdrawn"] as? [String: Any])?[callID] != nil, "withdrawn by the stream's pop.withdrawn: \(after)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("click-to-call from the console rings the agent's phone, then reaches the SIPp customer with the company's caller ID")
    func clickToCall() async throws {
        let agentPort = Ports.free(), carrierPort = Ports.free()
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Dialplans/extensions.conf", encoding: .utf8)
        let trunk = "[trunk provider]\nmatch = 127.0.0.1\ncontext = from-trunk\nhost = sip:127.0.0.1:\(carrierPort)\nfrom_user = +15550100\n"
        let setup = try await Self.start(agents: [("alice", agentPort)], extra: trunk + "[queue vip]\n[queue sales]\n", dialplan: shipped)
        let gateway = setup.gateway
        let (agent, agentDirectory) = try SIPp.start("builtin:uas", target: nil, port: agentPort, arguments: ["-m", "1"])
        let (customer, customerDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: carrierPort,
                                                           arguments: ["-m", "1", "-d", "300"])
        defer { agent.kill(); customer.kill() }
        let browser = try Browser.start(gateway, scenario: "click-to-call", ["--agent", "alice", "--password", "alice-secret", "--number", "+12025550142"])
        defer { browser.stop() }
        try await browser.step("done")
        #expect(browser.data("errors")?["error"] as? String == "", "\(browser.process.stdout)")
        #expect(try await SIPp.finish(customer, directory: customerDirectory).successful == 1)
        #expect(try await SIPp.finish(agent, directory: agentDirectory).successful == 1)
        let agentInvite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") })
        let customerInvite = try #require(CallFlow.received(in: customerDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(customerInvite.text.hasPrefix("INVITE sip:+12025550142@"), "\(customerInvite.text)")
        #expect(CallFlow.header("From", in: customerInvite.text)?.contains("<sip:+15550100@") == true, "the company's number: \(customerInvite.text)")
        #expect(agentInvite.time <= customerInvite.time, "the agent's phone rings first")
        #expect(try await gateway.stop() == 0)
    }

    @Test("an SMS typed in the console reaches the SIPp customer From the company's number, and the customer's reply appears live")
    func smsConversation() async throws {
        let phonePort = Ports.free(), carrierPort = Ports.free()
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Dialplans/extensions.conf", encoding: .utf8)
        let trunk = "[trunk provider]\nmatch = 127.0.0.1\ncontext = from-trunk\nmessage_context = sms-in\nhost = sip:127.0.0.1:\(carrierPort)\n"
            + "from_user = +15550100\n[queue vip]\n[queue sales]\n"
        let setup = try await Self.start(agents: [("alice", phonePort)], extra: trunk, dialplan: shipped)
        let gateway = setup.gateway
        let (carrier, carrierDirectory) = try SIPp.start("uas-takes-messages.xml", target: nil, port: carrierPort, arguments: ["-m", "1"])
        defer { carrier.kill() }
        let text = "Your order 4711 ships today."
        let browser = try Browser.start(gateway, scenario: "sms", ["--agent", "alice", "--password", "alice-secret", "--number", "+12025550142",
                                                                    "--message", text, "--reply", "Can it come on Friday?"])
        defer { browser.stop() }
        try await browser.step("sent")
        #expect(try await SIPp.finish(carrier, directory: carrierDirectory).successful == 1)
        let out = try #require(CallFlow.received(in: carrierDirectory).first { $0.text.hasPrefix("MESSAGE ") }?.text)
        #expect(out.hasPrefix("MESSAGE sip:+12025550142@") && out.contains(text), "\(out)")
        #expect(CallFlow.header("From", in: out)?.contains("<sip:+15550100@") == true, "the company's number: \(out)")

        // Ada answers; the reply is offered to alice's phone too (the conversation goes on with her), and shows in the console.
        let (phone, phoneDirectory) = try SIPp.start("uas-takes-messages.xml", target: nil, port: phonePort, arguments: ["-m", "1"])
        defer { phone.kill() }
        try browser.go("reply")
        let reply = try await SIPp.run("uac-customer-message.xml", target: gateway.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "1", "-s", "+15550100", "-key", "user", "+12025550142"])
        #expect(reply.successful == 1, "\(reply.summary)")
        try await browser.step("done")
        let thread = try #require(browser.list("thread") as? [[String: Any]])
        #expect(thread.contains { $0["direction"] as? String == "outbound" && $0["text"] as? String == text }, "\(thread)")
        #expect(thread.contains { $0["direction"] as? String == "inbound" && ($0["text"] as? String)?.contains("Can it come on Friday?") == true }, "\(thread)")
        _ = try await SIPp.finish(phone, directory: phoneDirectory)
        #expect(try await gateway.stop() == 0)
    }

    @Test("the supervisor's first-contact resolution and repeat-contact figures match the hand-computed demo data set; queues and agents live")
    func supervisor() async throws {
        let directory = try TestPaths.temporaryDirectory("console-supervisor")
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: JourneyDemo.contacts, events: JourneyDemo.eventLines)
        // The waiting caller is still there at the end: the stop hangs it up after a second.
        let config = "[general]\ndrain_time = 1s\n" + GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\n" + Self.tokens
            + "[agent alice]\ncontact = sip:alice@127.0.0.1:9\nqueues = support\n[agent bob]\ncontact = sip:bob@127.0.0.1:9\nqueues = support\n"
            + "[queue support]\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        let screenshot = TestPaths.packageRoot + "/docs/console-supervisor.png"
        let browser = try Browser.start(gateway, scenario: "supervisor", ["--token", Self.leadToken, "--period-from", JourneyDemo.from,
                                                                           "--period-to", JourneyDemo.to, "--window", "7",
                                                                           "--screenshot", Browser.screenshots ? screenshot : ""])
        defer { browser.stop() }
        try await browser.step("figures")
        // Live: both agents paused (by the supervisor's token), a caller waits in the queue.
        for agent in ["alice", "bob"] {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)/api/v1/agents/\(agent)/state")!)
            request.httpMethod = "PUT"
            request.setValue("Bearer \(Self.leadToken)", forHTTPHeaderField: "Authorization")
            request.httpBody = Data("{\"state\": \"paused\", \"reason\": \"meeting\"}".utf8)
            _ = try await URLSession.shared.data(for: request)
        }
        let (caller, callerDirectory) = try SIPp.start("uac-caller-waits.xml", target: gateway.udpTarget, port: Ports.free(),
                                                       arguments: ["-m", "1", "-s", "18005550100", "-key", "user", "+12025550142", "-key", "display", "Ada"])
        defer { caller.kill(); try? FileManager.default.removeItem(atPath: callerDirectory) }
        try browser.go("caller")
        try await browser.step("done")
        let live = try #require(browser.data("live"))
        #expect(live["waiting"] as? String == "1" && live["members"] as? String == "Paused: 2", "\(live)")
        let figures = try #require(browser.data("figures"))
        // 5 of 8 journeys resolved at first contact; 3 of 8 repeated; 3 switches over 8 journeys (en-GB formats).
        #expect(figures["fcr"] as? String == "62.5%", "\(figures)")
        #expect(figures["repeat"] as? String == "37.5%", "\(figures)")
        #expect(figures["switches"] as? String == "0.38", "\(figures)")
        #expect(figures["journeys"] as? String == "\(JourneyDemo.journeys)" && figures["contacts"] as? String == "\(JourneyDemo.contactCount)")
        let rows = Dictionary(uniqueKeysWithValues: (figures["channels"] as? [[String: Any]] ?? []).map { ($0["channel"] as? String ?? "", $0["cells"] as? [String] ?? []) })
        for (channel, expected) in JourneyDemo.byFirstChannel {
            let rate = Int((Double(expected.repeated) / Double(expected.journeys) * 100).rounded())
            #expect(rows[channel] == ["\(expected.journeys)", "\(expected.repeated)", "\(rate)%"], "\(channel): \(rows)")
        }
        #expect(figures["chart"] as? Bool == FileManager.default.fileExists(atPath: "/usr/share/javascript/chart.js/chart.min.js"))
        #expect(figures["queues"] as? [String] == ["support"] && figures["agents"] as? [String] == ["alice", "bob"], "\(figures)")
        Browser.expectAccessible(browser, "supervisor")
        let german = try #require(browser.data("german"))
        #expect(german["fcr"] as? String == "62,5 %" && german["heading"] as? String == "Kundenreisen", "\(german)")
        #expect(try await gateway.stop() == 0)
    }
}
