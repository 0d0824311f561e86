import Dialplan
import SIPEngine
import Synchronization

/// Who is on a call leg, for the transfer policy.
enum LegRole: Sendable, Equatable {
    /// The caller: from a trunk, or (nil) an agent's own phone.
    case caller(trunk: String?)
    /// An agent's phone, rung by Dial or Queue.
    case agent(String)
    /// A number reached through a trunk.
    case trunk(String)
    /// A SIP URI dialled directly.
    case other
}

/// Hands each engine event to the mailbox of the call it belongs to (legs stay
/// registered after they end, until their session lets go: a recording is
/// reported after the hangup). Called on the engine thread; a dictionary
/// lookup and a non-blocking post, nothing more.
///
/// It also knows each leg's role and whether it is bridged to its caller right
/// now: the transfer policy decides on the engine thread from that alone.
final class CallRouter: Sendable {
    struct Leg: Sendable {
        let mailbox: Mailbox
        let role: LegRole
        /// The inbound leg of the call this leg belongs to.
        let caller: CallID
        var bridged = false
        /// Where an accepted transfer by this leg's party sends the caller.
        var transfer: TransferTarget?
    }

    private let mailboxes = Mutex<[CallID: Leg]>([:])
    private let messages = Mutex<[MessageID: Mailbox]>([:])

    func register(_ leg: CallID, _ mailbox: Mailbox, role: LegRole = .other) {
        mailboxes.withLock { $0[leg] = Leg(mailbox: mailbox, role: role, caller: mailbox.inbound) }
    }
    func unregister(_ leg: CallID) { mailboxes.withLock { $0[leg] = nil } }
    func register(_ message: MessageID, _ mailbox: Mailbox) { messages.withLock { $0[message] = mailbox } }

    /// Marks a leg as bridged to its caller (or not any more).
    func setBridged(_ leg: CallID, _ bridged: Bool) { mailboxes.withLock { $0[leg]?.bridged = bridged } }

    func leg(_ id: CallID) -> Leg? { mailboxes.withLock { $0[id] } }

    /// Remembers where an accepted transfer by `leg`'s party sends the caller.
    func approveTransfer(_ leg: CallID, to target: TransferTarget) { mailboxes.withLock { $0[leg]?.transfer = target } }

    var liveLegs: Int { mailboxes.withLock { $0.count } }

    /// Delivers an event to its call; false when no call claims it.
    @discardableResult
    func deliver(_ event: SIPEvent) -> Bool {
        let target: Mailbox?
        switch event {
        case .callState(let id, _), .mediaStats(let id, _, _, _), .dtmf(let id, _, _), .playbackFinished(let id, _, _), .recordingFinished(let id, _, _):
            target = mailboxes.withLock { $0[id]?.mailbox }
        case .transferRequested(let request):
            target = mailboxes.withLock { $0[request.call]?.mailbox }
        case .messageStatus(let id, _, _):
            target = messages.withLock { $0.removeValue(forKey: id) }
        default:
            target = nil
        }
        target?.post(event)
        return target != nil
    }
}
