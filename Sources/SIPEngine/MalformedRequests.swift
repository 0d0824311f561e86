import CPJSIP

// What the gateway does with broken or unexpected SIP, so that it answers
// per RFC 3261 where it can and drops only what it cannot answer:
//
// - Every request's answer goes back where the request came from (symmetric
//   response routing, RFC 3581 behaviour for all, Asterisk's force_rport).
// - Framing and consistency errors pjsip's parser lets through get 400
//   (Content-Length beyond the datagram, conflicting Content-Lengths, a CSeq
//   method that is not the request's), or 501 for an unknown method.
// - A request pjsip's parser rejects gets 400 when it still found the headers
//   a response needs (Via, From, To, Call-ID, CSeq); otherwise it is dropped.
// - A request no module handled gets 405 (a method we know but do not serve
//   here, like REGISTER) or 501 (a method we do not know), with Allow.
//
// The parsing is pjsip's; these checks only read what it parsed.

extension EngineCore {
    func installRequestChecks() throws {
        try registerModule("mod-omnigate-checks", priority: Int32(PJSIP_MOD_PRIORITY_TRANSPORT_LAYER.rawValue) + 1) { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            return core.checkRequest(rdata) ? 1 : 0
        }
        try registerModule("mod-omnigate-unhandled", priority: Int32(PJSIP_MOD_PRIORITY_APPLICATION.rawValue) + 32) { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            return core.answerUnhandled(rdata) ? 1 : 0
        }
        let manager = pjsip_endpt_get_tpmgr(pjsua_get_pjsip_endpt())
        try check(pjsip_tpmgr_set_drop_data_cb(manager) { dropped in
            guard let dropped else { return }
            EngineCore.current?.answerUnparsable(dropped)
        }, "pjsip_tpmgr_set_drop_data_cb")
    }

    /// Registers a module whose `on_rx_request` returns true when it answered.
    func registerModule(_ name: String, priority: Int32,
                        _ handler: @escaping @convention(c) (UnsafeMutablePointer<pjsip_rx_data>?) -> pj_bool_t) throws {
        // The module lives as long as the process: pjsip keeps the pointer.
        let module = UnsafeMutablePointer<pjsip_module>.allocate(capacity: 1)
        module.initialize(to: pjsip_module())
        module.pointee.name = CStrings.permanent(name)
        module.pointee.id = -1
        module.pointee.priority = priority
        module.pointee.on_rx_request = handler
        try check(pjsip_endpt_register_module(pjsua_get_pjsip_endpt(), module), "pjsip_endpt_register_module(\(name))")
    }

    // MARK: - Before transactions

