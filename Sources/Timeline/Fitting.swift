import Foundation

/// Makes values from the network fit the store instead of being refused: a call
/// record is written whatever a caller sends. A control character becomes a
/// visible escape (`\t`, `\n`, `\r`, `\x1b`), and a value over its limit is cut
/// and ends in `…` (the marker counts toward the limit). The original length,
/// in characters, is kept so nobody mistakes a cut value for the whole one.
///
/// Writers that type their data (imports, other systems) still get the refusals
/// in `Limits`: there a mistake is better reported than repaired.
enum Fitting {
    /// What ends a value that was cut.
    static let marker = "…"

    /// `value` as one line within `max` characters; `cut` is the original length when it had to be shortened.
    static func line(_ value: String, max: Int) -> (value: String, cut: Int?) {
        let escaped = escapingControls(value)
        guard escaped.count > max else { return (escaped, nil) }
        return (String(escaped.prefix(max - 1)) + marker, value.count)
    }

    /// Control characters (below U+0020, and DEL) written as escapes, so a line stays one line.
    static func escapingControls(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: isControl) else { return value }
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            guard isControl(scalar) else { out.append(scalar); continue }
            let escape: String = switch scalar {
            case "\t": "\\t"
            case "\n": "\\n"
            case "\r": "\\r"
            default: String(format: "\\x%02x", scalar.value)
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7f }
}

extension CallRecord {
    /// The record with every text field fitted to the store's limits, and the
    /// original lengths of the fields that were cut (merged into `truncated`).
    func fitted() -> CallRecord {
        var record = self
        var cut = truncated ?? [:]
        func fit(_ value: inout String, _ field: String, _ limit: Int) {
            let result = Fitting.line(value, max: limit)
            value = result.value
            if let length = result.cut { cut[field] = max(length, cut[field] ?? 0) }
        }
        func fit(_ value: inout String?, _ field: String, _ limit: Int) {
            guard var text = value else { return }
            fit(&text, field, limit)
            value = text
        }
        fit(&record.clid, "clid", Limits.name)
        fit(&record.src, "src", Limits.name)
        fit(&record.dst, "dst", Limits.name)
        fit(&record.dcontext, "dcontext", Limits.name)
        fit(&record.channel, "channel", Limits.name)
        fit(&record.dstchannel, "dstchannel", Limits.name)
        fit(&record.lastapp, "lastapp", Limits.name)
        fit(&record.lastdata, "lastdata", Limits.subject)
        fit(&record.userfield, "userfield", Limits.name)
        fit(&record.agent, "agent", Limits.name)
        fit(&record.queue, "queue", Limits.name)
        fit(&record.sipCallID, "sip_call_id", Limits.name)
        fit(&record.hangupSide, "hangup_side", Limits.name)
        fit(&record.trunk, "trunk", Limits.name)
        fit(&record.recording, "recording", Limits.path)
        if record.dialplanPath.count > Limits.pathSteps {
            cut["dialplan_path"] = record.dialplanPath.count
            record.dialplanPath = Array(record.dialplanPath.prefix(Limits.pathSteps - 1))
                + ["\(Fitting.marker) \(dialplanPath.count - Limits.pathSteps + 1) more steps"]
        }
        record.dialplanPath = record.dialplanPath.map { Fitting.line($0, max: Limits.subject).value }
        if !Self.dispositions.contains(record.disposition) { record.disposition = "FAILED" }
        record.truncated = cut.isEmpty ? nil : cut
        return record
    }
}

extension TimelineEvent {
    /// An event Omnigate writes about a call, fitted to the limits (its subject
    /// and address come from the caller).
    func fitted() -> TimelineEvent {
        var event = self
        event.subject = event.subject.map { Fitting.line($0, max: Limits.subject).value }
        event.summary = event.summary.map { Fitting.line($0, max: Limits.summary).value }
        event.agent = event.agent.map { Fitting.line($0, max: Limits.agent).value }
        event.address = event.address.map { Fitting.line($0, max: Limits.identity).value }
        return event
    }
}
