import CPJSIP

/// What the admission hook says of a new request outside any dialog.
public enum Admission: Sendable, Equatable {
    case admit
    /// Refused statelessly with this status (403, …).
    case refuse(Int)
    /// Only with an agent's digest credentials (a phone of an agent): 401 until
    /// they come, 403 when they are wrong; the request then carries the agent.
    case authenticate
}

/// What the admission hook sees of a new request outside any dialog.
public struct AdmissionRequest: Sendable {
    /// The request's method: "INVITE", "MESSAGE", "OPTIONS", "SUBSCRIBE", …
    public var method: String
    public var source: SourceAddress
    public var requestURI: String
    public var from: SIPAddress
    public var to: SIPAddress
}

// A pjsip module between the transaction layer and pjsua's own modules: it
// sees each new request once (retransmissions are absorbed by the transaction
// layer before it) and refuses statelessly what must not start:
//
// - outside a dialog, anything the admission hook refuses (a source no trunk
//   matches: 403, whatever the method, OPTIONS included);
// - INVITEs beyond the call limit or during a graceful stop (503);
// - methods Omnigate does not serve outside a dialog (SUBSCRIBE, PUBLISH,
//   NOTIFY, REFER, REGISTER: 405 with the methods it does serve), so pjsua's
//   presence server never answers anyone;
// - in a dialog, SUBSCRIBE for any event but a transfer's (489) and PUBLISH (405).
//
// REFER in a dialog is decided by the transfer policy (Transfers.swift).

/// The methods Omnigate serves, as its Allow header says.
let servedMethods = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "MESSAGE", "INFO", "UPDATE", "PRACK", "REFER"]

/// Methods that belong to a dialog or transaction: outside one, pjsip answers them (481).
private let dialogMethods: Set<String> = ["ACK", "CANCEL", "BYE", "INFO", "UPDATE", "PRACK"]

extension EngineCore {
    func installRequestFilter() throws {
        try installRequestChecks()
        try registerModule("mod-omnigate-filter", priority: Int32(PJSIP_MOD_PRIORITY_UA_PROXY_LAYER.rawValue) - 1) { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            return core.filter(rdata) ? 1 : 0
        }
        restrictAllowHeader()
    }

    /// Returns true when the request was answered here and must go no further.
    func filter(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        guard let msg = rdata.pointee.msg_info.msg, msg.pointee.type == PJSIP_REQUEST_MSG else { return false }
        let method = msg.pointee.line.req.method
        let name = String(pj: method.name).uppercased()
        if method.id != PJSIP_INVITE_METHOD && method.id != PJSIP_ACK_METHOD && method.id != PJSIP_CANCEL_METHOD,
           rejectUnsupportedExtensions(rdata, msg) {
            return true
        }
        if let to = rdata.pointee.msg_info.to, to.pointee.tag.slen > 0 {
            // In a dialog: the call was admitted when it started.
            if name == "SUBSCRIBE", header("Event", compact: "o", in: rdata)?.lowercased().hasPrefix("refer") != true {
                respond(rdata, status: 489, headers: [("Allow-Events", "refer")])
                return true
            }
            if name == "PUBLISH" {
                respond(rdata, status: 405, headers: allowHeader())
                return true
            }
            return false
        }
        if dialogMethods.contains(name) { return false }
        // Agents' phones register from anywhere: the registrar's credentials decide, not the source.
        if name == "REGISTER", let registrar = config.registrar, registrar.isOpen() {
            handleRegister(rdata, settings: registrar)
            return true
        }

        let isInvite = method.id == PJSIP_INVITE_METHOD
        guard let admit = config.admit else {
            respond(rdata, status: 403)
            return true
        }
        // A registered phone's keep-alive.
        if name == "OPTIONS", config.registrar != nil, isRegisteredSource(source(rdata)) { return false }
        let request = AdmissionRequest(
            method: name,
            source: source(rdata),
            requestURI: cleanURI(UnsafeRawPointer(msg.pointee.line.req.uri).flatMap { pjsip_uri_get_uri($0).map { UnsafeRawPointer($0) } }),
            from: address(rdata.pointee.msg_info.from.map { UnsafeRawPointer($0.pointee.uri) }),
            to: address(rdata.pointee.msg_info.to.map { UnsafeRawPointer($0.pointee.uri) }))
        switch admit(request) {
        case .admit:
            break
        case .refuse(let status):
            respond(rdata, status: status)
            return true
        case .authenticate:
            guard ["INVITE", "MESSAGE"].contains(name), let registrar = config.registrar else {
                respond(rdata, status: 403)
                return true
            }
            guard let credential = authenticate(rdata, settings: registrar) else { return true }
            // Read by on_incoming_call / on_pager2, which pjsua calls while this request is handled.
            authenticatedRequest = (rdata, credential.agent)
        }
        if isInvite && (refusingNewCalls.load(ordering: .relaxed) || calls.count >= config.maxCalls) {
            respond(rdata, status: 503, headers: [("Retry-After", "5")])
            return true
        }
        if ["SUBSCRIBE", "PUBLISH", "NOTIFY", "REFER", "REGISTER"].contains(name) {
            respond(rdata, status: 405, headers: allowHeader())
            return true
        }
        return false
    }

