import Foundation

/// An error in a `$[ … ]` expression.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Asterisk's `$[ … ]` expressions, evaluated after variables are substituted.
///
/// Lowest to highest precedence: `a ? b :: c`; `|`; `&`; `= == != < > <= >=`;
/// `+ -`; `* / %`; unary `- !`; regex `:` (anchored) and `=~`. Values are
/// strings; arithmetic and comparison are numeric when both sides are numbers.
/// `|` gives the left side when it is neither empty nor 0, else the right; `&`
/// gives the left side when both are neither empty nor 0, else 0.
public enum Expression {
    public static func evaluate(_ text: String) -> Result<String, ExpressionError> {
        do {
            var parser = ExpressionParser(tokens: try tokenize(text))
            let value = try parser.ternary()
            guard parser.atEnd else { throw ExpressionError(message: "unexpected '\(parser.peek!.text)' in expression") }
            return .success(value)
        } catch let error as ExpressionError {
            return .failure(error)
        } catch {
            return .failure(ExpressionError(message: "\(error)"))
        }
    }

    struct Token: Equatable {
        enum Kind { case value, op }
        let kind: Kind
        let text: String
    }

    /// Operators, longest first where one starts another.
    static let operators: [[UInt8]] = ["::", "=~", "==", "!=", "<=", ">=", "|", "&", "=", "<", ">", "+", "-", "*", "/", "%", "!",
                                       ":", "?", "(", ")"].map { Array($0.utf8) }
    /// Bytes that end a bare word.
    static let wordEnd: Set<UInt8> = Set(" \t\r\n\"|&=!<>+-*/%:?()".utf8)

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let bytes = Array(text.utf8)
        var i = 0
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), minus = UInt8(ascii: "-")
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1; continue }
            if c == quote {
                var value: [UInt8] = []
                i += 1
                var closed = false
                while i < bytes.count {
                    if bytes[i] == backslash && i + 1 < bytes.count { value.append(bytes[i + 1]); i += 2; continue }
                    if bytes[i] == quote { closed = true; i += 1; break }
                    value.append(bytes[i]); i += 1
                }
                guard closed else { throw ExpressionError(message: "a quoted string in an expression is not closed") }
                tokens.append(Token(kind: .value, text: String(decoding: value, as: UTF8.self)))
                continue
            }
            if wordEnd.contains(c), let op = operators.first(where: { op in
                i + op.count <= bytes.count && (op.count == 1 ? bytes[i] == op[0] : bytes[i] == op[0] && bytes[i + 1] == op[1])
            }) {
                tokens.append(Token(kind: .op, text: String(decoding: op, as: UTF8.self)))
                i += op.count
                continue
            }
            let start = i
            while i < bytes.count {
                let d = bytes[i]
                if wordEnd.contains(d) {
                    // A '-' inside a word that is not a number (fn-BUSY) stays in the word.
                    if d == minus && i > start && i + 1 < bytes.count && bytes[i + 1] != 0x20 && bytes[i + 1] != 0x09
                        && Double(String(decoding: bytes[start..<i], as: UTF8.self)) == nil {
                        i += 1
                        continue
                    }
                    break
                }
                i += 1
            }
            tokens.append(Token(kind: .value, text: String(decoding: bytes[start..<i], as: UTF8.self)))
        }
        return tokens
    }
}

struct ExpressionParser {
    let tokens: [Expression.Token]
    var position = 0
    var depth = 0

    var atEnd: Bool { position >= tokens.count }
    var peek: Expression.Token? { position < tokens.count ? tokens[position] : nil }

    mutating func take(_ op: String) -> Bool {
        if let token = peek, token.kind == .op, token.text == op { position += 1; return true }
        return false
    }

    mutating func ternary() throws -> String {
        let condition = try or()
        if take("?") {
            let yes = try ternary()
            guard take("::") else { throw ExpressionError(message: "'?' needs '::' in a conditional expression") }
            let no = try ternary()
            return truthy(condition) ? yes : no
        }
        return condition
    }

    mutating func or() throws -> String {
        var left = try and()
        while take("|") {
            let right = try and()
            left = truthy(left) ? left : right
        }
        return left
    }

    mutating func and() throws -> String {
        var left = try comparison()
        while take("&") {
            let right = try comparison()
            left = truthy(left) && truthy(right) ? left : "0"
        }
        return left
    }

