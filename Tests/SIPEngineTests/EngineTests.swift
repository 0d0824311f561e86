import Foundation
import OmnigateTestSupport
@testable import SIPEngine
import Synchronization
import Testing

// pjsua is one per process: these tests start and stop the engine one at a time.
@Suite("SIP engine on loopback with SIPp", .serialized)
struct EngineTests {
    @Test("an inbound call is answered and torn down by the caller")
    func inboundCallerHangsUp() async throws {
        let harness = try EngineHarness.start(react: EngineHarness.answerEverything)
        defer { harness.engine.stop() }

        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "500", "-s", "support"])
        #expect(result.successful == 1, "\(result.summary)")

        let call = try await harness.events.wait { $0.incomingCall }
        #expect(call.from.uri.hasPrefix("sip:+15551230000@127.0.0.1:"))
        #expect(call.from.displayName == "Test Caller")
        #expect(call.to.user == "support")
        #expect(call.requestURI == "sip:support@127.0.0.1:\(harness.port)")
        #expect(call.headers.contains { $0.name == "X-Test-Case" && $0.value == "caller-hangs-up" })
        #expect(call.source.host == "127.0.0.1" && call.source.transport == "UDP")
        #expect(!call.sipCallID.isEmpty)
        try await harness.events.wait { $0.state(of: call.id) == .confirmed ? true : nil }
        let (_, status, byUs) = try await harness.events.wait { $0.disconnected }
        #expect(status == 200 && !byUs)
        #expect(harness.engine.liveCalls == 0)
    }

    @Test("a call is hung up by the gateway with BYE")
    func gatewayHangsUp() async throws {
        let harness = try EngineHarness.start { event, engine in
            switch event {
            case .incomingCall(let call): engine.post(.answer(call.id))
            case .callState(let id, .confirmed): engine.post(.hangup(id))
            default: break
            }
        }
        defer { harness.engine.stop() }
        let result = try await SIPp.run("uac-gateway-hangs-up.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1"])
        #expect(result.successful == 1, "\(result.summary)")
        let (_, _, byUs) = try await harness.events.wait { $0.disconnected }
        #expect(byUs)
    }

    @Test("an outbound call reaches a SIPp UAS with extra headers and is hung up by the gateway")
    func outboundCall() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        let uasPort = Ports.free()
        let (uas, directory) = try SIPp.start("builtin:uas", target: nil, port: uasPort, arguments: ["-m", "1"])
        try await Task.sleep(for: .milliseconds(300))  // let SIPp bind

        let id = CallID.make()
        harness.engine.post(.call(id, to: "sip:agent1@127.0.0.1:\(uasPort)",
                                  from: SIPAddress(displayName: "Ada Lovelace", uri: "sip:+15551230000@127.0.0.1"),
                                  headers: [("Call-Info", "<https://crm.example/c/42>;purpose=info"), ("X-Omnigate-Test", "outbound")]))
        try await harness.events.wait { $0.state(of: id) == .early(status: 180) ? true : nil }
        try await harness.events.wait { $0.state(of: id) == .confirmed ? true : nil }
        harness.engine.post(.hangup(id))
        let (_, status, byUs) = try await harness.events.wait { $0.disconnected }
        #expect(byUs && status == 200)

        let result = try await SIPp.finish(uas, directory: directory)
        #expect(result.successful == 1, "\(result.summary)")
        let messages = SIPp.messages(in: directory)
        #expect(messages.contains("Call-Info: <https://crm.example/c/42>;purpose=info"))
        #expect(messages.contains("X-Omnigate-Test: outbound"))
        #expect(messages.contains("From: \"Ada Lovelace\" <sip:+15551230000@127.0.0.1>"))
    }

    @Test("a call to something that is not a URI fails at once with PJSIP's reason, not a hang")
    func outboundCallToNobody() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        do {
            try await harness.engine.perform(.call(.make(), to: "not a uri", from: nil))
            Issue.record("a call to 'not a uri' was placed")
        } catch {
            guard case .library(let sipError) = error else { Issue.record("\(error)"); return }
            #expect(sipError.call == "pjsua_call_make_call" && sipError.description.contains("Invalid Request URI"), "\(sipError)")
        }
        #expect(harness.engine.liveCalls == 0)
    }

    @Test("an inbound MESSAGE gets 202 without Contact and is handed on exactly once")
    func messageIn() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        let result = try await SIPp.run("uac-message.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1", "-s", "sms"])
        #expect(result.successful == 1, "\(result.summary)")
        let message = try await harness.events.wait { event -> IncomingMessage? in
            if case .incomingMessage(let message) = event { message } else { nil }
        }
        #expect(message.body.trimmingCharacters(in: .newlines) == "Watson, come here.")  // SIPp ends the body with CRLF
        #expect(message.contentType == "text/plain")
        #expect(message.from.user == "+15551230000")
        #expect(message.to.user == "sms")
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.events.all.filter { if case .incomingMessage = $0 { true } else { false } }.count == 1)
    }

    @Test("an outbound MESSAGE reports the next hop's 202 as its status")
    func messageOut() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        let uasPort = Ports.free()
        let (uas, directory) = try SIPp.start("uas-message.xml", target: nil, port: uasPort, arguments: ["-m", "1"])
        try await Task.sleep(for: .milliseconds(300))
        let id = MessageID.make()
        harness.engine.post(.message(id, to: "sip:+15551230000@127.0.0.1:\(uasPort)",
                                     from: SIPAddress(uri: "sip:support@127.0.0.1"),
                                     contentType: "text/plain", body: "Your ticket 4711 is resolved."))
        let status = try await harness.events.wait { event -> Int? in
            if case .messageStatus(id, let status, _) = event { status } else { nil }
        }
        #expect(status == 202)
        let result = try await SIPp.finish(uas, directory: directory)
        #expect(result.successful == 1, "\(result.summary)")
    }

    @Test("RFC 4733 digits from SIPp's captures arrive in order")
    func dtmfRFC4733() async throws {
        let harness = try EngineHarness.start(react: EngineHarness.answerEverything)
        defer { harness.engine.stop() }
        let result = try await SIPp.run("uac-dtmf-rfc4733.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))])
        #expect(result.successful == 1, "\(result.summary)")
        try await harness.events.wait { $0.disconnected }
        let digits = harness.events.all.compactMap { event -> String? in
            if case .dtmf(_, let digit, .rfc4733) = event { String(digit) } else { nil }
        }
        #expect(digits.joined() == "12#")
    }

    @Test("SIP INFO digits (application/dtmf-relay) arrive in order and are answered 200")
    func dtmfSIPInfo() async throws {
        let harness = try EngineHarness.start(react: EngineHarness.answerEverything)
        defer { harness.engine.stop() }
        let result = try await SIPp.run("uac-dtmf-sip-info.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1"])
        #expect(result.successful == 1, "\(result.summary)")
        try await harness.events.wait { $0.disconnected }
        let digits = harness.events.all.compactMap { event -> String? in
            if case .dtmf(_, let digit, .sipInfo) = event { String(digit) } else { nil }
        }
        #expect(digits.joined() == "5*")
    }

    @Test("200 concurrent calls all complete")
    func twoHundredConcurrentCalls() async throws {
        let peak = Mutex((live: 0, max: 0))
        let harness = try EngineHarness.start { event, engine in
            switch event {
            case .incomingCall(let call):
                peak.withLock { $0.live += 1; $0.max = max($0.max, $0.live) }
                engine.post(.answer(call.id))
            case .callState(_, .disconnected):
                peak.withLock { $0.live -= 1 }
            default: break
            }
        }
        defer { harness.engine.stop() }
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "200", "-l", "200", "-r", "200", "-d", "3000"],
                                        timeout: .seconds(60))
        #expect(result.successful == 200, "\(result.summary)")
        #expect(result.failed == 0)
        try await Task.sleep(for: .milliseconds(300))
        #expect(peak.withLock { $0.max } == 200)
        #expect(peak.withLock { $0.live } == 0)
        #expect(harness.engine.liveCalls == 0)
    }

    @Test("a WAV is played to the caller and the call is recorded to a WAV as long as the call")
    func playAndRecord() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = directory + "/tone.wav", recording = directory + "/call.wav"
        try writeToneWAV(path: tone, seconds: 1.0)
        let playback = PlaybackID.make()
        let answeredAt = Mutex<ContinuousClock.Instant?>(nil)
        let harness = try EngineHarness.start { event, engine in
            switch event {
            case .incomingCall(let call): engine.post(.answer(call.id))
            case .callState(let id, .confirmed):
                answeredAt.withLock { $0 = .now }
                engine.post(.record(id, path: recording))
                engine.post(.play(id, playback, path: tone))
            default: break
            }
        }
        defer { harness.engine.stop() }
        // SIPp echoes our RTP back, so the recording holds the tone we played.
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: harness.target, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "3000", "-rtp_echo", "-mi", "127.0.0.1",
                                                    "-mp", String(Ports.free(count: 4))])
        let endedAt = ContinuousClock.now
        #expect(result.successful == 1, "\(result.summary)")
        let interrupted = try await harness.events.wait { event -> Bool? in
            if case .playbackFinished(_, playback, let interrupted) = event { interrupted } else { nil }
        }
        #expect(!interrupted, "the 1 s tone should play to its end within the 3 s call")
        let seconds = try await harness.events.wait { event -> Double? in
            if case .recordingFinished(_, recording, let seconds) = event { seconds } else { nil }
        }
        let callSeconds = Double((endedAt - answeredAt.withLock { $0! }).components.seconds)
            + Double((endedAt - answeredAt.withLock { $0! }).components.attoseconds) / 1e18
        #expect(abs(seconds - callSeconds) < 0.5, "recorded \(seconds) s of a \(callSeconds) s call")
        #expect(abs(seconds - 3.0) < 0.6)

        let samples = try readWAVSamples(path: recording)
        #expect(Double(samples.count) / 8000 == seconds)
        let loud = samples.filter { abs(Int($0)) > 2000 }.count
        #expect(loud > 2000, "the echoed tone should be in the recording (\(loud) loud samples)")
    }

    @Test("a header with a line break is refused, not sent")
    func headerInjection() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        await #expect(throws: EngineError.invalidHeader("X-Note")) {
            try await harness.engine.perform(.call(.make(), to: "sip:agent@127.0.0.1:9", from: nil,
                                                   headers: [("X-Note", "hello\r\nVia: SIP/2.0/UDP evil")]))
        }
        #expect(harness.engine.liveCalls == 0)
    }

    @Test("the gateway registers with a provider, answering its digest challenge")
    func registrationWithDigest() async throws {
        let registrarPort = Ports.free()
        let (registrar, directory) = try SIPp.start("uas-registrar-digest.xml", target: nil, port: registrarPort,
                                                    arguments: ["-m", "1"])
        try await Task.sleep(for: .milliseconds(300))
        var account = AccountConfig(name: "provider", uri: "sip:omnigate@provider.test")
        account.registrar = "sip:127.0.0.1:\(registrarPort)"
        account.username = "omnigate"
        account.password = "s3cret"
        let harness = try EngineHarness.start(accounts: [account])
        let (status, expires) = try await harness.events.wait { event -> (Int, Int)? in
            if case .registration("provider", let status, _, let expires) = event { (status, expires) } else { nil }
        }
        #expect(status == 200 && expires == 300)
        harness.engine.stop()  // unregisters
        let result = try await SIPp.finish(registrar, directory: directory)
        #expect(result.successful == 1, "\(result.summary)")
        #expect(SIPp.messages(in: directory).contains("Authorization: Digest username=\"omnigate\""))
    }

    @Test("wrong credentials are refused by the registrar and reported, never taken as registered")
    func registrationWithWrongPassword() async throws {
        let registrarPort = Ports.free()
        let (registrar, _) = try SIPp.start("uas-registrar-digest.xml", target: nil, port: registrarPort, arguments: ["-m", "1"])
        defer { registrar.kill() }
        try await Task.sleep(for: .milliseconds(300))
        var account = AccountConfig(name: "provider", uri: "sip:omnigate@provider.test")
        account.registrar = "sip:127.0.0.1:\(registrarPort)"
        account.username = "omnigate"
        account.password = "wrong"
        let harness = try EngineHarness.start(accounts: [account])
        defer { harness.engine.stop() }
        let status = try await harness.events.wait { event -> Int? in
            if case .registration("provider", let status, _, _) = event { status } else { nil }
        }
        #expect(status == 403)
    }

    @Test("perform answers a call that is gone with a typed error, and returns once a command is done")
    func performTypedErrors() async throws {
        let harness = try EngineHarness.start()
        defer { harness.engine.stop() }
        let gone = CallID.make()
        await #expect(throws: EngineError.callGone(gone)) { try await harness.engine.perform(.answer(gone)) }
        await #expect(throws: EngineError.callGone(gone)) { try await harness.engine.perform(.play(gone, .make(), path: "/nonexistent.wav")) }
        // A command that works returns once it is done on the engine thread.
        let uasPort = Ports.free()
        let (uas, directory) = try SIPp.start("builtin:uas", target: nil, port: uasPort, arguments: ["-m", "1"])
        let id = CallID.make()
        try await harness.engine.perform(.call(id, to: "sip:agent@127.0.0.1:\(uasPort)", from: nil))
        try await harness.events.wait { $0.state(of: id) == .confirmed ? true : nil }
        try await harness.engine.perform(.hangup(id))
        #expect(try await SIPp.finish(uas, directory: directory).successful == 1)
    }

    @Test("after stop, perform throws .stopped and post writes to no descriptor, even one whose number was reused")
    func commandsAfterStop() async throws {
        let harness = try EngineHarness.start()
        harness.engine.stop()
        // The engine's wake socket is closed: new descriptors may take its numbers.
        var pipes: [(read: Int32, write: Int32)] = []
        for _ in 0..<4 {
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
            pipes.append((fds[0], fds[1]))
        }
        defer { for p in pipes { close(p.read); close(p.write) } }
        await #expect(throws: EngineError.stopped) { try await harness.engine.perform(.answer(.make())) }
        for _ in 0..<10 { harness.engine.post(.hangup(.make())) }
        harness.engine.probe { Issue.record("work ran after the engine stopped") }
        for p in pipes {
            var byte: UInt8 = 0
            #expect(read(p.read, &byte, 1) == -1 && errno == EAGAIN, "a command wrote into descriptor \(p.read)/\(p.write)")
        }
        var sockets: [Int32] = []
        for _ in 0..<4 {
            var fds: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds) == 0)
            sockets += fds
        }
        defer { sockets.forEach { close($0) } }
        harness.engine.post(.hangup(.make()))
        for fd in sockets {
            var byte: UInt8 = 0
            #expect(recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == -1, "a command wrote into socket \(fd)")
        }
    }

    @Test("pjsua entry points trap off the engine thread")
    func offThreadTraps() async {
        await #expect(processExitsWith: .failure) {
            let core = EngineCore(config: EngineConfig(), onEvent: { _ in })
            core.preconditionOnEngineThread()
        }
    }
}

