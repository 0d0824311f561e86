import Foundation

/// Everything `omnigate run` is configured with. `GatewayConfig()` is the
/// embedded default the gateway runs on without a file; `Config/omnigate.conf`
/// documents each setting with that same default.
public struct GatewayConfig: Sendable, Equatable {
    /// `[general]`: process-wide settings.
    public struct General: Sendable, Equatable {
        public var logLevel = "info"
        /// The User-Agent of every request and response Omnigate sends; empty for none.
        public var userAgent = "Omnigate"
        /// Calls (all legs) the gateway holds at once; more are refused with 503.
        public var maxCalls = 1000
        /// On SIGTERM: how long live calls may go on before they are hung up.
        public var drainTime: Duration = .seconds(30)
        /// `text` (key=value lines) or `json` (one object per line) for every log line, PJSIP's included.
        public var logFormat = "text"
        /// The first part of every call's uniqueid (Asterisk's `systemname`); nil: this host's name.
        public var systemName: String?
    }

    /// `[sip]`: transports. A transport set to `off` is not opened.
    public struct SIP: Sendable, Equatable {
        public var udp: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 5060)
        public var tcp: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 5060)
        /// SIP over TLS (off unless set): with a certificate and its private key, PEM files.
        public var tls: ListenAddress?
        public var tlsCertificate: String?
        public var tlsPrivateKey: String?
        /// CAs peers' certificates are checked against (PEM); nil for the system's.
        public var tlsCA: String?
        /// Ask TLS clients for a certificate and refuse those without a valid one.
        public var tlsVerifyClient = false
        /// Check the certificates of TLS servers Omnigate connects to.
        public var tlsVerifyServer = true
        /// The digest realm agents' phones log in to.
        public var realm = "omnigate"
        /// First RTP port; each call leg takes the next free even port.
        public var rtpPortStart = 10000
        /// Number of ports RTP may use from `rtpPortStart`.
        public var rtpPortRange = 10000
        /// Requests per second one source no trunk matches may send; more are dropped unanswered.
        public var requestsPerSecond = 50
        /// Requests such a source may send at once before the rate applies.
        public var requestBurst = 200
        /// TCP and TLS connections one source no trunk matches may hold open.
        public var connectionsPerSource = 32
        /// TCP and TLS connections from all sources together.
        public var maxConnections = 2000
        /// A TCP or TLS connection with no call, transaction or complete message for this long is closed.
        public var idleTimeout: Duration = .seconds(60)
    }

    /// `[store]`: the shared customer store (an SQLite file, or a PostgreSQL database several
    /// gateways share), and what happens to call records while it cannot be written.
    public struct Store: Sendable, Equatable {
        public enum Backend: String, Sendable { case sqlite, postgresql }
        public var backend = Backend.sqlite
        /// The SQLite file (`backend = sqlite`).
        public var path = "var/omnigate.sqlite"
        /// A libpq connection string or `postgresql://` URI (`backend = postgresql`).
        public var connection = ""
        /// PostgreSQL connections for reads (the pop), beside the one that writes.
        public var poolSize = 4
        /// ISO 3166 country of national numbers without a country code.
        public var defaultCountry = "US"
        /// Writes held in memory while the store cannot be written.
        public var backlog = 100_000
        /// The directory of the spill file; nil: beside the store. `off` (`spillEnabled` false): no spill file.
        public var spill: String?
        public var spillEnabled = true
        /// Bytes reserved for the spill file when the gateway starts.
        public var spillSize: Int64 = 16 << 20
        /// How long the store may stay unwritable before held writes go to the spill file.
        public var spillAfter: Duration = .seconds(5)
        /// When the backlog and the spill file are both full: refuse new calls (503), or take them unrecorded.
        public var refuseWhenFull = true
        /// When the store file is deleted or replaced: reopen it (restoring a deleted one from the
        /// copy still open), or refuse new calls until a restart.
        public var reopenWhenChanged = true
        /// The WAL is checkpointed and truncated when it grows past this many bytes.
        public var walLimit: Int64 = 64 << 20

        public init() {}

        /// The spill file's path.
        public var spillPath: String {
            // A PostgreSQL store has no file to sit beside: the spill file goes where the SQLite file would.
            let beside = backend == .sqlite ? path : ((path as NSString).deletingLastPathComponent as NSString)
                .appendingPathComponent("postgresql-store")
            let name = (beside as NSString).lastPathComponent + ".spill"
            guard let spill else { return beside + ".spill" }
            return (spill as NSString).appendingPathComponent(name)
        }

        /// What the store is, for logs: the file, or the PostgreSQL connection string's host and database.
        /// Never a password: neither `password=…` in a keyword string nor `user:secret@` or
        /// `?password=…` in a URI.
        public var displayName: String {
            guard backend == .postgresql else { return path }
            if connection.contains("://") {
                return connection
                    .replacingOccurrences(of: #"^([a-z]+://[^:@/?]*):[^@/?]*@"#, with: "$1@", options: .regularExpression)
                    .replacingOccurrences(of: #"([?&])password=[^&]*&?"#, with: "$1", options: [.regularExpression, .caseInsensitive])
                    .replacingOccurrences(of: #"[?&]$"#, with: "", options: .regularExpression)
            }
            let parts = connection.split(separator: " ").filter { !$0.lowercased().hasPrefix("password") }
            return "postgresql " + parts.joined(separator: " ")
        }
    }

    /// `[dialplan]`: where admins' dialplans live, and how strictly they are read.
    public struct DialplanSettings: Sendable, Equatable {
        public var path = "Dialplans"
        /// `strict` refuses a plan with any error; `asterisk` loads a plan whose only
        /// errors are references Asterisk resolves at run time, as warnings.
        public var mode = "strict"
    }

    /// `[media]`: prompts played to callers and recordings made of them.
    public struct Media: Sendable, Equatable {
        public var prompts = "/usr/local/share/omnigate/prompts"
        public var recordings = "var/recordings"
    }

    /// `[screenpop]`: the context handed to agents before their phone rings.
    public struct ScreenPop: Sendable, Equatable {
        /// The Call-Info URL on agent INVITEs; `{contact}` becomes the contact id
        /// and `{number}` the caller's number.
        public var url = "http://localhost:8080/console/contact.html?id={contact}&number={number}"
        /// How long the store lookup may take before the agent is rung anyway.
        public var lookupBudget: Duration = .milliseconds(50)
        /// A file every pop is appended to as a JSON line, before the agent's INVITE goes out; nil for none.
        public var log: String?
        /// Put the caller's context (name, summary, Call-Info) on an agent's INVITE
        /// only when that leg goes over TLS; otherwise the agent sees the number alone.
        public var requireTLS = false
        /// An SMS from a customer whose last interaction with an agent is this
        /// recent is offered to that agent (`SMS_AGENT` in the message context),
        /// so a conversation goes on with the same person; zero: never.
        public var conversationWindow: Duration = .seconds(1800)
        /// How long an agent's INVITE may wait for the pop to reach the screens the
        /// agent has open (its event streams, its console), so the pop comes before
        /// the ring; only when it has some open. Zero: never wait.
        public var consoleWait: Duration = .milliseconds(200)
    }

    public var general = General()
    public var sip = SIP()
    public var store = Store()
    public var dialplan = DialplanSettings()
    public var media = Media()
    public var screenPop = ScreenPop()
    public var http = HTTPSettings()
    /// API tokens; none by default (the API then answers only /health).
    public var tokens: [APIToken] = []
    /// Webhook subscriptions; none by default.
    public var webhooks: [Webhook] = []
    /// By default one trunk: phones and test tools on this machine, entering
    /// the shipped dialplan. A configuration file with any [trunk] replaces it.
    public var trunks: [Trunk] = [Trunk.loopback]
    public var agents: [Agent] = []
    /// By default the three queues the shipped dialplan uses, with no members
    /// (agents name the queues they serve). A file with any [queue] replaces them.
    public var queues: [Queue] = Queue.builtIn

    public init() {}

    /// Reads a configuration file over the embedded defaults.
    /// - Throws: `ConfigError` listing every problem with `file:line`.
    public static func load(path: String) throws -> GatewayConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(diagnostics: [.init(location: .init(file: path, line: 0),
                                                  message: "cannot read the configuration file: \(GatewayConfig.reason(error))")])
        }
        return try parse(text, file: path)
    }

    /// Parses configuration text; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws -> GatewayConfig {
        var diagnostics: [ConfigDiagnostic] = []
        let ini = IniFile(text: text, file: file, diagnostics: &diagnostics)
        var config = GatewayConfig()
        var seen: [String: ConfigLocation] = [:]
        for section in ini.sections {
            let name = section.name.lowercased()
            if let first = seen[name] {
                diagnostics.append(.init(location: section.location,
                                         message: "section [\(section.name)] appears twice (first at line \(first.line))"))
                continue
            }
            seen[name] = section.location
            var reader = SectionReader(section)
            let words = section.name.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            switch (words.first?.lowercased() ?? "", words.count) {
            case ("general", 1): config.general.read(&reader)
            case ("sip", 1): config.sip.read(&reader)
            case ("store", 1): config.store.read(&reader)
            case ("dialplan", 1): config.dialplan.read(&reader)
            case ("media", 1): config.media.read(&reader)
            case ("screenpop", 1): config.screenPop.read(&reader)
            case ("http", 1): config.http.read(&reader)
            case ("trunk", 2), ("agent", 2), ("queue", 2), ("token", 2), ("webhook", 2):
                guard isName(words[1]) else {
                    diagnostics.append(.init(location: section.location,
                                             message: "'\(words[1])' is not a valid \(words[0]) name; use letters, digits, '-', '_' or '.'"))
                    continue
                }
                switch words[0].lowercased() {
                case "trunk":
                    if !seen.keys.contains(where: { $0 != name && $0.hasPrefix("trunk ") }) { config.trunks.removeAll() }
                    var trunk = Trunk(name: words[1], location: section.location)
                    trunk.read(&reader)
                    config.trunks.append(trunk)
                case "agent":
                    var agent = Agent(name: words[1], location: section.location)
                    agent.read(&reader)
                    config.agents.append(agent)
                case "token":
                    var token = APIToken(name: words[1], location: section.location)
                    token.read(&reader)
                    config.tokens.append(token)
                case "webhook":
                    var webhook = Webhook(name: words[1], location: section.location)
                    webhook.read(&reader)
                    if webhook.url.isEmpty || webhook.secret.isEmpty {
                        diagnostics.append(.init(location: section.location, message: "[webhook \(words[1])] needs 'url' and 'secret'"))
                    }
                    config.webhooks.append(webhook)
                default:
                    if !seen.keys.contains(where: { $0 != name && $0.hasPrefix("queue ") }) { config.queues.removeAll() }
                    var queue = Queue(name: words[1], location: section.location)
                    queue.read(&reader)
                    config.queues.append(queue)
                }
            default:
                diagnostics.append(.init(location: section.location, message: """
                    unknown section [\(section.name)]; known: [general], [sip], [store], [dialplan], [media], \
                    [screenpop], [http], [trunk NAME], [agent NAME], [queue NAME], [token NAME], [webhook NAME]
                    """))
                continue
            }
            diagnostics += reader.finish()
        }
        diagnostics += config.checkReferences(file: file)
        if config.sip.udp == nil && config.sip.tcp == nil && config.sip.tls == nil {
            let location = seen["sip"] ?? .init(file: file, line: 0)
            diagnostics.append(.init(location: location, message: "every SIP transport is off; turn on udp, tcp or tls in [sip]"))
        }
        diagnostics += config.checkTLS(file: file, location: seen["sip"] ?? .init(file: file, line: 0))
        guard diagnostics.isEmpty else {
            throw ConfigError(diagnostics: diagnostics.sorted { $0.location.line < $1.location.line })
        }
        return config
    }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}

