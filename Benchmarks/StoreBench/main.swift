// store-bench: the store's two backends side by side, in one run: the screen pop's lookup and
// durable call-record writes on SQLite (a file) and on PostgreSQL (a server this program starts
// in a temporary directory, with fsync and synchronous_commit on, reached by its Unix socket).
// A program that prints numbers, not a test.
//
//   swift run -c release store-bench [--contacts N] [--events M] [--pops K] [--calls C] [--postgresql URI]
//                                    [--only sqlite|postgresql]
//
// Defaults: 100,000 contacts, 1,000,000 events, 20,000 pops, 5,000 calls. With --postgresql the
// server given is used (its database must be empty) instead of one of the program's own.

import CLibPQ
import Foundation
import OmnigateTestSupport
import Timeline

let options: [String: String] = {
    var options: [String: String] = [:]
    var argv = Array(CommandLine.arguments.dropFirst())
    while !argv.isEmpty {
        let name = argv.removeFirst()
        if name == "--help" || name == "-h" {
            print("usage: store-bench [--contacts N] [--events M] [--pops K] [--calls C] [--postgresql URI] [--only sqlite|postgresql]")
            exit(0)
        }
        guard name.hasPrefix("--"), !argv.isEmpty else {
            FileHandle.standardError.write(Data("store-bench: bad argument \(name)\n".utf8))
            exit(2)
        }
        options[String(name.dropFirst(2))] = argv.removeFirst()
    }
    return options
}()
func number(_ name: String, _ value: Int) -> Int {
    guard let text = options[name] else { return value }
    guard let n = Int(text), n >= 0 else { FileHandle.standardError.write(Data("store-bench: --\(name) takes a number\n".utf8)); exit(2) }
    return n
}
let contactCount = max(1, number("contacts", 100_000))
let eventCount = number("events", 1_000_000)
let popCount = max(100, number("pops", 20_000))
let callCount = max(100, number("calls", 5_000))

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
func perSecond(_ count: Int, _ duration: Duration) -> String { String(format: "%.0f/s", Double(count) / seconds(duration)) }
let clock = ContinuousClock()

// MARK: - The two stores

let directory = NSTemporaryDirectory() + "store-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

let only = options["only"]
if let only, only != "sqlite" && only != "postgresql" {
    FileHandle.standardError.write(Data("store-bench: --only takes sqlite or postgresql\n".utf8))
    exit(2)
}
var ownServer: PostgresServer?
let postgresURI: String
if only == "sqlite" {
    postgresURI = ""
} else if let given = options["postgresql"] {
    postgresURI = given
} else {
    log("store-bench: starting PostgreSQL (durable: fsync and synchronous_commit on)")
    let server = try PostgresServer(fsync: true)
    ownServer = server
    try server.psql("CREATE DATABASE bench")
    postgresURI = server.connectionString(database: "bench")
}
defer { ownServer?.stop() }

print("store-bench: \(contactCount) contacts, \(eventCount) events, \(popCount) pops, \(callCount) calls; "
      + "SQLite \(TimelineStore.sqliteVersion), PostgreSQL \(PQlibVersion() / 10000) (libpq), one machine, Unix socket")

struct Figures {
    var fill = ""
    var pop = ""
    var single = ""
    var batched = ""
    var full = ""
}

/// The numbers looked up: demo contacts' phones, as a trunk sends them.
var random = SystemRandomNumberGenerator()
let numbers: [String] = (0..<popCount).map { _ in DemoData.phone(of: Int.random(in: 0..<contactCount, using: &random)) }

func calls(_ label: String, _ count: Int) -> [(open: StoreWrite, end: StoreWrite)] {
    let start = Date()
    return (0..<count).map { i in
        var record = CallRecord(uniqueid: "bench-\(label)-\(i)", start: start)
        record.src = DemoData.phone(of: i % contactCount)
        record.dst = "+12025550199"
        record.clid = "\"Caller\" <\(record.src)>"
        record.dcontext = "from-trunk"
        record.channel = "SIP/trunk-\(i)"
        let open = StoreWrite.openCall(record)
        record.answer = start.addingTimeInterval(4)
        record.end = start.addingTimeInterval(64)
        record.disposition = "ANSWERED"
        record.agent = "agent\(i % 40)"
        record.queue = "support"
        record.waitMilliseconds = 4000
        record.lastapp = "Queue"
        record.hangupSide = "caller"
        record.sipStatus = 200
        record.dialplanPath = ["from-trunk,s,1: Answer()", "from-trunk,s,2: Queue(support)"]
        return (open, .finalizeCall(record))
    }
}

