import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

/// Agents at work over real SIP: their own calls out, feature codes that log
/// them in and out and pause them, the queue's waiting line, and what a
/// restart keeps. Agents' phones are SIPp on 127.0.0.2, a source no trunk
/// matches, so only their digest credentials let them in.
@Suite("agents at work")
struct AgentTests {
    static let phoneAddress = "127.0.0.2"

    /// The agent's phone dials a feature code, is answered, hears the confirmation and is hung up.
    static func dial(_ code: String, as agent: String, _ gateway: GatewayProcess) async throws {
        let result = try await SIPp.run("uac-agent-feature-code.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-i", phoneAddress, "-m", "1", "-s", code, "-au", agent, "-ap", "s3cret",
                                                    "-key", "agent", agent])
        #expect(result.successful == 1, "\(agent) dialling \(code): \(result.summary)")
    }

    /// The agent's phone registers from `port` on 127.0.0.2.
    static func register(_ agent: String, port: Int, _ gateway: GatewayProcess) async throws {
        let result = try await SIPp.run("uac-register.xml", target: gateway.udpTarget, port: port,
                                        arguments: ["-i", phoneAddress, "-m", "1", "-s", agent, "-au", agent, "-ap", "s3cret",
                                                    "-key", "expires", "600"])
        #expect(result.successful == 1, "\(agent) registering: \(result.summary)")
    }

    /// A caller who waits in the queue until the gateway hangs up.
    static func caller(_ number: String, dialling exten: String = "100", _ gateway: GatewayProcess) throws -> (TestProcess, String) {
        try SIPp.start("uac-caller-waits.xml", target: gateway.udpTarget, port: Ports.free(),
                       arguments: ["-m", "1", "-s", exten, "-key", "user", number, "-key", "display", "Caller \(number)"])
    }

    /// The shipped dialplan and configuration's shape: a provider trunk whose
    /// host (the customer's carrier) is SIPp at `carrierPort`, sending the
    /// company's number +15550100; agent alice (password s3cret) and `agents`;
    /// a store that knows Ada (+12025550142). The caller removes `directory`.
    static func companyGateway(_ name: String, carrierPort: Int, agents: String = "") async throws
        -> (gateway: GatewayProcess, directory: String, store: String) {
        let directory = try TestPaths.temporaryDirectory(name)
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,tier,phone,email\nc-ada,Ada Lovelace,gold,+12025550142,ada@example.com\n")
        let config = """
            [trunk provider]
            match = 127.0.0.1
            context = from-trunk
            message_context = sms-in
            host = sip:127.0.0.1:\(carrierPort)
            from_user = +15550100
            [agent alice]
            name = Alice Example
            password = s3cret
            qualify_frequency = 0
            \(agents)
            [queue vip]
            [queue sales]
            [queue support]
            [store]
            path = \(store)

            """
        // The shipped dialplan: its [from-agents] and [agents-sms] send numbers out through OUTBOUND_TRUNK (provider).
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Dialplans/extensions.conf", encoding: .utf8)
        return (try await GatewayProcess.start(config: config, dialplan: shipped), directory, store)
    }

    static let agentPlan = """
        [from-agents]
        exten => *45,1,AddQueueMember()
         same => n,Playback(agent-loginok)
        exten => *46,1,RemoveQueueMember()
         same => n,Playback(agent-loggedoff)
        exten => *47,1,PauseQueueMember(,,,lunch)
         same => n,Playback(agent-paused)
        exten => *48,1,UnpauseQueueMember()
         same => n,Playback(agent-ready)

        """

    static let queuePlan = """
        [from-trunk]
        exten => _X.,1,Answer()
         same => n,Queue(support,,,,60)
         same => n,Verbose(1,QUEUESTATUS=${QUEUESTATUS})
         same => n,Hangup()
        exten => _9X.,1,Set(QUEUE_PRIO=10)
         same => n,Goto(from-trunk,${EXTEN:1},1)

        """ + agentPlan

    @Test("an agent calls a customer through the outbound trunk: the customer sees the company's number, the record is outbound with agent and contact; and another agent by name")
    func agentCallsOut() async throws {
        let customerPort = Ports.free(), bobPort = Ports.free()
        let (gateway, directory, store) = try await Self.companyGateway("agent-out", carrierPort: customerPort,
                                                                        agents: "[agent bob]\ncontact = sip:bob@127.0.0.1:\(bobPort)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (customer, customerDirectory) = try SIPp.start("builtin:uas", target: nil, port: customerPort, arguments: ["-m", "1"])
        let call = try await SIPp.run("uac-agent-calls.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-i", Self.phoneAddress, "-m", "1", "-d", "500", "-s", "+12025550142",
                                                  "-au", "alice", "-ap", "s3cret", "-key", "agent", "alice"])
        #expect(call.successful == 1, "\(call.summary)")
        #expect(try await SIPp.finish(customer, directory: customerDirectory).successful == 1)
        let invite = try #require(CallFlow.received(in: customerDirectory).first { $0.text.hasPrefix("INVITE ") }?.text)
        #expect(invite.hasPrefix("INVITE sip:+12025550142@127.0.0.1:\(customerPort)"), "\(invite)")
        #expect(CallFlow.header("From", in: invite)?.contains("<sip:+15550100@") == true, "the company's number: \(invite)")

        // Agent to agent, by name.
        let (bob, bobDirectory) = try SIPp.start("builtin:uas", target: nil, port: bobPort, arguments: ["-m", "1"])
        let toAgent = try await SIPp.run("uac-agent-calls.xml", target: gateway.udpTarget, port: Ports.free(),
                                          arguments: ["-i", Self.phoneAddress, "-m", "1", "-d", "300", "-s", "bob",
                                                      "-au", "alice", "-ap", "s3cret", "-key", "agent", "alice"])
        #expect(toAgent.successful == 1, "\(toAgent.summary)")
        #expect(try await SIPp.finish(bob, directory: bobDirectory).successful == 1)
        #expect(try await gateway.stop() == 0)

        let csv = try await CallFlow.omnigate(["calls", "--store", store, "--format", "csv"])
        let rows = try CSV.parse(Data(csv.utf8), file: "calls.csv").dropFirst().map(\.fields)
        let column = { (row: [String], name: String) in row[CallRecordExport.columns.firstIndex(of: name)!] }
        let out = try #require(rows.first { column($0, "dst") == "'+12025550142" }, "\(csv)\n\(gateway.process.stderr)")
        #expect(column(out, "direction") == "outbound")
        #expect(column(out, "agent") == "alice")
        #expect(column(out, "contact_id") == "c-ada")
        #expect(column(out, "trunk") == "provider")
        #expect(column(out, "dcontext") == "from-agents")
        #expect(column(out, "disposition") == "ANSWERED")
        let toBob = try #require(rows.first { column($0, "dst") == "bob" }, "\(csv)")
        #expect(column(toBob, "disposition") == "ANSWERED" && column(toBob, "agent") == "alice", "\(toBob)")
        #expect(column(toBob, "direction") == "outbound" && column(toBob, "trunk") == "", "\(toBob)")
        // The call is on Ada's timeline.
        let pop = try await CallFlow.omnigate(["lookup", "+12025550142", "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(pop.utf8)) as? [String: Any])
        let recent = document["recent"] as? [[String: Any]] ?? []
        #expect(recent.contains { $0["direction"] as? String == "outbound" && $0["channel"] as? String == "voice" }, "\(recent)")
    }

    @Test("a stranger's INVITE from outside every trunk is challenged, and without credentials never reaches the dialplan")
    func strangerChallenged() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk() + "[agent alice]\npassword = s3cret\n",
                                                     dialplan: GatewayProcess.answeringPlan + "\n" + Self.agentPlan)
        let call = try await SIPp.run("uac-agent-calls.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-i", Self.phoneAddress, "-m", "1", "-s", "*45", "-au", "alice", "-ap", "guess",
                                                  "-key", "agent", "alice"])
        #expect(call.failed == 1, "a wrong password must not get a call through: \(call.summary)")
        try await gateway.process.waitForLine(containing: "registration refused reason=\"wrong credentials\" user=alice")
        #expect(try await gateway.stop() == 0)
        #expect(!gateway.process.stderr.contains("AddQueueMember"))
    }

    @Test("one agent answers three waiting callers in the order they came, a priority caller first; *47 and *48 pause and unpause it")
    func waitingLineOrder() async throws {
        let phonePort = Ports.free()
        let config = GatewayProcess.loopbackTrunk()
            + "[agent bob]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nstrategy = linear\nwrapup = 0s\nring_timeout = 5s\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        try await Self.register("bob", port: phonePort, gateway)
        try await Self.dial("*47", as: "bob", gateway)
        try await gateway.process.waitForLine(containing: "agent changed agent=bob")

        // Three callers arrive in order while bob is paused, then a priority caller.
        var callers: [(TestProcess, String)] = []
        for (index, number) in ["+15550000001", "+15550000002", "+15550000003"].enumerated() {
            callers.append(try Self.caller(number, gateway))
            let joined = try await gateway.process.waitForLine(containing: "queue: joined", occurrence: index + 1)
            #expect(joined.contains("position=\(index + 1)"), "\(joined)")
        }
        callers.append(try Self.caller("+15550000009", dialling: "9100", gateway))
        let vip = try await gateway.process.waitForLine(containing: "queue: joined", occurrence: 4)
        #expect(vip.contains("position=1") && vip.contains("priority=10"), "the priority caller goes first: \(vip)")
        let why = try await gateway.process.waitForLine(containing: "queue: no agent can take the call yet")
        #expect(why.contains("bob: paused (lunch)"), "\(why)")

        // bob's phone takes each call, talks 300 ms and hangs up; *48 makes bob ready.
        let (phone, phoneDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: phonePort,
                                                     arguments: ["-i", Self.phoneAddress, "-m", "4", "-d", "300"])
        defer { phone.kill() }
        try await Self.dial("*48", as: "bob", gateway)
        for (process, directory) in callers {
            #expect(try await SIPp.finish(process, directory: directory).successful == 1)
        }
        #expect(try await SIPp.finish(phone, directory: phoneDirectory).successful == 4)
        let numbers = CallFlow.received(in: phoneDirectory).filter { $0.text.hasPrefix("INVITE ") }
            .compactMap { CallFlow.header("From", in: $0.text) }
            .compactMap { from in from.range(of: #"\+1555000000\d"#, options: .regularExpression).map { String(from[$0]) } }
        #expect(numbers == ["+15550000009", "+15550000001", "+15550000002", "+15550000003"])
        #expect(try await gateway.stop() == 0)
    }

    @Test("when the last agent logs out (*46) a waiting caller leaves with LEAVEEMPTY, the next may not join, and *45 brings calls back")
    func loginLogout() async throws {
        let phonePort = Ports.free()
        let config = GatewayProcess.loopbackTrunk()
            + "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nwrapup = 0s\nring_timeout = 5s\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        try await Self.register("alice", port: phonePort, gateway)
        // Paused, alice still counts as a member: a caller may join and waits.
        try await Self.dial("*47", as: "alice", gateway)
        let (waiting, waitingDirectory) = try Self.caller("+15550000001", gateway)
        try await gateway.process.waitForLine(containing: "queue: joined")
        try await Self.dial("*46", as: "alice", gateway)
        let left = try await gateway.process.waitForLine(containing: "queue: the caller leaves: no member counts (leavewhenempty)")
        #expect(left.contains("nobody is logged in"), "\(left)")
        try await gateway.process.waitForLine(containing: "QUEUESTATUS=LEAVEEMPTY")
        #expect(try await SIPp.finish(waiting, directory: waitingDirectory).successful == 1)

        let (refused, refusedDirectory) = try Self.caller("+15550000002", gateway)
        try await gateway.process.waitForLine(containing: "QUEUESTATUS=JOINEMPTY")
        #expect(try await SIPp.finish(refused, directory: refusedDirectory).successful == 1)

        // Logged in again (and no longer paused): the next caller reaches alice's phone.
        try await Self.dial("*45", as: "alice", gateway)
        try await Self.dial("*48", as: "alice", gateway)
        let (phone, phoneDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: phonePort,
                                                     arguments: ["-i", Self.phoneAddress, "-m", "1", "-d", "300"])
        defer { phone.kill() }
        let (answered, answeredDirectory) = try Self.caller("+15550000003", gateway)
        #expect(try await SIPp.finish(answered, directory: answeredDirectory).successful == 1)
        #expect(try await SIPp.finish(phone, directory: phoneDirectory).successful == 1)
        // Seven calls (four feature codes, three callers) end in no set order; alice hung up the one she took.
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 7)
        let taken = gateway.process.stderr.split(separator: "\n").filter { $0.contains("call ended") && $0.contains("by=agent") }
        #expect(taken.count == 1 && taken.allSatisfy { $0.contains("agent=alice") }, "\(taken)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("a restart keeps the agent's registered phone and its pause: no call until *48, then the phone registered before is rung")
    func restartKeepsAgents() async throws {
        let directory = try TestPaths.temporaryDirectory("agent-restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let phonePort = Ports.free()
        let config = GatewayProcess.loopbackTrunk()
            + "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nwrapup = 0s\nring_timeout = 5s\n[store]\npath = \(directory)/store.sqlite\n"
        let first = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        try await Self.register("alice", port: phonePort, first)
        try await Self.dial("*47", as: "alice", first)
        #expect(try await first.stop() == 0)

        // The phone listens from before the restart: with qualify_frequency = 0 the restored
        // registration gets no OPTIONS (which the phone's scenario would take as a failure), only the INVITE.
        let (phone, phoneDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: phonePort,
                                                     arguments: ["-i", Self.phoneAddress, "-m", "1", "-d", "300"])
        defer { phone.kill() }
        let second = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        let (waiting, waitingDirectory) = try Self.caller("+15550000001", second)
        let why = try await second.process.waitForLine(containing: "queue: no agent can take the call yet")
        #expect(why.contains("alice: paused (lunch)"), "the pause survived the restart: \(why)")
        try await Self.dial("*48", as: "alice", second)
        #expect(try await SIPp.finish(waiting, directory: waitingDirectory).successful == 1)
        let rung = try await SIPp.finish(phone, directory: phoneDirectory)
        #expect(rung.successful == 1, "the registration survived the restart: \(rung.summary)\ngateway:\n\(second.process.stderr.suffix(4000))")
        #expect(try await second.stop() == 0)
    }

    @Test("an agent texts a customer From the company's number; the customer's reply goes to that agent's phone; both are on the timeline")
    func agentTextsCustomer() async throws {
        let carrierPort = Ports.free(), phonePort = Ports.free()
        let (gateway, directory, store) = try await Self.companyGateway("agent-sms", carrierPort: carrierPort)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.register("alice", port: phonePort, gateway)

        // alice texts Ada: out through the trunk, From the company's number.
        let (carrier, carrierDirectory) = try SIPp.start("uas-takes-messages.xml", target: nil, port: carrierPort, arguments: ["-m", "1"])
        let sent = try await SIPp.run("uac-agent-message.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-i", Self.phoneAddress, "-m", "1", "-s", "+12025550142", "-au", "alice", "-ap", "s3cret",
                                                  "-key", "agent", "alice"])
        #expect(sent.successful == 1, "\(sent.summary)")
        #expect(try await SIPp.finish(carrier, directory: carrierDirectory).successful == 1)
        let out = try #require(CallFlow.received(in: carrierDirectory).first { $0.text.hasPrefix("MESSAGE ") }?.text)
        #expect(out.hasPrefix("MESSAGE sip:+12025550142@127.0.0.1:\(carrierPort)"), "\(out)")
        #expect(CallFlow.header("From", in: out)?.contains("<sip:+15550100@") == true, "the company's number: \(out)")
        #expect(out.contains("Your order 4711 ships today."))
        try await gateway.process.waitForLine(containing: "sms out to=sip:+12025550142@")
        // The store's writer commits it a moment later; the reply below finds alice through it.
        let committed = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < committed {
            let pop = try await CallFlow.omnigate(["lookup", "+12025550142", "--store", store, "--format", "json"])
            if pop.contains("\"agent\":\"alice\"") { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        // Ada answers the company's number: the reply reaches alice's phone, From Ada's number.
        let (phone, phoneDirectory) = try SIPp.start("uas-takes-messages.xml", target: nil, port: phonePort,
                                                     arguments: ["-i", Self.phoneAddress, "-m", "1"])
        defer { phone.kill() }
        let reply = try await SIPp.run("uac-customer-message.xml", target: gateway.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "1", "-s", "+15550100", "-key", "user", "+12025550142"])
        #expect(reply.successful == 1, "\(reply.summary)")
        #expect(try await SIPp.finish(phone, directory: phoneDirectory).successful == 1, "the reply reached alice's phone")
        let forwarded = try #require(CallFlow.received(in: phoneDirectory).first { $0.text.hasPrefix("MESSAGE ") }?.text)
        #expect(CallFlow.header("From", in: forwarded)?.contains("<sip:+12025550142@") == true, "\(forwarded)")
        #expect(forwarded.contains("Can it come on Friday?"))
        try await gateway.process.waitForLine(containing: "sms out to=sip:alice@")
        #expect(try await gateway.stop() == 0)

        let pop = try await CallFlow.omnigate(["lookup", "+12025550142", "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(pop.utf8)) as? [String: Any])
        let recent = (document["recent"] as? [[String: Any]] ?? []).filter { $0["channel"] as? String == "sms" }
        #expect(recent.contains { $0["direction"] as? String == "outbound" && $0["agent"] as? String == "alice"
            && ($0["body"] as? String)?.contains("ships today") == true }, "\(recent)")
        #expect(recent.contains { $0["direction"] as? String == "inbound" && ($0["body"] as? String)?.contains("Friday") == true }, "\(recent)")
        #expect(recent.count == 2, "passing the reply on to alice is not another interaction: \(recent)")
    }

    @Test("a waiting caller hears its place in line and the expected wait, every announce_frequency")
    func announcements() async throws {
        let phonePort = Ports.free()
        let config = GatewayProcess.loopbackTrunk()
            + "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nwrapup = 0s\nannounce_frequency = 1s\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.queuePlan)
        try await Self.register("alice", port: phonePort, gateway)
        try await Self.dial("*47", as: "alice", gateway)
        let (first, firstDirectory) = try Self.caller("+15550000001", gateway)
        let (second, secondDirectory) = try Self.caller("+15550000002", gateway)
        try await gateway.process.waitForLine(containing: "queue: joined", occurrence: 2)
        // Each caller hears where it is: the first that it is next, the second its number.
        var heard: [String] = []
        for occurrence in 1...2 { heard.append(try await gateway.process.waitForLine(containing: "queue: announcement", occurrence: occurrence)) }
        #expect(heard.contains { $0.contains("position=1") && $0.contains("prompts=queue-youarenext&queue-thankyou") }, "\(heard)")
        #expect(heard.contains { $0.contains("position=2") && $0.contains("prompts=queue-thereare&digits/2&queue-callswaiting&queue-thankyou") },
                "\(heard)")
        // Then alice takes them both.
        let (phone, phoneDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: phonePort,
                                                     arguments: ["-i", Self.phoneAddress, "-m", "2", "-d", "200"])
        defer { phone.kill() }
        try await Self.dial("*48", as: "alice", gateway)
        #expect(try await SIPp.finish(first, directory: firstDirectory).successful == 1)
        #expect(try await SIPp.finish(second, directory: secondDirectory).successful == 1)
        #expect(try await SIPp.finish(phone, directory: phoneDirectory).successful == 2)
        #expect(try await gateway.stop() == 0)
    }
}
