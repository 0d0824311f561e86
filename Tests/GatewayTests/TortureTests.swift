import Foundation
import OmnigateTestSupport
import Testing

/// RFC 4475 and RFC 5118 torture messages sent to the running gateway: it answers
/// or drops each as the RFCs say (MANIFEST.md in ../shared/testdata/sip-torture
/// names the expected behaviour), never crashes, and still serves a call after.
///
/// What the gateway decides once, for all of these: messages addressed to
/// example.com hosts reach a trunk whose dialplan has no such extension, so
/// valid INVITEs get a 4xx final answer (404 from the dialplan, or an earlier
/// 4xx from the SIP layer: 481 for an unknown dialog, 488/400 for SDP it cannot
/// accept); never a 2xx. "drop" means no answer within the wait.
@Suite("RFC 4475 and RFC 5118 torture messages")
struct TortureTests {
    /// Acceptable first final answers per file ("drop" = none).
    static let expected: [String: Set<String>] = {
        var table: [String: Set<String>] = [:]
        // Responses are never answered.
        for name in ["bcast", "bigcode", "scalarlg", "unreason", "noreason"] { table[name] = ["drop"] }
        // Valid OPTIONS: processed (200); the "reject or be liberal" ones may also get 400.
        for name in ["lwsdisp", "semiuri", "transports", "zeromf", "rfc5118/ipv6-bug-abnf-3-colons",
                     "rfc5118/ipv6-correct-abnf-2-colons", "rfc5118/via-received-param-no-delim"] { table[name] = ["200"] }
        for name in ["badaspec", "badbranch", "baddn", "trws"] { table[name] = ["200", "400"] }
        // Valid INVITEs for example.com users: a 4xx final answer from the dialplan or the SIP layer.
        for name in ["wsinv", "baddate", "longreq", "lwsstart", "esc01", "inv2543", "rfc5118/ipv4-mapped-ipv6",
                     "rfc5118/ipv6-in-sdp", "rfc5118/mult-ip-in-sdp"] {
            table[name] = ["400", "403", "404", "481", "488"]
        }
        // BYE for a dialog that does not exist.
        for name in ["rfc5118/mult-ip-in-header", "rfc5118/via-received-param-with-delim"] { table[name] = ["481"] }
        // Omnigate is not a registrar: REGISTER gets 405 with Allow.
        for name in ["cparam01", "cparam02", "dblreq", "escnull", "regescrt", "unksm2", "rfc5118/ipv6-good",
                     "rfc5118/port-ambiguous", "rfc5118/port-unambiguous"] { table[name] = ["405"] }
        table["regaut01"] = ["405", "400"]  // pjsip's parser rejects the unknown auth scheme: 400
        table["regbadct"] = ["400", "405"]
        // Specific answers.
        table["bext01"] = ["420"]
        table["clerr"] = ["400"]
        table["mcl01"] = ["400"]
        table["mismatch01"] = ["400"]
        table["mismatch02"] = ["501", "400"]
        table["multi01"] = ["400"]
        table["escruri"] = ["400", "404"]
        table["esc02"] = ["501"]
        table["intmeth"] = ["501"]
        table["invut"] = ["415"]
        table["sdp01"] = ["406", "400"]
        table["mpart01"] = ["200", "202"]
        // Malformed beyond what pjsip can parse into a request with Via, From, To,
        // Call-ID and CSeq: nothing to address an answer to, so they are dropped.
        for name in ["badinv01", "quotbal", "ltgtruri", "lwsruri", "ncl", "scalar02", "test", "insuf",
                     "rfc5118/ipv6-bad"] { table[name] = ["drop", "400"] }
        table["badvers"] = ["drop", "505"]
        table["unkscm"] = ["drop", "416"]
        table["novelsc"] = ["drop", "416", "404"]
        return table
    }()

    static var corpus: String? { TestPaths.shared.map { $0 + "/testdata/sip-torture" } }

    private static func files() -> [String] {
        guard let corpus else { return [] }
        let fm = FileManager.default
        let top = ((try? fm.contentsOfDirectory(atPath: corpus)) ?? []).filter { $0.hasSuffix(".dat") }.sorted()
        let v6 = ((try? fm.contentsOfDirectory(atPath: corpus + "/rfc5118")) ?? []).filter { $0.hasSuffix(".dat") }.sorted()
        return top + v6.map { "rfc5118/" + $0 }
    }

