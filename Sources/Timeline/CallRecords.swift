import Foundation

extension TimelineStore {
    /// Opens a call record when the INVITE arrives (state `ringing`). A retry
    /// with the same `uniqueid` changes nothing.
    public func openCallRecord(_ record: CallRecord) throws {
        try validate(record)
        try write { db in
            let contact = try record.contactID ?? owner(of: normalizer.candidates(record.customer), db)
            try db.run("""
                INSERT INTO call_records (uniqueid, direction, clid, src, dst, dcontext, channel, start, state, contact_id,
                                          sip_call_id, trunk, disposition)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ringing', ?, ?, ?, 'NO ANSWER')
                ON CONFLICT(uniqueid) DO NOTHING
                """, [.text(record.uniqueid), .text(record.direction.rawValue), .text(record.clid), .text(record.src),
                      .text(record.dst), .text(record.dcontext), .text(record.channel), .int(record.start.milliseconds),
                      .optional(contact), .optional(record.sipCallID), .optional(record.trunk)])
        }
    }

    /// Notes progress on an open record: answered, bridged to an agent (and when).
    public func updateCallRecord(uniqueid: String, state: String, answer: Date? = nil, agent: String? = nil,
                                 dstchannel: String? = nil, queue: String? = nil) throws {
        guard ["answered", "bridged"].contains(state) else {
            throw StoreError(.invalidValue, "a call record in progress is answered or bridged, not '\(state)'")
        }
        _ = try write { db in
            try db.run("""
                UPDATE call_records SET state = ?, answer = coalesce(answer, ?), agent = coalesce(?, agent),
                       dstchannel = coalesce(?, dstchannel), queue = coalesce(?, queue)
                WHERE uniqueid = ? AND state != 'ended'
                """, [.text(state), answer.map { .int($0.milliseconds) } ?? .null, .optional(agent), .optional(dstchannel),
                      .optional(queue), .text(uniqueid)])
        }
    }

    /// Finalises a record at hangup with every field, and puts the call on the
    /// caller's timeline as a voice event, in one transaction. Idempotent: a
    /// retry rewrites the same record and finds the same event.
    @discardableResult
    public func finalizeCallRecord(_ record: CallRecord) throws -> Int64 {
        var record = record
        try validate(record)
        record.state = "ended"
        let end = record.end ?? Date()
        record.end = end
        record.duration = max(0, Int((end.timeIntervalSince(record.start)).rounded(.down)))
        record.billsec = record.answer.map { max(0, Int(end.timeIntervalSince($0).rounded(.down))) } ?? 0
        return try write { db in
            let contact = try record.contactID ?? owner(of: normalizer.candidates(record.customer), db)
            record.contactID = contact
            let encoder = JSONEncoder()
            let path = String(decoding: try encoder.encode(record.dialplanPath), as: UTF8.self)
            try db.run("""
                INSERT INTO call_records (uniqueid, start) VALUES (?, ?) ON CONFLICT(uniqueid) DO NOTHING
                """, [.text(record.uniqueid), .int(record.start.milliseconds)])
            try db.run("""
                UPDATE call_records SET direction = ?, clid = ?, src = ?, dst = ?, dcontext = ?, channel = ?, dstchannel = ?, lastapp = ?,
                       lastdata = ?, start = ?, answer = ?, end = ?, duration = ?, billsec = ?, disposition = ?, userfield = ?,
                       state = 'ended', contact_id = ?, agent = ?, queue = ?, wait_ms = ?, sip_call_id = ?, sip_status = ?,
                       agent_sip_status = ?, hangup_side = ?, dialplan_path = ?, recording = ?, trunk = ?, interrupted = ?
                WHERE uniqueid = ?
                """, [.text(record.direction.rawValue), .text(record.clid), .text(record.src), .text(record.dst), .text(record.dcontext), .text(record.channel),
                      .text(record.dstchannel), .text(record.lastapp), .text(record.lastdata), .int(record.start.milliseconds),
                      record.answer.map { .int($0.milliseconds) } ?? .null, .int(end.milliseconds), .int(Int64(record.duration)),
                      .int(Int64(record.billsec)), .text(record.disposition), .text(record.userfield), .optional(contact),
                      .optional(record.agent), .optional(record.queue), record.waitMilliseconds.map { .int(Int64($0)) } ?? .null,
                      .optional(record.sipCallID), record.sipStatus.map { .int(Int64($0)) } ?? .null,
                      record.agentSIPStatus.map { .int(Int64($0)) } ?? .null, .optional(record.hangupSide), .text(path),
                      .optional(record.recording), .optional(record.trunk), .int(record.interrupted ? 1 : 0),
                      .text(record.uniqueid)])
            var event = TimelineEvent(channel: .voice, direction: record.direction, time: record.start, source: "omnigate")
            event.contactID = contact
            event.address = record.customer.isEmpty ? nil : record.customer
            event.subject = record.voiceSubject
            event.summary = record.voiceSummary
            event.status = "closed"
            event.agent = record.agent
            event.externalRef = "call:" + record.uniqueid
            return try insert(event, db)
        }
    }

    /// Closes records a crash or kill left open: disposition FAILED, marked
    /// interrupted, ended now, each on its caller's timeline. Returns how many.
    public func closeInterruptedCallRecords(now: Date = Date()) throws -> Int {
        let open = try read { db in try db.rows("SELECT uniqueid FROM call_records WHERE state != 'ended'") }
        var closed = 0
        for row in open {
            guard let id = row.text("uniqueid"), var record = try callRecord(uniqueid: id), record.state != "ended" else { continue }
            record.end = now
            record.disposition = "FAILED"
            record.interrupted = true
            record.hangupSide = "system"
            try finalizeCallRecord(record)
            closed += 1
        }
        return closed
    }

