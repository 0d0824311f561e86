import Configuration
import Foundation
import OmnigateTestSupport
import Synchronization
import Testing

/// Omnigate run the way operators run services: systemd's notify protocol,
/// the unit, the installation, the version, one log format for every line.
@Suite("omnigate as a service")
struct ServiceUnitTests {
    /// A datagram socket where the gateway reports to "systemd" (`NOTIFY_SOCKET`), and what it reported.
    final class NotifySocket: Sendable {
        let path: String
        private let fd: Int32
        private let received = Mutex<[String]>([])

        init() throws {
            path = try TestPaths.temporaryDirectory("notify") + "/notify.sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw TestProcessError("cannot bind \(path)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Reads messages (on a thread of its own) until `count` of them contain `text`.
        func wait(for text: String, count: Int = 1, timeout: Duration = .seconds(20)) async throws {
            let deadline = ContinuousClock.now + timeout
            try await onOwnThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while received.withLock({ $0.filter { $0.contains(text) }.count }) < count {
                    guard ContinuousClock.now < deadline else {
                        throw TestProcessError("no '\(text)' (x\(count)) on the notify socket; got \(received.withLock { $0 })")
                    }
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n > 0 { received.withLock { $0.append(String(decoding: buffer[0..<n], as: UTF8.self)) } }
                }
            }
        }

        var messages: [String] { received.withLock { $0 } }
    }

    @Test("--version names Omnigate's version and the PJSIP and SQLite it runs on")
    func version() async throws {
        let process = try TestProcess(TestPaths.omnigate, ["--version"])
        #expect(try await process.waitForExit() == 0)
        #expect(process.stdout.hasPrefix("omnigate 0.1.0 (PJSIP 2."), "\(process.stdout)")
        #expect(process.stdout.contains(", SQLite 3.") && process.stdout.hasSuffix(")\n"))
        let help = try TestProcess(TestPaths.omnigate, ["--help"])
        #expect(try await help.waitForExit() == 0)
        #expect(help.stdout.contains("--version"))
    }

    @Test("under systemd it reports READY, WATCHDOG while the SIP thread answers, RELOADING on SIGHUP and STOPPING")
    func notifiesSystemd() async throws {
        let notify = try NotifySocket()
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(),
                                                     environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        try await notify.wait(for: "READY=1")
        #expect(notify.messages.first?.contains("STATUS=taking calls on udp 127.0.0.1:") == true, "\(notify.messages)")
        try await notify.wait(for: "WATCHDOG=1", count: 3)
        gateway.process.signal(SIGHUP)
        try await notify.wait(for: "RELOADING=1")
        try await notify.wait(for: "READY=1", count: 2)
        #expect(notify.messages.first { $0.contains("RELOADING=1") }?.contains("MONOTONIC_USEC=") == true)
        gateway.process.signal(SIGTERM)
        try await notify.wait(for: "STOPPING=1")
        #expect(try await gateway.process.waitForExit() == 0)
    }