    @Test("every torture message over UDP gets the answer the RFCs name, and a good call works after",
          .enabled(if: TortureTests.corpus != nil,
                   "../shared/testdata/sip-torture is not beside this clone: the RFC 4475/5118 answers were not checked"))
    func udpTorture() async throws {
        let files = Self.files()
        #expect(files.count == 62, "the corpus should hold 50 RFC 4475 and 12 RFC 5118 messages")
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(context: "torture"),
                                                     dialplan: "[torture]\nexten => service,1,Answer()\n same => n,Wait(30)\n")
        var mismatches: [String] = []
        for file in files {
            let name = String(file.dropLast(4))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.corpus! + "/" + file))
            let port = gateway.udpPort
            let answers = try await onOwnThread { try UDPProbe.send(bytes, to: port, wait: .milliseconds(400)) }
            let final = answers.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "?" }
                .first { !$0.hasPrefix("1") } ?? "drop"
            let allowed = Self.expected[name] ?? []
            if !allowed.contains(final) { mismatches.append("\(name): got \(final), expected one of \(allowed.sorted())") }
            if final.hasPrefix("2"), !["200", "202"].contains(where: { allowed.contains($0) }) {
                mismatches.append("\(name): a 2xx for a message that must not get one")
            }
            if name == "dblreq" { #expect(answers.filter { !$0.contains(" 100 ") }.count == 1, "dblreq: exactly one answer") }
            #expect(gateway.process.isRunning, "the gateway died on \(name)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "service"])
        #expect(call.successful == 1, "\(call.summary)")
        #expect(try await gateway.stop() == 0)
    }
}

extension TortureTests {
    @Test("every torture message over its own TCP connection: no 2xx where none belongs, and the gateway keeps serving",
          .enabled(if: TortureTests.corpus != nil,
                   "../shared/testdata/sip-torture is not beside this clone: the TCP torture run was not done"))
    func tcpTorture() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(context: "torture"),
                                                     dialplan: "[torture]\nexten => service,1,Answer()\n same => n,Wait(30)\n")
        var answered = 0
        for file in Self.files() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.corpus! + "/" + file))
            let port = gateway.tcpPort
            let answers = try await onOwnThread { try TCPProbe.send(bytes, to: port, wait: .milliseconds(250)) }
            if !answers.isEmpty { answered += 1 }
            let final = answers.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "?" }.first { !$0.hasPrefix("1") }
            if let final, final.hasPrefix("2") {
                let allowed = Self.expected[String(file.dropLast(4))] ?? []
                #expect(allowed.contains(final), "\(file): a \(final) over TCP")
            }
            #expect(gateway.process.isRunning, "the gateway died on \(file) over TCP")
        }
        #expect(answered > 30, "most requests are answered over TCP too (\(answered))")
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "service"])
        #expect(call.successful == 1, "\(call.summary)")
        #expect(try await gateway.stop() == 0)
    }
}

/// Sends bytes over a new TCP connection, reads answers for `wait`, then closes it.
enum TCPProbe {
    static func send(_ bytes: Data, to port: Int, wait: Duration) throws -> [String] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestProcessError("connect() to the gateway's TCP port failed") }
        _ = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answers: [String] = []
        let deadline = ContinuousClock.now + wait
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            let left = deadline - .now
            var timeout = timeval(tv_sec: Int(left.components.seconds), tv_usec: Int(left.components.attoseconds / 1_000_000_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }  // closed by the gateway, or nothing more in time
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            answers += text.components(separatedBy: "\r\n\r\n").compactMap { $0.hasPrefix("SIP/2.0") ? String($0.prefix { $0 != "\r" }) : nil }
        }
        return answers
    }
}

/// Sends one UDP datagram from a fresh loopback socket and collects the first
/// lines of whatever comes back within `wait`.
enum UDPProbe {
    static func send(_ bytes: Data, to port: Int, wait: Duration) throws -> [String] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == bytes.count else { throw TestProcessError("sendto() sent \(sent) of \(bytes.count) bytes") }
        var answers: [String] = []
        let deadline = ContinuousClock.now + wait
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            let left = deadline - .now
            var timeout = timeval(tv_sec: Int(left.components.seconds), tv_usec: Int(left.components.attoseconds / 1_000_000_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            answers.append(String(text.split(separator: "\r\n").first ?? ""))
        }
        return answers
    }
}
