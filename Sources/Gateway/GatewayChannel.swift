import Configuration
import Dialplan
import Foundation
import Log
import SIPEngine
import Synchronization
import Timeline

/// What every call shares: the engine, the store, agents and queues, the screen-pop bus.
final class Services: Sendable {
    let engine: SIPEngine
    let router: CallRouter
    let access: StoreAccess
    let roster: AgentRoster
    let lines: WaitingLines
    let bus: ScreenPopBus
    /// Calls started, answered and ended.
    let calls = Broadcast<CallEvent>()
    let messages = Broadcast<MessageEvent>()
    let popFile: ScreenPopFile?
    /// Agents kept in step with the other gateways on a shared (PostgreSQL) store; nil on SQLite.
    let shared: SharedAgents?
    private let settings: Mutex<GatewayConfig>
    let log = Logger("call")

    init(engine: SIPEngine, router: CallRouter, access: StoreAccess, roster: AgentRoster, lines: WaitingLines, bus: ScreenPopBus,
         popFile: ScreenPopFile?, shared: SharedAgents?, config: GatewayConfig) {
        self.engine = engine
        self.router = router
        self.access = access
        self.roster = roster
        self.lines = lines
        self.bus = bus
        self.popFile = popFile
        self.shared = shared
        settings = Mutex(config)
    }

    var config: GatewayConfig { settings.withLock { $0 } }
    func update(_ config: GatewayConfig) { settings.withLock { $0 = config } }

    /// The gateway's own host for URIs it makes up (From of agent legs, …).
    var localHost: String {
        let engineHost = engine.transports.first?.host ?? "127.0.0.1"
        return engineHost == "0.0.0.0" || engineHost == "::" ? "127.0.0.1" : engineHost
    }

    /// Publishes a pop on the bus and, first, to the JSON-lines feed.
    func publish(_ pop: ScreenPop) -> ScreenPop {
        var pop = pop
        pop.publishedAt = Date()
        let published = bus.publish(pop)
        popFile?.write(.published(published))
        return published
    }

    func withdraw(callID: String, agent: String, reason: String) {
        bus.withdraw(callID: callID, agent: agent, reason: reason)
        popFile?.write(.withdrawn(callID: callID, agent: agent, reason: reason))
    }
}

/// What the call record needs to know, gathered while the call runs.
struct CallFacts: Sendable {
    var answeredAt: Date?
    /// When an agent's leg answered, and when the caller was first bridged to anyone.
    var agentAnsweredAt: Date?
    var bridgedAt: Date?
    var agent: String?
    var queue: String?
    var dstchannel = ""
    var waitMilliseconds: Int?
    var agentSIPStatus: Int?
    var recording: String?
    /// DIALSTATUS (or a queue's outcome as one) of the last Dial or Queue.
    var lastDialStatus: String?
    var agentHungUp = false
    /// The leg that was bridged to the caller.
    var agentLeg: CallID?
    /// The trunk the bridged leg went out through, if it called a number.
    var trunk: String?
}

/// A live SIP call as the dialplan's `Channel`.
final class GatewayChannel: Channel, Sendable {
    let session: CallSession
    let services: Services
    let origin: CallOrigin
    let book: CallRecordBook
    let lookup: CallerLookup
    let facts = Mutex(CallFacts())
    private let legCounter = Atomic<Int>(0)

    init(session: CallSession, services: Services, origin: CallOrigin, book: CallRecordBook, lookup: CallerLookup) {
        self.session = session
        self.services = services
        self.origin = origin
        self.book = book
        self.lookup = lookup
    }

    /// The uniqueid of the call's running part (a transfer starts a new one).
    var uniqueID: String { book.uniqueID }

    var isHungUp: Bool { !session.isUp }

