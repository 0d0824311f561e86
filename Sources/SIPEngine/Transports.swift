import CPJSIP

/// How a call leg's media is protected (SDES-keyed SRTP, RFC 4568).
public enum SRTPUse: Sendable, Equatable, Hashable, CaseIterable {
    /// Plain RTP; an offer of SRTP-only media is refused.
    case disabled
    /// SRTP when the other side offers or accepts it, plain RTP otherwise.
    case optional
    /// SRTP or no call (RTP/SAVP offers; a plain offer is refused with 488).
    case mandatory

    var pjmedia: pjmedia_srtp_use {
        switch self {
        case .disabled: PJMEDIA_SRTP_DISABLED
        case .optional: PJMEDIA_SRTP_OPTIONAL
        case .mandatory: PJMEDIA_SRTP_MANDATORY
        }
    }
}

/// The TLS listener (PJSIP's TLS transport over OpenSSL).
public struct TLSSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// PEM files: the gateway's certificate (chain) and private key.
    public var certificate: String
    public var privateKey: String
    /// PEM file of the CAs peers' certificates are checked against; nil for the system's.
    public var caFile: String?
    /// Ask clients for a certificate and refuse those without a valid one.
    public var verifyClient = false
    /// Check the certificate of servers Omnigate connects to (trunks, agents).
    public var verifyServer = true

    public init(host: String, port: Int, certificate: String, privateKey: String) {
        self.host = host
        self.port = port
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

extension EngineCore {
    /// Opens the configured UDP, TCP and TLS listeners. Each gets local
    /// accounts, one per SRTP use, so that calls and messages to any user at
    /// this host are accepted and outbound legs can offer the media security
    /// their target asks for. The first (SRTP optional) takes inbound calls:
    /// an SRTP offer is accepted, a plain one too.
    func openTransports() throws -> [BoundTransport] {
        var bound: [BoundTransport] = []
        let v6 = { (host: String?) in host?.contains(":") == true }
        let wanted: [(String, (host: String, port: Int)?, pjsip_transport_type_e)] = [
            ("UDP", config.udp, v6(config.udp?.host) ? PJSIP_TRANSPORT_UDP6 : PJSIP_TRANSPORT_UDP),
            ("TCP", config.tcp, v6(config.tcp?.host) ? PJSIP_TRANSPORT_TCP6 : PJSIP_TRANSPORT_TCP),
            ("TLS", config.tls.map { ($0.host, $0.port) }, v6(config.tls?.host) ? PJSIP_TRANSPORT_TLS6 : PJSIP_TRANSPORT_TLS),
        ]
        for (name, address, type) in wanted {
            guard let address else { continue }
            let strings = CStrings()
            var cfg = pjsua_transport_config()
            pjsua_transport_config_default(&cfg)
            cfg.port = UInt32(address.port)
            cfg.bound_addr = strings.pj(address.host)
            if name == "TCP" { omnigate_sockopt_nodelay(&cfg.sockopt_params) }
            if name == "TLS", let tls = config.tls {
                configure(&cfg.tls_setting, tls, strings)
                omnigate_sockopt_nodelay(&cfg.tls_setting.sockopt_params)
            }
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

            let published = String(pj: info.local_name.host)
            let local = published.contains(":") ? "[\(published)]:\(port)" : "\(published):\(port)"
            for use in [SRTPUse.optional, .disabled, .mandatory] {
                localAccounts[name, default: [:]][use] = try addLocalAccount(transportID, name: name, address: local, srtp: use)
                if localAccounts.count == 1 && use == .optional { defaultAccount = localAccounts[name]![use]! }
            }
            log.info("listening", ("transport", name.lowercased()), ("address", "\(address.host):\(port)"))
        }
        return bound
    }

    private func configure(_ setting: inout pjsip_tls_setting, _ tls: TLSSettings, _ strings: CStrings) {
        setting.cert_file = strings.pj(tls.certificate)
        setting.privkey_file = strings.pj(tls.privateKey)
        if let ca = tls.caFile { setting.ca_list_file = strings.pj(ca) }
        setting.verify_client = tls.verifyClient ? 1 : 0
        setting.require_client_cert = tls.verifyClient ? 1 : 0
        setting.verify_server = tls.verifyServer ? 1 : 0
        // TLS 1.2 and 1.3 only.
        setting.proto = UInt32(PJ_SSL_SOCK_PROTO_TLS1_2.rawValue | PJ_SSL_SOCK_PROTO_TLS1_3.rawValue)
        // A client that connects and never finishes the handshake is let go.
        setting.timeout = pj_time_val(sec: 10, msec: 0)
    }

    /// The account to place a call or send a message to `uri` from: the
    /// transport the URI asks for (`sips:` or `;transport=tls`, `;transport=tcp`)
    /// when we listen on it, otherwise UDP, with the media security asked for.
    func account(for uri: String, srtp: SRTPUse = .disabled) -> pjsua_acc_id {
        let lower = uri.lowercased()
        let transport = lower.hasPrefix("sips:") || lower.contains("transport=tls") ? "TLS"
            : lower.contains("transport=tcp") ? "TCP" : "UDP"
        if let account = localAccounts[transport]?[srtp] { return account }
        if let account = localAccounts["UDP"]?[srtp] { return account }
        return defaultAccount
    }

    /// An account for any user at this host over one transport (what
    /// `pjsua_acc_add_local` makes), with the media security given, MESSAGE
    /// answered by Omnigate (Messages.swift), and over TCP and TLS the
    /// listener's own address as Contact: left to itself, pjsua works out each
    /// call's Contact and Via by opening a connection to the caller's Contact,
    /// a connection to any host a caller names.
    private func addLocalAccount(_ transport: pjsua_transport_id, name: String, address: String, srtp: SRTPUse) throws -> pjsua_acc_id {
        let strings = CStrings()
        var cfg = pjsua_acc_config()
        pjsua_acc_config_default(&cfg)
        cfg.priority -= 1  // below provider accounts, as pjsua's own local accounts
        let parameter = name == "UDP" ? "" : ";transport=\(name.lowercased())"
        cfg.id = strings.pj("<sip:\(address)\(parameter)>")
        cfg.transport_id = transport
        if name != "UDP" { cfg.force_contact = strings.pj("<sip:\(address)\(parameter)>") }
        cfg.auto_repond_sip_message = 0
        applyMedia(&cfg, srtp: srtp, strings: strings)
        var account = pjsua_acc_id()
        try check(pjsua_acc_add(&cfg, localAccounts.isEmpty ? 1 : 0, &account), "pjsua_acc_add(local \(name))")
        return account
    }

    /// RTP ports, media address family and SRTP use of an account.
    func applyMedia(_ cfg: inout pjsua_acc_config, srtp: SRTPUse, strings: CStrings) {
        cfg.rtp_cfg.port = UInt32(config.rtpPortStart)
        cfg.rtp_cfg.port_range = UInt32(config.rtpPortRange)
        let host = config.udp?.host ?? config.tcp?.host ?? config.tls?.host ?? "0.0.0.0"
        if host != "0.0.0.0" && host != "::" { cfg.rtp_cfg.bound_addr = strings.pj(host) }
        cfg.ipv6_media_use = EngineCore.mediaIPVersion(host)
        cfg.use_srtp = srtp.pjmedia
        cfg.srtp_secure_signaling = 0
        cfg.srtp_opt.keying_count = 1
        cfg.srtp_opt.keying.0 = PJMEDIA_SRTP_KEYING_SDES
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
