import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

/// What keeps every call's record: values fitted rather than refused, writes as
/// data applied in batches, records keyed by run, read-only opens, copies of an
/// open store. Real SQLite files in a fresh directory each.
@Suite("keeping every record")
struct RecordKeepingTests {
    final class Scratch {
        let directory: String
        init() throws { directory = try TestPaths.temporaryDirectory("records") }
        deinit { try? FileManager.default.removeItem(atPath: directory) }
        var path: String { directory + "/store.sqlite" }
    }

    @Test("values a caller controls are fitted: control characters escaped, long values cut with a marker, lengths kept", arguments: StoreBackend.testable)
    func fitting(backend: StoreBackend) throws {
        #expect(Fitting.line("Ada\tLovelace\u{1b}[0m\r\n", max: 200) == ("Ada\\tLovelace\\x1b[0m\\r\\n", nil))
        #expect(Fitting.line(String(repeating: "x", count: 250), max: 200) == (String(repeating: "x", count: 199) + "…", 250))
        #expect(Fitting.line("\u{7f}" + String(repeating: "y", count: 199), max: 200) == ("\\x7f" + String(repeating: "y", count: 195) + "…", 200))

        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        var record = CallRecord(uniqueid: "pbx-r1-1", start: Date().addingTimeInterval(-5))
        record.clid = "\"\(String(repeating: "N", count: 250))\" <+12015550100>"
        record.src = String(repeating: "7", count: 213)
        record.sipCallID = String(repeating: "c", count: 258)
        record.lastdata = "a\u{0}b"
        record.dialplanPath = (1...1_005).map { "ctx,s,\($0): NoOp()" }
        record.disposition = "WHATEVER"
        try store.openCallRecord(record)
        try store.finalizeCallRecord(record)
        let stored = try #require(try store.callRecord(uniqueid: "pbx-r1-1"))
        #expect(stored.clid.count == 200 && stored.clid.hasSuffix("…"))
        #expect(stored.src == String(repeating: "7", count: 199) + "…")
        #expect(stored.sipCallID == String(repeating: "c", count: 199) + "…")
        #expect(stored.lastdata == "a\\x00b")
        #expect(stored.dialplanPath.count == 1_000 && stored.dialplanPath.last == "… 6 more steps")
        #expect(stored.disposition == "FAILED")
        #expect(stored.truncated == ["clid": 267, "src": 213, "sip_call_id": 258, "dialplan_path": 1_005])
        #expect(try store.events(address: stored.src).count == 1, "the call is on the timeline too")
    }

    @Test("a batch of writes commits together; a write the store refuses is rolled back alone and reported", arguments: StoreBackend.testable)
    func batches(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        var record = CallRecord(uniqueid: "pbx-r1-2", start: Date())
        record.src = "+12015550100"
        let refused = try store.apply([
            .openCall(record),
            .callProgress(uniqueid: "pbx-r1-2", state: "answered", answer: Date(), agent: nil, dstchannel: nil, queue: nil),
            .smsStatus(reference: "nobody", status: .accepted),
            .finalizeCall(record),
        ])
        #expect(refused.map(\.index) == [2])
        #expect(refused.first?.error.message == "no SMS with reference 'nobody'")
        #expect(try store.callRecord(uniqueid: "pbx-r1-2")?.state == "ended")
        // Applying the same writes again changes nothing: a replay is harmless.
        _ = try store.apply([.openCall(record), .finalizeCall(record)])
        #expect(try store.callRecords().count == 1)
        #expect(try store.events(address: "+12015550100").count == 1)
    }

    @Test("a write from another run never overwrites a call with the same uniqueid", arguments: StoreBackend.testable)
    func keyedByRun(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        var first = CallRecord(uniqueid: "1764590000.1", start: Date().addingTimeInterval(-60))
        first.runID = "runa"
        first.src = "+12015550100"
        first.disposition = "ANSWERED"
        first.answer = first.start.addingTimeInterval(1)
        try store.finalizeCallRecord(first)
        var second = CallRecord(uniqueid: "1764590000.1", start: Date())
        second.runID = "runb"
        second.src = "+12015550199"
        try store.openCallRecord(second)
        try store.finalizeCallRecord(second)
        let records = try store.callRecords()
        #expect(records.count == 2)
        #expect(records.first { $0.runID == "runa" }?.uniqueid == "1764590000.1")
        #expect(records.first { $0.runID == "runa" }?.src == "+12015550100")
        #expect(records.first { $0.runID == "runb" }?.uniqueid == "1764590000.1~runb")
    }

