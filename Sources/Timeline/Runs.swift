import Foundation

/// One run of a gateway process on a store, from start to stop: what the
/// records it leaves open are judged by. It says it is alive every few seconds
/// (`aliveAt`), so an answered call a crash interrupted keeps its talk time up
/// to then, and another gateway can tell a dead run from a live one.
public struct GatewayRun: Sendable, Codable, Equatable {
    /// Random, never reused: it is part of every uniqueid the run gives out.
    public var id: String
    /// The gateway's `[general] system_name` (its host name by default).
    public var systemName: String
    public var pid: Int32
    /// `/proc/sys/kernel/random/boot_id` of its host, and its process's start time in clock
    /// ticks since boot, so a process that reused its pid is not taken for it.
    public var bootID: String
    public var processStart: Int64
    public var startedAt: Date
    public var aliveAt: Date
    /// Set by a clean stop.
    public var stoppedAt: Date?

    public init(id: String, systemName: String, pid: Int32, bootID: String, processStart: Int64, startedAt: Date) {
        self.id = id
        self.systemName = systemName
        self.pid = pid
        self.bootID = bootID
        self.processStart = processStart
        self.startedAt = startedAt
        self.aliveAt = startedAt
    }
}

extension TimelineStore {
    func record(_ run: GatewayRun, _ db: Connection) throws {
        try db.run("""
            INSERT INTO gateway_runs (id, system_name, pid, boot_id, process_start, started_at, alive_at, stopped_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET alive_at = \(db.dialect.greatest)(gateway_runs.alive_at, excluded.alive_at)
            """, [.text(run.id), .text(Fitting.line(run.systemName, max: Limits.id).value), .int(Int64(run.pid)), .text(run.bootID),
                  .int(run.processStart), .int(run.startedAt.milliseconds), .int(run.aliveAt.milliseconds),
                  .optional(run.stoppedAt.map(\.milliseconds))])
    }

    func noteAlive(run id: String, at time: Date, stopped: Bool, _ db: Connection) throws {
        try db.run("""
            UPDATE gateway_runs SET alive_at = \(db.dialect.greatest)(alive_at, ?), stopped_at = CASE WHEN ? THEN ? ELSE stopped_at END WHERE id = ?
            """, [.int(time.milliseconds), .int(stopped ? 1 : 0), .int(time.milliseconds), .text(id)])
    }

    func run(id: String, _ db: Connection) throws -> GatewayRun? {
        try db.rows("SELECT * FROM gateway_runs WHERE id = ?", [.text(id)]).first.map(GatewayRun.init(row:))
    }

    /// Every run that took calls on this store, oldest first.
    public func runs() throws -> [GatewayRun] {
        try read { db in try db.rows("SELECT * FROM gateway_runs ORDER BY started_at, id").map(GatewayRun.init(row:)) }
    }
}

extension GatewayRun {
    init(row: Row) {
        self.init(id: row.text("id") ?? "", systemName: row.text("system_name") ?? "", pid: Int32(row.int("pid") ?? 0),
                  bootID: row.text("boot_id") ?? "", processStart: row.int("process_start") ?? 0,
                  startedAt: Date(milliseconds: row.int("started_at") ?? 0))
        aliveAt = Date(milliseconds: row.int("alive_at") ?? 0)
        stoppedAt = row.int("stopped_at").map(Date.init(milliseconds:))
    }
}
