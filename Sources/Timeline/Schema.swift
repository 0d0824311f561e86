import Foundation

/// The store's schema as numbered migrations. Each runs once, in its own
/// IMMEDIATE transaction that also sets `PRAGMA user_version`; a merged
/// migration is never edited, only followed by a new one. docs/timeline.md is
/// the contract other writers follow.
enum Schema {
    /// One step of the schema: SQL, and for what SQL alone cannot do in SQLite
    /// (change a column's CHECK), Swift run after it in the same transaction.
    struct Migration: Sendable {
        let version: Int
        let sql: String
        /// Swift after the SQL; what it returns is said when the store opens (logged by the gateway).
        var rewrite: (@Sendable (Connection, IdentityNormalizer) throws -> [String])? = nil
        init(_ version: Int, _ sql: String, rewrite: (@Sendable (Connection, IdentityNormalizer) throws -> [String])? = nil) {
            self.version = version
            self.sql = sql
            self.rewrite = rewrite
        }
    }

    static let migrations: [Migration] = [
        Migration(1, """
        CREATE TABLE contacts (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL DEFAULT '',
            tier        TEXT NOT NULL DEFAULT 'standard',
            company     TEXT,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        CREATE TABLE identities (
            kind        TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'chat', 'sip')),
            value       TEXT NOT NULL,
            contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            PRIMARY KEY (kind, value)
        ) WITHOUT ROWID;
        CREATE INDEX identities_contact ON identities(contact_id);
        CREATE TABLE events (
            id           INTEGER PRIMARY KEY,
            contact_id   TEXT REFERENCES contacts(id) ON DELETE SET NULL,
            address      TEXT,
            channel      TEXT NOT NULL CHECK (channel IN ('voice', 'sms', 'chat', 'email', 'social', 'note')),
            direction    TEXT NOT NULL CHECK (direction IN ('in', 'out', 'internal')),
            occurred_at  INTEGER NOT NULL,
            subject      TEXT,
            summary      TEXT,
            body         TEXT,
            status       TEXT,
            agent        TEXT,
            thread_id    TEXT,
            external_ref TEXT,
            source       TEXT NOT NULL
        );
        CREATE UNIQUE INDEX events_external ON events(source, external_ref) WHERE external_ref IS NOT NULL;
        CREATE INDEX events_contact_time ON events(contact_id, occurred_at DESC);
        CREATE INDEX events_address_time ON events(address, occurred_at DESC);
        CREATE TABLE call_records (
            uniqueid     TEXT PRIMARY KEY,
            clid         TEXT NOT NULL DEFAULT '',
            src          TEXT NOT NULL DEFAULT '',
            dst          TEXT NOT NULL DEFAULT '',
            dcontext     TEXT NOT NULL DEFAULT '',
            channel      TEXT NOT NULL DEFAULT '',
            dstchannel   TEXT NOT NULL DEFAULT '',
            lastapp      TEXT NOT NULL DEFAULT '',
            lastdata     TEXT NOT NULL DEFAULT '',
            start        INTEGER NOT NULL,
            answer       INTEGER,
            end          INTEGER,
            duration     INTEGER NOT NULL DEFAULT 0,
            billsec      INTEGER NOT NULL DEFAULT 0,
            disposition  TEXT NOT NULL DEFAULT 'NO ANSWER'
                         CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION')),
            userfield    TEXT NOT NULL DEFAULT '',
            state        TEXT NOT NULL DEFAULT 'ringing' CHECK (state IN ('ringing', 'answered', 'bridged', 'ended'))
        );
        CREATE INDEX call_records_start ON call_records(start);
        """),
        Migration(2, """
        ALTER TABLE call_records ADD COLUMN contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL;
        ALTER TABLE call_records ADD COLUMN agent TEXT;
        ALTER TABLE call_records ADD COLUMN queue TEXT;
        ALTER TABLE call_records ADD COLUMN wait_ms INTEGER;
        ALTER TABLE call_records ADD COLUMN sip_call_id TEXT;
        ALTER TABLE call_records ADD COLUMN sip_status INTEGER;
        ALTER TABLE call_records ADD COLUMN agent_sip_status INTEGER;
        ALTER TABLE call_records ADD COLUMN hangup_side TEXT;
        ALTER TABLE call_records ADD COLUMN dialplan_path TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE call_records ADD COLUMN recording TEXT;
        ALTER TABLE call_records ADD COLUMN trunk TEXT;
        ALTER TABLE call_records ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX call_records_open ON call_records(state) WHERE state != 'ended';
        CREATE INDEX events_contact_open ON events(contact_id, occurred_at DESC) WHERE status = 'open';
        """),
        Migration(3, """
        ALTER TABLE events ADD COLUMN media_path TEXT;
        ALTER TABLE events ADD COLUMN media_duration_ms INTEGER CHECK (media_duration_ms IS NULL OR media_duration_ms >= 0);
        ALTER TABLE call_records ADD COLUMN direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out'));
        PRAGMA application_id = 1330466375;
        """),
        Migration(4, """
        ALTER TABLE call_records ADD COLUMN truncated TEXT;
        ALTER TABLE call_records ADD COLUMN run_id TEXT;
        CREATE TABLE gateway_runs (
            id            TEXT PRIMARY KEY,
            system_name   TEXT NOT NULL,
            pid           INTEGER NOT NULL,
            boot_id       TEXT NOT NULL DEFAULT '',
            process_start INTEGER NOT NULL DEFAULT 0,
            started_at    INTEGER NOT NULL,
            alive_at      INTEGER NOT NULL,
            stopped_at    INTEGER
        );
        CREATE TABLE timeline_counts (
            scope    TEXT NOT NULL CHECK (scope IN ('contact', 'address')),
            key      TEXT NOT NULL,
            channel  TEXT NOT NULL,
            events   INTEGER NOT NULL DEFAULT 0,
            open     INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, key, channel)
        ) WITHOUT ROWID;
        INSERT INTO timeline_counts (scope, key, channel, events, open)
            SELECT 'contact', contact_id, channel, count(*), sum(status IS 'open') FROM events
            WHERE contact_id IS NOT NULL GROUP BY contact_id, channel;
        INSERT INTO timeline_counts (scope, key, channel, events, open)
            SELECT 'address', address, channel, count(*), sum(status IS 'open') FROM events
            WHERE address IS NOT NULL GROUP BY address, channel;
        CREATE TRIGGER events_counted_insert AFTER INSERT ON events BEGIN
            INSERT INTO timeline_counts (scope, key, channel, events, open)
                SELECT 'contact', NEW.contact_id, NEW.channel, 1, NEW.status IS 'open' WHERE NEW.contact_id IS NOT NULL
                ON CONFLICT (scope, key, channel) DO UPDATE SET events = events + 1, open = open + excluded.open;
            INSERT INTO timeline_counts (scope, key, channel, events, open)
                SELECT 'address', NEW.address, NEW.channel, 1, NEW.status IS 'open' WHERE NEW.address IS NOT NULL
                ON CONFLICT (scope, key, channel) DO UPDATE SET events = events + 1, open = open + excluded.open;
        END;
        CREATE TRIGGER events_counted_delete AFTER DELETE ON events BEGIN
            UPDATE timeline_counts SET events = events - 1, open = open - (OLD.status IS 'open')
                WHERE scope = 'contact' AND key = OLD.contact_id AND channel = OLD.channel;
            UPDATE timeline_counts SET events = events - 1, open = open - (OLD.status IS 'open')
                WHERE scope = 'address' AND key = OLD.address AND channel = OLD.channel;
        END;
        CREATE TRIGGER events_counted_update AFTER UPDATE OF contact_id, address, channel, status ON events BEGIN
            UPDATE timeline_counts SET events = events - 1, open = open - (OLD.status IS 'open')
                WHERE scope = 'contact' AND key = OLD.contact_id AND channel = OLD.channel;
            UPDATE timeline_counts SET events = events - 1, open = open - (OLD.status IS 'open')
                WHERE scope = 'address' AND key = OLD.address AND channel = OLD.channel;
            INSERT INTO timeline_counts (scope, key, channel, events, open)
                SELECT 'contact', NEW.contact_id, NEW.channel, 1, NEW.status IS 'open' WHERE NEW.contact_id IS NOT NULL
                ON CONFLICT (scope, key, channel) DO UPDATE SET events = events + 1, open = open + excluded.open;
            INSERT INTO timeline_counts (scope, key, channel, events, open)
                SELECT 'address', NEW.address, NEW.channel, 1, NEW.status IS 'open' WHERE NEW.address IS NOT NULL
                ON CONFLICT (scope, key, channel) DO UPDATE SET events = events + 1, open = open + excluded.open;
        END;
        CREATE INDEX events_address_open ON events(address, occurred_at DESC) WHERE status = 'open';
        CREATE INDEX events_contact_spoken ON events(contact_id, occurred_at DESC) WHERE channel != 'note';
        CREATE INDEX events_address_spoken ON events(address, occurred_at DESC) WHERE channel != 'note';
        CREATE INDEX events_contact_agent ON events(contact_id, occurred_at DESC) WHERE agent IS NOT NULL;
        CREATE INDEX events_address_agent ON events(address, occurred_at DESC) WHERE agent IS NOT NULL;
        """),
        // 5: agents' login states and their phones' registrations survive a restart.
        Migration(5, """
        CREATE TABLE agent_states (
            agent       TEXT PRIMARY KEY,
            presence    TEXT NOT NULL CHECK (presence IN ('logged_out', 'available', 'paused')),
            reason      TEXT NOT NULL DEFAULT '',
            queues      TEXT NOT NULL DEFAULT '[]',
            changed_at  INTEGER NOT NULL
        );
        CREATE TABLE registrations (
            agent        TEXT NOT NULL,
            contact      TEXT NOT NULL,
            target       TEXT NOT NULL,
            expires      INTEGER NOT NULL,
            source_host  TEXT NOT NULL,
            source_port  INTEGER NOT NULL,
            transport    TEXT NOT NULL,
            user_agent   TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (agent, contact)
        );
        -- The order records ended in: the HTTP API pages by it, so a page boundary never
        -- skips a record that ends while a helpdesk reads (start order would).
        ALTER TABLE call_records ADD COLUMN ended_seq INTEGER;
        UPDATE call_records SET ended_seq = rowid WHERE state = 'ended';
        CREATE UNIQUE INDEX call_records_ended_seq ON call_records(ended_seq) WHERE ended_seq IS NOT NULL;
        -- Webhooks: how far each has taken ended calls, and every delivery with its attempts.
        CREATE TABLE webhook_cursors (
            webhook    TEXT NOT NULL,
            event      TEXT NOT NULL,
            position   INTEGER NOT NULL,
            PRIMARY KEY (webhook, event)
        );
        CREATE TABLE webhook_deliveries (
            id               INTEGER PRIMARY KEY,
            webhook          TEXT NOT NULL,
            event            TEXT NOT NULL,
            event_id         TEXT NOT NULL,
            body             TEXT NOT NULL,
            created_at       INTEGER NOT NULL,
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  INTEGER NOT NULL,
            delivered_at     INTEGER,
            given_up_at      INTEGER,
            last_status      INTEGER,
            last_error       TEXT,
            UNIQUE (webhook, event, event_id)
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
            WHERE delivered_at IS NULL AND given_up_at IS NULL;
        CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(webhook)
            WHERE delivered_at IS NULL AND given_up_at IS NULL;
        CREATE INDEX webhook_deliveries_given_up ON webhook_deliveries(webhook) WHERE given_up_at IS NOT NULL;
        -- Agents' changes of presence in order (agent_states keeps the latest only).
        CREATE TABLE agent_state_log (
            id          INTEGER PRIMARY KEY,
            agent       TEXT NOT NULL,
            presence    TEXT NOT NULL,
            reason      TEXT NOT NULL DEFAULT '',
            queues      TEXT NOT NULL DEFAULT '[]',
            changed_at  INTEGER NOT NULL
        );
        """),
        // 6: `direction` says inbound/outbound (as helpdesks' APIs do); a call record keeps when
        // an agent answered and how long the agent talked, beside Asterisk's answer and billsec.
        Migration(6, "", rewrite: { db, _ in
            try rebuild("events", as: """
                CREATE TABLE events_rebuilt (
                    id                 INTEGER PRIMARY KEY,
                    contact_id         TEXT REFERENCES contacts(id) ON DELETE SET NULL,
                    address            TEXT,
                    channel            TEXT NOT NULL CHECK (channel IN ('voice', 'sms', 'chat', 'email', 'social', 'note')),
                    direction          TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
                    occurred_at        INTEGER NOT NULL,
                    subject            TEXT,
                    summary            TEXT,
                    body               TEXT,
                    status             TEXT,
                    agent              TEXT,
                    thread_id          TEXT,
                    external_ref       TEXT,
                    source             TEXT NOT NULL,
                    media_path         TEXT,
                    media_duration_ms  INTEGER CHECK (media_duration_ms IS NULL OR media_duration_ms >= 0)
                )
                """, mapping: ["direction": directionValues, "contact_id": existingContact("events")], db)
            try rebuild("call_records", as: """
                CREATE TABLE call_records_rebuilt (
                    uniqueid          TEXT PRIMARY KEY,
                    direction         TEXT NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound', 'outbound')),
                    clid              TEXT NOT NULL DEFAULT '',
                    src               TEXT NOT NULL DEFAULT '',
                    dst               TEXT NOT NULL DEFAULT '',
                    dcontext          TEXT NOT NULL DEFAULT '',
                    channel           TEXT NOT NULL DEFAULT '',
                    dstchannel        TEXT NOT NULL DEFAULT '',
                    lastapp           TEXT NOT NULL DEFAULT '',
                    lastdata          TEXT NOT NULL DEFAULT '',
                    start             INTEGER NOT NULL,
                    answer            INTEGER,
                    end               INTEGER,
                    duration          INTEGER NOT NULL DEFAULT 0,
                    billsec           INTEGER NOT NULL DEFAULT 0,
                    disposition       TEXT NOT NULL DEFAULT 'NO ANSWER'
                                      CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION')),
                    userfield         TEXT NOT NULL DEFAULT '',
                    state             TEXT NOT NULL DEFAULT 'ringing' CHECK (state IN ('ringing', 'answered', 'bridged', 'ended')),
                    contact_id        TEXT REFERENCES contacts(id) ON DELETE SET NULL,
                    agent             TEXT,
                    queue             TEXT,
                    wait_ms           INTEGER,
                    agent_answer      INTEGER,
                    talksec           INTEGER CHECK (talksec IS NULL OR talksec >= 0),
                    sip_call_id       TEXT,
                    sip_status        INTEGER,
                    agent_sip_status  INTEGER,
                    hangup_side       TEXT,
                    dialplan_path     TEXT NOT NULL DEFAULT '[]',
                    recording         TEXT,
                    trunk             TEXT,
                    interrupted       INTEGER NOT NULL DEFAULT 0,
                    truncated         TEXT,
                    run_id            TEXT,
                    ended_seq         INTEGER
                )
                """, mapping: ["direction": directionValues, "contact_id": existingContact("call_records")], db)
            // Deliveries made so far per webhook: the outbox is pruned, this count is not.
            try db.execute("""
                CREATE TABLE webhook_totals (
                    webhook    TEXT PRIMARY KEY,
                    delivered  INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                INSERT INTO webhook_totals (webhook, delivered)
                    SELECT webhook, count(*) FROM webhook_deliveries WHERE delivered_at IS NOT NULL GROUP BY webhook;
                """)
            return []
        }),
        // 7: phone numbers by libphonenumber: every stored one brought to its normal form, with a report.
        Migration(7, "", rewrite: { db, normalizer in
            let report = try TimelineStore.renormalize(db, normalizer, apply: true)
            guard report.checked > 0 else { return [] }  // a new store: nothing to say
            guard !report.changes.isEmpty else { return ["phone numbers re-normalised by libphonenumber: \(report.summary)"] }
            let file = db.path + ".renormalized-v7.csv"
            let written = FileManager.default.createFile(atPath: file, contents: Data(report.csv.utf8))
            return ["phone numbers re-normalised by libphonenumber: \(report.summary); "
                    + (written ? "each change in \(file)" : "the report could not be written to \(file)")]
        }),
        // 8: several gateways on one store: whose each registration is, and which agents are taken.
        Migration(8, """
            ALTER TABLE registrations ADD COLUMN run TEXT NOT NULL DEFAULT '';
            CREATE TABLE agent_claims (
                agent       TEXT PRIMARY KEY,
                run         TEXT NOT NULL,
                claimed_at  INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE queue_callers (
                call       TEXT PRIMARY KEY,
                queue      TEXT NOT NULL,
                run        TEXT NOT NULL,
                priority   INTEGER NOT NULL DEFAULT 0,
                joined_at  INTEGER NOT NULL,
                ringing    INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID;
            """),
    ]

