import CPJSIP
import Dispatch
import Foundation
import Log

// The registrar for agents' phones (RFC 3261 §10), with digest authentication
// by PJSIP's server-side auth (pjsip_auth_srv, RFC 2617) and nonces of our
// own making that pjsip does not check:
//
// - REGISTER comes from anywhere (an agent's phone is at no trunk address), so
//   it is decided here, before the source-based admission; per-source request
//   rates apply to it as to everything.
// - No or a stale Authorization: 401 with a fresh nonce. A nonce is
//   `time.HMAC-SHA1(secret, time|source)`: only ours, from this source, for
//   `nonceLifetime`, are taken. Wrong credentials: 403, and after
//   `failuresAllowed` failures from one source in `failureWindow`, that source
//   gets 403 without a challenge until the window has passed.
// - Each Contact is bound to the agent the credentials name (the To user must
//   be the digest user), for the Expires asked within the limits (423 below
//   the minimum). Calls go to where the REGISTER came from (received/rport,
//   Asterisk's rewrite_contact), over the same connection for TCP and TLS,
//   which a binding holds open. Past `maxContacts`, the oldest binding goes.
// - Every binding is qualified with OPTIONS every `qualifyEvery`; any answer
//   means reachable, none (timeout, transport error) unreachable.
// - Whenever an agent's bindings or their reachability change, the engine
//   emits `.registrations`, with all of that agent's bindings.

/// How an agent's phone logs in (digest credentials) and is kept track of.
public struct SIPCredential: Sendable, Equatable {
    public enum Secret: Sendable, Equatable {
        case password(String)
        /// MD5(username:realm:password) in hex, as Asterisk's `md5_cred`.
        case ha1(String)
    }
    /// The digest username, which is also the user part of the agent's address of record.
    public var user: String
    /// The agent these credentials belong to.
    public var agent: String
    public var secret: Secret
    /// Phones the agent may have registered at once.
    public var maxContacts = 3
    /// How often each registered phone is sent OPTIONS; nil for never.
    public var qualifyEvery: Duration? = .seconds(60)

    public init(user: String, agent: String, secret: Secret) {
        self.user = user
        self.agent = agent
        self.secret = secret
    }
}

/// The registrar's settings.
public struct RegistrarSettings: Sendable {
    public var realm = "omnigate"
    public var minExpires = 60
    public var maxExpires = 3600
    public var defaultExpires = 600
    /// How long a nonce we handed out is taken.
    public var nonceLifetime: Duration = .seconds(300)
    /// Failed logins one source may make in `failureWindow` before it is refused outright.
    public var failuresAllowed = 5
    public var failureWindow: Duration = .seconds(60)
    /// The credentials for a digest username; nil for none (403).
    public var credentials: @Sendable (String) -> SIPCredential?
    /// Whether anyone can register now; when not, REGISTER is treated as any
    /// method not served (405, or 403 from a stranger).
    public var isOpen: @Sendable () -> Bool = { true }

    public init(credentials: @escaping @Sendable (String) -> SIPCredential?) {
        self.credentials = credentials
    }
}

/// One registered phone of an agent.
public struct Binding: Sendable, Equatable {
    /// The Contact the phone registered, cleaned (`sip:alice@10.0.0.5:5060`).
    public var contact: String
    /// Where calls to it go: the address its REGISTER came from (NAT), with its transport.
    public var target: String
    public var expires: Date
    public var source: SourceAddress
    public var userAgent: String
    /// nil until the first OPTIONS has been answered or timed out.
    public var reachable: Bool?

    public init(contact: String, target: String, expires: Date, source: SourceAddress, userAgent: String = "", reachable: Bool? = nil) {
        self.contact = contact
        self.target = target
        self.expires = expires
        self.source = source
        self.userAgent = userAgent
        self.reachable = reachable
    }
}

