import Foundation

/// `[trunk NAME]`: a provider, PBX or SBC that sends calls and messages in and
/// takes calls and messages out.
public struct Trunk: Sendable, Equatable {
    /// Equal when the settings are; where they were written does not matter.
    public static func == (a: Trunk, b: Trunk) -> Bool {
        var b = b
        b.location = a.location
        return a.name == b.name && a.match == b.match && a.context == b.context && a.messageContext == b.messageContext
            && a.host == b.host && a.username == b.username && a.password == b.password && a.realm == b.realm
            && a.register == b.register && a.fromUser == b.fromUser && a.transfer == b.transfer
            && a.transferContext == b.transferContext && a.media == b.media && a.requireTLS == b.requireTLS
    }

    public var name: String
    /// Sources whose INVITEs and MESSAGEs enter through this trunk.
    public var match: [AddressMatch] = []
    /// Dialplan context for calls from this trunk.
    public var context = ""
    /// Dialplan context for messages (SMS) from this trunk; nil means messages
    /// are stored on the timeline but run no dialplan.
    public var messageContext: String?
    /// Where outbound calls and messages go, such as `sip:203.0.113.5:5060`.
    public var host: String?
    public var username = ""
    public var password = ""
    public var realm = "*"
    /// Register the trunk's address of record with `host`.
    public var register = false
    /// The user part calls go out as (`sip:USER@host`).
    public var fromUser = "omnigate"
    /// Whether parties on this trunk may transfer calls by REFER (refused with 403 when not).
    public var transfer = false
    /// The context a transfer's target is looked up in; the trunk's `context` when nil.
    public var transferContext: String?
    /// Media encryption of its calls, both ways.
    public var media = MediaEncryption()
    /// Its calls must arrive over TLS (others get 403), and go out over TLS.
    public var requireTLS = false
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.location = location
    }
}

/// An address or network a trunk accepts traffic from: `192.0.2.10`,
/// `192.0.2.0/24`, `127.0.0.1:5070` (that port only), `::1`.
public struct AddressMatch: Sendable, Equatable, CustomStringConvertible {
    public var network: [UInt8]
    public var prefixLength: Int
    public var port: Int?

    /// Parses one entry; nil when it is not an IPv4/IPv6 address or network.
    public init?(_ text: String) {
        var rest = text.trimmingCharacters(in: .whitespaces)
        var port: Int?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()); if port == nil { return nil } }
            rest = String(rest[rest.index(after: rest.startIndex)..<close])
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            rest = String(rest[..<colon])
        }
        var prefix: Int?
        if let slash = rest.firstIndex(of: "/") {
            guard let p = Int(rest[rest.index(after: slash)...]) else { return nil }
            prefix = p
            rest = String(rest[..<slash])
        }
        guard let bytes = AddressMatch.parseIP(rest) else { return nil }
        let bits = bytes.count * 8
        guard (0...bits).contains(prefix ?? bits) else { return nil }
        self.network = bytes
        self.prefixLength = prefix ?? bits
        self.port = port
    }

    /// Whether `host` (an IP address as text) and `port` fall in this match.
    public func contains(host: String, port: Int) -> Bool {
        if let wanted = self.port, wanted != port { return false }
        guard var bytes = AddressMatch.parseIP(host) else { return false }
        if bytes.count == 16 && network.count == 4 && bytes[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
            bytes = Array(bytes[12...])  // IPv4-mapped IPv6
        }
        guard bytes.count == network.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(bytes, network) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String {
        let ip: String
        if network.count == 4 {
            ip = network.map(String.init).joined(separator: ".")
        } else {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: network) }
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
            ip = String(cString: buffer)
        }
        let withPrefix = prefixLength == network.count * 8 ? ip : "\(ip)/\(prefixLength)"
        guard let port else { return withPrefix }
        return network.count == 4 ? "\(withPrefix):\(port)" : "[\(withPrefix)]:\(port)"
    }

    static func parseIP(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}

