import CPJSIP

extension EngineCore {
    /// Opens the configured UDP and TCP listeners, each with a local account
    /// so that calls and messages to any user at this host are accepted.
    func openTransports() throws -> [BoundTransport] {
        var bound: [BoundTransport] = []
        let wanted: [(String, (host: String, port: Int)?, pjsip_transport_type_e)] = [
            ("UDP", config.udp, config.udp.map { $0.host.contains(":") } == true ? PJSIP_TRANSPORT_UDP6 : PJSIP_TRANSPORT_UDP),
            ("TCP", config.tcp, config.tcp.map { $0.host.contains(":") } == true ? PJSIP_TRANSPORT_TCP6 : PJSIP_TRANSPORT_TCP),
        ]
        for (name, address, type) in wanted {
            guard let address else { continue }
            let strings = CStrings()
            var cfg = pjsua_transport_config()
            pjsua_transport_config_default(&cfg)
            cfg.port = UInt32(address.port)
            cfg.bound_addr = strings.pj(address.host)
            var transportID = pjsua_transport_id()
            do {
                try check(pjsua_transport_create(type, &cfg, &transportID), "pjsua_transport_create")
            } catch let error as SIPError {
                throw TransportError(transport: name, host: address.host, port: address.port, underlying: error)
            }
            var info = pjsua_transport_info()
            try check(pjsua_transport_get_info(transportID, &info), "pjsua_transport_get_info")
            let port = Int(info.local_name.port)
            bound.append(BoundTransport(type: name, host: address.host, port: port))

            var account = pjsua_acc_id()
            try check(pjsua_acc_add_local(transportID, accounts.isEmpty ? 1 : 0, &account), "pjsua_acc_add_local")
            accounts[name] = account
            if accounts.count == 1 { defaultAccount = account }
            log.info("listening", ("transport", name.lowercased()), ("address", "\(address.host):\(port)"))
        }
        try configureRTPPorts()
        return bound
    }

    /// The account to place a call or send a message to `uri` from: TCP when
    /// the URI asks for it and we listen on TCP, otherwise the default.
    func account(for uri: String) -> pjsua_acc_id {
        if uri.lowercased().contains("transport=tcp"), let tcp = accounts["TCP"] { return tcp }
        if let udp = accounts["UDP"] { return udp }
        return defaultAccount
    }

    /// RTP ports come from the configured range; each call leg takes an RTP/RTCP pair.
    private func configureRTPPorts() throws {
        for account in accounts.values {
            var cfg = pjsua_acc_config()
            let pool = pjsua_pool_create("acc", 1000, 1000)
            defer { pj_pool_release(pool) }
            try check(pjsua_acc_get_config(account, pool, &cfg), "pjsua_acc_get_config")
            cfg.rtp_cfg.port = UInt32(config.rtpPortStart)
            cfg.rtp_cfg.port_range = UInt32(config.rtpPortRange)
            let host = config.udp?.host ?? config.tcp?.host ?? "0.0.0.0"
            let strings = CStrings()
            if host != "0.0.0.0" && host != "::" { cfg.rtp_cfg.bound_addr = strings.pj(host) }
            cfg.ipv6_media_use = EngineCore.mediaIPVersion(host)
            try check(pjsua_acc_modify(account, &cfg), "pjsua_acc_modify")
        }
    }
}

extension EngineCore {
    /// Media over IPv4 or IPv6 as the SIP transport is, decided here: left to
    /// pjsua, an outbound call resolves the machine's own name for an IPv6
    /// address first (a DNS query that can block the engine thread for seconds).
    static func mediaIPVersion(_ host: String) -> pjsua_ipv6_use {
        host.contains(":") ? PJSUA_IPV6_ENABLED_USE_IPV6_ONLY : PJSUA_IPV6_DISABLED
    }
}

/// A listener that could not be opened, said in one line an admin can act on.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let transport: String
    public let host: String
    public let port: Int
    public let underlying: SIPError

    public var description: String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if underlying.isAddressInUse {
            return "cannot listen for SIP over \(transport) on \(address): the port is already in use by another program"
        }
        return "cannot listen for SIP over \(transport) on \(address): \(pjText(underlying.status))"
    }
}
