import Foundation

/// `${VAR}`, `${VAR:offset:length}`, `${FUNC(args)}` and `$[expression]`,
/// expanded innermost first, as Asterisk does. Bounded: nesting deeper than
/// 32 levels or results beyond 64 KiB stop expansion with a warning.
extension Interpreter {
    static let maxExpansion = 65_536

    func expand(_ text: String, depth: Int = 0) async -> String {
        guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
        guard depth < 32 else {
            warnings.append("variables nested too deeply")
            return ""
        }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var i = 0
        let dollar = UInt8(ascii: "$"), backslash = UInt8(ascii: "\\")
        let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
        let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
        while i < bytes.count {
            let b = bytes[i]
            if b == backslash && i + 1 < bytes.count && bytes[i + 1] == dollar {
                out.append(dollar); i += 2; continue
            }
            if b == dollar && i + 1 < bytes.count && (bytes[i + 1] == openBrace || bytes[i + 1] == openBracket) {
                let open = bytes[i + 1], close = open == openBrace ? closeBrace : closeBracket
                var level = 1, j = i + 2
                while j < bytes.count {
                    if bytes[j] == open { level += 1 } else if bytes[j] == close { level -= 1; if level == 0 { break } }
                    j += 1
                }
                guard j < bytes.count else {
                    warnings.append("'$\(Character(UnicodeScalar(open)))' is not closed in '\(text.prefix(60))'")
                    out.append(contentsOf: bytes[i...])
                    break
                }
                let inner = await expand(String(decoding: bytes[(i + 2)..<j], as: UTF8.self), depth: depth + 1)
                if open == openBrace {
                    out.append(contentsOf: (await value(of: inner)).utf8)
                } else {
                    switch Expression.evaluate(inner) {
                    case .success(let result): out.append(contentsOf: result.utf8)
                    case .failure(let error): warnings.append("expression $[\(inner)]: \(error.message)")
                    }
                }
                if out.count > Interpreter.maxExpansion {
                    warnings.append("expansion longer than \(Interpreter.maxExpansion) bytes was cut")
                    return String(String(decoding: out, as: UTF8.self).prefix(Interpreter.maxExpansion))
                }
                i = j + 1
                continue
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of `NAME`, `NAME:offset:length` or `FUNC(args)[:offset:length]`.
    private func value(of reference: String) async -> String {
        let utf8 = reference.utf8
        if let paren = utf8.firstIndex(of: UInt8(ascii: "(")), let close = matchingParen(reference, from: paren) {
            let after = reference[reference.index(after: close)...]
            let offsets: String? = after.hasPrefix(":") ? String(after.dropFirst()) : nil
            let function = String(reference[..<paren])
            let arguments = String(reference[reference.index(after: paren)..<close])
            let result = await call(function, arguments)
            return offsets.map { substring(result, $0) } ?? result
        }
        if let colon = utf8.firstIndex(of: UInt8(ascii: ":")) {
            let result = variable(String(reference[..<colon])) ?? ""
            return substring(result, String(reference[reference.index(after: colon)...]))
        }
        return variable(reference) ?? ""
    }

    private func matchingParen(_ text: String, from open: String.Index) -> String.Index? {
        var level = 0
        var index = open
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let b = utf8[index]
            if b == UInt8(ascii: "(") { level += 1 } else if b == UInt8(ascii: ")") { level -= 1; if level == 0 { return index } }
            index = utf8.index(after: index)
        }
        return nil
    }

    /// `offset[:length]`: a negative offset counts from the end; a negative length stops that far from the end.
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