/// `[agent NAME]`: a person who takes calls, at a SIP address.
public struct Agent: Sendable, Equatable {
    public var name: String
    /// The name shown to callers and in call records; defaults to the section name.
    public var displayName: String
    /// Where the agent's phone is, when it does not register: `sip:alice@192.0.2.20:5060`.
    public var contact = ""
    /// The digest username the agent's phones register (and call) with; the agent's name by default.
    public var username: String
    /// The password, or its hash MD5(username:realm:password) in hex; neither: the agent cannot register.
    public var password: String?
    public var passwordHash: String?
    /// Phones the agent may have registered at once; past it, the oldest registration goes.
    public var maxContacts = 3
    /// How often each registered phone is sent OPTIONS (Asterisk's qualify_frequency); nil for never.
    public var qualifyFrequency: Duration? = .seconds(60)
    /// The queues the agent serves, in order.
    public var queues: [String] = []
    /// The dialplan context of the agent's own requests: a transfer's target is looked up here.
    public var context = "from-agents"
    /// The dialplan context of the SMS the agent's phones send (MESSAGE): its MessageSend sends them on.
    public var messageContext = "agents-sms"
    /// Whether the agent may transfer calls by REFER.
    public var transfer = true
    /// Media encryption of calls to the agent.
    public var media = MediaEncryption()
    /// The agent is rung over TLS only.
    public var requireTLS = false
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.displayName = name
        self.username = name
        self.location = location
    }

    /// Whether the agent's phones log in (it has a password or its hash).
    public var registers: Bool { password != nil || passwordHash != nil }
}

/// `media_encryption` and `media_encryption_optimistic`, as in Asterisk's pjsip.conf.
public struct MediaEncryption: Sendable, Equatable {
    /// SRTP keyed by SDES (RFC 4568).
    public var sdes = false
    /// With SDES: plain RTP when the other side does not do SRTP, instead of no call.
    public var optimistic = false
    public init() {}

    mutating func read(_ reader: inout SectionReader) {
        reader.read("media_encryption", into: &sdes, expected: "no or sdes") { text in
            switch text.lowercased() {
            case "no": false
            case "sdes": true
            default: nil
            }
        }
        reader.bool("media_encryption_optimistic", into: &optimistic)
    }
}

/// How a queue picks the agent(s) to ring.
public enum QueueStrategy: String, Sendable, CaseIterable {
    /// Every free agent at once; the first to answer takes the call.
    case ringall
    /// The next free agent after the one who took the last call.
    case roundrobin
    /// The free agent whose last call ended longest ago.
    case leastrecent
    /// The free agent who took the fewest calls.
    case fewestcalls
    /// Free agents in the order listed, always from the top.
    case linear
    /// A free agent at random.
    case random
    /// The agent who last handled this caller on any channel, if free; otherwise the fallback strategy.
    case sticky
}

/// `[queue NAME]`: callers wait here for the next free agent.
public struct Queue: Sendable, Equatable {
    /// Equal when the settings are; where they were written does not matter.
    public static func == (a: Queue, b: Queue) -> Bool {
        var b = b
        b.location = a.location
        return a.name == b.name && a.strategy == b.strategy && a.fallback == b.fallback && a.members == b.members
            && a.ringTimeout == b.ringTimeout && a.maxWait == b.maxWait && a.wrapUp == b.wrapUp
            && a.joinEmpty == b.joinEmpty && a.leaveWhenEmpty == b.leaveWhenEmpty && a.maxLength == b.maxLength
            && a.announceFrequency == b.announceFrequency && a.announcePosition == b.announcePosition
            && a.announceHoldTime == b.announceHoldTime
    }

    public var name: String
    public var strategy: QueueStrategy = .ringall
    /// For `sticky`: how to pick when the caller's last agent is not free.
    public var fallback: QueueStrategy = .roundrobin
    /// Agents, in order: `members` first, then agents naming this queue.
    public var members: [String] = []
    /// How long each attempt rings an agent.
    public var ringTimeout: Duration = .seconds(15)
    /// How long a caller may wait in the queue in all before it gives up (QUEUESTATUS=TIMEOUT).
    public var maxWait: Duration = .seconds(300)
    /// Rest an agent gets after a call before the queue rings them again.
    public var wrapUp: Duration = .seconds(5)
    /// A caller may not join when no member counts under these (Asterisk's `joinempty`).
    public var joinEmpty = EmptyConditions.loose
    /// A waiting caller leaves (QUEUESTATUS=LEAVEEMPTY) when no member counts under these (`leavewhenempty`).
    public var leaveWhenEmpty = EmptyConditions.loose
    /// Callers waiting at most; one more gets QUEUESTATUS=FULL. 0: no limit (Asterisk's `maxlen`).
    public var maxLength = 0
    /// How often a waiting caller hears its position and the expected wait; nil: never.
    public var announceFrequency: Duration?
    /// Whether announcements say the caller's position, and the expected wait.
    public var announcePosition = true
    public var announceHoldTime = true
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.location = location
    }
}