extension GatewayConfig.General {
    mutating func read(_ reader: inout SectionReader) {
        reader.read("log_level", into: &logLevel, expected: "debug, info, warning or error") {
            ["debug", "info", "warning", "error"].contains($0.lowercased()) ? $0.lowercased() : nil
        }
        reader.read("user_agent", into: &userAgent, expected: "printable text, or nothing for no User-Agent header") { text in
            text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f } ? nil : text
        }
        reader.int("max_calls", into: &maxCalls, range: 1...4000)
        reader.duration("drain_time", into: &drainTime)
        reader.read("log_format", into: &logFormat, expected: "text or json") {
            ["text", "json"].contains($0.lowercased()) ? $0.lowercased() : nil
        }
        reader.read("system_name", into: &systemName, expected: "letters, digits, '.', '-' or '_', at most 32") { text -> String?? in
            text.count <= 32 && !text.isEmpty && text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
                ? .some(text) : .none
        }
    }
}

extension GatewayConfig.SIP {
    mutating func read(_ reader: inout SectionReader) {
        let transport: (String) -> ListenAddress?? = { text in
            text.lowercased() == "off" ? .some(nil) : ListenAddress(text).map { .some($0) }
        }
        reader.read("udp", into: &udp, expected: "host:port (such as 0.0.0.0:5060) or off", transport)
        reader.read("tcp", into: &tcp, expected: "host:port (such as 0.0.0.0:5060) or off", transport)
        reader.read("tls", into: &tls, expected: "host:port (such as 0.0.0.0:5061) or off", transport)
        reader.optional("tls_certificate", into: &tlsCertificate, expected: "a PEM file path") { $0.isEmpty ? nil : $0 }
        reader.optional("tls_private_key", into: &tlsPrivateKey, expected: "a PEM file path") { $0.isEmpty ? nil : $0 }
        reader.optional("tls_ca", into: &tlsCA, expected: "a PEM file path") { $0.isEmpty ? nil : $0 }
        reader.bool("tls_verify_client", into: &tlsVerifyClient)
        reader.bool("tls_verify_server", into: &tlsVerifyServer)
        reader.read("realm", into: &realm, expected: "a realm name (letters, digits, '.', '-')") { text in
            !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) } ? text : nil
        }
        reader.int("rtp_port_start", into: &rtpPortStart, range: 1024...65000)
        reader.int("rtp_port_range", into: &rtpPortRange, range: 2...64000)
        reader.int("requests_per_second", into: &requestsPerSecond, range: 1...100_000)
        reader.int("request_burst", into: &requestBurst, range: 1...1_000_000)
        reader.int("connections_per_source", into: &connectionsPerSource, range: 1...16_000)
        reader.int("max_connections", into: &maxConnections, range: 1...16_000)
        reader.duration("idle_timeout", into: &idleTimeout)
    }
}

