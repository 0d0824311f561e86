import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

/// Journey figures from the timeline (docs/console.md): held to the demo data
/// set's hand-computed sums, in a real SQLite file.
@Suite("journey figures")
struct JourneyTests {
    final class Scratch {
        let directory: String
        init() throws { directory = try TestPaths.temporaryDirectory("journeys") }
        deinit { try? FileManager.default.removeItem(atPath: directory) }
        var path: String { directory + "/store.sqlite" }
    }

    static func day(_ text: String) -> Date { Timestamp.parse(text)! }

    @Test("first-contact resolution, repeat contacts by first channel and channel switches match the hand-computed demo set", arguments: StoreBackend.testable)
    func demoJourneys(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        try store.importContacts(csv: Data(JourneyDemo.contacts.utf8), file: "contacts.csv")
        _ = try store.importEvents(jsonl: Data(JourneyDemo.eventLines.utf8), file: "events.jsonl")
        let report = try store.journeyReport(from: Self.day(JourneyDemo.from), to: Self.day(JourneyDemo.to), window: .seconds(7 * 86400))
        #expect(report.journeys == JourneyDemo.journeys)
        #expect(report.contacts == JourneyDemo.contactCount)
        #expect(report.resolvedAtFirstContact == JourneyDemo.resolved)
        #expect(report.firstContactResolution == JourneyDemo.firstContactResolution)
        #expect(report.repeatContactRate == JourneyDemo.repeatContactRate)
        #expect(report.channelSwitches == JourneyDemo.channelSwitches)
        #expect(report.switchesPerJourney == Double(JourneyDemo.channelSwitches) / Double(JourneyDemo.journeys))
        let byChannel = Dictionary(uniqueKeysWithValues: report.byFirstChannel.map { ($0.channel, ($0.journeys, $0.repeated)) })
        #expect(byChannel.count == JourneyDemo.byFirstChannel.count)
        for (channel, figures) in JourneyDemo.byFirstChannel {
            #expect(byChannel[channel]?.0 == figures.journeys && byChannel[channel]?.1 == figures.repeated, "\(channel): \(String(describing: byChannel[channel]))")
        }
        // A shorter window splits journeys: with 1 day, c-ada's voice and email (2 days apart) are two, and only
        // c-bob's sms of 11-05 and call of 11-06 (a day apart: within it) stay one journey with a switch.
        let short = try store.journeyReport(from: Self.day(JourneyDemo.from), to: Self.day(JourneyDemo.to), window: .seconds(86400))
        #expect(short.journeys == 11 && short.channelSwitches == 1, "\(short.journeys) \(short.channelSwitches)")
        // Nothing in an empty period: no rates rather than zeros.
        let empty = try store.journeyReport(from: Self.day("2025-01-01"), to: Self.day("2025-02-01"))
        #expect(empty.journeys == 0 && empty.firstContactResolution == nil && empty.queues.isEmpty)
    }

    @Test("service level and abandon rate per queue and day: answered within the time over offered, unanswered over offered", arguments: StoreBackend.testable)
    func queueDays(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        func call(_ id: String, _ start: String, queue: String, waited seconds: Double?, answered: Bool) throws {
            var record = CallRecord(uniqueid: id, start: Self.day(start))
            record.src = "+12025550142"
            record.queue = queue
            if answered, let seconds {
                record.answer = record.start.addingTimeInterval(seconds)
                record.waitMilliseconds = Int(seconds * 1000)
                record.disposition = "ANSWERED"
            } else {
                record.disposition = "NO ANSWER"
            }
            record.end = record.start.addingTimeInterval(120)
            try store.finalizeCallRecord(record)
        }
        // support on 11-02: 4 offered, 3 answered (2 within 20 s), 1 abandoned; on 11-03: 1 offered, abandoned.
        try call("q1", "2026-11-02T09:00:00Z", queue: "support", waited: 5, answered: true)
        try call("q2", "2026-11-02T10:00:00Z", queue: "support", waited: 20, answered: true)
        try call("q3", "2026-11-02T11:00:00Z", queue: "support", waited: 45, answered: true)
        try call("q4", "2026-11-02T12:00:00Z", queue: "support", waited: nil, answered: false)
        try call("q5", "2026-11-03T12:00:00Z", queue: "support", waited: nil, answered: false)
        // sales on 11-02: 1 offered, answered in 3 s.
        try call("q6", "2026-11-02T12:00:00Z", queue: "sales", waited: 3, answered: true)
        let report = try store.journeyReport(from: Self.day("2026-11-01"), to: Self.day("2026-12-01"), serviceLevel: .seconds(20))
        let days = report.queues.map { "\($0.queue) \($0.day) \($0.offered) \($0.answered) \($0.answeredInTime) \($0.abandoned)" }
        #expect(days == ["sales 2026-11-02 1 1 1 0", "support 2026-11-02 4 3 2 1", "support 2026-11-03 1 0 0 1"], "\(days)")
        #expect(report.queues[1].serviceLevel == 0.5 && report.queues[1].abandonRate == 0.25)
        #expect(report.queues[2].serviceLevel == 0 && report.queues[2].abandonRate == 1)
        // The CSV: one figure a line, a queue name a customer could not choose but escaped all the same.
        let csv = report.csv.split(separator: "\r\n").map(String.init)
        #expect(csv.first == "figure,day,queue,channel,count,of,value")
        #expect(csv.contains("service_level,2026-11-02,support,,2,4,0.5000"), "\(csv)")
        #expect(csv.contains("abandon_rate,2026-11-03,support,,1,1,1.0000"), "\(csv)")
    }

    @Test("a wrap-up is a note joined to its call by the uniqueid, once per call and agent; an unknown call is refused", arguments: StoreBackend.testable)
    func wrapUp(backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch.directory)
        try store.importContacts(csv: Data(JourneyDemo.contacts.utf8), file: "contacts.csv")
        var record = CallRecord(uniqueid: "w1", start: Date().addingTimeInterval(-60))
        record.src = "+12025550142"
        record.agent = "alice"
        record.disposition = "ANSWERED"
        record.answer = record.start.addingTimeInterval(2)
        try store.finalizeCallRecord(record)
        let note = try store.recordWrapUp(uniqueid: "w1", agent: "alice", disposition: "resolved", note: "Refund sent <b>today</b>",
                                          followUp: Self.day("2026-12-03"))
        #expect(note.channel == .note && note.threadID == "w1" && note.contactID == "c-ada" && note.status == "open")
        #expect(note.body == "Refund sent <b>today</b>", "kept as written: the console shows it as text")
        #expect(try store.notes(ofCall: "w1").map(\.id) == [note.id])
        #expect(try store.events(forContact: "c-ada").first?.id == note.id, "newest on the customer's timeline")
        #expect(throws: StoreError.self) { try store.recordWrapUp(uniqueid: "w1", agent: "alice", disposition: "resolved", note: "", followUp: nil) }
        #expect(throws: StoreError.self) { try store.recordWrapUp(uniqueid: "nope", agent: "alice", disposition: "resolved", note: "", followUp: nil) }
    }
}