    mutating func comparison() throws -> String {
        var left = try additive()
        while let token = peek, token.kind == .op, ["=", "==", "!=", "<", ">", "<=", ">="].contains(token.text) {
            position += 1
            let right = try additive()
            let order: ComparisonResult
            if let a = Double(left), let b = Double(right) {
                order = a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
            } else {
                order = left < right ? .orderedAscending : left > right ? .orderedDescending : .orderedSame
            }
            let result: Bool
            switch token.text {
            case "=", "==": result = order == .orderedSame
            case "!=": result = order != .orderedSame
            case "<": result = order == .orderedAscending
            case ">": result = order == .orderedDescending
            case "<=": result = order != .orderedDescending
            default: result = order != .orderedAscending
            }
            left = result ? "1" : "0"
        }
        return left
    }

    mutating func additive() throws -> String {
        var left = try multiplicative()
        while let token = peek, token.kind == .op, token.text == "+" || token.text == "-" {
            position += 1
            let right = try multiplicative()
            let (a, b) = try numbers(left, right, token.text)
            left = format(token.text == "+" ? a + b : a - b)
        }
        return left
    }

    mutating func multiplicative() throws -> String {
        var left = try unary()
        while let token = peek, token.kind == .op, ["*", "/", "%"].contains(token.text) {
            position += 1
            let right = try unary()
            let (a, b) = try numbers(left, right, token.text)
            switch token.text {
            case "*": left = format(a * b)
            case "/":
                guard b != 0 else { throw ExpressionError(message: "division by zero") }
                // Integer division when both are whole numbers, as Asterisk does.
                left = a == a.rounded() && b == b.rounded() ? format((a / b).rounded(.towardZero)) : format(a / b)
            default:
                guard b != 0 else { throw ExpressionError(message: "division by zero") }
                left = format(a.truncatingRemainder(dividingBy: b))
            }
        }
        return left
    }

    mutating func unary() throws -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw ExpressionError(message: "expression nested too deeply") }
        if take("-") {
            let value = try unary()
            guard let n = Double(value) else { throw ExpressionError(message: "'-' needs a number; got '\(value)'") }
            return format(-n)
        }
        if take("!") { return truthy(try unary()) ? "0" : "1" }
        return try regex()
    }

    mutating func regex() throws -> String {
        var left = try primary()
        while let token = peek, token.kind == .op, token.text == ":" || token.text == "=~" {
            position += 1
            let pattern = try primary()
            left = try match(left, pattern, anchored: token.text == ":")
        }
        return left
    }

    mutating func primary() throws -> String {
        guard let token = peek else { throw ExpressionError(message: "the expression ends where a value was expected") }
        if token.kind == .op && token.text == "(" {
            position += 1
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { throw ExpressionError(message: "expression nested too deeply") }
            let value = try ternary()
            guard take(")") else { throw ExpressionError(message: "'(' is not closed in the expression") }
            return value
        }
        guard token.kind == .value else { throw ExpressionError(message: "unexpected '\(token.text)' in expression") }
        position += 1
        return token.text
    }

    private func numbers(_ a: String, _ b: String, _ op: String) throws -> (Double, Double) {
        guard let x = Double(a.isEmpty ? "0" : a), let y = Double(b.isEmpty ? "0" : b), x.isFinite, y.isFinite else {
            throw ExpressionError(message: "'\(op)' needs numbers; got '\(a)' and '\(b)'")
        }
        return (x, y)
    }

    private func match(_ string: String, _ pattern: String, anchored: Bool) throws -> String {
        guard let regex = try? NSRegularExpression(pattern: anchored ? "^(?:" + pattern + ")" : pattern) else {
            throw ExpressionError(message: "bad regular expression '\(pattern)'")
        }
        let range = NSRange(string.startIndex..., in: string)
        guard let result = regex.firstMatch(in: string, range: range) else { return regex.numberOfCaptureGroups > 0 ? "" : "0" }
        if regex.numberOfCaptureGroups > 0, let group = Range(result.range(at: 1), in: string) { return String(string[group]) }
        return String(result.range.length)
    }
}

/// Asterisk's truth: empty and 0 are false, anything else true.
func truthy(_ value: String) -> Bool {
    let trimmed = value.trimmingCharacters(in: .whitespaces)
    if trimmed.isEmpty { return false }
    if let n = Double(trimmed) { return n != 0 }
    return true
}

/// Numbers print without a fractional part when they are whole.
func format(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    var text = String(format: "%.6f", value)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}
