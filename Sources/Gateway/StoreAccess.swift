import Configuration
import Dispatch
import Foundation
import Log
import Synchronization
import Timeline

/// The gateway's way to the customer store: writes are data (`StoreWrite`),
/// queued and committed in order by one thread (a call never waits for one),
/// and reads are time-boxed.
///
/// Rules, first:
/// - No write is dropped because the store had a bad day. While the store
///   cannot be written (locked, full, failing, deleted, its `-shm` unwritable)
///   writes wait in memory (`[store] backlog`) and are retried with backoff;
///   once it has been unwritable for `spill_after` they go to the spill file,
///   which is replayed when the store takes writes again. When both are full,
///   new calls are refused with 503 (`when_full = refuse`) or taken unrecorded.
/// - Every write that is late, spilled, replayed or lost is counted and named
///   (its call's uniqueid) in a log line.
/// - The store file is watched: a deleted store is restored from the copy the
///   gateway still has open, a replaced one is reopened (`when_file_changes`).
final class StoreAccess: Sendable {
    let settings: GatewayConfig.Store
    let identity: RunIdentity
    private let writer: StoreWriter
    private let lookups = DispatchQueue(label: "omnigate.store.lookups", attributes: .concurrent)
    /// Lookups running now; beyond the limit a lookup is not started (the store is stuck).
    private let running = Atomic<Int>(0)
    private let maxRunningLookups = 8

    /// Opens the store and starts the writer thread. A store that cannot be opened
    /// now (a full disk, an I/O error) is not fatal: calls are taken, their records
    /// held, and the store opened when it can be.
    /// - Throws: `StoreError` when the file is not an Omnigate store or is from a newer one.
    init(settings: GatewayConfig.Store, identity: RunIdentity, durability: Durability = .full) throws {
        self.settings = settings
        self.identity = identity
        writer = try StoreWriter(settings: settings, identity: identity, durability: durability)
    }

    /// The store as it is open now, or nil while it cannot be opened.
    var store: TimelineStore? { writer.current.withLock { $0 } }

    /// Queues a write; `done` runs once it is committed, spilled or given up.
    func write(_ write: StoreWrite, done: (@Sendable () -> Void)? = nil) {
        writer.enqueue(write, done: done)
    }

    /// Queues a write and waits (without blocking a thread) until it is committed, spilled or given up.
    func writeAndWait(_ write: StoreWrite) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.write(write, done: { continuation.resume() })
        }
    }

    /// True while new calls must be refused: records could be neither written nor held.
    var refusesCalls: Bool { writer.refusing.load(ordering: .relaxed) }

    /// True while the store cannot be written and writes are held (or spilled).
    var isFailing: Bool { writer.failing.load(ordering: .relaxed) }

    /// What happened to writes so far.
    var counters: StoreCounters { writer.counters.snapshot }
    /// How long each commit (one transaction of up to 256 writes) took.
    var commitLatency: LatencyHistogram { writer.commitLatency }
    /// How long each write waited, from queued to committed (held and spilled time included).
    var writeWait: LatencyHistogram { writer.writeWait }

    /// Commits (or else spills) every queued write, notes the run's end and closes the store.
    /// `quietly` leaves out the closing summary line (a start that failed).
    func stop(quietly: Bool = false) { writer.stop(quietly: quietly) }

    /// Runs a read on the lookup queue and returns its result, or nil after
    /// `budget` (the read goes on, and its result is dropped).
    func read<T: Sendable>(budget: Duration, _ body: @escaping @Sendable (TimelineStore) throws -> T) async -> Result<T, LookupFailure> {
        guard let store else { return .failure(.failed("the store is not open")) }
        guard running.add(1, ordering: .relaxed).newValue <= maxRunningLookups else {
            running.subtract(1, ordering: .relaxed)
            return .failure(.busy)
        }
        let answer = FirstAnswer<Result<T, LookupFailure>>()
        lookups.async { [self] in
            let result: Result<T, LookupFailure>
            do { result = .success(try body(store)) } catch { result = .failure(.failed(String(describing: error))) }
            running.subtract(1, ordering: .relaxed)
            answer.give(result)
        }
        Deadlines.queue.asyncAfter(deadline: .now() + budget.timeInterval) { answer.give(.failure(.timedOut(budget))) }
        return await answer.value()
    }
}