    /// Version 6's mapping of the old direction values to the new.
    private static let directionValues = "CASE direction WHEN 'in' THEN 'inbound' WHEN 'out' THEN 'outbound' ELSE direction END"

    /// A reference to a contact that is gone becomes NULL (a writer with foreign keys off may have left one).
    private static func existingContact(_ table: String) -> String { "(SELECT id FROM contacts WHERE id = \(table).contact_id)" }

    /// Makes `table` anew from `definition` (a CREATE TABLE of `<table>_rebuilt`), SQLite's
    /// documented way to change a column's constraint: every row is copied (through `mapping`'s
    /// expressions where given), then its
    /// indexes and triggers are made again as they were, and its statistics when it had some
    /// (without them the query planner may pick another index for the screen pop's queries).
    /// Runs inside the migration's transaction.
    static func rebuild(_ table: String, as definition: String, mapping: [String: String], _ db: Connection) throws {
        let dependents = try db.rows("""
            SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name
            """, [.text(table)]).compactMap { $0.text("sql") }
        let columns = try db.rows("SELECT name FROM pragma_table_info(?)", [.text(table)]).compactMap { $0.text("name") }
        let analyzed = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")?.int == 1
            && (try db.scalar("SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?", [.text(table)])?.int ?? 0) > 0
        try db.execute(definition)
        let kept = Set(try db.rows("SELECT name FROM pragma_table_info(?)", [.text(table + "_rebuilt")]).compactMap { $0.text("name") })
        if let lost = columns.first(where: { !kept.contains($0) }) {
            throw StoreError(.invalidValue, "the store's \(table) table has a column '\(lost)' this Omnigate does not know; it was not changed")
        }
        let values = columns.map { mapping[$0] ?? "\"\($0)\"" }
        try db.execute("""
            INSERT INTO \(table)_rebuilt (\(columns.map { "\"\($0)\"" }.joined(separator: ", ")))
            SELECT \(values.joined(separator: ", ")) FROM \(table);
            DROP TABLE \(table);
            ALTER TABLE \(table)_rebuilt RENAME TO \(table);
            """)
        for sql in dependents { try db.execute(sql) }
        if analyzed { try db.execute("ANALYZE \(table)") }
    }

