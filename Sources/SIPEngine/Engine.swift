// SIPEngine: the only code in Omnigate that calls pjsua.
//
// Rules, first:
// - One thread owns pjsua. `SIPEngine.start` creates that thread; it runs
//   pjsua_create/init/start, then loops: poll pjsua (`pjsua_handle_events`),
//   run the commands other threads posted, repeat. pjsua is configured with
//   `thread_cnt = 0`, so SIP callbacks run on this thread too, between polls.
// - Other threads never call pjlib. They post a `SIPCommand` under a lock and
//   wake the loop through a socket pair registered with pjsip's ioqueue, so a
//   command does not wait out the poll timeout.
// - Media callbacks (RFC 4733 digits, end of a WAV file) arrive on pjmedia's
//   own threads; they only enqueue work for the engine thread.
// - Events go out through one handler, called on the engine thread in order.
//   It must not block: copy and hand on.
// - No pjsua type appears in this module's public API.
//
// pjsua is a process-wide singleton: one engine runs at a time.

import CPJSIP
import Foundation
import Log
import Synchronization

/// How to start the engine.
public struct EngineConfig: Sendable {
    /// Where to listen for SIP over UDP; nil to not listen on UDP.
    public var udp: (host: String, port: Int)?
    /// Where to listen for SIP over TCP; nil to not listen on TCP.
    public var tcp: (host: String, port: Int)?
    /// The TLS listener and its certificates; nil to not listen on TLS.
    public var tls: TLSSettings?
    /// Calls held at once; further INVITEs get 503 Service Unavailable.
    public var maxCalls = 1000
    public var userAgent = "Omnigate"
    public var rtpPortStart = 10000
    public var rtpPortRange = 10000
    /// Headers copied into `IncomingCall.headers` (besides every `X-` header).
    public var capturedHeaders: [String] = ["P-Asserted-Identity", "Remote-Party-ID", "Diversion",
                                            "User-Agent", "Subject", "Call-Info", "Priority"]
    /// Provider accounts: outbound identity, digest credentials, registration.
    public var accounts: [AccountConfig] = []
    /// Seconds `stop()` waits for BYEs to be answered before closing transports.
    public var hangupGrace: Double = 2
    /// Decides, on the engine thread and before any transaction exists, whether
    /// a request outside a dialog (INVITE, MESSAGE, OPTIONS, SUBSCRIBE, …) is
    /// admitted: nil admits it, a status code (403, …) refuses it statelessly.
    /// It must be quick and must not block. Without it, everything is refused.
    public var admit: (@Sendable (AdmissionRequest) -> Admission)?
    /// Decides, on the engine thread, what to do with a REFER in a call.
    /// Without it every transfer is refused with 403.
    public var transferPolicy: (@Sendable (TransferRequest) -> TransferDecision)?
    /// Sources exempt from the per-source request rate and connection limits
    /// (trunks), by IP address. Asked once per source; must be quick.
    public var isTrustedSource: (@Sendable (String) -> Bool)?
    /// Per-source request rates and connection limits.
    public var limits = SourceLimits()
    /// The registrar for agents' phones; nil: REGISTER gets 405 (403 from a stranger).
    public var registrar: RegistrarSettings?

    public init() {}
}

/// A transport the engine listens on, with the port actually bound.
public struct BoundTransport: Sendable, CustomStringConvertible {
    public var type: String
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "\(type.lowercased()) [\(host)]:\(port)" : "\(type.lowercased()) \(host):\(port)" }
}

/// A running SIP user agent on PJSIP. Thread-safe: `post` from anywhere.
public final class SIPEngine: Sendable {
    /// The transports opened, with their real ports (useful when configured as port 0).
    public let transports: [BoundTransport]
    private let core: EngineCore

    private init(core: EngineCore, transports: [BoundTransport]) {
        self.core = core
        self.transports = transports
    }

    /// Starts pjsua on a new engine thread and opens the transports.
    /// - Parameter onEvent: called on the engine thread for every event; must not block.
    /// - Throws: `SIPError` when pjsua cannot start or a transport cannot be opened
    ///   (for example, a port already in use: see `SIPError.isAddressInUse`).
    public static func start(_ config: EngineConfig, onEvent: @escaping @Sendable (SIPEvent) -> Void) throws -> SIPEngine {
        let core = EngineCore(config: config, onEvent: onEvent)
        let transports = try core.launch()
        return SIPEngine(core: core, transports: transports)
    }

