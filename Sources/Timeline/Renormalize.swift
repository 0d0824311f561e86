import Foundation

/// What re-normalising the store's phone numbers found: every stored value that
/// was not in the normal form the store's rules give now, and what became of it.
public struct RenormalizationReport: Sendable {
    public struct Change: Sendable, Equatable {
        /// `identities` (a contact's phone) or `events` (an event's address).
        public let table: String
        public let old: String
        /// The normal form, when there is one.
        public let new: String?
        /// `rewritten`, `merged` (the contact had the normal form already), or `kept: WHY`.
        public let outcome: String
    }

    /// Phone identities and event addresses looked at.
    public var checked = 0
    public var changes: [Change] = []

    public var rewritten: Int { changes.filter { !$0.outcome.hasPrefix("kept") }.count }
    public var kept: Int { changes.count - rewritten }

    /// The report as CSV (RFC 4180, values as CallRecordExport writes cells): table, old, new, outcome.
    public var csv: String {
        "table,old,new,outcome\r\n" + changes.map { change in
            [change.table, change.old, change.new ?? "", change.outcome].map(CallRecordExport.csvCell).joined(separator: ",") + "\r\n"
        }.joined()
    }

    public var summary: String {
        "\(checked) phone numbers checked, \(rewritten) rewritten to their normal form, \(kept) kept as they were"
    }
}

extension TimelineStore {
    /// Brings every stored phone number (contacts' phone identities, events'
    /// addresses that are phone numbers) to the normal form the store's rules
    /// give now (libphonenumber, the default country), in one transaction. A value
    /// whose normal form another contact owns, or that is no valid number, is kept
    /// and reported. With `dryRun`, reports and changes nothing.
    public func renormalizePhoneNumbers(dryRun: Bool = false) throws -> RenormalizationReport {
        if dryRun { return try read { try Self.renormalize($0, normalizer, apply: false) } }
        return try write { try Self.renormalize($0, normalizer, apply: true) }
    }

    static func renormalize(_ db: Connection, _ normalizer: IdentityNormalizer, apply: Bool) throws -> RenormalizationReport {
        var report = RenormalizationReport()
        for row in try db.rows("SELECT value, contact_id FROM identities WHERE kind = 'phone' ORDER BY value") {
            guard let old = row.text("value"), let contact = row.text("contact_id") else { continue }
            report.checked += 1
            let new: String
            do { new = try normalizer.phone(old) } catch let error as StoreError {
                report.changes.append(.init(table: "identities", old: old, new: nil, outcome: "kept: " + Self.reason(error)))
                continue
            }
            guard new != old else { continue }
            let owner = try db.scalar("SELECT contact_id FROM identities WHERE kind = 'phone' AND value = ?", [.text(new)])?.string
            switch owner {
            case nil:
                if apply { try db.run("UPDATE identities SET value = ? WHERE kind = 'phone' AND value = ?", [.text(new), .text(old)]) }
                report.changes.append(.init(table: "identities", old: old, new: new, outcome: "rewritten"))
            case contact:
                if apply { try db.run("DELETE FROM identities WHERE kind = 'phone' AND value = ?", [.text(old)]) }
                report.changes.append(.init(table: "identities", old: old, new: new, outcome: "merged"))
            case let other?:
                report.changes.append(.init(table: "identities", old: old, new: new,
                                            outcome: "kept: contact \(other) has \(new); contact \(contact) keeps \(old)"))
            }
        }
        // Addresses written by other systems as they had them: a number in any spelling.
        for row in try db.rows("""
            SELECT DISTINCT address FROM events WHERE address IS NOT NULL AND address NOT LIKE '%@%' AND address NOT LIKE '%:%'
            """) {
            guard let old = row.text("address"), Self.looksLikeNumber(old) else { continue }
            report.checked += 1
            guard let new = try? normalizer.phone(old), new != old else { continue }
            if apply {
                try db.run("UPDATE events SET address = ? WHERE address = ?", [.text(new), .text(old)])
                try db.run("""
                    UPDATE events SET contact_id = (SELECT contact_id FROM identities WHERE kind = 'phone' AND value = ?)
                    WHERE address = ? AND contact_id IS NULL
                    """, [.text(new), .text(new)])
            }
            report.changes.append(.init(table: "events", old: old, new: new, outcome: "rewritten"))
        }
        return report
    }

    /// Digits with what people write around them, seven digits at least: not a chat handle.
    static func looksLikeNumber(_ text: String) -> Bool {
        text.filter(\.isNumber).count >= 7 && text.allSatisfy { ($0.isASCII && $0.isNumber) || "+ -.()/".contains($0) }
    }

    private static func reason(_ error: StoreError) -> String {
        error.message.components(separatedBy: "is not a valid phone number: ").last ?? error.message
    }
}