extension GatewayConfig.Store {
    mutating func read(_ reader: inout SectionReader) {
        reader.read("backend", into: &backend, expected: "sqlite or postgresql") { Backend(rawValue: $0.lowercased()) }
        reader.string("path", into: &path)
        reader.string("connection", into: &connection)
        reader.int("pool_size", into: &poolSize, range: 1...64)
        if backend == .postgresql && connection.isEmpty, let location = reader.location(of: "backend") {
            reader.diagnostics.append(.init(location: location, message: "[store] backend = postgresql needs 'connection': a libpq "
                                            + "connection string such as 'host=/run/postgresql dbname=omnigate', or a postgresql:// URI"))
        }
        reader.read("default_country", into: &defaultCountry, expected: "a two-letter country code such as US or GB") { text in
            let code = text.uppercased()
            return code.count == 2 && code.allSatisfy({ $0.isASCII && $0.isLetter }) ? code : nil
        }
        reader.int("backlog", into: &backlog, range: 100...10_000_000)
        var spillSetting: String? = spill
        reader.read("spill", into: &spillSetting, expected: "a directory, or off") { text -> String?? in text.isEmpty ? .none : .some(text) }
        if spillSetting?.lowercased() == "off" {
            spillEnabled = false
        } else {
            spill = spillSetting
        }
        reader.size("spill_size", into: &spillSize, range: 4096...(1 << 40))
        reader.duration("spill_after", into: &spillAfter)
        reader.read("when_full", into: &refuseWhenFull, expected: "refuse or accept") {
            switch $0.lowercased() { case "refuse": true; case "accept": false; default: nil }
        }
        reader.read("when_file_changes", into: &reopenWhenChanged, expected: "reopen or refuse") {
            switch $0.lowercased() { case "reopen": true; case "refuse": false; default: nil }
        }
        reader.size("wal_limit", into: &walLimit, range: (1 << 20)...(1 << 40))
    }
}

