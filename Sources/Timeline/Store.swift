import CSQLite
import Foundation

/// How hard a commit holds on to the disk: `PRAGMA synchronous` for the writer.
public enum Durability: String, Sendable {
    /// The WAL is synced at every commit: a committed write survives a kill,
    /// a crash of the process, of the OS, and a power cut. The default.
    case full = "FULL"
    /// The WAL is synced at checkpoints only: a committed write survives a
    /// kill or crash of the process, but an OS crash or power cut may lose the
    /// last commits. For bulk loads and benchmarks.
    case normal = "NORMAL"
}

/// How a store is opened.
public enum StoreAccessMode: Sendable {
    /// Creates the file when missing, migrates it, writes to it: the gateway, imports.
    case readWrite
    /// Never creates, migrates or writes: `omnigate calls`, `omnigate lookup`. A missing
    /// file is an error naming it.
    case readOnly
}

/// A file as the kernel knows it: a deleted or replaced file at the same path has another identity.
public struct FileIdentity: Sendable, Equatable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file at `path` now, or nil when there is none.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    public var description: String { "device \(device) inode \(inode)" }
}

/// The shared customer store: one SQLite file (the embedded default, for one host), or a
/// PostgreSQL database that several gateways and other systems share. The operations are the
/// same on both; `SQLDialect` says where their SQL differs.
///
/// Thread-safe. Writes go through one writer connection on one serial queue,
/// one transaction at a time; reads (the screen pop) use pooled reader
/// connections and run on the caller's thread: they take well under a
/// millisecond and never wait for a writer (WAL). Other processes may read and
/// write the same file at the same time, following docs/timeline.md. On PostgreSQL the
/// readers are at most `poolSize` connections, and a connection the server dropped is replaced
/// on next use (a restarted server costs the writes in flight, which the gateway retries).
///
/// `@unchecked Sendable`: `writer` is only used on `writerQueue` (checked with
/// `dispatchPrecondition`); `readers`, `lent` and `closed` only while holding
/// `readersLock`, and a reader taken out of the pool is used by one thread until it is put back.
public final class TimelineStore: @unchecked Sendable {
    /// The file, or for PostgreSQL `postgresql://user@host:port/db` (never a password).
    public let path: String
    public let dialect: SQLDialect
    public let normalizer: IdentityNormalizer
    public let durability: Durability
    public let mode: StoreAccessMode
    /// The file this store opened; `FileIdentity(path:)` differs once it is deleted or replaced.
    public let file: FileIdentity?
    private var writer: Connection?
    /// Opens a connection: a reader, or (PostgreSQL) a writer replacing one the server dropped.
    private let connect: @Sendable () throws -> Connection
    /// Readers lent out at once at most (PostgreSQL's connections are a server's resource).
    private let poolSize: Int
    /// How long a read waits for a pooled connection to come free before it fails as unavailable.
    var readerWait: Duration = .seconds(5)
    private let writerQueue = DispatchQueue(label: "omnigate.timeline.writer")
    private let onWriterQueue = DispatchSpecificKey<Bool>()
    private var readers: [Connection] = []
    private var lent = 0
    private var closed = false
    private var keepFilesAtClose = false
    private let readersLock = NSCondition()
    private let busyTimeout: Int32
    /// Shared-memory faults the guard had absorbed when this store opened (see `sharedMemoryFailed`).
    private let faultsAtOpen: Int
    /// What migrating the store at open had to say, a line each (the gateway logs them).
    public private(set) var migrationNotes: [String] = []

