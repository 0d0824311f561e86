import CPJSIP
import Log

/// A SIP account at a provider: the identity calls and messages go out as,
/// the credentials for digest challenges, and optionally a registration.
public struct AccountConfig: Sendable, Equatable {
    /// A name for logs and commands ("provider").
    public var name: String
    /// The address of record, such as `sip:+15550100@sip.provider.example`.
    public var uri: String
    /// The registrar to register with, such as `sip:sip.provider.example`; nil to not register.
    public var registrar: String?
    /// Digest credentials; empty username means none.
    public var username: String = ""
    public var password: String = ""
    /// The realm the credentials are for; `*` answers any realm.
    public var realm: String = "*"
    /// Requests to this account's peers go through this proxy (`sip:host:port;lr`), when set.
    public var proxy: String?
    /// Seconds a registration lasts before it is refreshed.
    public var registrationSeconds: Int = 300
    /// Media security of calls through this account.
    public var srtp: SRTPUse = .disabled

    public init(name: String, uri: String) {
        self.name = name
        self.uri = uri
    }
}

extension EngineCore {
    /// Adds the configured provider accounts (wraps `pjsua_acc_add`).
    func addAccounts() throws {
        for account in config.accounts {
            let strings = CStrings()
            var cfg = pjsua_acc_config()
            pjsua_acc_config_default(&cfg)
            cfg.id = strings.pj(account.uri)
            if let registrar = account.registrar {
                cfg.reg_uri = strings.pj(registrar)
                cfg.reg_timeout = UInt32(account.registrationSeconds)
                cfg.register_on_acc_add = 1
            } else {
                cfg.register_on_acc_add = 0
            }
            if !account.username.isEmpty {
                cfg.cred_count = 1
                cfg.cred_info.0.realm = strings.pj(account.realm)
                cfg.cred_info.0.scheme = strings.pj("digest")
                cfg.cred_info.0.username = strings.pj(account.username)
                cfg.cred_info.0.data_type = Int32(PJSIP_CRED_DATA_PLAIN_PASSWD.rawValue)
                cfg.cred_info.0.data = strings.pj(account.password)
            }
            if let proxy = account.proxy {
                cfg.proxy_cnt = 1
                cfg.proxy.0 = strings.pj(proxy)
            }
            applyMedia(&cfg, srtp: account.srtp, strings: strings)
            cfg.auto_repond_sip_message = 0  // MESSAGE is answered 202 in on_pager2 (Messages.swift)
            cfg.user_data = UnsafeMutableRawPointer(bitPattern: providerAccounts.count + 1)
            var id = pjsua_acc_id()
            do {
                try check(pjsua_acc_add(&cfg, 0, &id), "pjsua_acc_add(\(account.name))")
            } catch let error as SIPError {
                throw AccountError(account: account.name, underlying: error)
            }
            providerAccounts[account.name] = id
            accountNames[id] = account.name
            log.info("account added", ("account", account.name), ("uri", account.uri),
                     ("registrar", account.registrar ?? "none"))
        }
    }

    func installAccountCallbacks(_ cb: inout pjsua_callback) {
        cb.on_reg_state2 = { accountID, info in
            guard let core = EngineCore.current, let name = core.accountNames[accountID],
                  let param = info?.pointee.cbparam else { return }
            let status = Int(param.pointee.code)
            let reason = param.pointee.status == PJ_SUCCESS.rawValue ? String(pj: param.pointee.reason) : pjText(param.pointee.status)
            let expires = Int(param.pointee.expiration)
            core.log.log(status / 100 == 2 ? .info : .warning, { "registration" }, [("account", name), ("sip.status", status), ("reason", reason),
                                                             ("expires", expires)])
            core.emit(.registration(account: name, status: status, reason: reason, expires: expires))
        }
    }
}

/// A provider account pjsua refused (a malformed URI, usually).
public struct AccountError: Error, CustomStringConvertible, Sendable {
    public let account: String
    public let underlying: SIPError
    public var description: String { "cannot add SIP account '\(account)': \(pjText(underlying.status))" }
}
