import Configuration
import Dialplan
import Foundation
import Log
import SIPEngine
import Synchronization
import Timeline

/// Where a call comes from: a customer through a trunk, or an agent's own
/// phone (authenticated by digest), calling a customer or a colleague.
enum CallOrigin: Sendable {
    case trunk(Trunk)
    case agent(Agent)

    var trunk: Trunk? { if case .trunk(let trunk) = self { trunk } else { nil } }
    var agent: Agent? { if case .agent(let agent) = self { agent } else { nil } }

    /// The dialplan context the call starts in.
    var context: String {
        switch self {
        case .trunk(let trunk): trunk.context
        case .agent(let agent): agent.context
        }
    }

    /// The trunk's or agent's name, as in channel names and logs.
    var name: String {
        switch self {
        case .trunk(let trunk): trunk.name
        case .agent(let agent): agent.name
        }
    }

    /// CALLERID at the start: the caller's From for a trunk's call; for an
    /// agent's, the agent's own name (what `Dial(PJSIP/name)` reaches), never
    /// what the phone put in From.
    func callerID(_ call: IncomingCall) -> (number: String, name: String) {
        switch self {
        case .trunk: (call.from.user, call.from.displayName)
        case .agent(let agent): (agent.name, agent.displayName)
        }
    }
}

/// Runs one call: opens its record, runs the dialplan on the live call, then
/// finalises the record with what happened. A trunk's call is inbound, from
/// the caller's number; an agent's own call is outbound, to the number the
/// agent dialled, with the agent on it.
struct CallHandler {
    let services: Services
    let session: CallSession
    let origin: CallOrigin
    /// When the agent answered its own phone, for a call the gateway placed to it first (click-to-call).
    var agentAnswered: Date? = nil

