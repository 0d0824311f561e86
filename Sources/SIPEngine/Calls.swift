import CPJSIP

/// pjsua keeps one pointer of user data per call: we store the `CallID`'s
/// bits there (no object, so nothing to retain or release).
func userData(_ id: CallID) -> UnsafeMutableRawPointer? {
    UnsafeMutableRawPointer(bitPattern: UInt(id.rawValue))
}

extension EngineCore {
    func installCallbacks(_ cb: inout pjsua_callback) {
        cb.on_incoming_call = { accountID, callID, rdata in
            EngineCore.current?.incomingCall(callID, accountID, rdata)
        }
        cb.on_call_state = { callID, _ in
            EngineCore.current?.callStateChanged(callID)
        }
        cb.on_call_media_state = { callID in
            EngineCore.current?.mediaStateChanged(callID)
        }
        // Runs on pjmedia's thread for RFC 4733, on the engine thread for SIP INFO.
        cb.on_dtmf_digit2 = { callID, info in
            guard let core = EngineCore.current, let info else { return }
            let raw = UInt64(UInt(bitPattern: pjsua_call_get_user_data(callID)))
            guard raw != 0, let scalar = UnicodeScalar(UInt32(info.pointee.digit)) else { return }
            let method: DTMFMethod = info.pointee.method == PJSUA_DTMF_METHOD_SIP_INFO ? .sipInfo : .rfc4733
            let id = CallID(rawValue: raw)
            if core.isEngineThread {
                // SIP INFO: emit now, before a BYE handled in the same poll ends the call.
                core.emit(.dtmf(id, digit: Character(scalar), method: method))
            } else {
                core.enqueue { core in
                    guard core.calls[id] != nil else { return }
                    core.emit(.dtmf(id, digit: Character(scalar), method: method))
                }
            }
        }
        // pjsua destroys a call's stream before it reports DISCONNECTED: count its packets here.
        cb.on_stream_destroyed = { callID, stream, _ in
            guard let core = EngineCore.current, let stream, let entry = core.entry(forPJSUA: callID) else { return }
            var stat = pjmedia_rtcp_stat()
            guard pjmedia_stream_get_stat(stream, &stat) == PJ_SUCCESS.rawValue else { return }
            core.emit(.mediaStats(entry.id, sentPackets: Int(stat.tx.pkt), receivedPackets: Int(stat.rx.pkt), encrypted: entry.encrypted))
        }
        installMessageCallbacks(&cb)
        installAccountCallbacks(&cb)
        installTransferCallbacks(&cb)
        installConnectionTracking(&cb)
    }

    /// The entry for a pjsua call id, found through the call's user data.
    func entry(forPJSUA callID: pjsua_call_id) -> CallEntry? {
        let raw = UInt64(UInt(bitPattern: pjsua_call_get_user_data(callID)))
        guard raw != 0, let entry = calls[CallID(rawValue: raw)], entry.pjsuaID == callID else { return nil }
        return entry
    }

    // MARK: - Callbacks (engine thread)

    func incomingCall(_ callID: pjsua_call_id, _ accountID: pjsua_acc_id, _ rdata: UnsafeMutablePointer<pjsip_rx_data>?) {
        preconditionOnEngineThread()
        guard let rdata, let msg = rdata.pointee.msg_info.msg else {
            _ = pjsua_call_hangup(callID, 500, nil, nil)
            return
        }
        let id = CallID.make()
        let entry = CallEntry(id: id, pjsuaID: callID)
        calls[id] = entry
        _ = pjsua_call_set_user_data(callID, userData(id))
        // A call keeps its TCP/TLS connection: the BYE and re-INVITEs of a client
        // behind NAT can only come back over it, however long the call is quiet.
        if let transport = rdata.pointee.tp_info.transport,
           (transport.pointee.flag & UInt32(PJSIP_TRANSPORT_RELIABLE.rawValue)) != 0 {
            _ = pjsip_transport_add_ref(transport)
            entry.heldTransport = transport
        }

        let call = IncomingCall(
            id: id,
            from: address(rdata.pointee.msg_info.from.map { UnsafeRawPointer($0.pointee.uri) }),
            to: address(rdata.pointee.msg_info.to.map { UnsafeRawPointer($0.pointee.uri) }),
            sipCallID: rdata.pointee.msg_info.cid.map { String(pj: $0.pointee.id) } ?? "",
            requestURI: cleanURI(pjsip_uri_get_uri(msg.pointee.line.req.uri).map { UnsafeRawPointer($0) }),
            headers: capturedHeaders(msg),
            source: source(rdata),
            account: accountNames[accountID],
            offersSRTP: offersSRTP(msg),
            agent: agent(of: rdata))
        if log.isEnabled(.debug) {
            log.debug("incoming call", ("call.id", id), ("from", call.from.uri), ("to", call.to.uri), ("source", call.source))
        }
        emit(.incomingCall(call))
    }

