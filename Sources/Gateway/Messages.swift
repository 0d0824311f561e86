import Configuration
import Dialplan
import Foundation
import SIPEngine
import Timeline

/// Sends SMS (SIP MESSAGE) and keeps its status honest on the timeline: an
/// outbound message is `sending` until the next hop answers, then `accepted`
/// (2xx: the next hop took it, which is not delivery) or `failed`.
struct MessageSender {
    let services: Services

    /// Sends `message`; `MESSAGE_SEND_STATUS` is SUCCESS when the next hop accepted it.
    /// `replyTo` is where the message or call being handled came from: a number
    /// goes back there when its trunk has no `host`.
    ///
    /// An agent's own message (`agent`) goes out From the company's number,
    /// the `from_user` of the trunk it leaves through (the agent's name to
    /// another agent), and is on the customer's timeline with the agent.
    func send(_ message: OutboundMessage, trunk: Trunk?, replyTo: SourceAddress?, fallbackFrom: SIPAddress?,
              agent: String? = nil) async -> MessageSendResult {
        guard let route = resolve(message.destination, trunk: trunk, replyTo: replyTo) else {
            return MessageSendResult(status: "INVALID_URI", detail: "cannot route '\(message.destination)'")
        }
        let destination = route.uri
        let fromUser = message.from.map { SIPAddress(uri: $0.contains(":") ? $0 : "sip:\($0)@x").user }
            ?? fallbackFrom?.user ?? route.trunk?.fromUser ?? agent ?? ""
        let from = SIPAddress(uri: "sip:\(Self.escapedUser(fromUser.isEmpty ? "omnigate" : fromUser))@\(services.localHost)")
        let reference = "out-" + UUID().uuidString
        let sender = from.uri
        // A message to an agent's phone (a customer's SMS passed on, an agent's note to
        // another) is not a customer interaction: it is not put on a timeline.
        if !route.toAgent {
            services.access.write(.outgoingSMS(to: destination, from: sender, body: message.body, reference: reference, agent: agent, time: Date()))
        }

        let id = MessageID.make()
        let box = Mailbox(inbound: CallID(rawValue: 0))
        services.router.register(id, box)
        services.engine.post(.message(id, to: destination, from: from, contentType: "text/plain", body: message.body))
        let answer = await box.wait(timeout: .seconds(40)) { if case .messageStatus(id, _, _) = $0 { true } else { false } }
        var status = 408, reason = "no answer from the next hop"
        if case .messageStatus(_, let code, let text)? = answer { status = code; reason = text }
        let accepted = (200..<300).contains(status)
        if !route.toAgent {
            // An agent's message is told of on the event stream once the timeline has its status.
            let write = StoreWrite.smsStatus(reference: reference, status: accepted ? .accepted : .failed)
            if agent != nil { await services.access.writeAndWait(write) } else { services.access.write(write) }
        }
        services.log.info("sms out", ("to", destination), ("from", fromUser), ("agent", agent ?? "-"), ("sip.status", status),
                          ("status", accepted ? "accepted" : "failed"))
        if let agent, !route.toAgent {
            services.messages.send(MessageEvent(kind: .sent, from: sender, to: destination, agent: agent,
                                                status: accepted ? "accepted" : "failed", time: Date()))
        }
        return MessageSendResult(status: accepted ? "SUCCESS" : "FAILURE", detail: "\(status) \(reason)")
    }

