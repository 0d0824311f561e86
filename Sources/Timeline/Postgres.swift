// The store's PostgreSQL backend: one libpq connection (Debian libpq-dev) behind `SQLConnection`.
//
// Statements are prepared once per connection (named `s1`, `s2`, …, the protocol's own
// prepared statements, not SQL PREPARE) with the parameter types left for the server to infer,
// and values travel as text: the server parses them for the column they meet, so `?` means the
// same in both backends. Results come back as text and are read by their column's type.

import CLibPQ
import Foundation

/// One connection to a PostgreSQL server. Not thread-safe: used by one thread at a time, as
/// `SQLiteConnection` is. A lost server connection is not repaired here: `isUsable` turns
/// false and the store opens a new connection for the next read or write.
final class PostgresConnection: SQLConnection {
    /// Where it connects, for messages: `postgresql://user@host:port/db`, never the password.
    let path: String
    var dialect: SQLDialect { .postgresql }
    private var connection: OpaquePointer?
    /// Prepared statements by SQL text: their server-side name, column map, and runs since prepared.
    private var statements: [String: (name: String, columns: [String: Int]?, uses: Int)] = [:]
    private var statementsMade = 0
    /// A statement is prepared again after this many runs. The server plans a prepared statement
    /// for the tables as they were (after five runs it may keep one generic plan), and on a new
    /// store they are empty: `call_records` read by a sequential scan is the cheapest plan for an
    /// empty table and stayed for every hangup after, until autovacuum analyzed the table (store-bench
    /// showed a finalise costing more with each record written). Planning again now and then costs
    /// one plan in a thousand runs.
    static let replanEvery = 1000

    /// Connects with a libpq connection string (`host=… dbname=…` or a `postgresql://` URI).
    /// - Throws: `StoreError(.unavailable)` naming the server when it cannot be reached or refuses
    ///   the login (libpq's message, which never holds the password).
    init(_ conninfo: String) throws {
        connection = PQconnectdb(conninfo)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let connection { PQfinish(connection) }
            self.connection = nil
            path = "PostgreSQL"
            throw StoreError(.unavailable, "cannot connect to the PostgreSQL store: "
                             + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let host = String(cString: PQhost(connection))
        path = "postgresql://\(String(cString: PQuser(connection)))@\(host.hasPrefix("/") ? "[\(host)]" : host)"
            + ":\(String(cString: PQport(connection)))/\(String(cString: PQdb(connection)))"
        // The server's notices (a table that exists already, …) are not for the gateway's log.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        do {
            // Times are milliseconds in BIGINTs; text is UTF-8 whatever the server's default.
            try execute("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Set by an error that ends the session (class 08, or the server shutting down: 57P01–57P03),
    /// which libpq may still report as a good connection until it reads the socket again.
    private var ended = false

    var isUsable: Bool { !ended && (connection.map { PQstatus($0) == CONNECTION_OK } ?? false) }

    func close() {
        statements.removeAll()
        if let connection { PQfinish(connection) }
        connection = nil
    }

    var busyStatements: Int { 0 }

    func keepFilesOnClose() {}

    /// The error a failed result stands for: its SQLSTATE, or a connection failure (08006) when the
    /// server is gone. The primary message only: details may hold the values of a row.
    private func error(_ result: OpaquePointer?, _ sql: String?) -> StoreError {
        let field = { (code: Character) -> String? in
            result.flatMap { PQresultErrorField($0, Int32(code.asciiValue!)) }.map { String(cString: $0) }
        }
        let connectionText = connection.map { String(cString: PQerrorMessage($0)) } ?? "the connection is closed"
        let state = field("C") ?? "08006"
        var message = field("M") ?? connectionText.trimmingCharacters(in: .whitespacesAndNewlines)
        // A data exception quotes the value it could not take ("invalid input syntax for type bigint: …").
        if state.hasPrefix("22"), let colon = message.firstIndex(of: ":") { message = String(message[..<colon]) }
        if state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) { ended = true }
        return StoreError(.postgresql(sqlstate: state), "\(message) (PostgreSQL SQLSTATE \(state))", sql: sql)
    }

    /// Runs SQL without parameters through the simple-query protocol (several statements allowed).
    func execute(_ sql: String) throws {
        guard let connection else { throw StoreError(.unavailable, "the PostgreSQL connection is closed", sql: sql) }
        // Rolling back to a savepoint also lets go of locks taken after it.
        if sql.hasPrefix("ROLLBACK") { writersLocked = false }
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw error(result, sql) }
    }

    /// `?` placeholders as PostgreSQL's `$1`, `$2`, … (outside quoted text and comments).
    static func numberedPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        var comment = false
        var previous: Character = " "
        for c in sql {
            if comment {
                if c == "\n" { comment = false }
            } else if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "-" && previous == "-" {
                comment = true
            } else if c == "?" {
                n += 1
                out += "$\(n)"
                previous = c
                continue
            }
            out.append(c)
            previous = c
        }
        return out
    }