extension Queue {
    /// The built-in queues: those the shipped dialplan names, with no members.
    public static let builtIn: [Queue] = ["vip", "sales", "support"].map { Queue(name: $0, location: ConfigLocation(file: "built-in", line: 0)) }
}

extension Trunk {
    /// The built-in trunk: traffic from this machine enters [from-trunk], SMS [sms-in].
    public static let loopback: Trunk = {
        var trunk = Trunk(name: "local", location: ConfigLocation(file: "built-in", line: 0))
        trunk.match = [AddressMatch("127.0.0.1")!, AddressMatch("::1")!]
        trunk.context = "from-trunk"
        trunk.messageContext = "sms-in"
        return trunk
    }()

    mutating func read(_ reader: inout SectionReader) {
        reader.read("match", into: &match, expected: "IP addresses or networks, such as 192.0.2.10, 192.0.2.0/24 or 127.0.0.1:5070") { text in
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let parsed = parts.compactMap(AddressMatch.init)
            return parsed.count == parts.count && !parsed.isEmpty ? parsed : nil
        }
        reader.read("context", into: &context, expected: "a dialplan context name") { isName($0) ? $0 : nil }
        reader.optional("message_context", into: &messageContext, expected: "a dialplan context name") { isName($0) ? $0 : nil }
        reader.optional("host", into: &host, expected: "a SIP URI such as sip:203.0.113.5:5060") { isSIPURI($0) ? $0 : nil }
        reader.string("username", into: &username)
        reader.string("password", into: &password)
        reader.string("realm", into: &realm)
        reader.bool("register", into: &register)
        reader.read("from_user", into: &fromUser, expected: "a SIP user part") { text in
            text.isEmpty || text.contains(where: { " @:;<>\"".contains($0) }) ? nil : text
        }
        reader.bool("transfer", into: &transfer)
        reader.optional("transfer_context", into: &transferContext, expected: "a dialplan context name") { isName($0) ? $0 : nil }
        media.read(&reader)
        reader.bool("require_tls", into: &requireTLS)
    }
}

extension Agent {
    mutating func read(_ reader: inout SectionReader) {
        reader.string("name", into: &displayName)
        reader.read("contact", into: &contact, expected: "a SIP URI such as sip:alice@192.0.2.20:5060") { isSIPURI($0) ? $0 : nil }
        reader.read("username", into: &username, expected: "a SIP user part") { text in
            text.isEmpty || text.contains(where: { " @:;<>\"?".contains($0) || $0.isWhitespace }) ? nil : text
        }
        reader.optional("password", into: &password, expected: "a password") { $0.isEmpty ? nil : $0 }
        reader.optional("password_hash", into: &passwordHash, expected: "32 hex digits: MD5 of username:realm:password") { text in
            text.count == 32 && text.allSatisfy(\.isHexDigit) ? text.lowercased() : nil
        }
        reader.int("max_contacts", into: &maxContacts, range: 1...100)
        reader.read("qualify_frequency", into: &qualifyFrequency, expected: "a duration such as 60s, or 0 for never") { text in
            SectionReader.parseDuration(text).map { $0 == .zero ? nil : $0 }
        }
        reader.read("queues", into: &queues, expected: "queue names separated by commas") { text in
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return names.allSatisfy(isName) ? names : nil
        }
        reader.read("context", into: &context, expected: "a dialplan context name") { isName($0) ? $0 : nil }
        reader.read("message_context", into: &messageContext, expected: "a dialplan context name") { isName($0) ? $0 : nil }
        reader.bool("transfer", into: &transfer)
        media.read(&reader)
        reader.bool("require_tls", into: &requireTLS)
    }
}

