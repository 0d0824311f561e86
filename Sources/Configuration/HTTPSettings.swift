import Foundation

/// `[http]`: the HTTP API (docs/api.md).
public struct HTTPSettings: Sendable, Equatable {
    /// Where the API listens; loopback by default, off for none.
    public var listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 8080)
    /// PEM files: with both, the API speaks HTTPS only.
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    /// Origins a browser page may call the API from (CORS); none by default.
    public var allowedOrigins: [String] = []
    /// Connections at once, and from one address.
    public var maxConnections = 256
    public var connectionsPerAddress = 32
    /// Request bodies larger than this are refused with 413.
    public var maxBody = 1 << 20
    /// How long webhook deliveries are kept once delivered or given up (the outbox is pruned after).
    public var webhookHistory: Duration = .seconds(7 * 86_400)

    public init() {}

    mutating func read(_ reader: inout SectionReader) {
        reader.read("listen", into: &listen, expected: "host:port (such as 127.0.0.1:8080) or off") { text in
            text.lowercased() == "off" ? .some(nil) : ListenAddress(text).map { .some($0) }
        }
        reader.optional("tls_certificate", into: &tlsCertificate, expected: "a PEM file path") { $0.isEmpty ? nil : $0 }
        reader.optional("tls_private_key", into: &tlsPrivateKey, expected: "a PEM file path") { $0.isEmpty ? nil : $0 }
        reader.read("allowed_origins", into: &allowedOrigins, expected: "origins such as https://crm.example.com, separated by commas") { text in
            let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return origins.allSatisfy { ($0.hasPrefix("https://") || $0.hasPrefix("http://")) && !$0.contains(" ") } ? origins : nil
        }
        reader.int("max_connections", into: &maxConnections, range: 1...10_000)
        reader.int("connections_per_address", into: &connectionsPerAddress, range: 1...10_000)
        reader.int("max_body", into: &maxBody, range: 1024...(64 << 20))
        reader.read("webhook_history", into: &webhookHistory, expected: "a duration of at least 1h, such as 7d") { text in
            SectionReader.parseDuration(text).flatMap { $0 >= .seconds(3600) ? $0 : nil }
        }
    }
}

/// `[token NAME]`: an API token and what it may do. Only the token's SHA-256
/// is kept (`omnigate token new` makes a token and its line).
public struct APIToken: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        /// Everything.
        case admin
        /// Agents and queues: read and change; call records and timelines: read.
        case supervisor
        /// One agent: its own state, its own calls.
        case agent
        /// Call records and timelines: read.
        case helpdesk
        /// Events and contacts: write; lookups.
        case integration
    }

    public var name: String
    public var role: Role = .helpdesk
    /// SHA-256 of the token, lower-case hex.
    public var sha256 = ""
    /// For role `agent`: the agent it acts as.
    public var agent: String?
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.location = location
    }

    mutating func read(_ reader: inout SectionReader) {
        reader.read("role", into: &role, expected: "one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") {
            Role(rawValue: $0.lowercased())
        }
        reader.read("sha256", into: &sha256, expected: "64 hex digits, the SHA-256 of the token (omnigate token new)") { text in
            let hex = text.lowercased()
            return hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : nil
        }
        reader.optional("agent", into: &agent, expected: "an agent's name") { isName($0) ? $0 : nil }
    }
}

/// `[webhook NAME]`: where Omnigate posts events, signed with the secret
/// (docs/api.md, "Webhooks").
public struct Webhook: Sendable, Equatable {
    public static let eventNames = ["call.ended", "sms.received", "voicemail.created", "agent.state_changed"]

    public var name: String
    /// An http:// or https:// URL.
    public var url = ""
    public var events: [String] = ["call.ended"]
    /// The HMAC-SHA256 key the receiver checks signatures with.
    public var secret = ""
    /// How long a delivery is retried before it is given up (and shown as failed).
    public var retryFor: Duration = .seconds(86_400)
    public var location: ConfigLocation

    public init(name: String, location: ConfigLocation) {
        self.name = name
        self.location = location
    }

    mutating func read(_ reader: inout SectionReader) {
        reader.read("url", into: &url, expected: "an http:// or https:// URL") { text in
            (text.hasPrefix("http://") || text.hasPrefix("https://")) && URL(string: text)?.host != nil && !text.contains(" ") ? text : nil
        }
        reader.read("events", into: &events, expected: "events separated by commas: \(Webhook.eventNames.joined(separator: ", "))") { text in
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return !names.isEmpty && names.allSatisfy(Webhook.eventNames.contains) ? names : nil
        }
        reader.read("secret", into: &secret, expected: "at least 16 characters") { $0.count >= 16 ? $0 : nil }
        reader.duration("retry_for", into: &retryFor)
    }
}
