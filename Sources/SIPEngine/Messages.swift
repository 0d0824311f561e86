import CPJSIP

// SIP MESSAGE (RFC 3428), the SMS path. An inbound MESSAGE outside a call is
// answered 202 Accepted (as Asterisk answers: taken, not yet delivered) in the
// callback itself, before it is handed on, so a slow consumer never makes the
// sender retransmit (accounts are set with `auto_repond_sip_message` off, so
// the answer is ours). Requests the gateway refuses (an unknown source) are
// stopped earlier, by the request filter. The body is what Content-Length
// says, never more (RFC 3261 §18.3).

extension EngineCore {
    func installMessageCallbacks(_ cb: inout pjsua_callback) {
        cb.on_pager2 = { callID, _, _, _, mimeType, body, rdata, accountID in
            guard let core = EngineCore.current, let rdata else { return }
            if callID == PJSUA_INVALID_ID.rawValue, let tsx = pjsip_rdata_get_tsx(rdata) {
                _ = pjsua_acc_send_response(accountID, rdata, tsx, 202, nil, nil)
            }
            core.incomingMessage(rdata, contentType: mimeType.map { String(pj: $0.pointee) } ?? "",
                                 body: body.map { core.declaredBody($0.pointee, rdata) } ?? "")
        }
        cb.on_pager_status2 = { _, _, _, user, status, reason, _, _, _ in
            guard let core = EngineCore.current else { return }
            let id = MessageID(rawValue: UInt64(UInt(bitPattern: user)))
            core.emit(.messageStatus(id, status: Int(status.rawValue), reason: reason.map { String(pj: $0.pointee) } ?? ""))
        }
    }

    func incomingMessage(_ rdata: UnsafeMutablePointer<pjsip_rx_data>, contentType: String, body: String) {
        preconditionOnEngineThread()
        let info = rdata.pointee.msg_info
        let message = IncomingMessage(
            from: address(info.from.map { UnsafeRawPointer($0.pointee.uri) }),
            to: address(info.to.map { UnsafeRawPointer($0.pointee.uri) }),
            contentType: contentType,
            body: body,
            sipCallID: info.cid.map { String(pj: $0.pointee.id) } ?? "",
            source: source(rdata),
            agent: agent(of: rdata))
        log.debug("incoming message", ("from", message.from.uri), ("bytes", body.utf8.count))
        emit(.incomingMessage(message))
    }

    /// A message body cut to its Content-Length: on UDP, bytes after it belong to nothing.
    func declaredBody(_ body: pj_str_t, _ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> String {
        var body = body
        if let length = rdata.pointee.msg_info.clen, length.pointee.len >= 0, Int(length.pointee.len) < Int(body.slen) {
            body.slen = pj_ssize_t(length.pointee.len)
        }
        return String(pj: body)
    }

    /// Sends a MESSAGE outside any dialog (wraps `pjsua_im_send`).
    func sendMessage(_ id: MessageID, to: String, from: SIPAddress?, contentType: String, body: String,
                     headers: [(name: String, value: String)]) {
        let strings = CStrings()
        var target = strings.pj(to)
        var type = strings.pj(contentType)
        var content = strings.pj(body)
        var status = pj_status_t(PJ_SUCCESS.rawValue)
        do {
            try withMessageData(headers: headers, from: from) { msg in
                status = pjsua_im_send(account(for: to), &target, &type, &content, msg,
                                       UnsafeMutableRawPointer(bitPattern: UInt(id.rawValue)))
            }
        } catch {
            emit(.messageStatus(id, status: 400, reason: String(describing: error)))
            return
        }
        if status != PJ_SUCCESS.rawValue {
            log.warning("cannot send message", ("to", to), ("error", pjText(status)))
            emit(.messageStatus(id, status: 500, reason: pjText(status)))
        }
    }
}
