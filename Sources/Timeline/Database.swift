// Timeline: the shared customer store — contacts, their identities, events on
// every channel, and call records — in one SQLite file other systems share.
//
// Rules, first:
// - Only this module imports CSQLite and CLibPQ; no sqlite3 or libpq type appears in its API.
// - The store's operations are written once, against `SQLConnection`; each backend
//   (`SQLiteConnection`, `PostgresConnection`) turns its own failures into `StoreError`s
//   and says where its SQL differs (`SQLDialect`).
// - One writer connection per store, used on one serial queue; readers use
//   their own connections (WAL lets them read while a writer writes, in this
//   process or another).
// - Statements are prepared once per connection and cached by their SQL text;
//   values are always bound, never spliced into SQL.
// - Transactions are closures: they commit on return and roll back on throw.
// - `StoreError` carries the database's code and message and the SQL, never bound
//   values: those are phone numbers and messages.

import CSQLite
import Foundation

/// A failure from SQLite, or a refusal from the store.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// SQLite returned an error code.
        case sqlite(code: Int32)
        /// PostgreSQL returned an error with this SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html).
        case postgresql(sqlstate: String)
        /// The file is not a database, or is damaged.
        case notADatabase
        /// The file was written by a newer Omnigate (schema version).
        case newerSchema(found: Int, supported: Int)
        /// A value the store does not accept (too long, control characters, …).
        case invalidValue
        /// An identity already belongs to another contact.
        case conflict
        /// Something asked for does not exist.
        case notFound
        /// The store cannot be used now (closed, or its files are broken); a later attempt may work.
        case unavailable
    }

    public var kind: Kind
    public var message: String
    /// The SQL that failed, when there is one (never with bound values).
    public var sql: String?

    public init(_ kind: Kind, _ message: String, sql: String? = nil) {
        self.kind = kind
        self.message = message
        self.sql = sql
    }

    /// The message, and the SQL that failed when there is one (bound values never appear).
    public var description: String { sql.map { "\(message) [SQL: \($0)]" } ?? message }

    /// True when another connection holds a lock the write needs (SQLite: SQLITE_BUSY, SQLITE_LOCKED;
    /// PostgreSQL: a lock not available, a serialization failure or a deadlock, class 40 and 55P03).
    public var isLocked: Bool {
        switch kind {
        case .sqlite(let code): return code & 0xff == 5 || code & 0xff == 6
        case .postgresql(let state): return state.hasPrefix("40") || state == "55P03"
        default: return false
        }
    }

    /// True when the write may succeed later unchanged: the store is locked, full, read-only, failing
    /// or gone, or closed. SQLite: BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
    /// PROTOCOL, NOTADB. PostgreSQL: connection failures (08), transaction rollbacks (40), resources
    /// (53: disk full, out of memory, too many connections), the server shutting down or in
    /// recovery (57P01–57P03), system errors (58), a read-only transaction (25006).
    /// False for a value the store refuses, which no retry changes.
    public var isTransient: Bool {
        switch kind {
        case .unavailable: return true
        case .sqlite(let code): return [5, 6, 7, 8, 10, 11, 13, 14, 15, 26].contains(code & 0xff)
        case .postgresql(let state):
            return ["08", "40", "53", "58"].contains(String(state.prefix(2))) || ["57P01", "57P02", "57P03", "25006"].contains(state)
        default: return false
        }
    }

    /// The database refused a write because of a UNIQUE, CHECK, NOT NULL or foreign-key constraint.
    var isConstraint: Bool {
        switch kind {
        case .sqlite(let code): return code & 0xff == 19
        case .postgresql(let state): return state.hasPrefix("23")
        default: return false
        }
    }
}

/// Where the backends' SQL differs. Everything else is written once, in SQL both accept
/// (`?` placeholders, `ON CONFLICT`, `RETURNING`, partial indexes, `"end"` quoted).
public enum SQLDialect: String, Sendable {
    case sqlite, postgresql

    /// The larger of two values: SQLite's two-argument `max`, PostgreSQL's `greatest`.
    var greatest: String { self == .sqlite ? "max" : "greatest" }

    /// PostgreSQL skips rows another gateway's claim holds (`FOR UPDATE SKIP LOCKED`); an SQLite
    /// write transaction holds the whole file, so there is nothing to skip.
    var skipLocked: String { self == .sqlite ? "" : " FOR UPDATE SKIP LOCKED" }

