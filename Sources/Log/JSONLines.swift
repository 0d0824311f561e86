import Foundation
import Synchronization

/// How log lines are written: `text` (`time level subsystem: message key=value…`)
/// or `json` (one JSON object per line, for collectors that parse).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

extension Logger {
    /// The process-wide line format. PJSIP's own lines come through `Logger` too, so they follow it.
    public static var format: LogFormat {
        get { formatStorage.load(ordering: .relaxed) == 1 ? .json : .text }
        set { formatStorage.store(newValue == .json ? 1 : 0, ordering: .relaxed) }
    }

    private static let formatStorage = Atomic<Int>(0)

    /// One line as a JSON object: `time`, `level`, `subsystem`, `message`, then the fields in
    /// order. Integers, doubles and booleans stay numbers and booleans; anything else is a
    /// string, cut and escaped as in text lines (`escaped(_:limit:)`), then written by
    /// Foundation's JSON writer.
    static func jsonLine(time: String, level: LogLevel, subsystem: String, message: String, fields: [LogField]) -> String {
        var line = "{\"time\":" + jsonString(time) + ",\"level\":" + jsonString(level.description)
        line += ",\"subsystem\":" + jsonString(subsystem) + ",\"message\":" + jsonString(escaped(message, limit: messageLimit))
        for field in fields {
            line += "," + jsonString(escaped(field.key, limit: 64)) + ":"
            switch field.value {
            case let value as Int: line += String(value)
            case let value as Int32: line += String(value)
            case let value as Int64: line += String(value)
            case let value as UInt64: line += String(value)
            case let value as Double where value.isFinite: line += String(value)
            case let value as Bool: line += value ? "true" : "false"
            default: line += jsonString(escaped(String(describing: field.value), limit: fieldLimit))
            }
        }
        return line + "}\n"
    }

    private static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