    /// Runs one migration (its SQL, then its rewrite) and records its version; returns what it has to say.
    @discardableResult
    static func apply(_ migration: Migration, _ db: Connection, normalizer: IdentityNormalizer = .northAmerica) throws -> [String] {
        if !migration.sql.isEmpty { try db.execute(migration.sql) }
        let notes = try migration.rewrite?(db, normalizer) ?? []
        try db.execute("PRAGMA user_version = \(migration.version)")
        return notes
    }

    /// `PRAGMA application_id` of an Omnigate store: 'OMNG' (set from version 3 on).
    static let applicationID: Int64 = 0x4F4D_4E47

    static var latest: Int { migrations.last!.version }

    /// Checks an existing file on a read-only connection before anything writes to it: it must
    /// be an SQLite database (checked on its first bytes, before SQLite opens it), not another
    /// application's, and not from a newer Omnigate. A refused file is left exactly as it was.
    /// With `readOnly`, the store must also be at the latest version (nothing may migrate it).
    static func inspect(_ path: String, readOnly: Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.sqlite(code: 14), "cannot open the store \(path): \(String(cString: strerror(errno)))")
        }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        try? handle.close()
        if header.isEmpty {
            // SQLite takes an empty file as an empty database: a writer may make it a store.
            if readOnly { throw StoreError(.notADatabase, "\(path) is not an Omnigate store: the file is empty") }
            return
        }
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw StoreError(.notADatabase, "\(path) is not an Omnigate store: it is not an SQLite database, or it is damaged "
                             + "(its first bytes are not an SQLite header)")
        }
        // With no WAL beside it nobody is writing the file: read it immutable, so SQLite creates no
        // -wal or -shm next to a file that may not be ours. With a WAL, read it as any reader does.
        let inUse = FileManager.default.fileExists(atPath: path + "-wal")
        let db = try SQLiteConnection(path: path, create: false, readOnly: true, immutable: !inUse)
        defer { db.close() }
        try check(db)
        let found = Int(try db.scalar("PRAGMA user_version")?.int ?? 0)
        if readOnly && found < latest {
            throw StoreError(.newerSchema(found: found, supported: latest),
                             "\(path) has schema version \(found), older than this Omnigate's (\(latest)); a command that only "
                             + "reads does not migrate it: start the gateway, or run an import, once")
        }
    }

    /// Refuses a newer store or another application's database.
    private static func check(_ db: Connection) throws {
        let found = Int(try db.scalar("PRAGMA user_version")?.int ?? 0)
        if found > latest { throw newer(found, db.path) }
        let application = try db.scalar("PRAGMA application_id")?.int ?? 0
        if application != 0 && application != applicationID {
            throw StoreError(.notADatabase, "\(db.path) is not an Omnigate store: it is another application's SQLite database "
                             + "(application_id \(application)); it was not changed")
        }
        if found == 0, let tables = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")?.int,
           tables > 0 {
            throw StoreError(.notADatabase, "\(db.path) is not an Omnigate store: it is an SQLite database with tables of "
                             + "its own (\(tables)) and no Omnigate schema version; it was not changed")
        }
    }

    /// Brings the database up to the latest version; refuses a newer one. Returns what the
    /// migrations had to say (one line each), for the log.
    static func migrate(_ db: Connection, normalizer: IdentityNormalizer) throws -> [String] {
        try check(db)
        let found = Int(try db.scalar("PRAGMA user_version")?.int ?? 0)
        guard found < latest else { return [] }
        var notes: [String] = []
        for migration in migrations where migration.version > found {
            try db.transaction {
                // Another process may have migrated meanwhile: check again under the lock.
                let current = Int(try db.scalar("PRAGMA user_version")?.int ?? 0)
                if current > latest { throw newer(current, db.path) }
                guard current < migration.version else { return }
                notes += try apply(migration, db, normalizer: normalizer)
            }
        }
        return notes
    }

    private static func newer(_ found: Int, _ path: String) -> StoreError {
        StoreError(.newerSchema(found: found, supported: latest),
                   "\(path) has schema version \(found), newer than this Omnigate supports (\(latest)); "
                   + "upgrade Omnigate rather than open it with an older one")
    }
}
