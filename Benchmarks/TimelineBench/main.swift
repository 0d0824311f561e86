// timeline-bench: figures for the shared customer store, each beside a baseline
// measured in the same run. A program that prints numbers, not a test.
//
//   swift run -c release timeline-bench [--contacts N] [--events M] [--pops K] [--calls C] [--keep DIR]
//                                       [--history 10,10000,1000000]
//
// Defaults are the issue's store: 100,000 contacts and 1,000,000 events, plus three
// contacts whose histories are 10, 10,000 and 1,000,000 events long.
// `--contacts 2000 --events 20000 --history 10,1000,10000` runs it small in a few seconds.

import CSQLite
import Foundation
import Timeline

// MARK: - Arguments

let options: [String: String] = {
    var options: [String: String] = [:]
    var argv = Array(CommandLine.arguments.dropFirst())
    while !argv.isEmpty {
        let name = argv.removeFirst()
        if name == "--help" || name == "-h" {
            print("usage: timeline-bench [--contacts N] [--events M] [--pops K] [--calls C] [--keep DIR] [--history 10,10000,1000000]")
            exit(0)
        }
        guard name.hasPrefix("--"), !argv.isEmpty else {
            FileHandle.standardError.write(Data("timeline-bench: bad argument \(name)\n".utf8))
            exit(2)
        }
        options[String(name.dropFirst(2))] = argv.removeFirst()
    }
    return options
}()
func number(_ name: String, _ value: Int) -> Int {
    guard let text = options[name] else { return value }
    guard let n = Int(text), n >= 0 else { FileHandle.standardError.write(Data("timeline-bench: --\(name) takes a number\n".utf8)); exit(2) }
    return n
}
let contactCount = max(1, number("contacts", 100_000))
let eventCount = number("events", 1_000_000)
let popCount = max(100, number("pops", 20_000))
let callCount = max(100, number("calls", 5_000))

let directory: String = options["keep"] ?? NSTemporaryDirectory() + "timeline-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let path = directory + "/bench.sqlite"
defer { if options["keep"] == nil { try? FileManager.default.removeItem(atPath: directory) } }

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}
func fileSize(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
}
func mb(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }
func rate(_ count: Int, _ duration: Duration) -> String { String(format: "%.0f/s", Double(count) / seconds(duration)) }

let clock = ContinuousClock()
print("timeline-bench: \(contactCount) contacts, \(eventCount) events, \(popCount) pops, \(callCount) calls; SQLite \(String(cString: sqlite3_libversion()))")

// MARK: - Fill

let store = try TimelineStore(path: path, defaultCountry: "US")
var lastReport = clock.now
let fillTime = try clock.measure {
    try store.fillDemoData(contacts: contactCount, events: eventCount) { what, done, total in
        if done == total || clock.now - lastReport > .seconds(2) {
            lastReport = clock.now
            log("  demo-data: \(what) \(done)/\(total)")
        }
    }
}
print("fill (demo-data, batches of 10,000 per transaction): \(contactCount + eventCount) rows in "
      + String(format: "%.1f s", seconds(fillTime)) + ", \(rate(contactCount + eventCount, fillTime))")

// MARK: - Screen pop

/// The numbers looked up: demo contacts' phones, as a trunk sends them (national format).
var random = SystemRandomNumberGenerator()
let knownNumbers: [String] = (0..<popCount).map { _ in
    let i = Int.random(in: 0..<contactCount, using: &random)
    return DemoData.phone(of: i)
}

func measurePops(_ numbers: [String], _ body: (String) throws -> Void) rethrows -> [Double] {
    for number in numbers.prefix(500) { try body(number) }  // warm the page cache and the statement caches
    var samples: [Double] = []
    samples.reserveCapacity(numbers.count)
    for number in numbers {
        let start = clock.now
        try body(number)
        samples.append(seconds(clock.now - start) * 1000)
    }
    return samples.sorted()
}

var popEvents = 0
let storePops = try measurePops(knownNumbers) { number in
    let pop = try store.screenPop(for: number, limit: 10)
    precondition(pop.known, "demo number \(number) is not known")
    popEvents += pop.recent.count
}