    /// Answers the caller; the record learns the answer time now, so a crash later
    /// still leaves an ANSWERED record with the talk time up to it.
    func answer() async -> Bool {
        let ok = await session.answer()
        guard ok else { return false }
        let first = facts.withLock { facts -> Date? in
            guard facts.answeredAt == nil else { return nil }
            facts.answeredAt = Date()
            return facts.answeredAt
        }
        if let first {
            services.access.write(.callProgress(uniqueid: uniqueID, state: "answered", answer: first, agent: nil, dstchannel: nil, queue: nil))
        }
        return ok
    }

    func ringing() async { session.ringing() }
    func progress() async { session.progress() }

    /// Q.850 cause to the SIP answer for a call not answered yet (RFC 3398).
    func hangup(cause: Int) async {
        let status: Int = switch cause {
        case 1: 404
        case 17: 486
        case 18, 19: 480
        case 21: 403
        case 27, 38: 502
        case 34, 41, 42, 44: 503
        default: 480
        }
        session.hangup(status: status)
    }

    func wait(_ duration: Duration) async -> Bool { await session.pause(duration) }

    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult {
        for prompt in prompts {
            switch await session.play(prompt, stopOn: Set(interruptDigits)) {
            case .finished: continue
            case .digit(let digit): return .interrupted(digit)
            case .hungUp: return .hungUp
            case .failed(let reason): return .failed(reason)
            }
        }
        return .finished
    }

    func digit(timeout: Duration) async -> Character? { await session.digit(timeout: timeout) }

    func contact(field: String) async -> String? {
        await lookup.field(field, within: services.config.screenPop.lookupBudget)
    }

    // MARK: - Dial

    func dial(_ request: DialRequest) async -> DialResult {
        let started = Date()
        var legs: [LegRequest] = []
        for target in request.targets {
            let found = await self.legs(for: target, request: request, queue: nil)
            if found.isEmpty {
                services.log.warning("dial target unavailable", ("call.uniqueid", uniqueID), ("target", target),
                                     ("reason", services.roster.unavailability(of: Self.resource(target)) ?? "not a known target"))
            }
            legs += found
        }
        guard !legs.isEmpty else {
            facts.withLock { $0.lastDialStatus = "CHANUNAVAIL" }
            return DialResult(status: "CHANUNAVAIL")
        }
        // Agents rung directly are ringing too: no queue offers them a call meanwhile.
        let agents = Set(legs.compactMap(\.agent))
        for agent in agents { services.roster.ringing(agent) }
        let outcome = await session.dial(legs, timeout: request.timeout ?? .seconds(3600)) { self.bridged($0, queue: nil) }
        for agent in agents where agent != outcome.answered?.agent { services.roster.release(agent) }
        withdrawPops(legs, except: outcome.answered?.agent, reason: outcome.status == .answer ? "answered by another agent" : outcome.status.rawValue)
        var result = record(outcome, started: started, queue: nil)
        if let target = outcome.transfer {
            await transferred(to: target, by: outcome.answered)
            result.transfer = target
        }
        return result
    }

    /// The answering party transferred the caller: the record of the call so
    /// far is closed (lastapp Transfer) and the next part's is opened; the
    /// dialplan goes on at the target.
    private func transferred(to target: TransferTarget, by leg: LegRequest?) async {
        let facts = self.facts.withLock { facts -> CallFacts in
            defer { facts = CallFacts() }
            return facts
        }
        let (closed, opened) = book.transfer(to: target, facts: facts, newID: services.access.identity.nextUniqueID())
        await services.access.writeAndWait(.finalizeCall(closed))
        services.access.write(.openCall(opened))
        services.log.info("call transferred", ("call.uniqueid", closed.uniqueid), ("next.uniqueid", opened.uniqueid),
                          ("by", leg?.agent ?? leg?.trunk ?? "-"), ("exten", target.exten), ("context", target.context))
    }