/// Counts of what happened to writes, for log lines and tests.
struct StoreCounters: Sendable, CustomStringConvertible {
    var committed = 0, late = 0, spilled = 0, replayed = 0, lost = 0, held = 0, inSpill = 0

    var description: String { fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    /// The counts as log fields.
    var fields: [LogField] {
        [("records.committed", committed), ("records.late", late), ("records.spilled", spilled), ("records.replayed", replayed),
         ("records.lost", lost), ("records.held", held), ("records.in_spill", inSpill)]
    }
}

/// The thread that owns the store's writes: the backlog, the spill file, the
/// watch on the file, checkpoints, the run's heartbeat.
///
/// `@unchecked Sendable`: everything but `inbox`, `wake`, `current`,
/// `refusing`, `counters`, `stopRequested` and `finished` is only touched on
/// the writer's own thread; those are a mutex, a semaphore and atomics, and
/// `finished` is only read and written under `inbox`'s lock.
private final class StoreWriter: @unchecked Sendable {
    struct Pending {
        let write: StoreWrite
        let done: (@Sendable () -> Void)?
        var late = false
        var queuedAt = ContinuousClock.now
    }

    let settings: GatewayConfig.Store
    let identity: RunIdentity
    let durability: Durability
    let log = Logger("store")

    // Shared with other threads.
    let current = Mutex<TimelineStore?>(nil)
    let refusing = Atomic<Bool>(false)
    /// True while writes fail and are held (between "cannot be written" and "takes writes again").
    let failing = Atomic<Bool>(false)
    let counters = SharedCounters()
    let commitLatency = LatencyHistogram(bounds: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5])
    let writeWait = LatencyHistogram(bounds: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300])
    private let inbox = Mutex<[Pending]>([])
    /// Set (under `inbox`'s lock) once the writer has stopped.
    nonisolated(unsafe) private var finished = false
    private let wake = DispatchSemaphore(value: 0)
    private let stopRequested = Atomic<Bool>(false)
    private let quietly = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    // The writer thread's own state.
    private var store: TimelineStore?
    private var backlog = Backlog()
    private var spill: SpillFile?
    private var failingSince: ContinuousClock.Instant?
    private var lastError = ""
    private var nextAttempt = ContinuousClock.now
    private var backoff: Duration = .milliseconds(50)
    private var fileRefused = false
    private var openedAt = ContinuousClock.now
    private var interruptedSwept = false
    private var companions: (wal: FileIdentity?, shm: FileIdentity?) = (nil, nil)
    private var lastHousekeeping = ContinuousClock.now - .seconds(10)
    private var lastHeartbeat = ContinuousClock.now - .seconds(10)
    private var lastSweep = ContinuousClock.now
    private var lastCheckpoint = ContinuousClock.now - .seconds(60)
    private var lastSpillProblem: String?
    private var lastSpillTry = ContinuousClock.now - .seconds(10)
    private var announcedRefusal = false
    /// Ids to name in the next log lines, by what happened to them.
    private var named: [String: [String]] = [:]

    init(settings: GatewayConfig.Store, identity: RunIdentity, durability: Durability) throws {
        self.settings = settings
        self.identity = identity
        self.durability = durability
        // The store first: a file that is not ours is refused before anything is created beside it.
        var unavailable: StoreError?
        do {
            try open()
        } catch let error as StoreError where error.isTransient {
            unavailable = error
        }
        if settings.spillEnabled {
            let file = SpillFile.take(path: settings.spillPath, capacity: settings.spillSize)
            if file.heldByAnother, let problem = file.problem { throw StoreError(.unavailable, problem) }
            spill = file
            if file.path != settings.spillPath {
                log.info("another gateway on this host spills to the same directory; this one spills to its own file", ("file", file.path))
            }
            let adopted = file.adoptOrphans(of: settings.spillPath)
            if adopted > 0 { log.warning("writes a stopped gateway left in its spill file are in this one's now", ("writes", adopted)) }
            if let problem = file.problem { log.error("no spill file", ("problem", problem)) }
            if !file.isEmpty { log.warning("writes wait in the spill file from an earlier run", ("writes", file.count), ("file", file.path)) }
            counters.inSpill.store(file.count, ordering: .relaxed)
        }
        if let unavailable { fail(unavailable, what: "opening the store") }
        backlog.append(Pending(write: .runStarted(identity.run), done: nil))
        let thread = Thread { [self] in loop() }
        thread.name = "omnigate-store"
        thread.start()
    }

    // MARK: - Other threads

    func enqueue(_ write: StoreWrite, done: (@Sendable () -> Void)?) {
        let taken = inbox.withLock { inbox -> Bool in
            guard !finished else { return false }
            inbox.append(Pending(write: write, done: done))
            return true
        }
        guard taken else {
            // After the stop nothing writes any more: say so rather than wait forever.
            counters.lost.add(1, ordering: .relaxed)
            log.error("call records lost (the store was already closed at stop)", ("calls", write.subject ?? "-"))
            done?()
            return
        }
        wake.signal()
    }

    func stop(quietly: Bool) {
        self.quietly.store(quietly, ordering: .relaxed)
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        stopped.wait()
    }

    // MARK: - The loop

    private func loop() {
        while true {
            let stopping = stopRequested.load(ordering: .acquiring)
            takeInbox()
            let now = ContinuousClock.now
            if now - lastHousekeeping >= .seconds(1) { housekeeping(now) }
            if store == nil && !fileRefused && now >= nextAttempt { reopen() }
            var worked = false
            if let store, now >= nextAttempt {
                if let spill, !spill.isEmpty {
                    worked = replay(spill, into: store)
                } else if !backlog.isEmpty || now - lastHeartbeat >= .seconds(2) {
                    worked = commit(into: store)
                }
            }
            if shouldSpill(now) { spillBacklog() }
            settleRefusal()
            if stopping { finish(); return }
            if worked && !backlog.isEmpty && failingSince == nil { continue }
            let pending = !backlog.isEmpty || store == nil || !(spill?.isEmpty ?? true)
            let wait = pending ? max(.milliseconds(1), min(.seconds(1), nextAttempt - .now)) : .seconds(1)
            _ = wake.wait(timeout: .now() + wait.timeInterval)
        }
    }

    private func takeInbox() {
        let arrived = inbox.withLock { items -> [Pending] in
            defer { items.removeAll(keepingCapacity: true) }
            return items
        }
        for var item in arrived {
            if failingSince != nil { markLate(&item) }
            if failingSince != nil && backlog.count >= settings.backlog && !canHoldMore && !settings.refuseWhenFull {
                lose([item], reason: "the backlog and the spill file are full ([store] when_full = accept)")
                continue
            }
            backlog.append(item)
        }
        counters.held.store(backlog.count, ordering: .relaxed)
    }

    /// True while writes beyond the backlog can still go somewhere (the spill file).
    private var canHoldMore: Bool { spill.map { $0.problem == nil } ?? false }

    private func markLate(_ item: inout Pending) {
        guard !item.late else { return }
        item.late = true
        counters.late.add(1, ordering: .relaxed)
        if let subject = item.write.subject, item.write.isRecord || isCallOpen(item.write) { named["late", default: []].append(subject) }
    }

    private func isCallOpen(_ write: StoreWrite) -> Bool { if case .openCall = write { true } else { false } }

    // MARK: - Committing

    /// Commits the oldest writes (and the heartbeat when due) in one transaction.
    private func commit(into store: TimelineStore) -> Bool {
        let batch = backlog.peek(256)
        var writes = batch.map(\.write)
        let now = ContinuousClock.now
        let heartbeat = now - lastHeartbeat >= .seconds(2)
        if heartbeat { writes.append(.runAlive(id: identity.run.id, at: Date(), stopped: false)) }
        guard watch(store) else { return true }
        do {
            let started = ContinuousClock.now
            let refused = try store.apply(writes)
            let committed = ContinuousClock.now
            guard watch(store) else { return true }  // committed to a file that was just deleted or replaced: again, on the new one
            commitLatency.observe(committed - started)
            for item in batch { writeWait.observe(committed - item.queuedAt) }
            backlog.removeFirst(batch.count)
            counters.committed.add(batch.count, ordering: .relaxed)
            counters.held.store(backlog.count, ordering: .relaxed)
            if heartbeat { lastHeartbeat = now }
            recovered()
            for (index, error) in refused where index < batch.count {
                lose([batch[index]], reason: "the store refused it: \(error.message)", completed: true)
            }
            for item in batch { item.done?() }
            return true
        } catch let error as StoreError where error.isTransient {
            fail(error, what: "writing")
            reconsider(store, after: error)
            return false
        } catch {
            fail(StoreError(.unavailable, String(describing: error)), what: "writing")
            return false
        }
    }

    /// Applies the spill file's writes to the store, then empties it.
    private func replay(_ spill: SpillFile, into store: TimelineStore) -> Bool {
        let entries = spill.entries()
        guard watch(store) else { return true }
        var start = 0
        do {
            while start < entries.count {
                let chunk = Array(entries[start..<min(entries.count, start + 500)])
                let refused = try store.apply(chunk)
                for (index, error) in refused {
                    counters.lost.add(1, ordering: .relaxed)
                    if let subject = chunk[index].subject { named["lost (the store refused it: \(error.message))", default: []].append(subject) }
                }
                start += chunk.count
            }
        } catch let error as StoreError where error.isTransient {
            fail(error, what: "replaying the spill file")
            reconsider(store, after: error)
            return false
        } catch {
            fail(StoreError(.unavailable, String(describing: error)), what: "replaying the spill file")
            return false
        }
        guard watch(store) else { return true }
        spill.clear()
        counters.replayed.add(entries.count, ordering: .relaxed)
        counters.inSpill.store(0, ordering: .relaxed)
        named["replayed", default: []] += entries.filter { $0.isRecord || isCallOpen($0) }.compactMap(\.subject)
        recovered()
        flushNames()
        log.log(.info, { "spill file replayed into the store" }, [("writes", entries.count), ("file", spill.path)] + counters.snapshot.fields)
        return true
    }

    private func fail(_ error: StoreError, what: String) {
        let now = ContinuousClock.now
        if failingSince == nil {
            failingSince = now
            failing.store(true, ordering: .relaxed)
            backoff = .milliseconds(50)
            for index in backlog.indices { backlog.update(index) { markLate(&$0) } }
            log.error("the store cannot be written: writes are held", ("while", what), ("error", error.message),
                      ("path", settings.displayName), ("held", backlog.count))
        } else if error.message != lastError {
            log.error("the store still cannot be written", ("while", what), ("error", error.message), ("held", backlog.count))
        }
        lastError = error.message
        nextAttempt = now + backoff
        backoff = min(backoff * 2, .seconds(5))
    }

    /// Closes the store after a fault its connections may not recover from: its shared memory
    /// faulted, or it has failed for 3 s with anything but a lock held by another process (a
    /// connection opened while the file was unwritable stays so). It is reopened at the next attempt.
    private func reconsider(_ store: TimelineStore, after error: StoreError) {
        if store.sharedMemoryFailed {
            close(store, reason: "its shared-memory file cannot be written (a bus error was caught)")
        } else if let since = failingSince, ContinuousClock.now - max(since, openedAt) >= .seconds(3), !error.isLocked {
            close(store, reason: "it has failed for 3 s: reopening it")
        }
    }

    private func recovered() {
        guard let since = failingSince else { return }
        failingSince = nil
        failing.store(false, ordering: .relaxed)
        lastError = ""
        backoff = .milliseconds(50)
        flushNames()
        log.log(.info, { "the store takes writes again" },
                [("after_ms", Int((ContinuousClock.now - since).timeInterval * 1000))] + counters.snapshot.fields)
    }

    private func lose(_ items: [Pending], reason: String, completed: Bool = false) {
        counters.lost.add(items.count, ordering: .relaxed)
        named["lost (\(reason))", default: []] += items.compactMap(\.write.subject)
        if !completed { for item in items { item.done?() } }
    }

    // MARK: - Spilling

    private func shouldSpill(_ now: ContinuousClock.Instant) -> Bool {
        guard let spill, !backlog.isEmpty else { return false }
        // A spill file that failed is tried again once a second, not on every write.
        if spill.problem != nil && now - lastSpillTry < .seconds(1) { return false }
        if backlog.count >= settings.backlog { return true }
        guard let since = failingSince else { return false }
        return now - since >= settings.spillAfter
    }

    /// Moves held writes, oldest first, into the spill file (as many as fit).
    private func spillBacklog() {
        guard let spill else { return }
        lastSpillTry = .now
        while !backlog.isEmpty {
            let batch = backlog.peek(1000)
            let taken = spill.append(batch.map(\.write)[...])
            if taken > 0 {
                backlog.removeFirst(taken)
                counters.spilled.add(taken, ordering: .relaxed)
                named["spilled", default: []] += batch.prefix(taken).filter { $0.write.isRecord || isCallOpen($0.write) }
                    .compactMap(\.write.subject)
                for item in batch.prefix(taken) { item.done?() }
            }
            if taken < batch.count { break }
        }
        counters.held.store(backlog.count, ordering: .relaxed)
        counters.inSpill.store(spill.count, ordering: .relaxed)
        if let problem = spill.problem, problem != lastSpillProblem {
            log.error("the spill file takes no more writes", ("problem", problem), ("held", backlog.count))
        }
        lastSpillProblem = spill.problem
    }

    /// Refuses new calls while the store is unwritable and the backlog and spill file are full (or the file was refused).
    private func settleRefusal() {
        let full = failingSince != nil && backlog.count >= settings.backlog && !(spill.map { $0.problem == nil } ?? false)
        let refuse = fileRefused || (settings.refuseWhenFull && full)
        guard refuse != refusing.load(ordering: .relaxed) else { return }
        refusing.store(refuse, ordering: .relaxed)
        if refuse {
            log.error("refusing new calls (503): their records could not be kept", ("held", backlog.count),
                      ("in_spill", spill?.count ?? 0), ("reason", fileRefused ? "the store file changed ([store] when_file_changes = refuse)"
                                                                           : "the store cannot be written and the backlog and spill file are full"))
        } else {
            log.info("taking new calls again", ("held", backlog.count))
        }
    }

    // MARK: - Housekeeping

    private func housekeeping(_ now: ContinuousClock.Instant) {
        lastHousekeeping = now
        flushNames()
        if let spill, spill.problem != nil { spill.reserve() }
        guard let store else { return }
        guard watch(store) else { return }
        if !interruptedSwept || now - lastSweep >= .seconds(30) { sweepInterrupted(store) }
        if now - lastCheckpoint >= .seconds(10), store.walBytes > settings.walLimit {
            lastCheckpoint = now
            let size = store.walBytes
            do {
                if try store.checkpoint(patience: 20) {
                    log.info("WAL checkpointed and truncated", ("wal_bytes_before", size), ("limit", settings.walLimit))
                } else {
                    log.warning("the WAL is over its limit and cannot be truncated: a reader holds it", ("wal_bytes", size),
                                ("limit", settings.walLimit))
                }
            } catch let error as StoreError {
                log.warning("the WAL could not be checkpointed", ("error", error.message), ("wal_bytes", size))
            } catch {}
        }
    }

    /// Closes records that runs which are over left open, and lets go of the agents they held
    /// (at start, then every 30 s).
    private func sweepInterrupted(_ store: TimelineStore) {
        do {
            let closed = try store.closeInterruptedCallRecords(isOver: { [identity] in identity.isOver($0) })
            // Agents a run that is over was ringing or had on a call are free for the others.
            let released = try store.releaseClaims(isOver: { [identity] in identity.isOver($0) })
            if !released.isEmpty {
                log.info("agents held by a run that is over are free again", ("agents", released.joined(separator: ",")))
            }
            interruptedSwept = true
            lastSweep = .now
            if !closed.isEmpty {
                for chunk in closed.joinedInPieces(within: Logger.fieldLimit) {
                    log.warning("closed call records a run that is over left open", ("records", closed.count), ("calls", chunk.text))
                }
            }
        } catch {
            lastSweep = .now  // tried; the next sweep or a later start tries again
        }
    }

    /// Logs the ids gathered since the last line, in lines of at most 50.
    private func flushNames() {
        guard !named.isEmpty else { return }
        for (what, named) in named.sorted(by: { $0.key < $1.key }) {
            var seen = Set<String>()
            let ids = named.filter { seen.insert($0).inserted }  // a call's writes name it once
            for chunk in ids.joinedInPieces(within: Logger.fieldLimit) {
                let line: String = switch what {
                case "late": "call records held: the store cannot be written"
                case "spilled": "call records spilled to the spill file"
                case "replayed": "call records replayed into the store"
                default: "call records \(what)"
                }
                log.log(what.hasPrefix("lost") ? .error : what == "replayed" ? .info : .warning, { line },
                        [("calls", chunk.text), ("count", chunk.count)] + counters.snapshot.fields)
            }
        }
        named.removeAll()
    }

    // MARK: - Opening and watching the file

    private func open() throws {
        let opened = try settings.open(durability: durability)
        for note in opened.migrationNotes { log.info("store migrated", ("store", opened.path), ("note", note)) }
        store = opened
        openedAt = .now
        current.withLock { $0 = opened }
        if opened.dialect == .sqlite {
            companions = (FileIdentity(path: settings.path + "-wal"), FileIdentity(path: settings.path + "-shm"))
        }
    }

    private func reopen() {
        do {
            try open()
            log.info("store opened", ("path", settings.displayName), ("held", backlog.count), ("in_spill", spill?.count ?? 0))
            nextAttempt = .now
        } catch let error as StoreError where error.isTransient {
            fail(error, what: "opening the store")
        } catch let error as StoreError {
            fileRefused = true
            log.error("the file at the store's path is not this gateway's store: refusing new calls until a restart",
                      ("path", settings.displayName), ("error", error.message))
        } catch {
            fail(StoreError(.unavailable, String(describing: error)), what: "opening the store")
        }
    }

    private func close(_ store: TimelineStore, reason: String) {
        log.error("closing the store", ("reason", reason), ("path", settings.displayName), ("held", backlog.count))
        store.close(keepingFiles: true)
        self.store = nil
        current.withLock { $0 = nil }
    }

    /// False (after dealing with it) when the store's file, or its `-wal` or `-shm`, was deleted or replaced.
    private func watch(_ store: TimelineStore) -> Bool {
        guard store.dialect == .sqlite else { return true }  // a server's database has no file here to lose
        let main = FileIdentity(path: store.path)
        let wal = FileIdentity(path: store.path + "-wal"), shm = FileIdentity(path: store.path + "-shm")
        if main == store.file && (companions.wal == nil || wal == companions.wal) && (companions.shm == nil || shm == companions.shm) {
            return true
        }
        let what = main == nil ? "deleted" : main != store.file ? "replaced" : "kept, but its -wal or -shm file was deleted or replaced"
        log.error("the store file was \(what)", ("path", store.path), ("opened", store.file?.description ?? "-"),
                  ("now", main?.description ?? "none"), ("held", backlog.count))
        guard settings.reopenWhenChanged else {
            fileRefused = true
            close(store, reason: "[store] when_file_changes = refuse")
            fail(StoreError(.unavailable, "the store file was \(what); nothing is written to it until a restart"),
                 what: "watching the store file")
            return false
        }
        if main == nil || main == store.file {
            restore(store)
        } else {
            close(store, reason: "the path now holds another file; opening it")
            // The -wal and -shm at the path are still the old file's (the ones opened with it): beside the
            // new file SQLite would read them as its own. Those, and only those, go.
            for (suffix, opened) in [("-wal", companions.wal), ("-shm", companions.shm)] {
                if let opened, FileIdentity(path: store.path + suffix) == opened { unlink(store.path + suffix) }
            }
        }
        nextAttempt = .now
        return false
    }

    /// Rebuilds a deleted store (or one whose `-wal`/`-shm` went) at its path from the copy still open.
    private func restore(_ store: TimelineStore) {
        let path = store.path
        let temporary = path + ".restoring"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try store.copy(to: temporary)
        } catch {
            log.error("cannot restore the store from the copy still open", ("path", path), ("error", String(describing: error)))
            try? FileManager.default.removeItem(atPath: temporary)
            close(store, reason: "its file is gone and could not be restored")
            return
        }
        close(store, reason: "restoring it from the copy still open")
        // The old -wal and -shm belong to the file copied; next to the copy they would be read as its own.
        if FileIdentity(path: path) == nil || FileIdentity(path: path) == store.file {
            unlink(path + "-wal")
            unlink(path + "-shm")
            if rename(temporary, path) == 0 {
                log.warning("store restored from the copy still open", ("path", path))
                return
            }
        }
        try? FileManager.default.removeItem(atPath: temporary)
    }

    // MARK: - Stop

    private func finish() {
        inbox.withLock { _ in finished = true }
        takeInbox()
        let deadline = ContinuousClock.now + .seconds(5)
        while !backlog.isEmpty, ContinuousClock.now < deadline {
            if store == nil && !fileRefused { reopen() }
            guard let store else { break }
            if let spill, !spill.isEmpty {
                if !replay(spill, into: store) { break }
            } else if !commit(into: store) {
                break
            }
        }
        if !backlog.isEmpty { spillBacklog() }
        if !backlog.isEmpty { lose(backlog.peek(backlog.count), reason: "the gateway stopped and they could be neither written nor spilled") }
        if let store {
            _ = try? store.apply([.runAlive(id: identity.run.id, at: Date(), stopped: true)])
            store.close()
        }
        current.withLock { $0 = nil }
        flushNames()
        if let spill, !spill.isEmpty {
            log.warning("writes wait in the spill file for the next start", ("writes", spill.count), ("file", spill.path))
        }
        if !quietly.load(ordering: .relaxed) { log.log(.info, { "store writes at stop" }, counters.snapshot.fields) }
        stopped.signal()
    }
}

