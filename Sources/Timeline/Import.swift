import Foundation

/// A problem on one line of an import file; nothing of the file was written.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int
    public let message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// What an events import wrote: events the file added, and events a source
/// had already stored under the same external reference (left as they are).
public struct ImportedEvents: Equatable, Sendable {
    public var added = 0
    public var alreadyStored = 0
    /// Contacts a lookup document brought that the store did not have.
    public var contactsAdded = 0
    public init(added: Int = 0, alreadyStored: Int = 0, contactsAdded: Int = 0) {
        self.added = added
        self.alreadyStored = alreadyStored
        self.contactsAdded = contactsAdded
    }
}

extension TimelineStore {
    /// The columns `importContacts` reads; several values in one cell are separated by `;`.
    public static let contactColumns = ["id", "name", "tier", "company", "phone", "email", "chat", "sip"]

    /// Imports contacts from CSV (RFC 4180, header row required, columns from
    /// `contactColumns`, `id` and `name` required) in one transaction.
    /// - Throws: `ImportError` with `file:line`; then nothing was written.
    @discardableResult
    public func importContacts(csv data: Data, file: String) throws -> Int {
        let records = try CSV.parse(data, file: file)
        guard let header = records.first else { throw ImportError(file: file, line: 1, message: "the file is empty; expected a header row") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for column in columns where !Self.contactColumns.contains(column) {
            throw ImportError(file: file, line: header.line,
                              message: "unknown column '\(column)'; columns are \(Self.contactColumns.joined(separator: ", "))")
        }
        for required in ["id", "name"] where !columns.contains(required) {
            throw ImportError(file: file, line: header.line, message: "the header has no '\(required)' column")
        }
        return try write { db in
            var count = 0
            for record in records.dropFirst() {
                if record.fields.count == 1 && record.fields[0].isEmpty { continue }
                guard record.fields.count == columns.count else {
                    throw ImportError(file: file, line: record.line,
                                      message: "\(record.fields.count) fields where the header has \(columns.count)")
                }
                let cell = Dictionary(uniqueKeysWithValues: zip(columns, record.fields))
                var contact = Contact(id: cell["id"] ?? "", name: cell["name"] ?? "",
                                      tier: cell["tier"].flatMap { $0.isEmpty ? nil : $0 } ?? "standard",
                                      company: cell["company"].flatMap { $0.isEmpty ? nil : $0 })
                for kind in IdentityKind.allCases {
                    for value in (cell[kind.rawValue] ?? "").split(separator: ";") where !value.trimmingCharacters(in: .whitespaces).isEmpty {
                        contact.identities.append(Identity(kind: kind, value: String(value)))
                    }
                }
                do {
                    _ = try insert(contact, db)
                } catch let error as StoreError {
                    throw ImportError(file: file, line: record.line, message: error.message)
                }
                count += 1
            }
            return count
        }
    }

    /// The keys of an event line: the names the store's JSON uses for an event
    /// (`omnigate lookup --format json`, the API, webhooks), `contact` as well as
    /// `contact_id`; an `id` (a row in the store it came from) is not kept.
    static let eventKeys: Set<String> = ["source", "channel", "direction", "time", "contact", "contact_id", "address", "subject",
                                         "summary", "body", "status", "agent", "thread_id", "external_ref", "media_path",
                                         "media_duration_ms", "id"]

    /// How many problems an import reports before it stops looking.
    static let reportedProblems = 100

    /// Imports events from JSON Lines in one transaction: one event object per
    /// line (`eventKeys`), or a whole `omnigate lookup --format json` document on
    /// a line, whose recent events and open items are imported (each once).
    /// Every line is checked: all problems are reported (up to 100), each with its line.
    /// - Throws: `ImportFailure` (its problems, each `file:line: message`); then nothing was written.
    @discardableResult
    public func importEvents(jsonl data: Data, file: String) throws -> ImportedEvents {
        let lines = try Lines.split(data, file: file)
        return try write { db in
            var result = ImportedEvents()
            var problems: [ImportError] = []
            for (number, line) in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                func fail(_ message: String) -> ImportError { ImportError(file: file, line: number, message: message) }
                do {
                    guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                        throw fail("not a JSON object")
                    }
                    // A lookup document brings its contact: added when the store does not have it, else left as it is.
                    if object["recent"] != nil || object["open_items"] != nil, let found = object["contact"], !(found is NSNull) {
                        guard let data = try? JSONSerialization.data(withJSONObject: found),
                              let contact = try? Timestamp.decoder.decode(Contact.self, from: data) else {
                            throw fail("the lookup document's 'contact' is not a contact (id, name, tier, identities)")
                        }
                        if try db.scalar("SELECT 1 FROM contacts WHERE id = ?", [.text(contact.id)]) == nil {
                            do { _ = try insert(contact, db) } catch let error as StoreError { throw fail("contact: " + error.message) }
                            result.contactsAdded += 1
                        }
                    }
                    for event in try Self.events(in: object, fail: fail) {
                        if let contact = event.contactID,
                           try db.scalar("SELECT 1 FROM contacts WHERE id = ?", [.text(contact)]) == nil {
                            throw fail("no contact '\(contact)'")
                        }
                        do {
                            if try insertIfNew(event, db) != nil { result.added += 1 } else { result.alreadyStored += 1 }
                        } catch let error as StoreError {
                            throw fail(error.message)
                        }
                    }
                } catch let problem as ImportError {
                    problems.append(problem)
                    if problems.count == Self.reportedProblems { break }
                }
            }
            if !problems.isEmpty { throw ImportFailure(problems: problems) }
            return result
        }
    }

    /// The events of one line: the line itself, or a lookup document's recent events and open items.
    private static func events(in object: [String: Any], fail: (String) -> ImportError) throws -> [TimelineEvent] {
        guard object["recent"] != nil || object["open_items"] != nil else { return [try event(object, fail: fail)] }
        var seen = Set<Int>()
        var events: [TimelineEvent] = []
        for key in ["recent", "open_items"] {
            guard let list = object[key] else { continue }
            guard let items = list as? [[String: Any]] else { throw fail("'\(key)' of a lookup document must be a list of events") }
            for item in items {
                if let id = item["id"] as? Int, !seen.insert(id).inserted { continue }
                events.append(try event(item, fail: { fail("\(key): " + $0) }))
            }
        }
        return events.sorted { $0.time < $1.time }
    }

    /// One event object, checked key by key.
    private static func event(_ object: [String: Any], fail: (String) -> ImportError) throws -> TimelineEvent {
        if let unknown = object.keys.sorted().first(where: { !eventKeys.contains($0) }) {
            throw fail("unknown key '\(unknown)'; keys are \(eventKeys.subtracting(["id", "contact_id"]).sorted().joined(separator: ", "))")
        }
        func string(_ key: String) throws -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw fail("'\(key)' must be a string") }
            return text
        }
        guard let source = try string("source") else { throw fail("'source' is required") }
        guard let channel = EventChannel(rawValue: try string("channel") ?? "note") else {
            throw fail("'channel' must be one of \(EventChannel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let direction = Direction(spelling: try string("direction") ?? "inbound") else {
            throw fail("'direction' must be inbound, outbound or internal")
        }
        var time = Date()
        if let text = try string("time") {
            guard let parsed = Timestamp.parse(text), text.contains("T") else {
                throw fail("'time' must be ISO 8601, such as 2026-11-24T10:00:00Z")
            }
            time = parsed
        }
        var event = TimelineEvent(channel: channel, direction: direction, time: time, source: source)
        let contact = try string("contact"), contactID = try string("contact_id")
        if let contact, let contactID, contact != contactID { throw fail("'contact' and 'contact_id' name different contacts") }
        event.contactID = contact ?? contactID
        event.address = try string("address")
        event.subject = try string("subject")
        event.summary = try string("summary")
        event.body = try string("body")
        event.status = try string("status")
        event.agent = try string("agent")
        event.threadID = try string("thread_id")
        event.externalRef = try string("external_ref")
        event.mediaPath = try string("media_path")
        if let duration = object["media_duration_ms"], !(duration is NSNull) {
            guard let milliseconds = duration as? Int, milliseconds >= 0 else { throw fail("'media_duration_ms' must be a whole number ≥ 0") }
            event.mediaDurationMilliseconds = milliseconds
        }
        return event
    }
}

