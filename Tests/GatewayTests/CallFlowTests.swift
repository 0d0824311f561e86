import Foundation
import OmnigateTestSupport
import Testing

/// Calls with context, end to end: SIPp as the trunk caller and the agents,
/// the real gateway process, a real store file.
@Suite("calls with context, end to end")
struct CallFlowTests {
    static let ivrPlan = """
        [from-trunk]
        exten => _X.,1,Goto(ivr,s,1)
        [ivr]
        exten => s,1,Answer()
         same => n,Background(menu)
         same => n,WaitExten(5)
        exten => 2,1,Queue(support,,,,20)
         same => n,VoiceMail(support,s)
         same => n,Hangup()
        """

    static let ada = "id,name,tier,phone,email\nc-ada,Ada Lovelace,vip,+12025550142,ada@example.com\n"
    static let adaChat = """
        {"source":"chat","channel":"chat","time":"2026-11-20T10:00:00Z","address":"ada@example.com","subject":"Refund for order 4711","status":"open","agent":"bob","external_ref":"conv-9"}

        """

    struct Running {
        let gateway: GatewayProcess
        let store: String
        let pops: String
    }

    /// A gateway with agents on SIPp ports, a store with Ada, the IVR plan.
    static func start(agents: [(name: String, port: Int)], strategy: String = "ringall", extra: String = "",
                      plan: String = ivrPlan, budget: String = "200ms") async throws -> Running {
        let directory = try TestPaths.temporaryDirectory("callflow")
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: ada, events: adaChat)
        var config = GatewayProcess.loopbackTrunk()
        config += "[store]\npath = \(store)\n[screenpop]\nurl = https://crm.example.test/c/{contact}\nlog = \(directory)/pops.jsonl\n"
        config += "lookup_budget = \(budget)\n[media]\nrecordings = \(directory)/recordings\n"
        for agent in agents {
            config += "[agent \(agent.name)]\ncontact = sip:\(agent.name)@127.0.0.1:\(agent.port)\nqueues = support\n"
        }
        config += "[queue support]\nstrategy = \(strategy)\nring_timeout = 4s\nwrapup = 0s\n" + extra
        let gateway = try await GatewayProcess.start(config: config, dialplan: plan)
        return Running(gateway: gateway, store: store, pops: directory + "/pops.jsonl")
    }

    static func agentSIPp(_ port: Int, scenario: String = "builtin:uas") throws -> (TestProcess, String) {
        try SIPp.start(scenario, target: nil, port: port,
                       arguments: ["-m", "1", "-rtp_echo", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
    }

    static func caller(_ running: Running, hold: Int = 4000) async throws -> SIPp.Result {
        try await SIPp.run("uac-ivr-caller.xml", target: running.gateway.udpTarget, port: Ports.free(),
                           arguments: ["-m", "1", "-s", "18005550100", "-d", String(hold), "-mi", "127.0.0.1",
                                       "-mp", String(Ports.free(count: 4))], timeout: .seconds(60))
    }

    @Test("a caller reaches an agent through an IVR choice made with RFC 4733 DTMF, with a screen pop before the ring")
    func ivrToAgent() async throws {
        let agentPort = Ports.free()
        let (agent, agentDirectory) = try Self.agentSIPp(agentPort)
        let running = try await Self.start(agents: [("alice", agentPort)])
        let caller = try await Self.caller(running)
        #expect(caller.successful == 1, "\(caller.summary)")
        let agentResult = try await SIPp.finish(agent, directory: agentDirectory)
        #expect(agentResult.successful == 1, "\(agentResult.summary)")

        // The agent's INVITE carries the caller's context.
        let invite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(CallFlow.header("Call-Info", in: invite.text) == "<https://crm.example.test/c/c-ada>;purpose=info")
        let summary = CallFlow.header("X-Omnigate-Summary", in: invite.text) ?? ""
        #expect(summary.hasPrefix("name=\"Ada Lovelace\"; tier=vip; last=\"chat "), "\(summary)")
        #expect(summary.hasSuffix(": Refund for order 4711\""), "\(summary)")
        #expect(CallFlow.header("From", in: invite.text)?.hasPrefix("\"Ada Lovelace (vip)\" <sip:+12025550142@") == true)

        // The pop was published before the INVITE reached the agent.
        let published = CallFlow.pops(running.pops).filter { $0["event"] as? String == "published" }
        #expect(published.count == 1)
        let pop = try #require(published.first?["pop"] as? [String: Any])
        #expect(pop["agent"] as? String == "alice")
        #expect((pop["context"] as? [String: Any])?["name"] as? String == "Ada Lovelace")
        #expect((pop["missing"] as? [Any])?.isEmpty == true)
        let publishedAt = try #require(Double(pop["publishedAt"] as? String ?? ""))
        #expect(publishedAt <= invite.time.timeIntervalSince1970, "pop at \(publishedAt), INVITE at \(invite.time.timeIntervalSince1970)")

        // Media flowed both ways through the bridge.
        try await running.gateway.process.waitForLine(containing: "call ended")
        let ended = try await running.gateway.process.waitForLine(containing: "call ended")
        let counts = ended.matches(of: /(caller|agent)\.rtp="sent (\d+) received (\d+)"/).map { ($0.1, Int($0.2)!, Int($0.3)!) }
        #expect(counts.count == 2, "\(ended)")
        for (leg, sent, received) in counts {
            #expect(sent > 20 && received > 20, "\(leg) leg: sent \(sent), received \(received)")
        }

        // The call record has the right fields.
        #expect(try await running.gateway.stop() == 0)
        let record = try #require(try await CallFlow.callRecords(running.store).first)
        #expect(record["disposition"] as? String == "ANSWERED")
        #expect(record["agent"] as? String == "alice" && record["queue"] as? String == "support")
        #expect(record["src"] as? String == "+12025550142" && record["dst"] as? String == "18005550100")
        #expect(record["dcontext"] as? String == "from-trunk" && record["contactID"] as? String == "c-ada")
        #expect((record["dstchannel"] as? String)?.hasPrefix("PJSIP/alice-") == true)
        #expect(record["lastapp"] as? String == "Queue" && record["hangupSide"] as? String == "caller")
        #expect(record["sipStatus"] as? Int == 200 && record["agentSIPStatus"] as? Int == 200)
        let path = record["dialplanPath"] as? [String] ?? []
        #expect(path.prefix(4) == ["from-trunk,18005550100,1: Goto(ivr,s,1)", "ivr,s,1: Answer()", "ivr,s,2: Background(menu)",
                                   "ivr,2,1: Queue(support,,,,20)"], "\(path)")
        #expect((record["billsec"] as? Int ?? 0) >= 1)
    }
}
