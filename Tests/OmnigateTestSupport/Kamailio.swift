import Foundation

/// Kamailio (Debian's kamailio) in front of gateways, with the project's Config/kamailio.cfg:
/// its dispatcher spreads calls over `gateways` and probes them with OPTIONS every second.
/// Listens on 127.0.0.1 on a port of its own; stopped by PID.
public final class Kamailio: Sendable {
    public let process: TestProcess
    public let port: Int
    public let directory: String
    public var target: String { "127.0.0.1:\(port)" }

    /// Why Kamailio cannot run here, or nil.
    public static var unavailableReason: String? {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/kamailio") ? nil
            : "Kamailio is not installed (scripts/setup.sh installs Debian's kamailio)"
    }

    /// Starts Kamailio for `gateways` (`host:port` each) and waits until it listens.
    public init(gateways: [String]) async throws {
        directory = try TestPaths.temporaryDirectory("kamailio")
        let list = directory + "/dispatcher.list"
        try gateways.map { "1 sip:\($0)" }.joined(separator: "\n").appending("\n").write(toFile: list, atomically: true, encoding: .utf8)
        port = Ports.free()
        // With every signal unblocked first: Kamailio's timers (transaction timeouts, the dispatcher's
        // probes) run on SIGALRM, which the test runner's children inherit blocked: a dead gateway was
        // never noticed. (Not `CleanStart`: closing the runner's descriptors too left Kamailio deaf to
        // SIGTERM under a full run, and a test waited on it.)
        // In a process group of its own, so that its children are found and ended with it: killed alone,
        // the main process leaves them running, holding the test's pipes open.
        let unblock = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.setpgid(0, 0); "
            + "os.execv(sys.argv[1], sys.argv[1:])"
        let (program, arguments) = ("/usr/bin/python3", ["-c", unblock, "/usr/sbin/kamailio",
            "-f", TestPaths.packageRoot + "/Config/kamailio.cfg", "-DD", "-E", "-l", "udp:127.0.0.1:\(port)",
            "-Y", directory, "-A", "DISPATCHER_LIST=\"\(list)\"",
        ])
        process = try TestProcess(program, arguments)
        try await process.waitForLine(containing: "INFO: <core> [core/udp_server.c", timeout: .seconds(20))
    }

    /// Stops Kamailio: SIGTERM to its main process, which ends its children (SIGKILL when it lingers).
    /// Its log is kept as `kamailio.log` in its directory (with OMNIGATE_KEEP_TEST_DIRS=1).
    public func stop() async {
        process.signal(SIGTERM)
        _ = try? await process.waitForExit(timeout: .seconds(10))
        endGroup()
        try? process.stderr.write(toFile: directory + "/kamailio.log", atomically: true, encoding: .utf8)
    }

    /// SIGKILL to every process of Kamailio's process group (its main process leads it).
    private func endGroup() {
        if process.pid > 0 { Foundation.kill(-process.pid, SIGKILL) }
    }

    /// What Kamailio logged, its last `characters`.
    public func log(last characters: Int = 4000) -> String { String(process.stderr.suffix(characters)) }

    /// A test that ends early leaves it to this: SIGKILL to all of Kamailio.
    deinit {
        endGroup()
        process.kill()
    }
}
