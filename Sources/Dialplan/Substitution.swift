import Foundation

/// Arguments compiled once, when the plan is loaded, into literal text,
/// `${VAR}`, `${VAR:offset:length}`, `${FUNC(args)}` references and
/// `$[expression]`s, so a step only looks values up. Expansion follows
/// Asterisk: innermost first, and a value is never expanded again.
/// `\$` stands for a plain `$`.
struct Template: Sendable {
    indirect enum Piece: Sendable {
        case text(String)
        case reference(Reference)
        /// `$[…]`: the inner pieces, and the byte offset of `$[` in the arguments.
        case expression([Piece], offset: Int)
    }

    struct Reference: Sendable {
        enum Name: Sendable {
            case variable(String)
            case function(String, arguments: [Piece])
            /// A name made of substitutions (`${${X}}`), parsed once expanded.
            case dynamic([Piece])
        }
        var name: Name
        /// What follows the first `:` outside parentheses: `offset[:length]`.
        var substring: [Piece]?
        /// Byte offset of the name in the arguments, for diagnostics.
        var offset: Int
    }

    /// A `${` or `$[` with no closing bracket, at this byte offset.
    struct Unclosed: Sendable {
        var opener: String
        var offset: Int
    }

    let pieces: [Piece]
    /// Where each piece was written: byte offsets in the arguments (for a text
    /// piece, where its first byte was; `\$` makes it one byte shorter than written).
    let offsets: [Int]
    /// The whole text when it has no substitutions.
    let literal: String?
    let unclosed: [Unclosed]

    /// Deeper nesting than this is kept as text (and reported by the checker).
    static let maxDepth = 32

    init(_ text: String) {
        var unclosed: [Unclosed] = []
        var offsets: [Int] = []
        let bytes = Array(text.utf8)
        pieces = Template.compile(bytes[...], base: 0, depth: 0, unclosed: &unclosed, offsets: &offsets)
        self.offsets = offsets
        self.unclosed = unclosed
        literal = Template.literal(of: pieces)
    }

    /// A template made of some of another's pieces.
    init(pieces: [Piece], offsets: [Int]) {
        self.pieces = pieces
        self.offsets = offsets
        unclosed = []
        literal = Template.literal(of: pieces)
    }

    private static func literal(of pieces: [Piece]) -> String? {
        if pieces.isEmpty { return "" }
        if pieces.count == 1, case .text(let value) = pieces[0] { return value }
        return nil
    }

    private static func compile(_ bytes: ArraySlice<UInt8>, base: Int, depth: Int, unclosed: inout [Unclosed]) -> [Piece] {
        var offsets: [Int] = []
        return compile(bytes, base: base, depth: depth, unclosed: &unclosed, offsets: &offsets)
    }

    private static func compile(_ bytes: ArraySlice<UInt8>, base: Int, depth: Int, unclosed: inout [Unclosed],
                                offsets: inout [Int]) -> [Piece] {
        var pieces: [Piece] = []
        var text: [UInt8] = []
        var textStart = 0
        func flush() {
            if !text.isEmpty {
                pieces.append(.text(String(decoding: text, as: UTF8.self)))
                offsets.append(textStart)
            }
            text.removeAll(keepingCapacity: true)
        }
        var i = bytes.startIndex
        // Each pass consumes at least one byte.
        while i < bytes.endIndex {
            let b = bytes[i]
            if text.isEmpty { textStart = base + i - bytes.startIndex }
            if b == backslash, i + 1 < bytes.endIndex, bytes[i + 1] == dollar {
                text.append(dollar)
                i += 2
                continue
            }
            if b == dollar, i + 1 < bytes.endIndex, bytes[i + 1] == openBrace || bytes[i + 1] == openBracket, depth < maxDepth {
                let open = bytes[i + 1], close = open == openBrace ? closeBrace : closeBracket
                var level = 1
                var j = i + 2
                while j < bytes.endIndex {
                    if bytes[j] == open { level += 1 } else if bytes[j] == close { level -= 1; if level == 0 { break } }
                    j += 1
                }
                guard j < bytes.endIndex else {
                    unclosed.append(Unclosed(opener: open == openBrace ? "${" : "$[", offset: base + i - bytes.startIndex))
                    text.append(contentsOf: bytes[i...])
                    break
                }
                flush()
                let innerBase = base + (i + 2 - bytes.startIndex)
                let inner = bytes[(i + 2)..<j]
                if open == openBrace {
                    pieces.append(.reference(reference(inner, base: innerBase, depth: depth + 1, unclosed: &unclosed)))
                } else {
                    pieces.append(.expression(compile(inner, base: innerBase, depth: depth + 1, unclosed: &unclosed),
                                              offset: base + i - bytes.startIndex))
                }
                offsets.append(base + i - bytes.startIndex)
                i = j + 1
                continue
            }
            text.append(b)
            i += 1
        }
        flush()
        return pieces
    }

