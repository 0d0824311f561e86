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
    let bus: ScreenPopBus
    let popFile: ScreenPopFile?
    private let settings: Mutex<GatewayConfig>
    let log = Logger("call")

    init(engine: SIPEngine, router: CallRouter, access: StoreAccess, roster: AgentRoster, bus: ScreenPopBus,
         popFile: ScreenPopFile?, config: GatewayConfig) {
        self.engine = engine
        self.router = router
        self.access = access
        self.roster = roster
        self.bus = bus
        self.popFile = popFile
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
}

/// A live SIP call as the dialplan's `Channel`.
final class GatewayChannel: Channel, Sendable {
    let session: CallSession
    let services: Services
    let trunk: Trunk
    let book: CallRecordBook
    let lookup: CallerLookup
    let facts = Mutex(CallFacts())
    private let legCounter = Atomic<Int>(0)

    init(session: CallSession, services: Services, trunk: Trunk, book: CallRecordBook, lookup: CallerLookup) {
        self.session = session
        self.services = services
        self.trunk = trunk
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
        let outcome = await session.dial(legs, timeout: request.timeout ?? .seconds(3600))
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

    /// Notes a Dial's outcome in the call's facts and turns it into a DialResult.
    private func record(_ outcome: DialOutcome, started: Date, queue: String?) -> DialResult {
        facts.withLock { facts in
            facts.lastDialStatus = outcome.status.rawValue
            facts.agentSIPStatus = outcome.status == .answer ? 200 : outcome.sipStatuses.last ?? facts.agentSIPStatus
            if let answered = outcome.answered {
                facts.agent = answered.agent ?? facts.agent
                facts.dstchannel = answered.channelName
                facts.queue = queue ?? facts.queue
                facts.waitMilliseconds = Int((outcome.answeredAt ?? Date()).timeIntervalSince(started) * 1000)
                if facts.answeredAt == nil { facts.answeredAt = outcome.answeredAt }
                facts.agentHungUp = !outcome.callerHungUp
                facts.agentLeg = outcome.answeredLeg
            }
        }
        if let agent = outcome.answered?.agent {
            services.roster.finished(agent, queue: queue)
            services.access.write(.callProgress(uniqueid: uniqueID, state: "bridged", answer: outcome.answeredAt, agent: agent,
                                                dstchannel: outcome.answered?.channelName, queue: queue))
        }
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
        let callerNumber = request?.callerIDNumber ?? session.call.from.user
        let callerName = request?.callerIDName ?? session.call.from.displayName
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
            return [LegRequest(destination: "sip:\(number)@\(hostPart)",
                               from: usesAccount ? nil : SIPAddress(displayName: callerName, uri: "sip:\(callerNumber)@\(services.localHost)"),
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
        if config.screenPop.requireTLS && !overTLS {
            services.log.info("screen pop kept off the agent's INVITE: the leg is not over TLS", ("call.uniqueid", uniqueID), ("agent", agent))
            return ([("X-Omnigate-Pop", String(pop.sequence))], callerNumber)
        }
        var headers: [(name: String, value: String)] = [("Call-Info", "<\(url)>;purpose=info")]
        let summary = context?.summaryHeader ?? "name=\"\(callerName.isEmpty ? callerNumber : callerName)\"; missing=\"\(missing.joined(separator: "; "))\""
        headers.append(("X-Omnigate-Summary", summary))
        headers.append(("X-Omnigate-Pop", String(pop.sequence)))
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

    func queue(_ request: QueueRequest) async -> QueueResult {
        let roster = services.roster
        guard let queue = roster.queue(named: request.queue) else {
            services.log.warning("no such queue", ("call.uniqueid", uniqueID), ("queue", request.queue))
            facts.withLock { $0.lastDialStatus = "CHANUNAVAIL" }
            return QueueResult(status: "JOINUNAVAIL")
        }
        guard roster.hasMembers(queue.name) else {
            facts.withLock { $0.lastDialStatus = "CHANUNAVAIL"; $0.queue = queue.name }
            return QueueResult(status: "JOINEMPTY")
        }
        facts.withLock { $0.queue = queue.name }
        guard await answer() else { return QueueResult(status: "LEAVEUNAVAIL") }
        let entered = Date()
        let limit = min(request.timeout ?? queue.maxWait, queue.maxWait)
        let deadline = ContinuousClock.now + limit
        var lastAgent: String?
        if queue.strategy == .sticky, case .success(let pop) = await lookup.value(within: services.config.screenPop.lookupBudget) {
            lastAgent = pop.summary.lastAgent
        }
        var saidWhy = false
        while session.isUp && ContinuousClock.now < deadline {
            let picked = roster.pick(queue: queue.name, lastAgent: lastAgent)
            guard !picked.isEmpty else {
                if !saidWhy {
                    saidWhy = true
                    let reasons = queue.members.map { "\($0): \(roster.unavailability(of: $0) ?? "free")" }.joined(separator: "; ")
                    services.log.info("queue: no agent can take the call yet", ("call.uniqueid", uniqueID), ("queue", queue.name),
                                      ("agents", reasons))
                }
                // Nobody free: wait a little and look again.
                if !(await session.pause(min(.milliseconds(500), deadline - .now))) { break }
                continue
            }
            var legs: [LegRequest] = []
            for agent in picked {
                let found = await self.legs(for: agent.name, request: nil, queue: queue.name)
                if found.isEmpty { roster.release(agent.name) }
                legs += found
            }
            let ring = min(queue.ringTimeout, deadline - .now)
            let outcome = await session.dial(legs, timeout: ring)
            for agent in picked where agent.name != outcome.answered?.agent { roster.release(agent.name) }
            withdrawPops(legs, except: outcome.answered?.agent, reason: outcome.status == .answer ? "answered by another agent" : "not answered")
            if outcome.status == .answer {
                _ = record(outcome, started: entered, queue: queue.name)
                if let target = outcome.transfer { await transferred(to: target, by: outcome.answered) }
                return QueueResult(status: nil, agent: outcome.answered?.agent, transfer: outcome.transfer)
            }
            if outcome.status == .cancel || !session.isUp { break }
            facts.withLock { $0.agentSIPStatus = outcome.sipStatuses.last ?? $0.agentSIPStatus }
        }
        facts.withLock { facts in
            facts.waitMilliseconds = Int(Date().timeIntervalSince(entered) * 1000)
            facts.lastDialStatus = session.isUp ? "NOANSWER" : "CANCEL"
        }
        return QueueResult(status: session.isUp ? "TIMEOUT" : "LEAVEUNAVAIL")
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

    // MARK: - Messages

    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult {
        await MessageSender(services: services).send(message, trunk: trunk, replyTo: session.call.source, fallbackFrom: session.call.to)
    }
}
