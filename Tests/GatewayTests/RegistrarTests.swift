import Foundation
import OmnigateTestSupport
import Testing

/// Agents' phones logging in: REGISTER with digest authentication, bindings,
/// qualify, and calls reaching the phones registered.
@Suite("agents' phones register")
struct RegistrarTests {
    static let queuePlan = """
        [from-trunk]
        exten => _X.,1,Answer()
         same => n,Queue(support,,,,15)
         same => n,Hangup()
        """

    static func config(_ agents: String, extra: String = "") -> String {
        GatewayProcess.loopbackTrunk() + agents + "[queue support]\nring_timeout = 4s\nwrapup = 0s\n" + extra
    }

    @Test("a real softphone (baresip) registers with digest authentication and receives a queue call",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/baresip"), "baresip is not installed"))
    func baresipRegistersAndAnswers() async throws {
        let gateway = try await GatewayProcess.start(config: Self.config("[agent alice]\npassword = s3cret\nqueues = support\n"),
                                                     dialplan: Self.queuePlan)
        let directory = try TestPaths.temporaryDirectory("baresip-register")
        let tone = directory + "/tone.wav"
        try TLSTests.wav(tone, seconds: 2) { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / 8000)) }
        let port = Ports.free()
        try """
            sip_listen 127.0.0.1:\(port)
            module_path /usr/lib/baresip/modules
            module g711.so
            module aufile.so
            module_app account.so
            module_app menu.so
            audio_source aufile,\(tone)
            """.write(toFile: directory + "/config", atomically: true, encoding: .utf8)
        try "<sip:alice@127.0.0.1:\(gateway.udpPort)>;auth_pass=s3cret;regint=60;answermode=auto\n"
            .write(toFile: directory + "/accounts", atomically: true, encoding: .utf8)
        let phone = try TestProcess("/usr/bin/baresip", ["-f", directory])
        defer { phone.kill() }
        let registered = try await gateway.process.waitForLine(containing: "agent phone registered agent=alice", timeout: .seconds(20))
        #expect(registered.contains("target=sip:alice") && registered.contains("@127.0.0.1:\(port)"), "\(registered)")
        try await phone.waitForLine(containing: "200 OK", timeout: .seconds(10))

        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "1500", "-s", "18005550100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        let ended = try await gateway.process.waitForLine(containing: "call ended")
        #expect(ended.contains("disposition=ANSWERED") && ended.contains("agent=alice"), "\(ended)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("a wrong password is refused with 403, and a source that keeps failing is refused before any challenge")
    func wrongPasswordThrottled() async throws {
        let gateway = try await GatewayProcess.start(config: Self.config("[agent alice]\npassword = s3cret\nqueues = support\n"),
                                                     dialplan: Self.queuePlan)
        let port = Ports.free()
        for _ in 0..<5 {
            let wrong = try await SIPp.run("uac-register-refused.xml", target: gateway.udpTarget, port: port,
                                           arguments: ["-m", "1", "-s", "alice", "-au", "alice", "-ap", "guess", "-key", "expires", "600"])
            #expect(wrong.successful == 1, "\(wrong.summary)")
        }
        let blocked = try await SIPp.run("uac-register-blocked.xml", target: gateway.udpTarget, port: port,
                                         arguments: ["-m", "1", "-s", "alice"])
        #expect(blocked.successful == 1, "the sixth attempt got a challenge: \(blocked.summary)")
        let logged = try await gateway.process.waitForLine(containing: "registration refused reason=\"wrong credentials\" user=alice")
        #expect(logged.contains("source=127.0.0.1:\(port)/UDP"))
        #expect(try await gateway.stop() == 0)
        let lines = gateway.process.stderr.split(separator: "\n").filter { $0.contains("registration refused") }
        #expect(lines.count == 1, "five refusals write one line (the 1st), not five: \(lines)")
    }