/// The registrar's memory. Engine thread only.
struct RegistrarState {
    final class Entry {
        var binding: Binding
        let registered: Date
        var transport: UnsafeMutablePointer<pjsip_transport>?
        let qualifyEvery: Duration?
        var nextQualify = ContinuousClock.now
        /// The OPTIONS in flight, and when it went out.
        var attempt: (id: UInt64, sent: ContinuousClock.Instant)?
        let id: UInt64
        init(binding: Binding, qualifyEvery: Duration?, id: UInt64) {
            self.binding = binding
            self.registered = Date()
            self.qualifyEvery = qualifyEvery
            self.id = id
        }
    }

    var bindings: [String: [Entry]] = [:]
    var failures: [String: (count: Int, since: ContinuousClock.Instant)] = [:]
    var nextID: UInt64 = 1
    let secret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    var auth: UnsafeMutablePointer<pjsip_auth_srv>?

    mutating func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }
}

extension EngineCore {
    // MARK: - REGISTER

    /// Answers a REGISTER (the filter hands every one here when there is a registrar).
    func handleRegister(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, settings: RegistrarSettings) {
        preconditionOnEngineThread()
        guard let credential = authenticate(rdata, settings: settings) else { return }
        let aor = address(rdata.pointee.msg_info.to.map { UnsafeRawPointer($0.pointee.uri) })
        guard aor.user == credential.user else {
            refuseLogin(rdata, user: credential.user, source: source(rdata), settings: settings, reason: "the To user is not the digest user")
            return
        }
        updateBindings(rdata, credential: credential, settings: settings, source: source(rdata))
    }

    /// Digest authentication of a request from an agent's phone (REGISTER, and
    /// the phone's own INVITE or MESSAGE): the agent's credentials when it
    /// passes; otherwise nil, and the request has been answered (401 with a
    /// challenge, or 403).
    func authenticate(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, settings: RegistrarSettings) -> SIPCredential? {
        let source = source(rdata)
        let now = ContinuousClock.now
        if let failures = registrar.failures[source.host] {
            if now - failures.since > settings.failureWindow {
                registrar.failures[source.host] = nil
            } else if failures.count >= settings.failuresAllowed {
                respond(rdata, status: 403, reason: "Too many failed attempts")
                return nil
            }
        }
        guard let authorization = authorizationParts(rdata) else {
            challenge(rdata, settings: settings, stale: false)
            return nil
        }
        guard isOurNonce(authorization.nonce, source: source.host, lifetime: settings.nonceLifetime) else {
            challenge(rdata, settings: settings, stale: true)
            return nil
        }
        guard let credential = settings.credentials(authorization.user), verify(rdata, settings: settings) else {
            refuseLogin(rdata, user: authorization.user, source: source, settings: settings)
            return nil
        }
        registrar.failures[source.host] = nil
        return credential
    }

    /// Whether a request comes from where an agent's phone registered from (its keep-alive OPTIONS).
    func isRegisteredSource(_ source: SourceAddress) -> Bool {
        registrar.bindings.values.contains { entries in
            entries.contains { $0.binding.source.host == source.host && $0.binding.source.port == source.port }
        }
    }

    private func refuseLogin(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, user: String, source: SourceAddress, settings: RegistrarSettings,
                             reason: String = "wrong credentials") {
        let failures = registrar.failures[source.host].map { ($0.count + 1, $0.since) } ?? (1, ContinuousClock.now)
        registrar.failures[source.host] = failures
        if registrar.failures.count > 10_000 { registrar.failures = registrar.failures.filter { ContinuousClock.now - $0.value.since < settings.failureWindow } }
        if let count = throttle.admit("register:" + source.host) {
            log.warning("registration refused", ("reason", reason), ("user", user), ("source", source), ("refusals", count),
                        ("blocked", failures.0 >= settings.failuresAllowed ? "for \(settings.failureWindow)" : "no"))
        }
        respond(rdata, status: 403)
    }

