import CPJSIP
import Foundation

// Media rules: every call's stream sits on pjsua's conference bridge (8 kHz,
// driven by the null sound device's clock). A call's port transmits only
// while something is connected to it (a playback or a bridged peer), so an
// idle call costs no encoding and sends no RTP, and the rest of the time the
// bridge only mixes what is connected.

extension EngineCore {
    func mediaStateChanged(_ callID: pjsua_call_id) {
        preconditionOnEngineThread()
        guard let entry = entry(forPJSUA: callID) else { return }
        var info = pjsua_call_info()
        guard pjsua_call_get_info(callID, &info) == PJ_SUCCESS.rawValue else { return }
        guard info.media_status == PJSUA_CALL_MEDIA_ACTIVE else { return }
        entry.encrypted = isSRTPActive(callID)
        let slot = info.conf_slot
        guard slot != entry.confSlot else { return }
        entry.confSlot = slot
        // A new stream (first answer, or a re-INVITE that rebuilt it): reconnect what was connected.
        for peerID in entry.bridgedTo {
            guard let peer = calls[peerID], peer.confSlot >= 0 else { continue }
            _ = pjsua_conf_connect(slot, peer.confSlot)
            _ = pjsua_conf_connect(peer.confSlot, slot)
        }
        if let playback = entry.playback { _ = pjsua_conf_connect(pjsua_player_get_conf_port(playback.player), slot) }
        if let recorder = entry.recorder { _ = pjsua_conf_connect(slot, pjsua_recorder_get_conf_port(recorder.recorder)) }
        updateTransmit(entry)
    }

    /// Whether the call's audio runs over SRTP (its SRTP transport is active).
    func isSRTPActive(_ callID: pjsua_call_id) -> Bool {
        var info = pjmedia_transport_info()
        pjmedia_transport_info_init(&info)
        guard pjsua_call_get_med_transport_info(callID, 0, &info) == PJ_SUCCESS.rawValue,
              let srtp = pjmedia_transport_info_get_spc_info(&info, PJMEDIA_TRANSPORT_TYPE_SRTP) else { return false }
        return srtp.assumingMemoryBound(to: pjmedia_srtp_info.self).pointee.active != 0
    }

    /// Turns a call's transmit path on only while something feeds it.
    func updateTransmit(_ entry: CallEntry) {
        guard entry.confSlot >= 0 else { return }
        let feeding = entry.playback != nil || !entry.bridgedTo.isEmpty
        _ = pjsua_conf_configure_port(entry.confSlot, feeding ? PJMEDIA_PORT_ENABLE : PJMEDIA_PORT_DISABLE, PJMEDIA_PORT_ENABLE)
    }

    func requireMedia(_ entry: CallEntry) throws -> pjsua_conf_port_id {
        guard entry.confSlot >= 0 else { throw EngineError.noMedia(entry.id) }
        return entry.confSlot
    }

    // MARK: - Bridge

    func bridge(_ a: CallEntry, _ b: CallEntry) throws {
        let slotA = try requireMedia(a), slotB = try requireMedia(b)
        try check(pjsua_conf_connect(slotA, slotB), "pjsua_conf_connect")
        try check(pjsua_conf_connect(slotB, slotA), "pjsua_conf_connect")
        a.bridgedTo.insert(b.id)
        b.bridgedTo.insert(a.id)
        if let recorder = a.recorder { _ = pjsua_conf_connect(slotB, pjsua_recorder_get_conf_port(recorder.recorder)) }
        if let recorder = b.recorder { _ = pjsua_conf_connect(slotA, pjsua_recorder_get_conf_port(recorder.recorder)) }
        updateTransmit(a)
        updateTransmit(b)
    }

    func unbridge(_ a: CallEntry, _ b: CallEntry) throws {
        if a.confSlot >= 0 && b.confSlot >= 0 {
            _ = pjsua_conf_disconnect(a.confSlot, b.confSlot)
            _ = pjsua_conf_disconnect(b.confSlot, a.confSlot)
        }
        a.bridgedTo.remove(b.id)
        b.bridgedTo.remove(a.id)
        updateTransmit(a)
        updateTransmit(b)
    }

    // MARK: - Playback

