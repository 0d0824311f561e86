import Foundation

/// Writing contacts through the HTTP API: an upsert and a merge, each one transaction.
extension TimelineStore {
    /// Creates the contact, or updates its name, tier and company; attaches
    /// every identity given (normalised) that it does not have. An identity
    /// another contact owns is a `.conflict` and nothing is written. Returns
    /// the contact as stored, and whether it was new.
    @discardableResult
    public func upsertContact(_ contact: Contact) throws -> (contact: Contact, created: Bool) {
        try Limits.check(id: contact.id, "contact id")
        try Limits.check(line: contact.name, "name", max: Limits.name)
        try Limits.check(line: contact.tier, "tier", max: Limits.tier)
        if let company = contact.company { try Limits.check(line: company, "company", max: Limits.name) }
        let identities = try contact.identities.map { try normalizer.normalize($0.kind, $0.value) }
        let created = try write { db -> Bool in
            let exists = try db.scalar("SELECT 1 FROM contacts WHERE id = ?", [.text(contact.id)]) != nil
            if exists {
                try db.run("UPDATE contacts SET name = ?, tier = ?, company = ?, updated_at = ? WHERE id = ?",
                           [.text(contact.name), .text(contact.tier), contact.company.map { .text($0) } ?? .null,
                            .int(Date().milliseconds), .text(contact.id)])
                for identity in identities { try attach(identity, to: contact.id, db) }
            } else {
                var fresh = contact
                fresh.identities = []
                _ = try insert(fresh, db)
                for identity in identities { try attach(identity, to: contact.id, db) }
            }
            return !exists
        }
        return (try self.contact(id: contact.id) ?? contact, created)
    }

    /// Merges contact `other` into `into`: its identities and its events move
    /// over, then it is deleted. The same customer known twice (a chat handle
    /// on one, a phone number on another) becomes one timeline.
    public func mergeContact(_ other: String, into target: String) throws {
        guard other != target else { throw StoreError(.conflict, "a contact cannot be merged into itself") }
        try write { db in
            for id in [other, target] {
                guard try db.scalar("SELECT 1 FROM contacts WHERE id = ?", [.text(id)]) != nil else {
                    throw StoreError(.notFound, "no contact '\(id)'")
                }
            }
            try db.run("UPDATE identities SET contact_id = ? WHERE contact_id = ?", [.text(target), .text(other)])
            try db.run("UPDATE events SET contact_id = ? WHERE contact_id = ?", [.text(target), .text(other)])
            try db.run("UPDATE call_records SET contact_id = ? WHERE contact_id = ?", [.text(target), .text(other)])
            try db.run("DELETE FROM contacts WHERE id = ?", [.text(other)])
        }
    }

    /// A contact's events, newest first, older than `before` (an event id from an earlier page).
    public func events(forContact contactID: String, before: Int64?, limit: Int) throws -> [TimelineEvent] {
        try read { db in
            guard let before else {
                return try db.rows("SELECT * FROM events WHERE contact_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ?",
                                   [.text(contactID), .int(Int64(limit))]).map(TimelineEvent.init(row:))
            }
            guard let anchor = try db.rows("SELECT occurred_at FROM events WHERE id = ?", [.int(before)]).first?.int("occurred_at") else {
                return []
            }
            return try db.rows("""
                SELECT * FROM events WHERE contact_id = ? AND (occurred_at < ? OR (occurred_at = ? AND id < ?))
                ORDER BY occurred_at DESC, id DESC LIMIT ?
                """, [.text(contactID), .int(anchor), .int(anchor), .int(before), .int(Int64(limit))]).map(TimelineEvent.init(row:))
        }
    }
}
