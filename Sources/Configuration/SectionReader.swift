import Foundation

/// Reads typed values out of one INI section and reports what is wrong with them.
///
/// Each `read` call consumes a key; `finish()` reports the keys nobody asked for
/// as unknown, naming the keys the section does take. Bad values are recorded
/// and the default is kept, so one pass reports every problem in the file.
struct SectionReader {
    private let section: IniFile.Section
    private var known: [String] = []
    var diagnostics: [ConfigDiagnostic] = []

    init(_ section: IniFile.Section) {
        self.section = section
        var seen: [String: ConfigLocation] = [:]
        for entry in section.entries {
            if let first = seen[entry.key] {
                diagnostics.append(.init(location: entry.location,
                                         message: "'\(entry.key)' is set twice in [\(section.name)] (first at line \(first.line))"))
            } else {
                seen[entry.key] = entry.location
            }
        }
    }

    var sectionName: String { section.name }
    var location: ConfigLocation { section.location }

    /// Reads `key` with `parse`, which returns nil for a value it cannot take;
    /// `expected` describes the values it takes, for the error message.
    mutating func read<T>(_ key: String, into value: inout T, expected: String, _ parse: (String) -> T?) {
        known.append(key)
        guard let entry = section.entries.first(where: { $0.key == key }) else { return }
        if let parsed = parse(entry.value) {
            value = parsed
        } else {
            diagnostics.append(.init(location: entry.location,
                                     message: "bad value '\(entry.value)' for '\(key)' in [\(section.name)]: expected \(expected)"))
        }
    }

    /// Reads an optional setting: when `key` is set, `parse` must take its value
    /// (nil is an error, not "unset": a plain `read` into an optional would
    /// take a nil from `parse` as a value).
    mutating func optional<T>(_ key: String, into value: inout T?, expected: String, _ parse: (String) -> T?) {
        var parsed: T?? = .some(value)
        read(key, into: &parsed, expected: expected) { text in parse(text).map { .some($0) } }
        value = parsed ?? value
    }

    /// The location of `key` in the file, when it is set.
    func location(of key: String) -> ConfigLocation? {
        section.entries.first(where: { $0.key == key })?.location
    }

    mutating func string(_ key: String, into value: inout String) {
        read(key, into: &value, expected: "a value") { $0.isEmpty ? nil : $0 }
    }

    mutating func int(_ key: String, into value: inout Int, range: ClosedRange<Int>) {
        read(key, into: &value, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)") {
            guard let n = Int($0), range.contains(n) else { return nil }
            return n
        }
    }

    mutating func bool(_ key: String, into value: inout Bool) {
        read(key, into: &value, expected: "yes or no") {
            switch $0.lowercased() {
            case "yes", "true", "on", "1": true
            case "no", "false", "off", "0": false
            default: nil
            }
        }
    }

    /// Bytes, written as `4096`, `512KB`, `16MB` or `1GB` (powers of 1,024).
    mutating func size(_ key: String, into value: inout Int64, range: ClosedRange<Int64>) {
        read(key, into: &value, expected: "a size such as 512KB, 16MB or 1GB, from \(range.lowerBound) bytes to 1TB") {
            guard let n = SectionReader.parseSize($0), range.contains(n) else { return nil }
            return n
        }
    }

    static func parseSize(_ text: String) -> Int64? {
        let t = text.uppercased().replacingOccurrences(of: " ", with: "")
        for (suffix, shift) in [("KB", 10), ("MB", 20), ("GB", 30), ("TB", 40), ("K", 10), ("M", 20), ("G", 30), ("B", 0)] where t.hasSuffix(suffix) {
            guard let n = Int64(t.dropLast(suffix.count)), n >= 0, n <= (Int64.max >> shift) else { return nil }
            return n << shift
        }
        return Int64(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Milliseconds, written as `250ms`, `2s`, `1.5s` or a bare number of milliseconds.
    mutating func duration(_ key: String, into value: inout Duration) {
        read(key, into: &value, expected: "a duration such as 250ms, 2s, 5m, 12h or 7d") { SectionReader.parseDuration($0) }
    }

    static func parseDuration(_ text: String) -> Duration? {
        let t = text.lowercased()
        if t.hasSuffix("ms"), let n = Double(t.dropLast(2)), n >= 0 { return .milliseconds(Int64(n)) }
        if t.hasSuffix("s"), let n = Double(t.dropLast()), n >= 0 { return .milliseconds(Int64(n * 1000)) }
        if t.hasSuffix("m"), let n = Double(t.dropLast()), n >= 0 { return .milliseconds(Int64(n * 60_000)) }
        if t.hasSuffix("h"), let n = Double(t.dropLast()), n >= 0 { return .milliseconds(Int64(n * 3_600_000)) }
        if t.hasSuffix("d"), let n = Double(t.dropLast()), n >= 0 { return .milliseconds(Int64(n * 86_400_000)) }
        if let n = Int64(t), n >= 0 { return .milliseconds(n) }
        return nil
    }

    /// Reports every key in the section that no `read` asked for.
    mutating func finish() -> [ConfigDiagnostic] {
        for entry in section.entries where !known.contains(entry.key) {
            diagnostics.append(.init(location: entry.location,
                                     message: "unknown setting '\(entry.key)' in [\(section.name)]; known: \(known.joined(separator: ", "))"))
        }
        return diagnostics
    }
}
