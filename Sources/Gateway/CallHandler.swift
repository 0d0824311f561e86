import Configuration
import Dialplan
import Foundation
import Log
import SIPEngine
import Synchronization
import Timeline

/// Runs one inbound call: opens its record, runs the dialplan on the live
/// call, then finalises the record with what happened.
struct CallHandler {
    let services: Services
    let session: CallSession
    let trunk: Trunk

    private static let sequence = Atomic<Int>(0)

    /// Asterisk-style unique ids: seconds since the epoch, a dot, a sequence.
    static func uniqueID(_ now: Date) -> String {
        "\(Int(now.timeIntervalSince1970)).\(sequence.add(1, ordering: .relaxed).newValue)"
    }

    func run(plan: Dialplan, globals: Globals) async {
        let call = session.call
        let started = Date()
        let uniqueID = Self.uniqueID(started)
        let exten = SIPAddress(uri: call.requestURI).user.isEmpty ? "s" : SIPAddress(uri: call.requestURI).user
        let callerNumber = call.from.user
        let log = services.log

        var record = CallRecord(uniqueid: uniqueID, start: started)
        record.clid = call.from.displayName.isEmpty ? "<\(callerNumber)>" : "\"\(call.from.displayName)\" <\(callerNumber)>"
        record.src = callerNumber
        record.dst = exten
        record.dcontext = trunk.context
        record.channel = "PJSIP/\(trunk.name)-\(String(format: "%08x", UInt32(truncatingIfNeeded: call.id.rawValue)))"
        record.sipCallID = call.sipCallID
        record.trunk = trunk.name
        let opened = record
        services.access.write("call record open") { try $0.openCallRecord(opened) }
        log.info("call in", ("call.uniqueid", uniqueID), ("from", call.from.uri), ("exten", exten), ("trunk", trunk.name),
                 ("context", trunk.context))

        let lookup = CallerLookup(access: services.access, caller: call.from.uri)
        let channel = GatewayChannel(session: session, services: services, trunk: trunk, uniqueID: uniqueID, lookup: lookup)
        var start = CallStart(context: trunk.context, exten: exten, callerIDNumber: callerNumber, callerIDName: call.from.displayName,
                              uniqueID: uniqueID)
        for (name, value) in call.headers where name.lowercased().hasPrefix("x-") {
            start.variables["SIP_HEADER_" + name.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")] = value
        }
        let interpreter = Interpreter(plan: plan, channel: channel, globals: globals, start: start) { step in
            if log.isEnabled(.debug) { log.debug("step", ("call.uniqueid", uniqueID), ("step", step.description)) }
        }
        DialplanLog.attach(interpreter, id: ("call.uniqueid", uniqueID))
        let outcome = await interpreter.run()
        for warning in outcome.warnings { log.warning("dialplan", ("call.uniqueid", uniqueID), ("warning", warning)) }

        // The dialplan is done; make sure the call is too, and learn how it ended.
        if session.isUp { session.hangup(status: 480) }
        let id = call.id
        _ = await session.mailbox.wait(timeout: .seconds(5)) { if case .callState(id, .disconnected) = $0 { true } else { false } }
        let ending = session.ending
        await session.waitForLegsToEnd(timeout: .seconds(3))
        let facts = channel.facts.withLock { $0 }
        let rtp = session.mediaStats()
        let callerRTP = rtp[id], agentRTP = facts.agentLeg.flatMap { rtp[$0] }

        record.end = Date()
        record.answer = facts.answeredAt
        record.agent = facts.agent
        record.queue = facts.queue
        record.dstchannel = facts.dstchannel
        record.waitMilliseconds = facts.waitMilliseconds
        record.agentSIPStatus = facts.agentSIPStatus
        record.recording = facts.recording
        record.lastapp = outcome.lastApplication
        record.lastdata = String(outcome.lastData.prefix(500))
        record.sipStatus = ending?.status
        record.dialplanPath = outcome.steps.prefix(1000).map { String($0.description.prefix(500)) }
        record.disposition = Self.disposition(facts: facts, cause: outcome.hangupCause, reason: outcome.reason)
        record.hangupSide = facts.agent != nil && facts.agentHungUp ? "agent" : (ending?.byUs ?? true) ? "gateway" : "caller"
        let final = record
        // The call counts as done once its record is committed.
        await services.access.writeAndWait("call record final") { try $0.finalizeCallRecord(final) }
        log.info("call ended", ("call.uniqueid", uniqueID), ("disposition", record.disposition), ("agent", record.agent ?? "-"),
                 ("sip.status", ending?.status ?? 0), ("by", record.hangupSide ?? "-"), ("steps", outcome.steps.count),
                 ("caller.rtp", callerRTP.map { "sent \($0.sent) received \($0.received)" } ?? "-"),
                 ("agent.rtp", agentRTP.map { "sent \($0.sent) received \($0.received)" } ?? "-"))
        session.close()
    }

    /// Asterisk's CDR disposition: the last Dial or Queue decides when there was
    /// one; otherwise whether the call was answered (by the IVR, say) at all.
    static func disposition(facts: CallFacts, cause: Int?, reason: String) -> String {
        if facts.agent != nil { return "ANSWERED" }
        switch facts.lastDialStatus {
        case "BUSY"?: return "BUSY"
        case "CONGESTION"?: return "CONGESTION"
        case "CHANUNAVAIL"?: return facts.answeredAt == nil ? "FAILED" : "ANSWERED"
        default: break
        }
        if facts.answeredAt != nil { return "ANSWERED" }
        switch cause {
        case 17?: return "BUSY"
        case 34?: return "CONGESTION"
        case 1?: return "FAILED"
        default: return reason == "no-extension" ? "FAILED" : "NO ANSWER"
        }
    }
}
