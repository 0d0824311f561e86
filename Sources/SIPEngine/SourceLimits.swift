import CPJSIP
import Foundation
import Log
import Synchronization

// Per-source limits, so that one source (a scanner, a flood, a broken client)
// cannot exhaust what every caller shares:
//
// - Requests: a token bucket per source address (Kamailio's `pike` idea).
//   Past the rate, requests are dropped unanswered: answering a flood would
//   only multiply it. Sources the gateway trusts (its trunks) are exempt, so a
//   flood from elsewhere never throttles them.
// - Connections: TCP and TLS connections per source and in all; one more is
//   closed as soon as it is accepted.
// - Idle connections: a connection that carries no transaction, dialog or
//   call and has delivered no complete SIP message for `idleTimeout` is
//   closed (this also ends a message whose Content-Length never arrives).
// - Oversized messages: a TCP/TLS message larger than PJSIP_MAX_PKT_LEN gets
//   513 when its headers can be read, and the connection is closed.
//
// Everything here runs on the engine thread; only the counters are shared.

/// The limits, from `[sip]` in the configuration.
public struct SourceLimits: Sendable, Equatable {
    /// Requests per second one untrusted source may send, sustained.
    public var requestsPerSecond: Double = 50
    /// Requests an untrusted source may send at once before the rate applies.
    public var requestBurst: Int = 200
    /// TCP and TLS connections one untrusted source may hold open.
    public var connectionsPerSource = 32
    /// TCP and TLS connections from all sources together.
    public var connections = 2000
    /// How long an unused connection stays open.
    public var idleTimeout: Duration = .seconds(60)

    public init() {}
}

/// What the limits did, counted since the engine started (for logs and metrics).
public struct SecurityCounters: Sendable, Equatable {
    /// Requests dropped unanswered because their source exceeded its rate.
    public var requestsDropped = 0
    /// Connections closed at once because their source (or everyone) held too many.
    public var connectionsRefused = 0
    /// Connections closed after `idleTimeout` without use.
    public var connectionsClosedIdle = 0
    /// Messages larger than the largest SIP message accepted (64 KB).
    public var oversizedMessages = 0
    /// Messages pjsip could not parse.
    public var malformedMessages = 0
}

/// The counters, shared between the engine thread (writer) and readers.
final class SecurityCounterStore: Sendable {
    let requestsDropped = Atomic<Int>(0)
    let connectionsRefused = Atomic<Int>(0)
    let connectionsClosedIdle = Atomic<Int>(0)
    let oversizedMessages = Atomic<Int>(0)
    let malformedMessages = Atomic<Int>(0)

    var snapshot: SecurityCounters {
        var counters = SecurityCounters()
        counters.requestsDropped = requestsDropped.load(ordering: .relaxed)
        counters.connectionsRefused = connectionsRefused.load(ordering: .relaxed)
        counters.connectionsClosedIdle = connectionsClosedIdle.load(ordering: .relaxed)
        counters.oversizedMessages = oversizedMessages.load(ordering: .relaxed)
        counters.malformedMessages = malformedMessages.load(ordering: .relaxed)
        return counters
    }
}

/// The request rate of each source, as token buckets. Engine thread only.
struct RequestRates {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
        var trusted: Bool
    }

    private var buckets: [String: Bucket] = [:]
    /// Sources remembered at once; past it, sources whose buckets are full again are forgotten.
    static let capacity = 16_384

    /// Takes one token for a request from `host`; false when the source is over its rate.
    /// `isTrusted` is asked once per source, the first time it is seen.
    mutating func admit(_ host: String, limits: SourceLimits, now: UInt64, isTrusted: (String) -> Bool) -> Bool {
        guard var bucket = buckets[host] else {
            if buckets.count >= Self.capacity { forgetIdle(limits: limits, now: now) }
            let trusted = isTrusted(host)
            buckets[host] = Bucket(tokens: Double(limits.requestBurst) - 1, updated: now, trusted: trusted)
            return true
        }
        if bucket.trusted { return true }
        let elapsed = Double(now &- bucket.updated) / 1e9
        bucket.tokens = min(Double(limits.requestBurst), bucket.tokens + elapsed * limits.requestsPerSecond)
        bucket.updated = now
        let admitted = bucket.tokens >= 1
        if admitted { bucket.tokens -= 1 }
        buckets[host] = bucket
        return admitted
    }

    /// Forgets untrusted sources whose buckets have refilled (they lose nothing),
    /// or, if that frees too little, every untrusted source.
    private mutating func forgetIdle(limits: SourceLimits, now: UInt64) {
        buckets = buckets.filter { _, bucket in
            bucket.trusted || bucket.tokens + Double(now &- bucket.updated) / 1e9 * limits.requestsPerSecond < Double(limits.requestBurst)
        }
        if buckets.count >= Self.capacity * 3 / 4 { buckets = buckets.filter { $0.value.trusted } }
    }
}