/// Atomic counters behind `StoreCounters`.
final class SharedCounters: Sendable {
    let committed = Atomic<Int>(0), late = Atomic<Int>(0), spilled = Atomic<Int>(0), replayed = Atomic<Int>(0)
    let lost = Atomic<Int>(0), held = Atomic<Int>(0), inSpill = Atomic<Int>(0)

    var snapshot: StoreCounters {
        StoreCounters(committed: committed.load(ordering: .relaxed), late: late.load(ordering: .relaxed),
                      spilled: spilled.load(ordering: .relaxed), replayed: replayed.load(ordering: .relaxed),
                      lost: lost.load(ordering: .relaxed), held: held.load(ordering: .relaxed),
                      inSpill: inSpill.load(ordering: .relaxed))
    }
}

/// Writes in memory, oldest first: a queue whose front is removed in batches.
private struct Backlog {
    private var items: [StoreWriter.Pending] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }
    var indices: Range<Int> { 0..<count }

    mutating func append(_ item: StoreWriter.Pending) { items.append(item) }

    func peek(_ n: Int) -> [StoreWriter.Pending] { Array(items[head..<min(items.count, head + n)]) }

    mutating func update(_ index: Int, _ change: (inout StoreWriter.Pending) -> Void) { change(&items[head + index]) }

    mutating func removeFirst(_ n: Int) {
        head += min(n, count)
        if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        if head == items.count {
            items.removeAll(keepingCapacity: items.capacity <= 65536)
            head = 0
        }
    }
}