    /// `NAME`, `NAME:offset:length`, `FUNC(args)[:offset:length]`, or a name made of substitutions.
    private static func reference(_ inner: ArraySlice<UInt8>, base: Int, depth: Int, unclosed: inout [Unclosed]) -> Reference {
        // The name runs to the first '(' or ':'; a '$' before either makes it dynamic.
        var i = inner.startIndex
        while i < inner.endIndex, inner[i] != openParen, inner[i] != colon, inner[i] != dollar { i += 1 }
        if i < inner.endIndex, inner[i] == dollar {
            return Reference(name: .dynamic(compile(inner, base: base, depth: depth, unclosed: &unclosed)), substring: nil, offset: base)
        }
        let name = String(decoding: inner[inner.startIndex..<i], as: UTF8.self)
        guard i < inner.endIndex else { return Reference(name: .variable(name), substring: nil, offset: base) }
        if inner[i] == colon {
            let spec = compile(inner[(i + 1)...], base: base + i + 1 - inner.startIndex, depth: depth, unclosed: &unclosed)
            return Reference(name: .variable(name), substring: spec, offset: base)
        }
        // A function: its arguments run to the matching ')'.
        var level = 0
        var close = i
        while close < inner.endIndex {
            if inner[close] == openParen { level += 1 } else if inner[close] == closeParen { level -= 1; if level == 0 { break } }
            close += 1
        }
        if close == inner.endIndex { close = inner.endIndex }
        let argumentBytes = inner[(i + 1)..<min(close, inner.endIndex)]
        let arguments = compile(argumentBytes, base: base + i + 1 - inner.startIndex, depth: depth, unclosed: &unclosed)
        var substring: [Piece]?
        if close < inner.endIndex, close + 1 < inner.endIndex, inner[close + 1] == colon {
            substring = compile(inner[(close + 2)...], base: base + close + 2 - inner.startIndex, depth: depth, unclosed: &unclosed)
        }
        return Reference(name: .function(name, arguments: arguments), substring: substring, offset: base)
    }

    /// Every function named statically, with the byte offset of its name and
    /// its arguments when they are plain text (nil when they substitute).
    var functions: [(name: String, offset: Int, literalArguments: String?)] {
        var found: [(String, Int, String?)] = []
        func walk(_ pieces: [Piece]) {
            for piece in pieces {
                switch piece {
                case .text: break
                case .expression(let inner, _): walk(inner)
                case .reference(let reference):
                    switch reference.name {
                    case .variable: break
                    case .function(let name, let arguments):
                        let texts = arguments.compactMap { if case .text(let value) = $0 { value } else { nil } }
                        found.append((name, reference.offset, texts.count == arguments.count ? texts.joined() : nil))
                        walk(arguments)
                    case .dynamic(let inner): walk(inner)
                    }
                    if let substring = reference.substring { walk(substring) }
                }
            }
        }
        walk(pieces)
        return found
    }

    /// Every `$[…]` with its inner text as a checker sees it: each substitution
    /// replaced by a plain value, so only the expression's own syntax is judged.
    var expressions: [(text: String, offset: Int)] {
        var found: [(String, Int)] = []
        func placeholder(_ pieces: [Piece]) -> String {
            pieces.map { piece -> String in
                if case .text(let value) = piece { return value }
                return "0"
            }.joined()
        }
        func walk(_ pieces: [Piece]) {
            for piece in pieces {
                switch piece {
                case .text: break
                case .expression(let inner, let offset):
                    found.append((placeholder(inner), offset))
                    walk(inner)
                case .reference(let reference):
                    switch reference.name {
                    case .variable: break
                    case .function(_, let arguments): walk(arguments)
                    case .dynamic(let inner): walk(inner)
                    }
                    if let substring = reference.substring { walk(substring) }
                }
            }
        }
        walk(pieces)
        return found
    }
}

let backslash = UInt8(ascii: "\\")
let dollar = UInt8(ascii: "$")
let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
let openParen = UInt8(ascii: "("), closeParen = UInt8(ascii: ")")
let colon = UInt8(ascii: ":")
let comma = UInt8(ascii: ",")
let quote = UInt8(ascii: "\"")

extension Interpreter {
    static let maxExpansion = 65_536

    /// Expands text that was not compiled with the plan (a dynamic target, say).
    func expand(_ text: String) async -> String {
        await expand(Template(text))
    }

    /// Substitutes arguments in their shape: every part once, in the order written.
    func expand(_ shape: Shape) async -> Arguments {
        switch shape {
        case .plain(let template):
            return .text(await expand(template))
        case .branches(let condition, let yes, let no, let colon):
            let c = await expand(condition)
            let y = yes == nil ? nil : await expand(yes!)
            let n = no == nil ? nil : await expand(no!)
            return .branches(condition: c, yes: y, no: n, colon: colon)
        case .call(let name, let app, let prefix, let arguments, let suffix, _):
            return .call(name: name, app: app, prefix: prefix, arguments: await expand(arguments), suffix: suffix)
        case .computedCall(let template):
            // The value names the application; it is read as Asterisk reads it, never substituted again.
            let text = await expand(template)
            return Arguments.call(text) ?? .text(text)
        }
    }

