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
    func send(_ message: OutboundMessage, trunk: Trunk?, fallbackFrom: SIPAddress?) async -> MessageSendResult {
        guard let destination = resolve(message.destination, trunk: trunk) else {
            return MessageSendResult(status: "INVALID_URI", detail: "cannot route '\(message.destination)'")
        }
        let from = message.from.map { SIPAddress(uri: $0.hasPrefix("sip:") ? $0 : "sip:\($0)@\(services.localHost)") }
            ?? fallbackFrom.map { SIPAddress(uri: "sip:\($0.user.isEmpty ? "omnigate" : $0.user)@\(services.localHost)") }
        let reference = "out-" + UUID().uuidString
        let sender = from?.uri ?? "sip:omnigate@\(services.localHost)"
        services.access.write("sms out") { try $0.recordOutgoingSMS(to: destination, from: sender, body: message.body, reference: reference) }

        let id = MessageID.make()
        let box = Mailbox(inbound: CallID(rawValue: 0))
        services.router.register(id, box)
        services.engine.post(.message(id, to: destination, from: from, contentType: "text/plain", body: message.body))
        let answer = await box.wait(timeout: .seconds(40)) { if case .messageStatus(id, _, _) = $0 { true } else { false } }
        var status = 408, reason = "no answer from the next hop"
        if case .messageStatus(_, let code, let text)? = answer { status = code; reason = text }
        let accepted = (200..<300).contains(status)
        services.access.write("sms status") { try $0.updateSMSStatus(reference: reference, to: accepted ? .accepted : .failed) }
        services.log.info("sms out", ("to", destination), ("sip.status", status), ("status", accepted ? "accepted" : "failed"))
        return MessageSendResult(status: accepted ? "SUCCESS" : "FAILURE", detail: "\(status) \(reason)")
    }

    /// `sip:…` as it is; `pjsip:…` without its prefix; `number@trunk` to the trunk's host;
    /// a bare number to the trunk the message came in on.
    func resolve(_ destination: String, trunk: Trunk?) -> String? {
        var target = destination.trimmingCharacters(in: .whitespaces)
        for prefix in ["pjsip:", "PJSIP/", "sip:" + "sip:"] where target.hasPrefix(prefix) { target = String(target.dropFirst(prefix.count)) }
        if target.lowercased().hasPrefix("sip:") || target.lowercased().hasPrefix("sips:") { return target }
        let config = services.config
        if let at = target.lastIndex(of: "@") {
            let name = String(target[target.index(after: at)...])
            if let named = config.trunks.first(where: { $0.name == name }), let host = named.host {
                return "sip:\(target[..<at])@\(TrunkDirectory.hostPart(of: host))"
            }
            return "sip:" + target
        }
        if let host = trunk?.host { return "sip:\(target)@\(TrunkDirectory.hostPart(of: host))" }
        return nil
    }
}

/// An inbound SMS: stored on the sender's timeline, then run through the
/// trunk's message context (if it has one).
struct InboundMessageHandler {
    let services: Services
    let plans: LivePlan

    func handle(_ message: IncomingMessage, trunk: Trunk) async {
        services.access.write("sms in") {
            try $0.recordIncomingSMS(from: message.from.uri, to: message.to.uri, body: message.body, reference: "in-" + message.sipCallID)
        }
        services.log.info("sms in", ("from", message.from.uri), ("to", message.to.uri), ("trunk", trunk.name),
                          ("bytes", message.body.utf8.count))
        guard let context = trunk.messageContext else { return }
        let (plan, globals) = plans.current
        let channel = MessageChannel(services: services, trunk: trunk, message: message)
        var start = CallStart(context: context, exten: message.to.user.isEmpty ? "s" : message.to.user,
                              callerIDNumber: message.from.user, callerIDName: message.from.displayName,
                              uniqueID: "sms-" + message.sipCallID)
        start.message = (message.body, message.from.uri, message.to.uri)
        let interpreter = Interpreter(plan: plan, channel: channel, globals: globals, start: start)
        DialplanLog.attach(interpreter, id: ("message.uniqueid", start.uniqueID))
        let outcome = await interpreter.runMessage()
        for warning in outcome.warnings { services.log.warning("message dialplan", ("context", context), ("warning", warning)) }
    }
}

/// The channel a message context runs against: there is no call, only the
/// message, its sender's context, and MessageSend.
final class MessageChannel: Channel, Sendable {
    let services: Services
    let trunk: Trunk
    let message: IncomingMessage
    let lookup: CallerLookup

    init(services: Services, trunk: Trunk, message: IncomingMessage) {
        self.services = services
        self.trunk = trunk
        self.message = message
        lookup = CallerLookup(access: services.access, caller: message.from.uri)
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
        await MessageSender(services: services).send(outbound, trunk: trunk, fallbackFrom: message.to)
    }

    func contact(field: String) async -> String? {
        await lookup.field(field, within: services.config.screenPop.lookupBudget)
    }
}
