import Foundation

/// A customer.
public struct Contact: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    /// A service level such as `standard`, `gold` or `vip`; dialplans route on it.
    public var tier: String
    public var company: String?
    public var identities: [Identity]

    public init(id: String, name: String, tier: String = "standard", company: String? = nil, identities: [Identity] = []) {
        self.id = id
        self.name = name
        self.tier = tier
        self.company = company
        self.identities = identities
    }
}

/// The channel an interaction happened on.
public enum EventChannel: String, Sendable, Codable, CaseIterable {
    case voice, sms, chat, email, social, note
}

/// Which way an interaction went, seen from the business.
public enum Direction: String, Sendable, Codable, CaseIterable {
    case inbound, outbound, `internal`

    /// A direction as written, also in the spellings stores before schema 6 used (`in`, `out`).
    public init?(spelling: String) {
        switch spelling {
        case "in": self = .inbound
        case "out": self = .outbound
        default: self.init(rawValue: spelling)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let direction = Direction(spelling: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not inbound, outbound or internal")
        }
        self = direction
    }
}

/// One interaction on a customer's timeline.
public struct TimelineEvent: Sendable, Codable, Equatable {
    public var id: Int64?
    public var contactID: String?
    /// The customer's identity on this interaction (E.164 number, email, …), normalized.
    public var address: String?
    public var channel: EventChannel
    public var direction: Direction
    public var time: Date
    public var subject: String?
    public var summary: String?
    public var body: String?
    /// `open`/`closed` for work items; for SMS `received`, `sending`, `accepted`, `delivered` or `failed`.
    public var status: String?
    public var agent: String?
    public var threadID: String?
    /// The writer's own id for this interaction; unique per `source`, so retries never duplicate.
    public var externalRef: String?
    /// The system that wrote it (`omnigate`, `chat`, `email`, …).
    public var source: String
    /// A recording that belongs to the event (a voicemail's WAV), and its length in milliseconds.
    public var mediaPath: String?
    public var mediaDurationMilliseconds: Int?

    /// The store's column names, in every JSON that carries an event (lookup, API, webhooks, import).
    enum CodingKeys: String, CodingKey {
        case id, address, channel, direction, time, subject, summary, body, status, agent, source
        case contactID = "contact_id", threadID = "thread_id", externalRef = "external_ref", mediaPath = "media_path"
        case mediaDurationMilliseconds = "media_duration_ms"
    }

    public init(channel: EventChannel, direction: Direction, time: Date = Date(), source: String) {
        self.channel = channel
        self.direction = direction
        self.time = time
        self.source = source
    }
}

/// A call record: Asterisk's CDR fields plus what a contact center needs.
public struct CallRecord: Sendable, Codable, Equatable {
    public var uniqueid: String
    /// `inbound` for a call from a customer (the customer is `src`), `outbound` for one to a customer (`dst`).
    public var direction: Direction = .inbound
    public var clid = ""
    public var src = ""
    public var dst = ""
    public var dcontext = ""
    public var channel = ""
    public var dstchannel = ""
    public var lastapp = ""
    public var lastdata = ""
    public var start: Date
    public var answer: Date?
    public var end: Date?
    /// Seconds from start to end.
    public var duration = 0
    /// Seconds from answer to end.
    public var billsec = 0
    /// ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION.
    public var disposition = "NO ANSWER"
    public var userfield = ""
    /// ringing, answered, bridged or ended.
    public var state = "ringing"
    public var contactID: String?
    public var agent: String?
    public var queue: String?
    /// Milliseconds the caller waited (queue or dial) before an agent answered or the wait ended.
    public var waitMilliseconds: Int?
    /// When an agent answered: the agent's phone rung for the call, or for click-to-call the
    /// agent's own phone rung first. Nil when no agent's phone answered (`answer` is when the
    /// gateway or the called party did).
    public var agentAnswer: Date?
    /// When the agent and the customer were connected (not stored: `talksec` is made from it).
    public var bridged: Date?
    /// Seconds the agent and the customer were connected, from the bridge to the end (beside
    /// `billsec`, which counts from `answer` and so includes an IVR and the wait in a queue).
    /// Nil on records from before schema 6.
    public var talksec: Int?
    public var sipCallID: String?
    /// The final SIP status of the caller's leg, and of the agent's leg.
    public var sipStatus: Int?
    public var agentSIPStatus: Int?
    /// caller, agent, gateway or system.
    public var hangupSide: String?
    /// Each dialplan step taken: `context,exten,priority: App(args)`.
    public var dialplanPath: [String] = []
    /// A recording (voicemail) of the call, if any.
    public var recording: String?
    public var trunk: String?
    /// Closed at start-up after a crash or kill left it open.
    public var interrupted = false
    /// Fields the store cut to fit its limits, with their original lengths in characters (nil when none was cut).
    public var truncated: [String: Int]?
    /// The gateway run that took the call (see `GatewayRun`).
    public var runID: String?