    /// Queues a command for the engine thread and wakes it; returns at once. A
    /// command that fails there is logged (debug) and dropped: use `perform`
    /// to learn how it went.
    public func post(_ command: SIPCommand) {
        _ = core.enqueue { $0.execute(command) }
    }

    /// Carries out a command on the engine thread and returns once it has been
    /// done there (the 200 sent, the leg's INVITE sent, the prompt started).
    /// - Throws: `EngineError`: `.stopped` when the engine has stopped (nothing
    ///   was done), `.callGone` for a call that has ended, `.library` when PJSIP refused.
    public func perform(_ command: SIPCommand) async throws(EngineError) {
        let result: Result<Void, EngineError> = await withCheckedContinuation { continuation in
            let queued = core.enqueue(
                { core in continuation.resume(returning: core.run(command)) },
                ifStopped: { continuation.resume(returning: .failure(.stopped)) })
            if !queued { continuation.resume(returning: .failure(.stopped)) }
        }
        try result.get()
    }

    /// Runs `body` on the engine thread between two polls: proof that the thread is alive
    /// (the service watchdog). `body` must not block.
    public func probe(_ body: @escaping @Sendable () -> Void) {
        _ = core.enqueue { _ in body() }
    }

    /// From now on, new INVITEs get 503 (a graceful stop drains live calls).
    public func refuseNewCalls() {
        core.refusingNewCalls.store(true, ordering: .relaxed)
    }

    /// Calls still up (any state), as seen by the engine thread at its last loop.
    public var liveCalls: Int { core.liveCallCount.load(ordering: .relaxed) }

    /// What the per-source limits and the malformed-message handling did since start.
    public var securityCounters: SecurityCounters { core.counters.snapshot }

    /// SIP responses sent and received so far, by class.
    public var responseCounts: SIPResponseCounts { core.responses.snapshot }

    /// Hangs up every live call with BYE (or CANCEL, or a final error), waits
    /// up to `hangupGrace` for them to end, closes the transports and stops
    /// the engine thread. Safe to call more than once, from any thread.
    public func stop() {
        core.shutdown()
    }
}

/// One call leg as the engine thread knows it.
final class CallEntry {
    let id: CallID
    var pjsuaID: pjsua_call_id
    var confSlot: pjsua_conf_port_id = pjsua_conf_port_id(PJSUA_INVALID_ID.rawValue)
    var hungUpByUs = false
    var playback: PlaybackEntry?
    var recorder: RecorderEntry?
    /// Calls whose audio is connected to this one.
    var bridgedTo: Set<CallID> = []
    /// The call's audio runs over SRTP.
    var encrypted = false
    /// The implicit subscription of an accepted REFER, until its final NOTIFY.
    var transfer: OpaquePointer?
    /// The TCP/TLS connection an inbound call arrived on, referenced while the call lives.
    var heldTransport: UnsafeMutablePointer<pjsip_transport>?

    init(id: CallID, pjsuaID: pjsua_call_id) {
        self.id = id
        self.pjsuaID = pjsuaID
    }
}

final class PlaybackEntry {
    let id: PlaybackID
    let player: pjsua_player_id
    var finished = false
    init(id: PlaybackID, player: pjsua_player_id) {
        self.id = id
        self.player = player
    }
}

final class RecorderEntry {
    let path: String
    let recorder: pjsua_recorder_id
    let started: ContinuousClock.Instant
    init(path: String, recorder: pjsua_recorder_id) {
        self.path = path
        self.recorder = recorder
        self.started = .now
    }
}

/// The engine thread's state and loop.
///
/// `@unchecked Sendable`: everything but `pending`, `wakePending`, the wake
/// descriptors and `liveCallCount` is only touched on the engine thread
/// (checked by `preconditionOnEngineThread()`); `pending` is guarded by its
/// mutex and the others are atomics or immutable after launch.
final class EngineCore: @unchecked Sendable {
    /// The running engine, reachable from pjsua's C callbacks, which carry no
    /// context. Set on the engine thread before `pjsua_init`, cleared after
    /// `pjsua_destroy` has joined pjsua's own threads.
    nonisolated(unsafe) static var current: EngineCore?
    /// True while pjsua starts up (see the log callback).
    static let starting = Atomic<Bool>(false)

    let config: EngineConfig
    let onEvent: @Sendable (SIPEvent) -> Void
    let log = Logger("sip")

