// The values that cross the engine boundary. No pjsua type appears here:
// callbacks copy what they need into these and hand them on.

import Synchronization

/// Identifies one call leg for its whole life. Unlike a pjsua call id, which
/// is a slot number reused as soon as a call ends, a `CallID` is never reused,
/// so a command that arrives late for a finished call cannot hit a new one.
public struct CallID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// Identifies one outgoing MESSAGE, to match its delivery status.
public struct MessageID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// Identifies one playback, to match its completion.
public struct PlaybackID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// Where a SIP message came from.
public struct SourceAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// "UDP", "TCP", …
    public var transport: String

    public init(host: String, port: Int, transport: String) {
        self.host = host
        self.port = port
        self.transport = transport
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)/\(transport)" : "\(host):\(port)/\(transport)" }
}

/// A name-addr from a From or To header.
public struct SIPAddress: Sendable, Equatable, CustomStringConvertible {
    /// The display name, unquoted; empty when absent.
    public var displayName: String
    /// The URI, such as `sip:+15551234567@trunk.example.com`.
    public var uri: String

    public init(displayName: String = "", uri: String) {
        self.displayName = displayName
        self.uri = uri
    }

    /// The scheme (`sip`, `sips`, `tel`), lower case.
    public var scheme: String {
        uri.firstIndex(of: ":").map { uri[..<$0].lowercased() } ?? ""
    }

    /// The host of a sip/sips URI, without its port (`trunk.example.com`, `192.0.2.1`, `[2001:db8::1]`).
    public var host: String {
        guard let at = uri.firstIndex(of: "@") ?? uri.firstIndex(of: ":") else { return "" }
        var rest = uri[uri.index(after: at)...]
        if let end = rest.firstIndex(where: { $0 == ";" || $0 == "?" || $0 == ">" }) { rest = rest[..<end] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[...close]) }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    /// The user part of a sip/sips/tel URI (`+15551234567`), or empty; `sip:192.0.2.1:5060` has none.
    public var user: String {
        var rest = Substring(uri)
        var isTel = false
        for scheme in ["sips:", "sip:", "tel:"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            isTel = scheme == "tel:"
            break
        }
        if let at = rest.firstIndex(of: "@") { rest = rest[..<at] } else if !isTel { return "" }
        if let semi = rest.firstIndex(of: ";") { rest = rest[..<semi] }
        return String(rest)
    }

    /// The name-addr as it goes into a header: the display name quoted with `"`
    /// and `\\` escaped and control characters left out (RFC 3261 quoted-string).
    public var description: String {
        guard !displayName.isEmpty else { return "<\(uri)>" }
        var quoted = ""
        for scalar in displayName.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
            if scalar == "\"" || scalar == "\\" { quoted += "\\" }
            quoted.unicodeScalars.append(scalar)
        }
        return "\"\(quoted)\" <\(uri)>"
    }
}

/// A new inbound INVITE, already answered with 100 Trying.
public struct IncomingCall: Sendable {
    public var id: CallID
    public var from: SIPAddress
    public var to: SIPAddress
    /// The SIP Call-ID header.
    public var sipCallID: String
    public var requestURI: String
    /// Headers the engine was asked to capture (`EngineConfig.capturedHeaders`) and every `X-` header.
    public var headers: [(name: String, value: String)]
    public var source: SourceAddress
    /// The provider account the INVITE was addressed to, when it matched one.
    public var account: String?
    /// Whether the offer asks for SRTP; the call's media is then encrypted.
    public var offersSRTP = false
    /// The agent whose phone placed this call, authenticated by digest; nil for a trunk's call.
    public var agent: String?

    /// A first leg the gateway placed itself (click-to-call rings the agent's phone first).
    public init(id: CallID, from: SIPAddress, to: SIPAddress, sipCallID: String, requestURI: String,
                headers: [(name: String, value: String)] = [], source: SourceAddress, account: String? = nil,
                offersSRTP: Bool = false, agent: String?) {
        self.id = id
        self.from = from
        self.to = to
        self.sipCallID = sipCallID
        self.requestURI = requestURI
        self.headers = headers
        self.source = source
        self.account = account
        self.offersSRTP = offersSRTP
        self.agent = agent
    }
}

