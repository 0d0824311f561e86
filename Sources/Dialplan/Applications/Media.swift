/// Playback, Background, Read, Record, VoiceMail.
extension Interpreter {
    func playback(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let files = (args.first ?? "").split(separator: "&").map(String.init).filter { !$0.isEmpty }
        let options = args.count > 1 ? args[1] : ""
        if options.contains("skip") && !answered {
            // skip: play only on an answered call.
            setVariable("PLAYBACKSTATUS", "SUCCESS")
            return .next
        }
        if !options.contains("noanswer") {
            guard await answer() else { return .hangup(cause: nil, reason: "caller-hangup") }
        }
        switch await channel.play(files, interruptDigits: "") {
        case .finished, .interrupted:
            setVariable("PLAYBACKSTATUS", "SUCCESS")
        case .failed(let reason):
            setVariable("PLAYBACKSTATUS", "FAILED")
            if !options.contains("skip") { warnings.append("Playback: \(reason)") }
        case .hungUp:
            return .hangup(cause: nil, reason: "caller-hangup")
        }
        return .next
    }

    /// `Background(files[,options[,language[,context]]])`: a digit stops the
    /// prompt and starts dialling an extension in `context`.
    func background(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let files = (args.first ?? "").split(separator: "&").map(String.init).filter { !$0.isEmpty }
        let options = args.count > 1 ? args[1] : ""
        let context = args.count > 3 && !args[3].isEmpty ? args[3] : nil
        if options.contains("s") && !answered { return .next }  // s: skip on a call not answered
        if !options.contains("n") {
            guard await answer() else { return .hangup(cause: nil, reason: "caller-hangup") }
        }
        switch await channel.play(files, interruptDigits: "0123456789*#") {
        case .finished:
            setVariable("BACKGROUNDSTATUS", "SUCCESS")
            return .next
        case .interrupted(let digit):
            setVariable("BACKGROUNDSTATUS", "SUCCESS")
            return .collect(first: digit, responseTimeout: timeouts.response, context: context)
        case .failed(let reason):
            setVariable("BACKGROUNDSTATUS", "FAILED")
            warnings.append("Background: \(reason)")
            return .next
        case .hungUp:
            return .hangup(cause: nil, reason: "caller-hangup")
        }
    }

    /// `Read(variable[,files[,maxdigits[,options[,attempts[,timeout]]]]])`: digits until `#`,
    /// `maxdigits` or the timeout; READSTATUS OK, TIMEOUT, HANGUP or ERROR.
    func read(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        guard let name = args.first, !name.isEmpty else {
            warnings.append("Read needs a variable name")
            setVariable("READSTATUS", "ERROR")
            return .next
        }
        let files = args.count > 1 ? args[1].split(separator: "&").map(String.init).filter { !$0.isEmpty } : []
        let maxDigits = args.count > 2 ? min(255, max(0, Int(args[2]) ?? 0)) : 0
        let options = args.count > 3 ? args[3] : ""
        let attempts = args.count > 4 ? max(1, Int(args[4]) ?? 1) : 1
        let timeout = args.count > 5 ? seconds(args[5]) ?? timeouts.response : timeouts.response
        if options.contains("s") && !answered {
            // s: return at once on a call not answered.
            setVariable(name, "")
            setVariable("READSTATUS", "SKIPPED")
            return .next
        }
        if !options.contains("n") {
            guard await answer() else {
                setVariable("READSTATUS", "HANGUP")
                return .hangup(cause: nil, reason: "caller-hangup")
            }
        }
        for _ in 0..<attempts {
            var digits = ""
            if !files.isEmpty {
                switch await channel.play(files, interruptDigits: "0123456789*#") {
                case .interrupted(let digit): digits.append(digit)
                case .hungUp:
                    setVariable("READSTATUS", "HANGUP")
                    return .hangup(cause: nil, reason: "caller-hangup")
                default: break
                }
            }
            var ended = digits == "#"
            if ended { digits = "" }
            while !ended && (maxDigits == 0 || digits.count < maxDigits) {
                guard let digit = await channel.digit(timeout: digits.isEmpty ? timeout : timeouts.digit) else { break }
                if digit == "#" { ended = true; break }
                digits.append(digit)
            }
            if channel.isHungUp {
                setVariable(name, digits)
                setVariable("READSTATUS", "HANGUP")
                return .hangup(cause: nil, reason: "caller-hangup")
            }
            if !digits.isEmpty || ended {
                setVariable(name, digits)
                setVariable("READSTATUS", "OK")
                return .next
            }
        }
        setVariable(name, "")
        setVariable("READSTATUS", "TIMEOUT")
        return .next
    }

    /// `Record(file.format[,silence[,maxduration[,options]]])`: RECORD_STATUS and RECORDED_FILE.
    func record(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        guard let file = args.first, !file.isEmpty else {
            warnings.append("Record needs a file name")
            setVariable("RECORD_STATUS", "ERROR")
            return .next
        }
        let options = args.count > 3 ? args[3] : ""
        if !options.contains("n") {
            guard await answer() else { return .hangup(cause: nil, reason: "caller-hangup") }
        }
        let result = await channel.record(RecordRequest(path: file, silence: seconds(args.count > 1 ? args[1] : nil),
                                                        maxDuration: seconds(args.count > 2 ? args[2] : nil).flatMap { $0 == .zero ? nil : $0 },
                                                        options: options))
        setVariable("RECORD_STATUS", result.status)
        if let path = result.path { setVariable("RECORDED_FILE", path) }
        return result.status == "HANGUP" ? .hangup(cause: nil, reason: "caller-hangup") : .next
    }

    /// `VoiceMail(mailbox[@context][&…][,options])`: VMSTATUS SUCCESS, USEREXIT or FAILED.
    func voicemail(_ args: [String]) async -> Flow {
        guard !inHangupHandler else { return .next }
        let boxes = (args.first ?? "").split(separator: "&").map(String.init).filter { !$0.isEmpty }
        guard !boxes.isEmpty else {
            warnings.append("VoiceMail needs a mailbox")
            setVariable("VMSTATUS", "FAILED")
            return .next
        }
        let result = await channel.voicemail(VoicemailRequest(mailboxes: boxes, options: args.count > 1 ? args[1] : ""))
        setVariable("VMSTATUS", result.status)
        if let recording = result.recording { setVariable("VM_RECORDING", recording) }
        return channel.isHungUp ? .hangup(cause: nil, reason: "caller-hangup") : .next
    }
}
