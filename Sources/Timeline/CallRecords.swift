import Foundation

extension TimelineStore {
    /// Opens a call record when the INVITE arrives (state `ringing`). A retry
    /// with the same `uniqueid` changes nothing. Values that do not fit are fitted, never refused.
    public func openCallRecord(_ record: CallRecord) throws {
        try write { db in try open(record, db) }
    }

    func open(_ record: CallRecord, _ db: Connection) throws {
        let record = record.fitted()
        try Limits.check(id: record.uniqueid, "uniqueid")
        let contact = try record.contactID ?? owner(of: normalizer.candidates(record.customer), db)
        try db.run("""
            INSERT INTO call_records (uniqueid, direction, clid, src, dst, dcontext, channel, start, state, contact_id,
                                      sip_call_id, trunk, disposition, truncated, run_id, agent_answer)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ringing', ?, ?, ?, 'NO ANSWER', ?, ?, ?)
            ON CONFLICT(uniqueid) DO NOTHING
            """, [.text(record.uniqueid), .text(record.direction.rawValue), .text(record.clid), .text(record.src),
                  .text(record.dst), .text(record.dcontext), .text(record.channel), .int(record.start.milliseconds),
                  .optional(contact), .optional(record.sipCallID), .optional(record.trunk), .optional(record.truncatedJSON),
                  .optional(record.runID), record.agentAnswer.map { .int($0.milliseconds) } ?? .null])
    }

    /// Notes progress on an open record: answered (and when), bridged to an agent.
    public func updateCallRecord(uniqueid: String, state: String, answer: Date? = nil, agent: String? = nil,
                                 dstchannel: String? = nil, queue: String? = nil) throws {
        try write { db in
            try progress(uniqueid: uniqueid, state: state, answer: answer, agent: agent, dstchannel: dstchannel, queue: queue, db)
        }
    }

    func progress(uniqueid: String, state: String, answer: Date?, agent: String?, dstchannel: String?, queue: String?,
                  _ db: Connection) throws {
        guard ["answered", "bridged"].contains(state) else {
            throw StoreError(.invalidValue, "a call record in progress is answered or bridged, not '\(state)'")
        }
        let fit = { (value: String?) in value.map { Fitting.line($0, max: Limits.name).value } }
        // `bridged` is further on than `answered`: a late `answered` never moves a record back.
        // Bridged to an agent, the answer is the agent's too (a crash later still knows the talk time).
        let agentAnswer = state == "bridged" && agent != nil ? answer : nil
        try db.run("""
            UPDATE call_records SET state = CASE WHEN state = 'bridged' THEN state ELSE ? END, answer = coalesce(answer, ?),
                   agent_answer = coalesce(agent_answer, ?),
                   agent = coalesce(?, agent), dstchannel = coalesce(?, dstchannel), queue = coalesce(?, queue)
            WHERE uniqueid = ? AND state != 'ended'
            """, [.text(state), answer.map { .int($0.milliseconds) } ?? .null, agentAnswer.map { .int($0.milliseconds) } ?? .null,
                  .optional(fit(agent)), .optional(fit(dstchannel)), .optional(fit(queue)), .text(uniqueid)])
    }

    /// Finalises a record at hangup with every field, and puts the call on the
    /// caller's timeline as a voice event, in one transaction. Idempotent: a
    /// retry rewrites the same record and finds the same event. Values that do
    /// not fit are fitted, never refused.
    @discardableResult
    public func finalizeCallRecord(_ record: CallRecord) throws -> Int64 {
        try write { db in try finalize(record, db) }
    }

    /// The number the next ended call takes. `WHERE ended_seq IS NOT NULL` lets it read the last
    /// entry of the partial index `call_records_ended_seq`; without it the query read every call
    /// record, on every hangup (a test checks the plan).
    static let nextEndedSequence = "SELECT coalesce(max(ended_seq), 0) + 1 FROM call_records WHERE ended_seq IS NOT NULL"

