import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OmnigateTestSupport
import Testing

/// The console's files and sessions against the real `omnigate run`, over real HTTP.
@Suite("the console's files and sessions")
struct SessionTests {
    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var detail: String { json["detail"] as? String ?? "" }
        /// The session id a Set-Cookie gave.
        var session: String? {
            guard let cookie = headers["set-cookie"], cookie.hasPrefix("omnigate_session=") else { return nil }
            return String(cookie.dropFirst("omnigate_session=".count).prefix { $0 != ";" })
        }
    }

    /// Requests without a cookie jar: every cookie a test sends, it sends itself.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        return URLSession(configuration: configuration)
    }()

    static func call(_ gateway: GatewayProcess, _ method: String, _ path: String, body: Any? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)\(path)")!)
        request.httpMethod = method
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    /// The status of a path sent exactly as written (curl --path-as-is: no dot segments resolved on the way).
    static func rawStatus(_ gateway: GatewayProcess, _ path: String) async throws -> String {
        let curl = try TestProcess("/usr/bin/curl", ["-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}",
                                                     "http://127.0.0.1:\(gateway.apiPort)\(path)"])
        _ = try await curl.waitForExit(timeout: .seconds(20))
        return curl.stdout
    }

    static let supervisorToken = "test-token-lead-0123456789abcdef"
    static let helpdeskToken = "test-token-desk-0123456789abcdef"
    static let integrationToken = "test-token-chat-0123456789abcdef"

    static func sha256(_ text: String, tool: String = "/usr/bin/sha256sum", length: Int = 64) -> String {
        guard let process = try? TestProcess("/bin/sh", ["-c", "printf %s \"$0\" | \(tool)", text]) else { return "" }
        process.waitForExitBlocking(timeout: .seconds(10))
        return String(process.stdout.prefix(length))
    }

    /// alice logs in with her password, bob with the HA1 the registrar keeps (MD5 by md5sum: a second opinion).
    static func start() async throws -> GatewayProcess {
        let ha1 = sha256("bob:omnigate:bob-secret", tool: "/usr/bin/md5sum", length: 32)
        let config = GatewayProcess.loopbackTrunk()
            + "[agent alice]\npassword = alice-secret\nqualify_frequency = 0\nqueues = support\n"
            + "[agent bob]\npassword_hash = \(ha1)\nqualify_frequency = 0\nqueues = support\n"
            + "[agent carol]\ncontact = sip:carol@127.0.0.1:9\n"
            + "[queue support]\n"
            + "[token lead]\nrole = supervisor\nsha256 = \(sha256(supervisorToken))\n"
            + "[token desk]\nrole = helpdesk\nsha256 = \(sha256(helpdeskToken))\n"
            + "[token chat]\nrole = integration\nsha256 = \(sha256(integrationToken))\n"
        return try await GatewayProcess.start(config: config)
    }

    @Test("the console's files: HTML, CSS and JavaScript with their types, a strict CSP, revalidation by ETag, and nothing outside them")
    func files() async throws {
        let gateway = try await Self.start()
        let root = try await Self.call(gateway, "GET", "/console/")
        #expect(root.status == 200 && root.headers["content-type"] == "text/html; charset=utf-8")
        let csp = try #require(root.headers["content-security-policy"])
        #expect(csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "\(csp)")
        #expect(!csp.contains("unsafe-inline") && !csp.contains("http:") && !csp.contains("https:"), "self only: \(csp)")
        #expect(root.headers["x-content-type-options"] == "nosniff" && root.headers["cache-control"] == "no-cache")
        #expect(root.text.contains("<form id=\"agent-login\""))
        let script = try await Self.call(gateway, "GET", "/console/agent.js")
        #expect(script.status == 200 && script.headers["content-type"] == "text/javascript; charset=utf-8")
        #expect(try await Self.call(gateway, "GET", "/console/console.css").headers["content-type"] == "text/css; charset=utf-8")
        let etag = try #require(script.headers["etag"])
        #expect(try await Self.call(gateway, "GET", "/console/agent.js", headers: ["If-None-Match": etag]).status == 304)
        // Chart.js from Debian's package, served from here (never from another host).
        let chart = try await Self.call(gateway, "GET", "/console/vendor/chart.js")
        if FileManager.default.fileExists(atPath: "/usr/share/javascript/chart.js/chart.min.js") {
            #expect(chart.status == 200 && chart.text.contains("Chart"), "\(chart.status)")
        } else {
            #expect(chart.status == 404 && chart.json["title"] as? String == "Chart.js not installed")
        }
        // Redirects to the console; nothing else is served, however the path is spelled.
        #expect(try await Self.rawStatus(gateway, "/") == "302")
        #expect(try await Self.rawStatus(gateway, "/console") == "302")
        for path in ["/console/../omnigate.conf", "/console/%2e%2e/omnigate.conf", "/console/..%2fomnigate.conf", "/console/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                     "/console/Console/index.html", "/console/vendor/../../omnigate.conf", "/console//etc/passwd", "/console/.", "/console/nope.html"] {
            #expect(try await Self.rawStatus(gateway, path) == "404", "\(path)")
        }
        let missing = try await Self.call(gateway, "GET", "/console/nope.html")
        #expect(missing.detail == "No such console file: /console/nope.html.")
        #expect(try await Self.call(gateway, "POST", "/console/index.html").status == 405)
        #expect(try await gateway.stop() == 0)
    }

    @Test("logging in: an agent by its SIP password or HA1, a supervisor by its token; each wrong login a 401, then 429 for that address")
    func logIn() async throws {
        let gateway = try await Self.start()
        let alice = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "alice", "password": "alice-secret"])
        #expect(alice.status == 201 && alice.json["role"] as? String == "agent" && alice.json["agent"] as? String == "alice", "\(alice.text)")
        let cookie = try #require(alice.headers["set-cookie"])
        #expect(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict") && cookie.contains("; Path=/"), "\(cookie)")
        #expect(!cookie.contains("Secure"), "plain HTTP here; Secure under HTTPS")
        #expect(alice.session?.count == 43 && (alice.json["csrf_token"] as? String)?.count == 43)
        #expect(alice.headers["cache-control"] == "no-store")
        let bob = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "bob", "password": "bob-secret"])
        #expect(bob.status == 201 && bob.json["agent"] as? String == "bob", "the HA1 checks out: \(bob.text)")
        #expect(bob.session != alice.session)
        let lead = try await Self.call(gateway, "POST", "/api/v1/session", body: ["token": Self.supervisorToken])
        #expect(lead.status == 201 && lead.json["role"] as? String == "supervisor" && lead.json["name"] as? String == "lead", "\(lead.text)")

        // A cross-site page cannot log anyone in.
        let foreign = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "alice", "password": "alice-secret"],
                                          headers: ["Origin": "https://evil.example"])
        #expect(foreign.status == 403 && foreign.detail == "Requests from https://evil.example may not use this session.")
        #expect(try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": 7]).status == 400)
        #expect(try await Self.call(gateway, "GET", "/api/v1/session").status == 401)

        // Wrong logins: the same answer whether the agent exists or not; an agent without a password cannot log in.
        let wrong = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "alice", "password": "guess"])
        #expect(wrong.status == 401 && wrong.detail == "Wrong agent name or password (the agent's SIP password).")
        #expect(try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "mallory", "password": "guess"]).detail == wrong.detail)
        #expect(try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "carol", "password": ""]).detail == wrong.detail)
        #expect(try await Self.call(gateway, "POST", "/api/v1/session", body: ["token": "not-a-token"]).detail == "The token is not known.")
        #expect(try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "bob", "password": "alice-secret"]).status == 401)
        // The sixth try within a minute from this address is refused before the password is looked at.
        let throttled = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "alice", "password": "alice-secret"])
        #expect(throttled.status == 429 && throttled.headers["retry-after"].flatMap(Int.init).map { (1...60).contains($0) } == true, "\(throttled.text)")
        #expect(throttled.detail.hasPrefix("Too many failed logins from this address: try again in "))
        #expect(try await gateway.stop() == 0)
    }

    @Test("a session acts with its role: an agent only as itself; changes need the CSRF token and this origin; logout ends it")
    func sessionUse() async throws {
        let gateway = try await Self.start()
        let login = try await Self.call(gateway, "POST", "/api/v1/session", body: ["agent": "alice", "password": "alice-secret"])
        let session = try #require(login.session)
        let csrf = try #require(login.json["csrf_token"] as? String)
        let cookie = ["Cookie": "omnigate_session=\(session)"]
        let me = try await Self.call(gateway, "GET", "/api/v1/session", headers: cookie)
        #expect(me.status == 200 && me.json["csrf_token"] as? String == csrf && me.json["agent"] as? String == "alice")
        #expect(try await Self.call(gateway, "GET", "/api/v1/agents/alice", headers: cookie).status == 200)
        let other = try await Self.call(gateway, "GET", "/api/v1/agents/bob", headers: cookie)
        #expect(other.status == 403 && other.detail == "A token with role agent may not read another agent.")
        #expect(try await Self.call(gateway, "GET", "/api/v1/journeys", headers: cookie).status == 403)

        // A change without the CSRF token, with a wrong one, or from another origin: refused, and nothing changed.
        let body: [String: Any] = ["state": "paused", "reason": "lunch"]
        let bare = try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", body: body, headers: cookie)
        #expect(bare.status == 403 && bare.detail == "A request with a session cookie that changes something carries the session's X-CSRF-Token header.")
        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", body: body,
                                    headers: cookie.merging(["X-CSRF-Token": String(csrf.reversed())]) { $1 }).status == 403)
        let crossSite = try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", body: body,
                                            headers: cookie.merging(["X-CSRF-Token": csrf, "Origin": "http://evil.example"]) { $1 })
        #expect(crossSite.status == 403 && crossSite.title == "Origin not allowed")
        #expect(try await Self.call(gateway, "GET", "/api/v1/agents/alice", headers: cookie).json["state"] as? String == "available")
        let origin = "http://127.0.0.1:\(gateway.apiPort)"
        let paused = try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", body: body,
                                         headers: cookie.merging(["X-CSRF-Token": csrf, "Origin": origin]) { $1 })
        #expect(paused.status == 200 && paused.json["state"] as? String == "paused" && paused.json["reason"] as? String == "lunch", "\(paused.text)")
        let asBob = try await Self.call(gateway, "PUT", "/api/v1/agents/bob/state", body: body, headers: cookie.merging(["X-CSRF-Token": csrf]) { $1 })
        #expect(asBob.status == 403)

        // A supervisor's session reads journeys; a forged or ended session is a 401.
        let lead = try await Self.call(gateway, "POST", "/api/v1/session", body: ["token": Self.supervisorToken])
        let leadCookie = ["Cookie": "omnigate_session=\(try #require(lead.session))"]
        let journeys = try await Self.call(gateway, "GET", "/api/v1/journeys?from=2026-11-01&to=2026-12-01", headers: leadCookie)
        #expect(journeys.status == 200 && journeys.json["journeys"] as? Int == 0, "\(journeys.text)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/journeys?from=2026-12-01&to=2026-11-01", headers: leadCookie).status == 400)
        #expect(try await Self.call(gateway, "GET", "/api/v1/journeys?window_days=0", headers: leadCookie).status == 400)
        let csv = try await Self.call(gateway, "GET", "/api/v1/journeys?format=csv", headers: leadCookie)
        #expect(csv.status == 200 && csv.headers["content-type"] == "text/csv; charset=utf-8" && csv.text.hasPrefix("figure,day,queue,channel,count,of,value"))
        let forged = try await Self.call(gateway, "GET", "/api/v1/agents", headers: ["Cookie": "omnigate_session=" + String(repeating: "A", count: 43)])
        #expect(forged.status == 401 && forged.detail == "The session has ended or is not known: log in again.")
        // A wrap-up of a call that is not there, or by a role that may not.
        let wrapHeaders = cookie.merging(["X-CSRF-Token": csrf]) { $1 }
        #expect(try await Self.call(gateway, "POST", "/api/v1/calls/no-such-call/wrapup", body: ["disposition": "resolved"], headers: wrapHeaders).status == 404)
        #expect(try await Self.call(gateway, "POST", "/api/v1/calls/no-such-call/wrapup", body: ["note": "no disposition"], headers: wrapHeaders).status == 400)
        #expect(try await Self.call(gateway, "POST", "/api/v1/calls/x/wrapup", body: ["disposition": "resolved"],
                                    headers: ["Authorization": "Bearer \(Self.helpdeskToken)"]).status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/events/abc/recording", headers: cookie).status == 400)
        #expect(try await Self.call(gateway, "GET", "/api/v1/events/99/recording", headers: cookie).status == 404)
        let integration = try await Self.call(gateway, "GET", "/api/v1/events/99/recording", headers: ["Authorization": "Bearer \(Self.integrationToken)"])
        #expect(integration.status == 403 && integration.detail == "A token with role integration may not play recordings.")

        // Logout: needs the CSRF token too; then the cookie is worth nothing.
        #expect(try await Self.call(gateway, "DELETE", "/api/v1/session", headers: cookie).status == 403)
        let out = try await Self.call(gateway, "DELETE", "/api/v1/session", headers: cookie.merging(["X-CSRF-Token": csrf]) { $1 })
        #expect(out.status == 204 && out.headers["set-cookie"]?.contains("Max-Age=0") == true)
        let after = try await Self.call(gateway, "GET", "/api/v1/agents/alice", headers: cookie)
        #expect(after.status == 401 && after.detail == "The session has ended or is not known: log in again.")
        #expect(try await Self.call(gateway, "GET", "/api/v1/session", headers: cookie).status == 401)
        #expect(try await gateway.stop() == 0)
    }
}

