import Foundation

/// The shared customer store on one SQLite file.
///
/// Thread-safe. Writes go through one writer connection, one at a time;
/// reads (the screen pop) use pooled reader connections and run on the
/// caller's thread: they take well under a millisecond and never wait for a
/// writer (WAL). Other processes may read and write the same file at the same
/// time, following docs/timeline.md.
///
/// `@unchecked Sendable`: `writer` is only used while holding `writerLock`;
/// `readers` only while holding `readersLock`, and a reader taken out of it
/// is used by one thread until it is put back.
public final class TimelineStore: @unchecked Sendable {
    public let path: String
    public let normalizer: IdentityNormalizer
    private let writer: Connection
    private let writerLock = NSLock()
    private var readers: [Connection] = []
    private let readersLock = NSLock()

    /// Opens (creating if needed) the store and migrates it to the current schema.
    /// - Throws: `StoreError` for a file that is not a store, is damaged, is from a
    ///   newer Omnigate, or cannot be opened, and for an unsupported country.
    public init(path: String, defaultCountry: String = "US", busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        normalizer = try IdentityNormalizer(defaultCountry: defaultCountry)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection = try Connection(path: path, create: true, busyTimeout: busyTimeoutMilliseconds)
        try Schema.migrate(connection)
        writer = connection
        self.busyTimeout = busyTimeoutMilliseconds
    }

    private let busyTimeout: Int32

    // MARK: - Connections