    func callStateChanged(_ callID: pjsua_call_id) {
        preconditionOnEngineThread()
        guard let entry = entry(forPJSUA: callID) else { return }
        var info = pjsua_call_info()
        guard pjsua_call_get_info(callID, &info) == PJ_SUCCESS.rawValue else { return }
        switch info.state {
        case PJSIP_INV_STATE_EARLY:
            emit(.callState(entry.id, .early(status: Int(info.last_status.rawValue))))
        case PJSIP_INV_STATE_CONFIRMED:
            emit(.callState(entry.id, .confirmed))
        case PJSIP_INV_STATE_DISCONNECTED:
            releaseMedia(of: entry)
            if let transport = entry.heldTransport {
                entry.heldTransport = nil
                _ = pjsip_transport_dec_ref(transport)
            }
            calls[entry.id] = nil
            _ = pjsua_call_set_user_data(callID, nil)
            let status = Int(info.last_status.rawValue)
            let reason = String(pj: info.last_status_text)
            log.debug("call ended", ("call.id", entry.id), ("sip.status", status), ("by", entry.hungUpByUs ? "us" : "peer"))
            emit(.callState(entry.id, .disconnected(status: status, reason: reason, byUs: entry.hungUpByUs)))
        default:
            break
        }
    }

    // MARK: - Commands

    /// Carries out a command; a failure is logged at debug level (nobody waits for it).
    func execute(_ command: SIPCommand) {
        if case .failure(let error) = run(command) {
            log.debug("command failed", ("command", command.name), ("error", error.description))
        }
    }

    /// Carries out a command on the engine thread: done, or why not.
    func run(_ command: SIPCommand) -> Result<Void, EngineError> {
        preconditionOnEngineThread()
        do {
            switch command {
            case .provisional(let id, let status, let headers):
                let call = try live(id)
                var setting = EngineCore.audioOnly
                try withMessageData(headers: headers) { msg in
                    try check(pjsua_call_answer2(call.pjsuaID, &setting, UInt32(status), nil, msg), "pjsua_call_answer2(\(status))")
                }
            case .answer(let id, let headers):
                let call = try live(id)
                var setting = EngineCore.audioOnly
                try withMessageData(headers: headers) { msg in
                    try check(pjsua_call_answer2(call.pjsuaID, &setting, 200, nil, msg), "pjsua_call_answer2(200)")
                }
            case .reject(let id, let status, let reason):
                let call = try live(id)
                call.hungUpByUs = true
                let strings = CStrings()
                var text = strings.pj(reason ?? "")
                let result = reason == nil
                    ? pjsua_call_hangup(call.pjsuaID, UInt32(status), nil, nil)
                    : pjsua_call_hangup(call.pjsuaID, UInt32(status), &text, nil)
                try check(result, "pjsua_call_hangup(\(status))")
            case .hangup(let id, let status):
                let call = try live(id)
                call.hungUpByUs = true
                try check(pjsua_call_hangup(call.pjsuaID, UInt32(status ?? 0), nil, nil), "pjsua_call_hangup")
            case .call(let id, let to, let from, let headers, let account, let srtp):
                try placeCall(id, to: to, from: from, headers: headers, account: account, srtp: srtp)
            case .bridge(let a, let b):
                try bridge(try live(a), try live(b))
            case .unbridge(let a, let b):
                try unbridge(try live(a), try live(b))
            case .play(let id, let playback, let path):
                try play(path, into: try live(id), playback: playback)
            case .stopPlayback(let id):
                stopPlayback(of: try live(id), interrupted: true)
            case .record(let id, let path):
                try record(try live(id), to: path)
            case .stopRecording(let id):
                stopRecording(of: try live(id))
            case .message(let id, let to, let from, let contentType, let body, let headers):
                sendMessage(id, to: to, from: from, contentType: contentType, body: body, headers: headers)
            case .transferOutcome(let id, let status, let reason):
                notifyTransfer(try live(id), status: status, reason: reason, final: status >= 200)
            case .restoreRegistrations(let agent, let bindings):
                restoreBindings(agent, bindings)
            }
        } catch {
            return .failure(EngineError(error))
        }
        return .success(())
    }

    /// One audio stream and nothing else. pjsua's default also offers (and
    /// accepts) a real-time text stream (T.140), and each text stream runs a
    /// clock thread of its own for as long as the call lasts.
    static var audioOnly: pjsua_call_setting {
        var setting = pjsua_call_setting()
        pjsua_call_setting_default(&setting)
        setting.aud_cnt = 1
        setting.vid_cnt = 0
        setting.txt_cnt = 0
        return setting
    }

