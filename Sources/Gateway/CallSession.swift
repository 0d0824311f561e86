import Configuration
import Foundation
import Log
import SIPEngine
import Synchronization

/// A live inbound call and the legs it places: each operation the dialplan's
/// applications need, as engine commands plus waiting for their outcome.
///
/// Runs on the call's own task. Every wait also ends when the caller hangs up,
/// so no operation outlives the call.
final class CallSession: Sendable {
    let engine: SIPEngine
    let call: IncomingCall
    let mailbox: Mailbox
    let router: CallRouter
    let prompts: String
    let log = Logger("call")

    private struct State {
        var answered = false
        var answeredAt: Date?
        var legs: Set<CallID> = []
        var hungUpByUs = false
    }
    private let state = Mutex(State())

    init(engine: SIPEngine, call: IncomingCall, trunk: String?, router: CallRouter, prompts: String) {
        self.engine = engine
        self.call = call
        self.mailbox = Mailbox(inbound: call.id)
        self.router = router
        self.prompts = prompts
        router.register(call.id, mailbox, role: .caller(trunk: trunk))
    }

    /// The first leg is up already: the gateway placed it and it was answered (click-to-call).
    func markAnswered() {
        state.withLock {
            $0.answered = true
            $0.answeredAt = Date()
        }
    }

    /// Lets go of the inbound leg and every leg placed (they are over).
    func close() {
        router.unregister(call.id)
        for leg in state.withLock({ $0.legs }) { router.unregister(leg) }
    }

    var isUp: Bool { mailbox.hangup == nil }
    var isAnswered: Bool { state.withLock { $0.answered } }
    var answeredAt: Date? { state.withLock { $0.answeredAt } }
    var hungUpByUs: Bool { state.withLock { $0.hungUpByUs } }

    /// How the caller's leg ended, once it has: final status and who ended it.
    var ending: (status: Int, reason: String, byUs: Bool)? {
        if case .callState(_, .disconnected(let status, let reason, let byUs))? = mailbox.hangup { return (status, reason, byUs) }
        return nil
    }

    // MARK: - Call control

    func ringing() { if !isAnswered { engine.post(.provisional(call.id, status: 180)) } }

    /// 183 Session Progress with SDP: media flows before the answer (early media).
    func progress() { if !isAnswered { engine.post(.provisional(call.id, status: 183)) } }

    /// Answers with 200 OK and waits for the ACK. False when the caller is gone.
    @discardableResult
    func answer() async -> Bool {
        if isAnswered { return isUp }
        guard isUp else { return false }
        let id = call.id
        do { try await engine.perform(.answer(id)) } catch { return false }
        let event = await mailbox.wait(timeout: .seconds(32)) { if case .callState(id, .confirmed) = $0 { true } else { false } }
        guard case .callState(_, .confirmed)? = event else { return false }
        state.withLock {
            $0.answered = true
            $0.answeredAt = Date()
        }
        return true
    }

    /// Ends the call: BYE once answered, otherwise a final response (`status`, default 480 for unanswered).
    func hangup(status: Int? = nil) {
        guard isUp else { return }
        state.withLock { $0.hungUpByUs = true }
        if isAnswered {
            engine.post(.hangup(call.id))
        } else {
            engine.post(.reject(call.id, status: status ?? 480))
        }
    }

    /// Waits `duration`; false when the caller hung up meanwhile.
    func pause(_ duration: Duration) async -> Bool {
        _ = await mailbox.wait(timeout: duration) { _ in false }
        return isUp
    }

    // MARK: - Media

    enum PlayOutcome: Equatable { case finished, digit(Character), hungUp, failed(String) }