    public init(uniqueid: String, start: Date) {
        self.uniqueid = uniqueid
        self.start = start
    }

    public static let dispositions: Set<String> = ["ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"]
}

/// What an agent should see about a caller, from the store.
public struct TimelinePop: Sendable, Codable, Equatable {
    public struct Summary: Sendable, Codable, Equatable {
        /// Interactions per channel.
        public var interactions: [String: Int] = [:]
        public var lastContact: Date?
        public var lastChannel: String?
        public var lastAgent: String?
        public var lastSubject: String?
        /// Events still open (work items), all of them; `openItems` lists the newest 20.
        public var openItems = 0

        enum CodingKeys: String, CodingKey {
            case interactions, lastContact = "last_contact", lastChannel = "last_channel", lastAgent = "last_agent"
            case lastSubject = "last_subject", openItems = "open_items"
        }
    }

    enum CodingKeys: String, CodingKey {
        case query, known, contact, identities, recent, openItems = "open_items", summary
    }

    /// What was looked up.
    public var query: String
    /// False for a number or address no contact owns: the pop holds its own history.
    public var known: Bool
    public var contact: Contact?
    public var identities: [Identity]
    /// Latest events across all channels, newest first.
    public var recent: [TimelineEvent]
    /// Events still open (work items), newest first.
    public var openItems: [TimelineEvent]
    public var summary: Summary

    /// Answers the dialplan's `CONTACT(field)`: name, tier, id, company, known,
    /// last_agent, last_channel, last_contact (ISO 8601), last_subject,
    /// open_items (count), interactions (count), email, phone. Nil for an unknown field.
    public func field(_ name: String) -> String? {
        switch name.lowercased() {
        case "name": contact?.name ?? ""
        case "tier": contact?.tier ?? ""
        case "id": contact?.id ?? ""
        case "company": contact?.company ?? ""
        case "known": known ? "1" : "0"
        case "last_agent": summary.lastAgent ?? ""
        case "last_channel": summary.lastChannel ?? ""
        case "last_contact": summary.lastContact.map(Timestamp.string) ?? ""
        case "last_subject": summary.lastSubject ?? ""
        case "open_items": String(max(summary.openItems, openItems.count))
        case "interactions": String(summary.interactions.values.reduce(0, +))
        case "email": identities.first { $0.kind == .email }?.value ?? ""
        case "phone": identities.first { $0.kind == .phone }?.value ?? ""
        default: nil
        }
    }

    public static let fields = ["name", "tier", "id", "company", "known", "last_agent", "last_channel", "last_contact",
                                "last_subject", "open_items", "interactions", "email", "phone"]

    /// The pop as JSON (ISO 8601 UTC times with milliseconds, sorted keys).
    public var json: String {
        (try? Timestamp.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A pop read back from `json`.
    public static func decode(json: Data) throws -> TimelinePop {
        try Timestamp.decoder.decode(TimelinePop.self, from: json)
    }
}

/// Times as the store's JSON writes them: ISO 8601 in UTC with milliseconds,
/// `2026-11-24T10:00:00.123Z`. Reading also takes them without fractions.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let plain = Date.ISO8601FormatStyle(timeZone: .gmt)

    /// The time to the millisecond the store keeps (rounded, as the store rounds), so a time
    /// read back and written again stays the same: the formatter cuts the fraction, and
    /// 1796133889.637 s is 1796133889.63699996… as a Double, which it would write as .636.
    public static func string(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        return style.format(Date(timeIntervalSince1970: (milliseconds + 0.25) / 1000))
    }

    /// A time from ISO 8601 text (`2026-11-24T10:00:00Z`, with or without fractions or a
    /// numeric offset) or a date alone (`2026-11-24`, midnight UTC); nil when it is neither.
    public static func parse(_ text: String) -> Date? {
        if let date = try? style.parse(text) { return date }
        if let date = try? plain.parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().parse(text) { return date }
        return nil
    }

    /// A JSON encoder with these times and sorted keys.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(string(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A JSON decoder for what `encoder` writes.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an ISO 8601 time")
            }
            return date
        }
        return decoder
    }
}
