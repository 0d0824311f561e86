import Foundation
import Configuration
import Dialplan
import SIPEngine

/// Decides REFERs, on the engine thread: who may transfer a call, and where to.
///
/// Closed unless a rule opens it: a transfer is accepted only from a party
/// that may transfer (an agent, unless `transfer = no`; a trunk only with
/// `transfer = yes`), on a leg bridged to its caller right now, to an
/// extension the transferring party's context routes (the agent's `context`,
/// the trunk's `transfer_context` or `context`: Asterisk's TRANSFER_CONTEXT).
/// The host in Refer-To is never used: only its user part, as an extension,
/// so nothing the plan does not route can be reached. The caller then goes
/// on in the dialplan at that extension; the new leg it places has its own
/// call record.
struct TransferPolicy: Sendable {
    let router: CallRouter
    let plans: LivePlan
    let roster: AgentRoster
    let trunks: [Trunk]

    func decide(_ request: TransferRequest) -> TransferDecision {
        guard let leg = router.leg(request.call) else { return .refuse(status: 403, reason: "Transfers are not allowed") }
        let context: String
        switch leg.role {
        case .caller(let name):
            guard let name, trunks.first(where: { $0.name == name })?.transfer == true else {
                return .refuse(status: 403, reason: "Transfers are not allowed from this trunk")
            }
            // The caller's own leg anchors the call: only the answering side can hand the caller on.
            return .refuse(status: 403, reason: "Only the answering side of a call can transfer it")
        case .agent(let name):
            guard let agent = roster.agent(named: name), agent.transfer else {
                return .refuse(status: 403, reason: "Transfers are not allowed for this agent")
            }
            context = agent.context
        case .trunk(let name):
            guard let trunk = trunks.first(where: { $0.name == name }), trunk.transfer else {
                return .refuse(status: 403, reason: "Transfers are not allowed from this trunk")
            }
            context = trunk.transferContext ?? trunk.context
        case .other:
            return .refuse(status: 403, reason: "Transfers are not allowed")
        }
        guard request.replaces == nil else { return .refuse(status: 403, reason: "Attended transfer is not supported") }
        guard leg.bridged else { return .refuse(status: 403, reason: "Nothing to transfer") }
        let exten = request.targetUser
        guard Self.isExtension(exten), plans.current.plan.find(exten, in: context, callerID: "") != nil else {
            return .refuse(status: 404, reason: "Not Found")
        }
        router.approveTransfer(request.call, to: TransferTarget(context: context, exten: exten))
        return .accept
    }

    /// Digits, letters and the few signs numbers and names use; no escapes, no dialplan syntax.
    static func isExtension(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+*#._-".unicodeScalars.contains($0))
        }
    }
}