    /// 401 with a WWW-Authenticate challenge carrying a fresh nonce of ours.
    private func challenge(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, settings: RegistrarSettings, stale: Bool) {
        guard let auth = authServer(settings) else { respond(rdata, status: 500); return }
        var tdata: UnsafeMutablePointer<pjsip_tx_data>?
        guard pjsip_endpt_create_response(pjsua_get_pjsip_endpt(), rdata, 401, nil, &tdata) == PJ_SUCCESS.rawValue, let tdata else { return }
        let strings = CStrings()
        var qop = strings.pj("auth")
        var nonce = strings.pj(makeNonce(source: stringFromTuple(rdata.pointee.pkt_info.src_name)))
        _ = pjsip_auth_srv_challenge(auth, &qop, &nonce, nil, stale ? 1 : 0, tdata)
        _ = pjsip_endpt_send_response2(pjsua_get_pjsip_endpt(), rdata, tdata, nil, nil)
    }

    /// pjsip's server-side digest check of the request's Authorization (realm, user, response).
    private func verify(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, settings: RegistrarSettings) -> Bool {
        guard let auth = authServer(settings) else { return false }
        var status: Int32 = 0
        return pjsip_auth_srv_verify(auth, rdata, &status) == PJ_SUCCESS.rawValue
    }

    private func authServer(_ settings: RegistrarSettings) -> UnsafeMutablePointer<pjsip_auth_srv>? {
        if let auth = registrar.auth { return auth }
        guard let pool else { return nil }
        let auth = UnsafeMutablePointer<pjsip_auth_srv>.allocate(capacity: 1)  // lives as long as the engine's pool
        auth.initialize(to: pjsip_auth_srv())
        var realm = pj_str_t()
        let strings = CStrings()
        var text = strings.pj(settings.realm)
        pj_strdup(pool, &realm, &text)
        guard pjsip_auth_srv_init(pool, auth, &realm, { pool, realm, user, info in
            // pjsip asks for the credentials of a digest username.
            guard let pool, let user, let info, let core = EngineCore.current, let settings = core.config.registrar,
                  let credential = settings.credentials(String(pj: user.pointee)) else { return omnigate_status_auth_account_not_found() }
            let strings = CStrings()
            var value: pj_str_t
            switch credential.secret {
            case .password(let password):
                info.pointee.data_type = Int32(PJSIP_CRED_DATA_PLAIN_PASSWD.rawValue)
                value = strings.pj(password)
            case .ha1(let hash):
                info.pointee.data_type = Int32(PJSIP_CRED_DATA_DIGEST.rawValue)
                value = strings.pj(hash.lowercased())
            }
            pj_strdup(pool, &info.pointee.data, &value)
            var name = strings.pj(credential.user)
            pj_strdup(pool, &info.pointee.username, &name)
            if let realm { pj_strdup(pool, &info.pointee.realm, realm) }
            var scheme = strings.pj("digest")
            pj_strdup(pool, &info.pointee.scheme, &scheme)
            return pj_status_t(PJ_SUCCESS.rawValue)
        }, 0) == PJ_SUCCESS.rawValue else {
            auth.deallocate()
            return nil
        }
        registrar.auth = auth
        return auth
    }

    /// The username and nonce of a request's digest Authorization, parsed by pjsip.
    private func authorizationParts(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> (user: String, nonce: String)? {
        guard let msg = rdata.pointee.msg_info.msg else { return nil }
        var found: (String, String)?
        forEachHeader(msg, type: PJSIP_H_AUTHORIZATION) { header in
            guard found == nil else { return }
            let auth = UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_authorization_hdr.self)
            guard String(pj: auth.pointee.scheme).lowercased() == "digest" else { return }
            found = (String(pj: auth.pointee.credential.digest.username), String(pj: auth.pointee.credential.digest.nonce))
        }
        return found
    }