    /// Opens the store; with `.readWrite`, creates it if needed and migrates it to the current schema.
    /// A file that exists is checked on a read-only connection before anything is written to it:
    /// another application's database, or a newer Omnigate's store, is refused and left as it was.
    /// - Parameters:
    ///   - defaultCountry: ISO 3166 code of the country national numbers belong to (any libphonenumber knows).
    ///   - durability: how commits reach the disk; `.full` unless measuring.
    ///   - busyTimeoutMilliseconds: how long a write waits for another process's write to finish.
    ///   - mode: `.readOnly` never creates, migrates or writes.
    ///   - walLimitBytes: what the WAL is truncated to after a checkpoint (-1: no limit).
    /// - Throws: `StoreError` for a file that is not a store, is damaged, is from a
    ///   newer Omnigate, is missing (read-only), or cannot be opened, and for an unsupported country.
    public init(path: String, defaultCountry: String = "US", durability: Durability = .full,
                busyTimeoutMilliseconds: Int32 = 5000, mode: StoreAccessMode = .readWrite, walLimitBytes: Int64 = -1) throws {
        self.path = path
        dialect = .sqlite
        poolSize = .max
        self.durability = durability
        self.mode = mode
        connect = { try SQLiteConnection(path: path, create: false, readOnly: true, busyTimeout: busyTimeoutMilliseconds) }
        normalizer = try IdentityNormalizer(defaultCountry: defaultCountry)
        TimelineStore.guardSharedMemory()
        faultsAtOpen = Int(omnigate_shm_guard_faults())
        let exists = FileManager.default.fileExists(atPath: path)
        switch mode {
        case .readOnly:
            guard exists else {
                throw StoreError(.notFound, "there is no store at \(path) (a command that only reads never creates one; "
                                 + "check --store or [store] path)")
            }
            try Schema.inspect(path, readOnly: true)
            writer = nil
        case .readWrite:
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            if exists { try Schema.inspect(path, readOnly: false) }
            let connection = try SQLiteConnection(path: path, create: true, busyTimeout: busyTimeoutMilliseconds,
                                            synchronous: durability.rawValue, journalSizeLimit: walLimitBytes)
            migrationNotes = try Schema.migrate(connection, normalizer: normalizer)
            writer = connection
        }
        file = FileIdentity(path: path)
        busyTimeout = busyTimeoutMilliseconds
        writerQueue.setSpecific(key: onWriterQueue, value: true)
    }

    /// Opens a store in a PostgreSQL database and, with `.readWrite`, creates or migrates its schema
    /// (one gateway at a time: the others wait for it).
    /// - Parameters:
    ///   - postgresql: a libpq connection string (`host=/run/postgresql dbname=omnigate` or a
    ///     `postgresql://` URI); a password is better kept in `~/.pgpass` or `PGPASSWORD`.
    ///   - poolSize: reader connections at most; each read beyond waits for one to come back.
    /// - Throws: `StoreError(.unavailable)` when the server cannot be reached, `.notADatabase` for a
    ///   database holding tables of its own and no Omnigate schema, `.newerSchema` for a newer Omnigate's.
    public init(postgresql conninfo: String, defaultCountry: String = "US", poolSize: Int = 4,
                mode: StoreAccessMode = .readWrite) throws {
        dialect = .postgresql
        durability = .full
        self.mode = mode
        self.poolSize = max(1, poolSize)
        normalizer = try IdentityNormalizer(defaultCountry: defaultCountry)
        connect = { try PostgresConnection(conninfo) }
        let first = try PostgresConnection(conninfo)
        path = first.path
        switch mode {
        case .readOnly:
            defer { first.close() }
            try PostgresSchema.inspect(first, readOnly: true)
            writer = nil
        case .readWrite:
            migrationNotes = try PostgresSchema.migrate(first, normalizer: normalizer)
            writer = first
        }
        file = nil
        busyTimeout = 0
        faultsAtOpen = 0
        writerQueue.setSpecific(key: onWriterQueue, value: true)
    }

    deinit { close() }

    /// Installs the shared-memory guard (see `Sources/CSQLite/shim.h`) once per process.
    private static let guardInstalled: Bool = omnigate_shm_guard_install() == 0
    private static func guardSharedMemory() { _ = guardInstalled }

    /// True once a write into this store's `-shm` mapping faulted (the file became unwritable,
    /// was truncated, or its filesystem failed). The store must be closed and opened again.
    public var sharedMemoryFailed: Bool { dialect == .sqlite && Int(omnigate_shm_guard_faults()) != faultsAtOpen }

