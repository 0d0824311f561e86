import Configuration
import Foundation
import Gateway
import Synchronization
import Timeline

/// The agent console (docs/console.md): its static files under `/console/`,
/// the browser's sessions (`/api/v1/session`), and the API routes only the
/// console needed first (a call's wrap-up, a voicemail's recording, journey
/// figures). The files are plain HTML, CSS and JavaScript from
/// `Sources/HTTPAPI/Console`, read once at start; Chart.js comes from
/// Debian's libjs-chart.js. Nothing here is loaded from another host, and
/// every page is served with a Content-Security-Policy of this origin only.
final class Console: Sendable {
    private let service: Service
    private let stores: StoreHandle
    private let files: ConsoleFiles
    let sessions = SessionBook()
    let throttle = LoginThrottle()
    private let origins: Set<String>
    /// HTTPS: cookies are Secure, and the page's origin is https.
    private let secure: Bool
    /// Which agents were offered which calls lately (a wrap-up may come before the call's record names its agent).
    private let offered = Mutex<(order: [String], agents: [String: Set<String>])>(([], [:]))

    init(service: Service, stores: StoreHandle, config: GatewayConfig) {
        self.service = service
        self.stores = stores
        files = ConsoleFiles.load()
        origins = Set(config.http.allowedOrigins)
        secure = config.http.tlsCertificate != nil && config.http.tlsPrivateKey != nil
        service.screenPops.observe { [weak self] event in
            guard case .published(let pop) = event else { return }
            self?.offered.withLock { book in
                if book.agents[pop.callID] == nil {
                    book.order.append(pop.callID)
                    // The oldest quarter goes at once: removing one from the front each time moved
                    // 10,000 ids on every pop, on the call's path (the bus runs observers before the INVITE).
                    if book.order.count > 12_500 {
                        for old in book.order.prefix(2_500) { book.agents.removeValue(forKey: old) }
                        book.order.removeFirst(2_500)
                    }
                }
                book.agents[pop.callID, default: []].insert(pop.agent)
            }
        }
    }