    @Test("records a run left open are closed once the run is over: answered stays ANSWERED with talk time to its last heartbeat", arguments: StoreBackend.testable)
    func interruptedByRun(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        let start = Date().addingTimeInterval(-100)
        var dead = GatewayRun(id: "dead", systemName: "pbx", pid: 1, bootID: "b", processStart: 1, startedAt: start)
        dead.aliveAt = start.addingTimeInterval(40)
        let live = GatewayRun(id: "live", systemName: "pbx", pid: 2, bootID: "b", processStart: 2, startedAt: start)
        try store.apply([.runStarted(dead), .runStarted(live)])
        for (id, run, answered) in [("a", "dead", true), ("b", "dead", false), ("c", "live", true)] {
            var record = CallRecord(uniqueid: id, start: start.addingTimeInterval(5))
            record.runID = run
            try store.openCallRecord(record)
            if answered { try store.updateCallRecord(uniqueid: id, state: "answered", answer: start.addingTimeInterval(10)) }
        }
        let closed = try store.closeInterruptedCallRecords(isOver: { $0.id == "dead" })
        #expect(closed.sorted() == ["a", "b"])
        let a = try #require(try store.callRecord(uniqueid: "a"))
        #expect(a.disposition == "ANSWERED" && a.interrupted && a.billsec == 30 && a.duration == 35)
        let b = try #require(try store.callRecord(uniqueid: "b"))
        #expect(b.disposition == "FAILED" && b.interrupted && b.billsec == 0)
        #expect(try store.callRecord(uniqueid: "c")?.state == "answered", "a live run's call is left alone")
    }

    @Test("per-channel counts follow every insert, update and delete, whoever writes them (SQLite's triggers, PostgreSQL's one)",
          arguments: StoreBackend.testable)
    func countsFollowEvents(backend: StoreBackend) async throws {
        // Off the concurrency pool: a full run's other tests need its two threads.
        try await onOwnThread { try self.countsFollowEvents(on: backend) }
    }

    private func countsFollowEvents(on backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let store = t.store
        try store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        // Another program writes with plain SQL.
        let other: any SQLConnection = backend == .sqlite ? try SQLiteConnection(path: t.path, create: false) : try PostgresConnection(t.path)
        defer { other.close() }
        for i in 0..<5 {
            try other.run("""
                INSERT INTO events (contact_id, address, channel, direction, occurred_at, status, source)
                VALUES ('c1', '+12015550100', ?, 'inbound', ?, ?, 'chat')
                """, [.text(i < 3 ? "chat" : "email"), .int(Int64(i)), .text(i == 0 ? "open" : "closed")])
        }
        try other.run("INSERT INTO events (address, channel, direction, occurred_at, source) VALUES ('+12015550111', 'sms', 'inbound', 9, 'sms')")
        var pop = try store.screenPop(for: "+12015550100")
        #expect(pop.summary.interactions == ["chat": 3, "email": 2] && pop.summary.openItems == 1)
        try other.run("UPDATE events SET status = 'open' WHERE channel = 'email'")
        try other.run("DELETE FROM events WHERE channel = 'chat' AND status = 'closed'")
        pop = try store.screenPop(for: "+12015550100")
        #expect(pop.summary.interactions == ["chat": 1, "email": 2] && pop.summary.openItems == 3)
        #expect(pop.field("open_items") == "3" && pop.field("interactions") == "3")
        // An unknown number's own history; then a contact claims it and its counts move over.
        #expect(try store.screenPop(for: "+12015550111").summary.interactions == ["sms": 1])
        try store.addIdentity(Identity(kind: .phone, value: "+12015550111"), to: "c1")
        #expect(try store.screenPop(for: "+12015550111").summary.interactions == ["chat": 1, "email": 2, "sms": 1])
    }