/// Every problem of a failed import, each with its line; nothing was written.
public struct ImportFailure: Error, CustomStringConvertible, Sendable {
    public let problems: [ImportError]
    /// True when the import stopped looking at `TimelineStore.reportedProblems` problems.
    public var stoppedEarly: Bool { problems.count >= TimelineStore.reportedProblems }
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
            + (stoppedEarly ? "\n(stopped after \(problems.count) problems; lines after the last were not checked)" : "")
    }
}

/// Lines of a text file, numbered from 1, each checked to be UTF-8.
enum Lines {
    static func split(_ data: Data, file: String) throws -> [(Int, String)] {
        var result: [(Int, String)] = []
        var number = 0
        for slice in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var bytes = Data(slice)
            if bytes.last == 0x0D { bytes.removeLast() }
            guard let text = String(data: bytes, encoding: .utf8) else {
                throw ImportError(file: file, line: number, message: "not valid UTF-8")
            }
            result.append((number, text))
        }
        return result
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with `"` (doubled inside),
/// quoted fields may hold commas and line breaks. Each record keeps the line it starts on.
enum CSV {
    struct Record {
        var line: Int
        var fields: [String]
    }

    static func parse(_ data: Data, file: String) throws -> [Record] {
        guard let text = String(data: data, encoding: .utf8) else {
            // Find the first line that is not UTF-8, for the message.
            _ = try Lines.split(data, file: file)
            throw ImportError(file: file, line: 1, message: "not valid UTF-8")
        }
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar?
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; afterQuote = true; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",":
                fields.append(field); field = ""; afterQuote = false
            case "\r":
                continue
            case "\n":
                fields.append(field); field = ""; afterQuote = false
                records.append(Record(line: recordLine, fields: fields))
                fields = []
                line += 1
                recordLine = line
            case "\"":
                guard field.isEmpty && !afterQuote else {
                    throw ImportError(file: file, line: line, message: "a quote inside an unquoted field; quote the whole field")
                }
                quoted = true
            default:
                if afterQuote { throw ImportError(file: file, line: line, message: "text after a closing quote") }
                field.unicodeScalars.append(c)
            }
        }
        if quoted { throw ImportError(file: file, line: recordLine, message: "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }
}
