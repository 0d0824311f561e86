import CPJSIP

// SIP MESSAGE (RFC 3428), the SMS path. pjsua answers an inbound MESSAGE
// with 200 before the callback runs (its default `auto_repond_sip_message`),
// so a slow consumer never makes the sender retransmit. Requests the gateway
// refuses (an unknown source) are stopped earlier, by the request filter.

extension EngineCore {
    func installMessageCallbacks(_ cb: inout pjsua_callback) {
        cb.on_pager2 = { _, _, _, _, mimeType, body, rdata, _ in
            guard let core = EngineCore.current, let rdata else { return }
            core.incomingMessage(rdata, contentType: mimeType.map { String(pj: $0.pointee) } ?? "",
                                 body: body.map { String(pj: $0.pointee) } ?? "")
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
            source: source(rdata))
        log.debug("incoming message", ("from", message.from.uri), ("bytes", body.utf8.count))
        emit(.incomingMessage(message))
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