    /// Where a MessageSend destination goes. A message only ever leaves for a
    /// host the configuration names, never for one a sender wrote into a
    /// header: `pjsip:`/`PJSIP/` prefixes are dropped, then
    /// - an agent's name goes to the agent's contact;
    /// - `number@trunk` (a trunk's name) goes to that trunk's host;
    /// - a `sip:`/`sips:` URI whose host is a trunk's host goes to that trunk;
    /// - any other URI, or a bare number, keeps only its user part and goes
    ///   through the trunk being handled: to its `host`, or (a trunk without
    ///   one) back to the address the message or call came from.
    /// The URI is built anew from the user part: no parameters, no `?headers`.
    func resolve(_ destination: String, trunk: Trunk?, replyTo: SourceAddress?) -> Route? {
        var target = destination.trimmingCharacters(in: .whitespaces)
        for prefix in ["pjsip:", "PJSIP/", "sip:" + "sip:"] where target.hasPrefix(prefix) { target = String(target.dropFirst(prefix.count)) }
        // A name-addr (`"Ada" <sip:+1202…@host>`, as MESSAGE(from) gives it): its URI.
        if let open = target.lastIndex(of: "<"), let close = target.lastIndex(of: ">"), open < close {
            target = String(target[target.index(after: open)..<close])
        }
        if target.hasPrefix("pjsip:") { target = String(target.dropFirst("pj".count)) }
        let config = services.config
        if services.roster.agent(named: target) != nil { return services.roster.destinations(of: target).first.map { Route(uri: $0, toAgent: true) } }
        let user: String
        let lower = target.lowercased()
        if lower.hasPrefix("sip:") || lower.hasPrefix("sips:") || lower.hasPrefix("tel:") {
            let uri = SIPAddress(uri: target)
            user = uri.user
            let host = TrunkDirectory.hostPart(of: target).split(separator: "?").first.map(String.init) ?? ""
            if let named = config.trunks.first(where: { trunk in
                trunk.host.map { TrunkDirectory.hostPart(of: $0).lowercased() == host.lowercased() } == true
            }), let trunkHost = named.host {
                return Route(uri: "sip:\(Self.escapedUser(user))@\(TrunkDirectory.hostPart(of: trunkHost))", trunk: named)
            }
        } else if let at = target.lastIndex(of: "@") {
            let name = String(target[target.index(after: at)...])
            user = String(target[..<at])
            if let named = config.trunks.first(where: { $0.name == name }) {
                guard let host = named.host, !user.isEmpty else { return nil }
                return Route(uri: "sip:\(Self.escapedUser(user))@\(TrunkDirectory.hostPart(of: host))", trunk: named)
            }
        } else {
            user = target
        }
        guard !user.isEmpty else { return nil }
        if let trunk, let host = trunk.host { return Route(uri: "sip:\(Self.escapedUser(user))@\(TrunkDirectory.hostPart(of: host))", trunk: trunk) }
        guard let replyTo else { return nil }
        let address = replyTo.host.contains(":") ? "[\(replyTo.host)]:\(replyTo.port)" : "\(replyTo.host):\(replyTo.port)"
        let transport = ["TCP", "TLS"].contains(replyTo.transport.uppercased()) ? ";transport=\(replyTo.transport.lowercased())" : ""
        return Route(uri: "sip:\(Self.escapedUser(user))@\(address)\(transport)", trunk: trunk)
    }

    /// Where a message goes, and the trunk it leaves through (nil to an agent).
    struct Route {
        var uri: String
        var trunk: Trunk?
        var toAgent = false
    }

    /// A SIP user part with everything but unreserved characters and existing
    /// `%XX` escapes percent-encoded (RFC 3261 §25.1), so no value can add a
    /// host, a parameter or a header to the URI it goes into.
    static func escapedUser(_ user: String) -> String {
        let bytes = Array(user.utf8)
        var out = ""
        var i = 0
        let hex = Array("0123456789ABCDEF")
        func isHex(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b) }
        while i < bytes.count {
            let b = bytes[i]
            if b == 37, i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) {
                out += String(decoding: bytes[i...i + 2], as: UTF8.self)
                i += 3
                continue
            }
            let unreserved = (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || "-_.!~*'()+".utf8.contains(b)
            if unreserved { out.unicodeScalars.append(UnicodeScalar(b)) } else { out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)]) }
            i += 1
        }
        return out
    }
}

/// An inbound SMS: from a trunk, stored on the sender's timeline, then run
/// through the trunk's message context (if it has one); from an agent's own
/// phone, run through the agent's message context, whose MessageSend sends it on.
struct InboundMessageHandler {
    let services: Services
    let plans: LivePlan

    func handle(_ message: IncomingMessage, trunk: Trunk) async {
        // On the timeline before the event stream tells of it: a console reads the message there.
        await services.access.writeAndWait(.incomingSMS(from: message.from.uri, to: message.to.uri, body: message.body,
                                                        reference: "in-" + message.sipCallID, time: Date()))
        services.log.info("sms in", ("from", message.from.uri), ("to", message.to.uri), ("trunk", trunk.name),
                          ("bytes", message.body.utf8.count))
        let received = MessageEvent(kind: .received, from: message.from.uri, to: message.to.uri, agent: nil, status: nil, time: Date())
        guard let context = trunk.messageContext else { return services.messages.send(received) }
        let channel = MessageChannel(services: services, origin: .trunk(trunk), message: message)
        var start = self.start(message, context: context)
        var event = received
        if let agent = await conversationAgent(channel.lookup) {
            start.variables["SMS_AGENT"] = agent
            event.agent = agent
            services.log.info("sms in: the customer is in a conversation with an agent", ("from", message.from.uri), ("agent", agent))
        }
        services.messages.send(event)
        await run(channel, start)
    }