extension SessionTests {
    @Test("under HTTPS the session cookie is Secure, and this origin is the https one", .enabled(if: TestCertificates.available))
    func secureCookie() async throws {
        let directory = try TestPaths.temporaryDirectory("console-tls")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificates = try await TestCertificates.make(in: directory)
        let config = GatewayProcess.loopbackTrunk() + "[agent alice]\npassword = alice-secret\nqualify_frequency = 0\n"
            + "[http]\nlisten = 127.0.0.1:0\ntls_certificate = \(certificates.certificate)\ntls_private_key = \(certificates.privateKey)\n"
        let gateway = try await GatewayProcess.start(config: config)
        let ready = try #require(gateway.process.stderr.split(separator: "\n").first { $0.contains("omnigate: ready") })
        let range = try #require(ready.range(of: "https 127.0.0.1:"))
        let port = try #require(Int(ready[range.upperBound...].prefix { $0.isNumber }))
        func curl(_ arguments: [String]) async throws -> String {
            let process = try TestProcess("/usr/bin/curl", ["-s", "-i", "--cacert", certificates.ca] + arguments)
            _ = try await process.waitForExit(timeout: .seconds(20))
            return process.stdout
        }
        let login = try await curl(["-H", "Content-Type: application/json", "-d", "{\"agent\": \"alice\", \"password\": \"alice-secret\"}",
                                    "https://127.0.0.1:\(port)/api/v1/session"])
        let cookie = try #require(login.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }, "\(login)")
        #expect(cookie.hasSuffix("; HttpOnly; SameSite=Strict; Secure"), "\(cookie)")
        let session = String(cookie.split(separator: "=", maxSplits: 1)[1].prefix { $0 != ";" })
        let body = login.components(separatedBy: "\r\n\r\n").last ?? ""
        let csrf = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["csrf_token"] as? String)
        let change = ["-X", "PUT", "-H", "Cookie: omnigate_session=\(session)", "-H", "X-CSRF-Token: \(csrf)", "-d", "{\"state\": \"paused\"}"]
        let same = try await curl(change + ["-H", "Origin: https://127.0.0.1:\(port)", "https://127.0.0.1:\(port)/api/v1/agents/alice/state"])
        #expect(same.hasPrefix("HTTP/1.1 200"), "\(same)")
        let plain = try await curl(change + ["-H", "Origin: http://127.0.0.1:\(port)", "https://127.0.0.1:\(port)/api/v1/agents/alice/state"])
        #expect(plain.hasPrefix("HTTP/1.1 403"), "the http origin is another origin: \(plain)")
        #expect(try await gateway.stop() == 0)
    }
}

extension SessionTests.Reply {
    var title: String { json["title"] as? String ?? "" }
}