    @Test("--log-format json: every line on stderr is one JSON object, PJSIP's included, and nothing reaches stdout")
    func jsonLogs() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), arguments: ["--log-format", "json", "--log-level", "debug"])
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(result.successful == 1, "\(result.summary)\n\(gateway.process.stderr.suffix(3000))")
        #expect(try await gateway.stop() == 0)
        var subsystems = Set<String>()
        for line in gateway.process.stderr.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not one JSON object: \(line)")
            #expect(object.map { ["time", "level", "subsystem", "message"].allSatisfy($0.keys.contains) } == true, "\(line)")
            if let subsystem = object?["subsystem"] as? String { subsystems.insert(subsystem) }
        }
        #expect(subsystems.isSuperset(of: ["pjsip", "sip", "call", "store", "omnigate"]), "\(subsystems)")
        #expect(gateway.process.stdout.isEmpty, "stdout: \(gateway.process.stdout)")
    }

    @Test("in text format too, pjlib's own lines never reach stdout; a bad --log-format is a usage error")
    func textLogs() async throws {
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(), arguments: ["--log-level", "debug"])
        #expect(try await gateway.stop() == 0)
        #expect(gateway.process.stdout.isEmpty, "stdout: \(gateway.process.stdout)")
        #expect(gateway.process.stderr.contains(" pjsip: "))
        let bad = try TestProcess(TestPaths.omnigate, ["run", "--log-format", "xml"])
        #expect(try await bad.waitForExit() == 2)
        #expect(bad.stderr == "omnigate run: --log-format takes text or json\nRun 'omnigate run --help' for usage.\n")
    }

    @Test("systemd-analyze verify passes on the unit, as shipped and as installed",
          .enabled(if: Facilities.hasSystemdAnalyze, "systemd-analyze is not installed (Debian package systemd)"))
    func unitVerifies() async throws {
        let directory = try TestPaths.temporaryDirectory("unit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Config/omnigate.service", encoding: .utf8)
        #expect(shipped.contains("Type=notify") && shipped.contains("ExecReload=/bin/kill -HUP $MAINPID")
                && shipped.contains("WatchdogSec=") && shipped.contains("ProtectSystem=strict"))
        // verify checks that ExecStart exists: point it at the binary just built.
        let unit = directory + "/omnigate.service"
        try shipped.replacingOccurrences(of: "/usr/local/bin/omnigate", with: TestPaths.omnigate)
            .write(toFile: unit, atomically: true, encoding: .utf8)
        let verify = try TestProcess("/usr/bin/systemd-analyze", ["verify", unit])
        #expect(try await verify.waitForExit() == 0)
        #expect(verify.stderr.isEmpty && verify.stdout.isEmpty, "systemd-analyze says: \(verify.stderr)\(verify.stdout)")
    }

    @Test("scripts/install lays out the standard paths; installed, omnigate reads that configuration without --config")
    func install() async throws {
        let destination = try TestPaths.temporaryDirectory("install")
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let install = try TestProcess("/bin/bash", [TestPaths.packageRoot + "/scripts/install", "--destdir", destination,
                                                    "--binary", TestPaths.omnigate])
        #expect(try await install.waitForExit(timeout: .seconds(60)) == 0, "\(install.stderr)")
        let binary = destination + "/usr/local/bin/omnigate"
        for path in [binary, destination + "/etc/omnigate/Dialplans/extensions.conf", destination + "/etc/systemd/system/omnigate.service",
                     destination + "/usr/local/share/doc/omnigate/timeline.md"] {
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
        }
        let config = try GatewayConfig.load(path: destination + "/etc/omnigate/omnigate.conf")
        #expect(config.store.path == "/var/lib/omnigate/omnigate.sqlite" && config.dialplan.path == "/etc/omnigate/Dialplans")
        #expect(config.media.recordings == "/var/lib/omnigate/recordings")
        var expected = GatewayConfig()
        (expected.store.path, expected.dialplan.path, expected.media.recordings) = (config.store.path, config.dialplan.path, config.media.recordings)
        #expect(config == expected, "only the paths differ from the built-in defaults")

        // The installed binary takes its configuration from the environment or /etc, not the working directory.
        let store = destination + "/var/lib/omnigate/omnigate.sqlite"
        try "[store]\npath = \(store)\n".write(toFile: destination + "/site.conf", atomically: true, encoding: .utf8)
        let calls = try TestProcess(binary, ["calls"], environment: ["OMNIGATE_CONFIG": destination + "/site.conf"], directory: destination)
        #expect(try await calls.waitForExit() == 1)
        #expect(calls.stderr == "omnigate calls: there is no store at \(store) (a command that only reads never creates one; "
                + "check --store or [store] path)\n")
        if Facilities.hasSystemdAnalyze {
            let unit = destination + "/etc/systemd/system/omnigate.service"
            let text = try String(contentsOfFile: unit, encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/omnigate", with: binary)
            try text.write(toFile: destination + "/omnigate.service", atomically: true, encoding: .utf8)
            let verify = try TestProcess("/usr/bin/systemd-analyze", ["verify", destination + "/omnigate.service"])
            #expect(try await verify.waitForExit() == 0)
            #expect(verify.stderr.isEmpty, "\(verify.stderr)")
        }
    }
}