    /// One call record, or nil.
    public func callRecord(uniqueid: String) throws -> CallRecord? {
        try read { db in try db.rows("SELECT * FROM call_records WHERE uniqueid = ?", [.text(uniqueid)]).first.map(CallRecord.init(row:)) }
    }

    /// Ended call records that started at or after `since`, oldest first (for helpdesks).
    public func callRecords(since: Date? = nil, includeOpen: Bool = false) throws -> [CallRecord] {
        try read { db in
            try db.rows("""
                SELECT * FROM call_records WHERE start >= ? AND (? OR state = 'ended') ORDER BY start, uniqueid
                """, [.int(since?.milliseconds ?? 0), .int(includeOpen ? 1 : 0)]).map(CallRecord.init(row:))
        }
    }

    private func validate(_ record: CallRecord) throws {
        try Limits.check(id: record.uniqueid, "uniqueid")
        for (value, field) in [(record.clid, "clid"), (record.src, "src"), (record.dst, "dst"), (record.dcontext, "dcontext"),
                               (record.channel, "channel"), (record.dstchannel, "dstchannel"), (record.lastapp, "lastapp"),
                               (record.userfield, "userfield")] {
            try Limits.check(line: value, field, max: Limits.name)
        }
        try Limits.check(line: record.lastdata, "lastdata", max: Limits.subject)
        if let recording = record.recording { try Limits.check(line: recording, "recording", max: Limits.path) }
        for (value, field) in [(record.agent, "agent"), (record.queue, "queue"), (record.sipCallID, "SIP Call-ID"),
                               (record.hangupSide, "hangup side"), (record.trunk, "trunk")] {
            if let value { try Limits.check(line: value, field, max: Limits.name) }
        }
        guard CallRecord.dispositions.contains(record.disposition) else {
            throw StoreError(.invalidValue, "disposition '\(record.disposition)' is not one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION")
        }
        guard record.dialplanPath.count <= Limits.pathSteps else {
            throw StoreError(.invalidValue, "the dialplan path has \(record.dialplanPath.count) steps; the limit is \(Limits.pathSteps)")
        }
        for step in record.dialplanPath { try Limits.check(line: step, "dialplan step", max: Limits.subject) }
    }
}

extension CallRecord {
    init(row: Row) {
        self.init(uniqueid: row.text("uniqueid") ?? "", start: Date(milliseconds: row.int("start") ?? 0))
        direction = row.text("direction") == Direction.outbound.rawValue ? .outbound : .inbound
        clid = row.text("clid") ?? ""
        src = row.text("src") ?? ""
        dst = row.text("dst") ?? ""
        dcontext = row.text("dcontext") ?? ""
        channel = row.text("channel") ?? ""
        dstchannel = row.text("dstchannel") ?? ""
        lastapp = row.text("lastapp") ?? ""
        lastdata = row.text("lastdata") ?? ""
        answer = row.int("answer").map(Date.init(milliseconds:))
        end = row.int("end").map(Date.init(milliseconds:))
        duration = Int(row.int("duration") ?? 0)
        billsec = Int(row.int("billsec") ?? 0)
        disposition = row.text("disposition") ?? "NO ANSWER"
        userfield = row.text("userfield") ?? ""
        state = row.text("state") ?? "ringing"
        contactID = row.text("contact_id")
        agent = row.text("agent")
        queue = row.text("queue")
        waitMilliseconds = row.int("wait_ms").map { Int($0) }
        sipCallID = row.text("sip_call_id")
        sipStatus = row.int("sip_status").map { Int($0) }
        agentSIPStatus = row.int("agent_sip_status").map { Int($0) }
        hangupSide = row.text("hangup_side")
        dialplanPath = (row.text("dialplan_path")?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String].self, from: $0) } ?? []
        recording = row.text("recording")
        trunk = row.text("trunk")
        interrupted = row.int("interrupted") == 1
    }

    /// The customer's side of the call: the caller of an inbound call, the callee of an outbound one.
    var customer: String { direction == .outbound ? dst : src }

    /// The voice event's subject: who called whom.
    var voiceSubject: String {
        if direction == .outbound { return "Call to \(dst.isEmpty ? "unknown" : dst)" + (agent.map { " by \($0)" } ?? "") }
        let target = queue.map { "queue \($0)" } ?? (dst.isEmpty ? "the gateway" : dst)
        return "Call from \(src.isEmpty ? "unknown" : src) to \(target)"
    }

    /// The voice event's summary: how it went, in one line.
    var voiceSummary: String {
        var parts: [String] = []
        switch disposition {
        case "ANSWERED":
            if let agent { parts.append("Answered by \(agent)") } else { parts.append("Answered") }
            parts.append("talked \(billsec / 60)m \(billsec % 60)s")
        case "NO ANSWER": parts.append("Missed call")
        default: parts.append(disposition.capitalized)
        }
        if let waitMilliseconds { parts.append("waited \(waitMilliseconds / 1000)s") }
        if recording != nil { parts.append("left a voicemail") }
        if interrupted { parts.append("interrupted by a gateway restart") }
        return parts.joined(separator: ", ")
    }
}

extension Date {
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
}
