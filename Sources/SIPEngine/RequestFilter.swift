import CPJSIP

/// What the admission hook sees of a new INVITE or MESSAGE.
public struct AdmissionRequest: Sendable {
    /// "INVITE" or "MESSAGE".
    public var method: String
    public var source: SourceAddress
    public var requestURI: String
    public var from: SIPAddress
    public var to: SIPAddress
}

// A pjsip module between the transaction layer and pjsua's own modules: it
// sees each new request once (retransmissions are absorbed by the transaction
// layer before it) and refuses statelessly what must not start: INVITEs
// beyond the call limit or during a graceful stop (503), and requests the
// admission hook refuses (an unknown source: 403).

extension EngineCore {
    func installRequestFilter() throws {
        try installRequestChecks()
        try registerModule("mod-omnigate-filter", priority: Int32(PJSIP_MOD_PRIORITY_UA_PROXY_LAYER.rawValue) - 1) { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            return core.filter(rdata) ? 1 : 0
        }
    }

    /// Returns true when the request was answered here and must go no further.
    func filter(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        guard let msg = rdata.pointee.msg_info.msg, msg.pointee.type == PJSIP_REQUEST_MSG else { return false }
        let method = msg.pointee.line.req.method
        if method.id != PJSIP_INVITE_METHOD && method.id != PJSIP_ACK_METHOD && method.id != PJSIP_CANCEL_METHOD,
           rejectUnsupportedExtensions(rdata, msg) {
            return true
        }
        let isInvite = method.id == PJSIP_INVITE_METHOD
        let isMessage = method.id == PJSIP_OTHER_METHOD && String(pj: method.name) == "MESSAGE"
        guard isInvite || isMessage else { return false }
        // In-dialog requests (a To tag) belong to calls already admitted.
        if let to = rdata.pointee.msg_info.to, to.pointee.tag.slen > 0 { return false }

        if isInvite && (refusingNewCalls.load(ordering: .relaxed) || calls.count >= config.maxCalls) {
            respond(rdata, status: 503, headers: [("Retry-After", "5")])
            return true
        }
        if let admit = config.admit {
            let request = AdmissionRequest(
                method: isInvite ? "INVITE" : "MESSAGE",
                source: source(rdata),
                requestURI: printURI(UnsafeRawPointer(msg.pointee.line.req.uri), context: PJSIP_URI_IN_REQ_URI),
                from: address(rdata.pointee.msg_info.from.map { UnsafeRawPointer($0.pointee.uri) }),
                to: address(rdata.pointee.msg_info.to.map { UnsafeRawPointer($0.pointee.uri) }))
            if let status = admit(request) {
                respond(rdata, status: status)
                return true
            }
        }
        return false
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