    func handle(_ message: IncomingMessage, agent: Agent) async {
        services.log.info("sms from agent", ("agent", agent.name), ("to", message.to.uri), ("context", agent.messageContext),
                          ("bytes", message.body.utf8.count))
        let channel = MessageChannel(services: services, origin: .agent(agent), message: message)
        await run(channel, start(message, context: agent.messageContext))
    }

    private func start(_ message: IncomingMessage, context: String) -> CallStart {
        var start = CallStart(context: context, exten: message.to.user.isEmpty ? "s" : message.to.user,
                              callerIDNumber: message.from.user, callerIDName: message.from.displayName,
                              uniqueID: "sms-" + message.sipCallID)
        start.message = (message.body, MessageAddresses.from(displayName: message.from.displayName, scheme: message.from.scheme,
                                                             user: message.from.user, host: message.from.host),
                         MessageAddresses.to(user: message.to.user, host: message.to.host))
        return start
    }

    private func run(_ channel: MessageChannel, _ start: CallStart) async {
        let (plan, globals) = plans.current
        let interpreter = Interpreter(plan: plan, channel: channel, globals: globals, start: start)
        DialplanLog.attach(interpreter, id: ("message.uniqueid", start.uniqueID))
        let outcome = await interpreter.runMessage()
        for warning in outcome.warnings { services.log.warning("message dialplan", ("context", start.context), ("warning", warning)) }
    }

    /// The agent the customer last dealt with, when that was within
    /// `[screenpop] conversation_window` and the agent is still configured.
    private func conversationAgent(_ lookup: CallerLookup) async -> String? {
        let window = services.config.screenPop.conversationWindow
        guard window > .zero, case .success(let pop) = await lookup.value(within: services.config.screenPop.lookupBudget),
              let last = pop.recent.first(where: { $0.agent != nil }), let agent = last.agent,
              Date().timeIntervalSince(last.time) <= window.timeInterval, services.roster.agent(named: agent) != nil else { return nil }
        return agent
    }
}

/// The channel a message context runs against: there is no call, only the
/// message, its sender's context, and MessageSend.
final class MessageChannel: Channel, Sendable {
    let services: Services
    let origin: CallOrigin
    let message: IncomingMessage
    let lookup: CallerLookup

    /// The customer is the sender of a trunk's message, the addressee of an agent's.
    init(services: Services, origin: CallOrigin, message: IncomingMessage) {
        self.services = services
        self.origin = origin
        self.message = message
        let customer = origin.agent == nil ? message.from.uri : "sip:\(message.to.user)@\(services.localHost)"
        lookup = CallerLookup(access: services.access, caller: customer)
    }

    var isHungUp: Bool { false }
    func answer() async -> Bool { true }
    func ringing() async {}
    func progress() async {}
    func hangup(cause: Int) async {}
    func wait(_ duration: Duration) async -> Bool { true }
    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult { .failed("a message has no audio") }
    func digit(timeout: Duration) async -> Character? { nil }
    func dial(_ request: DialRequest) async -> DialResult { DialResult(status: "CHANUNAVAIL") }
    func queue(_ request: QueueRequest) async -> QueueResult { QueueResult(status: "JOINUNAVAIL") }
    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult { VoicemailResult(status: "FAILED") }
    func record(_ request: RecordRequest) async -> RecordResult { RecordResult(status: "ERROR") }

    func sendMessage(_ outbound: OutboundMessage) async -> MessageSendResult {
        switch origin {
        case .trunk(let trunk):
            await MessageSender(services: services).send(outbound, trunk: trunk, replyTo: message.source, fallbackFrom: message.to)
        case .agent(let agent):
            await MessageSender(services: services).send(outbound, trunk: nil, replyTo: nil, fallbackFrom: nil, agent: agent.name)
        }
    }

    func contact(field: String) async -> String? {
        await lookup.field(field, within: services.config.screenPop.lookupBudget)
    }
}