    func makeNonce(source: String, at time: Int = Int(Date().timeIntervalSince1970)) -> String {
        let stamp = String(time, radix: 16)
        return stamp + "." + hmac(stamp + "|" + source)
    }

    func isOurNonce(_ nonce: String, source: String, lifetime: Duration) -> Bool {
        let parts = nonce.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let time = Int(parts[0], radix: 16) else { return false }
        let age = Int(Date().timeIntervalSince1970) - time
        guard age >= 0, age <= Int(lifetime.components.seconds) else { return false }
        return String(parts[1]) == hmac(String(parts[0]) + "|" + source)
    }

    /// HMAC-SHA1 with the registrar's secret, in hex (pjlib-util's pj_hmac_sha1).
    private func hmac(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        let input = Array(text.utf8)
        registrar.secret.withUnsafeBufferPointer { key in
            pj_hmac_sha1(input, UInt32(input.count), key.baseAddress, UInt32(key.count), &digest)
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: - Bindings

    private func updateBindings(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, credential: SIPCredential, settings: RegistrarSettings,
                                source: SourceAddress) {
        guard let msg = rdata.pointee.msg_info.msg else { return }
        var headerExpires: Int?
        forEachHeader(msg, type: PJSIP_H_EXPIRES) { header in
            headerExpires = Int(UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_expires_hdr.self).pointee.ivalue)
        }
        var requested: [(contact: String, expires: Int)] = []
        var removeAll = false
        forEachHeader(msg, type: PJSIP_H_CONTACT) { header in
            let contact = UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_contact_hdr.self)
            if contact.pointee.star != 0 { removeAll = true; return }
            guard let uri = contact.pointee.uri, let inner = pjsip_uri_get_uri(uri) else { return }
            let clean = cleanURI(UnsafeRawPointer(inner))
            guard !clean.isEmpty else { return }
            let expires = contact.pointee.expires != UInt32(PJSIP_EXPIRES_NOT_SPECIFIED) ? Int(contact.pointee.expires)
                : headerExpires ?? settings.defaultExpires
            requested.append((clean, expires))
        }
        let agent = credential.agent
        var changed = false
        if removeAll {
            guard headerExpires == 0, requested.isEmpty else { respond(rdata, status: 400, reason: "Contact * needs Expires: 0"); return }
            changed = !(registrar.bindings[agent] ?? []).isEmpty
            removeBindings(agent) { _ in true }
        }
        for (contact, expires) in requested {
            if expires == 0 {
                let before = registrar.bindings[agent]?.count ?? 0
                removeBindings(agent) { $0.binding.contact == contact }
                changed = changed || before != registrar.bindings[agent]?.count ?? 0
                continue
            }
            if expires < settings.minExpires {
                respond(rdata, status: 423, headers: [("Min-Expires", String(settings.minExpires))])
                return
            }
            let seconds = min(expires, settings.maxExpires)
            let binding = Binding(contact: contact, target: reachTarget(contact: contact, source: source),
                                  expires: Date().addingTimeInterval(TimeInterval(seconds)), source: source,
                                  userAgent: header("User-Agent", in: rdata) ?? "")
            if let existing = registrar.bindings[agent]?.first(where: { $0.binding.contact == contact }) {
                let moved = existing.binding.target != binding.target
                existing.binding.expires = binding.expires
                existing.binding.target = binding.target
                existing.binding.source = source
                if moved { changed = true; hold(existing, rdata.pointee.tp_info.transport) }
            } else {
                let entry = RegistrarState.Entry(binding: binding, qualifyEvery: credential.qualifyEvery, id: registrar.takeID())
                hold(entry, rdata.pointee.tp_info.transport)
                registrar.bindings[agent, default: []].append(entry)
                changed = true
                log.info("agent phone registered", ("agent", agent), ("contact", contact), ("target", binding.target),
                         ("expires", seconds), ("user_agent", binding.userAgent))
            }
        }
        // Past the limit, the oldest phones go (Asterisk's remove_existing).
        if let entries = registrar.bindings[agent], entries.count > credential.maxContacts {
            let excess = entries.sorted { $0.registered < $1.registered }.prefix(entries.count - credential.maxContacts).map(\.id)
            removeBindings(agent) { excess.contains($0.id) }
            changed = true
        }
        let current = registrar.bindings[agent] ?? []
        let contactHeaders = current.map { entry in
            ("Contact", "<\(entry.binding.contact)>;expires=\(max(0, Int(entry.binding.expires.timeIntervalSinceNow.rounded()))))")
        }
        respond(rdata, status: 200, headers: contactHeaders + [("Date", httpDate())])
        if changed { emitRegistrations(agent) }
    }