    private func prepared(_ sql: String) throws -> (name: String, columns: [String: Int]?) {
        if let cached = statements[sql], cached.uses < Self.replanEvery {
            statements[sql]!.uses += 1
            return (cached.name, cached.columns)
        }
        guard let connection else { throw StoreError(.unavailable, "the PostgreSQL connection is closed", sql: sql) }
        if let old = statements.removeValue(forKey: sql) {
            PQclear(PQexec(connection, "DEALLOCATE \(old.name)"))
        }
        statementsMade += 1
        let name = "s\(statementsMade)"
        let result = PQprepare(connection, name, Self.numberedPlaceholders(sql), 0, nil)
        defer { PQclear(result) }
        guard result.map(PQresultStatus) == PGRES_COMMAND_OK else { throw error(result, sql) }
        statements[sql] = (name, nil, 1)
        return (name, nil)
    }

    /// Runs a prepared statement; returns its result (the caller clears it).
    private func execute(_ sql: String, _ values: [SQLValue]) throws -> OpaquePointer {
        guard let connection else { throw StoreError(.unavailable, "the PostgreSQL connection is closed", sql: sql) }
        let statement = try prepared(sql)
        let texts: [String?] = values.map { value in
            switch value {
            case .null: nil
            case .int(let n): String(n)
            case .double(let d): String(d)
            case .text(let s): s
            }
        }
        let pointers: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } ?? nil }
        defer { pointers.forEach { free($0) } }
        let result = pointers.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(1, buffer.count)) { params in
                PQexecPrepared(connection, statement.name, Int32(values.count), values.isEmpty ? nil : params, nil, nil, 0)
            }
        }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard let result, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let failure = error(result, sql)
            PQclear(result)
            throw failure
        }
        return result
    }

    func query(_ sql: String, _ values: [SQLValue], _ each: (Row) throws -> Void) throws {
        let result = try execute(sql, values)
        defer { PQclear(result) }
        let fields = PQnfields(result)
        let columns: [String: Int]
        if let known = statements[sql]?.columns {
            columns = known
        } else {
            var map: [String: Int] = [:]
            for c in 0..<fields { map[String(cString: PQfname(result, c))] = Int(c) }
            statements[sql]?.columns = map
            columns = map
        }
        let types = (0..<fields).map { PQftype(result, $0) }
        for r in 0..<PQntuples(result) {
            var row: [SQLValue] = []
            row.reserveCapacity(Int(fields))
            for c in 0..<fields {
                if PQgetisnull(result, r, c) != 0 { row.append(.null); continue }
                let text = String(decoding: UnsafeRawBufferPointer(start: PQgetvalue(result, r, c), count: Int(PQgetlength(result, r, c))),
                                  as: UTF8.self)
                row.append(Self.value(text, type: types[Int(c)]))
            }
            try each(Row(columns: columns, values: row))
        }
    }

    /// A value by its column's type OID (pg_type.h): booleans as 1/0 like SQLite's, integers,
    /// floating point, `numeric` (what `sum` of a bigint gives) as an integer when it is whole.
    static func value(_ text: String, type: Oid) -> SQLValue {
        switch type {
        case 16: return .int(text == "t" ? 1 : 0)
        case 20, 21, 23, 26: return Int64(text).map(SQLValue.int) ?? .text(text)
        case 700, 701: return Double(text).map(SQLValue.double) ?? .text(text)
        case 1700: return Int64(text).map(SQLValue.int) ?? Double(text).map(SQLValue.double) ?? .text(text)
        default: return .text(text)
        }
    }

    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let result = try execute(sql, values)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// A write (`immediate`) runs at READ COMMITTED, rows locked as it goes. A read runs at
    /// REPEATABLE READ, READ ONLY: its statements all see one snapshot, as an SQLite read
    /// transaction does (at READ COMMITTED a pop's counts could include an event its list missed).
    /// The writers' advisory lock is held until the transaction ends.
    private var writersLocked = false

    func lockWriters() throws {
        guard !writersLocked else { return }
        try execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey))")
        writersLocked = true
    }

    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        writersLocked = false
        defer { writersLocked = false }
        try execute(immediate ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        do {
            let result = try body()
            // A statement that failed inside (and was caught) aborted the transaction: COMMIT would
            // only roll it back, and say so by its tag, not by an error.
            if let connection, PQtransactionStatus(connection) == PQTRANS_INERROR {
                throw StoreError(.postgresql(sqlstate: "25P02"), "a statement of the transaction failed; nothing of it was written")
            }
            try execute("COMMIT")
            return result
        } catch {
            if let connection, PQtransactionStatus(connection) != PQTRANS_IDLE { try? execute("ROLLBACK") }
            throw error
        }
    }
}
