import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

@Suite("migrations and the files a store refuses")
struct MigrationTests {
    /// A store file at `version`: an empty file for 0, else the first `version` migrations applied,
    /// with a contact, an event and a call record written as that version's writers did.
    private func store(at version: Int, in directory: String) throws -> String {
        let path = directory + "/v\(version).sqlite"
        FileManager.default.createFile(atPath: path, contents: Data())
        guard version > 0 else { return path }
        let db = try SQLiteConnection(path: path, create: true)
        for migration in Schema.migrations.prefix(version) {
            try db.transaction { try Schema.apply(migration, db) }
        }
        try db.run("INSERT INTO contacts (id, name, tier, created_at, updated_at) VALUES ('c1', 'Old Customer', 'gold', 0, 0)")
        try db.run("INSERT INTO identities (kind, value, contact_id) VALUES ('phone', '+12015550100', 'c1')")
        try db.run("""
            INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, status, source, external_ref)
            VALUES ('c1', '+12015550100', 'chat', ?, 1000, 'Old chat', 'open', 'chat', 'old-1')
            """, [.text(version >= 6 ? "inbound" : "in")])
        try db.run("INSERT INTO call_records (uniqueid, src, start, disposition, state) VALUES ('u1', '+12015550100', 0, 'ANSWERED', 'ended')")
        if version >= 3 {
            try db.run("INSERT INTO call_records (uniqueid, direction, dst, start, state) VALUES ('u0', ?, '+12015550100', 0, 'ended')",
                       [.text(version >= 6 ? "outbound" : "out")])
        }
        return path
    }

