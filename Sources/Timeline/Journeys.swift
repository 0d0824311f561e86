import Foundation

/// Journey figures measured across channels from the timeline, not per
/// channel (docs/timeline.md, "Journeys"). A customer is a contact, or an
/// address no contact owns. A *contact* is an interaction the customer
/// started: an event with direction `in` on voice, SMS, chat, email or
/// social (notes and outbound events are not contacts). A *journey* is a
/// customer's run of contacts each within `window` of the one before; it
/// belongs to the period its first contact falls in, and contacts after the
/// period still count towards it. A journey of one contact is resolved at
/// first contact.
public struct JourneyReport: Sendable, Codable, Equatable {
    public struct ChannelFigures: Sendable, Codable, Equatable {
        /// The channel of the journeys' first contact.
        public var channel: String
        public var journeys = 0
        /// Journeys with a further contact within the window.
        public var repeated = 0
        public var repeatRate: Double?
    }

    /// One queue on one day (UTC): calls that reached it.
    public struct QueueDay: Sendable, Codable, Equatable {
        public var queue: String
        /// `2026-11-24`.
        public var day: String
        public var offered = 0
        public var answered = 0
        /// Answered within the service-level time.
        public var answeredInTime = 0
        /// Left (hung up, timed out) before an agent answered.
        public var abandoned = 0
        public var serviceLevel: Double?
        public var abandonRate: Double?
    }

    public var from: Date
    public var to: Date
    public var windowDays: Int
    public var serviceLevelSeconds: Int
    public var journeys = 0
    public var contacts = 0
    public var resolvedAtFirstContact = 0
    public var firstContactResolution: Double?
    /// Journeys with a further contact, over all journeys.
    public var repeatContactRate: Double?
    public var byFirstChannel: [ChannelFigures] = []
    /// Changes of channel from one contact to the next, in all journeys.
    public var channelSwitches = 0
    public var switchesPerJourney: Double?
    public var queues: [QueueDay] = []

