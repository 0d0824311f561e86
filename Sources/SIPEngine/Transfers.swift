import CPJSIP
import Log

// Call transfer by REFER (RFC 3515, RFC 3891 Replaces, RFC 4488 Refer-Sub).
//
// pjsua would accept every REFER and call whatever the Refer-To names, from
// any party, with no record: toll fraud. Here pjsua never sees one. The
// `on_call_tsx_state` callback runs before pjsua's own REFER handling; it
// answers the REFER itself (the transaction is then no longer in the Trying
// state pjsua waits for, so pjsua leaves it alone), after asking the
// gateway's policy:
//
// - refused (the default, and always without a policy): 403 or the status
//   the policy names, and nothing is placed;
// - accepted: 202 and the implicit subscription (RFC 3515 §2.4.4) with a
//   "100 Trying" NOTIFY; the gateway carries the transfer out through its
//   dialplan and reports the outcome with `.transferOutcome`, which sends
//   the final NOTIFY.

/// A REFER received in a call: a party asks for its call to be transferred.
public struct TransferRequest: Sendable {
    /// The call leg the REFER arrived on (the transferring party's leg).
    public var call: CallID
    /// The Refer-To URI as `scheme:user@host:port`, without parameters or headers.
    public var target: String
    /// The user part of the Refer-To URI (the number or name to transfer to).
    public var targetUser: String
    /// An attended transfer (RFC 3891): the dialog the transfer replaces, as
    /// `call-id;to-tag=…;from-tag=…`; nil for a blind transfer.
    public var replaces: String?
    public var source: SourceAddress
}

/// What the gateway's policy says to a REFER.
public enum TransferDecision: Sendable, Equatable {
    /// 202 Accepted: the gateway will carry the transfer out.
    case accept
    /// A final refusal (403 Forbidden, 404 Not Found, …) with a reason phrase.
    case refuse(status: Int, reason: String)
}

extension EngineCore {
    func installTransferCallbacks(_ cb: inout pjsua_callback) {
        // Called for every transaction of a call, before pjsua's own handling of it.
        cb.on_call_tsx_state = { callID, tsx, event in
            guard let core = EngineCore.current, let tsx, let event,
                  tsx.pointee.role == PJSIP_ROLE_UAS, tsx.pointee.state == PJSIP_TSX_STATE_TRYING,
                  pjsip_method_cmp(&tsx.pointee.method, pjsip_get_refer_method()) == 0,
                  event.pointee.type == PJSIP_EVENT_TSX_STATE, event.pointee.body.tsx_state.type == PJSIP_EVENT_RX_MSG,
                  let rdata = event.pointee.body.tsx_state.src.rdata else { return }
            core.referReceived(callID, rdata)
        }
    }

    func referReceived(_ callID: pjsua_call_id, _ rdata: UnsafeMutablePointer<pjsip_rx_data>) {
        preconditionOnEngineThread()
        guard let dialog = pjsip_rdata_get_dlg(rdata) else { return }
        guard let entry = entry(forPJSUA: callID) else {
            _ = pjsip_dlg_respond(dialog, rdata, 481, nil, nil, nil)
            return
        }
        guard let request = transferRequest(entry, rdata) else {
            refuseTransfer(dialog, rdata, status: 400, reason: "Bad Refer-To", call: entry.id, target: "")
            return
        }
        let decision = config.transferPolicy?(request) ?? .refuse(status: 403, reason: "Transfers are not allowed")
        switch decision {
        case .refuse(let status, let reason):
            refuseTransfer(dialog, rdata, status: status, reason: reason, call: entry.id, target: request.target)
        case .accept:
            acceptTransfer(entry, dialog, rdata, request)
        }
    }

    private func refuseTransfer(_ dialog: UnsafeMutablePointer<pjsip_dialog>, _ rdata: UnsafeMutablePointer<pjsip_rx_data>,
                                status: Int, reason: String, call: CallID, target: String) {
        let strings = CStrings()
        var text = strings.pj(reason)
        _ = pjsip_dlg_respond(dialog, rdata, Int32(status), &text, nil, nil)
        log.warning("transfer refused", ("call.id", call), ("target", target), ("sip.status", status), ("reason", reason),
                    ("source", source(rdata)))
    }

