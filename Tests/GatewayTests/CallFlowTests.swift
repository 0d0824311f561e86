import Foundation
import OmnigateTestSupport
import Timeline
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

    static func agentSIPp(_ port: Int, scenario: String = "builtin:uas", calls: Int = 1) throws -> (TestProcess, String) {
        try SIPp.start(scenario, target: nil, port: port,
                       arguments: ["-m", String(calls), "-rtp_echo", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
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
        #expect(invite.text.contains("m=audio ") && !invite.text.contains("m=text"), "the agent leg offers audio only: \(invite.text)")

        // The pop was published before the INVITE reached the agent.
        let published = CallFlow.pops(running.pops).filter { $0["event"] as? String == "published" }
        #expect(published.count == 1)
        let pop = try #require(published.first?["pop"] as? [String: Any])
        #expect(pop["agent"] as? String == "alice")
        #expect((pop["context"] as? [String: Any])?["name"] as? String == "Ada Lovelace")
        #expect((pop["missing"] as? [Any])?.isEmpty == true)
        let publishedAt = try #require(Timestamp.parse(pop["published_at"] as? String ?? ""), "\(pop)")
        #expect(publishedAt <= invite.time, "pop at \(publishedAt), INVITE at \(invite.time)")
        // The INVITE names the call whose record the pop belongs to.
        #expect(CallFlow.header("X-Omnigate-Call", in: invite.text) == pop["call_id"] as? String, "\(invite.text)")
        // The log is JSON all through: the store's pop document is an object, not JSON in a string.
        let detail = try #require((pop["context"] as? [String: Any])?["detail"] as? [String: Any], "\(pop)")
        #expect((detail["contact"] as? [String: Any])?["name"] as? String == "Ada Lovelace", "\(detail)")
        #expect((detail["recent"] as? [[String: Any]])?.isEmpty == false, "\(detail)")

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
        #expect(record["dcontext"] as? String == "from-trunk" && record["contact_id"] as? String == "c-ada")
        #expect((record["dstchannel"] as? String)?.hasPrefix("PJSIP/alice-") == true)
        #expect(record["lastapp"] as? String == "Queue" && record["hangup_side"] as? String == "caller")
        #expect(record["sip_status"] as? Int == 200 && record["agent_sip_status"] as? Int == 200)
        let path = record["dialplan_path"] as? [String] ?? []
        #expect(path.prefix(4) == ["from-trunk,18005550100,1: Goto(ivr,s,1)", "ivr,s,1: Answer()", "ivr,s,2: Background(menu)",
                                   "ivr,2,1: Queue(support,,,,20)"], "\(path)")
        #expect((record["billsec"] as? Int ?? 0) >= 1)
        // The gateway answered for the IVR; the agent answered later, and talked for part of billsec.
        let answer = try #require(Timestamp.parse(record["answer"] as? String ?? ""))
        let agentAnswer = try #require(Timestamp.parse(record["agent_answer"] as? String ?? ""), "\(record)")
        let end = try #require(Timestamp.parse(record["end"] as? String ?? ""))
        #expect(answer < agentAnswer && agentAnswer <= end, "\(record)")
        let talksec = try #require(record["talksec"] as? Int)
        #expect(talksec == Int(end.timeIntervalSince(agentAnswer).rounded(.down)) && talksec <= record["billsec"] as? Int ?? 0, "\(record)")
    }

    @Test("with ringall every agent leg gets its own pop, and the one not answering is withdrawn")
    func ringallPops() async throws {
        let (alicePort, bobPort) = (Ports.free(), Ports.free())
        let (alice, aliceDirectory) = try Self.agentSIPp(alicePort)
        let (bob, bobDirectory) = try Self.agentSIPp(bobPort, scenario: "uas-agent-rings-no-answer.xml")
        let running = try await Self.start(agents: [("alice", alicePort), ("bob", bobPort)], strategy: "ringall")
        let caller = try await Self.caller(running, hold: 1500)
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(alice, directory: aliceDirectory).successful == 1)
        let bobResult = try await SIPp.finish(bob, directory: bobDirectory)
        #expect(bobResult.successful == 1, "\(bobResult.summary)")
        let events = CallFlow.pops(running.pops)
        let published = events.filter { $0["event"] as? String == "published" }.compactMap { $0["pop"] as? [String: Any] }
        #expect(Set(published.compactMap { $0["agent"] as? String }) == ["alice", "bob"])
        #expect(Set(published.compactMap { $0["sequence"] as? Int }).count == 2, "each leg has its own pop")
        let withdrawn = events.filter { $0["event"] as? String == "withdrawn" }
        #expect(withdrawn.map { $0["agent"] as? String } == ["bob"])
        #expect(withdrawn.first?["reason"] as? String == "answered by another agent")
        #expect(withdrawn.first.flatMap { Timestamp.parse($0["at"] as? String ?? "") } != nil, "\(withdrawn)")
        #expect(CallFlow.received(in: bobDirectory).contains { $0.text.hasPrefix("CANCEL ") })
        #expect(try await running.gateway.stop() == 0)
        #expect(try await CallFlow.callRecords(running.store).first?["agent"] as? String == "alice")
    }

    @Test("queue strategies pick the agent they should: sticky rings the caller's last agent, linear the first listed")
    func strategies() async throws {
        for (strategy, expected) in [("sticky", "bob"), ("linear", "alice")] {
            let (alicePort, bobPort) = (Ports.free(), Ports.free())
            let (alice, aliceDirectory) = try Self.agentSIPp(alicePort)
            let (bob, bobDirectory) = try Self.agentSIPp(bobPort)
            // Ada last chatted with bob (the store's chat event).
            let running = try await Self.start(agents: [("alice", alicePort), ("bob", bobPort)], strategy: strategy,
                                               extra: "fallback = linear\n")
            let caller = try await Self.caller(running, hold: 1000)
            #expect(caller.successful == 1, "\(strategy): \(caller.summary)")
            try await Task.sleep(for: .milliseconds(300))
            alice.kill()
            bob.kill()
            let rung = [("alice", aliceDirectory), ("bob", bobDirectory)].filter { _, directory in
                CallFlow.received(in: directory).contains { $0.text.hasPrefix("INVITE ") }
            }.map(\.0)
            #expect(rung == [expected], "\(strategy) rang \(rung)")
            #expect(try await running.gateway.stop() == 0)
            #expect(try await CallFlow.callRecords(running.store).first?["agent"] as? String == expected, "\(strategy)")
        }
    }

    @Test("consecutive calls are shared out as the strategy says, the gateway counting each answered call",
          arguments: [("roundrobin", ["alice", "bob", "alice"]), ("leastrecent", ["alice", "bob", "alice"]),
                      ("fewestcalls", ["alice", "bob", "alice"]), ("random", [])])
    func sharedOut(strategy: String, expected: [String]) async throws {
        let (alicePort, bobPort) = (Ports.free(), Ports.free())
        let (alice, _) = try Self.agentSIPp(alicePort, calls: 3)
        let (bob, _) = try Self.agentSIPp(bobPort, calls: 3)
        defer { alice.kill(); bob.kill() }
        let plan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Queue(support,,,,10)\n same => n,Hangup()\n"
        let running = try await Self.start(agents: [("alice", alicePort), ("bob", bobPort)], strategy: strategy, plan: plan)
        for call in 1...3 {
            let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: running.gateway.udpTarget, port: Ports.free(),
                                            arguments: ["-m", "1", "-d", "300", "-s", "18005550100"])
            #expect(caller.successful == 1, "\(strategy) call \(call): \(caller.summary)")
            // Logged once the record is final and the agent free again: the next call sees it.
            try await running.gateway.process.waitForLine(containing: "call ended", occurrence: call)
        }
        #expect(try await running.gateway.stop() == 0)
        let records = try await CallFlow.callRecords(running.store)
        let agents = records.compactMap { $0["agent"] as? String }
        #expect(records.count == 3 && records.allSatisfy { $0["disposition"] as? String == "ANSWERED" }, "\(strategy): \(records)")
        if expected.isEmpty {
            #expect(agents.count == 3 && agents.allSatisfy { ["alice", "bob"].contains($0) }, "\(strategy) rang \(agents)")
        } else {
            #expect(agents == expected, "\(strategy) rang \(agents)")
        }
    }

    @Test("no answer leads to voicemail, and the recording is on the caller's timeline")
    func voicemail() async throws {
        let bobPort = Ports.free()
        let (bob, bobDirectory) = try Self.agentSIPp(bobPort, scenario: "uas-agent-rings-no-answer.xml")
        let plan = Self.ivrPlan.replacingOccurrences(of: "Queue(support,,,,20)", with: "Queue(support,,,,2)")
        let running = try await Self.start(agents: [("bob", bobPort)], plan: plan)
        let caller = try await Self.caller(running, hold: 7000)
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(bob, directory: bobDirectory).successful == 1)
        try await running.gateway.process.waitForLine(containing: "voicemail call.uniqueid=")
        #expect(try await running.gateway.stop() == 0)
        let record = try #require(try await CallFlow.callRecords(running.store).first)
        #expect(record["queue"] as? String == "support" && record["agent"] is NSNull)
        #expect(record["lastapp"] as? String == "Hangup" || record["lastapp"] as? String == "VoiceMail")
        let recording = try #require(record["recording"] as? String)
        let size = (try FileManager.default.attributesOfItem(atPath: recording)[.size] as? Int) ?? 0
        #expect(size > 44 + 16000, "at least a second of audio in \(recording)")
        let pop = try await CallFlow.omnigate(["lookup", "+12025550142", "--store", running.store, "--format", "json"])
        #expect(pop.contains("\"subject\":\"Voicemail for support\""))
        #expect(pop.contains("\"media_path\":\"\(recording)\""), "\(pop)")
    }

    @Test("another process holding the store's write lock does not hold up the agent's ring or the pop; the record lands after")
    func lockedStore() async throws {
        let agentPort = Ports.free()
        let (agent, agentDirectory) = try Self.agentSIPp(agentPort)
        let running = try await Self.start(agents: [("alice", agentPort)], budget: "50ms")
        // A chat system in the middle of a long write: it holds the write lock.
        let locker = try TestProcess("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO events (channel, direction, occurred_at, subject, source) VALUES ('chat', 'inbound', 0, 'typing', 'chat')")
            print("locked", flush=True)
            time.sleep(30)
            """, running.store])
        defer { locker.kill() }
        try await locker.waitForLine(containing: "locked", timeout: .seconds(15))
        let caller = try await Self.caller(running, hold: 1500)
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(agent, directory: agentDirectory).successful == 1)
        #expect(locker.isRunning, "the lock was held all along")
        let invite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(CallFlow.header("X-Omnigate-Summary", in: invite.text)?.hasPrefix("name=\"Ada Lovelace\"; tier=vip") == true)
        let pop = try #require(CallFlow.pops(running.pops).first?["pop"] as? [String: Any])
        #expect((pop["missing"] as? [String])?.isEmpty == true, "WAL readers never wait for a writer")
        #expect(try await CallFlow.callRecords(running.store).isEmpty, "the record waits for the lock")
        locker.kill()
        #expect(try await running.gateway.stop() == 0)
        #expect(try await CallFlow.callRecords(running.store).count == 1, "and lands once it is free")
    }

    @Test("an SMS in gets its auto-reply, and both are on the sender's timeline")
    func smsAutoReply() async throws {
        let replyPort = Ports.free()
        let (reply, replyDirectory) = try SIPp.start("uas-sms-auto-reply.xml", target: nil, port: replyPort, arguments: ["-m", "1"])
        let plan = """
            [from-trunk]
            exten => s,1,Hangup()
            [sms-in]
            exten => _X.,1,Set(MESSAGE(body)=Thanks for your message. An agent will reply shortly.)
             same => n,MessageSend(${MESSAGE(from)})
            """
        let directory = try TestPaths.temporaryDirectory("sms")
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: Self.ada)
        // Replies leave through the trunk's host (never the host in the sender's From).
        let gateway = try await GatewayProcess.start(
            config: GatewayProcess.loopbackTrunk(messageContext: "sms-in") + "host = sip:127.0.0.1:\(replyPort)\n"
                + "[store]\npath = \(store)\n", dialplan: plan)
        let injection = directory + "/from.csv"
        try "SEQUENTIAL\nsms.example.net;\n".write(toFile: injection, atomically: true, encoding: .utf8)
        let sent = try await SIPp.run("uac-sms-auto-reply.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-s", "18005550100", "-inf", injection])
        #expect(sent.successful == 1, "\(sent.summary)")
        #expect(try await SIPp.finish(reply, directory: replyDirectory).successful == 1)
        try await gateway.process.waitForLine(containing: "sms out")
        #expect(try await gateway.stop() == 0)
        let pop = try await CallFlow.omnigate(["lookup", "+12025550142", "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(pop.utf8)) as? [String: Any])
        let recent = document["recent"] as? [[String: Any]] ?? []
        #expect(recent.count == 2, "\(pop)")
        #expect(recent.contains { $0["direction"] as? String == "inbound" && $0["status"] as? String == "received"
            && ($0["body"] as? String)?.hasPrefix("Where is my order 4711?") == true }, "\(recent)")
        #expect(recent.contains { $0["direction"] as? String == "outbound" && $0["status"] as? String == "accepted"
            && ($0["body"] as? String)?.hasPrefix("Thanks for your message") == true })
        #expect(document["known"] as? Bool == true)
    }

    @Test("a kill during live calls leaves no open record after restart")
    func killDuringCalls() async throws {
        let directory = try TestPaths.temporaryDirectory("kill")
        let store = directory + "/store.sqlite"
        let config = GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\n"
        let first = try await GatewayProcess.start(config: config)
        // One call completes, three are up when the gateway is killed.
        let done = try await SIPp.run("uac-caller-hangs-up.xml", target: first.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(done.successful == 1)
        let (live, liveDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: first.udpTarget, port: Ports.free(),
                                                   arguments: ["-m", "3", "-l", "3", "-d", "30000", "-s", "100"])
        defer { live.kill() }
        for _ in 0..<50 where first.process.stderr.components(separatedBy: "call in ").count < 5 {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(500))
        first.process.signal(SIGKILL)
        _ = try await first.process.waitForExit()
        live.kill()
        _ = liveDirectory
        let second = try await GatewayProcess.start(config: config)
        try await second.process.waitForLine(containing: "closed call records a run that is over left open records=3")
        #expect(try await second.stop() == 0)
        let records = try await CallFlow.callRecords(store)
        #expect(records.count == 4)
        #expect(records.filter { $0["interrupted"] as? Bool == true }.count == 3)
        // They were answered before the kill: they stay ANSWERED, with their answer time.
        #expect(records.filter { $0["interrupted"] as? Bool == true }.allSatisfy {
            $0["disposition"] as? String == "ANSWERED" && $0["answer"] is String
        }, "\(records)")
        #expect(records.filter { $0["interrupted"] as? Bool != true && $0["disposition"] as? String == "ANSWERED" }.count == 1,
                "the completed call kept its record")
        let open = try await CallFlow.omnigate(["calls", "--store", store, "--format", "csv"])
        #expect(open.split(whereSeparator: \.isNewline).count == 5, "a header and four records")
    }

    @Test("a real softphone (baresip) as the agent answers on its own and hears the caller",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/baresip"), "baresip is not installed"))
    func baresipAgent() async throws {
        let directory = try TestPaths.temporaryDirectory("baresip-tone")
        let tone = directory + "/agent-voice.wav"
        let sox = try TestProcess("/usr/bin/sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", tone, "synth", "20", "sine", "600", "gain", "-6"])
        #expect(try await sox.waitForExit() == 0)
        let agent = try await BaresipAgent.start(user: "alice", source: tone)
        defer { agent.process.kill() }
        let plan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Dial(PJSIP/alice,10)\n"
        let running = try await Self.start(agents: [("alice", agent.port)], plan: plan)
        let caller = try await SIPp.run("uac-ivr-caller.xml", target: running.gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-s", "18005550100", "-d", "4000", "-mi", "127.0.0.1",
                                                    "-mp", String(Ports.free(count: 4))], timeout: .seconds(60))
        #expect(caller.successful == 1, "\(caller.summary)")
        let ended = try await running.gateway.process.waitForLine(containing: "call ended")
        #expect(ended.contains("disposition=ANSWERED agent=alice"), "\(ended)")
        #expect(try await running.gateway.stop() == 0)
        try await agent.process.waitForLine(containing: "terminated", timeout: .seconds(10))
        await agent.stop()
        let heardPath = try #require(agent.heardPath, "baresip wrote no recording of what it heard")
        let heard = (try? FileManager.default.attributesOfItem(atPath: heardPath)[.size] as? Int) ?? 0
        #expect(heard > 16000, "baresip wrote \(heard) bytes of what it heard")
    }

    @Test("dialplan edits go live on change only when they check clean; calls keep their plan")
    func liveReload() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(),
                                                     dialplan: "[from-trunk]\nexten => _[a-z0-9].,1,Answer()\n same => n,Wait(10)\n")
        let file = gateway.directory + "/Dialplans/extensions.conf"
        try "[from-trunk]\nexten => _[a-z0-9].,1,Dail(PJSIP/alice)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try await gateway.process.waitForLine(containing: "dialplan error")
        #expect(refused.contains("at=Dialplans/extensions.conf:2:23") && refused.contains("unknown application 'Dail'"), "\(refused)")
        _ = file
        // The old plan still answers.
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(call.successful == 1)
        try "[from-trunk]\nexten => _[a-z0-9].,1,Busy()\n".write(toFile: file, atomically: true, encoding: .utf8)
        try await gateway.process.waitForLine(containing: "dialplan reloaded")
        let busy = try await SIPp.run("uac-refused.xml".replacingOccurrences(of: "refused", with: "refused"), target: gateway.udpTarget,
                                      port: Ports.free(), arguments: ["-m", "1", "-s", "100"])
        #expect(busy.failed == 1 || busy.successful == 0, "the new plan answers 486, not 403")
        #expect(SIPp.messages(in: busy.directory).contains("SIP/2.0 486 Busy Here"))
        #expect(try await gateway.stop() == 0)
    }
}

