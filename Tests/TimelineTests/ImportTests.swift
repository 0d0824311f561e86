import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

@Suite("imports: all or nothing, with file:line")
struct ImportTests {
    @Test("contacts import from RFC 4180 CSV, quoted commas and quotes included", arguments: StoreBackend.testable)
    func contacts(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let csv = """
        id,name,tier,company,phone,email,chat,sip
        c1,"Lovelace, Ada",vip,"Analytical ""Engines"", Ltd",+1 201 555 0100;201-555-0101,ada@example.com,ada,
        c2,Grace Hopper,,,+44 20 7946 0958,,,sip:grace@pbx.example.com

        """
        #expect(try t.store.importContacts(csv: Data(csv.utf8), file: "c.csv") == 2)
        let ada = try t.store.screenPop(for: "2015550101")
        #expect(ada.contact?.name == "Lovelace, Ada" && ada.contact?.company == "Analytical \"Engines\", Ltd")
        #expect(try t.store.screenPop(for: "sip:grace@pbx.example.com").contact?.tier == "standard")
    }

    @Test("a bad contact line stops the import with file:line, and nothing is written", arguments: [
        ("id,name,phone\nc1,Ada,+12015550100\nc2,Bob,not-a-number\n",
         "c.csv:3: 'not-a-number' is not a valid phone number: 'n' is not part of a phone number"),
        ("id,name,phone\nc1,Ada,+12015550100\nc2,Bob,+12015550100\n",
         "c.csv:3: phone +12015550100 already belongs to contact 'c1'"),
        ("id,name,phone\nc1,Ada,+12015550100\nc2,Bob\n", "c.csv:3: 2 fields where the header has 3"),
        ("id,name,fax\nc1,Ada,1\n", "c.csv:1: unknown column 'fax'; columns are id, name, tier, company, phone, email, chat, sip"),
        ("id,name\nc1,\"Ada\n", "c.csv:2: a quoted field is never closed"),
        ("id,name,company\nc1,Ada,\"Two\nLines\"\n", "c.csv:2: company contains control characters"),
        ("id,name\nc1,Ada \"the\" Countess\n", "c.csv:2: a quote inside an unquoted field; quote the whole field"),
    ])
    func badContacts(csv: String, message: String) throws {
        let t = try TemporaryStore()
        do {
            try t.store.importContacts(csv: Data(csv.utf8), file: "c.csv")
            Issue.record("imported a bad file")
        } catch {
            #expect("\(error)" == message)
        }
        #expect(try t.store.screenPop(for: "+12015550100").known == false, "nothing may be written by a failed import")
    }

