import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

private let postgresAvailable = PostgresServer.unavailableReason == nil

/// What only PostgreSQL has: a server other processes share, its schema table, its errors, its
/// restarts. The store's contract itself runs on both backends (`StoreBackend.testable`).
@Suite("the PostgreSQL backend", .enabled(if: postgresAvailable,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): the store's PostgreSQL backend was not checked"))
struct PostgresBackendTests {
    @Test("a new database gets the latest schema, numbered as SQLite's")
    func createsSchema() throws {
        let store = try TimelineStore(postgresql: try PostgresServer.database())
        #expect(store.schemaVersion == Schema.latest)
        #expect(PostgresSchema.latest == Schema.latest, "the two lists of migrations end at the same version")
        #expect(store.path.hasPrefix("postgresql://omnigate@"), "the store names its server, never a password")
    }

    @Test("gateways opening one new database together make its schema once")
    func migratesOnce() async throws {
        let database = try PostgresServer.database()
        let stores = try await withThrowingTaskGroup(of: TimelineStore.self) { group in
            for _ in 0..<4 { group.addTask { try TimelineStore(postgresql: database) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 4)
        let server = try PostgresServer.running().get()
        let versions = try server.psql("SELECT version FROM omnigate_schema ORDER BY version", database: name(of: database))
        // PostgreSQL starts at version 7; each later one once.
        let expected = (7...Schema.latest).map(String.init).joined(separator: "\n")
        #expect(versions.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
    }

    @Test("a database whose schema holds tables of its own is refused and left unchanged")
    func foreignTables() throws {
        let database = try PostgresServer.database()
        let server = try PostgresServer.running().get()
        try server.psql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (7)", database: name(of: database))
        do {
            _ = try TimelineStore(postgresql: database)
            Issue.record("another application's schema was taken")
        } catch let error as StoreError {
            #expect(error.kind == .notADatabase)
            #expect(error.message.contains("tables of its own (1)"))
        }
        #expect(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: name(of: database))
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1", "nothing was created beside it")
    }

    @Test("a store from a newer Omnigate is refused; a command that only reads refuses an older one")
    func versions() throws {
        let database = try PostgresServer.database()
        _ = try TimelineStore(postgresql: database)
        let server = try PostgresServer.running().get()
        try server.psql("INSERT INTO omnigate_schema VALUES (\(Schema.latest + 1), 0)", database: name(of: database))
        #expect(throws: StoreError.self) { try TimelineStore(postgresql: database) }
        do { _ = try TimelineStore(postgresql: database) } catch let error as StoreError {
            #expect(error.kind == .newerSchema(found: Schema.latest + 1, supported: Schema.latest))
        }
        let empty = try PostgresServer.database()
        do {
            _ = try TimelineStore(postgresql: empty, mode: .readOnly)
            Issue.record("a read-only open of an empty database worked")
        } catch let error as StoreError {
            #expect(error.message.contains("does not migrate it"))
        }
    }

    @Test("a server that cannot be reached is a transient error naming why, never a crash")
    func unreachable() throws {
        do {
            _ = try TimelineStore(postgresql: "host=/nonexistent-omnigate-socket-dir dbname=x connect_timeout=2")
            Issue.record("connected to nothing")
        } catch let error as StoreError {
            #expect(error.kind == .unavailable)
            #expect(error.isTransient)
            #expect(error.message.contains("cannot connect to the PostgreSQL store"))
        }
    }

    @Test("errors are typed by SQLSTATE inside the backend: constraint, locked, transient, refused")
    func errorClasses() throws {
        let store = try TimelineStore(postgresql: try PostgresServer.database())
        try store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        do {
            try store.addContact(Contact(id: "c1", name: "Ada again"))
            Issue.record("a duplicate contact was stored")
        } catch let error as StoreError {
            #expect(error.kind == .conflict, "a unique violation (23505) became the store's conflict")
        }
        #expect(StoreError(.postgresql(sqlstate: "40001"), "").isLocked)
        #expect(StoreError(.postgresql(sqlstate: "40P01"), "").isTransient)
        #expect(StoreError(.postgresql(sqlstate: "57P01"), "").isTransient)
        #expect(StoreError(.postgresql(sqlstate: "53100"), "").isTransient, "disk full")
        #expect(StoreError(.postgresql(sqlstate: "08006"), "").isTransient)
        #expect(!StoreError(.postgresql(sqlstate: "23514"), "").isTransient, "a CHECK no retry changes")
        #expect(StoreError(.postgresql(sqlstate: "23514"), "").isConstraint)
        #expect(!StoreError(.postgresql(sqlstate: "42601"), "").isTransient, "a syntax error")
    }

    @Test("two gateways ending calls at once number them in one sequence: no gap, no duplicate")
    func endedSequenceAcrossWriters() async throws {
        let database = try PostgresServer.database()
        let first = try TimelineStore(postgresql: database), second = try TimelineStore(postgresql: database)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in [first, second].enumerated() {
                group.addTask {
                    for n in 0..<40 {
                        var record = CallRecord(uniqueid: "g\(index)-\(n)", start: Date().addingTimeInterval(-10))
                        record.end = Date()
                        try store.finalizeCallRecord(record)
                    }
                }
            }
            try await group.waitForAll()
        }
        let server = try PostgresServer.running().get()
        let numbers = try server.psql("SELECT ended_seq FROM call_records ORDER BY ended_seq", database: name(of: database))
            .split(separator: "\n").compactMap { Int($0) }
        #expect(numbers == Array(1...80))
    }

    @Test("a server restart costs nothing: reads and writes go on, on new connections, and every write lands")
    func serverRestart() async throws {
        // Durable, as in production: an immediate stop is a crash, and with synchronous_commit off
        // (the shared test server's setting) a crash may take the last commits with it.
        // Off the concurrency pool: pg_ctl waits for the server, and a blocked pool stalls every other test.
        let server = try await onOwnThread { try PostgresServer(fsync: true) }
        defer { server.stop() }
        try await onOwnThread { try server.psql("CREATE DATABASE restart") }
        let store = try TimelineStore(postgresql: server.connectionString(database: "restart"), poolSize: 2)
        try store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        #expect(try store.screenPop(for: "+12015550100").known)
        for mode in ["fast", "immediate"] {
            try await onOwnThread { try server.restart(stopMode: mode) }
            var record = CallRecord(uniqueid: "after-\(mode)", start: Date().addingTimeInterval(-3))
            record.src = "+12015550100"
            record.end = Date()
            try store.finalizeCallRecord(record)
            #expect(try store.screenPop(for: "+12015550100").recent.count == (mode == "fast" ? 1 : 2))
        }
        // While the server is down a write fails as transient (the gateway keeps it and retries), and
        // goes through once the server is back.
        try await onOwnThread { try server.stopOnly() }
        var late = CallRecord(uniqueid: "while-down", start: Date())
        late.end = Date()
        do {
            try store.finalizeCallRecord(late)
            Issue.record("a write reached a stopped server")
        } catch let error as StoreError {
            #expect(error.isTransient, "\(error)")
        }
        try await onOwnThread { try server.start() }
        try store.finalizeCallRecord(late)
        #expect(try store.callRecord(uniqueid: "while-down")?.state == "ended")
    }

    @Test("a read that finds every pooled connection busy waits a bounded time, then fails as unavailable")
    func poolBound() throws {
        let store = try TimelineStore(postgresql: try PostgresServer.database(), poolSize: 1)
        store.readerWait = .milliseconds(200)
        let inside = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let holder = Thread {
            _ = try? store.read { _ in inside.signal(); release.wait() }
        }
        holder.start()
        inside.wait()  // the only connection is lent out
        do {
            _ = try store.screenPop(for: "+12015550100")
            Issue.record("a read got a connection the pool did not have")
        } catch let error as StoreError {
            #expect(error.kind == .unavailable && error.isTransient)
            #expect(error.message.contains("pool_size 1"), "\(error.message)")
        }
        release.signal()
        store.readerWait = .seconds(5)  // the held connection comes back as the holder ends
        #expect(try store.screenPop(for: "+12015550100").known == false, "the connection comes back to the pool")
    }

    @Test("a prepared statement is planned again after a thousand runs: one planned on an empty table does not scan it for ever")
    func replansPreparedStatements() async throws {
        // Off the concurrency pool: a full run's other tests need its two threads.
        try await onOwnThread { try self.replans() }
    }

    private func replans() throws {
        let db = try PostgresConnection(try PostgresServer.database())
        defer { db.close() }
        try db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        let lookup = "SELECT v FROM t WHERE k = ?"
        let plans = "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT v FROM t%'"
        for i in 0..<10 { _ = try db.scalar(lookup, [.text("k\(i)")]) }  // planned for an empty table
        let first = try #require(db.rows(plans).first?.text("name"))
        try db.execute("INSERT INTO t SELECT 'k' || i, 'v' FROM generate_series(1, 50000) AS i")
        for i in 0..<PostgresConnection.replanEvery { _ = try db.scalar(lookup, [.text("k\(i)")]) }
        let now = try db.rows(plans)
        #expect(now.count == 1, "the old statement is let go: \(now.map { $0.text("name") ?? "" })")
        let second = try #require(now.first?.text("name"))
        #expect(second != first)
        let plan = try db.rows("EXPLAIN EXECUTE \(second)('k7')").compactMap { $0.text("QUERY PLAN") }.joined(separator: "\n")
        #expect(plan.contains("Index Scan"), "\(plan)")
        #expect(try db.scalar(lookup, [.text("k7")])?.string == "v")
    }

    private func name(of uri: String) -> String { PostgresServer.databaseName(uri) }
}

@Test("? placeholders become $1, $2 … outside quoted text, quoted names and comments")
func placeholders() {
    #expect(PostgresConnection.numberedPlaceholders("SELECT '?', \"a?\" -- why?\n FROM t WHERE a = ? AND b IN (?, ?)")
        == "SELECT '?', \"a?\" -- why?\n FROM t WHERE a = $1 AND b IN ($2, $3)")
    #expect(PostgresConnection.numberedPlaceholders("SELECT 'it''s ?' WHERE x = ?") == "SELECT 'it''s ?' WHERE x = $1")
}