    // MARK: - Static files

    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
            + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
    ]

    /// `/` and `/console` lead to the console; `/console/NAME` is one of its files (nothing else:
    /// names are looked up in what was read at start, never on the disk).
    func file(_ parts: [String], _ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return Problem.response(405, "Method not allowed", "Use GET.", headers: [("Allow", "GET")])
        }
        if parts.isEmpty || (parts == ["console"] && !request.path.hasSuffix("/")) {
            return HTTPResponse(status: 302, headers: [("Location", "/console/")])
        }
        let name = parts.dropFirst().joined(separator: "/")
        let file: ConsoleFiles.File
        if name == "vendor/chart.js" {
            guard let chart = files.chart else {
                return Problem.response(404, "Chart.js not installed",
                                        "The console draws its charts with Debian's libjs-chart.js (\(ConsoleFiles.chartPath)); "
                                            + "install it (scripts/setup.sh does) and restart. The figures are shown as tables meanwhile.")
            }
            file = chart
        } else if let found = files.files[name.isEmpty ? "index.html" : name] {
            file = found
        } else if files.files.isEmpty {
            return Problem.response(404, "Console not installed",
                                    "The console's files were not found beside the binary (\(ConsoleFiles.candidates.joined(separator: ", "))).")
        } else {
            return Problem.response(404, "Not found", "No such console file: \(API.shown(request.path)).")
        }
        var headers = Self.securityHeaders + [("Cache-Control", "no-cache"), ("ETag", file.etag)]
        if request.headers["if-none-match"] == file.etag { return HTTPResponse(status: 304, headers: headers) }
        headers.append(("Content-Type", file.type))
        return HTTPResponse(status: 200, headers: headers, body: request.method == "HEAD" ? Data() : file.data)
    }

    // MARK: - Sessions

    enum Access {
        case token(APIToken)
        case refused(HTTPResponse)
    }

    /// Who a request acts for: its bearer token, or else its session cookie. With a session, a
    /// request that changes something needs the session's CSRF token and a same-origin Origin.
    func authenticate(_ request: HTTPRequest, tokens: TokenBook) -> Access? {
        if let authorization = request.headers["authorization"] {
            return tokens.token(authorization: authorization).map { .token($0) }
        }
        guard let id = SessionBook.id(cookieHeader: request.headers["cookie"]) else { return nil }
        guard let session = sessions.session(id) else {
            return .refused(Problem.response(401, "Session ended", "The session has ended or is not known: log in again.",
                                             headers: [("WWW-Authenticate", "Bearer realm=\"omnigate\"")] + clearCookie()))
        }
        if !["GET", "HEAD", "OPTIONS"].contains(request.method) {
            if let refusal = originRefusal(request) { return .refused(refusal) }
            guard let sent = request.headers["x-csrf-token"], Secrets.same(sent, session.csrf) else {
                return .refused(Problem.response(403, "CSRF token missing",
                                                 "A request with a session cookie that changes something carries the session's X-CSRF-Token header."))
            }
        }
        guard let token = token(of: session, tokens: tokens) else {
            sessions.close(session.id)
            return .refused(Problem.response(401, "Session ended", "The agent or token this session was opened with is no longer configured.",
                                             headers: clearCookie()))
        }
        return .token(token)
    }

    /// The role a session acts with: an agent's login is role agent bound to it; a token's, the token as configured now.
    private func token(of session: SessionBook.Session, tokens: TokenBook) -> APIToken? {
        if let agent = session.agent, session.kind == "agent" {
            guard service.agents.agent(named: agent) != nil else { return nil }
            var token = APIToken(name: "session:" + agent, location: ConfigLocation(file: "session", line: 0))
            token.role = .agent
            token.agent = agent
            return token
        }
        return session.tokenHash.flatMap { tokens.token(sha256: $0) }
    }

    /// A browser's Origin, when it sends one, is this server's own or an allowed origin.
    private func originRefusal(_ request: HTTPRequest) -> HTTPResponse? {
        guard let origin = request.headers["origin"] else { return nil }
        let own = (secure ? "https://" : "http://") + (request.headers["host"] ?? "")
        if origin == own || origins.contains(origin) { return nil }
        return Problem.response(403, "Origin not allowed", "Requests from \(API.shown(origin)) may not use this session.")
    }

    private func cookie(_ value: String, maxAge: Int) -> [(String, String)] {
        [("Set-Cookie", "\(SessionBook.cookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : ""))]
    }

    private func clearCookie() -> [(String, String)] { cookie("", maxAge: 0) }

    /// `POST /api/v1/session` logs in, `GET` says who is logged in (and the CSRF token), `DELETE` logs out.
    func session(_ request: HTTPRequest, tokens: TokenBook) -> HTTPResponse {
        switch request.method {
        case "POST": return logIn(request, tokens: tokens)
        case "GET", "DELETE":
            guard let id = SessionBook.id(cookieHeader: request.headers["cookie"]), let session = sessions.session(id) else {
                return Problem.response(401, "Not logged in", "No session: log in with POST /api/v1/session.", headers: clearCookie())
            }
            if request.method == "GET" {
                guard let token = token(of: session, tokens: tokens) else {
                    sessions.close(id)
                    return Problem.response(401, "Session ended", "The agent or token this session was opened with is no longer configured.",
                                            headers: clearCookie())
                }
                return describe(session, token, status: 200)
            }
            if let refusal = originRefusal(request) { return refusal }
            guard let sent = request.headers["x-csrf-token"], Secrets.same(sent, session.csrf) else {
                return Problem.response(403, "CSRF token missing", "Logging out carries the session's X-CSRF-Token header.")
            }
            sessions.close(id)
            return HTTPResponse(status: 204, headers: clearCookie() + [("Cache-Control", "no-store")])
        default:
            return Problem.response(405, "Method not allowed", "Use GET, POST or DELETE.", headers: [("Allow", "GET, POST, DELETE")])
        }
    }

    private func logIn(_ request: HTTPRequest, tokens: TokenBook) -> HTTPResponse {
        if let refusal = originRefusal(request) { return refusal }
        let source = request.client
        if let wait = throttle.wait(for: source) {
            return Problem.response(429, "Too many failed logins", "Too many failed logins from this address: try again in \(wait) s.",
                                    headers: [("Retry-After", String(wait))])
        }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Problem.response(400, "Bad request", "The body is {\"agent\": \"alice\", \"password\": \"…\"} (an agent's SIP login) "
                                        + "or {\"token\": \"…\"} (an API token, for supervisors and admins)")
        }
        let session: SessionBook.Session
        if let name = body["agent"] as? String, let password = body["password"] as? String, name.count <= 64, password.count <= 256 {
            guard let agent = service.agents.agent(named: name),
                  SessionBook.agentPassword(password, matches: agent, realm: service.configuration.sip.realm) else {
                throttle.failed(source)
                return Problem.response(401, "Login failed", "Wrong agent name or password (the agent's SIP password).")
            }
            session = sessions.open(kind: "agent", agent: agent.name, tokenHash: nil)
        } else if let secret = body["token"] as? String, secret.count <= 256 {
            guard let token = tokens.token(authorization: "Bearer " + secret) else {
                throttle.failed(source)
                return Problem.response(401, "Login failed", "The token is not known.")
            }
            session = sessions.open(kind: "token", agent: nil, tokenHash: token.sha256)
        } else {
            return Problem.response(400, "Bad request", "The body is {\"agent\": \"alice\", \"password\": \"…\"} or {\"token\": \"…\"}")
        }
        throttle.succeeded(source)
        guard let token = token(of: session, tokens: tokens) else { return Problem.response(401, "Login failed", "The login is not configured.") }
        return describe(session, token, status: 201, headers: cookie(session.id, maxAge: Int(SessionBook.lifetime)))
    }

    private func describe(_ session: SessionBook.Session, _ token: APIToken, status: Int, headers: [(String, String)] = []) -> HTTPResponse {
        var document: [String: Any] = ["role": token.role.rawValue, "csrf_token": session.csrf,
                                       "expires_at": Timestamp.string(session.created.addingTimeInterval(SessionBook.lifetime)),
                                       "idle_seconds": Int(SessionBook.idle), "name": token.agent ?? token.name]
        if let agent = token.agent {
            document["agent"] = agent
            document["display_name"] = service.agents.agent(named: agent)?.displayName ?? agent
        }
        var response = JSONResponse.make(document, status: status)
        response.headers += headers + [("Cache-Control", "no-store")]
        return response
    }

    /// JSON in the store's snake_case names, for the console's own reports too (their
    /// Swift names are camelCase; events and pops have their coding keys already).
    static var snake: JSONEncoder {
        let encoder = Timestamp.encoder
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    // MARK: - Wrap-up

    /// `{"disposition": "resolved", "note": "…", "follow_up": "2026-12-03", "end_wrap_up": true}`: the agent's wrap-up
    /// of a call, a note on the caller's timeline joined to the call by its uniqueid; ending wrap-up makes the agent available.
    func wrapUp(_ uniqueid: String, _ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard [.admin, .supervisor, .agent].contains(token.role) else {
            return Problem.response(403, "Forbidden", "A token with role \(token.role.rawValue) may not wrap up calls.")
        }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let disposition = body["disposition"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"disposition\": \"resolved\", \"note\": \"…\", \"follow_up\": \"2026-12-03\"}")
        }
        let note = body["note"] as? String ?? ""
        guard (1...64).contains(disposition.count), !disposition.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            return Problem.response(400, "Bad request", "'disposition' is 1 to 64 characters of text")
        }
        guard note.count <= 4000 else { return Problem.response(400, "Bad request", "'note' is at most 4,000 characters") }
        var followUp: Date?
        if let text = body["follow_up"] as? String, !text.isEmpty {
            guard let date = Timestamp.parse(text) else {
                return Problem.response(400, "Bad request", "'follow_up' is a date (2026-12-03) or an ISO 8601 time")
            }
            followUp = date
        }
        let agent: String
        if token.role == .agent, let name = token.agent {
            agent = name
        } else if let name = body["agent"] as? String, service.agents.agent(named: name) != nil {
            agent = name
        } else {
            agent = token.name
        }
        do {
            let store = try stores.store()
            guard let record = try store.callRecord(uniqueid: uniqueid) else {
                return Problem.response(404, "Not found", "No call '\(API.shown(uniqueid))'.")
            }
            if token.role == .agent {
                let offered = offered.withLock { $0.agents[uniqueid]?.contains(agent) ?? false }
                guard record.agent == agent || offered else {
                    return Problem.response(404, "Not found", "No call '\(API.shown(uniqueid))' of agent \(agent).")
                }
            }
            let event = try store.recordWrapUp(uniqueid: uniqueid, agent: agent, disposition: disposition, note: note, followUp: followUp)
            var ended = false
            if body["end_wrap_up"] as? Bool ?? true, service.agents.status(of: agent)?.state == .wrapUp {
                ended = service.agents.unpause(agent) == .unpaused
            }
            var document = try JSONSerialization.jsonObject(with: try Self.snake.encode(event)) as? [String: Any] ?? [:]
            document["wrap_up_ended"] = ended
            return JSONResponse.make(document, status: 201)
        } catch let error as StoreError where error.kind == .conflict {
            return Problem.response(409, "Conflict", error.message)
        } catch let error as StoreError where error.kind == .invalidValue {
            return Problem.response(400, "Bad request", error.message)
        } catch {
            return Problem.response(503, "Store unavailable", "The store did not answer: \(error)", headers: [("Retry-After", "1")])
        }
    }

    /// The wrap-up notes joined to a call.
    func wrapUps(_ uniqueid: String, _ token: APIToken) -> HTTPResponse {
        guard [.admin, .supervisor, .helpdesk, .agent].contains(token.role) else {
            return Problem.response(403, "Forbidden", "A token with role \(token.role.rawValue) may not read wrap-ups.")
        }
        do {
            let store = try stores.store()
            guard let record = try store.callRecord(uniqueid: uniqueid) else {
                return Problem.response(404, "Not found", "No call '\(API.shown(uniqueid))'.")
            }
            if token.role == .agent {
                let offered = offered.withLock { $0.agents[uniqueid]?.contains(token.agent ?? "") ?? false }
                guard record.agent == token.agent || offered else { return Problem.response(404, "Not found", "No call '\(API.shown(uniqueid))'.") }
            }
            let notes = try store.notes(ofCall: uniqueid).map { String(decoding: try Self.snake.encode($0), as: UTF8.self) }
            return JSONResponse.raw("{\"uniqueid\":\(String(decoding: try Self.snake.encode(uniqueid), as: UTF8.self)),\"wrap_ups\":[\(notes.joined(separator: ","))]}")
        } catch {
            return Problem.response(503, "Store unavailable", "The store did not answer: \(error)", headers: [("Retry-After", "1")])
        }
    }

    // MARK: - Recordings

    /// A timeline event's recording (a voicemail), as `audio/wav`.
    func recording(_ id: String, _ token: APIToken) -> HTTPResponse {
        guard [.admin, .supervisor, .helpdesk, .agent].contains(token.role) else {
            return Problem.response(403, "Forbidden", "A token with role \(token.role.rawValue) may not play recordings.")
        }
        guard let number = Int64(id) else { return Problem.response(400, "Bad request", "An event id is a number.") }
        do {
            guard let event = try stores.store().event(id: number), let path = event.mediaPath else {
                return Problem.response(404, "Not found", "Event \(number) has no recording.")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                return Problem.response(404, "Not found", "The recording of event \(number) is no longer on the disk.")
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "audio/wav"), ("Cache-Control", "private, max-age=3600"),
                                                       ("X-Content-Type-Options", "nosniff")], body: data)
        } catch {
            return Problem.response(503, "Store unavailable", "The store did not answer: \(error)", headers: [("Retry-After", "1")])
        }
    }

    // MARK: - Journeys

    /// Journey figures: `from`, `to` (dates; default the last 30 days), `window_days` (1–90, default 7),
    /// `service_level` (seconds, default 20); JSON, or CSV with `Accept: text/csv` or `format=csv`.
    func journeys(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard [.admin, .supervisor].contains(token.role) else {
            return Problem.response(403, "Forbidden", "A token with role \(token.role.rawValue) may not read journey figures.")
        }
        let query = request.query
        let now = Date()
        let to: Date, from: Date
        do {
            to = try query["to"].map { try API.time($0, "to") } ?? now
            from = try query["from"].map { try API.time($0, "from") } ?? to.addingTimeInterval(-30 * 86400)
        } catch let error as BadRequest {
            return Problem.response(400, "Bad request", error.message)
        } catch {
            return Problem.response(400, "Bad request", "\(error)")
        }
        guard from < to, to.timeIntervalSince(from) <= 366 * 86400 else {
            return Problem.response(400, "Bad request", "'from' is before 'to', at most a year apart")
        }
        guard let days = Int(query["window_days"] ?? "7"), (1...90).contains(days) else {
            return Problem.response(400, "Bad request", "'window_days' is a number of days from 1 to 90")
        }
        guard let level = Int(query["service_level"] ?? "20"), (1...3600).contains(level) else {
            return Problem.response(400, "Bad request", "'service_level' is a number of seconds from 1 to 3600")
        }
        do {
            let report = try stores.store().journeyReport(from: from, to: to, window: .seconds(days * 86400), serviceLevel: .seconds(level))
            if query["format"] == "csv" || (request.headers["accept"] ?? "").contains("text/csv") {
                return HTTPResponse(status: 200, headers: [("Content-Type", "text/csv; charset=utf-8"),
                                                           ("Content-Disposition", "attachment; filename=\"journeys.csv\"")],
                                    body: Data(report.csv.utf8))
            }
            return JSONResponse.raw(String(decoding: try Self.snake.encode(report), as: UTF8.self))
        } catch {
            return Problem.response(503, "Store unavailable", "The store did not answer: \(error)", headers: [("Retry-After", "1")])
        }
    }
}