    /// The live call with this id, or an error naming it.
    func live(_ id: CallID) throws -> CallEntry {
        guard let call = calls[id] else { throw EngineError.callGone(id) }
        return call
    }

    private func placeCall(_ id: CallID, to: String, from: SIPAddress?, headers: [(name: String, value: String)],
                           account: String?, srtp: SRTPUse) throws {
        let accountID: pjsua_acc_id
        if let account {
            guard let id = providerAccounts[account] else { throw EngineError.unknownAccount(account) }
            accountID = id
        } else {
            accountID = self.account(for: to, srtp: srtp)
        }
        let strings = CStrings()
        var destination = strings.pj(to)
        var setting = EngineCore.audioOnly
        let entry = CallEntry(id: id, pjsuaID: pjsua_call_id(PJSUA_INVALID_ID.rawValue))
        entry.hungUpByUs = false
        calls[id] = entry  // before make_call: its callbacks can run inside it
        var pjID = pjsua_call_id(PJSUA_INVALID_ID.rawValue)
        var status = pj_status_t(PJ_SUCCESS.rawValue)
        do {
            try withMessageData(headers: headers, from: from) { msg in
                status = pjsua_call_make_call(accountID, &destination, &setting, userData(id), msg, &pjID)
            }
        } catch {
            calls[id] = nil
            throw error
        }
        if status == PJ_SUCCESS.rawValue {
            entry.pjsuaID = pjID
            log.debug("calling", ("call.id", id), ("to", to))
            return
        }
        // Never placed: the one who asked learns why (no call state follows).
        calls[id] = nil
        throw SIPError(status: status, call: "pjsua_call_make_call")
    }

    /// Runs `body` with a `pjsua_msg_data` carrying extra headers (and a From
    /// override), or nil when there is nothing to add.
    func withMessageData<R>(headers: [(name: String, value: String)], from: SIPAddress? = nil,
                            contentType: String? = nil, body: String? = nil,
                            _ work: (UnsafeMutablePointer<pjsua_msg_data>?) throws -> R) throws -> R {
        if headers.isEmpty && from == nil && contentType == nil && body == nil { return try work(nil) }
        let strings = CStrings()
        let pool = pjsua_pool_create("msgdata", 512, 512)
        // Heap-allocated: pjsua_msg_data_init makes hdr_list point at itself.
        let msg = UnsafeMutablePointer<pjsua_msg_data>.allocate(capacity: 1)
        defer {
            msg.deallocate()
            pj_pool_release(pool)
        }
        pjsua_msg_data_init(msg)
        for header in headers {
            guard isValidHeader(name: header.name, value: header.value) else {
                throw EngineError.invalidHeader(header.name)
            }
            var name = strings.pj(header.name)
            var value = strings.pj(header.value)
            guard let hdr = pjsip_generic_string_hdr_create(pool, &name, &value) else {
                throw SIPError(status: pj_status_t(PJ_ENOMEM), call: "pjsip_generic_string_hdr_create")
            }
            let list = UnsafeMutableRawPointer(msg) + MemoryLayout<pjsua_msg_data>.offset(of: \.hdr_list)!
            pj_list_push_back(list, UnsafeMutableRawPointer(hdr))
        }
        if let from { msg.pointee.local_uri = strings.pj(from.description) }
        if let contentType { msg.pointee.content_type = strings.pj(contentType) }
        if let body { msg.pointee.msg_body = strings.pj(body) }
        return try work(msg)
    }

    // MARK: - Reading requests

    /// The name-addr of a From or To header, its URI cleaned (see `cleanURI`).
    func address(_ uri: UnsafeRawPointer?) -> SIPAddress {
        guard let uri else { return SIPAddress(uri: "") }
        let inner = pjsip_uri_get_uri(uri)
        var display = ""
        if let inner, UnsafeRawPointer(inner) != uri {
            // From/To values are parsed as name-addr; the inner URI differs only then.
            display = String(pj: uri.assumingMemoryBound(to: pjsip_name_addr.self).pointee.display)
        }
        return SIPAddress(displayName: display, uri: cleanURI(inner.map { UnsafeRawPointer($0) }))
    }

    /// A received URI as `scheme:user@host:port` (`tel:number`), without its
    /// parameters or `?headers`: nothing a remote party puts there (`Route`,
    /// `maddr`, `transport`, …) can reach a request Omnigate sends. The user part
    /// is printed escaped, as pjsip prints it. Other schemes give "".
    func cleanURI(_ uri: UnsafeRawPointer?) -> String {
        guard let uri else { return "" }
        let scheme = pjsip_uri_get_scheme(uri).map { String(pj: $0.pointee) }?.lowercased() ?? ""
        switch scheme {
        case "sip", "sips":
            let original = uri.assumingMemoryBound(to: pjsip_sip_uri.self)
            let scratch = pjsua_pool_create("uri", 256, 256)
            defer { pj_pool_release(scratch) }
            guard let clean = pjsip_sip_uri_create(scratch, scheme == "sips" ? 1 : 0) else { return "" }
            clean.pointee.user = original.pointee.user
            clean.pointee.host = original.pointee.host
            clean.pointee.port = original.pointee.port
            return printURI(UnsafeRawPointer(clean), context: PJSIP_URI_IN_OTHER)
        case "tel":
            let number = String(pj: uri.assumingMemoryBound(to: pjsip_tel_uri.self).pointee.number)
            return "tel:" + String(number.unicodeScalars.filter { ("0"..."9").contains($0) || "+-.()*#ABCDabcd".unicodeScalars.contains($0) })
        default:
            return ""
        }
    }