    /// Where calls to a phone go: its Contact's user at the address its REGISTER
    /// came from, over the transport it came on.
    private func reachTarget(contact: String, source: SourceAddress) -> String {
        let user = SIPAddress(uri: contact).user
        let host = source.host.contains(":") ? "[\(source.host)]" : source.host
        let transport = source.transport.uppercased()
        let scheme = transport == "TLS" ? "sips" : "sip"
        let parameter = transport == "TCP" ? ";transport=tcp" : transport == "TLS" ? ";transport=tls" : ""
        return "\(scheme):\(user.isEmpty ? "" : user + "@")\(host):\(source.port)\(parameter)"
    }

    /// Keeps a TCP/TLS connection open for as long as the binding that came over it.
    private func hold(_ entry: RegistrarState.Entry, _ transport: UnsafeMutablePointer<pjsip_transport>?) {
        if let held = entry.transport { _ = pjsip_transport_dec_ref(held) }
        entry.transport = nil
        guard let transport, (transport.pointee.flag & UInt32(PJSIP_TRANSPORT_RELIABLE.rawValue)) != 0 else { return }
        _ = pjsip_transport_add_ref(transport)
        entry.transport = transport
    }

    private func removeBindings(_ agent: String, where matches: (RegistrarState.Entry) -> Bool) {
        guard var entries = registrar.bindings[agent] else { return }
        for entry in entries where matches(entry) {
            hold(entry, nil)
            log.info("agent phone unregistered", ("agent", agent), ("contact", entry.binding.contact))
        }
        entries.removeAll(where: matches)
        registrar.bindings[agent] = entries.isEmpty ? nil : entries
    }

    func emitRegistrations(_ agent: String) {
        emit(.registrations(agent: agent, bindings: (registrar.bindings[agent] ?? []).map(\.binding)))
    }

    /// Bindings remembered from before a restart (UDP ones still reach their
    /// phones; TCP/TLS phones register again over a new connection).
    func restoreBindings(_ agent: String, _ bindings: [Binding]) {
        // The agent's own setting, nil ("never") included: `?.qualifyEvery ?? 60 s` once turned never into every 60 s.
        let qualifyEvery: Duration? = config.registrar?.credentials(agent).map(\.qualifyEvery) ?? .seconds(60)
        for binding in bindings where binding.expires > Date() && registrar.bindings[agent]?.contains(where: { $0.binding.contact == binding.contact }) != true {
            registrar.bindings[agent, default: []].append(RegistrarState.Entry(binding: binding, qualifyEvery: qualifyEvery, id: registrar.takeID()))
        }
        emitRegistrations(agent)
    }

    /// Drops expired bindings and bindings whose connection closed, and sends
    /// OPTIONS to bindings due. Called from the engine loop once a second.
    func sweepRegistrations() {
        guard !registrar.bindings.isEmpty else { return }
        let now = Date()
        for (agent, entries) in registrar.bindings {
            let gone = entries.filter { $0.binding.expires <= now || $0.transport.map { $0.pointee.is_shutdown != 0 } == true }.map(\.id)
            if !gone.isEmpty {
                removeBindings(agent) { gone.contains($0.id) }
                emitRegistrations(agent)
            }
            for entry in registrar.bindings[agent] ?? [] {
                // No answer in time (pjsip's own transaction gives up only after 32 s).
                if let attempt = entry.attempt, ContinuousClock.now - attempt.sent > qualifyTimeout {
                    qualified(attempt.id, status: 408, answered: false)
                }
                guard entry.attempt == nil, entry.nextQualify <= .now, let every = entry.qualifyEvery else { continue }
                qualify(entry, agent: agent, every: every)
            }
        }
    }