    /// ` INDEXED BY name` for SQLite, whose planner needs the hint on this query; nothing for PostgreSQL.
    func indexedBy(_ index: String) -> String { self == .sqlite ? " INDEXED BY \(index)" : "" }
}

/// One connection to the store's database, used by one thread at a time (the writer queue, or
/// a reader checked out of the pool). The store's operations are written against this.
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Where the connection goes: a file path, or a PostgreSQL connection string without its password.
    var path: String { get }
    /// False once closed, or once its server connection is lost: the store replaces it.
    var isUsable: Bool { get }
    /// Runs SQL that takes no parameters and returns nothing (DDL, BEGIN); may hold several statements.
    func execute(_ sql: String) throws
    /// Runs a statement with bound values, calling `each` for every row.
    func query(_ sql: String, _ values: [SQLValue], _ each: (Row) throws -> Void) throws
    /// Runs a statement that changes rows; returns how many it changed.
    @discardableResult func run(_ sql: String, _ values: [SQLValue]) throws -> Int
    /// Runs `body` in one transaction: commit on return, roll back on throw (the first error wins).
    /// `immediate`: take the write lock at once (SQLite's BEGIN IMMEDIATE; PostgreSQL locks per row).
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T
    func close()
    /// Makes closing touch nothing by name (SQLite: no checkpoint, no deleting `-wal`/`-shm`);
    /// nothing to do for a server's connection.
    func keepFilesOnClose()
    /// Makes other writers of the store wait until this transaction ends: `ended_seq` is max + 1, and
    /// the API pages by it, so a page must never skip a record that commits later with a smaller
    /// number. SQLite: nothing to do (a write transaction excludes other writers). PostgreSQL: an
    /// advisory lock, taken once a transaction.
    func lockWriters() throws
    /// Statements that have not been reset (a leak check for tests).
    var busyStatements: Int { get }
}

extension SQLConnection {
    func query(_ sql: String, _ each: (Row) throws -> Void) throws { try query(sql, [], each) }
    @discardableResult func run(_ sql: String) throws -> Int { try run(sql, []) }
    func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(immediate: true, body) }

    /// All rows of a query.
    func rows(_ sql: String, _ values: [SQLValue] = []) throws -> [Row] {
        var result: [Row] = []
        try query(sql, values) { result.append($0) }
        return result
    }

    /// The first column of the first row, or nil.
    func scalar(_ sql: String, _ values: [SQLValue] = []) throws -> SQLValue? {
        var result: SQLValue?
        try query(sql, values) { row in if result == nil { result = row[0] } }
        return result
    }
}

/// The connection the store's operations take: either backend.
typealias Connection = any SQLConnection


/// SQLite's transient destructor: SQLite copies a bound value before the call returns.
private let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// One value bound to or read from a statement.
enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    var string: String? { if case .text(let s) = self { s } else { nil } }
    var int: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d): Int64(d)
        default: nil
        }
    }

    static func optional(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func optional(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
}

/// A row read from a statement. Values are held by column index; names are
/// resolved through the statement's column map, built once when it was prepared.
struct Row {
    let columns: [String: Int]
    let values: [SQLValue]
    subscript(_ column: String) -> SQLValue { columns[column].map { values[$0] } ?? .null }
    subscript(_ index: Int) -> SQLValue { values[index] }
    func text(_ column: String) -> String? { self[column].string }
    func int(_ column: String) -> Int64? { self[column].int }
}

/// Wraps one prepared `sqlite3_stmt`; `deinit` finalizes it. Prepared with
/// `SQLITE_PREPARE_PERSISTENT` because its connection keeps it for reuse.
final class Statement {
    let sql: String
    let handle: OpaquePointer
    /// Column name to index, for `Row` lookups by name.
    let columns: [String: Int]

    init(_ db: OpaquePointer, sql: String) throws(StoreError) {
        var handle: OpaquePointer?
        let status = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard status == SQLITE_OK, let handle else {
            sqlite3_finalize(handle)
            throw StoreError(.sqlite(code: status), "\(String(cString: sqlite3_errmsg(db))) (SQLite code \(status))", sql: sql)
        }
        self.sql = sql
        self.handle = handle
        var columns: [String: Int] = [:]
        for c in 0..<Int(sqlite3_column_count(handle)) {
            columns[String(cString: sqlite3_column_name(handle, Int32(c)))] = c
        }
        self.columns = columns
    }

    deinit { sqlite3_finalize(handle) }

    /// True while stepping has begun and the statement was not reset.
    var isBusy: Bool { sqlite3_stmt_busy(handle) != 0 }

    /// The value of column `c` of the current row. Text is decoded from its
    /// byte length (so an embedded NUL cannot cut it), and bytes that are not
    /// UTF-8 (another writer may store them) become U+FFFD instead of failing.
    func value(_ c: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, c) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, c))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, c))
        case SQLITE_NULL: return .null
        default:
            guard let bytes = sqlite3_column_text(handle, c) else { return .null }
            let count = Int(sqlite3_column_bytes(handle, c))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
    }
}