    private func checkSharedMemory() throws {
        if sharedMemoryFailed {
            throw StoreError(.unavailable, "the store's shared-memory file \(path)-shm could not be written (a bus error was caught); "
                             + "the store must be reopened")
        }
    }

    // MARK: - Connections

    /// Runs `body` on the writer queue, on the writer connection, inside one
    /// IMMEDIATE transaction: it commits when `body` returns and rolls back when it throws.
    /// Calling it from inside another `write` is a programming error and traps (it would deadlock).
    func write<T>(_ body: (Connection) throws -> T) throws -> T {
        precondition(DispatchQueue.getSpecific(key: onWriterQueue) != true, "TimelineStore.write called inside a write")
        return try writerQueue.sync {
            dispatchPrecondition(condition: .onQueue(writerQueue))
            if mode == .readOnly { throw StoreError(.unavailable, "the store \(path) was opened read-only") }
            var retried = false
            while true {
                if dialect == .postgresql, writer?.isUsable == false, !readersLock.withLock({ closed }) {
                    // The server dropped the connection (a restart, a failover): a new one, or a transient error.
                    writer?.close()
                    writer = try connect()
                }
                guard let writer, writer.isUsable else { throw StoreError(.unavailable, "the store \(path) is closed") }
                try checkSharedMemory()
                let result: T
                do {
                    result = try writer.transaction { try body(writer) }
                } catch let error as StoreError where dialect == .postgresql && !writer.isUsable && error.isTransient && !retried {
                    // The connection died under the write: once more on a new one. Every write is idempotent,
                    // so one that did commit before the reply was lost is not applied twice.
                    retried = true
                    continue
                }
                // A commit whose index pages faulted may not be seen by other processes: report it unwritten
                // (every write is idempotent, so applying it again later is safe).
                try checkSharedMemory()
                return result
            }
        }
    }

