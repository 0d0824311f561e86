// Configuration: reads `omnigate.conf`, the INI file telephony admins know from
// Asterisk (`[section]`, `key = value`, `;` comments), into typed settings.
//
// Rules: every problem is reported with `file:line` and a message an admin
// understands, and all problems in a file are reported at once, not just the
// first. Unknown sections and keys are errors (a typo must never be silently
// ignored), and so are duplicates. This module does no I/O besides reading the
// one file it is given, and knows nothing of SIP or the store.

import Foundation

/// Where something came from in a configuration file.
public struct ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// One problem in a configuration file.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var location: ConfigLocation
    public var message: String

    public var description: String { "\(location): error: \(message)" }
}

/// Everything wrong with a configuration file, in line order.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// An INI file split into sections and `key = value` entries, nothing more.
struct IniFile {
    struct Entry {
        var key: String
        var value: String
        var location: ConfigLocation
    }

    struct Section {
        var name: String
        var location: ConfigLocation
        var entries: [Entry] = []
    }

    var sections: [Section] = []

    /// Splits `text` into sections; syntax problems go into `diagnostics`.
    init(text: String, file: String, diagnostics: inout [ConfigDiagnostic]) {
        var current: Section?
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let location = ConfigLocation(file: file, line: lineNumber)
            let line = IniFile.stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    diagnostics.append(.init(location: location, message: "a section header looks like [name]; got '\(line)'"))
                    continue
                }
                if let section = current { sections.append(section) }
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                current = Section(name: name, location: location)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                diagnostics.append(.init(location: location, message: "expected 'key = value'; got '\(line)'"))
                continue
            }
            var key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: equals)...])
            if value.hasPrefix(">") { value.removeFirst() }  // Asterisk also accepts `key => value`
            value = value.trimmingCharacters(in: .whitespaces)
            key = key.lowercased()
            guard !key.isEmpty else {
                diagnostics.append(.init(location: location, message: "a setting needs a name before '='"))
                continue
            }
            guard current != nil else {
                diagnostics.append(.init(location: location, message: "'\(key)' is outside any section; put it under a [section] header"))
                continue
            }
            current!.entries.append(Entry(key: key, value: value, location: location))
        }
        if let section = current { sections.append(section) }
    }

    /// Removes a `;` comment; `\;` stands for a literal semicolon.
    static func stripComment(_ line: String) -> String {
        guard line.contains(";") else { return line }
        var out = ""
        var escaped = false
        for character in line {
            if escaped {
                if character != ";" { out.append("\\") }
                out.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ";" {
                break
            } else {
                out.append(character)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}
