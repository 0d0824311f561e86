import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

/// A record for every call: whatever the caller sends, across restarts and
/// between gateways sharing a store; and commands that only read never change
/// a file that is not theirs.
@Suite("a record for every call")
struct RecordTests {
    static let plan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Wait(60)\n"

    static func config(store: String, extra: String = "") -> String {
        GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\n" + extra
    }

    /// Waits until `condition` holds on the store read as another program would (read-only).
    static func waitForStore(_ path: String, timeout: Duration = .seconds(30), _ what: String,
                             _ condition: (TimelineStore) throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let store = try? TimelineStore(path: path, mode: .readOnly), (try? condition(store)) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestProcessError("the store never showed: \(what)")
    }

    @Test("a 258-character Call-ID, a 250-character display name with a tab and a 213-character user part: recorded, fitted, lengths kept")
    func hostileInput() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let display = "Caller\tName " + String(repeating: "x", count: 238)
        let user = String(repeating: "7", count: 213)
        let prefix = String(repeating: "c", count: 245)  // with SIPp's "-N-PID@127.0.0.1", at least 258
        #expect(display.count == 250)
        let result = try await SIPp.run("uac-caller-as-given.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "3", "-d", "200", "-s", "100", "-key", "display", display,
                                                    "-key", "user", user, "-cid_str", prefix + "-%u-%p@%s"])
        #expect(result.successful == 3, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 3)
        #expect(try await gateway.stop() == 0)
        let records = try TimelineStore(path: store, mode: .readOnly).callRecords()
        #expect(records.count == 3)
        for record in records {
            #expect(record.disposition == "ANSWERED")
            let clid = "\"\(display)\" <\(user)>"
            #expect(record.clid == String(("\"" + display.replacingOccurrences(of: "\t", with: "\\t") + "\" <\(user)>").prefix(199)) + "…")
            #expect(record.src == String(user.prefix(199)) + "…")
            #expect(record.sipCallID?.count == 200 && record.sipCallID == String(prefix.prefix(199)) + "…",
                    "\(record.sipCallID ?? "-")")
            #expect(record.truncated?["clid"] == clid.count)
            #expect(record.truncated?["src"] == 213)
            #expect((record.truncated?["sip_call_id"] ?? 0) >= 258, "\(record.truncated ?? [:])")
        }
        // Each call is on the caller's timeline too.
        let pop = try TimelineStore(path: store, mode: .readOnly).screenPop(for: "chat:" + String(user.prefix(199)) + "…")
        #expect(pop.summary.interactions["voice"] == 3, "\(pop.summary)")
    }

    @Test("caller-controlled values such as =2+5 export to CSV as text a spreadsheet will not run")
    func csvIsSafe() async throws {
        let directory = try TestPaths.temporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let result = try await SIPp.run("uac-caller-as-given.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "100", "-s", "100", "-key", "display", "@SUM(1+1)",
                                                    "-key", "user", "=2+5", "-cid_str", "-cmd-%u-%p@%s"])
        #expect(result.successful == 1, "\(result.summary)")
        #expect(try await gateway.stop() == 0)
        let csv = try await CallFlow.omnigate(["calls", "--store", store, "--format", "csv"])
        let row = try #require(csv.split(separator: "\r\n").dropFirst().first.map(String.init))
        let cells = try CSV.parse(Data((CallRecordExport.csvHeader + "\r\n" + row + "\r\n").utf8), file: "export.csv")[1].fields
        let column = { (name: String) in cells[CallRecordExport.columns.firstIndex(of: name)!] }
        #expect(column("src") == "'=2+5")
        #expect(column("clid") == "\"@SUM(1+1)\" <=2+5>")
        #expect(column("sip_call_id").hasPrefix("'-cmd-"))
        #expect(!row.contains(",=2+5,") && !row.contains(",-cmd-"))
    }

    @Test("a kill during an answered call, then a restart in the same second: ids differ, the call stays ANSWERED with its talk time")
    func restartInTheSameSecond() async throws {
        let directory = try TestPaths.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let config = Self.config(store: store)
        let first = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let (held, heldDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: first.udpTarget, port: Ports.free(),
                                                   arguments: ["-m", "1", "-d", "60000", "-s", "100"])
        defer { held.kill() }
        _ = heldDirectory
        // The answer time is in the store, and the run has said it is alive more than a second after it.
        try await Self.waitForStore(store, "an answered record and a heartbeat a second later") { store in
            guard let record = try store.callRecords(includeOpen: true).first, let answer = record.answer,
                  let run = try store.runs().first(where: { $0.id == record.runID }) else { return false }
            return record.state == "answered" && run.aliveAt.timeIntervalSince(answer) >= 1
        }
        first.process.signal(SIGKILL)
        _ = try await first.process.waitForExit()
        held.kill()
        let second = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        try await second.process.waitForLine(containing: "closed call records a run that is over left open records=1")
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: second.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(result.successful == 1, "\(result.summary)")
        #expect(try await second.stop() == 0)

        let reader = try TimelineStore(path: store, mode: .readOnly)
        let records = try reader.callRecords()
        #expect(records.count == 2)
        #expect(Set(records.map(\.uniqueid)).count == 2)
        #expect(Set(records.compactMap(\.runID)).count == 2, "each record keeps its own run")
        let interrupted = try #require(records.first { $0.interrupted })
        #expect(interrupted.disposition == "ANSWERED" && interrupted.answer != nil)
        #expect(interrupted.billsec >= 1, "billed time up to the last heartbeat before the kill")
        #expect(interrupted.agentAnswer == nil && interrupted.talksec == 0, "no agent took this call")
        #expect(records.first { !$0.interrupted }?.disposition == "ANSWERED")
        let runs = try reader.runs()
        #expect(runs.count == 2 && runs.last?.stoppedAt != nil)
        #expect(records.allSatisfy { record in
            let parts = record.uniqueid.split(separator: "-")
            return parts.count >= 3 && parts[parts.count - 2] == Substring(record.runID ?? "")
        }, "\(records.map(\.uniqueid))")
    }

    @Test("two gateways started together on one store keep apart: distinct ids, and neither closes the other's live call")
    func twoGatewaysOneStore() async throws {
        let directory = try TestPaths.temporaryDirectory("two")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,phone\nc1,Ada,+12025550142\n")
        let config = Self.config(store: store)
        async let startA = GatewayProcess.start(config: config, dialplan: Self.plan)
        async let startB = GatewayProcess.start(config: config, dialplan: Self.plan)
        let (a, b) = try await (startA, startB)
        let (callA, directoryA) = try SIPp.start("uac-caller-hangs-up.xml", target: a.udpTarget, port: Ports.free(),
                                                 arguments: ["-m", "1", "-d", "3000", "-s", "100"])
        try await a.process.waitForLine(containing: "call in ")
        // A third gateway starts while A's call is up: it sweeps the store and must leave that call alone.
        let c = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let resultB = try await SIPp.run("uac-caller-hangs-up.xml", target: b.udpTarget, port: Ports.free(),
                                         arguments: ["-m", "1", "-d", "200", "-s", "100"])
        let resultA = try await SIPp.finish(callA, directory: directoryA)
        #expect(resultA.successful == 1 && resultB.successful == 1)
        for gateway in [a, b, c] { #expect(try await gateway.stop() == 0) }
        #expect(!c.process.stderr.contains("closed call records"))
        let records = try TimelineStore(path: store, mode: .readOnly).callRecords()
        #expect(records.count == 2 && Set(records.map(\.uniqueid)).count == 2)
        #expect(records.allSatisfy { !$0.interrupted && $0.disposition == "ANSWERED" }, "\(records.map(\.uniqueid))")
    }

    @Test("a WAL a reader holds grows past wal_limit, is reported, and is checkpointed and truncated once the reader lets go")
    func walCheckpointed() async throws {
        let directory = try TestPaths.temporaryDirectory("wal")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store, extra: "wal_limit = 1MB\n"), dialplan: Self.plan)
        // Another program's long read: its snapshot keeps every frame after it in the WAL.
        let reader = try SQLiteConnection(path: store, create: false, readOnly: true)
        try reader.execute("BEGIN")
        _ = try reader.scalar("SELECT count(*) FROM call_records")
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "80", "-r", "20", "-d", "100", "-s", "100"])
        #expect(result.successful == 80, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "the WAL is over its limit and cannot be truncated: a reader holds it",
                                              timeout: .seconds(30))
        try reader.execute("COMMIT")
        reader.close()
        // The next checkpoint (SQLite's own after a commit, or the gateway's) truncates it to the limit.
        let walSize = { ((try? FileManager.default.attributesOfItem(atPath: store + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0 }
        let deadline = ContinuousClock.now + .seconds(30)
        while walSize() > 1 << 20 && ContinuousClock.now < deadline {
            if !(try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                    arguments: ["-m", "1", "-d", "10", "-s", "100"])).stats.isEmpty {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(walSize() <= 1 << 20, "the WAL is \(walSize()) bytes")
        #expect(try await gateway.stop() == 0)
        #expect(try await CallFlow.callRecords(store).count >= result.successful)
    }
}

/// Commands that only read never create a store, and no command writes to a file that is not a store.
@Suite("files that are not the gateway's")
struct ForeignFileTests {
    /// Another application's SQLite database, in rollback-journal or WAL mode.
    static func foreignDatabase(in directory: String, wal: Bool) throws -> String {
        let path = directory + "/invoices.sqlite"
        let db = try SQLiteConnection(path: path, create: true)
        if !wal { try db.execute("PRAGMA journal_mode = DELETE") }
        try db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        try db.run("INSERT INTO invoices (total) VALUES (12.5)")
        db.close()
        return path
    }

    static func listing(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return files
    }

    @Test("another application's SQLite file is refused by every command and left byte for byte as it was", arguments: [false, true])
    func foreignUnchanged(wal: Bool) async throws {
        let directory = try TestPaths.temporaryDirectory("foreign")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.foreignDatabase(in: directory, wal: wal)
        try "id,name\nc1,Ada\n".write(toFile: directory + "/contacts.csv", atomically: true, encoding: .utf8)
        try "[from-trunk]\nexten => _X.,1,Answer()\n".write(toFile: directory + "/plan.conf", atomically: true, encoding: .utf8)
        try "[store]\npath = \(path)\n[dialplan]\npath = \(directory)/plan.conf\n[sip]\nudp = 127.0.0.1:0\ntcp = off\nrtp_port_start = \(Ports.free(count: 200))\nrtp_port_range = 200\n[http]\nlisten = off\n"
            .write(toFile: directory + "/o.conf", atomically: true, encoding: .utf8)
        let before = try Self.listing(directory)
        let refusal = "\(path) is not an Omnigate store: it is an SQLite database with tables of its own (1) "
            + "and no Omnigate schema version; it was not changed"
        for (arguments, prefix) in [(["run", "--config", directory + "/o.conf"], "omnigate: "),
                                    (["calls", "--store", path], "omnigate calls: "),
                                    (["lookup", "+12025550142", "--store", path], "omnigate lookup: "),
                                    (["import", "contacts", directory + "/contacts.csv", "--store", path], "omnigate import: "),
                                    (["demo-data", "--contacts", "1", "--events", "1", "--store", path], "omnigate demo-data: ")] {
            let process = try TestProcess(TestPaths.omnigate, arguments, directory: directory)
            #expect(try await process.waitForExit() == 1, "\(arguments)")
            #expect(process.stderr.hasSuffix(prefix + refusal + "\n"), "\(arguments): \(process.stderr)")
        }
        let after = try Self.listing(directory)
        #expect(after == before, "no byte changed and no file appeared beside it: \(Set(after.keys).symmetricDifference(before.keys))")
    }

    @Test("calls and lookup on a missing store exit 1 naming the path, and create nothing")
    func readOnlyNeverCreates() async throws {
        let directory = try TestPaths.temporaryDirectory("missing")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/nowhere/store.sqlite"
        for (arguments, name) in [(["calls", "--store", path], "calls"), (["lookup", "+12025550142", "--store", path], "lookup")] {
            let process = try TestProcess(TestPaths.omnigate, arguments)
            #expect(try await process.waitForExit() == 1)
            #expect(process.stderr == "omnigate \(name): there is no store at \(path) (a command that only reads never creates one; "
                    + "check --store or [store] path)\n")
            #expect(process.stdout.isEmpty)
        }
        // Run from the wrong directory, with the default path.
        let calls = try TestProcess(TestPaths.omnigate, ["calls"], directory: directory)
        #expect(try await calls.waitForExit() == 1)
        #expect(calls.stderr == "omnigate calls: there is no store at var/omnigate.sqlite (a command that only reads never creates one; "
                + "check --store or [store] path)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}

@Suite("a gateway on a PostgreSQL store", .enabled(if: PostgresServer.unavailableReason == nil,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): the gateway on PostgreSQL was not checked"))
struct PostgresGatewayTests {
    @Test("calls are recorded in PostgreSQL and on the caller's timeline there; the commands read it by its URI")
    func recordsCalls() async throws {
        let database = try await onOwnThread { try PostgresServer.database("gateway") }
        try await CallFlow.omnigate(["import", "contacts", try contactsFile("id,name,phone\nc1,Ada,+12025550142\n"), "--store", database])
        let config = GatewayProcess.loopbackTrunk() + "[store]\nbackend = postgresql\nconnection = \(database)\npool_size = 2\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: RecordTests.plan)
        try await gateway.process.waitForLine(containing: "run started")
        #expect(gateway.process.stderr.contains("postgresql://omnigate@"), "the log names the store")
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "4", "-d", "200", "-s", "100"])
        #expect(result.successful == 4, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 4)
        #expect(try await gateway.stop() == 0)
        let records = try await CallFlow.callRecords(database)
        #expect(records.count == 4)
        #expect(records.allSatisfy { $0["disposition"] as? String == "ANSWERED" },
                "\(records.map { "\($0["uniqueid"] ?? "-") \($0["disposition"] ?? "-") \($0["interrupted"] ?? "-")" })\n\(gateway.process.stderr.suffix(3000))")
        let store = try TimelineStore(postgresql: database, mode: .readOnly)
        #expect(try store.runs().count == 1 && store.runs().first?.stoppedAt != nil)
        let caller = try #require(records.first?["src"] as? String)
        // Not a number in service anywhere (555-123): the caller is known by the From user as given.
        #expect(try store.screenPop(for: "chat:" + caller).summary.interactions["voice"] == 4)
        #expect(try store.screenPop(for: "+1 202 555 0142").contact?.name == "Ada", "imported through the URI")
    }

    private func contactsFile(_ text: String) throws -> String {
        let path = try TestPaths.temporaryDirectory("pg-contacts") + "/contacts.csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

@Suite("a gateway through a PostgreSQL restart", .enabled(if: PostgresServer.unavailableReason == nil,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): a restart under calls was not checked"))
struct PostgresRestartTests {
    @Test("PostgreSQL stops and starts again while calls go on: no call fails, and every call's record lands once it is back")
    func restartUnderCalls() async throws {
        // A server of its own (durable, as in production): this test stops it.
        // Off the concurrency pool: pg_ctl waits for the server, and a blocked pool stalls every other test.
        let server = try await onOwnThread { try PostgresServer(fsync: true) }
        defer { server.stop() }
        try await onOwnThread { try server.psql("CREATE DATABASE restart") }
        let database = server.connectionString(database: "restart")
        let config = GatewayProcess.loopbackTrunk() + "[store]\nbackend = postgresql\nconnection = \(database)\n"
            + "[screenpop]\nlookup_budget = 50ms\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: RecordTests.plan)
        let calls = 60
        let (sipp, directory) = try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                               arguments: ["-m", "\(calls)", "-r", "10", "-d", "300", "-s", "100"],
                                               timeout: .seconds(60))
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 10, timeout: .seconds(30))
        try await onOwnThread { try server.stopOnly(mode: "fast") }
        // Calls go on while the server is down: their writes are held.
        try await gateway.process.waitForLine(containing: "the store cannot be written: writes are held", timeout: .seconds(30))
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 25, timeout: .seconds(30))
        try await onOwnThread { try server.start() }
        let result = try await SIPp.finish(sipp, directory: directory, timeout: .seconds(60))
        #expect(result.successful == calls, "no call failed while the store was down: \(result.summary)")
        try await gateway.process.waitForLine(containing: "the store takes writes again", timeout: .seconds(30))
        #expect(try await gateway.stop() == 0)
        let records = try TimelineStore(postgresql: database, mode: .readOnly).callRecords(includeOpen: true)
        #expect(records.count == calls, "every call's record, none twice")
        #expect(Set(records.map(\.uniqueid)).count == records.count)
        let odd = records.filter { $0.state != "ended" || $0.disposition != "ANSWERED" || $0.interrupted }
        let described = odd.map { "\($0.uniqueid) \($0.state) \($0.disposition) interrupted=\($0.interrupted)" }
        #expect(odd.isEmpty, "\(described)\n\(gateway.process.stderr.suffix(4000))")
    }
}
