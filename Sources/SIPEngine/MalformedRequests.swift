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
// - A TCP/TLS message larger than the largest accepted (PJSIP_MAX_PKT_LEN,
//   64 KB) gets 513 when its headers can be read, and its connection is closed.
// - Malformed messages are counted and logged as one line per source, the
//   1st, 10th, 100th, … time, with a short escaped excerpt.
//
// The parsing is pjsip's; these checks only read what it parsed.

extension EngineCore {
    func installRequestChecks() throws {
        try registerModule("mod-omnigate-checks", priority: Int32(PJSIP_MOD_PRIORITY_TRANSPORT_LAYER.rawValue) + 1, { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            core.noteMessage(on: rdata.pointee.tp_info.transport)
            // Past its rate, a source's requests are dropped unanswered (SourceLimits.swift).
            guard core.admitByRate(rdata) else { return 1 }
            return core.checkRequest(rdata) ? 1 : 0
        }, onResponse: { rdata in
            guard let rdata, let core = EngineCore.current else { return 0 }
            core.noteMessage(on: rdata.pointee.tp_info.transport)
            if let msg = rdata.pointee.msg_info.msg { core.responses.note(Int32(msg.pointee.line.status.code), sent: false) }
            return 0
        }, onTxResponse: { tdata in
            if let msg = tdata?.pointee.msg, let core = EngineCore.current {
                core.responses.note(Int32(msg.pointee.line.status.code), sent: true)
            }
            return pj_status_t(PJ_SUCCESS.rawValue)
        })
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

    /// Registers a module whose `on_rx_request` (and `on_rx_response`) returns true when it answered.
    func registerModule(_ name: String, priority: Int32,
                        _ handler: @escaping @convention(c) (UnsafeMutablePointer<pjsip_rx_data>?) -> pj_bool_t,
                        onResponse: (@convention(c) (UnsafeMutablePointer<pjsip_rx_data>?) -> pj_bool_t)? = nil,
                        onTxResponse: (@convention(c) (UnsafeMutablePointer<pjsip_tx_data>?) -> pj_status_t)? = nil) throws {
        // The module lives as long as the process: pjsip keeps the pointer.
        let module = UnsafeMutablePointer<pjsip_module>.allocate(capacity: 1)
        module.initialize(to: pjsip_module())
        module.pointee.name = CStrings.permanent(name)
        module.pointee.id = -1
        module.pointee.priority = priority
        module.pointee.on_rx_request = handler
        module.pointee.on_rx_response = onResponse
        module.pointee.on_tx_response = onTxResponse
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
    /// transport, not the packet's source. For a datagram (and for a stream
    /// whose receive buffer overflowed, which pjsip reports from the buffer's
    /// start), the bytes are the start of the receive buffer inside the
    /// transport's `pjsip_rx_data`, so that record (and its source address) is
    /// recovered from the buffer's position, and only used after checking it
    /// really is that record.
    func answerUnparsable(_ dropped: UnsafeMutablePointer<pjsip_tp_dropped_data>) {
        guard let data = dropped.pointee.data, let transport = dropped.pointee.tp else { return }
        // The rest of a message whose connection is already closing is not news.
        guard transport.pointee.is_shutdown == 0 else { return }
        let datagram = (pjsip_transport_get_flag_from_type(pjsip_transport_type_e(UInt32(transport.pointee.key.type)))
                        & UInt32(PJSIP_TRANSPORT_DATAGRAM.rawValue)) != 0
        let overflow = dropped.pointee.status == omnigate_status_rx_overflow()
        if overflow {
            counters.oversizedMessages.add(1, ordering: .relaxed)
        } else {
            counters.malformedMessages.add(1, ordering: .relaxed)
        }
        guard datagram || overflow else {
            noteMalformed(transport: transport, bytes: data, length: Int(dropped.pointee.len), rdata: nil)
            return
        }
        let offset = omnigate_rdata_packet_offset()
        let rdata = (UnsafeMutableRawPointer(mutating: data) - offset).assumingMemoryBound(to: pjsip_rx_data.self)
        guard rdata.pointee.tp_info.transport == transport else { return }
        if overflow {
            answerOversized(rdata, transport: transport)
            return
        }
        noteMalformed(transport: transport, bytes: data, length: Int(dropped.pointee.len), rdata: rdata)
        guard let msg = rdata.pointee.msg_info.msg, msg.pointee.type == PJSIP_REQUEST_MSG,
              msg.pointee.line.req.method.id != PJSIP_ACK_METHOD,
              let via = rdata.pointee.msg_info.via, rdata.pointee.msg_info.cseq != nil,
              let cid = rdata.pointee.msg_info.cid, cid.pointee.id.slen > 0,
              rdata.pointee.msg_info.from != nil, rdata.pointee.msg_info.to != nil
        else { return }
        answerFromSource(rdata, via: via)
        respond(rdata, status: 400, reason: "Malformed Request")
    }

    /// Points the response at the packet's source, as pjsip does for a request it
    /// parses itself (received, rport), and never at a Via's maddr.
    private func answerFromSource(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, via: UnsafeMutablePointer<pjsip_via_hdr>) {
        via.pointee.rport_param = rdata.pointee.pkt_info.src_port
        via.pointee.maddr_param.slen = 0
        withUnsafeBytes(of: rdata.pointee.pkt_info.src_name) { raw in
            pj_strdup2(rdata.pointee.tp_info.pool, &via.pointee.recvd_param, raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
    }

    /// A message too large for the receive buffer: 513 Message Too Large when its
    /// headers are all in the buffer and name everything a response needs; in
    /// any case the connection is closed (the rest of the message would be read
    /// as garbage).
    private func answerOversized(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, transport: UnsafeMutablePointer<pjsip_transport>) {
        let start = UnsafeRawPointer(rdata) + omnigate_rdata_packet_offset()
        let length = min(Int(rdata.pointee.pkt_info.len), Int(PJSIP_MAX_PKT_LEN))
        let bytes = UnsafeRawBufferPointer(start: start, count: length)
        var end: Int?
        var i = 0
        while i + 3 < length {
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { end = i + 4; break }
            i += 1
        }
        if let end, let pool = rdata.pointee.tp_info.pool,
           let copy = pj_pool_alloc(pool, pj_size_t(end + 1))?.assumingMemoryBound(to: CChar.self) {
            // The headers alone, NUL-terminated as pjsip's parser needs, in memory the response may point into.
            copy.update(from: start.assumingMemoryBound(to: CChar.self), count: end)
            copy[end] = 0
            if let msg = pjsip_parse_rdata(copy, pj_size_t(end), rdata), msg.pointee.type == PJSIP_REQUEST_MSG,
               msg.pointee.line.req.method.id != PJSIP_ACK_METHOD,
               let via = rdata.pointee.msg_info.via, rdata.pointee.msg_info.cseq != nil, rdata.pointee.msg_info.cid != nil,
               rdata.pointee.msg_info.from != nil, rdata.pointee.msg_info.to != nil {
                answerFromSource(rdata, via: via)
                respond(rdata, status: 513, reason: "Message Too Large")
            }
        }
        let description = "\(stringFromTuple(rdata.pointee.pkt_info.src_name)):\(rdata.pointee.pkt_info.src_port)"
        if let count = throttle.admit("oversized:" + stringFromTuple(rdata.pointee.pkt_info.src_name)) {
            log.warning("message larger than 64 KB: connection closed", ("source", description), ("oversized", count))
        }
        connections.closed(transport)
        _ = pjsip_transport_shutdown(transport)
    }

    /// Logs a malformed message: one line per source, the 1st, 10th, 100th, …
    /// time, with at most 200 bytes of it (escaped by the logger).
    private func noteMalformed(transport: UnsafeMutablePointer<pjsip_transport>, bytes: UnsafeRawPointer, length: Int,
                               rdata: UnsafeMutablePointer<pjsip_rx_data>?) {
        let host = rdata.map { stringFromTuple($0.pointee.pkt_info.src_name) } ?? String(pj: transport.pointee.remote_name.host)
        guard let count = throttle.admit("malformed:" + host) else { return }
        let excerpt = String(decoding: UnsafeRawBufferPointer(start: bytes, count: min(max(length, 0), 200)), as: UTF8.self)
        log.warning("malformed SIP dropped", ("source", host), ("bytes", length), ("excerpt", excerpt), ("malformed", count))
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
