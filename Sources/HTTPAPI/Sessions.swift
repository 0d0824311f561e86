import CCrypto
import Configuration
import Foundation
import Synchronization

/// The agent console's logins: a browser holds a session cookie instead of a
/// bearer token. An agent logs in with its SIP credentials and gets role
/// `agent` bound to itself; a supervisor or admin logs in with its API token,
/// and the session acts with that token's role for as long as the
/// configuration keeps the token. Sessions live in memory only: a restart
/// logs everyone out.
///
/// A session's id is 32 bytes from OpenSSL's RAND_bytes, sent only in an
/// HttpOnly, SameSite=Strict cookie (Secure under HTTPS); every request that
/// changes something must also carry the session's CSRF token in
/// `X-CSRF-Token`, which the page reads from `GET /api/v1/session`.
final class SessionBook: Sendable {
    struct Session: Sendable {
        let id: String
        let csrf: String
        /// `agent` for an agent's login, `token` for an API token's.
        let kind: String
        /// The agent's name, for an agent's login.
        let agent: String?
        /// The token's SHA-256, for a token's login (looked up again on every request).
        let tokenHash: String?
        let created: Date
        var lastUsed: Date
    }

    static let cookie = "omnigate_session"
    /// A session ends this long after login, whatever happens.
    static let lifetime: TimeInterval = 12 * 3600
    /// And after this long unused.
    static let idle: TimeInterval = 2 * 3600
    /// Sessions at once; a login past it ends the least recently used one.
    let capacity: Int
    private let sessions = Mutex<[String: Session]>([:])

    init(capacity: Int = 2000) { self.capacity = capacity }

    /// Opens a session; ends the least recently used one when the book is full.
    func open(kind: String, agent: String?, tokenHash: String?, now: Date = Date()) -> Session {
        let session = Session(id: Secrets.random(), csrf: Secrets.random(), kind: kind, agent: agent, tokenHash: tokenHash, created: now, lastUsed: now)
        sessions.withLock { book in
            book = book.filter { !Self.expired($0.value, now) }
            if book.count >= capacity, let oldest = book.values.min(by: { $0.lastUsed < $1.lastUsed }) {
                book.removeValue(forKey: oldest.id)
            }
            book[session.id] = session
        }
        return session
    }

    /// The live session with this id (and marks it used), or nil.
    func session(_ id: String, now: Date = Date()) -> Session? {
        guard id.count == 43 else { return nil }
        return sessions.withLock { book in
            guard var session = book[id] else { return nil }
            if Self.expired(session, now) {
                book.removeValue(forKey: id)
                return nil
            }
            session.lastUsed = now
            book[id] = session
            return session
        }
    }

    func close(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }

    var count: Int { sessions.withLock { $0.count } }

    private static func expired(_ session: Session, _ now: Date) -> Bool {
        now.timeIntervalSince(session.created) > lifetime || now.timeIntervalSince(session.lastUsed) > idle
    }

    /// The session id in a `Cookie` header, if any.
    static func id(cookieHeader: String?) -> String? {
        guard let cookieHeader else { return nil }
        for part in cookieHeader.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
        }
        return nil
    }

    /// MD5 in lower-case hex, for a SIP digest HA1.
    static func md5(_ text: String) -> String { Secrets.hex(text, omnigate_md5, bytes: 16) }

    /// Whether `password` is the agent's SIP password: as configured, or as its
    /// HA1, MD5(username:realm:password), the digest the registrar checks phones with.
    static func agentPassword(_ password: String, matches agent: Agent, realm: String) -> Bool {
        if let stored = agent.password { return Secrets.same(stored, password) }
        if let hash = agent.passwordHash { return Secrets.same(hash.lowercased(), md5("\(agent.username):\(realm):\(password)")) }
        return false
    }
}

/// Failed logins per source address: after `limit` failures within `window`,
/// that source is refused (429) until the window has passed since its first failure.
final class LoginThrottle: Sendable {
    let limit: Int
    let window: TimeInterval
    private let failures = Mutex<[String: [Date]]>([:])

    init(limit: Int = 5, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// Seconds until `source` may try again; nil when it may now.
    func wait(for source: String, now: Date = Date()) -> Int? {
        failures.withLock { book in
            let recent = (book[source] ?? []).filter { now.timeIntervalSince($0) < window }
            book[source] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let first = recent.first else { return nil }
            return max(1, Int((window - now.timeIntervalSince(first)).rounded(.up)))
        }
    }

    func failed(_ source: String, now: Date = Date()) {
        failures.withLock { book in
            if book.count > 10_000 { book = book.filter { now.timeIntervalSince($0.value.last ?? .distantPast) < window } }
            book[source, default: []].append(now)
        }
    }

    func succeeded(_ source: String) { _ = failures.withLock { $0.removeValue(forKey: source) } }
}
