import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

/// The backends the store's contract runs on: SQLite always, PostgreSQL when this machine can
/// start one (`PostgresServer`; the suite "the PostgreSQL backend" says when it cannot).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql
    static var testable: [StoreBackend] { PostgresServer.unavailableReason == nil ? allCases : [.sqlite] }
    var testDescription: String { rawValue }

    /// A new store: a file in `directory` (SQLite), or a new database on the tests' server (PostgreSQL).
    func open(in directory: String, file: String = "store.sqlite") throws -> TimelineStore {
        switch self {
        case .sqlite: try TimelineStore(path: directory + "/" + file)
        case .postgresql: try TimelineStore(postgresql: try PostgresServer.database())
        }
    }
}

/// A store in a fresh temporary directory (SQLite) or a fresh database (PostgreSQL), removed afterwards.
final class TemporaryStore {
    let directory: String
    /// The SQLite file, or the PostgreSQL connection string.
    let path: String
    let store: TimelineStore

    init(_ backend: StoreBackend = .sqlite, country: String = "US", busyTimeoutMilliseconds: Int32 = 5000) throws {
        directory = try TestPaths.temporaryDirectory("store")
        switch backend {
        case .sqlite:
            path = directory + "/omnigate.sqlite"
            store = try TimelineStore(path: path, defaultCountry: country, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        case .postgresql:
            path = try PostgresServer.database("store")
            store = try TimelineStore(postgresql: path, defaultCountry: country)
        }
    }

    deinit {
        #expect(store.busyStatements == 0, "a statement was left running")
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("phone numbers and identities are normalised")
struct NormalisationTests {
    let us = try! IdentityNormalizer(defaultCountry: "US")
    let gb = try! IdentityNormalizer(defaultCountry: "GB")

    @Test("the ways people write a number all become E.164", arguments: [
        ("+1 (201) 555-0123", "+12015550123"),
        ("201.555.0123", "+12015550123"),
        ("1-201-555-0123", "+12015550123"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("tel:+1-201-555-0123", "+12015550123"),
        ("tel:+1-201-555-0123;ext=7", "+12015550123"),
    ])
    func usDefault(input: String, expected: String) throws {
        #expect(try us.phone(input) == expected)
    }

    @Test("national numbers take the default country and drop its trunk prefix")
    func nationalNumbers() throws {
        #expect(try gb.phone("020 7946 0958") == "+442079460958")
        #expect(try gb.phone("07911 123456") == "+447911123456")
        #expect(try IdentityNormalizer(defaultCountry: "DE").phone("030 1234567") == "+49301234567")
        #expect(try IdentityNormalizer(defaultCountry: "FR").phone("01 23 45 67 89") == "+33123456789")
    }

    @Test("invalid numbers are errors with a reason, never guesses", arguments: [
        ("", "'' is not a valid phone number: it is empty"),
        ("555-0123", "'555-0123' is not a valid phone number: no number in +1 (US) has that many digits"),
        ("+1 555 0123", "'+1 555 0123' is not a valid phone number: no number in +1 (US) has that many digits"),
        ("+1 (101) 555-0123", "'+1 (101) 555-0123' is not a valid phone number: +11015550123 is in no range the numbering plan of +1 (US) uses"),
        ("call me", "'call me' is not a valid phone number: 'c' is not part of a phone number"),
        ("+1234567890123456", "'+1234567890123456' is not a valid phone number: it is too long for a number in +1 (US)"),
        ("+99912345678901234", "'+99912345678901234' is not a valid phone number: its country code is not one in use"),
        ("030 123", "'030 123' is not a valid phone number: it is too short for a number in +1 (US)"),
    ])
    func invalid(input: String, message: String) {
        do {
            let value = try us.phone(input)
            Issue.record("accepted \(input) as \(value)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test("an unsupported default country is a clear error")
    func unsupportedCountry() throws {
        #expect(throws: StoreError.self) { try IdentityNormalizer(defaultCountry: "XX") }
        do { _ = try IdentityNormalizer(defaultCountry: "XX") } catch {
            #expect("\(error)" == "default country 'XX' is not a country libphonenumber knows; give an ISO 3166 code such as US, GB, DE, AT or CH")
        }
        #expect(try IdentityNormalizer(defaultCountry: "at").region == "AT", "any country libphonenumber knows, in either case")
    }

    @Test("a German number, however a German writer or a chat system abroad writes it, is one identity", arguments: [
        ("030 1234567", "DE"), ("(030) 123 45 67", "DE"), ("+49 30 1234567", "DE"), ("0049 30 1234567", "DE"),
        ("+49 (0)30 1234567", "DE"), ("tel:+49-30-1234567", "DE"), ("+49 30 1234567", "US"), ("011 49 30 1234567", "US"),
        ("0049 30 1234567", "GB"), ("+49 30 1234567", "AT"),
    ])
    func german(input: String, region: String) throws {
        #expect(try IdentityNormalizer(defaultCountry: region).phone(input) == "+49301234567")
    }

    @Test("countries beyond any table: Austria, Switzerland, Japan, mobiles")
    func everyCountry() throws {
        #expect(try IdentityNormalizer(defaultCountry: "AT").phone("01 2345678") == "+4312345678")
        #expect(try IdentityNormalizer(defaultCountry: "CH").phone("044 668 18 00") == "+41446681800")
        #expect(try IdentityNormalizer(defaultCountry: "JP").phone("03-1234-5678") == "+81312345678")
        #expect(try IdentityNormalizer(defaultCountry: "DE").phone("0151 23456789") == "+4915123456789")
        #expect(throws: StoreError.self) { try IdentityNormalizer(defaultCountry: "DE").phone("0151 2") }
    }

    @Test("SIP URIs give a phone when the user part is a number, and the bare SIP URI")
    func uris() {
        #expect(us.fromURI("<sip:+12015550123@trunk.example.com;user=phone>") == [
            Identity(kind: .phone, value: "+12015550123"), Identity(kind: .sip, value: "sip:+12015550123@trunk.example.com"),
        ])
        #expect(us.fromURI("sip:2015550123@10.0.0.1:5060") == [
            Identity(kind: .phone, value: "+12015550123"), Identity(kind: .sip, value: "sip:2015550123@10.0.0.1:5060"),
        ])
        #expect(us.fromURI("sip:Alice@Example.COM;transport=tcp") == [Identity(kind: .sip, value: "sip:Alice@example.com")])
        #expect(us.candidates("Ada@Example.com") == [Identity(kind: .email, value: "ada@example.com")])
        // A chat handle written bare, or as chat:HANDLE as lookups take it, is the same identity.
        #expect(us.candidates("ada-handle") == [Identity(kind: .chat, value: "ada-handle")])
        #expect(us.candidates("chat:ada-handle") == [Identity(kind: .chat, value: "ada-handle")])
    }
}

@Suite("the store on real SQLite files")
struct StoreTests {
    private func ada(_ store: TimelineStore) throws {
        try store.addContact(Contact(id: "c-ada", name: "Ada Lovelace", tier: "vip", identities: [
            Identity(kind: .phone, value: "+1 201 555 0100"), Identity(kind: .phone, value: "(201) 555-0101"),
            Identity(kind: .email, value: "Ada@Example.com"), Identity(kind: .chat, value: "ada"),
        ]))
    }

    private func event(_ channel: EventChannel, _ subject: String, minutesAgo: Double, address: String? = nil,
                       contact: String? = nil, status: String? = nil, agent: String? = nil, ref: String? = nil) -> TimelineEvent {
        var event = TimelineEvent(channel: channel, direction: .inbound, time: Date().addingTimeInterval(-minutesAgo * 60), source: "test")
        event.subject = subject
        event.address = address
        event.contactID = contact
        event.status = status
        event.agent = agent
        event.externalRef = ref
        return event
    }

    @Test("a new file is created at the latest schema version", arguments: StoreBackend.testable)
    func createsSchema(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        #expect(t.store.schemaVersion == Schema.latest)
    }

    @Test("a version 1 store is migrated forward on open and keeps its data")
    func migratesFromVersion1() throws {
        let directory = try TestPaths.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/v1.sqlite"
        do {
            let db = try SQLiteConnection(path: path, create: true)
            try db.transaction { try Schema.apply(Schema.migrations[0], db) }
            try db.run("INSERT INTO contacts (id, name, tier, created_at, updated_at) VALUES ('c1', 'Old', 'gold', 0, 0)")
            try db.run("INSERT INTO call_records (uniqueid, src, start, disposition, state) VALUES ('u1', '+12015550100', 0, 'ANSWERED', 'ended')")
        }
        let store = try TimelineStore(path: path)
        #expect(store.schemaVersion == Schema.latest)
        let record = try #require(try store.callRecord(uniqueid: "u1"))
        #expect(record.disposition == "ANSWERED" && record.dialplanPath.isEmpty && !record.interrupted)
        #expect(try store.screenPop(for: "+12015550100").known == false)
    }

    @Test("a store from a newer Omnigate is refused, never downgraded")
    func refusesNewer() throws {
        let directory = try TestPaths.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/future.sqlite"
        do {
            let db = try SQLiteConnection(path: path, create: true)
            try db.execute("PRAGMA user_version = 99")
        }
        do {
            _ = try TimelineStore(path: path)
            Issue.record("opened a newer store")
        } catch let error as StoreError {
            #expect(error.kind == .newerSchema(found: 99, supported: Schema.latest))
            #expect(error.message == "\(path) has schema version 99, newer than this Omnigate supports (\(Schema.latest)); upgrade Omnigate rather than open it with an older one")
        }
    }

    @Test("a file that is not SQLite, or is damaged, is a clear error at open")
    func notADatabase() throws {
        let directory = try TestPaths.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = directory + "/notes.txt"
        try "just some text, not a database\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try TimelineStore(path: text) }
        do { _ = try TimelineStore(path: text) } catch let error as StoreError {
            #expect(error.kind == .notADatabase)
            #expect(error.message.hasPrefix("\(text) is not an Omnigate store: it is not an SQLite database, or it is damaged"))
        }
        // A real store with its pages overwritten in the middle.
        let damaged = directory + "/damaged.sqlite"
        do {
            let store = try TimelineStore(path: damaged)
            try store.fillDemoData(contacts: 200, events: 2000)
        }
        try? FileManager.default.removeItem(atPath: damaged + "-wal")
        try? FileManager.default.removeItem(atPath: damaged + "-shm")
        let handle = try #require(FileHandle(forUpdatingAtPath: damaged))
        handle.seek(toFileOffset: 0)
        handle.write(Data(repeating: 0x5A, count: 8192))
        handle.closeFile()
        do {
            _ = try TimelineStore(path: damaged)
            Issue.record("opened a damaged store")
        } catch let error as StoreError {
            #expect(error.kind == .notADatabase)
        }
    }

    @Test("screen pop for a known contact: identities, newest events on all channels, open items, summary", arguments: StoreBackend.testable)
    func knownPop(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try ada(t.store)
        try t.store.appendEvent(event(.chat, "Refund for order 4711", minutesAgo: 120, address: "ada", status: "open", agent: "alice"))
        try t.store.appendEvent(event(.email, "Invoice question", minutesAgo: 60, address: "ADA@example.com", agent: "bob"))
        try t.store.appendEvent(event(.sms, "Running late", minutesAgo: 30, address: "+12015550101"))
        let pop = try t.store.screenPop(for: "sip:2015550100@trunk.example.com")
        #expect(pop.known && pop.contact?.name == "Ada Lovelace" && pop.contact?.tier == "vip")
        #expect(pop.identities.count == 4)
        #expect(pop.recent.map(\.subject) == ["Running late", "Invoice question", "Refund for order 4711"])
        #expect(pop.openItems.map(\.subject) == ["Refund for order 4711"])
        #expect(pop.summary.interactions == ["chat": 1, "email": 1, "sms": 1])
        #expect(pop.summary.lastChannel == "sms" && pop.summary.lastAgent == "bob")
        #expect(pop.field("tier") == "vip" && pop.field("last_agent") == "bob" && pop.field("open_items") == "1")
        #expect(pop.field("no_such_field") == nil)
        #expect(pop.json.contains("\"name\":\"Ada Lovelace\""))
    }

    @Test("an unknown caller's pop is the number's own history, flagged unknown; adding the number to a contact claims it", arguments: StoreBackend.testable)
    func unknownPop(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try t.store.appendEvent(event(.voice, "Missed call", minutesAgo: 10, address: "+1 202 555 0199"))
        try t.store.appendEvent(event(.sms, "Hello?", minutesAgo: 5, address: "2025550199"))
        let pop = try t.store.screenPop(for: "sip:+12025550199@10.0.0.1;user=phone")
        #expect(!pop.known && pop.contact == nil)
        #expect(pop.recent.map(\.subject) == ["Hello?", "Missed call"])
        #expect(pop.field("known") == "0" && pop.field("name") == "")
        try t.store.addContact(Contact(id: "c-new", name: "New Customer"))
        try t.store.addIdentity(Identity(kind: .phone, value: "202-555-0199"), to: "c-new")
        let after = try t.store.screenPop(for: "+12025550199")
        #expect(after.known && after.recent.count == 2)
    }

    @Test("a duplicate identity is a conflict naming its owner, and writes nothing", arguments: StoreBackend.testable)
    func duplicateIdentity(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try ada(t.store)
        do {
            try t.store.addContact(Contact(id: "c-eve", name: "Eve", identities: [Identity(kind: .phone, value: "2015550100")]))
            Issue.record("accepted a duplicate identity")
        } catch let error as StoreError {
            #expect(error.kind == .conflict)
            #expect(error.message == "phone +12015550100 already belongs to contact 'c-ada'")
        }
        #expect(try t.store.contact(id: "c-eve") == nil)
        #expect(throws: StoreError.self) { try t.store.addContact(Contact(id: "c-ada", name: "Again")) }
    }

    @Test("oversized fields and control characters are refused with the limit named", arguments: StoreBackend.testable)
    func limits(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        do {
            try t.store.addContact(Contact(id: "c1", name: String(repeating: "x", count: 201)))
            Issue.record("accepted a 201-character name")
        } catch { #expect("\(error)" == "name is 201 characters long; the limit is 200") }
        do {
            try t.store.addContact(Contact(id: "c2", name: "Bad\u{07}Bell"))
            Issue.record("accepted a control character")
        } catch { #expect("\(error)" == "name contains control characters") }
        var big = event(.email, "Big", minutesAgo: 1)
        big.body = String(repeating: "é", count: 40_000)
        do {
            try t.store.appendEvent(big)
            Issue.record("accepted an 80,000-byte body")
        } catch { #expect("\(error)" == "body is 80000 bytes long; the limit is 65536") }
        var multiline = event(.email, "Fine", minutesAgo: 1)
        multiline.body = "line one\nline two\ttabbed"
        #expect(throws: Never.self) { try t.store.appendEvent(multiline) }
    }

    @Test("an event appended twice with the same source and reference is stored once", arguments: StoreBackend.testable)
    func idempotentEvents(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let first = try t.store.appendEvent(event(.chat, "Hi", minutesAgo: 1, address: "x", ref: "chat-1"))
        let second = try t.store.appendEvent(event(.chat, "Hi", minutesAgo: 1, address: "x", ref: "chat-1"))
        #expect(first == second)
        #expect(try t.store.events(address: "x").count == 1)
        #expect(try t.store.updateStatus(source: "test", externalRef: "chat-1", status: "closed"))
        #expect(try t.store.events(address: "x").first?.status == "closed")
    }

    @Test("a call record opened at ringing and finalised at hangup lands once on the caller's timeline, however often retried", arguments: StoreBackend.testable)
    func callRecords(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try ada(t.store)
        var record = CallRecord(uniqueid: "call-1", start: Date().addingTimeInterval(-100))
        record.src = "+12015550100"
        record.clid = "\"Ada Lovelace\" <+12015550100>"
        record.dst = "100"
        record.dcontext = "from-trunk"
        record.channel = "PJSIP/provider-00000001"
        try t.store.openCallRecord(record)
        try t.store.openCallRecord(record)  // a retry changes nothing
        #expect(try t.store.callRecord(uniqueid: "call-1")?.state == "ringing")
        try t.store.updateCallRecord(uniqueid: "call-1", state: "bridged", answer: record.start.addingTimeInterval(10),
                                     agent: "alice", dstchannel: "PJSIP/alice-00000002", queue: "support")
        record.answer = record.start.addingTimeInterval(10)
        record.end = record.start.addingTimeInterval(70)
        record.disposition = "ANSWERED"
        record.agent = "alice"
        record.queue = "support"
        record.dstchannel = "PJSIP/alice-00000002"
        record.lastapp = "Queue"
        record.lastdata = "support"
        record.waitMilliseconds = 9_500
        record.sipStatus = 200
        record.agentSIPStatus = 200
        record.hangupSide = "caller"
        record.dialplanPath = ["from-trunk,100,1: Answer()", "from-trunk,100,2: Queue(support)"]
        let event1 = try t.store.finalizeCallRecord(record)
        let event2 = try t.store.finalizeCallRecord(record)
        #expect(event1 == event2)
        let stored = try #require(try t.store.callRecord(uniqueid: "call-1"))
        #expect(stored.state == "ended" && stored.duration == 70 && stored.billsec == 60 && stored.contactID == "c-ada")
        #expect(stored.dialplanPath == record.dialplanPath && stored.hangupSide == "caller" && stored.waitMilliseconds == 9_500)
        let pop = try t.store.screenPop(for: "+12015550100")
        #expect(pop.recent.count == 1)
        #expect(pop.recent.first?.channel == .voice && pop.recent.first?.agent == "alice")
        #expect(pop.recent.first?.summary == "Answered by alice, talked 1m 0s, waited 9s")
        #expect(try t.store.callRecords().count == 1)
    }

    @Test("records a crash left open are closed as FAILED and interrupted, and only those", arguments: StoreBackend.testable)
    func interruptedRecords(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        for id in ["open-1", "open-2", "done"] {
            var record = CallRecord(uniqueid: id, start: Date().addingTimeInterval(-30))
            record.src = "+12015550123"
            try t.store.openCallRecord(record)
        }
        var done = CallRecord(uniqueid: "done", start: Date().addingTimeInterval(-30))
        done.disposition = "ANSWERED"
        done.answer = Date().addingTimeInterval(-20)
        try t.store.finalizeCallRecord(done)
        #expect(try t.store.closeInterruptedCallRecords().count == 2)
        #expect(try t.store.closeInterruptedCallRecords().isEmpty)
        let records = try t.store.callRecords()
        #expect(records.filter(\.interrupted).map(\.uniqueid).sorted() == ["open-1", "open-2"])
        #expect(records.first { $0.uniqueid == "open-1" }?.disposition == "FAILED")
        #expect(records.first { $0.uniqueid == "done" }?.disposition == "ANSWERED")
    }
}

@Suite("numbers as people write them, in eight countries")
struct CountryFormatTests {
    @Test("national and international spellings from DE, AT, CH, GB, FR, US, IN and BR become one E.164 number", arguments: [
        ("DE", "030 1234567", "+49301234567"), ("DE", "0151 23456789", "+4915123456789"),
        ("AT", "01 2345678", "+4312345678"), ("AT", "0664 1234567", "+436641234567"),
        ("CH", "044 668 18 00", "+41446681800"), ("CH", "079 123 45 67", "+41791234567"),
        ("GB", "020 7946 0958", "+442079460958"), ("GB", "07911 123456", "+447911123456"),
        ("FR", "01 23 45 67 89", "+33123456789"), ("FR", "06.12.34.56.78", "+33612345678"),
        ("US", "(201) 555-0123", "+12015550123"), ("US", "1-201-555-0123", "+12015550123"),
        ("IN", "098765 43210", "+919876543210"), ("IN", "011 2345 6789", "+911123456789"),
        ("BR", "(11) 91234-5678", "+5511912345678"), ("BR", "(21) 3456-7890", "+552134567890"),
    ])
    func national(region: String, written: String, e164: String) throws {
        #expect(try IdentityNormalizer(defaultCountry: region).phone(written) == e164, "\(written) in \(region)")
        // The same number written for the world, read with any other default country.
        let abroad = try IdentityNormalizer(defaultCountry: region == "US" ? "DE" : "US")
        let international = "+" + e164.dropFirst().enumerated().map { $0.offset == 2 ? " \($0.element)" : "\($0.element)" }.joined()
        #expect(try abroad.phone(international) == e164, "\(international) read in \(abroad.region)")
    }

    @Test("a chat event a German system writes with a national number is in the pop of a call from that number", arguments: StoreBackend.testable)
    func chatThenCall(backend: StoreBackend) throws {
        let t = try TemporaryStore(backend, country: "DE")
        var chat = TimelineEvent(channel: .chat, direction: .inbound, time: Date().addingTimeInterval(-600), source: "chat-system")
        chat.address = "030 1234567"
        chat.subject = "Where is my order?"
        chat.externalRef = "chat-1"
        try t.store.appendEvent(chat)
        // The trunk's INVITE: From as a carrier sends it, read as the gateway reads it.
        let caller = t.store.normalizer.fromURI("<sip:+49301234567@trunk.example.de;user=phone>")
        let pop = try t.store.screenPop(for: try #require(caller.first?.value))
        #expect(pop.recent.map(\.subject) == ["Where is my order?"])
        #expect(pop.summary.interactions["chat"] == 1)
    }
}
