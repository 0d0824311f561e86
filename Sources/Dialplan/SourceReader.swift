import Foundation

/// One meaningful line of a dialplan file after comments are removed.
struct SourceLine {
    var text: String
    var location: SourceLocation
    /// Column in the original line where `text` starts (leading blanks skipped).
    var column: Int
}

/// Reads dialplan files into lines: removes `;` comments (keeping `\;` as a
/// semicolon) and `;-- … --;` block comments, follows `#include` and
/// `#tryinclude` relative to the including file, and refuses include cycles.
struct SourceReader {
    private(set) var lines: [SourceLine] = []
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var files: [String] = []
    private var seen: Set<String> = []
    private let readFile: (String) -> String?

    init(readFile: @escaping (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) {
        self.readFile = readFile
    }

    /// Reads `path` (and what it includes) as the given display name.
    mutating func read(path: String, includedFrom: SourceLocation? = nil, optional: Bool = false, stack: [String] = []) {
        let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
        if stack.contains(canonical) {
            let chain = (stack + [canonical]).map { ($0 as NSString).lastPathComponent }.joined(separator: " -> ")
            diagnostics.append(Diagnostic(.error, includedFrom ?? SourceLocation(file: path, line: 1), "#include cycle: \(chain)"))
            return
        }
        // A file already read (included elsewhere, or listed twice) is not read again.
        guard seen.insert(canonical).inserted else { return }
        guard let text = readFile(path) else {
            if !optional {
                let message = includedFrom == nil ? "cannot read dialplan file \(path)" : "cannot read included file \(path)"
                diagnostics.append(Diagnostic(.error, includedFrom ?? SourceLocation(file: path, line: 0), message))
            }
            return
        }
        files.append(path)
        read(text: text, file: path, stack: stack + [canonical])
    }

    /// Reads dialplan text; `file` names it in locations and anchors relative includes.
    mutating func read(text: String, file: String, stack: [String] = []) {
        var inBlockComment = false
        var blockStart = SourceLocation(file: file, line: 1)
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            // Most lines have no comment and no escape: only trim them.
            if !inBlockComment && !line.utf8.contains(UInt8(ascii: ";")) && !line.utf8.contains(UInt8(ascii: "\\")) {
                let leading = line.utf8.prefix { $0 == 0x20 || $0 == 0x09 }.count
                let content = line.trimmingCharacters(in: .whitespaces)
                guard !content.isEmpty else { continue }
                let location = SourceLocation(file: file, line: number, column: leading + 1)
                if content.hasPrefix("#") {
                    directive(content, at: location, file: file, stack: stack)
                } else {
                    lines.append(SourceLine(text: content, location: location, column: leading + 1))
                }
                continue
            }
            var stripped = ""
            var escaped = false
            var index = line.startIndex
            // Each step consumes at least one character.
            while index < line.endIndex {
                let rest = line[index...]
                if inBlockComment {
                    if rest.hasPrefix("--;") {
                        inBlockComment = false
                        index = line.index(index, offsetBy: 3)
                    } else {
                        index = line.index(after: index)
                    }
                    continue
                }
                let character = line[index]
                if escaped {
                    if character != ";" { stripped.append("\\") }
                    stripped.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if rest.hasPrefix(";--") {
                    inBlockComment = true
                    blockStart = SourceLocation(file: file, line: number, column: line.distance(from: line.startIndex, to: index) + 1)
                    index = line.index(index, offsetBy: 3)
                    continue
                } else if character == ";" {
                    break
                } else {
                    stripped.append(character)
                }
                index = line.index(after: index)
            }
            if escaped { stripped.append("\\") }
            let leading = stripped.prefix { $0 == " " || $0 == "\t" }.count
            let content = stripped.trimmingCharacters(in: .whitespaces)
            guard !content.isEmpty else { continue }
            let location = SourceLocation(file: file, line: number, column: leading + 1)
            if content.hasPrefix("#") {
                directive(content, at: location, file: file, stack: stack)
                continue
            }
            lines.append(SourceLine(text: content, location: location, column: leading + 1))
        }
        if inBlockComment {
            diagnostics.append(Diagnostic(.error, blockStart, "block comment ';--' is never closed with '--;'"))
        }
    }

    private mutating func directive(_ text: String, at location: SourceLocation, file: String, stack: [String]) {
        let word = text.prefix { !$0.isWhitespace }
        let argument = text.dropFirst(word.count).trimmingCharacters(in: .whitespaces)
        switch word {
        case "#include", "#tryinclude":
            var name = argument
            if name.count >= 2, (name.hasPrefix("\"") && name.hasSuffix("\"")) || (name.hasPrefix("<") && name.hasSuffix(">")) {
                name = String(name.dropFirst().dropLast())
            }
            guard !name.isEmpty else {
                diagnostics.append(Diagnostic(.error, location, "\(word) needs a file name"))
                return
            }
            let path = name.hasPrefix("/") ? name : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
            read(path: path, includedFrom: location, optional: word == "#tryinclude", stack: stack)
        case "#exec":
            diagnostics.append(Diagnostic(.warning, location, "#exec is not supported and is ignored"))
        default:
            diagnostics.append(Diagnostic(.error, location, "unknown directive '\(word)'; expected #include or #tryinclude"))
        }
    }
}