extension Array {
    /// The array in consecutive pieces of at most `size`.
    func chunks(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}

extension Array<String> {
    /// The strings joined with commas, in pieces of at most `limit` characters, so a log line's
    /// field cap never cuts one off: every id is named whole in some line.
    func joinedInPieces(within limit: Int) -> [(text: String, count: Int)] {
        var pieces: [(text: String, count: Int)] = []
        var text = "", count = 0
        for item in self {
            if count > 0 && text.count + 1 + item.count > limit {
                pieces.append((text, count))
                (text, count) = ("", 0)
            }
            text += (count > 0 ? "," : "") + item
            count += 1
        }
        if count > 0 { pieces.append((text, count)) }
        return pieces
    }
}

/// Where deadlines fire: a serial queue of its own, which (unlike the global
/// queues and the task pool) gets a thread even when all the others are busy,
/// so a time budget holds under load.
enum Deadlines {
    static let queue = DispatchQueue(label: "omnigate.deadlines", qos: .userInteractive)
}

extension Duration {
    /// Seconds, for dispatch deadlines and Foundation dates (the HTTP API uses it too).
    public var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}

/// One answer, from whichever comes first (the work or its deadline); it may come
/// before anyone waits for it, and later ones are dropped.
final class FirstAnswer<T: Sendable>: Sendable {
    private let state = Mutex<(answer: T?, waiter: CheckedContinuation<T, Never>?)>((nil, nil))

