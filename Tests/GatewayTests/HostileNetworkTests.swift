import Foundation
import OmnigateTestSupport
import Testing

/// The attacks a gateway on a public SIP port meets, each as written in
/// docs/sip.md ("Security"), against the real `omnigate run` on loopback.
/// 127.0.0.2 plays the stranger: no test trunk matches it.
@Suite("a hostile network")
struct HostileNetworkTests {
    static let answering = """
        [from-trunk]
        exten => _[a-z0-9+].,1,Answer()
         same => n,Wait(30)
        """

    // MARK: - Transfers

    @Test("a trunk caller's REFER to a premium number gets 403, and no INVITE leaves")
    func referFromTrunkCallerRefused() async throws {
        let premiumPort = Ports.free()
        let (premium, premiumDirectory) = try SIPp.start("builtin:uas", target: nil, port: premiumPort,
                                                         arguments: ["-m", "1"], timeout: .seconds(20))
        defer { premium.kill() }
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), dialplan: Self.answering)
        let caller = try await SIPp.run("uac-caller-refers-away.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "1000", "-s", "18005550100",
                                                    "-key", "target", "sip:+19005550199@127.0.0.1:\(premiumPort)"])
        #expect(caller.successful == 1, "\(caller.summary)")
        let refused = try await gateway.process.waitForLine(containing: "transfer refused")
        #expect(refused.contains("sip.status=403") && refused.contains("target=sip:+19005550199@127.0.0.1:\(premiumPort)"), "\(refused)")
        try await gateway.process.waitForLine(containing: "call ended")
        #expect(try await gateway.stop() == 0)
        #expect(CallFlow.received(in: premiumDirectory).isEmpty, "the premium number was called")
        #expect(!gateway.process.stderr.contains("transfer accepted"))
    }

    /// A gateway whose from-trunk context sends callers to agent alice, whose
    /// own context (from-agents) routes 2001 to agent bob.
    static func transferGateway(alice: Int, bob: Int, aliceSettings: String = "") async throws -> (GatewayProcess, String) {
        let directory = try TestPaths.temporaryDirectory("transfer")
        let store = directory + "/store.sqlite"
        let config = GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\n"
            + "[agent alice]\ncontact = sip:alice@127.0.0.1:\(alice)\n\(aliceSettings)"
            + "[agent bob]\ncontact = sip:bob@127.0.0.1:\(bob)\n"
        let plan = """
            [from-trunk]
            exten => _X.,1,Answer()
             same => n,Dial(PJSIP/alice,10)
             same => n,Hangup()
            [from-agents]
            exten => 2001,1,Dial(PJSIP/bob,10)
             same => n,Hangup()
            """
        return (try await GatewayProcess.start(config: config, dialplan: plan), store)
    }

    @Test("an agent's blind transfer reaches its target through the dialplan, and each part of the call has its record")
    func agentBlindTransfer() async throws {
        let (alicePort, bobPort) = (Ports.free(), Ports.free())
        let (alice, aliceDirectory) = try SIPp.start("uas-agent-blind-transfer.xml", target: nil, port: alicePort,
                                                     arguments: ["-m", "1", "-key", "target", "sip:2001@elsewhere.example",
                                                                 "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
        let (bob, bobDirectory) = try SIPp.start("builtin:uas", target: nil, port: bobPort,
                                                 arguments: ["-m", "1", "-rtp_echo", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
        let (gateway, store) = try await Self.transferGateway(alice: alicePort, bob: bobPort)
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "3000", "-s", "18005550100", "-mi", "127.0.0.1",
                                                    "-mp", String(Ports.free(count: 4))])
        #expect(caller.successful == 1, "\(caller.summary)")
        let aliceResult = try await SIPp.finish(alice, directory: aliceDirectory)
        #expect(aliceResult.successful == 1, "\(aliceResult.summary)")
        let bobResult = try await SIPp.finish(bob, directory: bobDirectory)
        #expect(bobResult.successful == 1, "\(bobResult.summary)")
        let transferred = try await gateway.process.waitForLine(containing: "call transferred")
        #expect(transferred.contains("by=alice") && transferred.contains("exten=2001") && transferred.contains("context=from-agents"))
        try await gateway.process.waitForLine(containing: "call ended")
        #expect(try await gateway.stop() == 0)

        let records = try await CallFlow.callRecords(store).sorted { ($0["start"] as? String ?? "") < ($1["start"] as? String ?? "") }
        try #require(records.count == 2, "\(records)")
        let (first, second) = (records[0], records[1])
        #expect(first["agent"] as? String == "alice" && first["disposition"] as? String == "ANSWERED")
        #expect(first["lastapp"] as? String == "Transfer" && first["lastdata"] as? String == "2001@from-agents")
        #expect(second["agent"] as? String == "bob" && second["disposition"] as? String == "ANSWERED")
        #expect(second["dst"] as? String == "2001" && second["dcontext"] as? String == "from-agents")
        #expect(second["lastapp"] as? String == "Dial")
        #expect(first["sip_call_id"] as? String != nil && first["sip_call_id"] as? String == second["sip_call_id"] as? String,
                "both parts carry the caller's Call-ID")
        #expect(first["uniqueid"] as? String != second["uniqueid"] as? String)
    }

    @Test("an agent's REFER is refused when its context does not route the target, or the agent may not transfer",
          arguments: [("", "sip:+19005550199@premium.example", 404), ("transfer = no\n", "sip:2001@elsewhere.example", 403)])
    func agentTransferRefused(settings: String, target: String, status: Int) async throws {
        let (alicePort, bobPort) = (Ports.free(), Ports.free())
        let (alice, aliceDirectory) = try SIPp.start("uas-agent-transfer-refused.xml", target: nil, port: alicePort,
                                                     arguments: ["-m", "1", "-key", "target", target,
                                                                 "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
        let (bob, _) = try SIPp.start("builtin:uas", target: nil, port: bobPort, arguments: ["-m", "1"], timeout: .seconds(20))
        defer { bob.kill() }
        let (gateway, store) = try await Self.transferGateway(alice: alicePort, bob: bobPort, aliceSettings: settings)
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "2000", "-s", "18005550100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        let aliceResult = try await SIPp.finish(alice, directory: aliceDirectory)
        #expect(aliceResult.successful == 1, "\(aliceResult.summary)")
        let refusal = CallFlow.received(in: aliceDirectory).first { $0.text.hasPrefix("SIP/2.0 ") }
        #expect(refusal?.text.hasPrefix("SIP/2.0 \(status) ") == true, "\(refusal?.text ?? "no response")")
        try await gateway.process.waitForLine(containing: "call ended")
        #expect(try await gateway.stop() == 0)
        let records = try await CallFlow.callRecords(store)
        #expect(records.count == 1 && records.first?["agent"] as? String == "alice" && records.first?["lastapp"] as? String == "Dial")
    }

    // MARK: - Subscriptions

    @Test("SUBSCRIBE makes no subscription and no NOTIFY: 403 from a stranger, 405 from a trunk")
    func subscribeReflection() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), dialplan: Self.answering)
        let port = gateway.udpPort
        let answers = try await onOwnThread { () -> [String: Int?] in
            let victim = try SIPSocket(udp: "127.0.0.1")
            var answers: [String: Int?] = [:]
            for source in ["127.0.0.2", "127.0.0.1"] {
                let attacker = try SIPSocket(udp: source)
                attacker.send(SIPText.request("SUBSCRIBE", uri: "sip:100@127.0.0.1:\(port)", from: "\(source):\(attacker.port)",
                                              headers: ["Event: presence", "Accept: application/pidf+xml", "Expires: 3600",
                                                        "Contact: <sip:victim@127.0.0.1:\(victim.port)>"]), to: port)
                answers[source] = attacker.receive(timeout: .seconds(2)).flatMap(SIPText.status)
            }
            // Nothing may reach the address the Contact named.
            answers["victim"] = victim.receive(timeout: .seconds(2)).flatMap(SIPText.status) ?? 0
            return answers
        }
        #expect(answers["127.0.0.2"] == 403)
        #expect(answers["127.0.0.1"] == 405)
        #expect(answers["victim"] == 0, "a NOTIFY (or anything) reached the third party")
        #expect(try await gateway.stop() == 0)
    }

    @Test("OPTIONS from a stranger gets 403; a trunk gets 200 with only what is served; the User-Agent can be left out")
    func optionsDisclosure() async throws {
        for userAgent in ["Omnigate", ""] {
            let gateway = try await GatewayProcess.start(config: "[general]\nuser_agent = \(userAgent)\n" + GatewayProcess.loopbackTrunk(),
                                                         dialplan: Self.answering)
            let port = gateway.udpPort
            let answers = try await onOwnThread { () -> [String] in
                try ["127.0.0.2", "127.0.0.1"].map { source in
                    let socket = try SIPSocket(udp: source)
                    socket.send(SIPText.request("OPTIONS", uri: "sip:127.0.0.1:\(port)", from: "\(source):\(socket.port)"), to: port)
                    return socket.receive(timeout: .seconds(2)) ?? ""
                }
            }
            #expect(SIPText.status(answers[0]) == 403)
            #expect(SIPText.status(answers[1]) == 200)
            #expect(SIPText.header("User-Agent", in: answers[1]) == (userAgent.isEmpty ? nil : userAgent))
            #expect(SIPText.header("Server", in: answers[1]) == nil)
            let allow = SIPText.header("Allow", in: answers[1]) ?? ""
            for method in ["SUBSCRIBE", "PUBLISH", "NOTIFY", "REGISTER"] { #expect(!allow.contains(method), "Allow: \(allow)") }
            #expect(SIPText.header("Allow-Events", in: answers[1]) == "refer")
            #expect(try await gateway.stop() == 0)
        }
    }

    // MARK: - SMS replies

    @Test("an SMS reply goes to the trunk's host without the sender's URI headers, never to the host the sender named")
    func smsReplyNotSteered() async throws {
        let replyPort = Ports.free()
        let (reply, replyDirectory) = try SIPp.start("uas-sms-auto-reply.xml", target: nil, port: replyPort, arguments: ["-m", "1"])
        let plan = """
            [from-trunk]
            exten => s,1,Hangup()
            [sms-in]
            exten => _X.,1,Set(MESSAGE(body)=Thanks for your message.)
             same => n,MessageSend(${MESSAGE(from)})
            """
        let config = GatewayProcess.loopbackTrunk(messageContext: "sms-in") + "host = sip:127.0.0.1:\(replyPort)\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: plan)
        let port = gateway.udpPort
        let (answer, stolen) = try await onOwnThread { () -> (Int?, String?) in
            let evil = try SIPSocket(udp: "127.0.0.1")
            let sender = try SIPSocket(udp: "127.0.0.1")
            let from = "sip:+12025550142@127.0.0.1:\(evil.port)?Route=%3Csip:evil%40127.0.0.1:\(evil.port)%3E"
                + "&P-Asserted-Identity=%3Csip:ceo%40bank.example%3E&Subject=urgent"
            sender.send(SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(port)", from: "127.0.0.1:\(sender.port)",
                                        fromURI: from, headers: ["Content-Type: text/plain"], body: "Where is my order?"), to: port)
            return (sender.receive(timeout: .seconds(3)).flatMap(SIPText.status), evil.receive(timeout: .seconds(2)))
        }
        #expect(answer.map { (200..<300).contains($0) } == true)
        #expect(stolen == nil, "the reply went to the host the sender named: \(stolen ?? "")")
        #expect(try await SIPp.finish(reply, directory: replyDirectory).successful == 1)
        let sent = try #require(CallFlow.received(in: replyDirectory).first { $0.text.hasPrefix("MESSAGE ") }?.text)
        #expect(sent.hasPrefix("MESSAGE sip:+12025550142@127.0.0.1:\(replyPort) SIP/2.0"), "\(sent)")
        for header in ["Route", "P-Asserted-Identity", "Subject"] { #expect(CallFlow.header(header, in: sent) == nil, "\(sent)") }
        #expect(try await gateway.stop() == 0)
    }

    @Test("an SMS reply through a trunk without a host goes back to the address the message came from")
    func smsReplyToSource() async throws {
        let plan = """
            [from-trunk]
            exten => s,1,Hangup()
            [sms-in]
            exten => _X.,1,Set(MESSAGE(body)=Thanks.)
             same => n,MessageSend(${MESSAGE(from)})
            """
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(messageContext: "sms-in"), dialplan: plan)
        let port = gateway.udpPort
        let messages = try await onOwnThread { () -> [String] in
            let evil = try SIPSocket(udp: "127.0.0.1")
            let sender = try SIPSocket(udp: "127.0.0.1")
            sender.send(SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(port)", from: "127.0.0.1:\(sender.port)",
                                        fromURI: "sip:+12025550142@127.0.0.1:\(evil.port)",
                                        headers: ["Content-Type: text/plain"], body: "Hello"), to: port)
            var received = [sender.receive(timeout: .seconds(3)) ?? "", sender.receive(timeout: .seconds(3)) ?? ""]
            received.append(evil.receive(timeout: .seconds(1)) ?? "")
            return received
        }
        #expect(SIPText.status(messages[0]).map { (200..<300).contains($0) } == true, "\(messages[0])")
        #expect(messages[1].hasPrefix("MESSAGE sip:+12025550142@127.0.0.1:"), "\(messages[1])")
        #expect(messages[2].isEmpty, "the reply went to the From host: \(messages[2])")
        #expect(try await gateway.stop() == 0)
    }

    @Test("an SMS is answered 202 with its From and To unchanged, its body is what Content-Length says, and MESSAGE() reads as in Asterisk")
    func smsLikeAsterisk() async throws {
        let plan = """
            [from-trunk]
            exten => s,1,Hangup()
            [sms-in]
            exten => _X.,1,Set(MESSAGE(body)=${MESSAGE(from)}|${MESSAGE(to)}|${MESSAGE(body)})
             same => n,MessageSend(${MESSAGE(from)})
            """
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(messageContext: "sms-in"), dialplan: plan)
        let port = gateway.udpPort
        let (answer, reply, fromSent) = try await onOwnThread { () -> (String, String, String) in
            let sender = try SIPSocket(udp: "127.0.0.1")
            var text = SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(port)", from: "127.0.0.1:\(sender.port)",
                                       fromURI: "sip:+12025550142@127.0.0.1:\(sender.port)",
                                       headers: ["Content-Type: text/plain"], body: "Hello")
            text = text.replacingOccurrences(of: "From: <", with: "From: \"Ada\" <")
            sender.send(text + "trailing bytes past Content-Length", to: port)
            let answer = sender.receive(timeout: .seconds(3)) ?? ""
            return (answer, sender.receive(timeout: .seconds(3)) ?? "", SIPText.header("From", in: text) ?? "")
        }
        #expect(SIPText.status(answer) == 202, "\(answer)")
        #expect(SIPText.header("From", in: answer) == fromSent, "\(answer)")
        #expect(SIPText.header("To", in: answer)?.hasPrefix("<sip:18005550100@127.0.0.1:\(port)>;tag=") == true, "\(answer)")
        #expect(reply.hasPrefix("MESSAGE sip:+12025550142@127.0.0.1:"), "\(reply)")
        let body = reply.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        #expect(body == "\"Ada\" <sip:+12025550142@127.0.0.1>|pjsip:18005550100@127.0.0.1|Hello", "\(body)")
        #expect(try await gateway.stop() == 0)
    }

    // MARK: - Logs

    @Test("a line break from the network writes one escaped line, never a forged one")
    func forgedLogLine() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), dialplan: Self.answering)
        let port = gateway.udpPort
        let forged = "2026-01-01T00:00:00.000Z info    call: call ended call.uniqueid=forged disposition=ANSWERED"
        try await onOwnThread {
            let socket = try SIPSocket(udp: "127.0.0.2")
            // No Call-ID: pjsip cannot take it as a request, and logs what it dropped.
            socket.send("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:\(socket.port);branch=z9hG4bKx\r\n\(forged)\r\n"
                        + "\u{1b}[2J\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCSeq: 1 OPTIONS\r\n\r\n", to: port)
        }
        let line = try await gateway.process.waitForLine(containing: "malformed SIP dropped")
        #expect(line.contains("\\r\\n2026-01-01T00:00:00.000Z info    call: call ended call.uniqueid=forged"), "\(line)")
        #expect(try await gateway.stop() == 0)
        let lines = gateway.process.stderr.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("2026-01-01T00:00:00.000Z") }, "a forged line was written")
        #expect(!gateway.process.stderr.contains("\u{1b}"), "an escape sequence reached the log")
        #expect(lines.filter { $0.contains("call.uniqueid=forged") }.count == 1)
    }

    @Test("a flood of 2,000 malformed packets writes under 50 lines, and the gateway still answers")
    func malformedFlood() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), dialplan: Self.answering)
        let port = gateway.udpPort
        let before = gateway.process.stderr.split(separator: "\n").count
        try await onOwnThread {
            let socket = try SIPSocket(udp: "127.0.0.1")
            let kinds = [
                "INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(socket.port);branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                    + "To: <sip:x@y>\r\nCall-ID: 1\r\nCSeq: abc INVITE\r\nContent-Length: 0\r\n\r\n",
                "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(socket.port);branch=z9hG4bK2\r\n\r\n",
                "SIP/2.0 999 Nonsense\r\nVia: SIP/2.0/UDP 127.0.0.1:\(socket.port);branch=z9hG4bK3\r\n\r\n",
                "INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK4\r\nX-Junk: \u{7f}\u{01}\r\nFrom: broken\r\n\r\n",
            ]
            for i in 0..<2000 {
                socket.send(kinds[i % kinds.count] + String(repeating: "x", count: i % 7), to: port)
                if i % 200 == 199 { _ = socket.receiveAll(quiet: .milliseconds(5)) }
            }
        }
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "100", "-s", "18005550100"])
        #expect(call.successful == 1, "\(call.summary)")
        try await gateway.process.waitForLine(containing: "call ended")
        #expect(try await gateway.stop() == 0)
        let lines = gateway.process.stderr.split(separator: "\n")
        let during = lines.count - before
        #expect(during < 50, "\(during) lines:\n\(lines.suffix(during).joined(separator: "\n"))")
        #expect(lines.contains { $0.contains("malformed SIP dropped") && $0.contains("malformed=1000") })
    }

    // MARK: - Sizes

    @Test("a 10 KB MESSAGE over UDP and a 60 KB one over TCP are answered; a 1 MB one over TCP gets 513 and a closed connection")
    func messageSizes() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(messageContext: "sms-in"),
                                                     dialplan: "[from-trunk]\nexten => s,1,Hangup()\n[sms-in]\nexten => _X.,1,NoOp()\n")
        let (udp, tcp) = (gateway.udpPort, gateway.tcpPort)
        let (small, large, huge, closed) = try await onOwnThread { () -> (Int?, Int?, Int?, Bool) in
            let datagram = try SIPSocket(udp: "127.0.0.1")
            datagram.send(SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(udp)", from: "127.0.0.1:\(datagram.port)",
                                          headers: ["Content-Type: text/plain"], body: String(repeating: "a", count: 10_000)), to: udp)
            let small = datagram.receive(timeout: .seconds(3)).flatMap(SIPText.status)
            let stream = try SIPSocket(tcp: "127.0.0.1", to: tcp)
            stream.send(SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(tcp);transport=tcp", from: "127.0.0.1:\(stream.port)",
                                        transport: "TCP", headers: ["Content-Type: text/plain"], body: String(repeating: "b", count: 60_000)))
            let large = stream.receive(timeout: .seconds(3)).flatMap(SIPText.status)
            let flood = try SIPSocket(tcp: "127.0.0.1", to: tcp)
            flood.send(SIPText.request("MESSAGE", uri: "sip:18005550100@127.0.0.1:\(tcp);transport=tcp", from: "127.0.0.1:\(flood.port)",
                                       transport: "TCP", headers: ["Content-Type: text/plain"], body: String(repeating: "c", count: 1_000_000)))
            let huge = flood.receive(timeout: .seconds(3)).flatMap(SIPText.status)
            return (small, large, huge, flood.isClosedByPeer(within: .seconds(3)))
        }
        #expect(small == 202)
        #expect(large == 202)
        #expect(huge == 513)
        #expect(closed, "the connection that sent 1 MB stays open")
        try await gateway.process.waitForLine(containing: "message larger than 64 KB: connection closed")
        #expect(try await gateway.stop() == 0)
    }

    // MARK: - Connections and rates

    @Test("connections past the per-source limit are closed at once, idle and half-sent ones after idle_timeout; a trunk still calls over TCP")
    func connectionLimits() async throws {
        let config = "[sip]\nudp = 127.0.0.1:0\ntcp = 127.0.0.1:0\nconnections_per_source = 4\nidle_timeout = 3s\n"
            + GatewayProcess.loopbackTrunk()
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.answering)
        let tcp = gateway.tcpPort
        let (refused, kept, partialClosed) = try await onOwnThread { () -> (Int, Int, Bool) in
            let strangers = try (0..<6).map { _ in try SIPSocket(tcp: "127.0.0.2", to: tcp) }
            // Refused connections close at once; the others only after the idle timeout.
            let closed = SIPSocket.closedByPeer(strangers, within: .seconds(1))
            let partial = try SIPSocket(tcp: "127.0.0.1", to: tcp)
            partial.send("MESSAGE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:\(partial.port);branch=z9hG4bKp\r\n"
                         + "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: p\r\nCSeq: 1 MESSAGE\r\n"
                         + "Content-Length: 1000\r\n\r\nonly this much")
            return (closed, strangers.count - closed, partial.isClosedByPeer(within: .seconds(8)))
        }
        #expect(refused == 2, "refused \(refused), kept \(kept)")
        #expect(kept == 4, "refused \(refused), kept \(kept)")
        #expect(partialClosed, "a message whose body never arrives keeps its connection open")
        try await gateway.process.waitForLine(containing: "connection limit: closing a new connection")
        try await gateway.process.waitForLine(containing: "closing an idle connection")
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: "127.0.0.1:\(tcp)", port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "100", "-s", "18005550100", "-t", "t1"])
        #expect(call.successful == 1, "\(call.summary)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("a request flood from a stranger is dropped past its rate, and a trunk's call goes through meanwhile")
    func requestRate() async throws {
        let config = "[sip]\nudp = 127.0.0.1:0\ntcp = 127.0.0.1:0\nrequests_per_second = 10\nrequest_burst = 20\n"
            + GatewayProcess.loopbackTrunk()
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.answering)
        let port = gateway.udpPort
        let flood = Task.detached {
            try await onOwnThread { () -> Int in
                let socket = try SIPSocket(udp: "127.0.0.2")
                var answers = 0
                for i in 0..<1000 {
                    socket.send(SIPText.request("OPTIONS", uri: "sip:127.0.0.1:\(port)", from: "127.0.0.2:\(socket.port)"), to: port)
                    if i % 50 == 49 { answers += socket.receiveAll(quiet: .milliseconds(20)).count }
                }
                return answers + socket.receiveAll(quiet: .milliseconds(500)).count
            }
        }
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "18005550100"])
        let answered = try await flood.value
        #expect(call.successful == 1 && call.retransmissions == 0, "\(call.summary)")
        #expect(answered >= 20 && answered < 100, "the stranger got \(answered) answers to 1,000 requests")
        try await gateway.process.waitForLine(containing: "rate limit: dropping requests from this source source=127.0.0.2")
        #expect(try await gateway.stop() == 0)
    }
}
