import Foundation

/// `${VAR}`, `${VAR:offset:length}`, `${FUNC(args)}` and `$[expression]`,
/// expanded innermost first, as Asterisk does. Bounded: nesting deeper than
/// 32 levels or results beyond 64 KiB stop expansion with a warning.
extension Interpreter {
    static let maxExpansion = 65_536

    func expand(_ text: String, depth: Int = 0) async -> String {
        guard text.contains("$") else { return text }
        guard depth < 32 else {
            warnings.append("variables nested too deeply")
            return ""
        }
        let chars = Array(text)
        var out = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "\\" && i + 1 < chars.count && chars[i + 1] == "$" {
                out.append("$"); i += 2; continue
            }
            if chars[i] == "$" && i + 1 < chars.count && (chars[i + 1] == "{" || chars[i + 1] == "[") {
                let open = chars[i + 1], close: Character = open == "{" ? "}" : "]"
                var level = 1, j = i + 2
                while j < chars.count && level > 0 {
                    if chars[j] == open { level += 1 } else if chars[j] == close { level -= 1 }
                    if level > 0 { j += 1 }
                }
                guard j < chars.count else {
                    warnings.append("'$\(open)' is not closed in '\(text.prefix(60))'")
                    out.append(contentsOf: chars[i...])
                    break
                }
                let inner = await expand(String(chars[(i + 2)..<j]), depth: depth + 1)
                if open == "{" {
                    out += await value(of: inner)
                } else {
                    switch Expression.evaluate(inner) {
                    case .success(let result): out += result
                    case .failure(let error): warnings.append("expression $[\(inner)]: \(error.message)")
                    }
                }
                if out.utf8.count > Interpreter.maxExpansion {
                    warnings.append("expansion longer than \(Interpreter.maxExpansion) bytes was cut")
                    return String(out.prefix(Interpreter.maxExpansion))
                }
                i = j + 1
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    /// The value of `NAME`, `NAME:offset:length` or `FUNC(args)[:offset:length]`.
    private func value(of reference: String) async -> String {
        var name = reference
        var offsets: String?
        if let paren = reference.firstIndex(of: "("), let close = matchingParen(reference, from: paren) {
            let after = reference[reference.index(after: close)...]
            if after.hasPrefix(":") { offsets = String(after.dropFirst()) }
            name = String(reference[...close])
            let function = String(reference[..<paren])
            let arguments = String(reference[reference.index(after: paren)..<close])
            let result = await call(function, arguments)
            return offsets.map { substring(result, $0) } ?? result
        }
        if let colon = reference.firstIndex(of: ":") {
            name = String(reference[..<colon])
            offsets = String(reference[reference.index(after: colon)...])
        }
        let result = variable(name) ?? ""
        return offsets.map { substring(result, $0) } ?? result
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
