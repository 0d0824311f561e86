import Foundation
import OmnigateTestSupport
import Testing

/// The `omnigate` binary as a real process: start-up errors, signals, help.
@Suite("omnigate run as a process")
struct ServiceTests {
    @Test("a configuration error stops start-up with file:line and exit status 1")
    func configError() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.conf"
        try "[general]\nmax_calls = many\n[sipp]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let process = try TestProcess(TestPaths.omnigate, ["run", "--config", path])
        #expect(try await process.waitForExit() == 1)
        #expect(process.stderr == """
        \(path):2: error: bad value 'many' for 'max_calls' in [general]: expected a whole number from 1 to 4000
        \(path):3: error: unknown section [sipp]; known: [general], [sip], [store], [dialplan], [media], [screenpop], [http], [trunk NAME], [agent NAME], [queue NAME], [token NAME], [webhook NAME]

        """)
    }

    @Test("a SIP port already in use is a one-line error, not a crash")
    func portInUse() async throws {
        let port = Ports.free()
        let holder = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)

        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[sip]\nudp = 127.0.0.1:\(port)\ntcp = off\nrtp_port_start = \(Ports.free(count: 200))\nrtp_port_range = 200\n[http]\nlisten = off\n[store]\npath = \(directory)/store.sqlite\n".write(toFile: directory + "/o.conf", atomically: true, encoding: .utf8)
        let process = try TestProcess(TestPaths.omnigate, ["run", "--config", directory + "/o.conf"])
        #expect(try await process.waitForExit() == 1)
        #expect(process.stderr.split(separator: "\n").map(String.init) == [
            "omnigate: cannot listen for SIP over UDP on 127.0.0.1:\(port): the port is already in use by another program",
        ])
    }

    @Test("SIGTERM hangs up live calls with BYE, closes the transports and exits 0")
    func sigtermHangsUp() async throws {
        let gateway = try await GatewayProcess.start(config: "[general]\ndrain_time = 0s\n" + GatewayProcess.loopbackTrunk())
        let (sipp, directory) = try SIPp.start("uac-gateway-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                               arguments: ["-m", "2", "-l", "2", "-r", "10"])
        try await gateway.process.waitForLine(containing: "call in call.uniqueid=")
        try await Task.sleep(for: .milliseconds(300))
        try await Task.sleep(for: .milliseconds(500))  // both calls answered and acknowledged
        #expect(try await gateway.stop() == 0)
        let result = try await SIPp.finish(sipp, directory: directory)
        #expect(result.successful == 2, "\(result.summary)")
        #expect(gateway.process.stderr.contains("stopping signal=SIGTERM calls=2"))
        #expect(gateway.process.stderr.contains("stopped"))
    }

    @Test("a call from a source no trunk matches is refused with 403 and logged")
    func unmatchedSourceRefused() async throws {
        let gateway = try await GatewayProcess.start(config: "[trunk provider]\nmatch = 192.0.2.1\ncontext = from-trunk\n")
        let result = try await SIPp.run("uac-refused.xml", target: gateway.udpTarget, port: Ports.free(), arguments: ["-m", "1"])
        #expect(result.successful == 1, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "refused: no trunk matches the source method=INVITE source=127.0.0.1:")
        #expect(try await gateway.stop() == 0)
    }

    @Test("--help works for the program and for run")
    func help() async throws {
        let top = try TestProcess(TestPaths.omnigate, ["--help"])
        #expect(try await top.waitForExit() == 0)
        #expect(top.stdout.contains("Usage: omnigate COMMAND"))
        let run = try TestProcess(TestPaths.omnigate, ["run", "--help"])
        #expect(try await run.waitForExit() == 0)
        #expect(run.stdout.contains("Usage: omnigate run [--config PATH]"))
        let bad = try TestProcess(TestPaths.omnigate, ["run", "--bogus"])
        #expect(try await bad.waitForExit() == 2)
        #expect(bad.stderr.contains("omnigate run: unknown option '--bogus'"))
    }
}

/// Operations on the running service: graceful stop, reload, outbound trunks.
@Suite("operating the gateway")
struct OperationsTests {
    @Test("SIGTERM drains: new calls get 503, a live call finishes on its own, then the gateway exits")
    func gracefulStop() async throws {
        let gateway = try await GatewayProcess.start(config: "[general]\ndrain_time = 40s\n" + GatewayProcess.loopbackTrunk())
        // The live call holds 20 s: long enough that a loaded machine still signals, and places
        // the refused call, while it is up (with 3 s, then 10 s in a full run, both were seen to come after it ended).
        let (live, liveDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                                   arguments: ["-m", "1", "-d", "20000", "-s", "100"])
        try await gateway.process.waitForLine(containing: "call in call.uniqueid=")
        gateway.process.signal(SIGTERM)
        try await gateway.process.waitForLine(containing: "draining live calls calls=1")
        let refused = try await SIPp.run("uac-refused-503.xml", target: gateway.udpTarget, port: Ports.free(),
                                         arguments: ["-m", "1", "-s", "100"])
        #expect(refused.successful == 1, "a new call during the drain gets 503: \(refused.summary)\ngateway:\n\(gateway.process.stderr)")
        #expect(SIPp.messages(in: refused.directory).contains("Retry-After: 5"))
        let result = try await SIPp.finish(live, directory: liveDirectory)
        #expect(result.successful == 1, "the live call ended by the caller, not cut: \(result.summary)")
        #expect(try await gateway.process.waitForExit(timeout: .seconds(30)) == 0)
        #expect(gateway.process.stderr.contains("by=caller"))
    }

    @Test("SIGHUP reloads agents and queues from the configuration file without a restart")
    func reloadAgents() async throws {
        let base = GatewayProcess.loopbackTrunk() + "[agent alice]\ncontact = sip:alice@127.0.0.1:5999\nqueues = support\n[queue support]\n"
        let gateway = try await GatewayProcess.start(config: base)
        let file = gateway.directory + "/omnigate.conf"
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text += "[agent bob]\ncontact = sip:bob@127.0.0.1:5998\nqueues = support\n"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        gateway.process.signal(SIGHUP)
        try await gateway.process.waitForLine(containing: "agents and queues reloaded agents=2 queues=1")
        try "[agent carol\n".appending(text).write(toFile: file, atomically: true, encoding: .utf8)
        gateway.process.signal(SIGHUP)
        let refused = try await gateway.process.waitForLine(containing: "configuration not reloaded")
        #expect(refused.contains("omnigate.conf:1: error: a section header looks like [name]"), "\(refused)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("Dial to a number on an outbound trunk goes to the trunk's host with the caller's number")
    func outboundTrunk() async throws {
        let providerPort = Ports.free()
        let (provider, providerDirectory) = try SIPp.start("builtin:uas", target: nil, port: providerPort, arguments: ["-m", "1"])
        let config = GatewayProcess.loopbackTrunk()
            + "[trunk provider]\nmatch = 192.0.2.1\ncontext = from-trunk\nhost = sip:127.0.0.1:\(providerPort)\n"
        let plan = "[from-trunk]\nexten => _X.,1,Dial(PJSIP/+15557654321@provider,10)\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: plan)
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "500", "-s", "100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(provider, directory: providerDirectory).successful == 1)
        let invite = try #require(CallFlow.received(in: providerDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(invite.text.hasPrefix("INVITE sip:+15557654321@127.0.0.1:\(providerPort) SIP/2.0"))
        #expect(CallFlow.header("From", in: invite.text)?.contains("<sip:+15551230000@") == true)
        let ended = try await gateway.process.waitForLine(containing: "call ended")
        #expect(ended.contains("disposition=ANSWERED"), "\(ended)")
        #expect(try await gateway.stop() == 0)
    }
}
