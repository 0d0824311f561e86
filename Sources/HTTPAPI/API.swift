import Configuration
import Dialplan
import Foundation
import Gateway
import Synchronization
import Timeline

/// The HTTP API, version 1 (docs/api.md): call records, lookups, events in,
/// agents and queues. Every route but `/health` needs a token whose role
/// allows it; errors are problem details. Handlers run on the HTTP server's
/// connection threads: each reads or writes the store through its own
/// connection (WAL: readers never wait for the gateway's writer) and asks the
/// gateway's roster, which never blocks.
public final class API: Sendable {
    private let service: Service
    private let stores: StoreHandle
    private let book: Mutex<TokenBook>
    private var tokens: TokenBook { book.withLock { $0 } }
    private let origins: Set<String>
    private let hub = EventHub()
    private let metrics: Metrics
    /// The agent console: its files, sessions and own routes (Console.swift).
    private let console: Console
    /// Every route served, as the OpenAPI document names it (a test holds the two together).
    static let routes: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/metrics"), ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/calls"), ("POST", "/api/v1/calls"), ("GET", "/api/v1/calls/{uniqueid}"), ("GET", "/api/v1/lookup"), ("POST", "/api/v1/events"),
        ("GET", "/api/v1/agents"), ("GET", "/api/v1/agents/{name}"), ("PUT", "/api/v1/agents/{name}/state"),
        ("GET", "/api/v1/queues"), ("GET", "/api/v1/stream"), ("POST", "/api/v1/pops/{sequence}/shown"), ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/messages"),
        ("GET", "/api/v1/contacts/{id}"), ("PUT", "/api/v1/contacts/{id}"), ("POST", "/api/v1/contacts/{id}/merge"),
        ("GET", "/api/v1/contacts/{id}/timeline"),
        ("POST", "/api/v1/dialplan/check"), ("POST", "/api/v1/dialplan/reload"), ("POST", "/api/v1/dialplan/simulate"),
        // The agent console's.
        ("GET", "/console/{file}"), ("GET", "/api/v1/session"), ("POST", "/api/v1/session"), ("DELETE", "/api/v1/session"),
        ("GET", "/api/v1/calls/{uniqueid}/wrapup"), ("POST", "/api/v1/calls/{uniqueid}/wrapup"),
        ("GET", "/api/v1/events/{id}/recording"), ("GET", "/api/v1/journeys"),
    ]

    /// Items in one events request, at most.
    static let maxBatch = 1000

    public init(service: Service, config: GatewayConfig) {
        self.service = service
        stores = StoreHandle(settings: config.store)
        book = Mutex(TokenBook(config.tokens))
        origins = Set(config.http.allowedOrigins)
        hub.follow(service)
        metrics = Metrics(service: service, stores: stores, popsShown: hub.shownLatency)
        console = Console(service: service, stores: stores, config: config)
    }

    /// Takes the tokens of a reloaded configuration: a token removed stops working at once.
    public func reload(tokens: [APIToken]) { book.withLock { $0 = TokenBook(tokens) } }

    /// Ends every event stream (before the server stops: their threads must return).
    public func close() { hub.close() }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        var response = route(request)
        if let origin = request.headers["origin"], origins.contains(origin) {
            response.headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        }
        return response
    }

    private func route(_ request: HTTPRequest) -> HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        if request.method == "OPTIONS" {
            // A browser's preflight: answered for allowed origins only (the headers are added in `handle`).
            return HTTPResponse(status: 204, headers: [("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS"),
                                                      ("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-CSRF-Token")])
        }
        if parts == ["health"] {
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            return JSONResponse.make(["status": "ok", "live_calls": service.liveCalls])
        }
        if parts == ["metrics"] {
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            guard let token = tokens.token(authorization: request.headers["authorization"]) else {
                return Problem.response(401, "Unauthorized", "Send 'Authorization: Bearer TOKEN' (Prometheus: authorization.credentials).",
                                        headers: [("WWW-Authenticate", "Bearer realm=\"omnigate\"")])
            }
            guard allows(token, [.admin, .supervisor]) else { return forbidden(token, "read metrics") }
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                body: Data(metrics.render().utf8))
        }
        if parts.isEmpty || parts[0] == "console" { return console.file(parts, request) }
        if parts == ["api", "v1", "session"] { return console.session(request, tokens: tokens) }
        guard parts.count >= 3, parts[0] == "api", parts[1] == "v1" else {
            return Problem.response(404, "Not found", "No such resource: \(Self.shown(request.path)). The API is under /api/v1.")
        }
        // A bearer token, or the console's session cookie (with its CSRF token for changes).
        let access = console.authenticate(request, tokens: tokens)
        if case .refused(let response) = access { return response }
        guard case .token(let token) = access else {
            let detail = request.headers["authorization"] == nil ? "Send 'Authorization: Bearer TOKEN'." : "The token is not known."
            return Problem.response(401, "Unauthorized", detail, headers: [("WWW-Authenticate", "Bearer realm=\"omnigate\"")])
        }
        let resource = Array(parts.dropFirst(2))
        switch (request.method, resource.first, resource.count) {
        case ("GET", "calls", 1): return calls(request, token)
        case ("POST", "calls", 1): return clickToCall(request, token)
        case ("GET", "calls", 2): return call(resource[1], token)
        case ("GET", "lookup", 1): return lookup(request, token)
        case ("POST", "events", 1): return ingest(request, token)
        case ("GET", "agents", 1): return agents(token)
        case ("GET", "agents", 2): return agent(resource[1], token)
        case ("GET", "openapi.json", 1):
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Data(OpenAPI.document.utf8))
        case ("PUT", "agents", 3) where resource[2] == "state":
            return changeState(of: resource[1], request, token)
        case ("GET", "queues", 1): return queues(token)
        case ("GET", "stream", 1): return stream(request, token)
        case ("POST", "pops", 3) where resource[2] == "shown": return popShown(resource[1], token)
        case ("GET", "webhooks", 1): return webhooks(token)
        case ("POST", "messages", 1): return sendMessage(request, token)
        case ("POST", "dialplan", 2) where resource[1] == "check": return checkDialplan(request, token)
        case ("POST", "dialplan", 2) where resource[1] == "reload": return reloadDialplan(token)
        case ("POST", "dialplan", 2) where resource[1] == "simulate": return simulate(request, token)
        case ("GET", "contacts", 2): return contact(resource[1], token)
        case ("PUT", "contacts", 2): return upsertContact(resource[1], request, token)
        case ("POST", "contacts", 3) where resource[2] == "merge": return mergeContact(into: resource[1], request, token)
        case ("GET", "contacts", 3) where resource[2] == "timeline": return timeline(of: resource[1], request, token)
        case ("POST", "calls", 3) where resource[2] == "wrapup": return console.wrapUp(resource[1], request, token)
        case ("GET", "calls", 3) where resource[2] == "wrapup": return console.wrapUps(resource[1], token)
        case ("GET", "events", 3) where resource[2] == "recording": return console.recording(resource[1], token)
        case ("GET", "journeys", 1): return console.journeys(request, token)
        case (_, "pops", 3) where resource[2] == "shown": return methodNotAllowed("POST")
        case (_, "calls", 3) where resource[2] == "wrapup": return methodNotAllowed("GET, POST")
        case (_, "events", 3) where resource[2] == "recording", (_, "journeys", 1): return methodNotAllowed("GET")
        case (_, "calls", 1): return methodNotAllowed("GET, POST")
        case (_, "calls", 2), (_, "lookup", 1), (_, "agents", 1...2), (_, "queues", 1), (_, "stream", 1), (_, "webhooks", 1), (_, "openapi.json", 1), (_, "contacts", 2...3):
            return methodNotAllowed("GET")
        case (_, "events", 1), (_, "messages", 1), (_, "dialplan", 2): return methodNotAllowed("POST")
        case (_, "contacts", 2): return methodNotAllowed("GET, PUT")
        case (_, "agents", 3): return methodNotAllowed("PUT")
        default:
            return Problem.response(404, "Not found", "No such resource: \(Self.shown(request.path)).")
        }
    }

    // MARK: - Roles

    private func forbidden(_ token: APIToken, _ what: String) -> HTTPResponse {
        Problem.response(403, "Forbidden", "A token with role \(token.role.rawValue) may not \(what).")
    }

    private func allows(_ token: APIToken, _ roles: Set<APIToken.Role>) -> Bool { roles.contains(token.role) }

    // MARK: - Call records

    private func calls(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .helpdesk, .agent]) else { return forbidden(token, "read call records") }
        var filter = TimelineStore.RecordFilter()
        let query = request.query
        do {
            filter.since = try query["since"].map { try Self.time($0, "since") }
            filter.until = try query["until"].map { try Self.time($0, "until") }
            if let direction = query["direction"] {
                guard let value = Direction(spelling: direction), value != .internal else {
                    throw BadRequest("'direction' is inbound or outbound")
                }
                filter.direction = value
            }
            filter.disposition = query["disposition"]?.uppercased()
            filter.agent = query["agent"]
            filter.queue = query["queue"]
            filter.contact = query["contact"]
            if token.role == .agent {
                // An agent reads its own calls only.
                if let asked = filter.agent, asked != token.agent { return forbidden(token, "read another agent's calls") }
                filter.agent = token.agent
            }
            let limit = try query["limit"].map { text -> Int in
                guard let n = Int(text), (1...1000).contains(n) else { throw BadRequest("'limit' is a number from 1 to 1000") }
                return n
            } ?? 100
            let cursor = try query["cursor"].map { text -> Int64 in
                guard let n = Int64(text), n >= 0 else { throw BadRequest("'cursor' is the next_cursor of an earlier page") }
                return n
            }
            let page = try stores.store().callRecordPage(after: cursor, limit: limit, filter: filter)
            if (request.headers["accept"] ?? "").contains("text/csv") {
                var text = CallRecordExport.csvHeader + "\r\n"
                for record in page.records { text += CallRecordExport.csv(record) + "\r\n" }
                return HTTPResponse(status: 200, headers: [("Content-Type", "text/csv; charset=utf-8"), ("X-Next-Cursor", String(page.next)),
                                                           ("X-More", page.more ? "true" : "false")], body: Data(text.utf8))
            }
            let records = try page.records.map { try CallRecordExport.json($0) }.joined(separator: ",")
            return JSONResponse.raw("{\"records\":[\(records)],\"next_cursor\":\"\(page.next)\",\"more\":\(page.more)}")
        } catch let error as BadRequest {
            return Problem.response(400, "Bad request", error.message)
        } catch {
            return storeTrouble(error)
        }
    }

    private func call(_ uniqueid: String, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .helpdesk, .agent]) else { return forbidden(token, "read call records") }
        do {
            guard let record = try stores.store().callRecord(uniqueid: uniqueid),
                  token.role != .agent || record.agent == token.agent else {
                return Problem.response(404, "Not found", "No call record '\(Self.shown(uniqueid))'.")
            }
            return JSONResponse.raw(try CallRecordExport.json(record))
        } catch {
            return storeTrouble(error)
        }
    }

    // MARK: - Lookups and events

    private func lookup(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard let query = request.query["q"], !query.isEmpty, query.count <= 256 else {
            return Problem.response(400, "Bad request", "Give the number, email, SIP URI or chat handle as ?q=…")
        }
        do {
            return JSONResponse.raw(try stores.store().screenPop(for: query).json)
        } catch {
            return storeTrouble(error)
        }
    }

    /// One event (an object) or a batch (`{"events": [...]}`), all or nothing:
    /// addresses normalised and contacts resolved by the store, an event whose
    /// (source, external_ref) is stored already left as it is.
    private func ingest(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .integration]) else { return forbidden(token, "write events") }
        let items: [Any]
        do {
            let document = try JSONSerialization.jsonObject(with: request.body)
            if let batch = document as? [String: Any], let events = batch["events"] {
                guard let list = events as? [Any], batch.count == 1 else {
                    throw BadRequest("a batch is {\"events\": [ … ]} and nothing else")
                }
                items = list
            } else if document is [String: Any] {
                items = [document]
            } else {
                throw BadRequest("the body is one event (a JSON object) or {\"events\": [ … ]}")
            }
        } catch let error as BadRequest {
            return Problem.response(400, "Bad request", error.message)
        } catch {
            return Problem.response(400, "Malformed JSON", "The body is not JSON: \(error.localizedDescription)")
        }
        guard !items.isEmpty else { return Problem.response(400, "Bad request", "The batch has no events.") }
        guard items.count <= Self.maxBatch else {
            return Problem.response(413, "Batch too large", "A batch may hold at most \(Self.maxBatch) events.")
        }
        var lines = Data()
        // One line per item, so the store's import reports every bad item by its number.
        for item in items {
            lines.append((try? JSONSerialization.data(withJSONObject: item, options: .fragmentsAllowed)) ?? Data("null".utf8))
            lines.append(0x0A)
        }
        do {
            let imported = try stores.store().importEvents(jsonl: lines, file: "request")
            return JSONResponse.make(["added": imported.added, "already_stored": imported.alreadyStored])
        } catch let failure as ImportFailure {
            // Line N of the request is item N of the batch; nothing was written.
            let errors = failure.problems.map { ["item": $0.line, "detail": $0.message] as [String: Any] }
            let first = failure.problems[0]
            let others = failure.problems.count > 1 ? " (and \(failure.problems.count - 1) more, in errors)" : ""
            return Problem.response(422, "Invalid event", "Item \(first.line): \(first.message)\(others). Nothing was written.",
                                    extra: ["errors": errors])
        } catch {
            return storeTrouble(error)
        }
    }

    // MARK: - Agents and queues

    private func agents(_ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent]) else { return forbidden(token, "read agents") }
        let statuses = service.agents.statuses.filter { token.role != .agent || $0.agent == token.agent }
        return JSONResponse.make(["agents": statuses.map(Self.json)])
    }

    private func agent(_ name: String, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent]) else { return forbidden(token, "read agents") }
        if token.role == .agent && name != token.agent { return forbidden(token, "read another agent") }
        guard let status = service.agents.status(of: name) else {
            return Problem.response(404, "Not found", "No agent '\(Self.shown(name))'.")
        }
        return JSONResponse.make(Self.json(status))
    }

    /// `{"state": "available" | "paused" | "logged_out", "reason": "…", "queue": "…"}`, as the
    /// feature codes do (docs/gateway.md): the same roster, the same change stream.
    private func changeState(of name: String, _ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent]) else { return forbidden(token, "change agents") }
        if token.role == .agent && name != token.agent { return forbidden(token, "change another agent") }
        guard service.agents.status(of: name) != nil else { return Problem.response(404, "Not found", "No agent '\(Self.shown(name))'.") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let state = body["state"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"state\": \"available\" | \"paused\" | \"logged_out\", \"reason\": …}")
        }
        let reason = (body["reason"] as? String) ?? ""
        guard reason.count <= 64, !reason.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            return Problem.response(400, "Bad request", "'reason' is at most 64 characters of text")
        }
        let queue = body["queue"] as? String
        let roster = service.agents
        let outcome: AgentRoster.MemberChange
        switch state {
        case "available":
            if roster.status(of: name)?.presence == .loggedOut {
                outcome = roster.logIn(name, queue: queue)
                if outcome == .added || outcome == .memberAlready { _ = roster.unpause(name) }
            } else {
                outcome = roster.unpause(name)
            }
        case "paused": outcome = roster.pause(name, reason: reason)
        case "logged_out": outcome = roster.logOut(name, queue: queue)
        default: return Problem.response(400, "Bad request", "'state' is available, paused or logged_out")
        }
        switch outcome {
        case .noSuchQueue: return Problem.response(404, "Not found", "No queue '\(Self.shown(queue ?? ""))' for this agent.")
        case .notFound: return Problem.response(409, "Conflict", "Agent '\(name)' is logged out: log it in (state available) first.")
        default: break
        }
        guard let status = roster.status(of: name) else { return Problem.response(404, "Not found", "No agent '\(name)'.") }
        var document = Self.json(status)
        document["result"] = outcome.rawValue
        return JSONResponse.make(document)
    }

    private func queues(_ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent, .helpdesk]) else { return forbidden(token, "read queues") }
        let roster = service.agents
        let list: [[String: Any]] = service.configuration.queues.map { queue in
            ["name": queue.name, "strategy": queue.strategy.rawValue, "waiting": service.waitingCount(in: queue.name),
             "longest_wait_seconds": service.longestWait(in: queue.name),
             "members": roster.members(of: queue.name),
             "free": Int(roster.memberFigure(queue: queue.name, option: "free") ?? "0") ?? 0]
        }
        return JSONResponse.make(["queues": list])
    }

    /// `{"to": "+12025550142", "body": "…", "agent": "alice"}`: an SMS from an
    /// agent to a customer, sent as the agent's phone would send it (its
    /// message context decides the route). An agent's token sends as itself.
    private func sendMessage(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent]) else { return forbidden(token, "send messages") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any], let text = body["body"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"to\": \"+12025550142\", \"body\": \"…\", \"agent\": \"alice\"}")
        }
        let agent: String, to: String
        do { (agent, to) = try agentAndNumber(body, token, doing: "send") } catch { return error.response }
        guard !text.isEmpty, text.count <= 1600 else { return Problem.response(400, "Bad request", "'body' is 1 to 1,600 characters") }
        guard service.agents.agent(named: agent) != nil else { return Problem.response(404, "Not found", "No agent '\(Self.shown(agent))'.") }
        let service = self.service
        guard Self.awaitBounded(.seconds(45), { await service.sendMessage(asAgent: agent, to: to, body: text) }) != nil else {
            return Problem.response(504, "Gateway timeout", "The message was not handed on within 45 s; its status will be on the timeline.")
        }
        return JSONResponse.make(["agent": agent, "to": to, "status": "handed on: the timeline shows whether the next hop took it"], status: 202)
    }

    // MARK: - The dialplan

    /// Checks a proposed plan (the request body, dialplan text) as `omnigate dialplan check`
    /// does, against the configuration's queues, agents and trunks; nothing goes live.
    private func checkDialplan(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor]) else { return forbidden(token, "check dialplans") }
        guard let text = String(data: request.body, encoding: .utf8), !text.isEmpty else {
            return Problem.response(400, "Bad request", "The body is the dialplan text (UTF-8), as in Dialplans/*.conf")
        }
        let config = service.configuration
        let names = ConfigurationNames(source: "the configuration",
                                       queues: Dictionary(config.queues.map { ($0.name, $0.members) }, uniquingKeysWith: { first, _ in first }),
                                       agents: Set(config.agents.map(\.name)), trunks: Set(config.trunks.map(\.name)))
        let load = DialplanLoader.parse(text, file: "proposed.conf", mode: DialplanMode(rawValue: config.dialplan.mode) ?? .strict, names: names)
        return JSONResponse.make(["ok": load.diagnostics.errors.isEmpty, "errors": load.diagnostics.errors.map(Self.json),
                                  "warnings": load.diagnostics.warnings.map(Self.json)])
    }

    /// Reloads the plan from its files (all or nothing, as at a file change).
    private func reloadDialplan(_ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin]) else { return forbidden(token, "reload the dialplan") }
        let result = service.reloadDialplan()
        return JSONResponse.make(["applied": result.applied, "errors": result.diagnostics.errors.map(Self.json),
                                  "warnings": result.diagnostics.warnings.map(Self.json)], status: result.applied ? 200 : 422)
    }

    /// `{"context": "from-trunk", "exten": "18005550100", "callerid": "+12025550142", "digits": "2",
    /// "time": "2026-11-24T15:00:00Z", "contact": {"tier": "vip"}, "dial_status": "NOANSWER", "queue_status": "TIMEOUT"}`:
    /// a scripted call through the running plan, as `omnigate dialplan simulate` makes one. Nothing rings, nothing is recorded.
    private func simulate(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor]) else { return forbidden(token, "simulate calls") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let context = body["context"] as? String, let exten = body["exten"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"context\": …, \"exten\": …, \"digits\": …, \"time\": …}")
        }
        let plan = service.currentPlan
        guard plan.contexts[context] != nil else { return Problem.response(404, "Not found", "No context [\(Self.shown(context))] in the running plan.") }
        var script = ScriptedChannel.Script()
        script.digits = Array((body["digits"] as? String ?? "").prefix(64))
        for (field, value) in body["contact"] as? [String: String] ?? [:] { script.contact[field] = value }
        if let status = body["dial_status"] as? String { script.dialStatus["*"] = status }
        if let status = body["queue_status"] as? String { script.queueStatus["*"] = status }
        var start = CallStart(context: context, exten: exten, callerIDNumber: body["callerid"] as? String ?? "",
                              callerIDName: body["callername"] as? String ?? "", uniqueID: "simulated-1")
        if let text = body["time"] as? String {
            guard let moment = Timestamp.parse(text) else { return Problem.response(400, "Bad request", "'time' is ISO 8601, such as 2026-11-24T15:00:00Z") }
            start.now = { moment }
        }
        let channel = ScriptedChannel(script)
        let callStart = start
        guard let outcome = Self.awaitBounded(.seconds(10), {
            await Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: callStart).run()
        }) else {
            return Problem.response(504, "Gateway timeout", "The simulated call did not end within 10 s.")
        }
        return JSONResponse.make(SimulationReport.document(outcome, commands: channel.commands))
    }

    static func json(_ diagnostic: Diagnostic) -> [String: Any] {
        ["file": diagnostic.location.file, "line": diagnostic.location.line, "column": diagnostic.location.column,
         "message": diagnostic.message, "text": diagnostic.description]
    }

    // MARK: - Contacts

    /// JSON with the store's snake_case names (`contact_id`, `external_ref`: the models' coding keys) and ISO 8601 times.
    private static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try Timestamp.encoder.encode(value), as: UTF8.self)
    }

    private func contact(_ id: String, _ token: APIToken) -> HTTPResponse {
        do {
            guard let contact = try stores.store().contact(id: id) else {
                return Problem.response(404, "Not found", "No contact '\(Self.shown(id))'.")
            }
            return JSONResponse.raw(try Self.encoded(contact))
        } catch {
            return storeTrouble(error)
        }
    }

    /// `{"name": …, "tier": …, "company": …, "identities": [{"kind": "phone", "value": "(202) 555-0142"}]}`:
    /// creates the contact or updates it; identities are normalised and added (an identity another
    /// contact owns is 409, and nothing is written).
    private func upsertContact(_ id: String, _ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .integration]) else { return forbidden(token, "write contacts") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any], let name = body["name"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"name\": …, \"tier\": …, \"company\": …, \"identities\": [{\"kind\": \"phone\", \"value\": …}]}")
        }
        var contact = Contact(id: id, name: name, tier: body["tier"] as? String ?? "standard", company: body["company"] as? String)
        for item in body["identities"] as? [[String: Any]] ?? [] {
            guard let kindName = item["kind"] as? String, let kind = IdentityKind(rawValue: kindName), let value = item["value"] as? String else {
                return Problem.response(400, "Bad request", "An identity is {\"kind\": \"phone\" | \"email\" | \"sip\" | \"chat\" | …, \"value\": …}")
            }
            contact.identities.append(Identity(kind: kind, value: value))
        }
        do {
            let (stored, created) = try stores.store().upsertContact(contact)
            return JSONResponse.raw(try Self.encoded(stored), status: created ? 201 : 200)
        } catch let error as StoreError {
            return storeRefusal(error)
        } catch {
            return Problem.response(400, "Bad request", "\(error)")
        }
    }

    /// `{"from": "c-other"}`: the other contact's identities, events and call records move here; it is deleted.
    private func mergeContact(into id: String, _ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .integration, .supervisor]) else { return forbidden(token, "merge contacts") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any], let other = body["from"] as? String else {
            return Problem.response(400, "Bad request", "The body is {\"from\": \"the contact to merge into this one\"}")
        }
        do {
            let store = try stores.store()
            try store.mergeContact(other, into: id)
            guard let merged = try store.contact(id: id) else { return Problem.response(404, "Not found", "No contact '\(Self.shown(id))'.") }
            return JSONResponse.raw(try Self.encoded(merged))
        } catch let error as StoreError {
            return storeRefusal(error)
        } catch {
            return storeTrouble(error)
        }
    }

    private func storeRefusal(_ error: StoreError) -> HTTPResponse {
        switch error.kind {
        case .notFound: return Problem.response(404, "Not found", error.message)
        case .conflict: return Problem.response(409, "Conflict", error.message)
        case .invalidValue: return Problem.response(400, "Bad request", error.message)
        default: return storeTrouble(error)
        }
    }

    /// A contact's interactions on every channel, newest first, a page at a time:
    /// `limit` (default 50, at most 1,000), `before` (the `next_before` of the page before).
    private func timeline(of id: String, _ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        let limit = request.query["limit"].flatMap(Int.init) ?? 50
        guard (1...1000).contains(limit) else { return Problem.response(400, "Bad request", "'limit' is a number from 1 to 1000") }
        let before = request.query["before"].flatMap(Int64.init)
        if request.query["before"] != nil && before == nil {
            return Problem.response(400, "Bad request", "'before' is the next_before of an earlier page")
        }
        do {
            let store = try stores.store()
            guard try store.contact(id: id) != nil else { return Problem.response(404, "Not found", "No contact '\(Self.shown(id))'.") }
            let events = try store.events(forContact: id, before: before, limit: limit)
            let list = try events.map { try Self.encoded($0) }.joined(separator: ",")
            let next = events.count == limit ? events.last?.id.map { "\"\($0)\"" } ?? "null" : "null"
            return JSONResponse.raw("{\"contact_id\":\(try Self.encoded(id)),\"events\":[\(list)],\"next_before\":\(next)}")
        } catch {
            return storeTrouble(error)
        }
    }

    /// `{"agent": "alice", "to": "+12025550142"}`: rings the agent's phone, then
    /// calls the number as the agent would (202 once the agent answered).
    private func clickToCall(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor, .agent]) else { return forbidden(token, "place calls") }
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Problem.response(400, "Bad request", "The body is {\"agent\": \"alice\", \"to\": \"+12025550142\"}")
        }
        let agent: String, to: String
        do { (agent, to) = try agentAndNumber(body, token, doing: "place calls", extra: "*#") } catch { return error.response }
        let service = self.service
        switch Self.awaitBounded(.seconds(45), { await service.clickToCall(agent: agent, to: to) }) ?? .failed("no answer from the gateway") {
        case .connecting:
            return JSONResponse.make(["agent": agent, "to": to, "status": "connecting: the agent answered, the number is being called"], status: 202)
        case .noSuchAgent: return Problem.response(404, "Not found", "No agent '\(Self.shown(agent))'.")
        case .agentUnreachable: return Problem.response(409, "Agent unreachable", "Agent '\(agent)' has no phone to ring (none registered or reachable).")
        case .agentDidNotAnswer(let status):
            return Problem.response(409, "Agent did not answer", "Agent '\(agent)''s phone did not answer (SIP \(status)); nobody was called.")
        case .failed(let reason): return Problem.response(502, "Call not placed", reason)
        }
    }

    /// Runs async gateway work from a connection's thread (which may block) and
    /// waits for it at most `limit`; nil when it took longer (it goes on).
    static func awaitBounded<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) -> T? {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<T?>(nil)
        Task {
            let value = await work()
            result.withLock { $0 = value }
            done.signal()
        }
        guard done.wait(timeout: .now() + limit.timeInterval) == .success else { return nil }
        return result.withLock { $0 }
    }

    struct Refusal: Error { let response: HTTPResponse }

    /// The agent a request acts for (an agent's token: itself only) and the number or
    /// name it gives in `to` (digits, `+`, letters, `-_.` and `extra`).
    private func agentAndNumber(_ body: [String: Any], _ token: APIToken, doing what: String, extra: String = "") throws(Refusal)
        -> (agent: String, to: String) {
        guard let to = body["to"] as? String, !to.isEmpty, to.count <= 64,
              to.allSatisfy({ $0.isNumber || $0 == "+" || $0.isLetter || "-_.".contains($0) || extra.contains($0) }) else {
            throw Refusal(response: Problem.response(400, "Bad request", "'to' is a number (or a name the agent's context knows)"))
        }
        let asked = body["agent"] as? String
        if token.role == .agent, let asked, asked != token.agent { throw Refusal(response: forbidden(token, "\(what) as another agent")) }
        guard let agent = token.role == .agent ? token.agent : asked else {
            throw Refusal(response: Problem.response(400, "Bad request", "Say which agent: \"agent\""))
        }
        return (agent, to)
    }

    /// Each webhook's deliveries: pending, delivered, given up, and the last error.
    private func webhooks(_ token: APIToken) -> HTTPResponse {
        guard allows(token, [.admin, .supervisor]) else { return forbidden(token, "read webhooks") }
        do {
            let list: [[String: Any]] = try stores.store().webhookSummaries().map { summary in
                var item: [String: Any] = ["webhook": summary.webhook, "pending": summary.pending, "delivered": summary.delivered,
                                           "given_up": summary.givenUp]
                if let error = summary.lastError { item["last_error"] = error }
                return item
            }
            return JSONResponse.make(["webhooks": list])
        } catch {
            return storeTrouble(error)
        }
    }

    // MARK: - The live event stream

    /// Server-Sent Events: `topics` (pops, agents, calls, messages; default all
    /// the role may see), resumed after `Last-Event-ID`. An agent's token sees
    /// its own pops, calls, state and SMS conversations only; a helpdesk's, calls.
    private func stream(_ request: HTTPRequest, _ token: APIToken) -> HTTPResponse {
        let allowed: Set<String> = switch token.role {
        case .admin, .supervisor, .agent: ["pops", "agents", "calls", "messages"]
        case .helpdesk: ["calls"]
        case .integration: []
        }
        guard !allowed.isEmpty else { return forbidden(token, "read the event stream") }
        var topics = allowed
        if let asked = request.query["topics"] {
            let wanted = Set(asked.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard wanted.isSubset(of: ["pops", "agents", "calls", "messages"]) else {
                return Problem.response(400, "Bad request", "'topics' takes pops, agents, calls and messages, separated by commas")
            }
            guard wanted.isSubset(of: allowed) else { return forbidden(token, "read \(wanted.subtracting(allowed).sorted().joined(separator: ", "))") }
            topics = wanted
        }
        var from: UInt64?
        if let text = request.headers["last-event-id"] ?? request.query["last_event_id"] {
            guard let id = UInt64(text) else { return Problem.response(400, "Bad request", "Last-Event-ID is an id this stream sent") }
            from = id
        }
        let agent = token.role == .agent ? token.agent : nil
        // A console says when it shows a pop (POST /api/v1/pops/{sequence}/shown); the gateway rings after that.
        let saysShown = request.query["shown"] == "pops"
        let body = EventStreamBody(hub: hub, from: from, screenOf: topics.contains("pops") ? agent : nil, saysShown: saysShown) { item in
            topics.contains(item.topic) && (agent == nil || item.agent == agent)
        }
        var response = HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                                                          ("X-Accel-Buffering", "no")])
        response.stream = body
        return response
    }

    /// An agent's console shows pop `sequence`: the gateway may ring the agent now
    /// (it waits at most `[screenpop] console_wait` for this). 204 whether or not the
    /// ring still waited: saying so twice, or late, is harmless.
    private func popShown(_ sequence: String, _ token: APIToken) -> HTTPResponse {
        guard token.role == .agent, let agent = token.agent else { return forbidden(token, "say an agent's pop is shown") }
        guard let number = UInt64(sequence) else { return Problem.response(400, "Bad request", "A pop's sequence is a number") }
        _ = hub.shown(pop: number, agent: agent)
        return HTTPResponse(status: 204)
    }

    static func json(_ status: AgentStatus) -> [String: Any] {
        var document: [String: Any] = ["agent": status.agent, "state": status.state.rawValue, "presence": status.presence.name,
                                       "queues": status.queues, "phones": status.phones,
                                       "since": Timestamp.string(status.since)]
        if case .paused(let reason) = status.presence { document["reason"] = reason }
        return document
    }

    // MARK: - Helpers

    private func methodNotAllowed(_ allowed: String) -> HTTPResponse {
        Problem.response(405, "Method not allowed", "Use \(allowed).", headers: [("Allow", allowed)])
    }

    private func storeTrouble(_ error: Error) -> HTTPResponse {
        Problem.response(503, "Store unavailable", "The store did not answer: \(error)", headers: [("Retry-After", "1")])
    }

    static func time(_ text: String, _ name: String) throws -> Date {
        guard let date = Timestamp.parse(text) else { throw BadRequest("'\(name)' must be ISO 8601, such as 2026-11-24T10:00:00Z") }
        return date
    }

    /// A value from the request, cut short and without control characters, for a message.
    static func shown(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(80)))
    }
}

