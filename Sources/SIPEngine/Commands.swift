/// What callers can ask of the engine. Commands run on the engine thread in
/// the order they were given: `SIPEngine.perform` waits until one is carried
/// out there and throws an `EngineError` when it cannot be; `post` does not
/// wait (a failure is logged). What follows later (a call's states, the end
/// of a prompt, a message's answer) comes as events.
public enum SIPCommand: Sendable {
    /// Sends a provisional response (180 Ringing, 183 Session Progress with early media).
    case provisional(CallID, status: Int, headers: [(name: String, value: String)] = [])
    /// Answers an inbound call with 200 OK.
    case answer(CallID, headers: [(name: String, value: String)] = [])
    /// Rejects an inbound call that is not answered yet with a final status (403, 486, 503, …).
    case reject(CallID, status: Int, reason: String? = nil)
    /// Ends a call: BYE when answered, CANCEL when ringing out, a final error when ringing in.
    case hangup(CallID, status: Int? = nil)
    /// Places an outbound call. `from` overrides the From header; `headers` are added
    /// to the INVITE; `account` names a provider account (its proxy and credentials);
    /// `srtp` is the media security to offer (a provider account has its own).
    case call(CallID, to: String, from: SIPAddress?, headers: [(name: String, value: String)] = [], account: String? = nil,
              srtp: SRTPUse = .disabled)
    /// Connects two calls' audio both ways (the B2BUA bridge).
    case bridge(CallID, CallID)
    /// Disconnects the audio between two calls.
    case unbridge(CallID, CallID)
    /// Plays a WAV file into a call; `.playbackFinished` follows.
    case play(CallID, PlaybackID, path: String)
    /// Stops whatever is playing into a call.
    case stopPlayback(CallID)
    /// Records the audio a call sends us (and a bridged peer's, if any) to a WAV file.
    case record(CallID, path: String)
    /// Closes a call's recording; `.recordingFinished` follows.
    case stopRecording(CallID)
    /// Sends a MESSAGE outside any dialog; `.messageStatus` follows.
    case message(MessageID, to: String, from: SIPAddress?, contentType: String, body: String,
                 headers: [(name: String, value: String)] = [])
    /// Tells the party whose REFER was accepted how its transfer went (a NOTIFY
    /// with a sipfrag status line): 1xx while it runs, a final status when done.
    case transferOutcome(CallID, status: Int, reason: String)
    /// Puts back an agent's bindings remembered from before a restart.
    case restoreRegistrations(agent: String, bindings: [Binding])
}