    private func acceptTransfer(_ entry: CallEntry, _ dialog: UnsafeMutablePointer<pjsip_dialog>,
                                _ rdata: UnsafeMutablePointer<pjsip_rx_data>, _ request: TransferRequest) {
        if entry.transfer != nil {
            refuseTransfer(dialog, rdata, status: 491, reason: "A transfer is already in progress", call: entry.id, target: request.target)
            return
        }
        if header("Refer-Sub", in: rdata)?.lowercased() == "false" {
            // RFC 4488: the transferor asked for no subscription, so no NOTIFY follows.
            var tdata: UnsafeMutablePointer<pjsip_tx_data>?
            guard pjsip_dlg_create_response(dialog, rdata, 202, nil, &tdata) == PJ_SUCCESS.rawValue, let tdata else { return }
            addHeader("Refer-Sub", "false", to: tdata)
            _ = pjsip_dlg_send_response(dialog, pjsip_rdata_get_tsx(rdata), tdata)
        } else {
            var callbacks = pjsip_evsub_user()
            callbacks.on_evsub_state = { subscription, _ in
                // The subscription ended (final NOTIFY sent, or the dialog ended): forget it.
                guard let core = EngineCore.current, let subscription,
                      pjsip_evsub_get_state(subscription) == PJSIP_EVSUB_STATE_TERMINATED else { return }
                for entry in core.calls.values where entry.transfer == subscription { entry.transfer = nil }
            }
            var subscription: OpaquePointer?
            guard pjsip_xfer_create_uas(dialog, &callbacks, rdata, &subscription) == PJ_SUCCESS.rawValue, let subscription else {
                _ = pjsip_dlg_respond(dialog, rdata, 500, nil, nil, nil)
                return
            }
            _ = pjsip_xfer_accept(subscription, rdata, 202, nil)
            entry.transfer = subscription
            notifyTransfer(entry, status: 100, reason: "Trying", final: false)
        }
        log.info("transfer accepted", ("call.id", entry.id), ("target", request.target), ("source", request.source))
        emit(.transferRequested(request))
    }

    /// Sends the transferor a NOTIFY with the transfer's progress (RFC 3515 message/sipfrag).
    func notifyTransfer(_ entry: CallEntry, status: Int, reason: String, final: Bool) {
        guard let subscription = entry.transfer else { return }
        let strings = CStrings()
        var text = strings.pj(reason)
        var tdata: UnsafeMutablePointer<pjsip_tx_data>?
        let state = final ? PJSIP_EVSUB_STATE_TERMINATED : PJSIP_EVSUB_STATE_ACTIVE
        guard pjsip_xfer_notify(subscription, state, Int32(status), &text, &tdata) == PJ_SUCCESS.rawValue, let tdata else { return }
        _ = pjsip_xfer_send_request(subscription, tdata)
        if final { entry.transfer = nil }
    }

    /// Reads a REFER into a `TransferRequest`; nil when its Refer-To is missing or not a SIP or tel URI.
    private func transferRequest(_ entry: CallEntry, _ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> TransferRequest? {
        guard let referTo = header("Refer-To", compact: "r", in: rdata), let pool = rdata.pointee.tp_info.pool else { return nil }
        // pjsip's URI parser wants a NUL-terminated copy it may keep pointers into.
        var copy = pj_str_t()
        let strings = CStrings()
        var raw = strings.pj(referTo)
        pj_strdup_with_null(pool, &copy, &raw)
        guard let parsed = pjsip_parse_uri(pool, copy.ptr, pj_size_t(copy.slen), UInt32(PJSIP_PARSE_URI_AS_NAMEADDR)),
              let inner = pjsip_uri_get_uri(parsed) else { return nil }
        let scheme = pjsip_uri_get_scheme(inner).map { String(pj: $0.pointee) }?.lowercased() ?? ""
        let target = cleanURI(UnsafeRawPointer(inner))
        var replaces: String?
        if scheme == "sip" || scheme == "sips" {
            let uri = UnsafeRawPointer(inner).assumingMemoryBound(to: pjsip_sip_uri.self)
            replaces = uriHeader("Replaces", in: uri)
        } else if scheme != "tel" {
            return nil
        }
        return TransferRequest(call: entry.id, target: target, targetUser: SIPAddress(uri: target).user,
                               replaces: replaces, source: source(rdata))
    }

    /// The value of a `?name=value` header carried in a SIP URI, unescaped by pjsip's parser.
    private func uriHeader(_ name: String, in uri: UnsafePointer<pjsip_sip_uri>) -> String? {
        let head = UnsafeRawPointer(uri) + MemoryLayout<pjsip_sip_uri>.offset(of: \.header_param)!
        var node = uri.pointee.header_param.next
        while let param = node, UnsafeRawPointer(param) != head {
            if String(pj: param.pointee.name).caseInsensitiveCompare(name) == .orderedSame { return String(pj: param.pointee.value) }
            node = param.pointee.next
        }
        return nil
    }

    /// The value of a header by name (and compact form), or nil.
    func header(_ name: String, compact: String? = nil, in rdata: UnsafeMutablePointer<pjsip_rx_data>) -> String? {
        guard let msg = rdata.pointee.msg_info.msg else { return nil }
        let strings = CStrings()
        var long = strings.pj(name)
        var short = strings.pj(compact ?? name)
        guard let found = pjsip_msg_find_hdr_by_names(msg, &long, &short, nil) else { return nil }
        return printHeaderValue(UnsafeMutableRawPointer(mutating: found).assumingMemoryBound(to: pjsip_hdr.self))
    }

    func addHeader(_ name: String, _ value: String, to tdata: UnsafeMutablePointer<pjsip_tx_data>) {
        let strings = CStrings()
        var n = strings.pj(name), v = strings.pj(value)
        if let hdr = pjsip_generic_string_hdr_create(tdata.pointee.pool, &n, &v) {
            pjsip_msg_add_hdr(tdata.pointee.msg, UnsafeMutableRawPointer(hdr).assumingMemoryBound(to: pjsip_hdr.self))
        }
    }
}