    func finalize(_ record: CallRecord, _ db: Connection) throws -> Int64 {
        var record = record.fitted()
        try Limits.check(id: record.uniqueid, "uniqueid")
        record.state = "ended"
        let end = record.end ?? Date()
        record.end = end
        record.duration = max(0, Int((end.timeIntervalSince(record.start)).rounded(.down)))
        record.billsec = record.answer.map { max(0, Int(end.timeIntervalSince($0).rounded(.down))) } ?? 0
        record.talksec = record.bridged.map { max(0, Int(end.timeIntervalSince($0).rounded(.down))) } ?? 0
        let contact = try record.contactID ?? owner(of: normalizer.candidates(record.customer), db)
        record.contactID = contact
        // A record is keyed by its uniqueid and the run that took the call: a write from one run
        // never overwrites another run's call, even if their ids were ever to meet.
        if let runID = record.runID,
           let owner = try db.scalar("SELECT run_id FROM call_records WHERE uniqueid = ?", [.text(record.uniqueid)]),
           let stored = owner.string, stored != runID {
            record.uniqueid = String(record.uniqueid.prefix(Limits.id - 9)) + "~" + String(runID.suffix(8))
        }
        let encoder = JSONEncoder()
        let path = String(decoding: try encoder.encode(record.dialplanPath), as: UTF8.self)
        try db.run("""
            INSERT INTO call_records (uniqueid, start) VALUES (?, ?) ON CONFLICT(uniqueid) DO NOTHING
            """, [.text(record.uniqueid), .int(record.start.milliseconds)])
        try db.lockWriters()
        try db.run("""
            UPDATE call_records SET direction = ?, clid = ?, src = ?, dst = ?, dcontext = ?, channel = ?, dstchannel = ?, lastapp = ?,
                   lastdata = ?, start = ?, answer = ?, "end" = ?, duration = ?, billsec = ?, agent_answer = ?, talksec = ?,
                   disposition = ?, userfield = ?,
                   state = 'ended', contact_id = ?, agent = ?, queue = ?, wait_ms = ?, sip_call_id = ?, sip_status = ?,
                   agent_sip_status = ?, hangup_side = ?, dialplan_path = ?, recording = ?, trunk = ?, interrupted = ?,
                   truncated = ?, run_id = coalesce(?, run_id),
                   ended_seq = coalesce(ended_seq, (\(Self.nextEndedSequence)))
            WHERE uniqueid = ?
            """, [.text(record.direction.rawValue), .text(record.clid), .text(record.src), .text(record.dst), .text(record.dcontext), .text(record.channel),
                  .text(record.dstchannel), .text(record.lastapp), .text(record.lastdata), .int(record.start.milliseconds),
                  record.answer.map { .int($0.milliseconds) } ?? .null, .int(end.milliseconds), .int(Int64(record.duration)),
                  .int(Int64(record.billsec)), record.agentAnswer.map { .int($0.milliseconds) } ?? .null,
                  .int(Int64(record.talksec ?? 0)), .text(record.disposition), .text(record.userfield), .optional(contact),
                  .optional(record.agent), .optional(record.queue), record.waitMilliseconds.map { .int(Int64($0)) } ?? .null,
                  .optional(record.sipCallID), record.sipStatus.map { .int(Int64($0)) } ?? .null,
                  record.agentSIPStatus.map { .int(Int64($0)) } ?? .null, .optional(record.hangupSide), .text(path),
                  .optional(record.recording), .optional(record.trunk), .int(record.interrupted ? 1 : 0),
                  .optional(record.truncatedJSON), .optional(record.runID), .text(record.uniqueid)])
        var event = TimelineEvent(channel: .voice, direction: record.direction, time: record.start, source: "omnigate")
        event.contactID = contact
        event.address = record.customer.isEmpty ? nil : record.customer
        event.subject = record.voiceSubject
        event.summary = record.voiceSummary
        event.status = "closed"
        event.agent = record.agent
        event.externalRef = "call:" + record.uniqueid
        return try insert(event.fitted(), db)
    }

    /// Closes records a crash or kill left open: each is marked interrupted and
    /// put on its caller's timeline. An answered call stays ANSWERED, with the
    /// talk time known up to the last sign of life of the run that took it
    /// (`GatewayRun.aliveAt`); a call never answered is FAILED. Only records of
    /// runs `isOver` says are over are closed (a record of no run counts as over);
    /// returns the uniqueids closed.
    @discardableResult
    public func closeInterruptedCallRecords(now: Date = Date(), isOver: (GatewayRun) -> Bool = { _ in true }) throws -> [String] {
        try write { db in try closeInterrupted(now: now, isOver: isOver, db) }
    }