/// A call leg's progress.
public enum CallState: Sendable, Equatable {
    /// A provisional response was sent or received (180, 183).
    case early(status: Int)
    /// The call is answered and acknowledged; media flows.
    case confirmed
    /// The call is over. `status` is the final SIP status (200 for a normal
    /// BYE after answer); `byUs` says whether this side ended it.
    case disconnected(status: Int, reason: String, byUs: Bool)
}

/// How a DTMF digit arrived.
public enum DTMFMethod: String, Sendable {
    case rfc4733 = "rfc4733"
    case sipInfo = "sip-info"
}

/// An inbound SIP MESSAGE (RFC 3428); it has already been answered 200.
public struct IncomingMessage: Sendable {
    public var from: SIPAddress
    public var to: SIPAddress
    public var contentType: String
    public var body: String
    public var sipCallID: String
    public var source: SourceAddress
    /// The agent whose phone sent it, authenticated by digest; nil for a trunk's message.
    public var agent: String?

    /// A message made by the gateway itself (an agent's SMS sent through the HTTP API).
    public init(from: SIPAddress, to: SIPAddress, contentType: String = "text/plain", body: String, sipCallID: String,
                source: SourceAddress, agent: String?) {
        self.from = from
        self.to = to
        self.contentType = contentType
        self.body = body
        self.sipCallID = sipCallID
        self.source = source
        self.agent = agent
    }
}

/// Everything the engine reports. Delivered in order, on the engine thread.
public enum SIPEvent: Sendable {
    // The large payloads are boxed: events are copied into mailboxes, and a
    // small enum keeps those copies cheap.
    indirect case incomingCall(IncomingCall)
    case callState(CallID, CallState)
    case dtmf(CallID, digit: Character, method: DTMFMethod)
    /// A playback ended: the file played to the end (`interrupted == false`),
    /// or it was stopped or its call ended.
    case playbackFinished(CallID, PlaybackID, interrupted: Bool)
    /// A recording's WAV file is complete and closed; `seconds` is the audio in it.
    /// It may arrive just after the call's `.disconnected`.
    case recordingFinished(CallID, path: String, seconds: Double)
    indirect case incomingMessage(IncomingMessage)
    /// The next hop's final answer to a MESSAGE we sent (202/200 means accepted, not delivered).
    case messageStatus(MessageID, status: Int, reason: String)
    /// RTP packets a call leg sent and received, just before its `.disconnected`
    /// (one-way or no audio shows here), and whether they were SRTP.
    case mediaStats(CallID, sentPackets: Int, receivedPackets: Int, encrypted: Bool)
    /// A provider registration changed: 2xx means registered for `expires` seconds.
    case registration(account: String, status: Int, reason: String, expires: Int)
    /// A REFER the transfer policy accepted (answered 202): carry it out and
    /// report with `.transferOutcome`.
    indirect case transferRequested(TransferRequest)
    /// An agent's registered phones changed (registered, refreshed elsewhere,
    /// unregistered, expired, reachable or not): all of them, as they are now.
    case registrations(agent: String, bindings: [Binding])
}

/// Hands out identifiers that are unique for the life of the process.
enum IdentifierSource {
    private static let next = Atomic<UInt64>(1)
    static func take() -> UInt64 { next.add(1, ordering: .relaxed).oldValue }
}

public extension CallID {
    /// A fresh identifier for an outbound call.
    static func make() -> CallID { CallID(rawValue: IdentifierSource.take()) }
}

public extension MessageID {
    static func make() -> MessageID { MessageID(rawValue: IdentifierSource.take()) }
}

public extension PlaybackID {
    static func make() -> PlaybackID { PlaybackID(rawValue: IdentifierSource.take()) }
}