    @Test("every statement of the pop reads a bounded slice of an index, never a whole history")
    func popReadsIndexes() throws {
        let scratch = try Scratch()
        let store = try TimelineStore(path: scratch.path)
        try store.fillDemoData(contacts: 50, events: 2_000) { _, _, _ in }
        // Without statistics (a store as other programs leave it), then with them.
        for analyzed in [false, true] {
            if analyzed { try store.write { db in try db.execute("ANALYZE") } }
            for byContact in [true, false] {
                for sql in PopStatements(byContact: byContact).all {
                    let values = [SQLValue](repeating: .text("x"), count: sql.filter { $0 == "?" }.count)
                    let steps = try store.read { db in try db.rows("EXPLAIN QUERY PLAN " + sql, values) }.compactMap { $0.text("detail") }
                    #expect(steps.allSatisfy { $0.hasPrefix("SEARCH ") || $0.contains("RIGHT PART OF ORDER BY") },
                            "\(analyzed ? "analyzed" : "not analyzed"): \(sql)\n\(steps)")
                }
            }
        }
    }

    @Test("a hangup numbers its record from the last entry of the ended-order index, never by reading every record")
    func endedSequenceReadsIndex() throws {
        let scratch = try Scratch()
        let store = try TimelineStore(path: scratch.path)
        let steps = try store.read { db in try db.rows("EXPLAIN QUERY PLAN " + TimelineStore.nextEndedSequence) }.compactMap { $0.text("detail") }
        #expect(steps.contains { $0.contains("USING COVERING INDEX call_records_ended_seq") }, "\(steps)")
    }

    @Test("a read-only open never creates, migrates or writes, and says why it will not open")
    func readOnly() throws {
        let scratch = try Scratch()
        do {
            _ = try TimelineStore(path: scratch.path, mode: .readOnly)
            Issue.record("opened a missing store")
        } catch let error as StoreError {
            #expect(error.message == "there is no store at \(scratch.path) (a command that only reads never creates one; check --store or [store] path)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path))
        FileManager.default.createFile(atPath: scratch.path, contents: Data())
        #expect(throws: StoreError(.notADatabase, "\(scratch.path) is not an Omnigate store: the file is empty")) {
            try TimelineStore(path: scratch.path, mode: .readOnly)
        }
        try FileManager.default.removeItem(atPath: scratch.path)
        do {
            let db = try SQLiteConnection(path: scratch.path, create: true)
            for migration in Schema.migrations.prefix(3) {
                try db.transaction { try Schema.apply(migration, db) }
            }
        }
        #expect(throws: StoreError(.newerSchema(found: 3, supported: Schema.latest),
                                   "\(scratch.path) has schema version 3, older than this Omnigate's (\(Schema.latest)); a command that only reads "
                                   + "does not migrate it: start the gateway, or run an import, once")) {
            try TimelineStore(path: scratch.path, mode: .readOnly)
        }
        let writable = try TimelineStore(path: scratch.path)
        let reader = try TimelineStore(path: scratch.path, mode: .readOnly)
        #expect(throws: StoreError(.unavailable, "the store \(scratch.path) was opened read-only")) {
            try reader.addContact(Contact(id: "c1", name: "Ada"))
        }
        #expect(try reader.callRecords().isEmpty && writable.schemaVersion == Schema.latest)
    }

    @Test("a file that is not SQLite is refused on its first bytes, and another application's id names it")
    func notOurs() throws {
        let scratch = try Scratch()
        try "hello, world: not a database at all".write(toFile: scratch.path, atomically: true, encoding: .utf8)
        #expect(throws: StoreError(.notADatabase, "\(scratch.path) is not an Omnigate store: it is not an SQLite database, or it is damaged "
                                   + "(its first bytes are not an SQLite header)")) {
            try TimelineStore(path: scratch.path)
        }
        try FileManager.default.removeItem(atPath: scratch.path)
        do {
            let db = try SQLiteConnection(path: scratch.path, create: true)
            try db.execute("PRAGMA application_id = 42")
        }
        #expect(throws: StoreError(.notADatabase, "\(scratch.path) is not an Omnigate store: it is another application's SQLite database "
                                   + "(application_id 42); it was not changed")) {
            try TimelineStore(path: scratch.path)
        }
    }

    @Test("a closed store says so; an open one is copied whole even after its files were deleted")
    func closeAndCopy() throws {
        let scratch = try Scratch()
        let store = try TimelineStore(path: scratch.path)
        try store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch.path + suffix) }
        #expect(FileIdentity(path: scratch.path) == nil && store.file != nil)
        try store.copy(to: scratch.directory + "/copy.sqlite")
        store.close(keepingFiles: true)
        #expect(throws: StoreError(.unavailable, "the store \(scratch.path) is closed")) { try store.addContact(Contact(id: "c2", name: "Bo")) }
        #expect(throws: StoreError(.unavailable, "the store \(scratch.path) is closed")) { try store.callRecords() }
        let copy = try TimelineStore(path: scratch.directory + "/copy.sqlite")
        #expect(try copy.contact(id: "c1")?.name == "Ada")
    }

    @Test("CSV cells that a spreadsheet would run are neutralised (OWASP), and still read back", arguments: [
        ("=2+5", "\"'=2+5\""), ("+12015550100", "\"'+12015550100\""), ("-1+1", "\"'-1+1\""), ("@SUM(A1)", "\"'@SUM(A1)\""),
        ("\tx", "\"'\tx\""), ("\rx", "\"'\rx\""), ("=\"a\",b", "\"'=\"\"a\"\",b\""), ("plain", "plain"), ("a,b", "\"a,b\""), ("", ""),
    ])
    func csvCells(value: String, cell: String) throws {
        #expect(CallRecordExport.csvCell(value) == cell)
        guard !value.isEmpty else { return }
        let parsed = try CSV.parse(Data("h,i\r\n\(cell),end\r\n".utf8), file: "x.csv")
        let neutralised = value.first.map { "=+-@\t\r".contains($0) } ?? false
        #expect(parsed.last?.fields == [neutralised ? "'" + value : value, "end"])
    }
}