    func closeInterrupted(now: Date, isOver: (GatewayRun) -> Bool, _ db: Connection) throws -> [String] {
        var runs: [String: GatewayRun?] = [:]
        var closed: [String] = []
        for row in try db.rows("SELECT * FROM call_records WHERE state != 'ended'") {
            var record = CallRecord(row: row)
            var end = now
            if let id = record.runID {
                if runs[id] == nil { runs[id] = try run(id: id, db) }
                if let run = runs[id] ?? nil {
                    guard isOver(run) else { continue }
                    end = min(now, run.stoppedAt ?? run.aliveAt)
                }
            }
            end = max(end, record.answer ?? record.start, record.start)
            record.end = end
            // Talk time up to the last sign of life: from the agent's answer, or (a call to a
            // customer) from the bridge, which the record shows as its answer.
            record.bridged = record.agentAnswer ?? (record.state == "bridged" ? record.answer : nil)
            record.disposition = record.answer != nil ? "ANSWERED" : "FAILED"
            record.interrupted = true
            record.hangupSide = "system"
            try finalize(record, db)
            closed.append(record.uniqueid)
        }
        return closed
    }

    /// One call record, or nil.
    public func callRecord(uniqueid: String) throws -> CallRecord? {
        try read { db in try db.rows("SELECT * FROM call_records WHERE uniqueid = ?", [.text(uniqueid)]).first.map(CallRecord.init(row:)) }
    }

    /// What a page of call records may be narrowed to (every field optional).
    public struct RecordFilter: Sendable {
        public var since: Date?
        public var until: Date?
        public var direction: Direction?
        public var disposition: String?
        public var agent: String?
        public var queue: String?
        public var contact: String?
        public init() {}
    }

    /// Ended call records in the order they ended, after `cursor` (the
    /// `ended_seq` of the last one read), at most `limit`; the cursor to go on
    /// from (always given: asked again later, it returns the records that
    /// ended since); and whether more are there now. Records that end while a
    /// reader pages through come after its cursor, so every record is seen
    /// exactly once.
    public func callRecordPage(after cursor: Int64?, limit: Int, filter: RecordFilter = RecordFilter()) throws
        -> (records: [CallRecord], next: Int64, more: Bool) {
        var sql = "SELECT * FROM call_records WHERE ended_seq > ?"
        var values: [SQLValue] = [.int(cursor ?? 0)]
        if let since = filter.since { sql += " AND start >= ?"; values.append(.int(since.milliseconds)) }
        if let until = filter.until { sql += " AND start < ?"; values.append(.int(until.milliseconds)) }
        if let direction = filter.direction { sql += " AND direction = ?"; values.append(.text(direction.rawValue)) }
        if let disposition = filter.disposition { sql += " AND disposition = ?"; values.append(.text(disposition)) }
        if let agent = filter.agent { sql += " AND agent = ?"; values.append(.text(agent)) }
        if let queue = filter.queue { sql += " AND queue = ?"; values.append(.text(queue)) }
        if let contact = filter.contact { sql += " AND contact_id = ?"; values.append(.text(contact)) }
        sql += " ORDER BY ended_seq LIMIT ?"
        values.append(.int(Int64(limit + 1)))
        return try read { db in
            let rows = try db.rows(sql, values)
            let page = rows.prefix(limit)
            let next = page.last?.int("ended_seq") ?? cursor ?? 0
            return (page.map(CallRecord.init(row:)), next, rows.count > limit)
        }
    }

    /// Ended call records that started at or after `since`, oldest first (for helpdesks).
    public func callRecords(since: Date? = nil, includeOpen: Bool = false) throws -> [CallRecord] {
        try read { db in
            try db.rows("""
                SELECT * FROM call_records WHERE start >= ? AND (? OR state = 'ended') ORDER BY start, uniqueid
                """, [.int(since?.milliseconds ?? 0), .int(includeOpen ? 1 : 0)]).map(CallRecord.init(row:))
        }
    }
}

extension CallRecord {
    init(row: Row) {
        self.init(uniqueid: row.text("uniqueid") ?? "", start: Date(milliseconds: row.int("start") ?? 0))
        direction = Direction(spelling: row.text("direction") ?? "") == .outbound ? .outbound : .inbound
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
        agentAnswer = row.int("agent_answer").map(Date.init(milliseconds:))
        talksec = row.int("talksec").map { Int($0) }
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
        truncated = (row.text("truncated")?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String: Int].self, from: $0) }
        runID = row.text("run_id")
    }

    /// `truncated` as the store keeps it: a JSON object with sorted keys, or nil.
    var truncatedJSON: String? {
        guard let truncated, !truncated.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(truncated)).map { String(decoding: $0, as: UTF8.self) }
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