func measure(_ name: String, _ store: TimelineStore) throws -> Figures {
    var figures = Figures()
    var last = clock.now
    let fill = try clock.measure {
        try store.fillDemoData(contacts: contactCount, events: eventCount) { what, done, total in
            if done == total || clock.now - last > .seconds(5) { last = clock.now; log("  \(name) demo-data: \(what) \(done)/\(total)") }
        }
    }
    figures.fill = String(format: "%.0f s", seconds(fill)) + " (\(perSecond(contactCount + eventCount, fill)) rows)"
    for number in numbers.prefix(500) { _ = try store.screenPop(for: number) }  // warm caches and prepared statements
    var samples: [Double] = []
    for number in numbers {
        let start = clock.now
        let pop = try store.screenPop(for: number, limit: 10)
        samples.append(seconds(clock.now - start) * 1000)
        precondition(pop.known, "demo number \(number) is not known")
    }
    samples.sort()
    figures.pop = "\(ms(percentile(samples, 0.5))) / \(ms(percentile(samples, 0.99)))"
    // A quiet gateway: each write its own transaction (open at ringing, finalise at hangup).
    let quiet = calls(name + "-single", callCount)
    let single = try clock.measure { for call in quiet { try store.apply([call.open]); try store.apply([call.end]) } }
    figures.single = perSecond(callCount, single)
    // A busy gateway: its writer takes what queued while the last commit ran (up to 256); 64 here.
    func batches(_ label: String, of size: Int) throws -> String {
        let busy = calls(name + "-" + label, callCount)
        let writes = busy.map(\.open) + busy.map(\.end)
        let time = try clock.measure {
            for chunk in stride(from: 0, to: writes.count, by: size) { try store.apply(Array(writes[chunk..<min(chunk + size, writes.count)])) }
        }
        return perSecond(callCount, time)
    }
    figures.batched = try batches("batched", of: 64)
    // The most the gateway's writer takes in one transaction.
    figures.full = try batches("full", of: 256)
    return figures
}

var sqlite = Figures(), postgres = Figures()
if only != "postgresql" {
    log("store-bench: SQLite")
    sqlite = try measure("sqlite", TimelineStore(path: directory + "/bench.sqlite"))
}
if only != "sqlite" {
    log("store-bench: PostgreSQL")
    postgres = try measure("postgresql", TimelineStore(postgresql: postgresURI, poolSize: 2))
}

func row(_ label: String, _ a: String, _ b: String) {
    print("  " + label.padding(toLength: 44, withPad: " ", startingAt: 0) + a.padding(toLength: 26, withPad: " ", startingAt: 0) + b)
}
row("", "SQLite (synchronous=FULL)", "PostgreSQL (fsync, synchronous_commit on)")
row("fill (demo-data, 10,000 rows a transaction)", sqlite.fill, postgres.fill)
row("screen pop p50 / p99", sqlite.pop, postgres.pop)
row("call records, a transaction per write", sqlite.single, postgres.single)
row("call records, 64 writes a transaction", sqlite.batched, postgres.batched)
row("call records, 256 writes a transaction", sqlite.full, postgres.full)
print("  (a call record is open + finalise with its voice event: two writes)")
if only != "sqlite" {
    // Baseline: one bare libpq INSERT per transaction on the same server (the commit's floor).
    let bare = PQconnectdb(postgresURI)
    precondition(PQstatus(bare) == CONNECTION_OK, String(cString: PQerrorMessage(bare)))
    PQclear(PQexec(bare, "CREATE TABLE bare (id TEXT PRIMARY KEY, v TEXT)"))
    let bareTime = clock.measure {
        for i in 0..<callCount { PQclear(PQexec(bare, "INSERT INTO bare VALUES ('k-\(i)', 'x')")) }
    }
    let roundTrip = clock.measure { for _ in 0..<callCount { PQclear(PQexec(bare, "SELECT 1")) } }
    PQfinish(bare)
    print("  baseline on the same PostgreSQL: a bare INSERT per transaction \(perSecond(callCount, bareTime)); "
          + "SELECT 1 round trip \(String(format: "%.1f µs", seconds(roundTrip) * 1e6 / Double(callCount)))")
}