    func run(plan: Dialplan, globals: Globals) async {
        let call = session.call
        let started = Date()
        let uniqueID = services.access.identity.nextUniqueID()
        let exten = SIPAddress(uri: call.requestURI).user.isEmpty ? "s" : SIPAddress(uri: call.requestURI).user
        let (callerNumber, callerName) = origin.callerID(call)
        let log = services.log

        var record = CallRecord(uniqueid: uniqueID, start: started)
        record.clid = callerName.isEmpty ? "<\(callerNumber)>" : "\"\(callerName)\" <\(callerNumber)>"
        record.src = callerNumber
        record.dst = exten
        record.dcontext = origin.context
        record.channel = "PJSIP/\(origin.name)-\(String(format: "%08x", UInt32(truncatingIfNeeded: call.id.rawValue)))"
        record.sipCallID = call.sipCallID
        record.trunk = origin.trunk?.name
        record.runID = services.access.identity.run.id
        if let agent = origin.agent {
            record.direction = .outbound
            record.agent = agent.name
            record.agentAnswer = agentAnswered
        }
        services.access.write(.openCall(record))
        services.calls.send(CallEvent(kind: .started, uniqueid: uniqueID, direction: record.direction.rawValue, from: callerNumber,
                                      to: exten, agent: record.agent, time: started))
        if let agent = origin.agent {
            services.roster.ownCall(agent.name)
            log.info("call out", ("call.uniqueid", uniqueID), ("agent", agent.name), ("exten", exten), ("context", origin.context),
                     ("source", call.source))
        } else {
            log.info("call in", ("call.uniqueid", uniqueID), ("from", call.from.uri), ("exten", exten), ("trunk", origin.name),
                     ("context", origin.context))
        }

        let book = CallRecordBook(record)
        // The customer is the caller of an inbound call, the number dialled of an agent's call.
        let customer = origin.agent == nil ? call.from.uri : "sip:\(exten)@\(services.localHost)"
        let lookup = CallerLookup(access: services.access, caller: customer)
        let channel = GatewayChannel(session: session, services: services, origin: origin, book: book, lookup: lookup)
        var start = CallStart(context: origin.context, exten: exten, callerIDNumber: callerNumber, callerIDName: callerName,
                              uniqueID: uniqueID)
        start.endpoint = origin.agent?.name
        for (name, value) in call.headers where name.lowercased().hasPrefix("x-") {
            start.variables["SIP_HEADER_" + name.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")] = value
        }
        let interpreter = Interpreter(plan: plan, channel: channel, globals: globals, start: start) { step in
            book.step(step.description)
            if log.isEnabled(.debug) { log.debug("step", ("call.uniqueid", book.uniqueID), ("step", step.description)) }
        }
        DialplanLog.attach(interpreter, id: ("call.uniqueid", uniqueID))
        let outcome = await interpreter.run()
        for warning in outcome.warnings { log.warning("dialplan", ("call.uniqueid", book.uniqueID), ("warning", warning)) }

        // The dialplan is done; make sure the call is too, and learn how it ended.
        if session.isUp { session.hangup(status: 480) }
        let id = call.id
        _ = await session.mailbox.wait(timeout: .seconds(5)) { if case .callState(id, .disconnected) = $0 { true } else { false } }
        let ending = session.ending
        await session.waitForLegsToEnd(timeout: .seconds(3))
        if let agent = origin.agent { services.roster.ownCallEnded(agent.name) }
        let facts = channel.facts.withLock { $0 }
        let rtp = session.mediaStats()
        let callerRTP = rtp[id], agentRTP = facts.agentLeg.flatMap { rtp[$0] }

        record = book.current
        record.end = Date()
        record.apply(facts)
        if let agent = origin.agent {
            // The agent who placed the call is its agent; whom it reached is in dstchannel.
            // (call_records.direction is in or out: a call to another agent is out, with no trunk.)
            record.agent = agent.name
            record.trunk = facts.trunk
        }
        record.lastapp = outcome.lastApplication
        record.lastdata = String(outcome.lastData.prefix(500))
        record.sipStatus = ending?.status
        record.dialplanPath = book.steps
        record.disposition = Self.disposition(facts: facts, cause: outcome.hangupCause, reason: outcome.reason)
        record.hangupSide = facts.agent != nil && facts.agentHungUp ? "agent" : (ending?.byUs ?? true) ? "gateway" : "caller"
        // The call counts as done once its record is committed, or kept in the spill file.
        await services.access.writeAndWait(.finalizeCall(record))
        services.calls.send(CallEvent(kind: .ended, uniqueid: record.uniqueid, direction: record.direction.rawValue, from: record.src,
                                      to: record.dst, agent: record.agent, queue: record.queue, disposition: record.disposition,
                                      time: record.end ?? Date()))
        log.info("call ended", ("call.uniqueid", record.uniqueid), ("disposition", record.disposition), ("agent", record.agent ?? "-"),
                 ("sip.status", ending?.status ?? 0), ("by", record.hangupSide ?? "-"), ("steps", outcome.steps.count),
                 ("caller.rtp", callerRTP.map { "sent \($0.sent) received \($0.received)" } ?? "-"),
                 ("caller.media", callerRTP.map { $0.encrypted ? "srtp" : "rtp" } ?? "-"),
                 ("agent.rtp", agentRTP.map { "sent \($0.sent) received \($0.received)" } ?? "-"),
                 ("agent.media", agentRTP.map { $0.encrypted ? "srtp" : "rtp" } ?? "-"))
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

/// The record of the part of an inbound call that is running now. A blind
/// transfer closes it and opens the next (Asterisk starts a new CDR for a
/// transferred channel the same way): each part has its own uniqueid,
/// disposition, agent and timeline event, and every part carries the
/// caller's SIP Call-ID, which ties them together.
final class CallRecordBook: Sendable {
    private struct State {
        var record: CallRecord
        var steps: [String] = []
    }
    private let state: Mutex<State>

    init(_ record: CallRecord) { state = Mutex(State(record: record)) }

    /// The record of the running part, as opened.
    var current: CallRecord { state.withLock { $0.record } }
    var uniqueID: String { state.withLock { $0.record.uniqueid } }
    /// The dialplan steps of the running part (at most 1,000, each at most 500 characters).
    var steps: [String] { state.withLock { $0.steps } }

    func step(_ description: String) {
        state.withLock { if $0.steps.count < 1000 { $0.steps.append(String(description.prefix(500))) } }
    }

    /// Ends the running part, transferred to `target` with `facts` as they were,
    /// and starts the next; returns both records (the closed one to finalise,
    /// the new one to open).
    func transfer(to target: TransferTarget, facts: CallFacts, newID: String, at now: Date = Date()) -> (closed: CallRecord, opened: CallRecord) {
        state.withLock { state in
            var closed = state.record
            closed.end = now
            closed.apply(facts)
            closed.lastapp = "Transfer"
            closed.lastdata = "\(target.exten)@\(target.context)"
            closed.dialplanPath = state.steps
            closed.disposition = CallHandler.disposition(facts: facts, cause: nil, reason: "transfer")
            closed.hangupSide = "agent"
            var opened = CallRecord(uniqueid: newID, start: now)
            opened.clid = closed.clid
            opened.src = closed.src
            opened.dst = target.exten
            opened.dcontext = target.context
            opened.channel = closed.channel
            opened.sipCallID = closed.sipCallID
            opened.trunk = closed.trunk
            opened.runID = closed.runID
            state.record = opened
            state.steps = []
            return (closed, opened)
        }
    }
}

extension CallRecord {
    /// Fills in what the call's facts say: answer, agent, queue, legs, waits.
    mutating func apply(_ facts: CallFacts) {
        answer = facts.answeredAt
        agentAnswer = agentAnswer ?? facts.agentAnsweredAt
        bridged = facts.bridgedAt
        agent = facts.agent
        queue = facts.queue
        dstchannel = facts.dstchannel
        waitMilliseconds = facts.waitMilliseconds
        agentSIPStatus = facts.agentSIPStatus
        recording = facts.recording
    }
}