    func expand(_ template: Template) async -> String {
        if let literal = template.literal { return literal }
        return await expand(template.pieces)
    }

    func expand(_ pieces: [Template.Piece]) async -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let text):
                out += text
            case .reference(let reference):
                out += await value(of: reference)
            case .expression(let inner, _):
                out += evaluateExpression(await expand(inner))
            }
            if out.utf8.count > Interpreter.maxExpansion {
                warnings.append("expansion longer than \(Interpreter.maxExpansion) bytes was cut")
                return String(decoding: out.utf8.prefix(Interpreter.maxExpansion), as: UTF8.self)
            }
        }
        return out
    }

    private func value(of reference: Template.Reference) async -> String {
        var result: String
        switch reference.name {
        case .variable(let name):
            result = variable(name) ?? ""
        case .function(let name, let arguments):
            if let chosen = await conditionalFunction(name, arguments) {
                result = chosen
            } else {
                result = await call(name, await expand(arguments))
            }
        case .dynamic(let pieces):
            // Asterisk expands the name first, then reads it as NAME[:offset[:length]] or FUNC(args)[:…].
            return await value(ofExpanded: await expand(pieces))
        }
        if let substring = reference.substring { result = self.substring(result, await expand(substring)) }
        return result
    }

    /// `IF(condition?yes:no)` and `IFTIME(times?yes:no)`, split where the plan wrote
    /// the `?` and `:` (a value never adds one), every part substituted; nil for other functions.
    private func conditionalFunction(_ name: String, _ arguments: [Template.Piece]) async -> String? {
        let upper = name.uppercased()
        guard upper == "IF" || upper == "IFTIME" else { return nil }
        let template = Template(pieces: arguments, offsets: Array(repeating: 0, count: arguments.count))
        // IF splits as Asterisk's argument parser does (outside quotes and parentheses), IFTIME at the first '?' and ':'.
        let nested = upper == "IF"
        guard let (condition, rest) = template.split(at: UInt8(ascii: "?"), nested: nested) else {
            _ = await expand(template)
            warnings.append("\(located)\(upper)(…) needs condition?true:false; it reads as empty")
            return ""
        }
        let (yes, no): (Template, Template?) = rest.split(at: colon, nested: nested).map { ($0.0, $0.1) } ?? (rest, nil)
        let c = await expand(condition), y = await expand(yes), n = no == nil ? "" : await expand(no!)
        if upper == "IF" {
            return Self.unquotedArgument(truthy(Self.unquotedArgument(c)) ? y : n).trimmingCharacters(in: .whitespaces)
        }
        switch TimeSpec.parse(Self.unquoted(c)) {
        case .success(let time): return Self.unquoted(time.matches(start.now(), zone: start.timeZone) ? y : n)
        case .failure(let error):
            warnings.append("\(located)IFTIME: \(error.message)")
            return ""
        }
    }

    /// The value of an expanded reference: `NAME`, `NAME:offset:length` or `FUNC(args)[:offset:length]`.
    private func value(ofExpanded reference: String) async -> String {
        if let paren = reference.firstIndex(of: "("), let close = matchingParen(reference, from: paren) {
            let after = reference[reference.index(after: close)...]
            let function = String(reference[..<paren])
            let arguments = String(reference[reference.index(after: paren)..<close])
            let result = await call(function, arguments)
            return after.hasPrefix(":") ? substring(result, String(after.dropFirst())) : result
        }
        if let colon = reference.firstIndex(of: ":") {
            return substring(variable(String(reference[..<colon])) ?? "", String(reference[reference.index(after: colon)...]))
        }
        return variable(reference) ?? ""
    }

    private func matchingParen(_ text: String, from open: String.Index) -> String.Index? {
        var level = 0
        var index = open
        while index < text.endIndex {
            if text[index] == "(" { level += 1 } else if text[index] == ")" { level -= 1; if level == 0 { return index } }
            index = text.index(after: index)
        }
        return nil
    }

    /// `offset[:length]`, as Asterisk's substring(): a negative offset counts from
    /// the end; a negative length leaves that many characters off the end.
    func substring(_ value: String, _ spec: String) -> String {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        let chars = Array(value)
        var offset = parts.first.flatMap { $0 } ?? 0
        if offset < 0 { offset = max(0, chars.count + offset) }
        offset = min(offset, chars.count)
        var end = chars.count
        if parts.count > 1, let length = parts[1] {
            end = length < 0 ? max(offset, chars.count + length) : min(chars.count, offset + length)
        }
        return String(chars[offset..<max(offset, end)])
    }
}
