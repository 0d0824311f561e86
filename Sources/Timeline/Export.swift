import Foundation

/// How call records leave the store for helpdesks.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// One JSON object per record per line; times ISO 8601 UTC with milliseconds.
    case jsonl
    /// RFC 4180 CSV with a header row of `CallRecordExport.columns`, safe to open in a
    /// spreadsheet: see `CallRecordExport.csvCell`.
    case csv
}

extension TimelineStore {
    /// Ended call records that started at or after `since`, oldest first, in `format`.
    public func exportCallRecords(since: Date? = nil, format: ExportFormat) throws -> Data {
        let records = try callRecords(since: since)
        var out = ""
        switch format {
        case .csv:
            out += CallRecordExport.csvHeader + "\r\n"
            for record in records { out += CallRecordExport.csv(record) + "\r\n" }
        case .jsonl:
            for record in records { out += try CallRecordExport.json(record) + "\n" }
        }
        return Data(out.utf8)
    }
}

/// Call records as helpdesks take them: Asterisk's CDR columns first, then the contact center's.
public enum CallRecordExport {
    public static let columns = ["uniqueid", "direction", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp",
                                 "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "userfield",
                                 "contact_id", "agent", "queue", "wait_ms", "agent_answer", "talksec", "sip_call_id", "sip_status", "agent_sip_status",
                                 "hangup_side", "dialplan_path", "recording", "trunk", "interrupted", "truncated"]
    public static var csvHeader: String { columns.joined(separator: ",") }

    /// A record's values in `columns` order; times in ISO 8601, the dialplan path joined with ` | `.
    public static func values(_ r: CallRecord) -> [String] {
        let time: (Date) -> String = Timestamp.string
        return [r.uniqueid, r.direction.rawValue, r.clid, r.src, r.dst, r.dcontext, r.channel, r.dstchannel, r.lastapp,
                r.lastdata, time(r.start), r.answer.map(time) ?? "", r.end.map(time) ?? "", String(r.duration),
                String(r.billsec), r.disposition, r.userfield, r.contactID ?? "", r.agent ?? "", r.queue ?? "",
                r.waitMilliseconds.map(String.init) ?? "", r.agentAnswer.map(time) ?? "", r.talksec.map(String.init) ?? "",
                r.sipCallID ?? "", r.sipStatus.map(String.init) ?? "",
                r.agentSIPStatus.map(String.init) ?? "", r.hangupSide ?? "", r.dialplanPath.joined(separator: " | "),
                r.recording ?? "", r.trunk ?? "", r.interrupted ? "1" : "0", r.truncatedJSON ?? ""]
    }

    /// One CSV line (no line break) of `csvCell`s.
    public static func csv(_ record: CallRecord) -> String {
        values(record).map(csvCell).joined(separator: ",")
    }

    /// One CSV cell that a spreadsheet shows as text and never runs. A value a caller may
    /// control (a display name, a number, a dialplan variable) that begins with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return would be read as a formula; as the OWASP CSV Injection
    /// guidance says, such a value gets a leading `'` and is quoted
    /// (https://owasp.org/www-community/attacks/CSV_Injection). A phone number such as
    /// `+12025550142` therefore exports as `'+12025550142`: JSON Lines keep values exact.
    /// Then RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled.
    public static func csvCell(_ value: String) -> String {
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) {
            return "\"'" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    /// The record as a JSON object with the CSV's column names (snake_case, the
    /// same everywhere: the CLI's JSON Lines, the HTTP API, webhooks), values
    /// typed: numbers as numbers, times in ISO 8601 UTC, nothing as null, the
    /// dialplan path as a list.
    public static func object(_ r: CallRecord) -> [String: Any] {
        let time: (Date) -> String = Timestamp.string
        let optional: (Any?) -> Any = { $0 ?? NSNull() }
        return ["uniqueid": r.uniqueid, "direction": r.direction.rawValue, "clid": r.clid, "src": r.src, "dst": r.dst,
                "dcontext": r.dcontext, "channel": r.channel, "dstchannel": r.dstchannel, "lastapp": r.lastapp, "lastdata": r.lastdata,
                "start": time(r.start), "answer": optional(r.answer.map(time)), "end": optional(r.end.map(time)), "duration": r.duration,
                "billsec": r.billsec, "disposition": r.disposition, "userfield": r.userfield, "contact_id": optional(r.contactID),
                "agent": optional(r.agent), "queue": optional(r.queue), "wait_ms": optional(r.waitMilliseconds),
                "agent_answer": optional(r.agentAnswer.map(time)), "talksec": optional(r.talksec),
                "sip_call_id": optional(r.sipCallID), "sip_status": optional(r.sipStatus), "agent_sip_status": optional(r.agentSIPStatus),
                "hangup_side": optional(r.hangupSide), "dialplan_path": r.dialplanPath, "recording": optional(r.recording),
                "trunk": optional(r.trunk), "interrupted": r.interrupted, "truncated": optional(r.truncated), "run_id": optional(r.runID)]
    }

    /// One JSON object (no line break), keys as `object` names them, sorted.
    public static func json(_ record: CallRecord) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object(record), options: [.sortedKeys, .withoutEscapingSlashes]),
               as: UTF8.self)
    }
}
