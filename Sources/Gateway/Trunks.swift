import Configuration
import SIPEngine

/// Finds the trunk a call or message came in on: by the provider account it
/// was addressed to (a registration), or by its source address.
struct TrunkDirectory: Sendable {
    let trunks: [Trunk]

    /// The trunk for traffic from `source`; nil means nobody we know: refuse it.
    func trunk(source: SourceAddress, account: String? = nil) -> Trunk? {
        if let account, let trunk = trunks.first(where: { $0.name == account }) { return trunk }
        return trunks.first { trunk in
            trunk.match.contains { $0.contains(host: source.host, port: source.port) }
                || trunk.hostMatch.map { $0.contains(host: source.host, port: source.port) } == true
        }
    }

    /// Whether any trunk accepts traffic from `host` (on some port): such
    /// sources are exempt from the per-source request and connection limits.
    func trusts(host: String) -> Bool {
        trunks.contains { trunk in
            trunk.match.contains { match in
                var anyPort = match
                anyPort.port = nil
                return anyPort.contains(host: host, port: 0)
            } || trunk.hostMatch.map { $0.contains(host: host, port: 0) } == true
        }
    }

    /// Engine accounts for trunks that authenticate or register.
    var accounts: [AccountConfig] {
        trunks.compactMap { trunk in
            guard let host = trunk.host, trunk.register || !trunk.username.isEmpty else { return nil }
            let domain = Self.hostPart(of: host)
            var account = AccountConfig(name: trunk.name, uri: "sip:\(trunk.fromUser)@\(domain)")
            account.registrar = trunk.register ? host : nil
            account.username = trunk.username
            account.password = trunk.password
            account.realm = trunk.realm
            account.proxy = "<\(host);lr>"
            account.srtp = trunk.media.srtp
            return account
        }
    }

    /// `sip:host:port;params` → `host:port`.
    static func hostPart(of uri: String) -> String {
        var rest = Substring(uri)
        if let colon = rest.firstIndex(of: ":") { rest = rest[rest.index(after: colon)...] }
        if let at = rest.firstIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let semi = rest.firstIndex(of: ";") { rest = rest[..<semi] }
        return String(rest)
    }
}

extension Trunk {
    /// Traffic from the trunk's own host (when it is an IP literal) matches too.
    var hostMatch: AddressMatch? {
        guard let host else { return nil }
        var hostPort = TrunkDirectory.hostPart(of: host)
        if hostPort.hasPrefix("[") {
            hostPort = String(hostPort.dropFirst().prefix { $0 != "]" })
        } else if let colon = hostPort.lastIndex(of: ":"), hostPort.filter({ $0 == ":" }).count == 1 {
            hostPort = String(hostPort[..<colon])
        }
        return AddressMatch(hostPort)
    }
}
