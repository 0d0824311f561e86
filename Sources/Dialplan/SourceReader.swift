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

let semicolon = UInt8(ascii: ";")
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
    ///
    /// Comments as Asterisk's config reader has them: `;` to the end of the line
    /// (`\\;` is a plain semicolon), and `;--` … `--;` blocks, which nest and may
    /// span lines. `;---` (three dashes or more) is an ordinary comment, so
    /// banner lines of dashes stay harmless.
    mutating func read(text: String, file: String, stack: [String] = []) {
        let bytes = Array(text.utf8)
        var blockStarts: [SourceLocation] = []
        var number = 0
        var lineStart = 0
        var content: [UInt8] = []
        // Each line is read once; within it each pass consumes at least one byte.
        while lineStart <= bytes.count {
            number += 1
            var lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let next = lineEnd + 1
            if lineEnd > lineStart, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            content.removeAll(keepingCapacity: true)
            var i = lineStart
            while i < lineEnd {
                let b = bytes[i]
                func at(_ offset: Int) -> UInt8 { i + offset < lineEnd ? bytes[i + offset] : 0 }
                if !blockStarts.isEmpty {
                    if b == UInt8(ascii: "-"), at(1) == UInt8(ascii: "-"), at(2) == semicolon {
                        blockStarts.removeLast()
                        i += 3
                    } else if b == semicolon, at(1) == UInt8(ascii: "-"), at(2) == UInt8(ascii: "-"), at(3) != UInt8(ascii: "-") {
                        blockStarts.append(SourceLocation(file: file, line: number, column: i - lineStart + 1))
                        i += 3
                    } else {
                        i += 1
                    }
                    continue
                }
                if b == backslash, at(1) == semicolon {
                    content.append(semicolon)
                    i += 2
                } else if b == semicolon {
                    guard at(1) == UInt8(ascii: "-"), at(2) == UInt8(ascii: "-"), at(3) != UInt8(ascii: "-") else { break }
                    blockStarts.append(SourceLocation(file: file, line: number, column: i - lineStart + 1))
                    i += 3
                } else {
                    content.append(b)
                    i += 1
                }
            }
            var first = 0
            while first < content.count, content[first] == UInt8(ascii: " ") || content[first] == UInt8(ascii: "\t") { first += 1 }
            var last = content.count
            while last > first, content[last - 1] == UInt8(ascii: " ") || content[last - 1] == UInt8(ascii: "\t") { last -= 1 }
            if first < last {
                let text = String(decoding: content[first..<last], as: UTF8.self)
                let location = SourceLocation(file: file, line: number, column: first + 1)
                if content[first] == UInt8(ascii: "#") {
                    directive(text, at: location, file: file, stack: stack)
                } else {
                    lines.append(SourceLine(text: text, location: location, column: first + 1))
                }
            }
            lineStart = next
        }
        if let open = blockStarts.first {
            diagnostics.append(Diagnostic(.error, open, "block comment ';--' is never closed with '--;'"))
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