/// Incoming TCP/TLS connections and their use. Engine thread only.
struct Connections {
    struct Entry {
        let host: String
        let description: String
        var lastMessage: ContinuousClock.Instant
    }

    private(set) var entries: [UnsafeMutablePointer<pjsip_transport>: Entry] = [:]
    private var perHost: [String: Int] = [:]

    var count: Int { entries.count }
    func count(from host: String) -> Int { perHost[host] ?? 0 }

    mutating func opened(_ transport: UnsafeMutablePointer<pjsip_transport>, host: String, description: String) {
        guard entries[transport] == nil else { return }
        entries[transport] = Entry(host: host, description: description, lastMessage: .now)
        perHost[host, default: 0] += 1
    }

    mutating func closed(_ transport: UnsafeMutablePointer<pjsip_transport>) {
        guard let entry = entries.removeValue(forKey: transport) else { return }
        let left = (perHost[entry.host] ?? 1) - 1
        perHost[entry.host] = left > 0 ? left : nil
    }

    mutating func used(_ transport: UnsafeMutablePointer<pjsip_transport>) {
        entries[transport]?.lastMessage = .now
    }
}

extension EngineCore {
    // MARK: - Requests

    /// Counts a request against its source's rate; false when it must be dropped.
    func admitByRate(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        let host = stringFromTuple(rdata.pointee.pkt_info.src_name)
        let trusted = config.isTrustedSource
        let now = DispatchTime.now().uptimeNanoseconds
        if requestRates.admit(host, limits: config.limits, now: now, isTrusted: { trusted?($0) ?? false }) { return true }
        counters.requestsDropped.add(1, ordering: .relaxed)
        if let count = throttle.admit("rate:" + host) {
            log.warning("rate limit: dropping requests from this source", ("source", host),
                        ("limit", "\(Int(config.limits.requestsPerSecond))/s"), ("dropped", count))
        }
        return false
    }

    // MARK: - Connections

    func installConnectionTracking(_ cb: inout pjsua_callback) {
        cb.on_transport_state = { transport, state, _ in
            guard let core = EngineCore.current, let transport else { return }
            core.transportStateChanged(transport, state)
        }
    }

    func transportStateChanged(_ transport: UnsafeMutablePointer<pjsip_transport>, _ state: pjsip_transport_state) {
        preconditionOnEngineThread()
        let reliable = (transport.pointee.flag & UInt32(PJSIP_TRANSPORT_RELIABLE.rawValue)) != 0
        guard reliable, transport.pointee.dir == PJSIP_TP_DIR_INCOMING else { return }
        switch state {
        case PJSIP_TP_STATE_CONNECTED:
            let host = String(pj: transport.pointee.remote_name.host)
            let description = "\(host):\(transport.pointee.remote_name.port)/\(transport.pointee.type_name.map { String(cString: $0) } ?? "?")"
            let trusted = config.isTrustedSource?(host) ?? false
            let limits = config.limits
            let refused = connections.count >= limits.connections
                || (!trusted && connections.count(from: host) >= limits.connectionsPerSource)
            if refused {
                counters.connectionsRefused.add(1, ordering: .relaxed)
                if let count = throttle.admit("connections:" + host) {
                    log.warning("connection limit: closing a new connection", ("source", description),
                                ("from.source", connections.count(from: host)), ("all", connections.count), ("refused", count))
                }
                _ = pjsip_transport_shutdown2(transport, 1)
                return
            }
            connections.opened(transport, host: host, description: description)
        case PJSIP_TP_STATE_DISCONNECTED, PJSIP_TP_STATE_SHUTDOWN, PJSIP_TP_STATE_DESTROY:
            connections.closed(transport)
        default:
            break
        }
    }

    /// A complete message arrived on `transport`.
    func noteMessage(on transport: UnsafeMutablePointer<pjsip_transport>?) {
        guard let transport, !connections.entries.isEmpty else { return }
        connections.used(transport)
    }

    /// Closes connections unused for longer than the idle timeout. Called from the engine loop.
    func closeIdleConnections() {
        guard !connections.entries.isEmpty else { return }
        let cutoff = ContinuousClock.now - config.limits.idleTimeout
        for (transport, entry) in connections.entries where entry.lastMessage < cutoff {
            // Transactions, dialogs and live calls hold references: only unused connections go.
            guard pj_atomic_get(transport.pointee.ref_cnt) == 0, transport.pointee.is_shutdown == 0 else { continue }
            counters.connectionsClosedIdle.add(1, ordering: .relaxed)
            if let count = throttle.admit("idle:" + entry.host) {
                log.info("closing an idle connection", ("source", entry.description), ("closed", count))
            }
            connections.closed(transport)
            _ = pjsip_transport_shutdown2(transport, 1)
        }
    }
}