    /// Rewrites the endpoint's Allow and Allow-Events capabilities to what
    /// Omnigate serves: pjsua's modules add SUBSCRIBE, NOTIFY and PUBLISH, and
    /// presence, dialog and message-summary events, all of which it refuses.
    private func restrictAllowHeader() {
        restrict(pjsip_endpt_get_capability(pjsua_get_pjsip_endpt(), Int32(PJSIP_H_ALLOW.rawValue), nil), to: Set(servedMethods))
        restrict(pjsip_evsub_get_allow_events_hdr(nil), to: ["REFER"])
    }

    /// Keeps only the `kept` values (compared in upper case) of a list header pjsip owns.
    private func restrict(_ header: UnsafePointer<pjsip_hdr>?, to kept: Set<String>) {
        guard let header else { return }
        let list = UnsafeMutableRawPointer(mutating: header).assumingMemoryBound(to: pjsip_generic_array_hdr.self)
        withUnsafeMutableBytes(of: &list.pointee.values) { raw in
            let values = raw.bindMemory(to: pj_str_t.self)
            var count = 0
            for i in 0..<Int(list.pointee.count) where kept.contains(String(pj: values[i]).uppercased()) {
                values[count] = values[i]
                count += 1
            }
            list.pointee.count = UInt32(count)
        }
    }

    /// Answers 420 Bad Extension (with Unsupported) when a request requires an
    /// extension we lack. INVITEs get the same check from pjsip's invite session.
    private func rejectUnsupportedExtensions(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, _ msg: UnsafeMutablePointer<pjsip_msg>) -> Bool {
        var required: [String] = []
        forEachHeader(msg, type: PJSIP_H_REQUIRE) { header in
            let list = UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_require_hdr.self)
            for i in 0..<Int(list.pointee.count) {
                required.append(withUnsafeBytes(of: list.pointee.values) { raw in
                    String(pj: raw.bindMemory(to: pj_str_t.self)[i])
                })
            }
        }
        guard !required.isEmpty else { return false }
        let supported = Set(capability(PJSIP_H_SUPPORTED).map { $0.lowercased() })
        let unsupported = required.filter { !supported.contains($0.lowercased()) }
        guard !unsupported.isEmpty else { return false }
        respond(rdata, status: 420, headers: [("Unsupported", unsupported.joined(separator: ", "))])
        return true
    }

    /// Answers a request without a transaction (wraps `pjsip_endpt_respond_stateless`).
    func respond(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, status: Int, reason: String? = nil,
                 headers: [(String, String)] = []) {
        let strings = CStrings()
        var reasonText = strings.pj(reason ?? "")
        let list = UnsafeMutablePointer<pjsip_hdr>.allocate(capacity: 1)
        defer { list.deallocate() }
        pj_list_init(UnsafeMutableRawPointer(list))
        for (name, value) in headers {
            var n = strings.pj(name), v = strings.pj(value)
            if let hdr = pjsip_generic_string_hdr_create(rdata.pointee.tp_info.pool, &n, &v) {
                pj_list_push_back(UnsafeMutableRawPointer(list), UnsafeMutableRawPointer(hdr))
            }
        }
        if reason == nil {
            _ = pjsip_endpt_respond_stateless(pjsua_get_pjsip_endpt(), rdata, Int32(status), nil, list, nil)
        } else {
            _ = pjsip_endpt_respond_stateless(pjsua_get_pjsip_endpt(), rdata, Int32(status), &reasonText, list, nil)
        }
    }
}

extension CStrings {
    /// A `pj_str_t` for a string that must live as long as the process (module names).
    static func permanent(_ text: String) -> pj_str_t {
        let copy = strdup(text)!
        return pj_str_t(ptr: copy, slen: pj_ssize_t(strlen(copy)))
    }
}