    func play(_ path: String, into entry: CallEntry, playback id: PlaybackID) throws {
        let slot = try requireMedia(entry)
        stopPlayback(of: entry, interrupted: true)
        let strings = CStrings()
        var file = strings.pj(path)
        var player = pjsua_player_id()
        try check(pjsua_player_create(&file, UInt32(PJMEDIA_FILE_NO_LOOP.rawValue), &player), "pjsua_player_create(\(path))")
        var port: UnsafeMutablePointer<pjmedia_port>?
        if pjsua_player_get_port(player, &port) == PJ_SUCCESS.rawValue, let port {
            // Called on the bridge's clock thread: only enqueue.
            _ = pjmedia_wav_player_set_eof_cb2(port, UnsafeMutableRawPointer(bitPattern: UInt(id.rawValue))) { _, user in
                let raw = UInt64(UInt(bitPattern: user))
                EngineCore.current?.enqueue { $0.playbackReachedEnd(PlaybackID(rawValue: raw)) }
            }
        }
        do {
            try check(pjsua_conf_connect(pjsua_player_get_conf_port(player), slot), "pjsua_conf_connect")
        } catch {
            _ = pjsua_player_destroy(player)
            throw error
        }
        entry.playback = PlaybackEntry(id: id, player: player)
        playbacks[id] = entry.id
        updateTransmit(entry)
    }

    func playbackReachedEnd(_ id: PlaybackID) {
        guard let callID = playbacks[id], let entry = calls[callID], entry.playback?.id == id else { return }
        stopPlayback(of: entry, interrupted: false)
    }

    func stopPlayback(of entry: CallEntry, interrupted: Bool) {
        guard let playback = entry.playback else { return }
        entry.playback = nil
        playbacks[playback.id] = nil
        _ = pjsua_player_destroy(playback.player)
        updateTransmit(entry)
        emit(.playbackFinished(entry.id, playback.id, interrupted: interrupted))
    }

    // MARK: - Recording

    func record(_ entry: CallEntry, to path: String) throws {
        let slot = try requireMedia(entry)
        stopRecording(of: entry)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let strings = CStrings()
        var file = strings.pj(path)
        var recorder = pjsua_recorder_id()
        try check(pjsua_recorder_create(&file, 0, nil, -1, 0, &recorder), "pjsua_recorder_create(\(path))")
        let port = pjsua_recorder_get_conf_port(recorder)
        _ = pjsua_conf_connect(slot, port)
        for peerID in entry.bridgedTo {
            if let peer = calls[peerID], peer.confSlot >= 0 { _ = pjsua_conf_connect(peer.confSlot, port) }
        }
        entry.recorder = RecorderEntry(path: path, recorder: recorder)
    }

    func stopRecording(of entry: CallEntry) {
        guard let recorder = entry.recorder else { return }
        entry.recorder = nil
        // The bridge lets go of the port on its own clock, and only then does the
        // WAV writer flush and fill in its header; report the file once it has.
        _ = pjsua_recorder_destroy(recorder.recorder)
        closingRecordings.append(ClosingRecording(call: entry.id, path: recorder.path, deadline: .now + .seconds(2)))
    }

    /// Reports recordings whose WAV header is complete (or that gave up waiting).
    func reportClosedRecordings() {
        closingRecordings.removeAll { closing in
            let header = FileManager.default.contents(atPath: closing.path).map { Array($0.prefix(44)) } ?? []
            let size = (try? FileManager.default.attributesOfItem(atPath: closing.path)[.size] as? Int) ?? 0
            // RIFF chunk size (bytes 4..<8) is written, as file size - 8, when the writer closes.
            let riffSize = header.count == 44 ? Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24 : 0
            let complete = riffSize > 0 && riffSize == size - 8
            guard complete || ContinuousClock.now > closing.deadline else { return false }
            // 8 kHz, 16-bit mono after a 44-byte header.
            emit(.recordingFinished(closing.call, path: closing.path, seconds: Double(max(size - 44, 0)) / 16000))
            return true
        }
    }

    /// Ends a call's playback and recording and detaches its bridges (the call is ending).
    func releaseMedia(of entry: CallEntry) {
        stopPlayback(of: entry, interrupted: true)
        stopRecording(of: entry)
        for peerID in entry.bridgedTo {
            guard let peer = calls[peerID] else { continue }
            peer.bridgedTo.remove(entry.id)
            updateTransmit(peer)
        }
        entry.bridgedTo.removeAll()
    }
}

/// A recording whose file the WAV writer has not finished yet.
struct ClosingRecording {
    let call: CallID
    let path: String
    let deadline: ContinuousClock.Instant
}
