import Dialplan
import Foundation
import SIPEngine

/// One leg `Dial` or `Queue` places.
struct LegRequest: Sendable {
    /// The SIP URI to call.
    var destination: String
    var from: SIPAddress?
    var headers: [(name: String, value: String)] = []
    /// The provider account (trunk) the call goes out through, if any.
    var account: String?
    /// The agent rung, when the leg rings an agent.
    var agent: String?
    /// The trunk the leg goes out through, when it calls a number on one.
    var trunk: String?
    /// The media security to offer.
    var srtp: SRTPUse = .disabled
    /// A name for call records, Asterisk style (`PJSIP/alice`).
    var channelName: String

    var role: LegRole {
        if let agent { return .agent(agent) }
        if let trunk { return .trunk(trunk) }
        return .other
    }
}

/// How a Dial ended, in Asterisk's DIALSTATUS words.
enum DialStatus: String, Sendable {
    case answer = "ANSWER", busy = "BUSY", noAnswer = "NOANSWER", cancel = "CANCEL"
    case congestion = "CONGESTION", unavailable = "CHANUNAVAIL"

    /// The status a failed leg's final SIP response stands for.
    init(sipStatus: Int) {
        switch sipStatus {
        case 486, 600: self = .busy
        case 408, 480, 487: self = .noAnswer
        case 404, 410, 484, 604, 403, 400, 500: self = .unavailable
        default: self = .congestion
        }
    }
}

/// What happened to a Dial.
struct DialOutcome: Sendable {
    var status: DialStatus
    /// The leg that answered, and when.
    var answered: LegRequest?
    var answeredLeg: CallID?
    var answeredAt: Date?
    /// When the bridged conversation ended, and whether the caller ended it.
    var endedAt: Date?
    var callerHungUp = false
    /// Final SIP statuses of the legs that failed.
    var sipStatuses: [Int] = []
    /// The answering party transferred the caller here (a REFER the policy accepted).
    var transfer: TransferTarget?
}

extension CallSession {
    /// Rings `legs` at once for up to `timeout`; the first to answer is bridged
    /// to the caller (answering the caller first if needed) and the others are
    /// cancelled; `bridged` hears of it at once. Returns when the bridged
    /// conversation ends, or when no leg answered.
    func dial(_ legs: [LegRequest], timeout: Duration, bridged: @escaping (LegRequest) -> Void = { _ in }) async -> DialOutcome {
        guard isUp else { return DialOutcome(status: .cancel) }
        var pending: [CallID: LegRequest] = [:]
        var outcome = DialOutcome(status: .noAnswer)
        for leg in legs {
            let id = CallID.make()
            adopt(id, role: leg.role)
            do {
                try await engine.perform(.call(id, to: leg.destination, from: leg.from, headers: leg.headers, account: leg.account,
                                               srtp: leg.srtp))
                pending[id] = leg
            } catch {
                // Never placed (a URI PJSIP will not take, the engine stopping): a failed leg.
                disown(id)
                outcome.sipStatuses.append(500)
                log.warning("cannot place call leg", ("call.id", id), ("to", leg.destination), ("error", error.description))
            }
        }
        var sentRinging = false
        let deadline = ContinuousClock.now + timeout
        let legIDs = Set(pending.keys)
        while !pending.isEmpty {
            let remaining = deadline - .now
            guard remaining > .zero else { break }
            let event = await mailbox.wait(timeout: remaining) { event in
                switch event {
                case .callState(let id, _): legIDs.contains(id)
                default: false
                }
            }
            guard let event else { break }  // ring timeout
            switch event {
            case .callState(call.id, .disconnected):
                cancel(pending.keys)
                outcome.status = .cancel
                return outcome
            case .callState(let id, .early):
                if !sentRinging && !isAnswered {
                    sentRinging = true
                    ringing()
                }
                _ = id
            case .callState(let id, .confirmed):
                guard let leg = pending.removeValue(forKey: id) else { continue }
                cancel(pending.keys)
                return await connect(id, leg, outcome: outcome, bridged: bridged)
            case .callState(let id, .disconnected(let status, _, _)):
                if pending.removeValue(forKey: id) != nil { outcome.sipStatuses.append(status) }
            default:
                break
            }
        }
        cancel(pending.keys)
        if !isUp { outcome.status = .cancel; return outcome }
        if !pending.isEmpty || outcome.sipStatuses.isEmpty {
            outcome.status = .noAnswer
        } else {
            let statuses = outcome.sipStatuses.map(DialStatus.init(sipStatus:))
            outcome.status = statuses.contains(.busy) ? .busy : statuses.contains(.noAnswer) ? .noAnswer
                : statuses.contains(.congestion) ? .congestion : .unavailable
        }
        return outcome
    }

    /// Hangs up legs still ringing (CANCEL).
    private func cancel<S: Sequence>(_ legs: S) where S.Element == CallID {
        for leg in legs { engine.post(.hangup(leg)) }
    }

    /// Bridges an answered leg to the caller and waits for either side to hang up.
    private func connect(_ leg: CallID, _ request: LegRequest, outcome: DialOutcome, bridged: (LegRequest) -> Void) async -> DialOutcome {
        var outcome = outcome
        outcome.status = .answer
        outcome.answered = request
        outcome.answeredLeg = leg
        outcome.answeredAt = Date()
        guard await answer() else {
            engine.post(.hangup(leg))
            outcome.callerHungUp = true
            outcome.endedAt = Date()
            return outcome
        }
        engine.post(.bridge(call.id, leg))
        router.setBridged(leg, true)
        bridged(request)
        defer { router.setBridged(leg, false) }
        let callerID = call.id
        let event = await mailbox.wait { event in
            switch event {
            case .callState(leg, .disconnected), .callState(callerID, .disconnected): true
            case .transferRequested(let request): request.call == leg
            default: false
            }
        }
        outcome.endedAt = Date()
        if case .callState(callerID, .disconnected)? = event {
            outcome.callerHungUp = true
            engine.post(.hangup(leg))
        }
        if case .transferRequested? = event, let target = router.leg(leg)?.transfer {
            // A blind transfer: the caller goes on in the dialplan at the target;
            // the transferring party hears it worked and is let go.
            outcome.transfer = target
            engine.post(.unbridge(callerID, leg))
            engine.post(.transferOutcome(leg, status: 200, reason: "OK"))
            engine.post(.hangup(leg))
        }
        return outcome
    }
}