@Suite("the webhook outbox")
struct WebhookOutboxTests {
    @Test("settled deliveries older than the history go in batches, pending ones stay; the delivered count outlives them",
          arguments: StoreBackend.testable)
    func pruning(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let long = Date(timeIntervalSinceNow: -30 * 86_400), recent = Date(timeIntervalSinceNow: -3600)
        _ = try t.store.queueDeliveries(for: "crm", event: "call.ended", now: long)  // sets the cursor at "now"
        for (index, when) in [long, long, long, long, long, recent, recent].enumerated() {
            var record = CallRecord(uniqueid: "u\(index)", start: when)
            record.end = when
            try t.store.finalizeCallRecord(record)
            #expect(try t.store.queueDeliveries(for: "crm", event: "call.ended", now: when) == 1)
        }
        let due = try t.store.claimDueDeliveries(now: Date(), limit: 10)
        #expect(due.count == 7)
        // Old: three delivered, one given up, one still being tried; recent: one delivered, one given up.
        let outcomes: [TimelineStore.DeliveryOutcome] = [
            .init(id: due[0].id, status: 200, error: nil, retryAt: nil), .init(id: due[1].id, status: 204, error: nil, retryAt: nil),
            .init(id: due[2].id, status: 200, error: nil, retryAt: nil), .init(id: due[3].id, status: 500, error: "HTTP 500", retryAt: nil),
            .init(id: due[4].id, status: 503, error: "HTTP 503", retryAt: Date(timeIntervalSinceNow: 60)),
            .init(id: due[5].id, status: 200, error: nil, retryAt: nil), .init(id: due[6].id, status: nil, error: "refused", retryAt: nil),
        ]
        try t.store.settleDeliveries(outcomes)
        try t.store.settleDeliveries([outcomes[0]])  // settled twice: counted once
        var summary = try #require(try t.store.webhookSummaries().first)
        #expect((summary.pending, summary.delivered, summary.givenUp, summary.lastError) == (1, 4, 2, "refused"))

        #expect(try t.store.pruneDeliveries(createdBefore: Date(timeIntervalSinceNow: -7 * 86_400), batch: 2) == 4)
        let left = try t.store.read { db in try db.rows("SELECT event_id FROM webhook_deliveries ORDER BY id").compactMap { $0.text("event_id") } }
        #expect(left == ["u4", "u5", "u6"], "the old one still being tried and the recent ones stay")
        summary = try #require(try t.store.webhookSummaries().first)
        #expect((summary.pending, summary.delivered, summary.givenUp) == (1, 4, 1), "delivered counts every delivery ever made")
        #expect(try t.store.pruneDeliveries(createdBefore: Date(timeIntervalSinceNow: -7 * 86_400)) == 0)
    }

    @Test("gateways sharing a store claim due deliveries: each delivery goes to one, and a dead claimer's return once its lease ends",
          arguments: StoreBackend.testable)
    func claims(backend: StoreBackend) async throws {
        let t = try TemporaryStore(backend)
        let other = try backend == .sqlite ? TimelineStore(path: t.path) : TimelineStore(postgresql: t.path)
        let now = Date()
        _ = try t.store.queueDeliveries(for: "crm", event: "call.ended", now: now.addingTimeInterval(-60))
        for index in 0..<40 {
            var record = CallRecord(uniqueid: "c\(index)", start: now.addingTimeInterval(-30))
            record.end = now.addingTimeInterval(-20)
            try t.store.finalizeCallRecord(record)
        }
        #expect(try t.store.queueDeliveries(for: "crm", event: "call.ended", now: now) == 40)
        // Both claim at once, in rounds of 5, until nothing is due.
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for store in [t.store, other] {
                group.addTask {
                    var mine: [Int64] = []
                    while case let due = try store.claimDueDeliveries(now: now, limit: 5), !due.isEmpty { mine += due.map(\.id) }
                    return mine
                }
            }
            return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
        }
        let all = claimed.flatMap { $0 }
        #expect(all.count == 40 && Set(all).count == 40, "every delivery claimed once: \(claimed.map(\.count))")
        // Nobody settles them (the claimers died): due again once the lease is over, not before.
        #expect(try other.claimDueDeliveries(now: now.addingTimeInterval(60), limit: 50).isEmpty)
        #expect(try other.claimDueDeliveries(now: now.addingTimeInterval(121), limit: 50).count == 40)
    }
}