extension GatewayConfig.ScreenPop {
    mutating func read(_ reader: inout SectionReader) {
        reader.read("url", into: &url, expected: "an http or https URL") { text in
            (text.hasPrefix("http://") || text.hasPrefix("https://")) && !text.contains(" ") && !text.contains(">") ? text : nil
        }
        reader.duration("lookup_budget", into: &lookupBudget)
        reader.optional("log", into: &log, expected: "a file path") { $0.isEmpty ? nil : $0 }
        reader.bool("require_tls", into: &requireTLS)
        reader.duration("conversation_window", into: &conversationWindow)
        reader.read("console_wait", into: &consoleWait, expected: "a duration from 0 to 5s, such as 200ms") { text in
            SectionReader.parseDuration(text).flatMap { $0 <= .seconds(5) ? $0 : nil }
        }
    }
}

extension GatewayConfig {
    /// Checks what sections say about each other, and settles each queue's members.
    mutating func checkReferences(file: String) -> [ConfigDiagnostic] {
        var diagnostics: [ConfigDiagnostic] = []
        for token in tokens {
            if token.sha256.isEmpty {
                diagnostics.append(.init(location: token.location, message: "[token \(token.name)] needs 'sha256', the SHA-256 of the token (omnigate token new makes one)"))
            }
            if token.role == .agent {
                if let agent = token.agent {
                    if !agents.contains(where: { $0.name == agent }) {
                        diagnostics.append(.init(location: token.location, message: "[token \(token.name)] acts as agent '\(agent)', which is not an [agent]"))
                    }
                } else {
                    diagnostics.append(.init(location: token.location, message: "[token \(token.name)] has role agent, so it needs 'agent', the agent it acts as"))
                }
            } else if token.agent != nil {
                diagnostics.append(.init(location: token.location, message: "[token \(token.name)] names an agent, but only role agent acts as one"))
            }
        }
        if Set(tokens.map(\.sha256)).count < tokens.count {
            diagnostics.append(.init(location: tokens.last!.location, message: "two [token] sections have the same sha256: each token must be different"))
        }
        if (http.tlsCertificate == nil) != (http.tlsPrivateKey == nil) {
            diagnostics.append(.init(location: .init(file: file, line: 0), message: "[http] needs both tls_certificate and tls_private_key for HTTPS, or neither"))
        }
        for trunk in trunks {
            if trunk.context.isEmpty {
                diagnostics.append(.init(location: trunk.location, message: "[trunk \(trunk.name)] needs 'context', the dialplan context its calls enter"))
            }
            if trunk.match.isEmpty && !trunk.register && trunk.host == nil {
                diagnostics.append(.init(location: trunk.location,
                                         message: "[trunk \(trunk.name)] needs 'match' (sources it accepts), 'register = yes' or 'host'"))
            }
            if trunk.register && (trunk.host == nil || trunk.username.isEmpty) {
                diagnostics.append(.init(location: trunk.location,
                                         message: "[trunk \(trunk.name)] registers, so it needs 'host' and 'username'"))
            }
        }
        var usernames: [String: String] = [:]
        for agent in agents where agent.registers {
            if let other = usernames[agent.username] {
                diagnostics.append(.init(location: agent.location,
                                         message: "[agent \(agent.name)] has username '\(agent.username)', which [agent \(other)] has too"))
            }
            usernames[agent.username] = agent.name
        }
        let queueNames = Set(queues.map(\.name))
        let agentNames = Set(agents.map(\.name))
        for agent in agents {
            if agent.contact.isEmpty && !agent.registers {
                diagnostics.append(.init(location: agent.location,
                                         message: "[agent \(agent.name)] needs 'contact' (where its phone is) or 'password' (so its phones can register)"))
            }
            if agent.password != nil && agent.passwordHash != nil {
                diagnostics.append(.init(location: agent.location, message: "[agent \(agent.name)] has both 'password' and 'password_hash'; keep one"))
            }
            for queue in agent.queues where !queueNames.contains(queue) {
                diagnostics.append(.init(location: agent.location, message: "[agent \(agent.name)] serves queue '\(queue)', which is not defined"))
            }
        }
        for index in queues.indices {
            for member in queues[index].members where !agentNames.contains(member) {
                diagnostics.append(.init(location: queues[index].location,
                                         message: "[queue \(queues[index].name)] lists member '\(member)', which is not an [agent]"))
            }
            for agent in agents where agent.queues.contains(queues[index].name) && !queues[index].members.contains(agent.name) {
                queues[index].members.append(agent.name)
            }
        }
        return diagnostics
    }
}