    @Test("events import from JSON Lines; a bad line stops it and nothing is written", arguments: StoreBackend.testable)
    func events(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try t.store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        let good = """
        {"source":"chat","channel":"chat","time":"2026-11-20T10:00:00Z","address":"+1 201 555 0100","subject":"Refund","status":"open","external_ref":"conv-9"}
        {"source":"email","channel":"email","direction":"out","time":"2026-11-21T10:00:00.250Z","contact":"c1","subject":"Re: Refund","agent":"bob"}

        """
        #expect(try t.store.importEvents(jsonl: Data(good.utf8), file: "e.jsonl") == ImportedEvents(added: 2))
        #expect(try t.store.screenPop(for: "+12015550100").recent.map(\.subject) == ["Re: Refund", "Refund"])
        // Again: the chat has a source and external_ref and is not stored twice; the email has none and is.
        #expect(try t.store.importEvents(jsonl: Data(good.utf8), file: "e.jsonl") == ImportedEvents(added: 1, alreadyStored: 1))
        #expect(try t.store.screenPop(for: "+12015550100").recent.map(\.subject) == ["Re: Refund", "Re: Refund", "Refund"])
        let bad = """
        {"source":"chat","channel":"chat","subject":"first"}
        {"source":"chat","chanel":"chat"}
        {"source":"chat","channel":"chat","subject":"fine"}
        {"source":"chat","channel":"fax"}

        """
        do {
            try t.store.importEvents(jsonl: Data(bad.utf8), file: "e.jsonl")
            Issue.record("imported a bad file")
        } catch let failure as ImportFailure {
            // Every bad line is named, not only the first.
            #expect(failure.problems.map(\.line) == [2, 4], "\(failure)")
            #expect(failure.problems.first?.description.hasPrefix("e.jsonl:2: unknown key 'chanel'; keys are") == true)
        }
        #expect(try t.store.events(address: nil).isEmpty)
        for (line, message) in [
            ("{\"channel\":\"chat\"}", "e.jsonl:1: 'source' is required"),
            ("{\"source\":\"x\",\"channel\":\"fax\"}", "e.jsonl:1: 'channel' must be one of voice, sms, chat, email, social, note"),
            ("{\"source\":\"x\",\"time\":\"yesterday\"}", "e.jsonl:1: 'time' must be ISO 8601, such as 2026-11-24T10:00:00Z"),
            ("[1,2]", "e.jsonl:1: not a JSON object"),
            ("{\"source\":\"x\",\"contact\":\"nobody\"}", "e.jsonl:1: no contact 'nobody'"),
            ("{\"source\":\"x\",\"contact\":\"c1\",\"contact_id\":\"c2\"}", "e.jsonl:1: 'contact' and 'contact_id' name different contacts"),
            ("{\"source\":\"x\",\"media_duration_ms\":-5}", "e.jsonl:1: 'media_duration_ms' must be a whole number ≥ 0"),
            ("{\"source\":\"x\",\"direction\":\"sideways\"}", "e.jsonl:1: 'direction' must be inbound, outbound or internal"),
            ("{\"query\":\"+1\",\"recent\":{\"not\":\"a list\"}}", "e.jsonl:1: 'recent' of a lookup document must be a list of events"),
            ("{\"recent\":[],\"contact\":{\"id\":\"c9\"}}", "e.jsonl:1: the lookup document's 'contact' is not a contact (id, name, tier, identities)"),
            ("{\"source\":\"x\",\"subject\":\"a\\u0007b\"}", "e.jsonl:1: subject contains control characters"),
            // A line naming an event already stored is still checked, not waved through as a duplicate.
            ("{\"source\":\"chat\",\"external_ref\":\"conv-9\",\"subject\":\"a\\u0007b\"}", "e.jsonl:1: subject contains control characters"),
        ] {
            #expect(throws: ImportFailure.self) { try t.store.importEvents(jsonl: Data(line.utf8), file: "e.jsonl") }
            do { try t.store.importEvents(jsonl: Data(line.utf8), file: "e.jsonl") } catch { #expect("\(error)" == message) }
        }
    }

    @Test("what `omnigate lookup --format json` prints imports into another store: the contact, its events, a voicemail's recording")
    func lookupRoundTrip() throws {
        let from = try TemporaryStore(), into = try TemporaryStore()
        try from.store.addContact(Contact(id: "c1", name: "Ada", tier: "vip", company: "Engines Ltd",
                                          identities: [Identity(kind: .phone, value: "+12015550100"), Identity(kind: .email, value: "ada@example.com")]))
        var chat = TimelineEvent(channel: .chat, direction: .inbound, time: Date(timeIntervalSince1970: 1_790_000_000), source: "chat")
        (chat.address, chat.subject, chat.status, chat.externalRef, chat.threadID) = ("ada@example.com", "Refund", "open", "conv-9", "t-1")
        _ = try from.store.appendEvent(chat)
        _ = try from.store.recordVoicemail(callID: "u2", from: "+12015550100", mailbox: "support", recordingPath: "/var/vm/u2.wav",
                                           durationMilliseconds: 12_000)
        let document = try from.store.screenPop(for: "+12015550100").json
        #expect(document.contains("\"open_items\"") && document.contains("\"contact_id\"") && !document.contains("contactID"),
                "snake_case names, as the API's: \(document)")

        let imported = try into.store.importEvents(jsonl: Data((document + "\n").utf8), file: "ada.json")
        #expect(imported == ImportedEvents(added: 2, contactsAdded: 1), "the open chat is in recent and open items, imported once")
        let pop = try into.store.screenPop(for: "ada@example.com")
        #expect(pop.contact?.name == "Ada" && pop.contact?.tier == "vip" && pop.contact?.company == "Engines Ltd")
        let original = try from.store.screenPop(for: "+12015550100")
        // The same events, as JSON shows them (times to the millisecond), but for their ids in each store.
        let strip = { (events: [TimelineEvent]) in
            try events.map { event -> String in
                var event = event
                event.id = nil
                return String(decoding: try Timestamp.encoder.encode(event), as: UTF8.self)
            }
        }
        #expect(try strip(pop.recent) == strip(original.recent))
        #expect(pop.recent.contains { $0.mediaPath == "/var/vm/u2.wav" && $0.mediaDurationMilliseconds == 12_000 })
        // Fed in again: the chat (source, external_ref) is not stored twice, the contact is left as it is.
        let again = try into.store.importEvents(jsonl: Data((document + "\n").utf8), file: "ada.json")
        #expect(again.alreadyStored >= 1 && again.contactsAdded == 0, "\(again)")
    }