    func give(_ answer: T) {
        let waiter = state.withLock { state -> CheckedContinuation<T, Never>? in
            guard state.answer == nil else { return nil }
            state.answer = answer
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: answer)
    }

    func value() async -> T {
        if let answer = state.withLock({ $0.answer }) { return answer }
        return await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> T? in
                if state.answer == nil { state.waiter = continuation }
                return state.answer
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }
}

/// Why a store read gave no answer in time.
enum LookupFailure: Error, Sendable, CustomStringConvertible {
    case timedOut(Duration)
    case busy
    case failed(String)

    var description: String {
        switch self {
        case .timedOut(let budget):
            "store lookup exceeded its \(budget.components.seconds * 1000 + budget.components.attoseconds / 1_000_000_000_000_000) ms budget"
        case .busy: "store lookups are stuck; none started"
        case .failed(let error): "store lookup failed: \(error)"
        }
    }
}

extension GatewayConfig.Store {
    /// Opens the store `[store]` names: the SQLite file, or the PostgreSQL database.
    public func open(durability: Durability = .full, mode: StoreAccessMode = .readWrite) throws -> TimelineStore {
        switch backend {
        case .sqlite:
            try TimelineStore(path: path, defaultCountry: defaultCountry, durability: durability, mode: mode, walLimitBytes: walLimit)
        case .postgresql:
            try TimelineStore(postgresql: connection, defaultCountry: defaultCountry, poolSize: poolSize, mode: mode)
        }
    }
}