    func source(_ rdata: UnsafeMutablePointer<pjsip_rx_data>) -> SourceAddress {
        let host = stringFromTuple(rdata.pointee.pkt_info.src_name)
        let type = rdata.pointee.tp_info.transport.flatMap { $0.pointee.type_name.map { String(cString: $0) } } ?? "?"
        return SourceAddress(host: host, port: Int(rdata.pointee.pkt_info.src_port), transport: type)
    }

    /// The agent a request was authenticated as (by the filter, moments ago), if any.
    func agent(of rdata: UnsafeMutablePointer<pjsip_rx_data>) -> String? {
        guard let authenticated = authenticatedRequest, authenticated.rdata == rdata else { return nil }
        authenticatedRequest = nil
        return authenticated.agent
    }

    /// Whether an INVITE's SDP offers SRTP (RFC 4568 SDES): an audio stream
    /// on RTP/SAVP, or on RTP/AVP with crypto attributes (best-effort SRTP).
    /// Parsed by pjmedia's SDP parser.
    func offersSRTP(_ msg: UnsafeMutablePointer<pjsip_msg>) -> Bool {
        guard let body = msg.pointee.body, body.pointee.len > 0, let data = body.pointee.data,
              let scratch = pjsua_pool_create("sdp", 1024, 1024) else { return false }
        defer { pj_pool_release(scratch) }
        // The parser wants its own NUL-terminated copy.
        guard let copy = pj_pool_alloc(scratch, pj_size_t(body.pointee.len) + 1)?.assumingMemoryBound(to: CChar.self) else { return false }
        copy.update(from: data.assumingMemoryBound(to: CChar.self), count: Int(body.pointee.len))
        copy[Int(body.pointee.len)] = 0
        var sdp: UnsafeMutablePointer<pjmedia_sdp_session>?
        guard pjmedia_sdp_parse(scratch, copy, pj_size_t(body.pointee.len), &sdp) == PJ_SUCCESS.rawValue, let sdp else { return false }
        return withUnsafeBytes(of: sdp.pointee.media) { raw in
            let media = raw.bindMemory(to: UnsafeMutablePointer<pjmedia_sdp_media>?.self)
            return (0..<Int(sdp.pointee.media_count)).contains { index in
                guard let m = media[index], String(pj: m.pointee.desc.media).lowercased() == "audio", m.pointee.desc.port != 0 else { return false }
                let transport = String(pj: m.pointee.desc.transport).uppercased()
                if transport.contains("SAVP") { return true }
                let strings = CStrings()
                var crypto = strings.pj("crypto")
                return pjmedia_sdp_media_find_attr(m, &crypto, nil) != nil
            }
        }
    }

    func capturedHeaders(_ msg: UnsafeMutablePointer<pjsip_msg>) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        let head = UnsafeMutableRawPointer(msg) + MemoryLayout<pjsip_msg>.offset(of: \.hdr)!
        var node = msg.pointee.hdr.next
        while let header = node, UnsafeMutableRawPointer(header) != head {
            let name = String(pj: header.pointee.name)
            if name.lowercased().hasPrefix("x-") || config.capturedHeaders.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
                result.append((name, printHeaderValue(header)))
            }
            node = header.pointee.next
        }
        return result
    }
}

/// Header names are tokens; values must not contain line breaks (no header injection).
func isValidHeader(name: String, value: String) -> Bool {
    let tokenChars = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
    guard !name.isEmpty, name.allSatisfy({ tokenChars.contains($0) }) else { return false }
    return !value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
}

extension SIPCommand {
    /// The command's name, for logs.
    var name: String {
        switch self {
        case .provisional: "provisional"
        case .answer: "answer"
        case .reject: "reject"
        case .hangup: "hangup"
        case .call: "call"
        case .bridge: "bridge"
        case .unbridge: "unbridge"
        case .play: "play"
        case .stopPlayback: "stop-playback"
        case .record: "record"
        case .stopRecording: "stop-recording"
        case .message: "message"
        case .transferOutcome: "transfer-outcome"
        case .restoreRegistrations: "restore-registrations"
        }
    }
}