    @Test("the right password binds the phone (with Contact and expires in the 200), and a call reaches it; expires 0 unbinds it")
    func registerCallUnregister() async throws {
        let gateway = try await GatewayProcess.start(config: Self.config("[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"),
                                                     dialplan: Self.queuePlan)
        let phonePort = Ports.free()
        let register = try await SIPp.run("uac-register.xml", target: gateway.udpTarget, port: phonePort,
                                          arguments: ["-m", "1", "-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "expires", "120"])
        #expect(register.successful == 1, "\(register.summary)")
        let ok = try #require(CallFlow.received(in: register.directory).last { $0.text.hasPrefix("SIP/2.0 200") }?.text)
        #expect(CallFlow.header("Contact", in: ok)?.hasPrefix("<sip:alice@127.0.0.1:\(phonePort)>;expires=") == true, "\(ok)")

        // The phone (SIPp, at the address it registered from) answers a queue call.
        let (phone, phoneDirectory) = try SIPp.start("builtin:uas", target: nil, port: phonePort, arguments: ["-m", "1"])
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "500", "-s", "18005550100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(phone, directory: phoneDirectory).successful == 1)

        let unregister = try await SIPp.run("uac-register.xml", target: gateway.udpTarget, port: phonePort,
                                            arguments: ["-m", "1", "-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "expires", "0"])
        #expect(unregister.successful == 1, "\(unregister.summary)")
        try await gateway.process.waitForLine(containing: "agent phone unregistered agent=alice")
        // Nobody to ring now: the queue says why.
        let nobody = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "500", "-s", "18005550100"])
        #expect(nobody.successful == 1)
        let why = try await gateway.process.waitForLine(containing: "queue: no agent can take the call yet")
        #expect(why.contains("alice: no phone registered"), "\(why)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("an agent whose registered phone does not answer OPTIONS is skipped, and the call goes to the agent who is there")
    func unreachablePhoneSkipped() async throws {
        let bobPort = Ports.free()
        let agents = "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 1s\n"
            + "[agent bob]\ncontact = sip:bob@127.0.0.1:\(bobPort)\nqueues = support\n"
        let gateway = try await GatewayProcess.start(config: Self.config(agents).replacingOccurrences(of: "[queue support]\n",
                                                                                                      with: "[queue support]\nstrategy = linear\n"),
                                                     dialplan: Self.queuePlan)
        // alice's phone registers, then is gone: nothing answers its OPTIONS.
        let phonePort = Ports.free()
        let register = try await SIPp.run("uac-register.xml", target: gateway.udpTarget, port: phonePort,
                                          arguments: ["-m", "1", "-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "expires", "600"])
        #expect(register.successful == 1, "\(register.summary)")
        let unreachable = try await gateway.process.waitForLine(containing: "agent phone unreachable: no answer to OPTIONS agent=alice",
                                                                timeout: .seconds(20))
        #expect(unreachable.contains("target=sip:alice@127.0.0.1:\(phonePort)"))

        let (bob, bobDirectory) = try SIPp.start("builtin:uas", target: nil, port: bobPort, arguments: ["-m", "1"])
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "500", "-s", "18005550100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(bob, directory: bobDirectory).successful == 1)
        let ended = try await gateway.process.waitForLine(containing: "call ended")
        #expect(ended.contains("agent=bob"), "\(ended)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("REGISTER is refused like any method not served when no agent has a password")
    func noRegistrarWithoutPasswords() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk())
        let port = gateway.udpPort
        let status = try await onOwnThread { () -> Int? in
            let socket = try SIPSocket(udp: "127.0.0.1")
            socket.send(SIPText.request("REGISTER", uri: "sip:127.0.0.1:\(port)", from: "127.0.0.1:\(socket.port)",
                                        fromURI: "sip:alice@127.0.0.1", headers: ["Contact: <sip:alice@127.0.0.1:\(socket.port)>"]), to: port)
            return socket.receive(timeout: .seconds(2)).flatMap(SIPText.status)
        }
        #expect(status == 405)
        #expect(try await gateway.stop() == 0)
    }
}