    func checkRequest(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        guard let via = rdata.pointee.msg_info.via, let msg = rdata.pointee.msg_info.msg else { return false }
        via.pointee.rport_param = rdata.pointee.pkt_info.src_port
        via.pointee.maddr_param.slen = 0
        let method = msg.pointee.line.req.method
        if method.id == PJSIP_ACK_METHOD { return false }

        if let cseq = rdata.pointee.msg_info.cseq, pjsip_method_cmp(&cseq.pointee.method, &msg.pointee.line.req.method) != 0 {
            let known = method.id != PJSIP_OTHER_METHOD || knownOtherMethods.contains(String(pj: method.name))
            respond(rdata, status: known ? 400 : 501, reason: "CSeq method does not match the request",
                    headers: known ? [] : allowHeader())
            return true
        }
        var lengths: Set<Int> = []
        forEachHeader(msg, type: PJSIP_H_CONTENT_LENGTH) { header in
            lengths.insert(Int(UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_clen_hdr.self).pointee.len))
        }
        if lengths.count > 1 {
            respond(rdata, status: 400, reason: "Conflicting Content-Length values")
            return true
        }
        if let declared = lengths.first, declared < 0 {
            respond(rdata, status: 400, reason: "Negative Content-Length")
            return true
        }
        if let declared = lengths.first, isDatagram(rdata), declared > bytesAfterHeaders(rdata) {
            respond(rdata, status: 400, reason: "Content-Length exceeds the datagram")
            return true
        }
        if method.id == PJSIP_INVITE_METHOD, rejectUnacceptableBody(rdata, msg) { return true }
        return false
    }

    /// Bytes of the datagram after the blank line that ends the headers.
    private func bytesAfterHeaders(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Int {
        guard let start = rdata.pointee.msg_info.msg_buf else { return 0 }
        let length = Int(rdata.pointee.msg_info.len)
        let bytes = UnsafeRawBufferPointer(start: start, count: length)
        var i = 0
        while i + 3 < length {
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return length - i - 4 }
            i += 1
        }
        return 0
    }

    /// An INVITE whose body is not SDP gets 415; one that refuses SDP answers (Accept) gets 406.
    private func rejectUnacceptableBody(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, _ msg: UnsafeMutablePointer<pjsip_msg>) -> Bool {
        if let body = msg.pointee.body {
            let type = String(pj: body.pointee.content_type.type).lowercased()
            let subtype = String(pj: body.pointee.content_type.subtype).lowercased()
            if !(type == "application" && subtype == "sdp") && type != "multipart" {
                respond(rdata, status: 415, headers: [("Accept", "application/sdp")])
                return true
            }
        }
        var accepted: [String] = []
        var sawAccept = false
        forEachHeader(msg, type: PJSIP_H_ACCEPT) { header in
            sawAccept = true
            let list = UnsafeMutableRawPointer(header).assumingMemoryBound(to: pjsip_accept_hdr.self)
            accepted += withUnsafeBytes(of: list.pointee.values) { raw in
                let values = raw.bindMemory(to: pj_str_t.self)
                return (0..<Int(list.pointee.count)).map { String(pj: values[$0]).lowercased() }
            }
        }
        if sawAccept && !accepted.isEmpty
            && !accepted.contains(where: { $0.hasPrefix("application/sdp") || $0.hasPrefix("application/*") || $0.hasPrefix("*/*") }) {
            respond(rdata, status: 406, headers: [("Accept", "application/sdp"), ("Warning", "399 omnigate \"Only SDP bodies are supported\"")])
            return true
        }
        return false
    }

    private func isDatagram(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        guard let transport = rdata.pointee.tp_info.transport else { return false }
        return (pjsip_transport_get_flag_from_type(pjsip_transport_type_e(UInt32(transport.pointee.key.type))) & UInt32(PJSIP_TRANSPORT_DATAGRAM.rawValue)) != 0
    }

    // MARK: - After everyone else

    func answerUnhandled(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> Bool {
        guard let msg = rdata.pointee.msg_info.msg else { return false }
        let method = msg.pointee.line.req.method
        if method.id == PJSIP_ACK_METHOD { return true }
        let known = method.id != PJSIP_OTHER_METHOD || knownOtherMethods.contains(String(pj: method.name))
        respond(rdata, status: known ? 405 : 501, headers: allowHeader())
        return true
    }

    // MARK: - Unparsable requests

    /// pjsip drops what its parser rejects and hands us the bytes and the
    /// transport, not the packet's source. For a datagram, the bytes are the
    /// start of the receive buffer inside the transport's `pjsip_rx_data`, so
    /// that record (and its source address) is recovered from the buffer's
    /// position, and only used after checking it really is that record.
    func answerUnparsable(_ dropped: UnsafeMutablePointer<pjsip_tp_dropped_data>) {
        guard let data = dropped.pointee.data, let transport = dropped.pointee.tp else { return }
        let offset = omnigate_rdata_packet_offset()
        let rdata = (UnsafeMutableRawPointer(mutating: data) - offset).assumingMemoryBound(to: pjsip_rx_data.self)
        guard rdata.pointee.tp_info.transport == transport,
              (pjsip_transport_get_flag_from_type(pjsip_transport_type_e(UInt32(transport.pointee.key.type))) & UInt32(PJSIP_TRANSPORT_DATAGRAM.rawValue)) != 0,
              let msg = rdata.pointee.msg_info.msg, msg.pointee.type == PJSIP_REQUEST_MSG,
              msg.pointee.line.req.method.id != PJSIP_ACK_METHOD,
              let via = rdata.pointee.msg_info.via, rdata.pointee.msg_info.cseq != nil,
              let cid = rdata.pointee.msg_info.cid, cid.pointee.id.slen > 0,
              rdata.pointee.msg_info.from != nil, rdata.pointee.msg_info.to != nil
        else {
            log.debug("dropped an unparsable message", ("bytes", dropped.pointee.len))
            return
        }
        via.pointee.rport_param = rdata.pointee.pkt_info.src_port
        via.pointee.maddr_param.slen = 0
        withUnsafeBytes(of: rdata.pointee.pkt_info.src_name) { raw in
            pj_strdup2(rdata.pointee.tp_info.pool, &via.pointee.recvd_param, raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        respond(rdata, status: 400, reason: "Malformed Request")
    }

    // MARK: - Helpers

    /// `Allow:` with the methods the endpoint serves.
    func allowHeader() -> [(String, String)] {
        let methods = capability(PJSIP_H_ALLOW)
        return methods.isEmpty ? [] : [("Allow", methods.joined(separator: ", "))]
    }

    /// The values of an endpoint capability header (Allow, Supported, Accept).
    func capability(_ type: pjsip_hdr_e) -> [String] {
        guard let header = pjsip_endpt_get_capability(pjsua_get_pjsip_endpt(), Int32(type.rawValue), nil) else { return [] }
        let list = UnsafeRawPointer(header).assumingMemoryBound(to: pjsip_generic_array_hdr.self)
        return withUnsafeBytes(of: list.pointee.values) { raw in
            let values = raw.bindMemory(to: pj_str_t.self)
            return (0..<Int(list.pointee.count)).map { String(pj: values[$0]) }
        }
    }
}

/// Methods outside pjsip's enum that are still SIP methods we recognise.
let knownOtherMethods: Set<String> = ["REGISTER", "SUBSCRIBE", "NOTIFY", "PUBLISH", "REFER", "MESSAGE", "INFO",
                                      "UPDATE", "PRACK"]

/// Calls `body` for each header of `type` in a message.
func forEachHeader(_ msg: UnsafeMutablePointer<pjsip_msg>, type: pjsip_hdr_e, _ body: (UnsafeMutablePointer<pjsip_hdr>) -> Void) {
    let head = UnsafeMutableRawPointer(msg) + MemoryLayout<pjsip_msg>.offset(of: \.hdr)!
    var node = msg.pointee.hdr.next
    while let header = node, UnsafeMutableRawPointer(header) != head {
        if header.pointee.type == type { body(header) }
        node = header.pointee.next
    }
}