    /// A prompt name (`welcome`, `custom/menu`) or an absolute path, to a WAV file.
    func promptPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name.hasSuffix(".wav") ? name : name + ".wav" }
        return prompts + "/" + name + (name.hasSuffix(".wav") ? "" : ".wav")
    }

    /// Plays a prompt to the caller; a digit in `stopOn` stops it and is returned.
    func play(_ prompt: String, stopOn: Set<Character> = []) async -> PlayOutcome {
        let path = promptPath(prompt)
        guard FileManager.default.fileExists(atPath: path) else { return .failed("no prompt file \(path)") }
        let playback = PlaybackID.make()
        let id = call.id
        do {
            try await engine.perform(.play(id, playback, path: path))
        } catch {
            if case .callGone = error { return .hungUp }
            return .failed(error.description)
        }
        while true {
            let event = await mailbox.wait { event in
                switch event {
                case .playbackFinished(id, playback, _): true
                case .dtmf(id, let digit, _): stopOn.contains(digit)
                default: false
                }
            }
            switch event {
            case .playbackFinished?: return .finished
            case .dtmf(_, let digit, _)?:
                engine.post(.stopPlayback(id))
                _ = await mailbox.wait(timeout: .seconds(1)) { if case .playbackFinished(id, playback, _) = $0 { true } else { false } }
                return .digit(digit)
            default:
                return .hungUp
            }
        }
    }

    /// The next digit the caller presses (typed-ahead digits first), or nil after `timeout`.
    func digit(timeout: Duration) async -> Character? {
        let id = call.id
        guard case .dtmf(_, let digit, _)? = await mailbox.wait(timeout: timeout, { event in
            if case .dtmf(id, _, _) = event { true } else { false }
        }) else { return nil }
        return digit
    }

    /// Forgets digits pressed before now.
    func flushDigits() {
        let id = call.id
        _ = mailbox.drain { if case .dtmf(id, _, _) = $0 { true } else { false } }
    }

    enum RecordEnd: String { case digit, maxDuration = "max-duration", hangup }

    /// Records the caller to `path` until a digit in `stopOn`, `maxDuration` or hangup.
    /// Returns the seconds of audio in the closed file, and what ended it.
    func record(to path: String, maxDuration: Duration, stopOn: Set<Character>) async -> (seconds: Double, end: RecordEnd)? {
        let id = call.id
        do { try await engine.perform(.record(id, path: path)) } catch { return nil }
        let event = await mailbox.wait(timeout: maxDuration) { event in
            if case .dtmf(id, let digit, _) = event { stopOn.contains(digit) } else { false }
        }
        let end: RecordEnd = event == nil ? .maxDuration : (isUp ? .digit : .hangup)
        if isUp { engine.post(.stopRecording(id)) }
        // Reported once the WAV file is complete, possibly after the hangup.
        let finished = await waitIgnoringHangup(timeout: .seconds(3)) { event in
            if case .recordingFinished(id, path, _) = event { true } else { false }
        }
        guard case .recordingFinished(_, _, let seconds)? = finished else { return nil }
        return (seconds, end)
    }

    /// Like `mailbox.wait`, but for events that still come after the caller hung up.
    private func waitIgnoringHangup(timeout: Duration, _ predicate: @escaping @Sendable (SIPEvent) -> Bool) async -> SIPEvent? {
        await mailbox.wait(timeout: timeout, afterHangup: true, predicate)
    }

    // MARK: - Messages

    /// Sends a MESSAGE and waits for the next hop's answer.
    func sendMessage(to: String, from: SIPAddress?, body: String, contentType: String = "text/plain") async -> (status: Int, reason: String) {
        let id = MessageID.make()
        router.register(id, mailbox)
        engine.post(.message(id, to: to, from: from, contentType: contentType, body: body))
        let event = await waitIgnoringHangup(timeout: .seconds(40)) { event in
            if case .messageStatus(id, _, _) = event { true } else { false }
        }
        guard case .messageStatus(_, let status, let reason)? = event else { return (408, "no answer from the next hop") }
        return (status, reason)
    }

    // MARK: - Legs

    /// Legs this call placed.
    var legs: Set<CallID> { state.withLock { $0.legs } }

    /// Waits (up to `timeout`) until every leg placed has ended, so their
    /// last reports (RTP counts) are in.
    func waitForLegsToEnd(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        for leg in legs where !mailbox.hasEnded(leg) {
            _ = await mailbox.wait(timeout: deadline - .now, afterHangup: true) { if case .callState(leg, .disconnected) = $0 { true } else { false } }
        }
    }

    /// RTP packets (sent, received) per leg, and whether they were SRTP, from the engine's last reports.
    func mediaStats() -> [CallID: (sent: Int, received: Int, encrypted: Bool)] {
        var result: [CallID: (sent: Int, received: Int, encrypted: Bool)] = [:]
        for event in mailbox.drain({ if case .mediaStats = $0 { true } else { false } }) {
            if case .mediaStats(let id, let sent, let received, let encrypted) = event { result[id] = (sent, received, encrypted) }
        }
        return result
    }

    /// Registers a new outbound leg with this call's mailbox.
    func adopt(_ leg: CallID, role: LegRole) {
        state.withLock { _ = $0.legs.insert(leg) }
        router.register(leg, mailbox, role: role)
    }

    /// Forgets a leg that was never placed (the engine refused it).
    func disown(_ leg: CallID) {
        state.withLock { _ = $0.legs.remove(leg) }
        router.unregister(leg)
    }
}