    @Test("invalid UTF-8 is reported with its line", arguments: StoreBackend.testable)
    func invalidUTF8(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        var data = Data("{\"source\":\"x\"}\n".utf8)
        data.append(contentsOf: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        do {
            try t.store.importEvents(jsonl: data, file: "e.jsonl")
            Issue.record("imported invalid UTF-8")
        } catch {
            #expect("\(error)" == "e.jsonl:2: not valid UTF-8")
        }
        #expect(try t.store.events(address: nil).isEmpty)
    }
}

@Suite("another process shares the store")
struct SharingTests {
    @Test("a second process writes events while this one reads and writes, and nothing is lost")
    func secondProcessWrites() async throws {
        // The import holds the write lock for its one transaction of 20,000 events, which on a
        // loaded machine can take longer than the default 5 s wait: this test is about losing
        // nothing, so its own writes wait as long as the import can take.
        let t = try TemporaryStore(busyTimeoutMilliseconds: 120_000)
        try t.store.addContact(Contact(id: "c1", name: "Ada", identities: [Identity(kind: .phone, value: "+12015550100")]))
        let lines = (0..<20_000).map { "{\"source\":\"chat\",\"channel\":\"chat\",\"address\":\"+12015550100\",\"external_ref\":\"m\($0)\",\"subject\":\"message \($0)\"}" }
        let file = t.directory + "/chat.jsonl"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let importer = try TestProcess(TestPaths.omnigate, ["import", "events", file, "--store", t.path])
        var reads = 0
        var ownWrites = 0
        var partial: [Int] = []
        while importer.isRunning {
            // The import is one transaction in the other process: a reader sees none of it or all of it.
            let chats = try t.store.screenPop(for: "+12015550100").summary.interactions["chat"] ?? 0
            if chats != 0 && chats != 20_000 { partial.append(chats) }
            reads += 1
            var event = TimelineEvent(channel: .voice, direction: .inbound, source: "omnigate")
            event.address = "+12015550100"
            event.externalRef = "call-\(ownWrites)"
            try t.store.appendEvent(event)
            ownWrites += 1
        }
        #expect(try await importer.waitForExit() == 0, "\(importer.stderr)")
        #expect(reads > 0)
        #expect(partial.isEmpty, "saw a half-written import: \(partial.prefix(5))")
        let pop = try t.store.screenPop(for: "+12015550100")
        #expect(pop.summary.interactions["chat"] == 20_000)
        #expect(pop.summary.interactions["voice"] == ownWrites)
    }
}

@Suite("times in JSON")
struct TimestampTests {
    @Test("a time written, read and written again is the same to the millisecond, whatever its floating point")
    func roundTrip() throws {
        for milliseconds in stride(from: Int64(1_796_133_889_000), to: 1_796_133_890_000, by: 1) {
            let text = Timestamp.string(Date(milliseconds: milliseconds))
            let again = try #require(Timestamp.parse(text))
            #expect(again.milliseconds == milliseconds && Timestamp.string(again) == text, "\(milliseconds): \(text)")
            if again.milliseconds != milliseconds { break }
        }
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1.0004)) == "1970-01-01T00:00:01.000Z")
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1.0006)) == "1970-01-01T00:00:01.001Z")
    }
}

@Suite("omnigate renormalize")
struct RenormalizeCommandTests {
    @Test("--dry-run reports the phone numbers not in their normal form and changes nothing; without it they are rewritten; a bad option is a usage error",
          arguments: StoreBackend.testable)
    func command(backend: StoreBackend) async throws {
        let t = try TemporaryStore(backend)
        let path = t.path
        /// The store as a command would open it, read-only.
        func reader() throws -> TimelineStore {
            backend == .sqlite ? try TimelineStore(path: path, mode: .readOnly) : try TimelineStore(postgresql: path, mode: .readOnly)
        }
        do {
            let store = t.store
            try store.addContact(Contact(id: "c1", name: "Ada"))
            try store.write { db in
                // Another writer's own spelling, with plain SQL.
                try db.run("INSERT INTO identities (kind, value, contact_id) VALUES ('phone', '(201) 555-0101', 'c1')")
            }
            store.close()
        }
        func run(_ arguments: [String]) async throws -> TestProcess {
            let process = try TestProcess(TestPaths.omnigate, ["renormalize", "--store", path] + arguments)
            _ = try await process.waitForExit(timeout: .seconds(60))
            return process
        }
        let dry = try await run(["--dry-run"])
        #expect(dry.stdout == "table,old,new,outcome\r\nidentities,(201) 555-0101,\"'+12015550101\",rewritten\r\n", "\(dry.stdout)")
        #expect(dry.stderr.contains("1 phone numbers checked, 1 rewritten to their normal form, 0 kept as they were (dry run: nothing was changed)"))
        #expect(try reader().screenPop(for: "+12015550101").known == false, "a dry run changes nothing")
        let real = try await run([])
        #expect(real.stdout == dry.stdout)
        #expect(try reader().screenPop(for: "+12015550101").contact?.id == "c1")
        let bad = try TestProcess(TestPaths.omnigate, ["renormalize", "--store", path, "--bogus"])
        #expect(try await bad.waitForExit(timeout: .seconds(60)) == 2)
        #expect(bad.stderr.contains("unknown option '--bogus'"), "\(bad.stderr)")
    }
}