    /// Runs `body` on the writer connection inside one IMMEDIATE transaction.
    func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try writerLock.withLock { try writer.transaction { try body(writer) } }
    }

    /// Runs `body` on a reader connection (one read transaction, so it sees one snapshot).
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try readersLock.withLock { readers.popLast() } ?? Connection(path: path, create: false, busyTimeout: busyTimeout)
        defer { readersLock.withLock { readers.append(connection) } }
        return try connection.transaction(immediate: false) { try body(connection) }
    }

    /// The schema version of the open store.
    public var schemaVersion: Int { (try? read { Int(try $0.scalar("PRAGMA user_version")?.int ?? 0) }) ?? 0 }

    /// Statements left running on any connection (tests check it is zero).
    var busyStatements: Int {
        writerLock.withLock { writer.busyStatements } + readersLock.withLock { readers.reduce(0) { $0 + $1.busyStatements } }
    }

    // MARK: - Contacts

    /// Adds a contact with its identities (normalized). An identity that
    /// belongs to another contact is a `.conflict` naming both.
    @discardableResult
    public func addContact(_ contact: Contact) throws -> Contact {
        try write { db in try insert(contact, db) }
    }

    func insert(_ contact: Contact, _ db: Connection) throws -> Contact {
        var contact = contact
        try Limits.check(id: contact.id, "contact id")
        try Limits.check(line: contact.name, "name", max: Limits.name)
        try Limits.check(line: contact.tier, "tier", max: Limits.tier)
        if let company = contact.company { try Limits.check(line: company, "company", max: Limits.name) }
        contact.identities = try contact.identities.map { try normalizer.normalize($0.kind, $0.value) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            try db.run("INSERT INTO contacts (id, name, tier, company, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [.text(contact.id), .text(contact.name), .text(contact.tier), contact.company.map { .text($0) } ?? .null,
                        .int(now), .int(now)])
        } catch let error as StoreError where error.isConstraint {
            throw StoreError(.conflict, "contact '\(contact.id)' already exists")
        }
        for identity in contact.identities { try attach(identity, to: contact.id, db) }
        return contact
    }

    /// Gives an existing contact one more identity.
    public func addIdentity(_ identity: Identity, to contactID: String) throws {
        let identity = try normalizer.normalize(identity.kind, identity.value)
        try write { db in
            guard try db.scalar("SELECT 1 FROM contacts WHERE id = ?", [.text(contactID)]) != nil else {
                throw StoreError(.notFound, "no contact '\(contactID)'")
            }
            try attach(identity, to: contactID, db)
        }
    }

    /// Links an identity to a contact, and the identity's earlier events too.
    private func attach(_ identity: Identity, to contactID: String, _ db: Connection) throws {
        try Limits.check(line: identity.value, "identity", max: Limits.identity)
        if let owner = try db.scalar("SELECT contact_id FROM identities WHERE kind = ? AND value = ?",
                                     [.text(identity.kind.rawValue), .text(identity.value)])?.string {
            if owner == contactID { return }
            throw StoreError(.conflict, "\(identity.kind.rawValue) \(identity.value) already belongs to contact '\(owner)'")
        }
        try db.run("INSERT INTO identities (kind, value, contact_id) VALUES (?, ?, ?)",
                   [.text(identity.kind.rawValue), .text(identity.value), .text(contactID)])
        try db.run("UPDATE events SET contact_id = ? WHERE address = ? AND contact_id IS NULL",
                   [.text(contactID), .text(identity.value)])
    }

    /// The contact that owns one of `identities`, if any.
    func owner(of identities: [Identity], _ db: Connection) throws -> String? {
        for identity in identities {
            if let owner = try db.scalar("SELECT contact_id FROM identities WHERE kind = ? AND value = ?",
                                         [.text(identity.kind.rawValue), .text(identity.value)])?.string {
                return owner
            }
        }
        return nil
    }

    // MARK: - Events

    /// Appends an event to the timeline. With an `externalRef`, a second
    /// append of the same (source, externalRef) changes nothing and returns
    /// the first one's id. The contact is resolved from `address` when not given.
    @discardableResult
    public func appendEvent(_ event: TimelineEvent) throws -> Int64 {
        try write { db in try insert(event, db) }
    }

    func insert(_ event: TimelineEvent, _ db: Connection) throws -> Int64 {
        var event = event
        try Limits.check(event)
        if let address = event.address {
            let identities = normalizer.candidates(address)
            event.address = identities.first?.value ?? address
            if event.contactID == nil { event.contactID = try owner(of: identities, db) }
        }
        if let ref = event.externalRef,
           let existing = try db.scalar("SELECT id FROM events WHERE source = ? AND external_ref = ?",
                                        [.text(event.source), .text(ref)])?.int {
            return existing
        }
        try db.run("""
            INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, summary, body, status,
                                agent, thread_id, external_ref, source)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.optional(event.contactID), .optional(event.address), .text(event.channel.rawValue),
                  .text(event.direction.rawValue), .int(Int64(event.time.timeIntervalSince1970 * 1000)),
                  .optional(event.subject), .optional(event.summary), .optional(event.body), .optional(event.status),
                  .optional(event.agent), .optional(event.threadID), .optional(event.externalRef), .text(event.source)])
        return db.lastInsertRowID
    }

    /// Changes the status of the event a source wrote with `externalRef`
    /// (an SMS going from `sending` to `accepted`, a chat closed). False when there is none.
    @discardableResult
    public func updateStatus(source: String, externalRef: String, status: String) throws -> Bool {
        try Limits.check(line: status, "status", max: Limits.status)
        return try write { db in
            try db.run("UPDATE events SET status = ? WHERE source = ? AND external_ref = ?",
                       [.text(status), .text(source), .text(externalRef)]) > 0
        }
    }

    /// Every event of a contact (or of an address no contact owns), newest first.
    public func events(forContact contactID: String? = nil, address: String? = nil, limit: Int = 100) throws -> [TimelineEvent] {
        try read { db in
            if let contactID {
                return try db.rows("SELECT * FROM events WHERE contact_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ?",
                                   [.text(contactID), .int(Int64(limit))]).map(TimelineEvent.init(row:))
            }
            let value = address.flatMap { normalizer.candidates($0).first?.value } ?? address ?? ""
            return try db.rows("SELECT * FROM events WHERE address = ? ORDER BY occurred_at DESC, id DESC LIMIT ?",
                               [.text(value), .int(Int64(limit))]).map(TimelineEvent.init(row:))
        }
    }

    // MARK: - Screen pop

    /// The screen pop for a number, URI, email or handle: the contact and its
    /// identities, the latest `limit` events on all channels, open items and a
    /// summary. An unknown caller gets the history of the number itself.
    public func screenPop(for query: String, limit: Int = 10) throws -> TimelinePop {
        let identities = normalizer.candidates(query)
        return try read { db in
            var pop = TimelinePop(query: query, known: false, contact: nil, identities: identities, recent: [], openItems: [],
                                  summary: .init())
            let scope: (column: String, value: String)
            if let contactID = try owner(of: identities, db),
               let row = try db.rows("SELECT * FROM contacts WHERE id = ?", [.text(contactID)]).first {
                pop.known = true
                pop.identities = try db.rows("SELECT kind, value FROM identities WHERE contact_id = ? ORDER BY kind, value",
                                             [.text(contactID)]).compactMap { row in
                    IdentityKind(rawValue: row.text("kind") ?? "").map { Identity(kind: $0, value: row.text("value") ?? "") }
                }
                pop.contact = Contact(id: contactID, name: row.text("name") ?? "", tier: row.text("tier") ?? "standard",
                                      company: row.text("company"), identities: pop.identities)
                scope = ("contact_id", contactID)
            } else {
                scope = ("address", identities.first?.value ?? query)
            }
            let value = SQLValue.text(scope.value)
            pop.recent = try db.rows("SELECT * FROM events WHERE \(scope.column) = ? ORDER BY occurred_at DESC, id DESC LIMIT ?",
                                     [value, .int(Int64(limit))]).map(TimelineEvent.init(row:))
            pop.openItems = try db.rows("""
                SELECT * FROM events WHERE \(scope.column) = ? AND status = 'open' ORDER BY occurred_at DESC, id DESC LIMIT 20
                """, [value]).map(TimelineEvent.init(row:))
            for row in try db.rows("SELECT channel, count(*) AS n FROM events WHERE \(scope.column) = ? GROUP BY channel", [value]) {
                pop.summary.interactions[row.text("channel") ?? ""] = Int(row.int("n") ?? 0)
            }
            if let last = pop.recent.first {
                pop.summary.lastContact = last.time
                pop.summary.lastChannel = last.channel.rawValue
                pop.summary.lastSubject = last.subject ?? last.summary
            }
            if let agent = pop.recent.first(where: { $0.agent != nil })?.agent {
                pop.summary.lastAgent = agent
            } else {
                pop.summary.lastAgent = try db.scalar("""
                    SELECT agent FROM events WHERE \(scope.column) = ? AND agent IS NOT NULL ORDER BY occurred_at DESC LIMIT 1
                    """, [value])?.string
            }
            return pop
        }
    }
}

extension SQLValue {
    static func optional(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}

extension StoreError {
    /// SQLite refused a write because of a UNIQUE, CHECK or foreign-key constraint.
    var isConstraint: Bool {
        if case .sqlite(let code) = kind { return code & 0xff == 19 }
        return false
    }
}

extension TimelineEvent {
    init(row: Row) {
        self.init(channel: EventChannel(rawValue: row.text("channel") ?? "") ?? .note,
                  direction: Direction(rawValue: row.text("direction") ?? "") ?? .internal,
                  time: Date(timeIntervalSince1970: Double(row.int("occurred_at") ?? 0) / 1000),
                  source: row.text("source") ?? "")
        id = row.int("id")
        contactID = row.text("contact_id")
        address = row.text("address")
        subject = row.text("subject")
        summary = row.text("summary")
        body = row.text("body")
        status = row.text("status")
        agent = row.text("agent")
        threadID = row.text("thread_id")
        externalRef = row.text("external_ref")
    }
}