extension Queue {
    mutating func read(_ reader: inout SectionReader) {
        let strategies = QueueStrategy.allCases.map(\.rawValue).joined(separator: ", ")
        reader.read("strategy", into: &strategy, expected: "one of \(strategies)") { QueueStrategy(rawValue: $0.lowercased()) }
        reader.read("fallback", into: &fallback, expected: "one of \(strategies) except sticky") { text in
            QueueStrategy(rawValue: text.lowercased()).flatMap { $0 == .sticky ? nil : $0 }
        }
        reader.read("members", into: &members, expected: "agent names separated by commas") { text in
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return names.allSatisfy(isName) ? names : nil
        }
        reader.duration("ring_timeout", into: &ringTimeout)
        reader.duration("max_wait", into: &maxWait)
        reader.duration("wrapup", into: &wrapUp)
        let conditions = "yes, no, strict, loose, or a list of paused, penalty, inuse, ringing, unavailable, invalid, unknown, wrapup"
        reader.read("joinempty", into: &joinEmpty, expected: conditions) { EmptyConditions(parsing: $0, joining: true) }
        reader.read("leavewhenempty", into: &leaveWhenEmpty, expected: conditions) { EmptyConditions(parsing: $0, joining: false) }
        reader.int("maxlen", into: &maxLength, range: 0...100_000)
        reader.read("announce_frequency", into: &announceFrequency, expected: "a duration such as 30s, or 0 for never") { text in
            SectionReader.parseDuration(text).map { $0 == .zero ? nil : $0 }
        }
        reader.bool("announce_position", into: &announcePosition)
        reader.bool("announce_holdtime", into: &announceHoldTime)
    }
}

/// When a queue counts as empty, as Asterisk's `joinempty` and `leavewhenempty`
/// read it: a member in one of these conditions does not count, and a queue
/// with no member that counts is empty. A queue nobody is logged in to is
/// always empty unless the set is empty (`joinempty = yes`, `leavewhenempty = no`).
public struct EmptyConditions: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let paused = EmptyConditions(rawValue: 1 << 0)
    /// Omnigate has no penalties: read, and nothing more.
    public static let penalty = EmptyConditions(rawValue: 1 << 1)
    public static let inUse = EmptyConditions(rawValue: 1 << 2)
    public static let ringing = EmptyConditions(rawValue: 1 << 3)
    /// No phone registered or reachable.
    public static let unavailable = EmptyConditions(rawValue: 1 << 4)
    public static let invalid = EmptyConditions(rawValue: 1 << 5)
    public static let unknown = EmptyConditions(rawValue: 1 << 6)
    public static let wrapUp = EmptyConditions(rawValue: 1 << 7)

    /// Nobody logged in.
    public static let loose: EmptyConditions = [.penalty, .invalid]
    /// Nobody logged in who is not paused and has a phone.
    public static let strict: EmptyConditions = [.penalty, .invalid, .paused, .unavailable]

    /// Asterisk's `parse_empty_options`: `yes`/`no` mean opposite things for joining and leaving.
    public init?(parsing text: String, joining: Bool) {
        var conditions: EmptyConditions = []
        for option in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch option {
            case "paused": conditions.insert(.paused)
            case "penalty": conditions.insert(.penalty)
            case "inuse": conditions.insert(.inUse)
            case "ringing": conditions.insert(.ringing)
            case "unavailable": conditions.insert(.unavailable)
            case "invalid": conditions.insert(.invalid)
            case "unknown": conditions.insert(.unknown)
            case "wrapup": conditions.insert(.wrapUp)
            case "loose": conditions = .loose
            case "strict": conditions = .strict
            case "yes", "true", "on", "1": conditions = joining ? [] : [.penalty, .invalid, .paused]
            case "no", "false", "off", "0": conditions = joining ? [.penalty, .invalid, .paused] : []
            default: return nil
            }
        }
        self = conditions
    }
}

/// Names of trunks, agents, queues and contexts: letters, digits, `-`, `_`, `.`.
func isName(_ text: String) -> Bool {
    !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
}

func isSIPURI(_ text: String) -> Bool {
    let lower = text.lowercased()
    return (lower.hasPrefix("sip:") || lower.hasPrefix("sips:")) && text.count > 5
        && !text.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\"" })
}
