import Foundation

/// Where an SMS is. Outbound messages only move forward, and each status says
/// what is known: `sending` until the next hop answers, `accepted` when it
/// answered 2xx (202 for SIP MESSAGE), `delivered` only when a delivery report
/// says so, `failed` when the next hop or a report refused it.
public enum MessageStatus: String, Sendable, Codable, CaseIterable {
    /// An inbound message the gateway took in. It never changes.
    case received
    case sending, accepted, delivered, failed

    /// How far an outbound message has got; a status never moves to a lower one.
    var rank: Int {
        switch self {
        case .received: -1
        case .sending: 0
        case .accepted: 1
        case .delivered, .failed: 2
        }
    }
}

extension TimelineStore {
    /// Puts an SMS the gateway received on the sender's timeline (status
    /// `received`). `reference` is the message's own id (the SIP MESSAGE's
    /// Call-ID): a retransmission with the same one is stored once. Control
    /// characters in the body (other than line breaks and tabs) become U+FFFD,
    /// since a message from the network is kept rather than refused.
    @discardableResult
    public func recordIncomingSMS(from sender: String, to recipient: String, body: String, reference: String,
                                  time: Date = Date()) throws -> TimelineEvent {
        try write { db in try incomingSMS(from: sender, to: recipient, body: body, reference: reference, time: time, db) }
    }

    func incomingSMS(from sender: String, to recipient: String, body: String, reference: String, time: Date,
                     _ db: Connection) throws -> TimelineEvent {
        var event = TimelineEvent(channel: .sms, direction: .inbound, time: time, source: "omnigate")
        event.address = sender
        event.body = Self.keepingLines(body)
        event.summary = Self.firstLine(event.body ?? "")
        event.subject = "SMS from \(sender) to \(recipient)"
        event.status = MessageStatus.received.rawValue
        event.externalRef = "sms:" + Fitting.line(reference, max: Limits.ref - 4).value
        return try self.event(id: insert(event.fitted(), db), db)
    }

    /// Puts an SMS the gateway is sending on the recipient's timeline, as
    /// `sending`. Then `updateSMSStatus(reference:to:)` moves it on.
    @discardableResult
    public func recordOutgoingSMS(to recipient: String, from sender: String, body: String, reference: String,
                                  agent: String? = nil, time: Date = Date()) throws -> TimelineEvent {
        try write { db in try outgoingSMS(to: recipient, from: sender, body: body, reference: reference, agent: agent, time: time, db) }
    }

    func outgoingSMS(to recipient: String, from sender: String, body: String, reference: String, agent: String?, time: Date,
                     _ db: Connection) throws -> TimelineEvent {
        var event = TimelineEvent(channel: .sms, direction: .outbound, time: time, source: "omnigate")
        event.address = recipient
        event.body = body
        event.summary = Self.firstLine(body)
        event.subject = "SMS to \(recipient) from \(sender)"
        event.status = MessageStatus.sending.rawValue
        event.agent = agent
        event.externalRef = "sms:" + reference
        try Limits.check(line: sender, "sender", max: Limits.identity)
        return try self.event(id: insert(event, db), db)
    }

    /// Moves an outbound SMS on: `accepted` when the next hop answered 2xx,
    /// `delivered` on a delivery report, `failed` on a refusal. A status that
    /// arrives late (a 202 after the delivery report) changes nothing; the
    /// event is returned as it stands.
    /// - Throws: `.notFound` for an unknown reference; `.invalidValue` for a
    ///   change that cannot be true (an inbound message, delivered then failed).
    @discardableResult
    public func updateSMSStatus(reference: String, to status: MessageStatus) throws -> TimelineEvent {
        try write { db in try smsStatus(reference: reference, to: status, db) }
    }

    func smsStatus(reference: String, to status: MessageStatus, _ db: Connection) throws -> TimelineEvent {
        guard let row = try db.rows("SELECT id, status FROM events WHERE source = 'omnigate' AND external_ref = ? AND channel = 'sms'",
                                    [.text("sms:" + reference)]).first, let id = row.int("id") else {
            throw StoreError(.notFound, "no SMS with reference '\(reference)'")
        }
        let current = MessageStatus(rawValue: row.text("status") ?? "") ?? .sending
        if current == status || (current != .received && status.rank < current.rank) {
            return try self.event(id: id, db)
        }
        guard current != .received, status != .received, current.rank < 2 else {
            throw StoreError(.invalidValue, "SMS '\(reference)' is \(current.rawValue); it cannot become \(status.rawValue)")
        }
        try db.run("UPDATE events SET status = ? WHERE id = ?", [.text(status.rawValue), .int(id)])
        return try self.event(id: id, db)
    }

    /// Puts a voicemail on the caller's timeline: a voice event with the
    /// recording (a WAV the gateway made) and its length, status `open` so it
    /// shows among the caller's open items until someone closes it.
    /// `callID` makes it idempotent: the same call's voicemail is stored once.
    @discardableResult
    public func recordVoicemail(callID: String, from caller: String, mailbox: String, recordingPath: String,
                                durationMilliseconds: Int, time: Date = Date()) throws -> TimelineEvent {
        try write { db in
            try voicemail(callID: callID, from: caller, mailbox: mailbox, recordingPath: recordingPath,
                          durationMilliseconds: durationMilliseconds, time: time, db)
        }
    }

    func voicemail(callID: String, from caller: String, mailbox: String, recordingPath: String, durationMilliseconds: Int,
                   time: Date, _ db: Connection) throws -> TimelineEvent {
        var event = TimelineEvent(channel: .voice, direction: .inbound, time: time, source: "omnigate")
        event.address = caller
        event.subject = "Voicemail for \(mailbox)"
        let seconds = max(0, durationMilliseconds) / 1000
        event.summary = "Voicemail from \(caller), \(seconds / 60):\(String(format: "%02d", seconds % 60))"
        event.status = "open"
        event.mediaPath = recordingPath
        event.mediaDurationMilliseconds = durationMilliseconds
        event.externalRef = "voicemail:" + callID
        return try self.event(id: insert(event.fitted(), db), db)
    }

    /// One event by id, read on `db` (inside the caller's transaction).
    func event(id: Int64, _ db: Connection) throws -> TimelineEvent {
        guard let row = try db.rows("SELECT * FROM events WHERE id = ?", [.int(id)]).first else {
            throw StoreError(.notFound, "no event \(id)")
        }
        return TimelineEvent(row: row)
    }

    /// Text from the network with control characters other than line breaks and tabs replaced by U+FFFD.
    static func keepingLines(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isForbidden) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isForbidden(scalar) ? "\u{FFFD}" : scalar) }
        return String(scalars)
    }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\r" && scalar != "\t") || scalar.value == 0x7f
    }

    /// The first line of a message, cut to 140 characters, for its summary.
    static func firstLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 140 ? String(line.prefix(139)) + "…" : line
    }
}