    /// A leg answered and is bridged to the caller: an agent is on a call now,
    /// and the record says so at once (a crash later still shows who took it).
    private func bridged(_ leg: LegRequest, queue: String?) {
        if let agent = leg.agent { services.roster.answered(agent) }
        services.calls.send(CallEvent(kind: .answered, uniqueid: uniqueID, direction: origin.agent == nil ? "inbound" : "outbound",
                                      from: origin.callerID(session.call).number, to: SIPAddress(uri: session.call.requestURI).user,
                                      agent: leg.agent, queue: queue,
                                      time: Date()))
        services.access.write(.callProgress(uniqueid: uniqueID, state: "bridged", answer: Date(), agent: leg.agent,
                                            dstchannel: leg.channelName, queue: queue))
    }

    /// Notes a Dial's outcome in the call's facts and turns it into a DialResult.
    private func record(_ outcome: DialOutcome, started: Date, queue: String?) -> DialResult {
        facts.withLock { facts in
            facts.lastDialStatus = outcome.status.rawValue
            facts.agentSIPStatus = outcome.status == .answer ? 200 : outcome.sipStatuses.last ?? facts.agentSIPStatus
            if let answered = outcome.answered {
                facts.agent = answered.agent ?? facts.agent
                facts.trunk = answered.trunk ?? facts.trunk
                facts.dstchannel = answered.channelName
                facts.queue = queue ?? facts.queue
                facts.waitMilliseconds = Int((outcome.answeredAt ?? Date()).timeIntervalSince(started) * 1000)
                if facts.answeredAt == nil { facts.answeredAt = outcome.answeredAt }
                if facts.bridgedAt == nil { facts.bridgedAt = outcome.answeredAt }
                if answered.agent != nil, facts.agentAnsweredAt == nil { facts.agentAnsweredAt = outcome.answeredAt }
                facts.agentHungUp = !outcome.callerHungUp
                facts.agentLeg = outcome.answeredLeg
            }
        }
        if let agent = outcome.answered?.agent { services.roster.finished(agent, queue: queue) }
        let answeredSeconds = outcome.answeredAt.map { Int((outcome.endedAt ?? Date()).timeIntervalSince($0)) } ?? 0
        return DialResult(status: outcome.status.rawValue, answeredTarget: outcome.answered?.destination,
                          answeredSeconds: answeredSeconds, dialedSeconds: Int(Date().timeIntervalSince(started)))
    }

    /// A Dial target without its technology: `PJSIP/alice` → `alice`.
    static func resource(_ target: String) -> String {
        var resource = target
        for tech in ["PJSIP/", "SIP/"] where resource.uppercased().hasPrefix(tech) {
            resource = String(resource.dropFirst(tech.count))
        }
        return resource
    }