/// Wraps one `sqlite3` connection. Not thread-safe: its owner (the writer
/// queue, or a reader checked out of the pool) uses it from one thread at a time.
final class SQLiteConnection: SQLConnection {
    let path: String
    var dialect: SQLDialect { .sqlite }
    var isUsable: Bool { handle != nil }
    private(set) var handle: OpaquePointer?
    /// Prepared statements by SQL text; finalized when the connection closes.
    private var statements: [String: Statement] = [:]

    /// Opens (creating, when `create`) a database file with a busy timeout. A writer (not
    /// `readOnly`) switches the file to WAL and sets its sync level; a reader opens it read-only,
    /// so it can never change the file.
    /// - Parameters:
    ///   - synchronous: `PRAGMA synchronous` for a writer (`FULL` or `NORMAL`).
    ///   - journalSizeLimit: bytes the WAL is truncated to after a checkpoint (`PRAGMA journal_size_limit`).
    ///   - immutable: read the file as it is, creating nothing beside it (no `-wal`, no `-shm`) and
    ///     taking no locks: for checking a file nobody is writing (https://sqlite.org/uri.html#uriimmutable).
    init(path: String, create: Bool, readOnly: Bool = false, busyTimeout: Int32 = 5000, synchronous: String = "FULL",
         journalSizeLimit: Int64 = -1, immutable: Bool = false) throws {
        self.path = path
        var flags = readOnly || immutable ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly && !immutable { flags |= SQLITE_OPEN_CREATE }
        // NOMUTEX: SQLite's own locking is off for this handle; its owner serialises use.
        flags |= SQLITE_OPEN_NOMUTEX
        var name = path
        if immutable {
            flags |= SQLITE_OPEN_URI
            let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/-._~"))
            name = "file:" + (path.addingPercentEncoding(withAllowedCharacters: plain) ?? path) + "?immutable=1"
        }
        let status = sqlite3_open_v2(name, &handle, flags, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // "Whether or not an error occurs when it is opened, resources associated with the
            // database connection handle should be released by passing it to sqlite3_close()"
            // (https://sqlite.org/c3ref/open.html).
            sqlite3_close_v2(handle)
            handle = nil
            throw StoreError(.sqlite(code: status), "cannot open the store \(path): \(message)")
        }
        sqlite3_busy_timeout(handle, busyTimeout)
        sqlite3_extended_result_codes(handle, 1)
        do {
            // Reading the schema is the first touch of the file: a non-database or
            // damaged file fails here, with SQLITE_NOTADB or SQLITE_CORRUPT.
            _ = try scalar("SELECT count(*) FROM sqlite_master")
            if !readOnly && !immutable {
                try execute("PRAGMA journal_mode = WAL")
                // See docs/timeline.md, "Durability": FULL syncs the WAL at every commit, so a
                // committed call record survives a kill, a crash of the process and a power cut.
                try execute("PRAGMA synchronous = \(synchronous)")
                // The writer updates indexes all over a large file (events by contact, by address):
                // 32 MiB of page cache keeps their upper levels in memory. Readers keep SQLite's 2 MiB.
                try execute("PRAGMA cache_size = -32768")
                // A checkpoint that completes truncates the WAL to this size, so one burst of writes
                // does not keep the file at its largest (https://sqlite.org/pragma.html#pragma_journal_size_limit).
                try execute("PRAGMA journal_size_limit = \(journalSizeLimit)")
            }
            try execute("PRAGMA foreign_keys = ON")
        } catch let error as StoreError {
            close()
            if case .sqlite(let code) = error.kind, code & 0xff == SQLITE_NOTADB || code & 0xff == SQLITE_CORRUPT {
                throw StoreError(.notADatabase,
                                 "\(path) is not an Omnigate store: it is not an SQLite database, or it is damaged (\(error.message))")
            }
            throw error
        }
    }

