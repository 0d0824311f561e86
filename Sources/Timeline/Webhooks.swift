import Foundation

/// A webhook delivery waiting to go out (or to be tried again).
public struct WebhookDelivery: Sendable {
    public var id: Int64
    public var webhook: String
    public var event: String
    /// The event's own id (a call's uniqueid): with `event`, unique per webhook.
    public var eventID: String
    public var body: String
    public var attempts: Int
    public var createdAt: Date
}

/// What a webhook's deliveries look like now, for the API and metrics.
public struct WebhookSummary: Sendable {
    public var webhook: String
    public var pending = 0
    public var delivered = 0
    public var givenUp = 0
    public var lastError: String?
}

/// The webhook outbox. Ended calls are taken in the order they ended, from a
/// cursor kept in the store in the same transaction as the deliveries they
/// make: after a crash or `kill -9`, nothing is taken twice or missed.
extension TimelineStore {
    /// Turns what happened since the webhook's cursor for `event` into
    /// deliveries (at most `limit`); returns how many. `call.ended`: calls in
    /// the order they ended; `sms.received`: SMS in; `voicemail.created`:
    /// voicemails left (both from the timeline, in the order stored). A
    /// webhook seen for the first time starts from now: nothing from before
    /// it was configured is sent.
    @discardableResult
    public func queueDeliveries(for webhook: String, event: String, limit: Int = 200, now: Date = Date()) throws -> Int {
        let source: (newest: String, rows: String, position: String)
        switch event {
        case "call.ended":
            source = ("SELECT coalesce(max(ended_seq), 0) FROM call_records",
                      "SELECT * FROM call_records WHERE ended_seq > ? ORDER BY ended_seq LIMIT ?", "ended_seq")
        case "sms.received":
            source = ("SELECT coalesce(max(id), 0) FROM events",
                      "SELECT * FROM events WHERE id > ? AND channel = 'sms' AND direction = 'inbound' ORDER BY id LIMIT ?", "id")
        case "agent.state_changed":
            source = ("SELECT coalesce(max(id), 0) FROM agent_state_log",
                      "SELECT * FROM agent_state_log WHERE id > ? ORDER BY id LIMIT ?", "id")
        case "voicemail.created":
            source = ("SELECT coalesce(max(id), 0) FROM events",
                      "SELECT * FROM events WHERE id > ? AND channel = 'voice' AND media_path IS NOT NULL ORDER BY id LIMIT ?", "id")
        default:
            return 0
        }
        return try write { db in
            guard let cursor = try db.scalar("SELECT position FROM webhook_cursors WHERE webhook = ? AND event = ?",
                                             [.text(webhook), .text(event)])?.int else {
                let newest = try db.scalar(source.newest)?.int ?? 0
                try db.run("INSERT INTO webhook_cursors (webhook, event, position) VALUES (?, ?, ?)", [.text(webhook), .text(event), .int(newest)])
                return 0
            }
            let rows = try db.rows(source.rows, [.int(cursor), .int(Int64(limit))])
            // A full page ends at its last row (more may follow); a short one saw everything
            // there is now, so the cursor moves past the rows the filter skipped too.
            let position = rows.count == limit ? (rows.last?.int(source.position) ?? cursor) : max(cursor, try db.scalar(source.newest)?.int ?? cursor)
            guard position > cursor else { return 0 }
            for row in rows {
                let (id, data): (String, String)
                if event == "call.ended" {
                    let record = CallRecord(row: row)
                    (id, data) = (record.uniqueid, try CallRecordExport.json(record))
                } else if event == "agent.state_changed" {
                    let object: [String: Any] = ["agent": row.text("agent") ?? "", "presence": row.text("presence") ?? "",
                                                 "reason": row.text("reason") ?? "",
                                                 "queues": (try? JSONSerialization.jsonObject(with: Data((row.text("queues") ?? "[]").utf8))) ?? [],
                                                 "changed_at": Timestamp.string(Date(milliseconds: row.int("changed_at") ?? 0))]
                    (id, data) = (String(row.int("id") ?? 0),
                                  String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    let item = TimelineEvent(row: row)
                    (id, data) = (String(row.int("id") ?? 0), String(decoding: try Timestamp.encoder.encode(item), as: UTF8.self))
                }
                let body = "{\"event\":\"\(event)\",\"id\":\"\(event):\(id)\",\"created_at\":\"\(Timestamp.string(now))\",\"data\":\(data)}"
                try db.run("""
                    INSERT INTO webhook_deliveries (webhook, event, event_id, body, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """, [.text(webhook), .text(event), .text(id), .text(body), .int(now.milliseconds), .int(now.milliseconds)])
            }
            try db.run("UPDATE webhook_cursors SET position = ? WHERE webhook = ? AND event = ?", [.int(position), .text(webhook), .text(event)])
            return rows.count
        }
    }

    /// Deliveries due now, oldest first, claimed for `lease`: no other gateway sharing the store
    /// takes them until the lease runs out (then the claimer is taken to have died, and they are due
    /// again). So each event is delivered by one gateway, once, unless one dies mid-delivery.
    /// The lease must outlast a batch's deliveries (the API's take at most 60 s).
    public func claimDueDeliveries(now: Date = Date(), limit: Int = 50, lease: Duration = .seconds(120)) throws -> [WebhookDelivery] {
        let until = now.addingTimeInterval(Double(lease.components.seconds))
        return try write { db in
            try db.rows("""
                UPDATE webhook_deliveries SET next_attempt_at = ?
                WHERE id IN (SELECT id FROM webhook_deliveries
                             WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ?
                             ORDER BY next_attempt_at, id LIMIT ?\(db.dialect.skipLocked))
                RETURNING *
                """, [.int(until.milliseconds), .int(now.milliseconds), .int(Int64(limit))]).map { row in
                WebhookDelivery(id: row.int("id") ?? 0, webhook: row.text("webhook") ?? "", event: row.text("event") ?? "",
                                eventID: row.text("event_id") ?? "", body: row.text("body") ?? "",
                                attempts: Int(row.int("attempts") ?? 0), createdAt: Date(milliseconds: row.int("created_at") ?? 0))
            }.sorted { $0.id < $1.id }
        }
    }

    /// How one attempt went.
    public struct DeliveryOutcome: Sendable {
        public var id: Int64
        /// The receiver's status, if it answered.
        public var status: Int?
        /// nil when delivered (2xx); else why not.
        public var error: String?
        /// When to try again; nil with an error: given up.
        public var retryAt: Date?

        public init(id: Int64, status: Int?, error: String?, retryAt: Date?) {
            self.id = id
            self.status = status
            self.error = error
            self.retryAt = retryAt
        }
    }

    /// Notes a batch of attempts in one transaction (one sync of the file, not one per delivery).
    public func settleDeliveries(_ outcomes: [DeliveryOutcome], now: Date = Date()) throws {
        guard !outcomes.isEmpty else { return }
        _ = try write { db in
            for outcome in outcomes {
                if outcome.error == nil {
                    let settled = try db.run("""
                        UPDATE webhook_deliveries SET delivered_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL
                        WHERE id = ? AND delivered_at IS NULL
                        """, [.int(now.milliseconds), outcome.status.map { .int(Int64($0)) } ?? .null, .int(outcome.id)])
                    if settled == 1 {
                        try db.run("""
                            INSERT INTO webhook_totals (webhook, delivered) SELECT webhook, 1 FROM webhook_deliveries WHERE id = ?
                            ON CONFLICT (webhook) DO UPDATE SET delivered = webhook_totals.delivered + 1
                            """, [.int(outcome.id)])
                    }
                } else {
                    try db.run("""
                        UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?,
                               given_up_at = ?
                        WHERE id = ?
                        """, [outcome.status.map { .int(Int64($0)) } ?? .null, .text(String((outcome.error ?? "").prefix(300))),
                              .int((outcome.retryAt ?? now).milliseconds), outcome.retryAt == nil ? .int(now.milliseconds) : .null,
                              .int(outcome.id)])
                }
            }
        }
    }

    /// Pending and given-up deliveries per webhook, from partial indexes: what a
    /// metrics scrape asks every few seconds, without reading the delivered ones
    /// (which only grow).
    public func webhookBacklog() throws -> [WebhookSummary] {
        try read { db in
            var byName: [String: WebhookSummary] = [:]
            for row in try db.rows("""
                SELECT webhook, count(*) AS n FROM webhook_deliveries\(db.dialect.indexedBy("webhook_deliveries_pending"))
                WHERE delivered_at IS NULL AND given_up_at IS NULL GROUP BY webhook
                """) {
                let name = row.text("webhook") ?? ""
                byName[name, default: WebhookSummary(webhook: name)].pending = Int(row.int("n") ?? 0)
            }
            for row in try db.rows("""
                SELECT webhook, count(*) AS n FROM webhook_deliveries\(db.dialect.indexedBy("webhook_deliveries_given_up"))
                WHERE given_up_at IS NOT NULL GROUP BY webhook
                """) {
                let name = row.text("webhook") ?? ""
                byName[name, default: WebhookSummary(webhook: name)].givenUp = Int(row.int("n") ?? 0)
            }
            return byName.values.sorted { $0.webhook < $1.webhook }
        }
    }

    /// Every webhook's deliveries: pending and given up (partial indexes), delivered
    /// since ever (`webhook_totals`), and the newest error of one not delivered.
    /// Reads nothing in proportion to the deliveries already made.
    public func webhookSummaries() throws -> [WebhookSummary] {
        var byName = Dictionary(try webhookBacklog().map { ($0.webhook, $0) }, uniquingKeysWith: { first, _ in first })
        try read { db in
            for row in try db.rows("SELECT webhook, delivered FROM webhook_totals") {
                let name = row.text("webhook") ?? ""
                byName[name, default: WebhookSummary(webhook: name)].delivered = Int(row.int("delivered") ?? 0)
            }
            for name in byName.keys {
                // Delivered ones carry no error: the newest error is among the pending and the given up.
                let pending = try db.rows("""
                    SELECT id, last_error FROM webhook_deliveries\(db.dialect.indexedBy("webhook_deliveries_pending"))
                    WHERE webhook = ? AND delivered_at IS NULL AND given_up_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1
                    """, [.text(name)]).first
                let givenUp = try db.rows("""
                    SELECT id, last_error FROM webhook_deliveries\(db.dialect.indexedBy("webhook_deliveries_given_up"))
                    WHERE webhook = ? AND given_up_at IS NOT NULL ORDER BY id DESC LIMIT 1
                    """, [.text(name)]).first
                let newest = [pending, givenUp].compactMap { $0 }.max { ($0.int("id") ?? 0) < ($1.int("id") ?? 0) }
                byName[name]?.lastError = newest?.text("last_error")
            }
        }
        return byName.values.sorted { $0.webhook < $1.webhook }
    }

    /// Deletes deliveries made before `cutoff` that are settled (delivered or given
    /// up), a batch at a time, each batch its own short transaction so the
    /// gateway's writes never wait long; returns how many went. Pending ones stay.
    @discardableResult
    public func pruneDeliveries(createdBefore cutoff: Date, batch: Int = 5_000) throws -> Int {
        var total = 0
        while true {
            let removed = try write { db -> Int in
                // Ids grow with time: the first delivery made at or after the cutoff bounds the scan.
                let bound = try db.scalar("SELECT id FROM webhook_deliveries WHERE created_at >= ? ORDER BY id LIMIT 1",
                                          [.int(cutoff.milliseconds)])?.int ?? Int64.max
                return try db.run("""
                    DELETE FROM webhook_deliveries WHERE id IN (
                        SELECT id FROM webhook_deliveries WHERE id < ? AND (delivered_at IS NOT NULL OR given_up_at IS NOT NULL)
                        ORDER BY id LIMIT ?)
                    """, [.int(bound), .int(Int64(batch))])
            }
            total += removed
            if removed < batch { return total }
        }
    }
}