    @Test("an empty file and a store of each earlier version are migrated to the latest, keeping their data",
          arguments: Array(0..<Schema.latest))
    func migratesForward(from version: Int) throws {
        let directory = try TestPaths.temporaryDirectory("migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try store(at: version, in: directory)
        let store = try TimelineStore(path: path)
        #expect(store.schemaVersion == Schema.latest)
        #expect(try store.read { try $0.scalar("PRAGMA application_id")?.int } == Schema.applicationID)
        if version > 0 {
            let pop = try store.screenPop(for: "(201) 555-0100")
            #expect(pop.known && pop.contact?.name == "Old Customer" && pop.contact?.tier == "gold")
            #expect(pop.openItems.map(\.subject) == ["Old chat"])
            #expect(pop.recent.first?.mediaPath == nil)
            let record = try #require(try store.callRecord(uniqueid: "u1"))
            #expect(record.disposition == "ANSWERED" && record.direction == .inbound && !record.interrupted)
            #expect(record.agentAnswer == nil && record.talksec == nil)
            // Directions are spelled inbound/outbound from version 6 on, also in rows written before.
            let stored = try store.read { db in
                try db.rows("SELECT direction FROM events UNION ALL SELECT direction FROM call_records ORDER BY 1").compactMap { $0.text("direction") }
            }
            #expect(stored == (version >= 3 ? ["inbound", "inbound", "outbound"] : ["inbound", "inbound"]))
            let outbound = try store.callRecord(uniqueid: "u0")
            #expect(version < 3 || outbound?.direction == .outbound)
            // The rebuilt tables keep their indexes and triggers (the per-channel counts).
            let counted = try store.read { try $0.scalar("SELECT events FROM timeline_counts WHERE scope = 'contact' AND key = 'c1' AND channel = 'chat'")?.int }
            #expect(counted == 1)
            let kept = try store.read { db in
                try db.rows("SELECT type, count(*) AS n FROM sqlite_master WHERE tbl_name IN ('events', 'call_records') AND sql IS NOT NULL GROUP BY type ORDER BY type")
                    .map { "\($0.text("type") ?? "") \($0.int("n") ?? 0)" }
            }
            #expect(kept == ["index 12", "table 2", "trigger 3"])
        }
        // The migrated store takes the newest kinds of write.
        let voicemail = try store.recordVoicemail(callID: "u2", from: "+12015550100", mailbox: "support",
                                                  recordingPath: "/var/vm/u2.wav", durationMilliseconds: 12_000)
        #expect(voicemail.mediaPath == "/var/vm/u2.wav")
        #expect(store.busyStatements == 0)
    }

    @Test("version 7 brings every stored phone number to libphonenumber's normal form, and reports each change")
    func renormalizes() throws {
        let directory = try TestPaths.temporaryDirectory("migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try store(at: 6, in: directory)
        do {
            // What other writers put in with plain SQL, in their own spellings.
            let db = try SQLiteConnection(path: path, create: false)
            try db.run("INSERT INTO contacts (id, name, created_at, updated_at) VALUES ('c2', 'Bob', 0, 0), ('c3', 'Cy', 0, 0), ('c4', 'Di', 0, 0)")
            for (value, contact) in [("(201) 555-0100", "c2"), ("+1 201 555 0111", "c3"), ("+12015550111", "c3"), ("+15551230000", "c4"),
                                     ("0049 30 1234567", "c4")] {
                try db.run("INSERT INTO identities (kind, value, contact_id) VALUES ('phone', ?, ?)", [.text(value), .text(contact)])
            }
            try db.run("""
                INSERT INTO events (address, channel, direction, occurred_at, source) VALUES ('049 30 1234567', 'sms', 'inbound', 1, 'sms'),
                ('0049-30-1234567', 'sms', 'inbound', 2, 'sms'), ('chat-42', 'chat', 'inbound', 3, 'chat')
                """)
        }
        let store = try TimelineStore(path: path)
        #expect(store.schemaVersion == Schema.latest)
        let changes = try String(contentsOfFile: path + ".renormalized-v7.csv", encoding: .utf8)
        #expect(changes == """
            table,old,new,outcome\r
            identities,(201) 555-0100,"'+12015550100",kept: contact c1 has +12015550100; contact c2 keeps (201) 555-0100\r
            identities,"'+1 201 555 0111","'+12015550111",merged\r
            identities,"'+15551230000",,kept: +15551230000 is in no range the numbering plan of +1 (US) uses\r
            identities,0049 30 1234567,"'+49301234567",rewritten\r
            events,0049-30-1234567,"'+49301234567",rewritten\r

            """, "\(changes)")
        #expect(store.migrationNotes == ["phone numbers re-normalised by libphonenumber: 9 phone numbers checked, 3 rewritten to their normal form, "
                                         + "2 kept as they were; each change in \(path).renormalized-v7.csv"], "\(store.migrationNotes)")
        // The German number is Di's now, and so is the SMS that came from it.
        #expect(try store.screenPop(for: "+49 30 1234567").contact?.name == "Di")
        #expect(try store.screenPop(for: "+49 30 1234567").recent.map(\.channel) == [.sms])
        #expect(try store.renormalizePhoneNumbers(dryRun: true).changes.allSatisfy { $0.outcome.hasPrefix("kept") }, "a second run changes nothing")
    }

    @Test("a table made anew keeps its statistics, so the query planner goes on choosing the indexes it chose")
    func keepsStatistics() throws {
        let directory = try TestPaths.temporaryDirectory("migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try store(at: 5, in: directory)
        do {
            let db = try SQLiteConnection(path: path, create: false)
            try db.execute("ANALYZE")
            // A writer with foreign keys off left an event of a contact that is gone.
            try db.execute("PRAGMA foreign_keys = OFF")
            try db.run("INSERT INTO events (contact_id, channel, direction, occurred_at, source) VALUES ('gone', 'chat', 'in', 5, 'chat')")
        }
        let store = try TimelineStore(path: path)
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM events WHERE occurred_at = 5 AND contact_id IS NULL")?.int } == 1,
                "the copy does not carry a reference to a contact that is gone")
        let analyzed = try store.read { db in
            try db.rows("SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl").compactMap { $0.text("tbl") }
        }
        #expect(analyzed.contains("events") && analyzed.contains("call_records"), "\(analyzed)")
    }

    @Test("opening a store twice migrates it once")
    func migratesOnce() throws {
        let directory = try TestPaths.temporaryDirectory("migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try store(at: 1, in: directory)
        let first = try TimelineStore(path: path)
        let second = try TimelineStore(path: path)
        #expect(first.schemaVersion == Schema.latest && second.schemaVersion == Schema.latest)
        #expect(try second.callRecords().map(\.uniqueid) == ["u1"])
    }

    @Test("another application's SQLite database is refused and left unchanged")
    func foreignDatabase() throws {
        let directory = try TestPaths.temporaryDirectory("migrate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/other.sqlite"
        do {
            let db = try SQLiteConnection(path: path, create: true)
            try db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        }
        do {
            _ = try TimelineStore(path: path)
            Issue.record("opened another application's database")
        } catch let error as StoreError {
            #expect(error.kind == .notADatabase)
            #expect(error.message == "\(path) is not an Omnigate store: it is an SQLite database with tables of its own (1) "
                    + "and no Omnigate schema version; it was not changed")
        }
        let db = try SQLiteConnection(path: path, create: false)
        #expect(try db.scalar("SELECT count(*) FROM sqlite_master")?.int == 1)
        #expect(try db.scalar("PRAGMA user_version")?.int == 0)
    }
}

@Suite("SMS and voicemail on the timeline")
struct MessagingTests {
    @Test("an incoming SMS lands once on the sender's timeline as received, with control characters replaced", arguments: StoreBackend.testable)
    func incoming(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try t.store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        let first = try t.store.recordIncomingSMS(from: "sip:+12015550100@trunk.example.com;user=phone", to: "+12025550199",
                                                  body: "Where is\u{7} my order?\nThanks", reference: "msg-1@trunk")
        let again = try t.store.recordIncomingSMS(from: "+12015550100", to: "+12025550199", body: "Where is my order?",
                                                  reference: "msg-1@trunk")
        #expect(first.id == again.id)
        #expect(first.contactID == "c1" && first.address == "+12015550100" && first.status == "received")
        #expect(first.body == "Where is\u{FFFD} my order?\nThanks")
        #expect(first.summary == "Where is\u{FFFD} my order?")
        let pop = try t.store.screenPop(for: "201 555 0100")
        #expect(pop.summary.interactions == ["sms": 1])
    }

    @Test("an outbound SMS goes sending, accepted, delivered; never backwards, and a final status stays", arguments: StoreBackend.testable)
    func outbound(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let sent = try t.store.recordOutgoingSMS(to: "+44 7911 123456", from: "+12025550199", body: "Your order shipped",
                                                 reference: "out-1", agent: "alice")
        #expect(sent.status == "sending" && sent.address == "+447911123456" && sent.direction == .outbound)
        #expect(try t.store.updateSMSStatus(reference: "out-1", to: .accepted).status == "accepted")
        #expect(try t.store.updateSMSStatus(reference: "out-1", to: .delivered).status == "delivered")
        // A 202 retransmission arriving after the delivery report changes nothing.
        #expect(try t.store.updateSMSStatus(reference: "out-1", to: .accepted).status == "delivered")
        do {
            _ = try t.store.updateSMSStatus(reference: "out-1", to: .failed)
            Issue.record("a delivered SMS became failed")
        } catch let error as StoreError {
            #expect(error.message == "SMS 'out-1' is delivered; it cannot become failed")
        }
        do {
            _ = try t.store.updateSMSStatus(reference: "nope", to: .accepted)
            Issue.record("updated an SMS that does not exist")
        } catch let error as StoreError {
            #expect(error.kind == .notFound && error.message == "no SMS with reference 'nope'")
        }
        _ = try t.store.recordIncomingSMS(from: "+447911123456", to: "+12025550199", body: "Thanks", reference: "in-1")
        #expect(throws: StoreError.self) { try t.store.updateSMSStatus(reference: "in-1", to: .delivered) }
        let failed = try t.store.recordOutgoingSMS(to: "+447911123456", from: "+12025550199", body: "x", reference: "out-2")
        #expect(failed.status == "sending")
        #expect(try t.store.updateSMSStatus(reference: "out-2", to: .failed).status == "failed")
    }

    @Test("a voicemail is an open voice event with its recording, stored once per call", arguments: StoreBackend.testable)
    func voicemail(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try t.store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        let first = try t.store.recordVoicemail(callID: "call-9", from: "+12015550100", mailbox: "support",
                                                recordingPath: "/var/recordings/call-9.wav", durationMilliseconds: 83_400)
        let again = try t.store.recordVoicemail(callID: "call-9", from: "+12015550100", mailbox: "support",
                                                recordingPath: "/var/recordings/call-9.wav", durationMilliseconds: 83_400)
        #expect(first.id == again.id)
        #expect(first.channel == .voice && first.status == "open" && first.mediaDurationMilliseconds == 83_400)
        #expect(first.summary == "Voicemail from +12015550100, 1:23")
        let pop = try t.store.screenPop(for: "+12015550100")
        #expect(pop.openItems.map(\.mediaPath) == ["/var/recordings/call-9.wav"])
        #expect(pop.field("open_items") == "1")
    }
}

@Suite("screen pops for every kind of identity")
struct PopTests {
    private func ada(_ store: TimelineStore) throws {
        try store.addContact(Contact(id: "c-ada", name: "Ada Lovelace", tier: "vip", company: "Analytical Engines", identities: [
            Identity(kind: .phone, value: "+1 201 555 0100"), Identity(kind: .email, value: "Ada@Example.com"),
            Identity(kind: .sip, value: "sip:ada@pbx.example.com"), Identity(kind: .chat, value: "ada-web"),
        ]))
    }

    @Test("every identity of a contact, in every spelling, pops the same contact", arguments: [
        "+12015550100", "(201) 555-0100", "tel:+1-201-555-0100", "<sip:+12015550100@trunk.example.com;user=phone>",
        "sip:2015550100@10.0.0.1", "ADA@example.com", "mailto:ada@example.com", "\"Ada\" <sip:ada@PBX.example.com;transport=tcp>",
        "chat:ada-web",
    ])
    func multiIdentity(query: String) throws {
        let t = try TemporaryStore()
        try ada(t.store)
        let pop = try t.store.screenPop(for: query)
        #expect(pop.known && pop.contact?.id == "c-ada")
        #expect(pop.identities.count == 4)
    }

    @Test("what is not an identity is an error that says so", arguments: [
        ("Alice", "'Alice' is not a phone number, SIP or tel URI, email address or chat:HANDLE"),
        ("12", "'12' is not a valid phone number: it is too short for a number in +1 (US)"),
        ("tel:5550100;phone-context=example.com", "'tel:5550100;phone-context=example.com' is not a valid phone number: a local number in the domain 'example.com' has no country code"),
        ("ada@", "'ada@' is not an email address"),
    ])
    func notAnIdentity(query: String, message: String) throws {
        let t = try TemporaryStore()
        do {
            _ = try t.store.screenPop(for: query)
            Issue.record("popped \(query)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test("a tel: URI with a global phone-context is that number")
    func phoneContext() throws {
        let us = try IdentityNormalizer(defaultCountry: "US")
        #expect(try us.phone("tel:555-0100;phone-context=+1-201") == "+12015550100")
    }

    @Test("the pop reads back from JSON and answers CONTACT(field)", arguments: StoreBackend.testable)
    func jsonAndFields(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try ada(t.store)
        let when = Date(timeIntervalSince1970: 1_795_000_000.25)
        var note = TimelineEvent(channel: .note, direction: .internal, time: when.addingTimeInterval(60), source: "crm")
        note.subject = "Prefers email"
        note.contactID = "c-ada"
        try t.store.appendEvent(note)
        var chat = TimelineEvent(channel: .chat, direction: .inbound, time: when, source: "chat")
        chat.address = "ada-web"
        chat.subject = "Refund request"
        chat.status = "open"
        chat.agent = "bob"
        chat.body = String(repeating: "long text ", count: 100)
        try t.store.appendEvent(chat)
        let pop = try t.store.screenPop(for: "+12015550100")
        #expect(pop.recent.map(\.subject) == ["Prefers email", "Refund request"])
        #expect(pop.recent.last?.body?.count == Limits.popBody)
        let decoded = try TimelinePop.decode(json: Data(pop.json.utf8))
        #expect(decoded.recent.last?.time == when && decoded.contact == pop.contact && decoded.summary == pop.summary)
        #expect(pop.json.contains("\"last_contact\":\"2026-11-18T11:06:40.250Z\""))
        let expected = ["name": "Ada Lovelace", "tier": "vip", "id": "c-ada", "company": "Analytical Engines", "known": "1",
                        "last_agent": "bob", "last_channel": "chat", "last_contact": "2026-11-18T11:06:40.250Z",
                        "last_subject": "Refund request", "open_items": "1", "interactions": "2",
                        "email": "ada@example.com", "phone": "+12015550100"]
        for name in TimelinePop.fields { #expect(pop.field(name) == expected[name], "CONTACT(\(name))") }
        #expect(pop.field("favourite_colour") == nil)

        let unknown = try t.store.screenPop(for: "+44 20 7946 0958")
        #expect(unknown.field("known") == "0" && unknown.field("name") == "" && unknown.field("phone") == "+442079460958")
    }

    @Test("an outbound call lands on the callee's timeline", arguments: StoreBackend.testable)
    func outboundCall(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try ada(t.store)
        var record = CallRecord(uniqueid: "out-1", start: Date().addingTimeInterval(-60))
        record.direction = .outbound
        record.src = "alice"
        record.dst = "+12015550100"
        record.agent = "alice"
        try t.store.openCallRecord(record)
        record.disposition = "BUSY"
        record.end = Date()
        try t.store.finalizeCallRecord(record)
        let pop = try t.store.screenPop(for: "+12015550100")
        #expect(pop.recent.first?.direction == .outbound && pop.recent.first?.subject == "Call to +12015550100 by alice")
        #expect(try t.store.callRecord(uniqueid: "out-1")?.contactID == "c-ada")
    }
}

@Suite("call records for helpdesks")
struct ExportTests {
    @Test("ended calls since a time export as CSV that reads back field for field, and as JSON Lines", arguments: StoreBackend.testable)
    func export(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let day = Date(timeIntervalSince1970: 1_795_000_000)
        for (id, offset) in [("old", -86_400.0), ("new", 0), ("ringing", 60)] {
            var record = CallRecord(uniqueid: id, start: day.addingTimeInterval(offset))
            record.src = "+12015550100"
            record.clid = "\"Lovelace, Ada\" <+12015550100>"
            try t.store.openCallRecord(record)
            guard id != "ringing" else { continue }
            record.answer = record.start.addingTimeInterval(5)
            record.end = record.start.addingTimeInterval(65)
            record.disposition = "ANSWERED"
            record.dialplanPath = ["in,s,1: Answer()", "in,s,2: Dial(PJSIP/alice,20)"]
            try t.store.finalizeCallRecord(record)
        }
        let csv = try t.store.exportCallRecords(since: day, format: .csv)
        let rows = try CSV.parse(csv, file: "export.csv")
        #expect(rows.map(\.fields.count) == [CallRecordExport.columns.count, CallRecordExport.columns.count])
        #expect(rows[0].fields == CallRecordExport.columns)
        let row = Dictionary(uniqueKeysWithValues: zip(rows[0].fields, rows[1].fields))
        #expect(row["uniqueid"] == "new" && row["clid"] == "\"Lovelace, Ada\" <+12015550100>")
        #expect(row["start"] == "2026-11-18T11:06:40.000Z" && row["duration"] == "65" && row["billsec"] == "60")
        #expect(row["dialplan_path"] == "in,s,1: Answer() | in,s,2: Dial(PJSIP/alice,20)")

        let jsonl = try t.store.exportCallRecords(format: .jsonl)
        let lines = String(decoding: jsonl, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        // JSON Lines carry the CSV's names, typed.
        let records = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(records.map { $0["uniqueid"] as? String } == ["old", "new"])
        #expect((records[1]["dialplan_path"] as? [String])?.count == 2 && records[1]["answer"] as? String == "2026-11-18T11:06:45.000Z")
        #expect(records[1]["duration"] as? Int == 65 && records[1]["contact_id"] is NSNull && records[1]["interrupted"] as? Bool == false)
        #expect(Set(CallRecordExport.columns).isSubset(of: Set(records[1].keys)), "every CSV column is a JSON key")
    }
}

@Suite("one store shared by many threads")
struct ThreadingTests {
    @Test("pops and writes from several threads at once all land, and each pop sees one snapshot", arguments: StoreBackend.testable)
    func concurrent(backend: StoreBackend) async throws {
        let t = try TemporaryStore(backend)
        try t.store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        let store = t.store
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<50 {
                        var event = TimelineEvent(channel: .chat, direction: .inbound, source: "chat")
                        event.address = "+12015550100"
                        event.externalRef = "w\(worker)-\(i)"
                        try store.appendEvent(event)
                        let pop = try store.screenPop(for: "+12015550100", limit: 1000)
                        // One snapshot: the per-channel count and the events read agree.
                        #expect(pop.summary.interactions["chat"] == pop.recent.count)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.screenPop(for: "+12015550100", limit: 1000).recent.count == 200)
    }
}
