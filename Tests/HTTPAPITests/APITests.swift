import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OmnigateTestSupport
import Testing

/// The HTTP API against the real `omnigate run` process, over real HTTP.
@Suite("the HTTP API")
struct APITests {
    /// Tokens for the tests: the secret is the token, the sections hold their SHA-256 only.
    static let tokens: [(name: String, role: String, agent: String?)] = [
        ("admin", "admin", nil), ("desk", "helpdesk", nil), ("chat", "integration", nil),
        ("lead", "supervisor", nil), ("alice", "agent", "alice"), ("bob", "agent", "bob"),
    ]
    static func secret(_ name: String) -> String { "test-token-\(name)-0123456789abcdef" }

    static var tokenSections: String {
        tokens.map { token in
            "[token \(token.name)]\nrole = \(token.role)\nsha256 = \(sha256(secret(token.name)))\n" + (token.agent.map { "agent = \($0)\n" } ?? "")
        }.joined()
    }

    /// SHA-256 hex by the system's sha256sum (a second opinion on the gateway's).
    static func sha256(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64).description
    }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func call(_ gateway: GatewayProcess, _ method: String, _ path: String, token: String? = nil, body: Data? = nil,
                     headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        if let token { request.setValue("Bearer \(secret(token))", forHTTPHeaderField: "Authorization") }
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    static func json(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    static func start(_ extra: String = "", store: String? = nil) async throws -> GatewayProcess {
        var config = GatewayProcess.loopbackTrunk() + "[agent alice]\ncontact = sip:alice@127.0.0.1:9\nqueues = support\n"
            + "[agent bob]\ncontact = sip:bob@127.0.0.1:9\nqueues = support\n" + tokenSections + extra
        if let store { config += "[store]\npath = \(store)\n" }
        return try await GatewayProcess.start(config: config)
    }

    @Test("health answers without a token; everything else wants one (401), and a role that may not gets 403, as problem details")
    func authentication() async throws {
        let gateway = try await Self.start()
        let health = try await Self.call(gateway, "GET", "/health")
        #expect(health.status == 200 && health.json["status"] as? String == "ok")
        let anonymous = try await Self.call(gateway, "GET", "/api/v1/calls")
        #expect(anonymous.status == 401 && anonymous.headers["content-type"] == "application/problem+json")
        #expect(anonymous.json["title"] as? String == "Unauthorized" && anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)/api/v1/calls")!)
        request.setValue("Bearer not-a-token", forHTTPHeaderField: "Authorization")
        let (_, wrong) = try await URLSession.shared.data(for: request)
        #expect((wrong as! HTTPURLResponse).statusCode == 401)
        let forbidden = try await Self.call(gateway, "GET", "/api/v1/calls", token: "chat")
        #expect(forbidden.status == 403 && forbidden.json["detail"] as? String == "A token with role integration may not read call records.")
        #expect(try await Self.call(gateway, "POST", "/api/v1/events", token: "desk", body: Self.json(["source": "x"])).status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/nothing", token: "admin").status == 404)
        #expect(try await Self.call(gateway, "DELETE", "/api/v1/calls", token: "admin").status == 405)
        #expect(try await gateway.stop() == 0)
    }

    @Test("call records page by cursor: every record exactly once while calls are being written; CSV by Accept; one by its uniqueid")
    func callRecordPages() async throws {
        let gateway = try await Self.start()
        let (sipp, directory) = try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                               arguments: ["-m", "30", "-r", "15", "-d", "100", "-s", "100"])
        var seen: [String] = []
        var cursor = "0"
        // Pages of 4 while the calls are made and their records written; each page's next_cursor is
        // where to go on from, now or later, until SIPp is done and every record has come.
        var finished = false
        while true {
            let page = try await Self.call(gateway, "GET", "/api/v1/calls?limit=4&cursor=\(cursor)", token: "desk")
            #expect(page.status == 200)
            let records = (page.json["records"] as? [[String: Any]] ?? []).compactMap { $0["uniqueid"] as? String }
            seen += records
            cursor = page.json["next_cursor"] as? String ?? cursor
            if page.json["more"] as? Bool == true { continue }
            // Caught up: done once SIPp is done and no call is left, after one more look.
            if finished && records.isEmpty { break }
            if !sipp.isRunning, try await Self.allEnded(gateway) { finished = true; continue }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await SIPp.finish(sipp, directory: directory).successful == 30)
        #expect(seen.count == 30, "\(seen.count) records read")
        #expect(Set(seen).count == seen.count, "a record was read twice")

        let one = try await Self.call(gateway, "GET", "/api/v1/calls/\(seen[0])", token: "desk")
        #expect(one.status == 200 && one.json["uniqueid"] as? String == seen[0] && one.json["disposition"] as? String == "ANSWERED")
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls/nope", token: "desk").status == 404)
        let csv = try await Self.call(gateway, "GET", "/api/v1/calls?limit=2", token: "desk", headers: ["Accept": "text/csv"])
        #expect(csv.headers["content-type"]?.hasPrefix("text/csv") == true && csv.text.hasPrefix("uniqueid,direction,clid"))
        #expect(csv.headers["x-next-cursor"] != nil)
        let filtered = try await Self.call(gateway, "GET", "/api/v1/calls?direction=out", token: "desk")
        #expect((filtered.json["records"] as? [Any])?.isEmpty == true)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls?since=yesterday", token: "desk").status == 400)
        // An agent reads its own calls only.
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls?agent=bob", token: "alice").status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls/\(seen[0])", token: "alice").status == 404)
        #expect(try await gateway.stop() == 0)
    }

    /// Whether the gateway has no call left (every record written).
    static func allEnded(_ gateway: GatewayProcess) async throws -> Bool {
        (try await call(gateway, "GET", "/health")).json["live_calls"] as? Int == 0
    }
}
