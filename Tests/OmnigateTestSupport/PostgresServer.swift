import Foundation
import Synchronization

/// A PostgreSQL server of the tests' own: Debian's `postgresql` binaries, a cluster in a temporary
/// directory, reached only by a Unix socket in that directory (no TCP port to collide with another
/// test process), stopped when the test process exits. Run as root (as CI does), the cluster
/// belongs to the `postgres` user the Debian package creates, since PostgreSQL refuses to run as root.
///
/// One server per test process; each test takes a database of its own (`database()`).
public final class PostgresServer: Sendable {
    public let directory: String
    public let socketDirectory: String
    public let binaries: String
    /// The port number: with no TCP listener it only names the socket file, but PostgreSQL also derives
    /// its System V shared-memory key from it, so each server of a test run takes a different one.
    public let port: Int
    /// The server's settings (`pg_ctl -o`): its socket directory, no TCP, and for speed in tests no fsync.
    private let options: String
    /// The server's process id (its `postmaster.pid`), for tests that stop or kill it.
    public var pid: Int32? {
        guard let text = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first else { return nil }
        return Int32(first)
    }

    private static let shared = Mutex<Result<PostgresServer, TestProcessError>?>(nil)
    private static let databases = Atomic<Int>(0)

    /// The process's server, started on first use; the error says why there is none (not installed, failed to start).
    public static func running() -> Result<PostgresServer, TestProcessError> {
        shared.withLock { server in
            if let server { return server }
            let started = Result { try PostgresServer() }.mapError { $0 as? TestProcessError ?? TestProcessError("\($0)") }
            if case .success = started { atexit { PostgresServer.stopShared() } }
            server = started
            return started
        }
    }

    /// Why the PostgreSQL tests cannot run here, or nil when they can: for `.enabled(if:)` traits.
    public static var unavailableReason: String? {
        if case .failure(let error) = running() { return error.description }
        return nil
    }

    /// A new, empty database on the shared server: its `postgresql://` URI (what `--store` and
    /// `[store] connection` take).
    public static func database(_ label: String = "test") throws -> String {
        let server = try running().get()
        let name = "\(label.lowercased().filter { $0.isLetter || $0.isNumber })_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        try server.psql("CREATE DATABASE \(name)")
        return server.connectionString(database: name)
    }

    /// A libpq URI for `database` on this server (its socket directory as the host).
    public func connectionString(database: String) -> String {
        "postgresql://omnigate@/\(database)?host=\(socketDirectory)&port=\(port)&connect_timeout=5"
    }

    /// The database a `connectionString` names.
    public static func databaseName(_ uri: String) -> String {
        String(uri.dropFirst("postgresql://omnigate@/".count).prefix { $0 != "?" })
    }

    /// Starts a new cluster (initdb, then pg_ctl start, which waits until it takes connections).
    public init(fsync: Bool = false) throws {
        guard let bin = Self.findBinaries() else {
            throw TestProcessError("PostgreSQL is not installed (scripts/setup.sh installs Debian's postgresql): "
                                   + "the store's PostgreSQL backend was not checked")
        }
        binaries = bin
        // Short: a Unix socket's path is limited to 107 bytes.
        directory = "/tmp/og-pg-\(UUID().uuidString.prefix(8))"
        socketDirectory = directory + "/run"
        port = Ports.free()
        var options = "-k \(socketDirectory) -p \(port) -c listen_addresses='' -c max_connections=200 -c shared_buffers=64MB"
        if !fsync { options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" }
        self.options = options
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if geteuid() == 0 {
            guard (try? Self.run("/usr/bin/chown", ["-R", "postgres:postgres", directory])) != nil else {
                throw TestProcessError("running as root, and there is no 'postgres' user to run PostgreSQL as: "
                                       + "the store's PostgreSQL backend was not checked")
            }
        }
        try asServerUser(bin + "/initdb", ["-D", directory + "/data", "-U", "omnigate", "--auth=trust", "-E", "UTF8",
                                           "--locale=C.UTF-8", "--no-sync"])
        try start()
    }

    /// Stops the server (fast shutdown: sessions are ended) and removes its directory.
    public func stop() {
        _ = try? asServerUser(binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
        if ProcessInfo.processInfo.environment["OMNIGATE_KEEP_TEST_DIRS"] != "1" {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Stops the server with `mode` (`fast`, `immediate`) and starts it again on the same data.
    public func restart(stopMode: String = "fast") throws {
        try asServerUser(binaries + "/pg_ctl", ["-D", directory + "/data", "-m", stopMode, "-w", "stop"])
        try start()
    }

    public func stopOnly(mode: String = "fast") throws {
        try asServerUser(binaries + "/pg_ctl", ["-D", directory + "/data", "-m", mode, "-w", "stop"])
    }

    public func start() throws {
        do {
            try asServerUser(binaries + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "30",
                                                    "-o", options, "start"])
        } catch let error as TestProcessError {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "(no server.log)"
            throw TestProcessError(error.description + "\nserver.log:\n" + String(log.suffix(2000)))
        }
    }

    /// Runs SQL with psql as the cluster's owner, on its `postgres` database.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try asServerUser(binaries + "/psql", ["-h", socketDirectory, "-p", String(port), "-U", "omnigate", "-d", database, "-X", "-q", "-A", "-t",
                                              "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    private static func stopShared() {
        if case .success(let server) = shared.withLock({ $0 }) { server.stop() }
    }

    private static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    @discardableResult
    private func asServerUser(_ executable: String, _ arguments: [String]) throws -> String {
        if geteuid() == 0 { return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments) }
        return try Self.run(executable, arguments)
    }

    /// Runs a command to its end, its output in a file (a pipe would stay open in the server pg_ctl
    /// starts), waited for with waitpid (Foundation's Process can miss a short child's exit).
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = NSTemporaryDirectory() + "og-pg-output-\(UUID().uuidString.prefix(8))"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let (program, programArguments) = CleanStart.command(executable, arguments)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + programArguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestProcessError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            throw TestProcessError("\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed "
                                   + "(\(exited ? "exit \((status >> 8) & 0xff)" : "signal \(status & 0x7f)")): \(text)")
        }
        return text
    }
}