/// The console's files, read once: a name not in here is not served.
struct ConsoleFiles: Sendable {
    struct File: Sendable {
        let data: Data
        let type: String
        let etag: String
    }

    static let chartPath = "/usr/share/javascript/chart.js/chart.min.js"
    var files: [String: File] = [:]
    var chart: File?

    /// Where the files may be: SwiftPM's resource bundle beside the binary (`swift build`, `swift run`, the tests),
    /// or `share/omnigate/console` beside its `bin` (scripts/install).
    static var candidates: [String] {
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = (binary as NSString).deletingLastPathComponent
        return [directory + "/Omnigate_HTTPAPI.resources/Console", directory + "/../share/omnigate/console"]
    }

    static func load() -> ConsoleFiles {
        var loaded = ConsoleFiles()
        let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
                     "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json"]
        for directory in candidates {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names {
                let ext = (name as NSString).pathExtension
                guard let type = types[ext], let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
                loaded.files[name] = File(data: data, type: type, etag: etag(data))
            }
            if !loaded.files.isEmpty { break }
        }
        if let data = FileManager.default.contents(atPath: chartPath) {
            loaded.chart = File(data: data, type: "text/javascript; charset=utf-8", etag: etag(data))
        }
        return loaded
    }

    static func etag(_ data: Data) -> String {
        "\"" + TokenBook.sha256(String(decoding: data, as: UTF8.self)).prefix(20) + "\""
    }
}