struct BadRequest: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The API on its HTTP server, as `omnigate run` starts it.
public enum APIServer {
    public static func start(service: Service, config: GatewayConfig, listen: ListenAddress) throws -> (server: HTTPServer, api: API) {
        let api = API(service: service, config: config)
        var certificate: String?, key: String?
        if let certificatePath = config.http.tlsCertificate, let keyPath = config.http.tlsPrivateKey {
            do {
                certificate = try String(contentsOfFile: certificatePath, encoding: .utf8)
                key = try String(contentsOfFile: keyPath, encoding: .utf8)
            } catch {
                throw HTTPServerError(description: "cannot read [http] tls_certificate or tls_private_key: \(error.localizedDescription)")
            }
        }
        let server = try HTTPServer(host: listen.host, port: listen.port, certificate: certificate, privateKey: key,
                                    maxConnections: config.http.maxConnections, connectionsPerAddress: config.http.connectionsPerAddress,
                                    maxBody: config.http.maxBody) { api.handle($0) }
        server.beforeStop = { api.close() }
        return (server, api)
    }
}

/// The API's own connection to the store, opened on first use (a gateway that
/// starts on a full disk still starts; the API answers 503 until the store opens).
final class StoreHandle: Sendable {
    private let settings: GatewayConfig.Store
    private let opened = Mutex<TimelineStore?>(nil)

    init(settings: GatewayConfig.Store) {
        self.settings = settings
    }

    func store() throws -> TimelineStore {
        try opened.withLock { opened in
            if let store = opened { return store }
            let store = try settings.open()
            opened = store
            return store
        }
    }
}