extension GatewayConfig {
    /// TLS needs its certificate and key, readable; trunks and agents that
    /// require TLS need somewhere to use it.
    func checkTLS(file: String, location: ConfigLocation) -> [ConfigDiagnostic] {
        var diagnostics: [ConfigDiagnostic] = []
        if sip.tls != nil {
            for (key, path) in [("tls_certificate", sip.tlsCertificate), ("tls_private_key", sip.tlsPrivateKey), ("tls_ca", sip.tlsCA)] {
                guard let path else {
                    if key != "tls_ca" { diagnostics.append(.init(location: location, message: "[sip] tls is on, so it needs '\(key)'")) }
                    continue
                }
                if !FileManager.default.isReadableFile(atPath: path) {
                    diagnostics.append(.init(location: location, message: "[sip] \(key): cannot read \(path)"))
                }
            }
        }
        let tlsOn = sip.tls != nil
        for trunk in trunks where trunk.requireTLS {
            if !tlsOn { diagnostics.append(.init(location: trunk.location, message: "[trunk \(trunk.name)] requires TLS, but [sip] tls is off")) }
            if let host = trunk.host, !isTLSURI(host) {
                diagnostics.append(.init(location: trunk.location,
                                         message: "[trunk \(trunk.name)] requires TLS, so its host must be sips: or have ;transport=tls"))
            }
        }
        for agent in agents where agent.requireTLS {
            if !tlsOn { diagnostics.append(.init(location: agent.location, message: "[agent \(agent.name)] requires TLS, but [sip] tls is off")) }
            if !agent.contact.isEmpty && !isTLSURI(agent.contact) {
                diagnostics.append(.init(location: agent.location,
                                         message: "[agent \(agent.name)] requires TLS, so its contact must be sips: or have ;transport=tls"))
            }
        }
        return diagnostics
    }
}

/// A SIP URI that is reached over TLS.
public func isTLSURI(_ uri: String) -> Bool {
    let lower = uri.lowercased()
    return lower.hasPrefix("sips:") || lower.contains(";transport=tls")
}

extension GatewayConfig.DialplanSettings {
    mutating func read(_ reader: inout SectionReader) {
        reader.string("path", into: &path)
        reader.read("mode", into: &mode, expected: "strict or asterisk") { ["strict", "asterisk"].contains($0.lowercased()) ? $0.lowercased() : nil }
    }
}

extension GatewayConfig.Media {
    mutating func read(_ reader: inout SectionReader) {
        reader.string("prompts", into: &prompts)
        reader.string("recordings", into: &recordings)
    }
}