    /// Work for the engine thread, and whether it still takes any: once the
    /// thread has ended, nothing is queued and the wake socket (closed, its
    /// number perhaps reused) is never written.
    private let pending = Mutex(PendingWork())
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    let liveCallCount = Atomic<Int>(0)
    let refusingNewCalls = Atomic<Bool>(false)
    private var wakeFDs: (read: Int32, write: Int32) = (-1, -1)
    private let stopped = DispatchSemaphore(value: 0)
    private let stopOnce = Mutex(false)

    // Engine-thread state.
    private var engineThread: pthread_t?
    var calls: [CallID: CallEntry] = [:]
    var playbacks: [PlaybackID: CallID] = [:]
    var closingRecordings: [ClosingRecording] = []
    /// Per transport ("UDP", "TCP", "TLS"), a local account for each SRTP use.
    var localAccounts: [String: [SRTPUse: pjsua_acc_id]] = [:]
    var providerAccounts: [String: pjsua_acc_id] = [:]
    var accountNames: [pjsua_acc_id: String] = [:]
    var defaultAccount: pjsua_acc_id = pjsua_acc_id(PJSUA_INVALID_ID.rawValue)
    var wakeKey: OpaquePointer?
    var wakeReadBuffer = [UInt8](repeating: 0, count: 64)
    var wakeOpKey = pj_ioqueue_op_key_t()
    var pool: UnsafeMutablePointer<pj_pool_t>?
    var requestRates = RequestRates()
    var registrar = RegistrarState()
    /// The request being handled right now whose digest credentials named an agent.
    var authenticatedRequest: (rdata: UnsafeMutablePointer<pjsip_rx_data>, agent: String)?
    var connections = Connections()
    private var lastSweep = ContinuousClock.now
    let counters = SecurityCounterStore()
    let responses = ResponseCounterStore()
    /// Repeated warnings (floods of malformed packets, limits biting) are logged 1st, 10th, 100th, …
    let throttle = LogThrottle(capacity: 256)
    /// Repeated pjsip warnings, by their text with numbers taken out.
    static let pjsipThrottle = LogThrottle(capacity: 64)

    init(config: EngineConfig, onEvent: @escaping @Sendable (SIPEvent) -> Void) {
        self.config = config
        self.onEvent = onEvent
    }

    // MARK: - Thread

    /// Starts the engine thread and waits until pjsua runs (or failed to).
    func launch() throws -> [BoundTransport] {
        guard EngineCore.current == nil else {
            throw SIPError(status: pj_status_t(PJ_EEXISTS), call: "SIPEngine.start (an engine is already running in this process)")
        }
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds) == 0 else {
            throw SIPError(status: pjStatusFromOS(errno), call: "socketpair")
        }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wakeFDs = (fds[0], fds[1])