    // MARK: - Qualify

    /// How long a phone has to answer OPTIONS (Asterisk's qualify_timeout).
    var qualifyTimeout: Duration { .seconds(3) }

    /// Sends OPTIONS to a binding; any answer means reachable (wraps `pjsip_endpt_send_request`).
    private func qualify(_ entry: RegistrarState.Entry, agent: String, every: Duration) {
        let attempt = registrar.takeID()
        entry.attempt = (attempt, .now)
        entry.nextQualify = .now + every
        let strings = CStrings()
        var method = pjsip_method()
        var name = strings.pj("OPTIONS")
        pjsip_method_init_np(&method, &name)
        var target = strings.pj(entry.binding.target)
        let localHost = config.udp?.host ?? config.tcp?.host ?? config.tls?.host ?? "127.0.0.1"
        var from = strings.pj("<sip:omnigate@\(localHost == "0.0.0.0" || localHost == "::" ? "127.0.0.1" : localHost)>")
        var to = strings.pj("<\(entry.binding.contact)>")
        var tdata: UnsafeMutablePointer<pjsip_tx_data>?
        guard pjsip_endpt_create_request(pjsua_get_pjsip_endpt(), &method, &target, &from, &to, nil, nil, -1, nil, &tdata) == PJ_SUCCESS.rawValue,
              let tdata else {
            entry.attempt = nil
            return
        }
        let token = UnsafeMutableRawPointer(bitPattern: UInt(attempt))
        let status = pjsip_endpt_send_request(pjsua_get_pjsip_endpt(), tdata, 5000, token) { token, event in
            guard let core = EngineCore.current, let event, event.pointee.type == PJSIP_EVENT_TSX_STATE,
                  let tsx = event.pointee.body.tsx_state.tsx, tsx.pointee.state == PJSIP_TSX_STATE_COMPLETED
                    || tsx.pointee.state == PJSIP_TSX_STATE_TERMINATED else { return }
            let id = UInt64(UInt(bitPattern: token))
            // 408 and 503 made up by pjsip itself (timeout, transport error) mean no answer came.
            let answered = event.pointee.body.tsx_state.type == PJSIP_EVENT_RX_MSG
            core.qualified(id, status: Int(tsx.pointee.status_code), answered: answered)
        }
        if status != PJ_SUCCESS.rawValue { qualified(attempt, status: 503, answered: false) }
    }

    /// The outcome of OPTIONS attempt `id`: its answer, or none (a timeout or a
    /// transport error). A late answer to an attempt already given up on still
    /// counts as reachable.
    func qualified(_ id: UInt64, status: Int, answered: Bool) {
        for (agent, entries) in registrar.bindings {
            guard let entry = entries.first(where: { $0.attempt?.id == id || ($0.attempt == nil && answered && $0.binding.reachable == false) })
            else { continue }
            if entry.attempt?.id == id { entry.attempt = nil } else if !answered { continue }
            let before = entry.binding.reachable
            entry.binding.reachable = answered
            if before != answered {
                if answered {
                    log.info("agent phone reachable", ("agent", agent), ("contact", entry.binding.contact), ("sip.status", status))
                } else {
                    log.warning("agent phone unreachable: no answer to OPTIONS", ("agent", agent), ("contact", entry.binding.contact),
                                ("target", entry.binding.target))
                }
                emitRegistrations(agent)
            }
            return
        }
    }

    private func httpDate() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date())
    }
}