    /// Resolves `PJSIP/alice` (an agent: a leg to each of its phones),
    /// `PJSIP/+15551234567@provider` (a trunk), `PJSIP/sip:bob@192.0.2.1` or
    /// `sip:…` (a URI) to legs; agent legs get their screen pop first. Empty:
    /// nothing to ring.
    func legs(for target: String, request: DialRequest?, queue: String?) async -> [LegRequest] {
        let resource = Self.resource(target)
        let config = services.config
        let callerNumber = request?.callerIDNumber ?? origin.callerID(session.call).number
        let callerName = request?.callerIDName ?? origin.callerID(session.call).name
        var inherited: [(String, String)] = []
        for (name, value) in (request?.inherited ?? [:]).sorted(by: { $0.key < $1.key }) {
            let bare = name.drop { $0 == "_" }
            guard !bare.isEmpty, bare.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            inherited.append(("X-Omnigate-Var-\(bare)", value))
        }
        let n = legCounter.add(1, ordering: .relaxed).newValue
        if let agent = services.roster.agent(named: resource) {
            let destinations = services.roster.destinations(of: agent.name)
            guard !destinations.isEmpty else { return [] }
            let (headers, display) = await popFor(agent: agent.name, queue: queue, callerNumber: callerNumber, callerName: callerName,
                                                  overTLS: destinations.allSatisfy(isTLSURI))
            return destinations.map { destination in
                LegRequest(destination: destination,
                           from: SIPAddress(displayName: display, uri: "sip:\(callerNumber.isEmpty ? "anonymous" : callerNumber)@\(services.localHost)"),
                           headers: headers + inherited, account: nil, agent: agent.name, srtp: agent.media.srtp,
                           channelName: "PJSIP/\(agent.name)-\(String(format: "%08x", n))")
            }
        }
        if let at = resource.lastIndex(of: "@"), !resource.lowercased().hasPrefix("sip:"),
           let trunk = config.trunks.first(where: { $0.name == String(resource[resource.index(after: at)...]) }), let host = trunk.host {
            let number = String(resource[..<at])
            let hostPart = TrunkDirectory.hostPart(of: host)
            let usesAccount = trunk.register || !trunk.username.isEmpty
            // An agent's own call goes out as the company (the trunk's from_user),
            // unless the dialplan set CALLERID(num); a caller's call keeps its caller ID.
            let agentCalls = origin.agent.map { callerNumber == $0.name } ?? false
            let from = agentCalls ? SIPAddress(displayName: "", uri: "sip:\(trunk.fromUser)@\(services.localHost)")
                : SIPAddress(displayName: callerName, uri: "sip:\(callerNumber)@\(services.localHost)")
            return [LegRequest(destination: "sip:\(number)@\(hostPart)",
                               from: usesAccount ? nil : from,
                               headers: inherited, account: usesAccount ? trunk.name : nil, agent: nil, trunk: trunk.name,
                               srtp: trunk.media.srtp, channelName: "PJSIP/\(trunk.name)-\(String(format: "%08x", n))")]
        }
        if resource.lowercased().hasPrefix("sip:") || resource.lowercased().hasPrefix("sips:") {
            return [LegRequest(destination: resource,
                               from: SIPAddress(displayName: callerName, uri: "sip:\(callerNumber)@\(services.localHost)"),
                               headers: inherited, account: nil, agent: nil, channelName: "PJSIP/\(resource)-\(String(format: "%08x", n))")]
        }
        return []
    }