/// The same lookup as bare sqlite3 calls: the same SQL, prepared once, values read as C strings.
final class BareLookup {
    var db: OpaquePointer?
    var statements: [OpaquePointer] = []
    let sql = [
        "SELECT contact_id FROM identities WHERE kind = ? AND value = ?",
        "SELECT id, name, tier, company FROM contacts WHERE id = ?",
        "SELECT kind, value FROM identities WHERE contact_id = ? ORDER BY kind, value",
        """
        SELECT id, contact_id, address, channel, direction, occurred_at, subject, summary, substr(body, 1, 280) AS body,
               status, agent, thread_id, external_ref, source, media_path, media_duration_ms
        FROM events WHERE contact_id = ? ORDER BY occurred_at DESC, id DESC LIMIT 10
        """,
        """
        SELECT id, contact_id, address, channel, direction, occurred_at, subject, summary, substr(body, 1, 280) AS body,
               status, agent, thread_id, external_ref, source, media_path, media_duration_ms
        FROM events WHERE contact_id = ? AND status = 'open' ORDER BY occurred_at DESC, id DESC LIMIT 20
        """,
        "SELECT channel, events, open FROM timeline_counts WHERE scope = 'contact' AND key = ? AND events > 0",
    ]
    let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(path: String) {
        precondition(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK)
        for text in sql {
            var statement: OpaquePointer?
            precondition(sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
                         String(cString: sqlite3_errmsg(db)))
            statements.append(statement!)
        }
    }

