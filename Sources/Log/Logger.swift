// Log: structured log lines on stderr, one line per event.
//
// Every module logs through a `Logger` carrying its subsystem name. A line is a
// timestamp, a level, the subsystem, a short message and `key=value` fields:
//
//     2026-11-24T09:20:00.123Z info    sip: call answered call.id=3 sip.status=200
//
// Writing is thread-safe and never blocks on anything but stderr itself. The
// level is process-wide and can change while running (config reload).
//
// A line is always one line, whatever it carries: the message and every field
// value are escaped (control characters, DEL, C1 controls and Unicode line
// separators become `\n`, `\x1b`, `\u{2028}`, …) and cut to a length limit,
// because much of what is logged comes from remote parties (SIP headers, URIs,
// packet excerpts). Repeated lines from a flood go through `LogThrottle`.

import Foundation
import Synchronization

/// How important a log line is; lines below the process-wide level are dropped.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case debug, info, warning, error

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One structured field of a log line.
public typealias LogField = (key: String, value: any CustomStringConvertible)

/// Writes log lines for one subsystem ("sip", "gateway", "store", …).
public struct Logger: Sendable {
    public let subsystem: String

    public init(_ subsystem: String) { self.subsystem = subsystem }

    /// The process-wide minimum level. Lines below it are not formatted at all.
    public static var level: LogLevel {
        get { LogLevel(rawValue: Int(levelStorage.load(ordering: .relaxed))) ?? .info }
        set { levelStorage.store(newValue.rawValue, ordering: .relaxed) }
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= Logger.level }

    public func debug(_ message: @autoclosure () -> String, _ fields: LogField...) { log(.debug, message, fields) }
    public func info(_ message: @autoclosure () -> String, _ fields: LogField...) { log(.info, message, fields) }
    public func warning(_ message: @autoclosure () -> String, _ fields: LogField...) { log(.warning, message, fields) }
    public func error(_ message: @autoclosure () -> String, _ fields: LogField...) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: () -> String, _ fields: [LogField]) {
        guard isEnabled(level) else { return }
        if Logger.format == .json {
            Logger.write(Logger.jsonLine(time: Logger.timestamp(), level: level, subsystem: subsystem, message: message(), fields: fields))
            return
        }
        var line = Logger.timestamp()
        line += " " + level.description.padding(toLength: 8, withPad: " ", startingAt: 0)
        line += subsystem + ": " + Logger.escaped(message(), limit: Logger.messageLimit)
        for field in fields {
            line += " " + Logger.escaped(field.key, limit: 64) + "="
                + Logger.quoted(Logger.escaped(String(describing: field.value), limit: Logger.fieldLimit))
        }
        line += "\n"
        Logger.write(line)
    }

    /// Characters of a message kept; the rest is replaced by a marker saying how much was cut.
    public static let messageLimit = 400
    /// Characters of one field value kept.
    public static let fieldLimit = 400

    // MARK: - Output

    private static let levelStorage = Atomic<Int>(LogLevel.info.rawValue)
    private static let outputLock = Mutex(())

    private static func write(_ line: String) {
        outputLock.withLock { _ in
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if n <= 0 { if errno == EINTR { continue }; return }
                    offset += n
                }
            }
        }
    }

    /// Quotes an escaped field value when it would not read back as one token.
    static func quoted(_ value: String) -> String {
        if value.isEmpty { return "\"\"" }
        guard value.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `text` as it may appear in a log line: at most `limit` characters, with
    /// nothing that could end the line or steer a terminal. A backslash is
    /// doubled, so every escape reads back unambiguously.
    public static func escaped(_ text: String, limit: Int) -> String {
        // Most of what is logged is short printable ASCII: pass it through untouched.
        if text.utf8.count <= limit, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return text }
        var out = ""
        var kept = 0
        var cut = 0
        for scalar in text.unicodeScalars {
            if kept >= limit { cut += 1; continue }
            kept += 1
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x5C: out += "\\\\"
            case 0x00..<0x20, 0x7F, 0x80..<0xA0: out += String(format: "\\x%02x", scalar.value)
            case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                out += String(format: "\\u{%04x}", scalar.value)  // line separators and bidirectional overrides
            default: out.unicodeScalars.append(scalar)
            }
        }
        if cut > 0 { out += "…(\(cut) more)" }
        return out
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}
