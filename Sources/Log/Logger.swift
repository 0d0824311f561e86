// Log: structured log lines on stderr, one line per event.
//
// Every module logs through a `Logger` carrying its subsystem name. A line is a
// timestamp, a level, the subsystem, a short message and `key=value` fields:
//
//     2026-11-24T09:20:00.123Z info    sip: call answered call.id=3 sip.status=200
//
// Writing is thread-safe and never blocks on anything but stderr itself. The
// level is process-wide and can change while running (config reload).

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
        line += subsystem + ": " + message()
        for field in fields {
            line += " " + field.key + "=" + Logger.quoted(String(describing: field.value))
        }
        line += "\n"
        Logger.write(line)
    }

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

    /// Quotes a field value when it would not read back as one token.
    static func quoted(_ value: String) -> String {
        if value.isEmpty { return "\"\"" }
        let needsQuotes = value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\x%02x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
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