    deinit {
        for statement in statements { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    /// Runs statement `i` with text arguments, touching every column of every row; returns the first column of the first row.
    @discardableResult
    func run(_ i: Int, _ arguments: [String]) -> String? {
        let statement = statements[i]
        for (n, argument) in arguments.enumerated() { sqlite3_bind_text(statement, Int32(n + 1), argument, -1, transient) }
        var first: String?
        var bytes = 0
        while sqlite3_step(statement) == SQLITE_ROW {
            for c in 0..<sqlite3_column_count(statement) {
                if let text = sqlite3_column_text(statement, c) {
                    if first == nil && c == 0 { first = String(cString: text) }
                    bytes += Int(sqlite3_column_bytes(statement, c))
                }
            }
        }
        sqlite3_reset(statement)
        return first
    }

    /// The pop's queries in one read transaction, for an E.164 number.
    func pop(_ e164: String) {
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        if let contact = run(0, ["phone", e164]) {
            run(1, [contact]); run(2, [contact]); run(3, [contact]); run(4, [contact]); run(5, [contact])
        }
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
    }
}

let bare = BareLookup(path: path)
let normalizer = try IdentityNormalizer(defaultCountry: "US")
let e164 = try knownNumbers.map { try normalizer.phone($0) }  // the bare query gets numbers already in E.164
let barePops = measurePops(e164) { bare.pop($0) }
func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
print("screen pop, known caller (\(popCount) lookups, 10 latest events, \(String(format: "%.1f", Double(popEvents) / Double(popCount + min(500, popCount)))) returned on average):")
print("  TimelineStore.screenPop   p50 \(ms(percentile(storePops, 0.5)))  p99 \(ms(percentile(storePops, 0.99)))  max \(ms(storePops.last!))   (targets: p50 < 0.200 ms, p99 < 1.000 ms)")
print("  bare sqlite3, same SQL    p50 \(ms(percentile(barePops, 0.5)))  p99 \(ms(percentile(barePops, 0.99)))  max \(ms(barePops.last!))")
// What normalising a caller's number costs (libphonenumber through CPhoneNumbers), beside the pop it is part of.
let phoneStart = clock.now
for number in knownNumbers { _ = try normalizer.phone(number) }
let phoneMicroseconds = Double((clock.now - phoneStart).components.attoseconds) / 1e12 / Double(max(1, knownNumbers.count))
    + Double((clock.now - phoneStart).components.seconds) * 1e6 / Double(max(1, knownNumbers.count))
print("  a national number to E.164 (libphonenumber): \(String(format: "%.1f", phoneMicroseconds)) µs each (\(knownNumbers.count) numbers)")

let unknownNumbers = (0..<min(popCount, 5_000)).map { i in DemoData.unknownE164(i % 1000) }
let unknownPops = try measurePops(unknownNumbers) { number in _ = try store.screenPop(for: number) }
print("  unknown caller (own history) p50 \(ms(percentile(unknownPops, 0.5)))  p99 \(ms(percentile(unknownPops, 0.99)))")

// MARK: - A long history

// One contact per size. The pop and CONTACT() read bounded index slices and the counts the
// triggers keep, so their cost should not move with the history; the baseline, in the same run
// on the same contacts, is the old whole-history reads (count per channel, the last agent found
// by walking the history), which grow with it.
let historySizes = (options["history"] ?? "10,10000,1000000").split(separator: ",").compactMap { Int($0) }
/// The old pop's per-channel count, as it ran before schema version 4: every event of the contact.
final class OldSummary {
    var db: OpaquePointer?
    var counts: OpaquePointer?
    let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    init(path: String) {
        precondition(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK)
        sqlite3_prepare_v2(db, "SELECT channel, count(*) AS n FROM events WHERE contact_id = ? GROUP BY channel", -1, &counts, nil)
    }
    func run(_ contact: String) {
        sqlite3_bind_text(counts, 1, contact, -1, transient)
        while sqlite3_step(counts) == SQLITE_ROW {}
        sqlite3_reset(counts)
    }
}
if !historySizes.isEmpty {
    print("a long history (one contact each; \(min(2_000, popCount)) pops per size; baseline: the old pop's count over the whole history):")
    print("  events      screen pop p50 / p99          CONTACT() p50 / p99             old per-channel count p50 / p99")
}
for (n, size) in historySizes.enumerated() {
    let phone = "+1415555\(String(format: "%04d", 9000 + n))"
    var last = clock.now
    try store.fillHistory(contactID: "history-\(size)", phone: phone, events: size) { done, total in
        if done == total || clock.now - last > .seconds(2) { last = clock.now; log("  history \(size): \(done)/\(total)") }
    }
    let numbers = [String](repeating: phone, count: min(2_000, popCount))
    let pops = try measurePops(numbers) { number in
        let pop = try store.screenPop(for: number)
        precondition(pop.summary.interactions.values.reduce(0, +) == size, "the history of \(size) counts \(pop.summary.interactions)")
    }
    let fields = try measurePops(numbers) { number in
        let pop = try store.screenPop(for: number)
        _ = pop.field("interactions")
        _ = pop.field("last_agent")
    }
    let old = OldSummary(path: path)
    let oldSamples = measurePops(Array(numbers.prefix(max(20, min(200, 2_000_000 / max(1, size)))))) { _ in old.run("history-\(size)") }
    func pair(_ samples: [Double]) -> String {
        "\(ms(percentile(samples, 0.5))) / \(ms(percentile(samples, 0.99)))".padding(toLength: 28, withPad: " ", startingAt: 0)
    }
    print("  " + String(size).padding(toLength: 10, withPad: " ", startingAt: 0) + "  " + pair(pops) + "  " + pair(fields) + "      " + pair(oldSamples))
}

// MARK: - Call records

/// Each call: opened at ringing, finalised at hangup with its voice event: two transactions.
func callWrites(_ store: TimelineStore, label: String) throws -> Duration {
    let start = Date()
    return try clock.measure {
        for i in 0..<callCount {
            var record = CallRecord(uniqueid: "bench-\(label)-\(i)", start: start)
            record.src = DemoData.phone(of: i % contactCount)
            record.dst = "+12025550199"
            record.clid = "\"Caller\" <\(record.src)>"
            record.dcontext = "from-trunk"
            record.channel = "SIP/trunk-\(i)"
            try store.openCallRecord(record)
            record.answer = start.addingTimeInterval(4)
            record.end = start.addingTimeInterval(64)
            record.disposition = "ANSWERED"
            record.agent = "agent\(i % 40)"
            record.queue = "support"
            record.waitMilliseconds = 4000
            record.dstchannel = "SIP/agent\(i % 40)-\(i)"
            record.lastapp = "Queue"
            record.lastdata = "support"
            record.hangupSide = "caller"
            record.sipStatus = 200
            record.dialplanPath = ["from-trunk,s,1: Answer()", "from-trunk,s,2: Queue(support)"]
            try store.finalizeCallRecord(record)
        }
    }
}
let fullTime = try callWrites(store, label: "full")
let normalStore = try TimelineStore(path: path, defaultCountry: "US", durability: .normal)
let normalTime = try callWrites(normalStore, label: "normal")
print("call records (open at ringing + finalise with its voice event = 2 transactions per call, \(callCount) calls):")
print("  synchronous=FULL (chosen)  \(rate(callCount, fullTime)) calls, \(rate(2 * callCount, fullTime)) commits   (target: 2,000/s)")
print("  synchronous=NORMAL         \(rate(callCount, normalTime)) calls, \(rate(2 * callCount, normalTime)) commits")

// Bare sqlite3 baseline for the write: one INSERT per transaction, FULL, same file.
var rawDB: OpaquePointer?
sqlite3_open_v2(path, &rawDB, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
sqlite3_busy_timeout(rawDB, 5000)
sqlite3_exec(rawDB, "PRAGMA synchronous = FULL", nil, nil, nil)
var rawInsert: OpaquePointer?
sqlite3_prepare_v2(rawDB, "INSERT INTO call_records (uniqueid, src, start) VALUES (?, ?, 0)", -1, &rawInsert, nil)
let rawTime = clock.measure {
    for i in 0..<callCount {
        sqlite3_exec(rawDB, "BEGIN IMMEDIATE", nil, nil, nil)
        sqlite3_bind_text(rawInsert, 1, "raw-\(i)", -1, bare.transient)
        sqlite3_bind_text(rawInsert, 2, "+12015550100", -1, bare.transient)
        sqlite3_step(rawInsert)
        sqlite3_reset(rawInsert)
        sqlite3_exec(rawDB, "COMMIT", nil, nil, nil)
    }
}
sqlite3_finalize(rawInsert)
sqlite3_close_v2(rawDB)
print("  bare sqlite3, one INSERT per transaction, FULL: \(rate(callCount, rawTime)) commits")

// MARK: - The -shm choice

// Chosen: the WAL index stays a shared mapping of the -shm file (other programs read and write the
// store at the same time) and a SIGBUS guard turns a fault on it into a store error; each transaction
// reads the guard's fault count twice. The alternative that avoids the mapping, locking_mode=EXCLUSIVE
// (the WAL index in heap memory), locks every other process out of the file. Same run, fresh files.
let checks = 10_000_000
var faults = 0
let checkTime = clock.measure { for _ in 0..<checks { faults &+= omnigate_shm_guard_faults() } }
@MainActor func commitRate(exclusive: Bool) -> Duration {
    let file = directory + "/shm-\(exclusive ? "exclusive" : "shared").sqlite"
    var db: OpaquePointer?
    sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
    if exclusive { sqlite3_exec(db, "PRAGMA locking_mode = EXCLUSIVE", nil, nil, nil) }
    sqlite3_exec(db, "PRAGMA journal_mode = WAL", nil, nil, nil)
    sqlite3_exec(db, "PRAGMA synchronous = FULL", nil, nil, nil)
    sqlite3_exec(db, "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)", nil, nil, nil)
    var insert: OpaquePointer?
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, 'x')", -1, &insert, nil)
    let time = clock.measure {
        for i in 0..<callCount {
            sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            sqlite3_bind_text(insert, 1, "k-\(i)", -1, bare.transient)
            sqlite3_step(insert)
            sqlite3_reset(insert)
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
        }
    }
    sqlite3_finalize(insert)
    sqlite3_close_v2(db)
    return time
}
let sharedTime = commitRate(exclusive: false), exclusiveTime = commitRate(exclusive: true)
print("the -shm file (\(callCount) single-INSERT commits, FULL, fresh files):")
print("  mapped -shm with the SIGBUS guard (chosen): \(rate(callCount, sharedTime)) commits; the guard's check "
      + String(format: "%.1f ns", seconds(checkTime) * 1e9 / Double(checks)) + ", twice per transaction\(faults == 0 ? "" : " (faults seen)")")
print("  locking_mode=EXCLUSIVE, heap WAL index:     \(rate(callCount, exclusiveTime)) commits; no other process can open the store")

// MARK: - Import

let importLines = min(100_000, max(1_000, eventCount / 10))
var jsonl = ""
jsonl.reserveCapacity(importLines * 200)
for i in 0..<importLines {
    jsonl += "{\"source\":\"chat\",\"channel\":\"chat\",\"direction\":\"in\",\"time\":\"2026-11-24T10:00:00Z\","
        + "\"address\":\"\(DemoData.phone(of: i % contactCount))\",\"external_ref\":\"bench-\(i)\","
        + "\"subject\":\"Where is my order?\",\"body\":\"Hello, my order has not arrived yet.\",\"status\":\"closed\"}\n"
}
var imported = 0
let importTime = try clock.measure { imported = try store.importEvents(jsonl: Data(jsonl.utf8), file: "bench.jsonl").added }
print("import events (JSON Lines, one transaction): \(imported) in \(String(format: "%.2f s", seconds(importTime))), \(rate(imported, importTime))")

let csvCount = min(20_000, max(500, contactCount / 10))
var csv = "id,name,tier,company,phone,email\n"
for i in 0..<csvCount {
    csv += "csv-\(i),\"Customer \(i), Jr.\",gold,Example Ltd,+44 20 7946 \(String(format: "%04d", i % 10_000)) ;+61 2 9876 \(String(format: "%04d", i % 10_000)),"
        + "import\(i)@example.org\n"
}
// Phones repeat past 10,000 rows: keep the CSV valid by giving later rows an email only.
csv = csv.split(separator: "\n").enumerated().map { n, line in
    n > 10_000 ? line.replacingOccurrences(of: #",\+44[^,]*,"#, with: ",,", options: .regularExpression) : String(line)
}.joined(separator: "\n") + "\n"
var importedContacts = 0
let csvTime = try clock.measure { importedContacts = try store.importContacts(csv: Data(csv.utf8), file: "bench.csv") }
print("import contacts (CSV, one transaction): \(importedContacts) in \(String(format: "%.2f s", seconds(csvTime))), \(rate(importedContacts, csvTime))")

// MARK: - Size

print("database size: \(mb(fileSize(path))) (+ WAL \(mb(fileSize(path + "-wal")))) for \(contactCount + importedContacts) contacts, "
      + "\(eventCount + imported + 2 * callCount) events, \(2 * callCount) call records")