    /// Looks the caller up (within the budget), publishes the pop for one agent,
    /// and returns the headers and display name for the agent's INVITE. With
    /// `[screenpop] require_tls`, a leg not over TLS carries the number alone:
    /// customer data never crosses the network in cleartext SIP.
    private func popFor(agent: String, queue: String?, callerNumber: String, callerName: String,
                        overTLS: Bool) async -> ([(name: String, value: String)], String) {
        let config = services.config
        var missing: [String] = []
        var context: CallerContext?
        switch await lookup.value(within: config.screenPop.lookupBudget) {
        case .success(let pop): context = CallerContext(pop)
        case .failure(let failure): missing.append(failure.description)
        }
        let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let url = config.screenPop.url
            .replacingOccurrences(of: "{contact}", with: (context?.contactID ?? "unknown").addingPercentEncoding(withAllowedCharacters: unreserved) ?? "unknown")
            .replacingOccurrences(of: "{number}", with: callerNumber.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
        let pop = services.publish(ScreenPop(sequence: 0, publishedAt: Date(), callID: uniqueID, agent: agent, queue: queue,
                                             callerNumber: callerNumber, callerName: context?.name ?? callerName, url: url,
                                             context: context, missing: missing))
        services.log.info("screen pop", ("call.uniqueid", uniqueID), ("agent", agent), ("pop", pop.sequence),
                          ("known", context?.known ?? false), ("missing", missing.isEmpty ? "-" : missing.joined(separator: "; ")))
        // The agent's open screens get the pop before its phone rings (at most console_wait later).
        if !(await services.bus.shown(pop, within: config.screenPop.consoleWait)) {
            services.log.info("screen pop not on the agent's screens within console_wait; ringing anyway", ("call.uniqueid", uniqueID),
                              ("agent", agent), ("pop", pop.sequence))
        }
        if config.screenPop.requireTLS && !overTLS {
            services.log.info("screen pop kept off the agent's INVITE: the leg is not over TLS", ("call.uniqueid", uniqueID), ("agent", agent))
            return ([("X-Omnigate-Pop", String(pop.sequence)), ("X-Omnigate-Call", uniqueID)], callerNumber)
        }
        var headers: [(name: String, value: String)] = [("Call-Info", "<\(url)>;purpose=info")]
        let summary = context?.summaryHeader ?? "name=\"\(callerName.isEmpty ? callerNumber : callerName)\"; missing=\"\(missing.joined(separator: "; "))\""
        headers.append(("X-Omnigate-Summary", summary))
        headers.append(("X-Omnigate-Pop", String(pop.sequence)))
        // The call's uniqueid: a pop, its call record and an agent's wrap-up note join on it.
        headers.append(("X-Omnigate-Call", uniqueID))
        var display = context?.name ?? callerName
        if let tier = context?.tier, tier != "standard" { display += " (\(tier))" }
        return (headers, display)
    }

    private func withdrawPops(_ legs: [LegRequest], except winner: String?, reason: String) {
        for leg in legs {
            guard let agent = leg.agent, agent != winner else { continue }
            services.withdraw(callID: uniqueID, agent: agent, reason: reason)
        }
    }

    // MARK: - Queue

    /// Asterisk's Queue: the caller joins the queue's waiting line (unless
    /// `joinempty` or `maxlen` says no), hears its position now and then, and
    /// is offered a free agent when it has the turn; it leaves when answered,
    /// at the time limit (TIMEOUT), when the queue empties (`leavewhenempty`:
    /// LEAVEEMPTY) or when it hangs up.
    func queue(_ request: QueueRequest) async -> QueueResult {
        let roster = services.roster
        guard let queue = roster.queue(named: request.queue) else {
            services.log.warning("no such queue", ("call.uniqueid", uniqueID), ("queue", request.queue))
            facts.withLock { $0.lastDialStatus = "CHANUNAVAIL" }
            return QueueResult(status: "JOINUNAVAIL")
        }
        facts.withLock { $0.queue = queue.name }
        guard roster.hasUsableMember(queue.name, under: queue.joinEmpty) else {
            services.log.info("queue: the caller may not join: no member counts (joinempty)", ("call.uniqueid", uniqueID),
                              ("queue", queue.name), ("agents", whyNobody(queue)))
            facts.withLock { $0.lastDialStatus = "CHANUNAVAIL" }
            return QueueResult(status: "JOINEMPTY")
        }
        let line = services.lines.line(for: queue.name)
        let shared = services.shared
        // On a shared store the queue's callers are every gateway's.
        let waiting = line.count + (shared?.callersElsewhere(in: queue.name) ?? 0)
        if queue.maxLength > 0 && waiting >= queue.maxLength {
            services.log.info("queue: full", ("call.uniqueid", uniqueID), ("queue", queue.name), ("waiting", waiting))
            return QueueResult(status: "FULL")
        }
        guard await answer() else { return QueueResult(status: "LEAVEUNAVAIL") }
        let entered = Date(), joined = ContinuousClock.now
        let deadline = joined + min(request.timeout ?? queue.maxWait, queue.maxWait)
        var lastAgent: String?
        if queue.strategy == .sticky, case .success(let pop) = await lookup.value(within: services.config.screenPop.lookupBudget) {
            lastAgent = pop.summary.lastAgent
        }
        let ticket = line.join(priority: request.priority)
        let uniqueID = self.uniqueID
        shared?.waiting(uniqueID, queue: queue.name, priority: request.priority, joinedAt: entered, ringing: false)
        defer {
            line.leave(ticket)
            shared?.left(uniqueID)
        }
        session.mailbox.onHangup { line.wake(ticket) }
        /// Place in line: behind the callers here and, on a shared store, those on other gateways who come first.
        let position = { () -> Int? in
            line.position(of: ticket).map { $0 + (shared?.callersAhead(in: queue.name, priority: request.priority, joinedAt: entered) ?? 0) }
        }
        services.log.info("queue: joined", ("call.uniqueid", uniqueID), ("queue", queue.name), ("position", position() ?? 0),
                          ("priority", request.priority))
        var nextAnnouncement = queue.announceFrequency.map { joined + $0 }
        var saidWhy = false
        /// Since when this caller, with the turn and an agent free, lets a caller on another gateway go first.
        var deferringSince: ContinuousClock.Instant?
        while session.isUp && ContinuousClock.now < deadline {
            guard roster.hasUsableMember(queue.name, under: queue.leaveWhenEmpty) else {
                services.log.info("queue: the caller leaves: no member counts (leavewhenempty)", ("call.uniqueid", uniqueID),
                                  ("queue", queue.name), ("agents", whyNobody(queue)))
                noteWait(since: entered, status: "NOANSWER")
                return QueueResult(status: "LEAVEEMPTY")
            }
            let until = min(deadline, nextAnnouncement ?? deadline)
            // A caller deferring keeps the turn it has; any other waits to be given it.
            if deferringSince == nil || !line.hasTurn(ticket) {
                deferringSince = nil
                guard await line.waitForTurn(ticket, timeout: until - .now) else {
                    if let next = nextAnnouncement, ContinuousClock.now >= next, session.isUp {
                        await announce(queue, position: position(), expectedWait: line.expectedWait)
                        nextAnnouncement = .now + queue.announceFrequency!
                    }
                    continue
                }
                guard session.isUp else { break }
            }
            if let shared, roster.hasFreeMember(queue.name),
               shared.callersAhead(in: queue.name, priority: request.priority, joinedAt: entered) > 0 {
                let since = deferringSince ?? .now
                if ContinuousClock.now - since < SharedAgents.deferLimit {
                    if deferringSince == nil {
                        services.log.info("queue: a caller who came first on another gateway is served first", ("call.uniqueid", uniqueID),
                                          ("queue", queue.name))
                    }
                    deferringSince = since
                    // Woken when the other gateways' callers change (or an agent here does).
                    _ = await line.waitForTurn(ticket, timeout: min(since + SharedAgents.deferLimit, until) - .now)
                    continue
                }
                services.log.info("queue: the caller on another gateway was not served; this one goes ahead", ("call.uniqueid", uniqueID),
                                  ("queue", queue.name))
            }
            deferringSince = nil
            let picked = roster.pick(queue: queue.name, lastAgent: lastAgent)
            guard !picked.isEmpty else {
                if !saidWhy {
                    saidWhy = true
                    services.log.info("queue: no agent can take the call yet", ("call.uniqueid", uniqueID), ("queue", queue.name),
                                      ("agents", whyNobody(queue)))
                }
                continue  // the line wakes this caller when an agent is freed
            }
            // While these ring, the next caller (here or on another gateway) may be offered another free agent.
            line.stepAside(ticket)
            shared?.waiting(uniqueID, queue: queue.name, priority: request.priority, joinedAt: entered, ringing: true)
            var legs: [LegRequest] = []
            var offered: [String] = []
            for agent in picked {
                // On a shared store another gateway may have taken the agent a moment ago.
                if let shared, !(await shared.confirm(agent.name)) {
                    roster.release(agent.name)
                    continue
                }
                let found = await self.legs(for: agent.name, request: nil, queue: queue.name)
                if found.isEmpty { roster.release(agent.name) } else { offered.append(agent.name) }
                legs += found
            }
            let ring = min(queue.ringTimeout, deadline - .now)
            let outcome = await session.dial(legs, timeout: ring) { leg in
                // Answered: no longer waiting (the callers behind move up, here and on other gateways).
                line.leave(ticket)
                shared?.left(uniqueID)
                self.bridged(leg, queue: queue.name)
            }
            for agent in offered where agent != outcome.answered?.agent { roster.release(agent) }
            withdrawPops(legs, except: outcome.answered?.agent, reason: outcome.status == .answer ? "answered by another agent" : "not answered")
            if outcome.status == .answer {
                line.answered(after: ContinuousClock.now - joined)
                _ = record(outcome, started: entered, queue: queue.name)
                if let target = outcome.transfer { await transferred(to: target, by: outcome.answered) }
                return QueueResult(status: nil, agent: outcome.answered?.agent, transfer: outcome.transfer)
            }
            line.stepBack(ticket)
            shared?.waiting(uniqueID, queue: queue.name, priority: request.priority, joinedAt: entered, ringing: false)
            if outcome.status == .cancel || !session.isUp { break }
            facts.withLock { $0.agentSIPStatus = outcome.sipStatuses.last ?? $0.agentSIPStatus }
        }
        noteWait(since: entered, status: session.isUp ? "NOANSWER" : "CANCEL")
        return QueueResult(status: session.isUp ? "TIMEOUT" : "LEAVEUNAVAIL")
    }

    private func noteWait(since entered: Date, status: String) {
        facts.withLock { facts in
            facts.waitMilliseconds = Int(Date().timeIntervalSince(entered) * 1000)
            facts.lastDialStatus = status
        }
    }

    /// Each member and why it cannot take a call, for the log.
    private func whyNobody(_ queue: Queue) -> String {
        let roster = services.roster
        let members = roster.members(of: queue.name)
        guard !members.isEmpty else { return "nobody is logged in" }
        return members.map { "\($0): \(roster.unavailability(of: $0, queue: queue.name) ?? "free")" }.joined(separator: "; ")
    }

    /// Tells a waiting caller its place in line and the expected wait, as
    /// Asterisk's periodic announcements: "you are next" or "you are number
    /// N in line", "your expected wait is about M minutes", "thank you for holding".
    private func announce(_ queue: Queue, position: Int?, expectedWait: Duration?) async {
        var prompts: [String] = []
        if queue.announcePosition, let position {
            if position == 1 {
                prompts.append("queue-youarenext")
            } else if let number = Self.numberPrompts(position) {
                prompts += ["queue-thereare"] + number + ["queue-callswaiting"]
            }
        }
        if queue.announceHoldTime, let wait = expectedWait, wait >= .seconds(60) {
            let minutes = Int((wait.timeInterval / 60).rounded())
            if let number = Self.numberPrompts(minutes) {
                prompts += ["queue-holdtime"] + number + [minutes == 1 ? "queue-minute" : "queue-minutes"]
            }
        }
        prompts.append("queue-thankyou")
        services.log.info("queue: announcement", ("call.uniqueid", uniqueID), ("queue", queue.name), ("position", position ?? 0),
                          ("expected_wait_s", expectedWait.map { Int($0.timeInterval) } ?? 0), ("prompts", prompts.joined(separator: "&")))
        for prompt in prompts {
            guard session.isUp else { return }
            _ = await session.play(prompt)
        }
    }

    /// The prompts that say a whole number from 1 to 99 (`digits/40`, `digits/2`); nil beyond.
    static func numberPrompts(_ n: Int) -> [String]? {
        guard (1...99).contains(n) else { return nil }
        if n <= 20 || n % 10 == 0 { return ["digits/\(n)"] }
        return ["digits/\(n / 10 * 10)", "digits/\(n % 10)"]
    }

    // MARK: - Voicemail and recording

    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult {
        let config = services.config
        let mailbox = request.mailboxes[0].split(separator: "@").first.map(String.init) ?? "default"
        guard await answer() else { return VoicemailResult(status: "FAILED") }
        if !request.options.contains("s") {
            if case .hungUp = await session.play("vm-intro") { return VoicemailResult(status: "FAILED") }
            _ = await session.play("beep")
        }
        let safeBox = mailbox.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        let path = absolute(config.media.recordings) + "/voicemail/\(safeBox.isEmpty ? "default" : safeBox)/\(uniqueID).wav"
        session.flushDigits()
        guard let recorded = await session.record(to: path, maxDuration: .seconds(180), stopOn: ["#"]) else {
            return VoicemailResult(status: "FAILED")
        }
        facts.withLock { $0.recording = path }
        services.access.write(.voicemail(callID: uniqueID, from: session.call.from.uri, mailbox: mailbox, recordingPath: path,
                                         durationMilliseconds: Int(recorded.seconds * 1000), time: Date()))
        services.log.info("voicemail", ("call.uniqueid", uniqueID), ("mailbox", mailbox), ("seconds", String(format: "%.1f", recorded.seconds)),
                          ("path", path))
        return VoicemailResult(status: recorded.end == .digit ? "USEREXIT" : "SUCCESS", recording: path)
    }

    func record(_ request: RecordRequest) async -> RecordResult {
        var path = request.path
        if !path.hasPrefix("/") { path = absolute(services.config.media.recordings) + "/" + path }
        if (path as NSString).pathExtension.isEmpty { path += ".wav" }
        guard (path as NSString).pathExtension.lowercased() == "wav" else { return RecordResult(status: "ERROR") }
        guard let recorded = await session.record(to: path, maxDuration: request.maxDuration ?? .seconds(3600), stopOn: ["#"]) else {
            return RecordResult(status: "ERROR")
        }
        facts.withLock { $0.recording = path }
        let status = switch recorded.end {
        case .digit: "DTMF"
        case .maxDuration: "TIMEOUT"
        case .hangup: "HANGUP"
        }
        return RecordResult(status: status, path: path)
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    // MARK: - Agents

    func queueMember(_ change: QueueMemberChange) async -> String {
        let roster = services.roster
        let named = change.interface.isEmpty ? origin.agent?.name : Self.resource(change.interface)
        guard let name = named, roster.agent(named: name) != nil else {
            services.log.warning("\(change.action.rawValue): not an agent", ("call.uniqueid", uniqueID),
                                 ("interface", change.interface.isEmpty ? "(this call's: not an agent's phone)" : change.interface))
            return "NOTFOUND"
        }
        let queue = change.queue.isEmpty ? nil : change.queue
        let outcome: AgentRoster.MemberChange = switch change.action {
        case .add: roster.logIn(name, queue: queue)
        case .remove: roster.logOut(name, queue: queue)
        case .pause: roster.pause(name, reason: change.reason)
        case .unpause: roster.unpause(name)
        }
        services.log.info("\(change.action.rawValue)", ("call.uniqueid", uniqueID), ("agent", name), ("queue", change.queue.isEmpty ? "(all)" : change.queue),
                          ("result", outcome.rawValue))
        return outcome.rawValue
    }

    func queueFigure(_ query: QueueQuery) async -> String? {
        switch query {
        case .waiting(let queue):
            return String(services.lines.existing(queue)?.count ?? 0)
        case .member(let queue, let option, let interface):
            return services.roster.memberFigure(queue: queue, option: option, member: interface.isEmpty ? nil : Self.resource(interface))
        }
    }

    // MARK: - Messages

    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult {
        switch origin {
        case .trunk(let trunk):
            await MessageSender(services: services).send(message, trunk: trunk, replyTo: session.call.source, fallbackFrom: session.call.to)
        case .agent(let agent):
            // Never From the number the agent dialled: the trunk's company number, or the agent's name.
            await MessageSender(services: services).send(message, trunk: nil, replyTo: nil, fallbackFrom: nil, agent: agent.name)
        }
    }
}