    /// The figures as CSV, one figure a line: `figure,day,queue,channel,count,of,value`.
    public var csv: String {
        func rate(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
        var lines = ["figure,day,queue,channel,count,of,value"]
        lines.append("first_contact_resolution,,,,\(resolvedAtFirstContact),\(journeys),\(rate(firstContactResolution))")
        lines.append("repeat_contact_rate,,,,\(journeys - resolvedAtFirstContact),\(journeys),\(rate(repeatContactRate))")
        for channel in byFirstChannel {
            lines.append("repeat_contact_rate,,,\(CallRecordExport.csvCell(channel.channel)),\(channel.repeated),\(channel.journeys),\(rate(channel.repeatRate))")
        }
        lines.append("channel_switches_per_journey,,,,\(channelSwitches),\(journeys),\(rate(switchesPerJourney))")
        for day in queues {
            let queue = CallRecordExport.csvCell(day.queue)
            lines.append("service_level,\(day.day),\(queue),,\(day.answeredInTime),\(day.offered),\(rate(day.serviceLevel))")
            lines.append("abandon_rate,\(day.day),\(queue),,\(day.abandoned),\(day.offered),\(rate(day.abandonRate))")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

extension TimelineStore {
    /// The channels a customer starts contacts on.
    static let contactChannels = ["voice", "sms", "chat", "email", "social"]

    /// Journey figures for journeys starting in `from ..< to`, and each queue's
    /// service level (answered within `serviceLevel`) and abandon rate per day.
    /// Reads one snapshot.
    public func journeyReport(from: Date, to: Date, window: Duration = .seconds(7 * 86400),
                              serviceLevel: Duration = .seconds(20)) throws -> JourneyReport {
        let windowMilliseconds = window.components.seconds * 1000
        var report = JourneyReport(from: from, to: to, windowDays: Int(window.components.seconds / 86400),
                                   serviceLevelSeconds: Int(serviceLevel.components.seconds))
        try read { db in
            // Contacts from one window before the period (to know whether a contact in it starts a journey)
            // to one window after it (to see a journey's further contacts).
            let channels = Self.contactChannels.map { "'\($0)'" }.joined(separator: ",")
            let rows = try db.rows("""
                SELECT coalesce(contact_id, 'address:' || address) AS customer, channel, occurred_at FROM events
                WHERE direction IN ('in', 'inbound') AND channel IN (\(channels)) AND (contact_id IS NOT NULL OR address IS NOT NULL)
                  AND occurred_at >= ? AND occurred_at < ?
                ORDER BY customer, occurred_at, id
                """, [.int(from.milliseconds - windowMilliseconds), .int(to.milliseconds + windowMilliseconds)])
            var byChannel: [String: JourneyReport.ChannelFigures] = [:]
            var index = 0
            while index < rows.count {
                // One customer's contacts, in time order, cut into journeys.
                let customer = rows[index].text("customer")
                var end = index
                while end < rows.count && rows[end].text("customer") == customer { end += 1 }
                var journey: [(channel: String, at: Int64)] = []
                var previous: Int64?
                func close() {
                    defer { journey = [] }
                    guard let first = journey.first, first.at >= from.milliseconds, first.at < to.milliseconds else { return }
                    report.journeys += 1
                    report.contacts += journey.count
                    if journey.count == 1 { report.resolvedAtFirstContact += 1 }
                    var figures = byChannel[first.channel] ?? .init(channel: first.channel)
                    figures.journeys += 1
                    if journey.count > 1 { figures.repeated += 1 }
                    byChannel[first.channel] = figures
                    report.channelSwitches += zip(journey, journey.dropFirst()).filter { $0.channel != $1.channel }.count
                }
                for row in rows[index..<end] {
                    let at = row.int("occurred_at") ?? 0
                    if let previous, at - previous > windowMilliseconds { close() }
                    journey.append((row.text("channel") ?? "", at))
                    previous = at
                }
                close()
                index = end
            }
            report.byFirstChannel = byChannel.values.sorted { $0.channel < $1.channel }.map { figures in
                var figures = figures
                figures.repeatRate = Double(figures.repeated) / Double(figures.journeys)
                return figures
            }
            if report.journeys > 0 {
                report.firstContactResolution = Double(report.resolvedAtFirstContact) / Double(report.journeys)
                report.repeatContactRate = 1 - report.firstContactResolution!
                report.switchesPerJourney = Double(report.channelSwitches) / Double(report.journeys)
            }

            // Queue calls, by the day (UTC) they started.
            let calls = try db.rows("""
                SELECT queue, start, answer, disposition, wait_ms FROM call_records
                WHERE queue IS NOT NULL AND queue != '' AND state = 'ended' AND start >= ? AND start < ?
                ORDER BY queue, start
                """, [.int(from.milliseconds), .int(to.milliseconds)])
            var days: [String: JourneyReport.QueueDay] = [:]
            let dayStyle = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day()
            let limit = serviceLevel.components.seconds * 1000
            for call in calls {
                let queue = call.text("queue") ?? ""
                let start = call.int("start") ?? 0
                let day = dayStyle.format(Date(timeIntervalSince1970: Double(start) / 1000))
                var figures = days[queue + "\n" + day] ?? .init(queue: queue, day: day)
                figures.offered += 1
                if call.text("disposition") == "ANSWERED", let answer = call.int("answer") {
                    figures.answered += 1
                    if (call.int("wait_ms") ?? (answer - start)) <= limit { figures.answeredInTime += 1 }
                } else {
                    figures.abandoned += 1
                }
                days[queue + "\n" + day] = figures
            }
            report.queues = days.values.sorted { ($0.queue, $0.day) < ($1.queue, $1.day) }.map { figures in
                var figures = figures
                figures.serviceLevel = Double(figures.answeredInTime) / Double(figures.offered)
                figures.abandonRate = Double(figures.abandoned) / Double(figures.offered)
                return figures
            }
        }
        return report
    }

    /// A call's wrap-up: a note on the caller's timeline joined to the call by
    /// its uniqueid (`thread_id`), written once per call and agent
    /// (`external_ref` `wrapup:UNIQUEID:AGENT`; a second wrap-up of the same
    /// call by the same agent is refused as a conflict). `followUp` makes it an
    /// open item until then.
    public func recordWrapUp(uniqueid: String, agent: String, disposition: String, note: String, followUp: Date?,
                             at time: Date = Date()) throws -> TimelineEvent {
        guard let record = try callRecord(uniqueid: uniqueid) else {
            throw StoreError(.notFound, "no call '\(uniqueid)'")
        }
        var event = TimelineEvent(channel: .note, direction: .internal, time: time, source: "omnigate")
        event.contactID = record.contactID
        event.address = record.customer.isEmpty ? nil : record.customer
        event.subject = "Wrap-up: " + disposition
        event.summary = note.isEmpty ? disposition : String(note.prefix(200))
        event.body = note
        event.status = followUp == nil ? "closed" : "open"
        if let followUp { event.summary = (event.summary ?? "") + " (follow up by \(Timestamp.string(followUp).prefix(10)))" }
        event.agent = agent
        event.threadID = uniqueid
        event.externalRef = "wrapup:\(uniqueid):\(agent)"
        return try write { db in
            guard let id = try insertIfNew(event, db) else {
                throw StoreError(.conflict, "call '\(uniqueid)' is wrapped up already by \(agent)")
            }
            return try db.rows("SELECT * FROM events WHERE id = ?", [.int(id)]).map(TimelineEvent.init(row:)).first!
        }
    }

    /// The notes joined to a call (its wrap-ups), oldest first.
    public func notes(ofCall uniqueid: String) throws -> [TimelineEvent] {
        try read { db in
            try db.rows("SELECT * FROM events WHERE thread_id = ? AND channel = 'note' ORDER BY occurred_at, id", [.text(uniqueid)])
                .map(TimelineEvent.init(row:))
        }
    }

    /// One event by its id.
    public func event(id: Int64) throws -> TimelineEvent? {
        try read { db in try db.rows("SELECT * FROM events WHERE id = ?", [.int(id)]).first.map(TimelineEvent.init(row:)) }
    }
}