    deinit { close() }

    func close() {
        statements.removeAll()  // each Statement finalizes itself, before the connection closes
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Makes closing touch nothing by name: no checkpoint and no deleting the `-wal` and `-shm`
    /// files, which by then may belong to another file at the same path (a replaced or restored store).
    func lockWriters() {}

    func keepFilesOnClose() {
        guard let handle else { return }
        _ = omnigate_sqlite3_no_checkpoint_on_close(handle)
        var persist: Int32 = 1
        _ = sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
    }

    /// Copies the whole database, as this connection sees it (its WAL included), into `destination`.
    /// Wraps `sqlite3_backup_init`/`_step`/`_finish` (https://sqlite.org/backup.html).
    func copy(into destination: SQLiteConnection) throws {
        guard let handle, let target = destination.handle else { throw StoreError(.unavailable, "the store is closed") }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            throw StoreError(.sqlite(code: sqlite3_errcode(target)), "cannot copy the store: \(String(cString: sqlite3_errmsg(target)))")
        }
        let step = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard step == SQLITE_DONE, finish == SQLITE_OK else {
            let code = step == SQLITE_DONE ? finish : step
            throw StoreError(.sqlite(code: code), "cannot copy the store: \(String(cString: sqlite3_errstr(code)))")
        }
    }

    private var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    private func error(_ code: Int32, _ sql: String) -> StoreError {
        StoreError(.sqlite(code: code), "\(lastError) (SQLite code \(code))", sql: sql)
    }

    /// Runs SQL that takes no parameters and returns nothing (DDL, PRAGMA, BEGIN).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw StoreError(.sqlite(code: status), "\(text) (SQLite code \(status))", sql: sql)
        }
    }

    /// The cached prepared statement for `sql` (prepared on first use).
    func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        guard let handle else { throw StoreError(.sqlite(code: SQLITE_MISUSE), "the store is closed", sql: sql) }
        let statement = try Statement(handle, sql: sql)
        statements[sql] = statement
        return statement
    }

    private func bind(_ statement: Statement, _ values: [SQLValue]) throws {
        for (index, value) in values.enumerated() {
            let i = Int32(index + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement.handle, i)
            case .int(let n): status = sqlite3_bind_int64(statement.handle, i, n)
            case .double(let d): status = sqlite3_bind_double(statement.handle, i, d)
            case .text(let s): status = sqlite3_bind_text(statement.handle, i, s, -1, SQLITE_TRANSIENT)
            }
            if status != SQLITE_OK { throw error(status, statement.sql) }
        }
    }

    /// Runs a statement with bound values, calling `each` for every row.
    func query(_ sql: String, _ values: [SQLValue], _ each: (Row) throws -> Void) throws {
        let statement = try statement(sql)
        defer {
            sqlite3_reset(statement.handle)
            sqlite3_clear_bindings(statement.handle)
        }
        try bind(statement, values)
        let count = sqlite3_column_count(statement.handle)
        while true {
            let status = sqlite3_step(statement.handle)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw error(status, sql) }
            var row: [SQLValue] = []
            row.reserveCapacity(Int(count))
            for c in 0..<count { row.append(statement.value(c)) }
            try each(Row(columns: statement.columns, values: row))
        }
    }

    /// Runs a statement that changes rows; returns how many it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try query(sql, values) { _ in }
        return Int(sqlite3_changes(handle))
    }

    /// Runs `body` in one transaction: commit on return, roll back on throw (the first error wins).
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // After a failed COMMIT SQLite may already have rolled back; ignore that ROLLBACK's error.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Statements that have not been reset (a leak check for tests).
    var busyStatements: Int { statements.values.filter(\.isBusy).count }
}

extension TimelineStore {
    /// The version of the SQLite library in use. Wraps `sqlite3_libversion`.
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}
