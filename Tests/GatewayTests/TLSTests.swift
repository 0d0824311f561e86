import Foundation
import OmnigateTestSupport
import Testing

/// SIP over TLS and SRTP media, with a client nobody here wrote (baresip) and
/// the wire read by tshark: no cleartext SIP on the TLS port, no plain G.711.
@Suite("TLS and SRTP")
struct TLSTests {
    static var canCapture: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") && getuid() == 0
    }
    static var hasPeers: Bool {
        TestCertificates.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/baresip")
            && FileManager.default.fileExists(atPath: "/usr/lib/baresip/modules/srtp.so")
    }

    @Test("a TLS call with SRTP from baresip completes, and its signalling and media cross the wire encrypted",
          .enabled(if: TLSTests.hasPeers, "openssl, baresip or its srtp module is not installed: TLS with SRTP was not checked"),
          .enabled(if: TLSTests.canCapture, "tshark is not installed or this is not root: the wire was not checked"))
    func tlsCallWithSRTP() async throws {
        let directory = try TestPaths.temporaryDirectory("tls")
        let certificates = try await TestCertificates.make(in: directory)
        let silence = directory + "/silence.wav"
        let tone = directory + "/tone.wav"
        try Self.wav(silence, seconds: 2) { _ in 0 }
        try Self.wav(tone, seconds: 4) { Int16(8000 * sin(Double($0) * 2 * .pi * 1000 / 8000)) }
        let rtp = Ports.free(count: 40)
        let config = """
            [sip]
            udp = 127.0.0.1:0
            tcp = off
            tls = 127.0.0.1:0
            tls_certificate = \(certificates.certificate)
            tls_private_key = \(certificates.privateKey)
            rtp_port_start = \(rtp)
            rtp_port_range = 40
            [trunk secure]
            match = 127.0.0.1
            context = from-trunk
            media_encryption = sdes
            require_tls = yes
            """
        let plan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Playback(\(silence))\n same => n,Wait(1)\n same => n,Hangup()\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: plan)
        let tls = gateway.tlsPort
        try #require(tls > 0, "no TLS port in the ready line")

        // tshark prints each packet as it captures it (-l): it is stopped by
        // SIGKILL, since the test runner's threads block the signals that would
        // stop it gently, and children inherit that mask.
        // Other tests run at the same time: only packets between this gateway's and this caller's media ports count.
        let callerRTP = Ports.free(count: 20)
        let mediaFilter = "(udp portrange \(rtp)-\(rtp + 39) and udp portrange \(callerRTP)-\(callerRTP + 19))"
        let tshark = try TestProcess("/usr/bin/tshark", ["-i", "lo", "-l", "-f", "\(mediaFilter) or tcp port \(tls)",
                                                         "-T", "fields", "-e", "udp.length", "-e", "udp.payload", "-e", "tcp.payload"])
        defer { tshark.kill() }
        try await tshark.waitForLine(containing: "Capturing on", timeout: .seconds(20))

        let caller = try await Self.baresipCaller(directory: directory, ca: certificates.ca, source: tone, rtp: callerRTP,
                                                  dial: "sip:18005550100@127.0.0.1:\(tls);transport=tls")
        let ended = try await gateway.process.waitForLine(containing: "call ended", timeout: .seconds(30))
        #expect(ended.contains("disposition=ANSWERED") && ended.contains("caller.media=srtp"), "\(ended)")
        _ = try? await caller.waitForExit(timeout: .seconds(15))
        #expect(try await gateway.stop() == 0)
        // The packets of the finished call are printed within moments of being captured.
        let deadline = ContinuousClock.now + .seconds(10)
        var packets: [[String]] = []
        repeat {
            packets = tshark.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            if packets.filter({ (Int($0[0]) ?? 0) >= 180 }).count > 100 { break }  // RTP-sized datagrams
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        tshark.kill()

        // Media: RTP-sized datagrams carry an SRTP authentication tag (10 bytes
        // after the 160-byte G.711 payload), and no payload is the plain G.711
        // of the silence or the tone that was sent (a handful of byte values).
        // RTP with a G.711 payload type (RTCP, on the odd ports, has packet types 200–204 there).
        let payloads: [[UInt8]] = packets.map { Self.bytes(hex: $0.count > 1 ? $0[1] : "") }
        let media = payloads.filter(Self.isG711RTP)
        #expect(media.count > 50, "only \(media.count) media packets on the wire")
        let sizes = Set(media.map { $0.count })
        #expect(sizes == [12 + 160 + 10], "media packets without an SRTP tag: sizes \(sizes.sorted())")
        let plain = media.filter { Set($0.dropFirst(12).prefix(160)).count < 40 }
        #expect(plain.isEmpty, "\(plain.count) packets look like plain G.711")

        // Signalling: TLS records on the TLS port, and never a readable SIP request.
        let streams = packets.compactMap { $0.count > 2 && !$0[2].isEmpty ? $0[2] : nil }
        let text = streams.map { String(decoding: Self.bytes(hex: $0), as: UTF8.self) }.joined()
        #expect(!streams.isEmpty)
        #expect(streams.allSatisfy { $0.hasPrefix("16") || $0.hasPrefix("17") || $0.hasPrefix("14") || $0.hasPrefix("15") },
                "a TCP segment on the TLS port that is not a TLS record")
        #expect(!text.contains("INVITE sip:") && !text.contains("SIP/2.0 200"), "cleartext SIP on the TLS port")
    }

    @Test("a trunk that requires TLS refuses a call over UDP with 403; one that requires SRTP refuses a plain offer with 488")
    func tlsAndSRTPRequired() async throws {
        for (setting, status) in [("require_tls = yes", 403), ("media_encryption = sdes", 488)] {
            var config = "[trunk strict]\nmatch = 127.0.0.1\ncontext = from-trunk\n\(setting)\n"
            if setting.hasPrefix("require_tls") {
                let directory = try TestPaths.temporaryDirectory("tls")
                let certificates = try await TestCertificates.make(in: directory)
                config += "[sip]\nudp = 127.0.0.1:0\ntcp = off\ntls = 127.0.0.1:0\n"
                    + "tls_certificate = \(certificates.certificate)\ntls_private_key = \(certificates.privateKey)\n"
            }
            let gateway = try await GatewayProcess.start(config: config)
            let result = try await SIPp.run("uac-refused.xml", target: gateway.udpTarget, port: Ports.free(),
                                            arguments: ["-m", "1"])
            let answer = CallFlow.received(in: result.directory).first { !$0.text.hasPrefix("SIP/2.0 1") }
            #expect(answer?.text.hasPrefix("SIP/2.0 \(status) ") == true, "\(setting): \(answer?.text ?? "no answer")")
            #expect(try await gateway.stop() == 0)
        }
    }

    @Test("with [screenpop] require_tls, an agent rung without TLS gets the caller's number and no customer data")
    func popWithheldWithoutTLS() async throws {
        let agentPort = Ports.free()
        let (agent, agentDirectory) = try SIPp.start("builtin:uas", target: nil, port: agentPort, arguments: ["-m", "1"])
        let directory = try TestPaths.temporaryDirectory("pop-tls")
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,tier,phone,email\nc-ada,Ada Lovelace,vip,+12025550142,ada@example.com\n")
        let config = GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\n[screenpop]\nrequire_tls = yes\n"
            + "[agent alice]\ncontact = sip:alice@127.0.0.1:\(agentPort)\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: "[from-trunk]\nexten => _X.,1,Dial(PJSIP/alice,5)\n")
        let caller = try await SIPp.run("uac-ivr-caller.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "200", "-s", "18005550100", "-mi", "127.0.0.1",
                                                    "-mp", String(Ports.free(count: 4))])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(agent, directory: agentDirectory).successful == 1)
        let invite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") }?.text)
        #expect(CallFlow.header("X-Omnigate-Summary", in: invite) == nil)
        #expect(CallFlow.header("Call-Info", in: invite) == nil)
        #expect(!invite.contains("Ada Lovelace"), "\(invite)")
        try await gateway.process.waitForLine(containing: "screen pop kept off the agent's INVITE: the leg is not over TLS")
        #expect(try await gateway.stop() == 0)
    }

    // MARK: - Helpers

    /// baresip calling `dial` over TLS with mandatory SRTP from media ports `rtp`…`rtp+19`, saying `source`;
    /// it quits after 10 s at most.
    static func baresipCaller(directory: String, ca: String, source: String, rtp: Int, dial: String) async throws -> TestProcess {
        let home = directory + "/baresip"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let config = """
            sip_listen 127.0.0.1:\(Ports.free())
            sip_cafile \(ca)
            module_path /usr/lib/baresip/modules
            module g711.so
            module aufile.so
            module srtp.so
            module_app account.so
            module_app menu.so
            audio_source aufile,\(source)
            rtp_ports \(rtp)-\(rtp + 19)
            """
        try config.write(toFile: home + "/config", atomically: true, encoding: .utf8)
        try "<sip:+15551230000@127.0.0.1;transport=tls>;regint=0;mediaenc=srtp-mand\n"
            .write(toFile: home + "/accounts", atomically: true, encoding: .utf8)
        return try TestProcess("/usr/bin/baresip", ["-f", home, "-e", "/dial \(dial)", "-t", "10"])
    }

    /// Writes an 8 kHz 16-bit mono WAV file whose samples `sample(n)` gives.
    static func wav(_ path: String, seconds: Int, sample: (Int) -> Int16) throws {
        let count = 8000 * seconds
        var data = Data()
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); le32(UInt32(36 + count * 2)); data.append(contentsOf: Array("WAVEfmt ".utf8))
        le32(16); le16(1); le16(1); le32(8000); le32(16000); le16(2); le16(16)
        data.append(contentsOf: Array("data".utf8)); le32(UInt32(count * 2))
        for n in 0..<count { le16(UInt16(bitPattern: sample(n))) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// An RTP packet (version 2) with a G.711 payload type, 0 or 8.
    static func isG711RTP(_ packet: [UInt8]) -> Bool {
        packet.count >= 12 && packet[0] >> 6 == 2 && (packet[1] & 0x7f == 0 || packet[1] & 0x7f == 8)
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter { $0.isHexDigit }.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }
}