        let started = DispatchSemaphore(value: 0)
        let result = Mutex<Result<[BoundTransport], Error>?>(nil)
        let thread = Thread { [self] in
            do {
                let transports = try self.startPJSUA()
                result.withLock { $0 = .success(transports) }
                started.signal()
                self.runLoop()
            } catch {
                self.destroyPJSUA()
                result.withLock { $0 = .failure(error) }
                started.signal()
            }
            self.closeQueue()
            self.stopped.signal()
        }
        thread.name = "omnigate-sip"
        thread.stackSize = 4 << 20
        thread.start()
        started.wait()
        switch result.withLock({ $0 })! {
        case .success(let transports): return transports
        case .failure(let error):
            stopped.wait()
            throw error
        }
    }

    var isEngineThread: Bool {
        guard let engineThread else { return false }
        return pthread_equal(engineThread, pthread_self()) != 0
    }

    func preconditionOnEngineThread(_ function: StaticString = #function) {
        guard let engineThread, pthread_equal(engineThread, pthread_self()) != 0 else {
            preconditionFailure("\(function) touched pjsua off the engine thread")
        }
    }

    private func runLoop() {
        preconditionOnEngineThread()
        while !stopRequested.load(ordering: .acquiring) {
            _ = pjsua_handle_events(closingRecordings.isEmpty ? 100 : 10)
            drainPending()
            if !closingRecordings.isEmpty { reportClosedRecordings() }
            if ContinuousClock.now - lastSweep >= .seconds(1) {
                lastSweep = .now
                closeIdleConnections()
                sweepRegistrations()
            }
        }
        hangUpEverything()
        destroyPJSUA()
    }

    /// Queues work for the engine thread; safe from any thread, including pjmedia's.
    /// Returns false, and queues nothing, once the engine thread has ended;
    /// `ifStopped` runs instead of `work` when the thread ends before running it.
    @discardableResult
    func enqueue(_ work: @escaping @Sendable (EngineCore) -> Void, ifStopped: (@Sendable () -> Void)? = nil) -> Bool {
        pending.withLock { pending in
            guard pending.open else { return false }
            pending.items.append((work, ifStopped))
            // Written under the lock: the thread closes the socket under it too.
            if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
                var byte: UInt8 = 1
                _ = write(wakeFDs.write, &byte, 1)
            }
            return true
        }
    }

    private func drainPending() {
        wakePending.store(false, ordering: .releasing)
        let work = pending.withLock { pending in
            let taken = pending.items
            pending.items.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work { item.work(self) }
        liveCallCount.store(calls.count, ordering: .relaxed)
    }

    /// The engine thread's last act: takes no more work, closes the wake
    /// socket, and tells whoever waits on work never run that it was not.
    private func closeQueue() {
        let left = pending.withLock { pending in
            pending.open = false
            close(wakeFDs.read)
            close(wakeFDs.write)
            defer { pending.items.removeAll() }
            return pending.items
        }
        for item in left { item.ifStopped?() }
    }

    func shutdown() {
        let first = stopOnce.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        stopRequested.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(wakeFDs.write, &byte, 1)
        stopped.wait()
    }

    /// Sends BYE/CANCEL for every live call and polls until they end or the grace period passes.
    private func hangUpEverything() {
        drainPending()
        guard !calls.isEmpty else { return }
        log.info("hanging up live calls", ("calls", calls.count))
        for call in calls.values {
            call.hungUpByUs = true
            _ = pjsua_call_hangup(call.pjsuaID, 0, nil, nil)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(config.hangupGrace * 1000))
        while !calls.isEmpty && ContinuousClock.now < deadline {
            _ = pjsua_handle_events(20)
            drainPending()
        }
        if !calls.isEmpty { log.warning("calls still up at stop", ("calls", calls.count)) }
    }

    func emit(_ event: SIPEvent) {
        onEvent(event)
    }

    // MARK: - pjsua lifecycle

    private func startPJSUA() throws -> [BoundTransport] {
        EngineCore.starting.store(true, ordering: .relaxed)
        defer { EngineCore.starting.store(false, ordering: .relaxed) }
        engineThread = pthread_self()

        var cfg = pjsua_config()
        pjsua_config_default(&cfg)
        cfg.thread_cnt = 0  // this thread polls: see the rules at the top of this file
        cfg.max_calls = UInt32(min(max(config.maxCalls, 1), Int(PJSUA_MAX_CALLS)))
        let strings = CStrings()
        cfg.user_agent = strings.pj(config.userAgent)  // empty: no User-Agent or Server header at all
        cfg.enable_unsolicited_mwi = 0  // no NOTIFY is served outside a subscription
        installCallbacks(&cfg.cb)

        var logCfg = pjsua_logging_config()
        pjsua_logging_config_default(&logCfg)
        logCfg.level = Logger.level == .debug ? 4 : 2
        logCfg.console_level = logCfg.level  // pjsua passes only lines up to console_level to the callback
        logCfg.msg_logging = Logger.level == .debug ? 1 : 0
        logCfg.cb = { level, data, length in
            guard let data else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let line = text.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ")
            // While starting, failures come back as typed errors with one clear message; pjsip's own lines are detail.
            let starting = EngineCore.starting.load(ordering: .relaxed)
            // pjsip's own lines about a dropped packet (with the whole packet) repeat what the
            // drop handler logs once per source with a short excerpt: detail, for debug.
            let dropped = line.hasPrefix("sip_transport.c Dropping ") || line.hasPrefix("sip_endpoint.c Error processing packet")
            let ours: LogLevel = starting || dropped || level > 2 ? .debug : level <= 1 ? .error : .warning
            guard ours >= Logger.level else { return }
            // Warnings can repeat once per packet a remote party sends: a flood costs a bounded number of lines.
            var fields: [LogField] = []
            if ours >= .warning {
                guard let count = EngineCore.pjsipThrottle.admit(EngineCore.throttleKey(line)) else { return }
                if count > 1 { fields.append(("repeats", count)) }
            }
            Logger("pjsip").log(ours, { line }, fields)
        }

        // pjlib logs from pjsua_create on, before pjsua_init installs the callback: the same callback
        // and level from the start, so none of its lines reach stdout in pjlib's own format.
        pj_log_set_level(Int32(logCfg.level))
        pj_log_set_log_func(logCfg.cb)
        try check(pjsua_create(), "pjsua_create")
        EngineCore.current = self
        // RFC 3261 §8.2.6.2: a response's From and To are the request's, port included.
        pjsip_cfg().pointee.endpt.allow_port_in_fromto_hdr = 1
        pool = pjsua_pool_create("omnigate", 4000, 4000)

        var mediaCfg = pjsua_media_config()
        pjsua_media_config_default(&mediaCfg)
        // Everything at 8 kHz mono, G.711's own rate, so no call resamples.
        mediaCfg.clock_rate = 8000
        mediaCfg.snd_clock_rate = 8000
        mediaCfg.channel_count = 1
        mediaCfg.audio_frame_ptime = 20
        mediaCfg.ec_tail_len = 0
        mediaCfg.no_vad = 1
        mediaCfg.thread_cnt = 1

        try check(pjsua_init(&cfg, &logCfg, &mediaCfg), "pjsua_init")
        try registerWakeSocket()
        let transports = try openTransports()
        try check(pjsua_start(), "pjsua_start")
        try addAccounts()
        try check(pjsua_set_null_snd_dev(), "pjsua_set_null_snd_dev")
        try configureCodecs()
        try installRequestFilter()
        return transports
    }

    private func destroyPJSUA() {
        guard EngineCore.current === self else { return }
        if let pool { pj_pool_release(pool) }
        pool = nil
        _ = pjsua_destroy()
        EngineCore.current = nil
    }

    /// Registers the read end of the wake socket pair with pjsip's ioqueue,
    /// so a posted command ends `pjsua_handle_events` at once.
    private func registerWakeSocket() throws {
        let ioqueue = pjsip_endpt_get_ioqueue(pjsua_get_pjsip_endpt())
        var callbacks = pj_ioqueue_callback()
        callbacks.on_read_complete = { key, opKey, bytesRead in
            guard let core = EngineCore.current else { return }
            core.postWakeRead()
        }
        var key: OpaquePointer?
        try check(pj_ioqueue_register_sock(pool, ioqueue, pj_sock_t(wakeFDs.read), nil, &callbacks, &key),
                  "pj_ioqueue_register_sock")
        wakeKey = key
        postWakeRead()
    }

    /// Drains the wake socket and re-arms the ioqueue read.
    func postWakeRead() {
        var byte: UInt8 = 0
        while read(wakeFDs.read, &byte, 1) > 0 {}
        while true {
            var size = pj_ssize_t(wakeReadBuffer.count)
            pj_ioqueue_op_key_init(&wakeOpKey, MemoryLayout<pj_ioqueue_op_key_t>.size)
            let status = wakeReadBuffer.withUnsafeMutableBytes { buf in
                pj_ioqueue_recv(wakeKey, &wakeOpKey, buf.baseAddress, &size, 0)
            }
            // PJ_SUCCESS means data was read at once: drain again and re-post.
            if status != PJ_SUCCESS.rawValue { break }
        }
    }

    /// What makes two pjsip lines "the same" for throttling: the text with its
    /// numbers taken out (packet sizes, ports, addresses), cut short.
    static func throttleKey(_ line: String) -> String {
        let firstLine = line.unicodeScalars.prefix { $0 != "\n" && $0 != "\r" }.prefix(120)
        return String(String.UnicodeScalarView(firstLine.map { ("0"..."9").contains($0) ? "#" : $0 }))
    }

    private func configureCodecs() throws {
        // G.711 only, at the bridge's own 8 kHz; telephone-event is always offered.
        let strings = CStrings()
        var all = strings.pj("*")
        _ = pjsua_codec_set_priority(&all, 0)
        var pcmu = strings.pj("PCMU/8000")
        var pcma = strings.pj("PCMA/8000")
        try check(pjsua_codec_set_priority(&pcmu, pj_uint8_t(PJMEDIA_CODEC_PRIO_HIGHEST.rawValue)), "pjsua_codec_set_priority PCMU")
        try check(pjsua_codec_set_priority(&pcma, pj_uint8_t(PJMEDIA_CODEC_PRIO_NEXT_HIGHER.rawValue)), "pjsua_codec_set_priority PCMA")
    }
}

/// The engine thread's queue: work, each with what to do should the thread end first.
struct PendingWork {
    var items: [(work: @Sendable (EngineCore) -> Void, ifStopped: (@Sendable () -> Void)?)] = []
    var open = true
}