    /// Runs `body` on a reader connection (one read transaction, so it sees one snapshot). On
    /// PostgreSQL a read whose connection the server dropped runs once more on a new one.
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try readOnce(body)
        } catch let error as StoreError where dialect == .postgresql && error.isTransient && !readersLock.withLock({ closed }) {
            return try readOnce(body)
        }
    }

    private func readOnce<T>(_ body: (Connection) throws -> T) throws -> T {
        let pooled: Connection? = try readersLock.withLock {
            let deadline = Date().addingTimeInterval(Double(readerWait.components.seconds) + Double(readerWait.components.attoseconds) / 1e18)
            while !closed && lent >= poolSize {
                if !readersLock.wait(until: deadline) && lent >= poolSize {
                    throw StoreError(.unavailable, "no connection to the store \(path) came free within \(readerWait) "
                                     + "(pool_size \(poolSize)): reads arrive faster than the server answers them")
                }
            }
            if closed { throw StoreError(.unavailable, "the store \(path) is closed") }
            lent += 1
            return readers.popLast()
        }
        var connection: Connection?
        defer { giveBack(connection) }
        if let pooled {
            connection = pooled
        } else {
            connection = try connect()
            // A read that a hung server never answers would hold its thread and its pool slot for good.
            if dialect == .postgresql { try connection!.execute("SET statement_timeout = 5000") }
        }
        try checkSharedMemory()
        let result = try connection!.transaction(immediate: false) { try body(connection!) }
        try checkSharedMemory()
        return result
    }

    private func giveBack(_ connection: Connection?) {
        readersLock.withLock {
            lent -= 1
            if let connection {
                if !connection.isUsable {
                    // A dropped connection: those idle beside it are from before the same failure.
                    connection.close()
                    readers.forEach { $0.close() }
                    readers.removeAll()
                } else if closed {
                    if keepFilesAtClose { connection.keepFilesOnClose() }
                    connection.close()
                } else {
                    readers.append(connection)
                }
            }
            readersLock.broadcast()
        }
    }

    /// Closes every connection; reads and writes after it fail with `.unavailable`. With
    /// `keepingFiles`, closing checkpoints nothing and deletes no `-wal` or `-shm` file by
    /// name: use it when the path may now belong to another file (deleted, replaced or restored).
    /// Waits up to 5 s for reads in progress to finish.
    public func close(keepingFiles: Bool = false) {
        let idle: [Connection] = readersLock.withLock {
            if closed { return [] }
            closed = true
            keepFilesAtClose = keepingFiles
            let deadline = Date().addingTimeInterval(5)
            while lent > 0 && readersLock.wait(until: deadline) {}
            defer { readers.removeAll() }
            return readers
        }
        for connection in idle {
            if keepingFiles { connection.keepFilesOnClose() }
            connection.close()
        }
        let close = {
            guard let writer = self.writer else { return }
            if keepingFiles { writer.keepFilesOnClose() }
            writer.close()
        }
        if DispatchQueue.getSpecific(key: onWriterQueue) == true { close() } else { writerQueue.sync(execute: close) }
    }

    /// Copies the whole store, as the writer sees it, into a new file at `destination`
    /// (which must not exist), synced to disk. It works while the store's own file is
    /// deleted: the copy comes from the connection that still holds it open.
    public func copy(to destination: String) throws {
        try writerQueue.sync {
            guard let writer = writer as? SQLiteConnection else {
                throw StoreError(.unavailable, "a PostgreSQL store is copied with pg_dump, not by Omnigate")
            }
            guard writer.isUsable else { throw StoreError(.unavailable, "the store \(path) is closed") }
            let target = try SQLiteConnection(path: destination, create: true, synchronous: "FULL")
            defer { target.close() }
            try writer.copy(into: target)
        }
        let fd = Foundation.open(destination, O_RDONLY)
        if fd >= 0 { fsync(fd); Foundation.close(fd) }
    }

    /// Size of the write-ahead log now, in bytes (0 when there is none).
    public var walBytes: Int64 {
        guard dialect == .sqlite else { return 0 }
        return ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Copies the WAL into the database and truncates it, unless a reader (in any process)
    /// still needs it. Returns true when the WAL was emptied. Waits at most `patience` for readers.
    /// PostgreSQL checkpoints by itself: true, and nothing done.
    @discardableResult
    public func checkpoint(patience milliseconds: Int32 = 200) throws -> Bool {
        if dialect == .postgresql { return true }
        return try writerQueue.sync {
            guard let writer = writer as? SQLiteConnection, let handle = writer.handle else {
                throw StoreError(.unavailable, "the store \(path) is closed")
            }
            try checkSharedMemory()
            sqlite3_busy_timeout(handle, milliseconds)
            defer { sqlite3_busy_timeout(handle, busyTimeout) }
            // "TRUNCATE: … blocks … until all readers are reading from the database file only" and then
            // truncates the log to zero bytes (https://sqlite.org/pragma.html#pragma_wal_checkpoint).
            let row = try writer.rows("PRAGMA wal_checkpoint(TRUNCATE)").first
            return row?[0].int == 0
        }
    }

    /// The schema version of the open store.
    public var schemaVersion: Int {
        let sql = dialect == .sqlite ? "PRAGMA user_version" : "SELECT max(version) FROM omnigate_schema"
        return (try? read { Int(try $0.scalar(sql)?.int ?? 0) }) ?? 0
    }

    /// Statements left running on any connection (tests check it is zero).
    var busyStatements: Int {
        writerQueue.sync { writer?.busyStatements ?? 0 } + readersLock.withLock { readers.reduce(0) { $0 + $1.busyStatements } }
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

    /// One contact with its identities, or nil.
    public func contact(id: String) throws -> Contact? {
        try read { db in
            guard let row = try db.rows("SELECT id, name, tier, company FROM contacts WHERE id = ?", [.text(id)]).first else {
                return nil
            }
            let identities = try db.rows("SELECT kind, value FROM identities WHERE contact_id = ? ORDER BY kind, value",
                                         [.text(id)]).compactMap { row in
                IdentityKind(rawValue: row.text("kind") ?? "").map { Identity(kind: $0, value: row.text("value") ?? "") }
            }
            return Contact(id: id, name: row.text("name") ?? "", tier: row.text("tier") ?? "standard",
                           company: row.text("company"), identities: identities)
        }
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
    func attach(_ identity: Identity, to contactID: String, _ db: Connection) throws {
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

    /// The event a source already wrote with this external reference, if any.
    func storedEvent(source: String, externalRef: String?, _ db: Connection) throws -> Int64? {
        guard let externalRef else { return nil }
        return try db.scalar("SELECT id FROM events WHERE source = ? AND external_ref = ?", [.text(source), .text(externalRef)])?.int
    }

    /// Inserts an event, or returns the one its source already stored with the same external reference.
    func insert(_ event: TimelineEvent, _ db: Connection) throws -> Int64 {
        if let id = try insertIfNew(event, db) { return id }
        return try storedEvent(source: event.source, externalRef: event.externalRef, db)!
    }

    /// Inserts an event; nil when its source already stored one with the same
    /// external reference (checked after the limits, so a bad duplicate is still refused).
    func insertIfNew(_ event: TimelineEvent, _ db: Connection) throws -> Int64? {
        var event = event
        try Limits.check(event)
        if let address = event.address {
            let identities = normalizer.candidates(address)
            event.address = identities.first?.value ?? address
            if event.contactID == nil { event.contactID = try owner(of: identities, db) }
        }
        // One statement, not a look then an insert: no row back means the source stored it already.
        let id = try db.scalar("""
            INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, summary, body, status,
                                agent, thread_id, external_ref, source, media_path, media_duration_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (source, external_ref) WHERE external_ref IS NOT NULL DO NOTHING RETURNING id
            """, [.optional(event.contactID), .optional(event.address), .text(event.channel.rawValue),
                  .text(event.direction.rawValue), .int(event.time.milliseconds),
                  .optional(event.subject), .optional(event.summary), .optional(event.body), .optional(event.status),
                  .optional(event.agent), .optional(event.threadID), .optional(event.externalRef), .text(event.source),
                  .optional(event.mediaPath), .optional(event.mediaDurationMilliseconds.map(Int64.init))])
        return id?.int
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

    /// The columns a pop reads: a body is cut to its first `Limits.popBody`
    /// characters, so a long email cannot slow the pop down.
    static let popColumns = """
        id, contact_id, address, channel, direction, occurred_at, subject, summary, substr(body, 1, \(Limits.popBody)) AS body,
        status, agent, thread_id, external_ref, source, media_path, media_duration_ms
        """

    /// The screen pop for a number, URI, email or `chat:HANDLE`: the contact and
    /// its identities, the latest `limit` events on all channels (newest first),
    /// open items and a summary. An unknown caller gets the history of the
    /// number (or address) itself, with `known` false. Reads one snapshot, on
    /// the caller's thread; it never waits for a writer.
    /// - Throws: `StoreError(.invalidValue)` when `query` is not an identity of any kind.
    public func screenPop(for query: String, limit: Int = 10) throws -> TimelinePop {
        let identities = try normalizer.lookup(query)
        let limit = Int64(max(1, min(limit, 1000)))
        return try read { db in
            var pop = TimelinePop(query: query, known: false, contact: nil, identities: identities, recent: [], openItems: [],
                                  summary: .init())
            let byContact: Bool
            let value: SQLValue
            if let contactID = try owner(of: identities, db),
               let row = try db.rows("SELECT id, name, tier, company FROM contacts WHERE id = ?", [.text(contactID)]).first {
                pop.known = true
                pop.identities = try db.rows("SELECT kind, value FROM identities WHERE contact_id = ? ORDER BY kind, value",
                                             [.text(contactID)]).compactMap { row in
                    IdentityKind(rawValue: row.text("kind") ?? "").map { Identity(kind: $0, value: row.text("value") ?? "") }
                }
                pop.contact = Contact(id: contactID, name: row.text("name") ?? "", tier: row.text("tier") ?? "standard",
                                      company: row.text("company"), identities: pop.identities)
                byContact = true
                value = .text(contactID)
            } else {
                byContact = false
                value = .text(identities.first?.value ?? query)
            }
            // Every read is a bounded slice of an index (see `PopStatements`), so a caller with a
            // million events pops as fast as one with ten.
            let sql = PopStatements(byContact: byContact)
            pop.recent = try db.rows(sql.recent, [value, .int(limit)]).map(TimelineEvent.init(row:))
            pop.openItems = try db.rows(sql.openItems, [value, .int(Int64(Limits.popOpenItems))]).map(TimelineEvent.init(row:))
            for row in try db.rows(sql.counts, [.text(byContact ? "contact" : "address"), value]) {
                pop.summary.interactions[row.text("channel") ?? ""] = Int(row.int("events") ?? 0)
                pop.summary.openItems += Int(row.int("open") ?? 0)
            }
            // The last contact is the latest interaction with the customer: notes are internal.
            if let last = pop.recent.first(where: { $0.channel != .note }) {
                pop.summary.lastContact = last.time
                pop.summary.lastChannel = last.channel.rawValue
                pop.summary.lastSubject = last.subject ?? last.summary
            } else if pop.recent.count == Int(limit), let row = try db.rows(sql.lastSpoken, [value]).first {
                pop.summary.lastContact = row.int("occurred_at").map(Date.init(milliseconds:))
                pop.summary.lastChannel = row.text("channel")
                pop.summary.lastSubject = row.text("subject")
            }
            if let agent = pop.recent.first(where: { $0.agent != nil })?.agent {
                pop.summary.lastAgent = agent
            } else if pop.recent.count == Int(limit) {
                pop.summary.lastAgent = try db.scalar(sql.lastAgent, [value])?.string
            }
            return pop
        }
    }
}

/// The statements a screen pop runs, for a contact (`contact_id = ?`) or an unknown caller's
/// address (`address = ?`). Each reads a bounded slice of an index: the newest N events, the
/// newest open items (partial index), one row of the partial indexes of spoken (not note) events
/// and of events with an agent, and the per-channel counts the triggers of schema version 4
/// keep. A test checks each plan with `EXPLAIN QUERY PLAN`.
struct PopStatements {
    let recent, openItems, counts, lastSpoken, lastAgent: String

    init(byContact: Bool) {
        // Two spellings of each query, so each uses its own index (the column name is ours, not input).
        let scope = byContact ? "contact_id = ?" : "address = ?"
        let columns = TimelineStore.popColumns
        recent = "SELECT \(columns) FROM events WHERE \(scope) ORDER BY occurred_at DESC, id DESC LIMIT ?"
        openItems = "SELECT \(columns) FROM events WHERE \(scope) AND status = 'open' ORDER BY occurred_at DESC, id DESC LIMIT ?"
        counts = "SELECT channel, events, open FROM timeline_counts WHERE scope = ? AND key = ? AND events > 0"
        lastSpoken = """
            SELECT occurred_at, channel, coalesce(subject, summary) AS subject FROM events
            WHERE \(scope) AND channel != 'note' ORDER BY occurred_at DESC LIMIT 1
            """
        lastAgent = "SELECT agent FROM events WHERE \(scope) AND agent IS NOT NULL ORDER BY occurred_at DESC LIMIT 1"
    }

    var all: [String] { [recent, openItems, counts, lastSpoken, lastAgent] }
}

extension TimelineEvent {
    init(row: Row) {
        self.init(channel: EventChannel(rawValue: row.text("channel") ?? "") ?? .note,
                  direction: Direction(spelling: row.text("direction") ?? "") ?? .internal,
                  time: Date(milliseconds: row.int("occurred_at") ?? 0),
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
        mediaPath = row.text("media_path")
        mediaDurationMilliseconds = row.int("media_duration_ms").map { Int($0) }
    }
}
