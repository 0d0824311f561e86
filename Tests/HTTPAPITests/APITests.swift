import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OmnigateTestSupport
import Testing
import Timeline

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
        guard let process = try? TestProcess("/bin/sh", ["-c", "printf %s \"$0\" | /usr/bin/sha256sum", text]) else { return "" }
        process.waitForExitBlocking(timeout: .seconds(10))
        return String(process.stdout.prefix(64))
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

        // The OpenAPI document it serves passes a standard validator (openapi-spec-validator, from scripts/setup.sh).
        let document = try await Self.call(gateway, "GET", "/api/v1/openapi.json", token: "chat")
        #expect(document.status == 200 && document.json["openapi"] as? String == "3.1.0")
        let directory = try TestPaths.temporaryDirectory("openapi")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try document.body.write(to: URL(fileURLWithPath: directory + "/openapi.json"))
        let venv = (ProcessInfo.processInfo.environment["OMNIGATE_CACHE"] ?? "/var/cache/omnigate") + "/venv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: venv), "no \(venv): run scripts/setup.sh")
        let validator = try TestProcess(venv, ["-c", "import json, sys; from openapi_spec_validator import validate; "
                                                   + "validate(json.load(open(sys.argv[1]))); print('valid')", directory + "/openapi.json"])
        #expect(try await validator.waitForExit() == 0, "\(validator.stderr)")
        #expect(validator.stdout.contains("valid"))

        // A token taken out of the configuration stops working at the next SIGHUP.
        let path = gateway.directory + "/omnigate.conf"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let withoutDesk = text.replacingOccurrences(of: "[token desk]\nrole = helpdesk\nsha256 = \(Self.sha256(Self.secret("desk")))\n", with: "")
        #expect(withoutDesk != text)
        try withoutDesk.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls", token: "desk").status == 200)
        gateway.process.signal(SIGHUP)
        try await gateway.process.waitForLine(containing: "agents and queues reloaded")
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls", token: "desk").status == 401)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls", token: "admin").status == 200)
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
        let filtered = try await Self.call(gateway, "GET", "/api/v1/calls?direction=outbound", token: "desk")
        #expect((filtered.json["records"] as? [Any])?.isEmpty == true)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls?since=yesterday", token: "desk").status == 400)
        // The documented Python client reads the same records, each once.
        let client = try TestProcess("/usr/bin/python3", [TestPaths.packageRoot + "/docs/examples/omnigate_client.py", "calls"],
                                     environment: ["OMNIGATE_URL": "http://127.0.0.1:\(gateway.apiPort)", "OMNIGATE_TOKEN": Self.secret("desk"),
                                                   "PATH": "/usr/bin:/bin"])
        #expect(try await client.waitForExit() == 0, "\(client.stderr)")
        let printed = client.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(Set(printed.compactMap { $0["uniqueid"] as? String }) == Set(seen) && printed.count == 30)
        // An agent reads its own calls only.
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls?agent=bob", token: "alice").status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls/\(seen[0])", token: "alice").status == 404)
        #expect(try await gateway.stop() == 0)
    }

    @Test("events come in one by one or in batches, all or nothing, idempotent by source and external_ref, and show in the lookup")
    func eventIngest() async throws {
        let directory = try TestPaths.temporaryDirectory("api-events")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,tier,phone,email\nc-ada,Ada Lovelace,gold,+12025550142,ada@example.com\n")
        let gateway = try await Self.start(store: store)
        let good: [[String: Any]] = [
            ["source": "chat", "channel": "chat", "address": "(202) 555-0142", "external_ref": "conv-1", "subject": "Order 4711"],
            ["source": "mail", "channel": "email", "address": "ADA@example.com", "external_ref": "m-1", "subject": "Invoice"],
        ]
        // One bad item: nothing is written, and the answer names it.
        let bad = try await Self.call(gateway, "POST", "/api/v1/events", token: "chat",
                                      body: Self.json(["events": [good[0], ["source": "chat", "chanel": "chat"]]]))
        #expect(bad.status == 422 && bad.headers["content-type"] == "application/problem+json")
        #expect((bad.json["detail"] as? String)?.hasPrefix("Item 2: unknown key 'chanel'") == true, "\(bad.text)")
        #expect(((bad.json["errors"] as? [[String: Any]])?.first?["item"] as? Int) == 2)
        // Every bad item is reported, each by its number in the batch.
        let worse = try await Self.call(gateway, "POST", "/api/v1/events", token: "chat",
                                        body: Self.json(["events": [["source": "chat", "channel": "fax"], good[0], "not an event",
                                                                    ["source": "chat", "direction": "sideways"]]]))
        let items = (worse.json["errors"] as? [[String: Any]] ?? []).map { "\($0["item"] ?? "?"): \($0["detail"] ?? "?")" }
        #expect(worse.status == 422 && items == ["1: 'channel' must be one of voice, sms, chat, email, social, note",
                                                 "3: not a JSON object", "4: 'direction' must be inbound, outbound or internal"],
                "\(worse.text)")
        let before = try await Self.call(gateway, "GET", "/api/v1/lookup?q=%2B12025550142", token: "chat")
        #expect((before.json["recent"] as? [Any])?.isEmpty == true, "the bad batch wrote nothing: \(before.text)")

        let added = try await Self.call(gateway, "POST", "/api/v1/events", token: "chat", body: Self.json(["events": good]))
        #expect(added.status == 200 && added.json["added"] as? Int == 2 && added.json["already_stored"] as? Int == 0, "\(added.text)")
        let again = try await Self.call(gateway, "POST", "/api/v1/events", token: "chat", body: Self.json(["events": good]))
        #expect(again.json["added"] as? Int == 0 && again.json["already_stored"] as? Int == 2, "a repeat is a no-op: \(again.text)")
        let single = try await Self.call(gateway, "POST", "/api/v1/events", token: "admin",
                                         body: Self.json(["source": "chat", "channel": "chat", "address": "+12025550142", "external_ref": "conv-2"]))
        #expect(single.json["added"] as? Int == 1)
        // Both addresses were written differently; the store resolved them to Ada.
        let pop = try await Self.call(gateway, "GET", "/api/v1/lookup?q=%2B12025550142", token: "desk")
        #expect((pop.json["contact"] as? [String: Any])?["id"] as? String == "c-ada", "\(pop.text)")
        #expect((pop.json["recent"] as? [Any])?.count == 3, "\(pop.text)")

        // Contacts written through the API: created, updated, merged; the timeline pages.
        let made = try await Self.call(gateway, "PUT", "/api/v1/contacts/c-ada2", token: "chat",
                                       body: Self.json(["name": "A. Lovelace", "identities": [["kind": "chat", "value": "ada-handle"]]]))
        #expect(made.status == 201, "\(made.text)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/events", token: "chat",
                                    body: Self.json(["source": "chat", "channel": "chat", "address": "chat:ada-handle", "external_ref": "conv-9"])).status == 200)
        let taken = try await Self.call(gateway, "PUT", "/api/v1/contacts/c-ada2", token: "chat",
                                        body: Self.json(["name": "A. Lovelace", "identities": [["kind": "phone", "value": "+1 202 555 0142"]]]))
        #expect(taken.status == 409 && (taken.json["detail"] as? String)?.contains("c-ada") == true, "\(taken.text)")
        let merged = try await Self.call(gateway, "POST", "/api/v1/contacts/c-ada/merge", token: "chat", body: Self.json(["from": "c-ada2"]))
        #expect(merged.status == 200 && (merged.json["identities"] as? [[String: Any]])?.contains { $0["value"] as? String == "ada-handle" } == true,
                "\(merged.text)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/contacts/c-ada2", token: "desk").status == 404)
        let firstPage = try await Self.call(gateway, "GET", "/api/v1/contacts/c-ada/timeline?limit=3", token: "desk")
        let olderThan = try #require(firstPage.json["next_before"] as? String, "\(firstPage.text)")
        let secondPage = try await Self.call(gateway, "GET", "/api/v1/contacts/c-ada/timeline?limit=3&before=\(olderThan)", token: "desk")
        let ids = ((firstPage.json["events"] as? [[String: Any]] ?? []) + (secondPage.json["events"] as? [[String: Any]] ?? [])).compactMap { $0["id"] as? Int }
        #expect(ids.count == 4 && Set(ids).count == 4, "four events over two pages, none twice: \(ids)")
        #expect((secondPage.json["events"] as? [[String: Any]])?.first?["contact_id"] as? String == "c-ada", "\(secondPage.text)")
        let ada = try await Self.call(gateway, "GET", "/api/v1/contacts/c-ada", token: "desk")
        #expect(ada.status == 200 && ada.json["name"] as? String == "Ada Lovelace", "\(ada.text)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/contacts/nobody/timeline", token: "desk").status == 404)
        #expect(try await Self.call(gateway, "POST", "/api/v1/events", token: "chat", body: Data("{\"source\": ".utf8)).status == 400)
        #expect(try await Self.call(gateway, "POST", "/api/v1/events", token: "chat", body: Data("[1, 2]".utf8)).status == 400)
        let huge = try await Self.call(gateway, "POST", "/api/v1/events", token: "chat", body: Data(repeating: 0x20, count: 2 << 20))
        #expect(huge.status == 413, "\(huge.status)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/lookup", token: "chat").status == 400)
        #expect(try await Self.call(gateway, "GET", "/health").status == 200, "still serving")
        #expect(try await gateway.stop() == 0)
    }

    @Test("agents and queues: a supervisor pauses an agent, an agent changes only itself, and the state is the roster's")
    func agents() async throws {
        let gateway = try await Self.start()
        let list = try await Self.call(gateway, "GET", "/api/v1/agents", token: "lead")
        #expect((list.json["agents"] as? [[String: Any]])?.map { $0["agent"] as? String } == ["alice", "bob"])
        let paused = try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", token: "lead",
                                         body: Self.json(["state": "paused", "reason": "coaching"]))
        #expect(paused.status == 200 && paused.json["state"] as? String == "paused" && paused.json["reason"] as? String == "coaching",
                "\(paused.text)")
        try await gateway.process.waitForLine(containing: "agent changed agent=alice")
        #expect(try await Self.call(gateway, "GET", "/api/v1/agents/alice", token: "alice").json["presence"] as? String == "paused")
        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", token: "bob", body: Self.json(["state": "available"])).status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/agents/alice", token: "bob").status == 403)
        let own = try await Self.call(gateway, "GET", "/api/v1/agents", token: "bob")
        #expect((own.json["agents"] as? [[String: Any]])?.map { $0["agent"] as? String } == ["bob"])
        let ready = try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", token: "alice", body: Self.json(["state": "available"]))
        #expect(ready.json["state"] as? String == "available")
        let out = try await Self.call(gateway, "PUT", "/api/v1/agents/bob/state", token: "admin", body: Self.json(["state": "logged_out"]))
        #expect(out.json["state"] as? String == "logged_out" && out.json["result"] as? String == "REMOVED")
        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/bob/state", token: "admin", body: Self.json(["state": "away"])).status == 400)
        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/nobody/state", token: "admin", body: Self.json(["state": "paused"])).status == 404)
        let queues = try await Self.call(gateway, "GET", "/api/v1/queues", token: "desk")
        let support = (queues.json["queues"] as? [[String: Any]])?.first { $0["name"] as? String == "support" }
        #expect(support?["waiting"] as? Int == 0 && support?["members"] as? [String] == ["alice"], "\(queues.text)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/queues", token: "chat").status == 403)
        #expect(try await gateway.stop() == 0)
    }

    @Test("a console that never says it shows the pop holds the agent's ring at most console_wait; the call goes on")
    func silentConsole() async throws {
        let agentPort = Ports.free()
        let gateway = try await GatewayProcess.start(
            config: GatewayProcess.loopbackTrunk() + "[agent alice]\ncontact = sip:alice@127.0.0.1:\(agentPort)\n"
                + "[agent bob]\ncontact = sip:bob@127.0.0.1:9\n" + Self.tokenSections + "[screenpop]\nconsole_wait = 150ms\n",
            dialplan: "[from-trunk]\nexten => _X.,1,Dial(PJSIP/alice,10)\n")
        let console = try TestProcess("/usr/bin/curl", ["-sN", "-H", "Authorization: Bearer \(Self.secret("alice"))",
                                                        "http://127.0.0.1:\(gateway.apiPort)/api/v1/stream?shown=pops"])
        defer { console.kill() }
        try await console.waitForLine(containing: ": stream of new events")
        let (uas, uasDirectory) = try SIPp.start("builtin:uas", target: nil, port: agentPort, arguments: ["-m", "1"])
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(uas, directory: uasDirectory).successful == 1)
        try await console.waitForLine(containing: "event: pop.published")
        try await gateway.process.waitForLine(containing: "screen pop not on the agent's screens within console_wait; ringing anyway")
        // Once the console is gone, nothing waits for it.
        console.kill()
        _ = try await console.waitForExit()
        #expect(try await gateway.stop() == 0)
    }

    @Test("the event stream shows a call's pop, start, answer and end as they happen, resumes after Last-Event-ID, and an agent sees only its own")
    func eventStream() async throws {
        let agentPort = Ports.free()
        let gateway = try await GatewayProcess.start(
            config: GatewayProcess.loopbackTrunk() + "[agent alice]\ncontact = sip:alice@127.0.0.1:\(agentPort)\nqueues = support\n"
                + "[agent bob]\ncontact = sip:bob@127.0.0.1:9\nqueues = support\n" + Self.tokenSections
                // The longest wait for alice's screen: a loaded machine may take a while to show the pop.
                + "[screenpop]\nconsole_wait = 2s\n",
            dialplan: "[from-trunk]\nexten => _X.,1,Dial(PJSIP/alice,10)\n")
        func curl(_ token: String, _ extra: [String] = []) throws -> TestProcess {
            try TestProcess("/usr/bin/curl", ["-sN", "-H", "Authorization: Bearer \(Self.secret(token))"] + extra
                                + ["http://127.0.0.1:\(gateway.apiPort)/api/v1/stream"])
        }
        let admin = try curl("admin")
        let bob = try curl("bob")
        // alice's own stream, as her console reads it: each line with the time it arrived, and
        // each pop said shown (the gateway rings alice's phone after that).
        let timed = try TestProcess("/usr/bin/python3", ["-u", "-c", """
            import json, sys, time, urllib.request
            base, token = sys.argv[1], sys.argv[2]
            headers = {"Authorization": "Bearer " + token}
            event = None
            for line in urllib.request.urlopen(urllib.request.Request(base + "/api/v1/stream?shown=pops", headers=headers)):
                text = line.decode().rstrip()
                print("%.6f %s" % (time.time(), text), flush=True)
                if text.startswith("event: "):
                    event = text[7:]
                elif text.startswith("data: ") and event == "pop.published":
                    sequence = json.loads(text[6:])["sequence"]
                    shown = urllib.request.Request(base + "/api/v1/pops/%d/shown" % sequence, method="POST", headers=headers, data=b"")
                    print("shown %d: %d" % (sequence, urllib.request.urlopen(shown).status), flush=True)
            """, "http://127.0.0.1:\(gateway.apiPort)", Self.secret("alice")])
        defer { admin.kill(); bob.kill(); timed.kill() }
        try await admin.waitForLine(containing: ": stream of new events")
        try await bob.waitForLine(containing: ": stream of new events")
        try await timed.waitForLine(containing: ": stream of new events")

        let (uas, uasDirectory) = try SIPp.start("builtin:uas", target: nil, port: agentPort, arguments: ["-m", "1"])
        let caller = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "1", "-d", "300", "-s", "100"])
        #expect(caller.successful == 1, "\(caller.summary)")
        #expect(try await SIPp.finish(uas, directory: uasDirectory).successful == 1)
        try await admin.waitForLine(containing: "event: call.ended")
        let names = admin.stdout.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        let order = names.filter { ["call.started", "pop.published", "call.answered", "call.ended"].contains($0) }
        #expect(order == ["call.started", "pop.published", "call.answered", "call.ended"], "\(names)")
        let published = try #require(admin.stdout.split(separator: "\n").first { $0.hasPrefix("data: ") && $0.contains("\"caller_number\"") })
        #expect(published.contains("\"agent\":\"alice\"") && published.contains("\"caller_number\":\"+15551230000\""), "\(published)")
        // alice's client had her pop before her phone had the INVITE.
        let popLine = try await timed.waitForLine(containing: "event: pop.published")
        let popArrived = try #require(Double(popLine.split(separator: " ").first ?? ""))
        let invite = try #require(CallFlow.received(in: uasDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(popArrived <= invite.time.timeIntervalSince1970,
                "pop at \(popArrived), INVITE at \(invite.time.timeIntervalSince1970) (\((popArrived - invite.time.timeIntervalSince1970) * 1000) ms later)")
        try await timed.waitForLine(containing: "shown ")
        #expect(timed.stdout.contains(": 204"), "\(timed.stdout)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/pops/1/shown", token: "lead").status == 403, "only the agent says its pop is shown")
        #expect(try await Self.call(gateway, "POST", "/api/v1/pops/first/shown", token: "alice").status == 400)

        // A client that lost its connection after the first event gets the rest, without a gap.
        let ids = admin.stdout.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { UInt64($0.dropFirst(4)) }
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        let resumed = try curl("admin", ["-H", "Last-Event-ID: \(ids[0])"])
        defer { resumed.kill() }
        try await resumed.waitForLine(containing: "event: call.ended")
        let resumedIDs = resumed.stdout.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { UInt64($0.dropFirst(4)) }
        #expect(resumedIDs == Array(ids.dropFirst()), "resumed \(resumedIDs), had \(ids)")

        // bob's stream: only bob. A change of bob's own state comes through; alice's call never did.
        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/bob/state", token: "lead", body: Self.json(["state": "paused"])).status == 200)
        try await bob.waitForLine(containing: "event: agent.state_changed")
        #expect(!bob.stdout.contains("pop.published") && !bob.stdout.contains("call.started"), "\(bob.stdout)")
        #expect(try await Self.call(gateway, "GET", "/api/v1/stream?topics=pops", token: "desk").status == 403)
        #expect(try await Self.call(gateway, "GET", "/api/v1/stream?topics=pops,everything", token: "admin").status == 400)
        #expect(try await Self.call(gateway, "GET", "/api/v1/stream", token: "admin", headers: ["Last-Event-ID": "yesterday"]).status == 400)
        // The same call in the metrics.
        let metrics = try await Self.call(gateway, "GET", "/metrics", token: "lead")
        #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.text.contains("omnigate_calls_ended_total{disposition=\"ANSWERED\"} 1"), "\(metrics.text)")
        #expect(metrics.text.contains("omnigate_call_to_agent_seconds_count 1"))
        #expect(metrics.text.contains("omnigate_agents{state=\"paused\"} 1") && metrics.text.contains("omnigate_queue_waiting{queue=\"support\"} 0"))
        #expect(metrics.text.contains("omnigate_queue_longest_wait_seconds{queue=\"support\"} 0.000"))
        // SIP answers by class both ways (the caller got 200 from us, we got 200 from the agent), the store's latencies.
        let sample = { (series: String) -> Double? in
            metrics.text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect((sample("omnigate_sip_responses_total{direction=\"sent\",class=\"2xx\"}") ?? 0) >= 1, "\(metrics.text)")
        #expect((sample("omnigate_sip_responses_total{direction=\"received\",class=\"2xx\"}") ?? 0) >= 1, "\(metrics.text)")
        #expect(sample("omnigate_sip_responses_total{direction=\"sent\",class=\"6xx\"}") == 0)
        #expect(sample("omnigate_sip_refused_total{what=\"malformed_messages\"}") == 0)
        #expect((sample("omnigate_store_commit_seconds_count") ?? 0) >= 1 && (sample("omnigate_store_write_wait_seconds_count") ?? 0) >= 4,
                "the call's open, progress and final record at least: \(metrics.text)")
        #expect(sample("omnigate_store_write_wait_seconds_bucket{le=\"+Inf\"}") == sample("omnigate_store_write_wait_seconds_count"))
        #expect(try await Self.call(gateway, "GET", "/metrics").status == 401)
        #expect(try await Self.call(gateway, "GET", "/metrics", token: "desk").status == 403)
        #expect(try await gateway.stop() == 0, "the streams open do not hold up the stop")
    }

    @Test("webhooks: call.ended is signed as documented, retried while the receiver answers 500, and none is lost across kill -9")
    func webhooks() async throws {
        let directory = try TestPaths.temporaryDirectory("webhooks")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiverPort = Ports.free()
        let secret = "whsec-0123456789abcdef"
        try "500".write(toFile: directory + "/status", atomically: true, encoding: .utf8)
        let receiver = try TestProcess("/usr/bin/python3", [TestPaths.packageRoot + "/docs/examples/webhook_receiver.py", "--port", String(receiverPort),
                                                            "--secret", secret, "--log", directory + "/deliveries.jsonl",
                                                            "--status-file", directory + "/status"])
        defer { receiver.kill() }
        try await receiver.waitForLine(containing: "listening on")
        let config = GatewayProcess.loopbackTrunk() + Self.tokenSections
            + "[agent alice]\ncontact = sip:alice@127.0.0.1:9\n[agent bob]\ncontact = sip:bob@127.0.0.1:9\n"
            + "[webhook desk]\nurl = http://127.0.0.1:\(receiverPort)/hook\nsecret = \(secret)\nevents = call.ended\n"
            + "[store]\npath = \(directory)/store.sqlite\n"
        func deliveries() -> [[String: Any]] {
            let text = (try? String(contentsOfFile: directory + "/deliveries.jsonl", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        func waitFor(_ what: String, _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while !condition() {
                guard ContinuousClock.now < deadline else { throw TestProcessError("no \(what) within 30 s: \(deliveries())") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        let first = try await GatewayProcess.start(config: config)
        let calls = try await SIPp.run("uac-caller-hangs-up.xml", target: first.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "3", "-r", "10", "-d", "100", "-s", "100"])
        #expect(calls.successful == 3)
        // Every call is offered and refused (500), and offered again: then the gateway is killed.
        try await waitFor("second attempts") { Set(deliveries().filter { $0["attempt"] as? String == "2" }.compactMap { $0["event_id"] as? String }).count == 3 }
        first.process.signal(SIGKILL)
        _ = try await first.process.waitForExit()

        try "200".write(toFile: directory + "/status", atomically: true, encoding: .utf8)
        let second = try await GatewayProcess.start(config: config)
        try await waitFor("deliveries accepted") { Set(deliveries().filter { $0["status"] as? Int == 200 }.compactMap { $0["event_id"] as? String }).count == 3 }
        let all = deliveries()
        #expect(all.allSatisfy { $0["valid"] as? Bool == true }, "every delivery verifies with the documented recipe")
        let accepted = all.filter { $0["status"] as? Int == 200 }
        #expect(accepted.count == 3, "each call.ended accepted once: \(accepted.count)")
        let event = try #require(accepted.first?["event"] as? [String: Any])
        #expect(event["event"] as? String == "call.ended" && (event["data"] as? [String: Any])?["disposition"] as? String == "ANSWERED")
        // The receiver logs before it answers: the gateway marks a delivery done once the answer is in.
        var summary = try await Self.call(second, "GET", "/api/v1/webhooks", token: "admin")
        let settled = ContinuousClock.now + .seconds(20)
        while ((summary.json["webhooks"] as? [[String: Any]])?.first?["delivered"] as? Int) != 3 && ContinuousClock.now < settled {
            try await Task.sleep(for: .milliseconds(50))
            summary = try await Self.call(second, "GET", "/api/v1/webhooks", token: "admin")
        }
        let desk = (summary.json["webhooks"] as? [[String: Any]])?.first
        #expect(desk?["delivered"] as? Int == 3 && desk?["pending"] as? Int == 0, "\(summary.text)")
        #expect(desk?["last_error"] == nil || (desk?["last_error"] as? String)?.contains("500") == true)
        let metrics = try await Self.call(second, "GET", "/metrics", token: "admin")
        #expect(metrics.text.contains("omnigate_webhook_pending{webhook=\"desk\"} 0")
                && metrics.text.contains("omnigate_webhook_given_up_total{webhook=\"desk\"} 0"), "\(metrics.text)")
        #expect(try await second.stop() == 0)
    }

    @Test("an agent's SMS sent through the API goes out through the trunk From the company's number, on the customer's timeline with the agent")
    func agentMessage() async throws {
        let directory = try TestPaths.temporaryDirectory("api-sms")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let carrierPort = Ports.free()
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Dialplans/extensions.conf", encoding: .utf8)
        let config = "[trunk provider]\nmatch = 127.0.0.1\ncontext = from-trunk\nmessage_context = sms-in\n"
            + "host = sip:127.0.0.1:\(carrierPort)\nfrom_user = +15550100\n"
            + "[agent alice]\ncontact = sip:alice@127.0.0.1:9\n[agent bob]\ncontact = sip:bob@127.0.0.1:9\n"
            + "[queue vip]\n[queue sales]\n[queue support]\n" + Self.tokenSections + "[store]\npath = \(directory)/store.sqlite\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: shipped)
        let (carrier, carrierDirectory) = try SIPp.start("uas-takes-messages.xml", target: nil, port: carrierPort, arguments: ["-m", "1"])
        // Each agent's stream of its own SMS conversations.
        func stream(_ token: String) throws -> TestProcess {
            try TestProcess("/usr/bin/curl", ["-sN", "-H", "Authorization: Bearer \(Self.secret(token))",
                                              "http://127.0.0.1:\(gateway.apiPort)/api/v1/stream?topics=messages"])
        }
        let aliceStream = try stream("alice"), bobStream = try stream("bob")
        defer { aliceStream.kill(); bobStream.kill() }
        try await aliceStream.waitForLine(containing: ": stream of new events")
        try await bobStream.waitForLine(containing: ": stream of new events")
        let sent = try await Self.call(gateway, "POST", "/api/v1/messages", token: "alice",
                                       body: Self.json(["to": "+12025550142", "body": "Your order 4711 ships today."]))
        #expect(sent.status == 202, "\(sent.text)")
        #expect(try await SIPp.finish(carrier, directory: carrierDirectory).successful == 1)
        let out = try #require(CallFlow.received(in: carrierDirectory).first { $0.text.hasPrefix("MESSAGE ") }?.text)
        #expect(CallFlow.header("From", in: out)?.contains("<sip:+15550100@") == true && out.contains("ships today"), "\(out)")
        try await gateway.process.waitForLine(containing: "sms out to=sip:+12025550142@")
        // alice's stream tells of it once the timeline has it, with the next hop's answer; bob's does not.
        let told = try await aliceStream.waitForLine(containing: "\"status\":\"accepted\"")
        #expect(told.contains("\"agent\":\"alice\"") && told.contains("+12025550142"), "\(aliceStream.stdout)")
        #expect(aliceStream.stdout.contains("event: sms.sent"))
        let pop = try await Self.call(gateway, "GET", "/api/v1/lookup?q=%2B12025550142", token: "alice")
        #expect((pop.json["recent"] as? [[String: Any]])?.contains {
            $0["agent"] as? String == "alice" && $0["direction"] as? String == "outbound" && $0["status"] as? String == "accepted"
        } == true, "\(pop.text)")
        #expect(!bobStream.stdout.contains("sms."), "\(bobStream.stdout)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/messages", token: "alice",
                                    body: Self.json(["to": "+12025550142", "body": "hi", "agent": "bob"])).status == 403)
        #expect(try await Self.call(gateway, "POST", "/api/v1/messages", token: "lead", body: Self.json(["to": "+1", "body": "hi"])).status == 400)
        #expect(try await Self.call(gateway, "POST", "/api/v1/messages", token: "desk", body: Self.json(["to": "+1", "body": "hi"])).status == 403)
        #expect(try await gateway.stop() == 0)
    }

    @Test("a proposed dialplan is checked against the configuration with file:line:column; a reload is all or nothing")
    func dialplan() async throws {
        let gateway = try await Self.start()
        let bad = "[from-trunk]\nexten => _X.,1,Queue(suport)\n same => n,Dail(PJSIP/alice)\n"
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.apiPort)/api/v1/dialplan/check")!)
        request.httpMethod = "POST"
        request.httpBody = Data(bad.utf8)
        request.setValue("Bearer \(Self.secret("lead"))", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let checked = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(checked["ok"] as? Bool == false)
        let errors = (checked["errors"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(errors.contains { $0.hasPrefix("proposed.conf:2:") && $0.contains("'suport'") && $0.contains("did you mean 'support'") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("proposed.conf:3:") && $0.contains("'Dail'") }, "\(errors)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/dialplan/check", token: "desk", body: Data(bad.utf8)).status == 403)

        // A scripted call through the running plan (GatewayProcess's answering plan): nothing rings.
        let simulated = try await Self.call(gateway, "POST", "/api/v1/dialplan/simulate", token: "lead",
                                            body: Self.json(["context": "from-trunk", "exten": "100", "callerid": "+12025550142"]))
        #expect(simulated.status == 200 && (simulated.json["commands"] as? [String])?.first == "answer", "\(simulated.text)")
        #expect((simulated.json["steps"] as? [[String: Any]])?.first?["application"] as? String == "Answer")
        #expect(try await Self.call(gateway, "POST", "/api/v1/dialplan/simulate", token: "lead",
                                    body: Self.json(["context": "nowhere", "exten": "1"])).status == 404)

        // A broken file on disk is refused by the reload, and the running plan stays.
        let plan = gateway.directory + "/Dialplans/extensions.conf"
        let good = try String(contentsOfFile: plan, encoding: .utf8)
        try (good + "\n[broken]\nexten => 1,1,Goto(nowhere,1,1)\n").write(toFile: plan, atomically: true, encoding: .utf8)
        let refused = try await Self.call(gateway, "POST", "/api/v1/dialplan/reload", token: "admin")
        #expect(refused.status == 422 && refused.json["applied"] as? Bool == false, "\(refused.text)")
        try good.write(toFile: plan, atomically: true, encoding: .utf8)
        let applied = try await Self.call(gateway, "POST", "/api/v1/dialplan/reload", token: "admin")
        #expect(applied.status == 200 && applied.json["applied"] as? Bool == true, "\(applied.text)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/dialplan/reload", token: "lead").status == 403)
        #expect(try await gateway.stop() == 0)
    }

    @Test("webhooks: an SMS received is posted as sms.received, with the message as the timeline has it; an agent's pause as agent.state_changed")
    func smsWebhook() async throws {
        let directory = try TestPaths.temporaryDirectory("webhook-sms")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiverPort = Ports.free()
        let secret = "whsec-0123456789abcdef"
        let receiver = try TestProcess("/usr/bin/python3", [TestPaths.packageRoot + "/docs/examples/webhook_receiver.py", "--port", String(receiverPort),
                                                            "--secret", secret, "--log", directory + "/deliveries.jsonl"])
        defer { receiver.kill() }
        try await receiver.waitForLine(containing: "listening on")
        let gateway = try await GatewayProcess.start(
            config: GatewayProcess.loopbackTrunk(messageContext: "sms-in")
                + "[webhook chat]\nurl = http://127.0.0.1:\(receiverPort)/hook\nsecret = \(secret)\nevents = sms.received, call.ended, agent.state_changed\n"
                + "[agent alice]\ncontact = sip:alice@127.0.0.1:9\nqueues = support\n[agent bob]\ncontact = sip:bob@127.0.0.1:9\n"
                + Self.tokenSections + "[store]\npath = \(directory)/store.sqlite\n",
            dialplan: GatewayProcess.answeringPlan + "\n[sms-in]\nexten => _X.,1,NoOp(${MESSAGE(body)})\n")
        let sent = try await SIPp.run("uac-message.xml", target: gateway.udpTarget, port: Ports.free(), arguments: ["-m", "1", "-s", "18005550100"])
        #expect(sent.successful == 1)
        let deadline = ContinuousClock.now + .seconds(20)
        var lines: [[String: Any]] = []
        while lines.isEmpty && ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: directory + "/deliveries.jsonl", encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            try await Task.sleep(for: .milliseconds(50))
        }
        let delivery = try #require(lines.first)
        #expect(delivery["valid"] as? Bool == true && (delivery["event_id"] as? String)?.hasPrefix("sms.received:") == true, "\(delivery)")
        let event = try #require(delivery["event"] as? [String: Any])
        let data = try #require(event["data"] as? [String: Any])
        #expect(event["event"] as? String == "sms.received" && (data["body"] as? String)?.contains("Watson, come here.") == true, "\(event)")
        #expect(data["channel"] as? String == "sms" && data["direction"] as? String == "inbound")

        #expect(try await Self.call(gateway, "PUT", "/api/v1/agents/alice/state", token: "lead",
                                    body: Self.json(["state": "paused", "reason": "training"])).status == 200)
        var change: [String: Any]?
        while change == nil && ContinuousClock.now < deadline + .seconds(20) {
            let text = (try? String(contentsOfFile: directory + "/deliveries.jsonl", encoding: .utf8)) ?? ""
            change = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .compactMap { $0["event"] as? [String: Any] }.first { $0["event"] as? String == "agent.state_changed" }
            try await Task.sleep(for: .milliseconds(50))
        }
        let state = try #require(change?["data"] as? [String: Any], "no agent.state_changed delivered")
        #expect(state["agent"] as? String == "alice" && state["presence"] as? String == "paused" && state["reason"] as? String == "training")
        #expect(try await gateway.stop() == 0)
    }

    @Test("click-to-call rings the agent first, then calls the customer with the company's number; the record is outbound with agent and contact")
    func clickToCall() async throws {
        let directory = try TestPaths.temporaryDirectory("api-click")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,tier,phone,email\nc-ada,Ada Lovelace,gold,+12025550142,ada@example.com\n")
        let carrierPort = Ports.free(), agentPort = Ports.free()
        let shipped = try String(contentsOfFile: TestPaths.packageRoot + "/Dialplans/extensions.conf", encoding: .utf8)
        let config = "[trunk provider]\nmatch = 127.0.0.1\ncontext = from-trunk\nhost = sip:127.0.0.1:\(carrierPort)\nfrom_user = +15550100\n"
            + "[agent alice]\nname = Alice Example\ncontact = sip:alice@127.0.0.1:\(agentPort)\n[agent bob]\ncontact = sip:bob@127.0.0.1:9\n"
            + "[agent carol]\npassword = s3cret-carol\nqualify_frequency = 0\n"
            + "[queue vip]\n[queue sales]\n[queue support]\n" + Self.tokenSections + "[store]\npath = \(store)\n"
        let gateway = try await GatewayProcess.start(config: config, dialplan: shipped)
        let (agent, agentDirectory) = try SIPp.start("builtin:uas", target: nil, port: agentPort, arguments: ["-m", "1"])
        let (customer, customerDirectory) = try SIPp.start("uas-agent-answers-hangs-up.xml", target: nil, port: carrierPort,
                                                           arguments: ["-m", "1", "-d", "300"])
        let placed = try await Self.call(gateway, "POST", "/api/v1/calls", token: "alice", body: Self.json(["to": "+12025550142"]))
        #expect(placed.status == 202, "\(placed.text)")
        #expect(try await SIPp.finish(customer, directory: customerDirectory).successful == 1)
        #expect(try await SIPp.finish(agent, directory: agentDirectory).successful == 1)
        let agentInvite = try #require(CallFlow.received(in: agentDirectory).first { $0.text.hasPrefix("INVITE ") })
        let customerInvite = try #require(CallFlow.received(in: customerDirectory).first { $0.text.hasPrefix("INVITE ") })
        #expect(CallFlow.header("From", in: agentInvite.text)?.contains("sip:+12025550142@") == true, "the agent sees whom it calls")
        #expect(CallFlow.header("From", in: customerInvite.text)?.contains("<sip:+15550100@") == true, "the customer sees the company")
        #expect(agentInvite.time <= customerInvite.time, "the agent's phone rings first")
        try await gateway.process.waitForLine(containing: "call ended")
        let page = try await Self.call(gateway, "GET", "/api/v1/calls", token: "desk")
        let record = try #require((page.json["records"] as? [[String: Any]])?.first, "\(page.text)")
        #expect(record["direction"] as? String == "outbound" && record["agent"] as? String == "alice", "\(record)")
        #expect(record["contact_id"] as? String == "c-ada" && record["disposition"] as? String == "ANSWERED", "\(record)")
        // The agent answered its own phone before the customer answered; talk time runs from the customer's answer.
        let agentAnswer = try #require(Timestamp.parse(record["agent_answer"] as? String ?? ""), "\(record)")
        let start = try #require(Timestamp.parse(record["start"] as? String ?? ""))
        #expect(agentAnswer <= start.addingTimeInterval(0.01) && agentAnswer <= customerInvite.time, "\(record)")
        #expect((record["talksec"] as? Int).map { $0 <= record["duration"] as? Int ?? -1 } == true, "\(record)")
        #expect(try await Self.call(gateway, "POST", "/api/v1/calls", token: "bob", body: Self.json(["to": "+1202", "agent": "alice"])).status == 403)
        let unreachable = try await Self.call(gateway, "POST", "/api/v1/calls", token: "lead", body: Self.json(["to": "+12025550142", "agent": "carol"]))
        #expect(unreachable.status == 409 && unreachable.json["title"] as? String == "Agent unreachable", "carol has no phone: \(unreachable.text)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("slow clients that never finish their request hold no one else up: the API answers others, and calls go through")
    func slowClients() async throws {
        let gateway = try await Self.start()
        // 20 connections that send half a request and then nothing (well under the 32 per address).
        var sockets: [Int32] = []
        for _ in 0..<20 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(gateway.apiPort).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            let partial = "GET /api/v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            _ = partial.withCString { send(fd, $0, strlen($0), 0) }
            sockets.append(fd)
        }
        defer { sockets.forEach { close($0) } }
        #expect(try await Self.call(gateway, "GET", "/health").status == 200)
        #expect(try await Self.call(gateway, "GET", "/api/v1/calls", token: "desk").status == 200)
        let call = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                      arguments: ["-m", "1", "-d", "200", "-s", "100"])
        #expect(call.successful == 1, "\(call.summary)")
        #expect(try await gateway.stop() == 0, "the slow connections do not hold up the stop")
    }

    /// Whether the gateway has no call left (every record written).
    static func allEnded(_ gateway: GatewayProcess) async throws -> Bool {
        (try await call(gateway, "GET", "/health")).json["live_calls"] as? Int == 0
    }
}
