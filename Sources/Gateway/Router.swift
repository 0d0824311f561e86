import SIPEngine
import Synchronization

/// Hands each engine event to the mailbox of the call it belongs to (legs stay
/// registered after they end, until their session lets go: a recording is
/// reported after the hangup). Called on
/// the engine thread; a dictionary lookup and a non-blocking post, nothing more.
final class CallRouter: Sendable {
    private let mailboxes = Mutex<[CallID: Mailbox]>([:])
    private let messages = Mutex<[MessageID: Mailbox]>([:])

    func register(_ leg: CallID, _ mailbox: Mailbox) { mailboxes.withLock { $0[leg] = mailbox } }
    func unregister(_ leg: CallID) { mailboxes.withLock { $0[leg] = nil } }
    func register(_ message: MessageID, _ mailbox: Mailbox) { messages.withLock { $0[message] = mailbox } }

    var liveLegs: Int { mailboxes.withLock { $0.count } }

    /// Delivers an event to its call; false when no call claims it.
    @discardableResult
    func deliver(_ event: SIPEvent) -> Bool {
        let target: Mailbox?
        switch event {
        case .callState(let id, _), .mediaStats(let id, _, _), .dtmf(let id, _, _), .playbackFinished(let id, _, _), .recordingFinished(let id, _, _):
            target = mailboxes.withLock { $0[id] }
        case .commandFailed(let id?, _, _):
            target = mailboxes.withLock { $0[id] }
        case .messageStatus(let id, _, _):
            target = messages.withLock { $0.removeValue(forKey: id) }
        default:
            target = nil
        }
        target?.post(event)
        return target != nil
    }
}
