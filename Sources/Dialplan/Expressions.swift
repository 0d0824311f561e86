import Foundation

/// A syntax error in a `$[ … ]` expression.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Asterisk's `$[ … ]` expressions (main/ast_expr2.y and ast_expr2.fl),
/// evaluated after variables are substituted.
///
/// Lowest to highest precedence, all left-associative but the unary ones:
/// `a ? b :: c`; `|` (also `||`); `&` (also `&&`); `= == != < > <= >=`;
/// `+ -`; `* / %`; unary `!` and `-`; `:` (regex anchored at the start),
/// `=~` (regex anywhere) and `~~` (concatenation). `FUNC(a,b)` calls the
/// math functions Asterisk has (ABS, CEIL, FLOOR, ROUND, TRUNC, SQRT, POW,
/// LOG, EXP, …) or a dialplan function.
///
/// Values keep Asterisk's types: a token of digits (`12`, `1.5`) is a number,
/// anything else a string, and a quoted token is a string *with its quotes*,
/// so `"10" < "9"` compares text and `"${X}" = vip` is never true; quote both
/// sides. Arithmetic is floating point (`7 / 2` is 3.5). Asterisk's answers to
/// odd input are kept too: a non-numeric operand makes `+` give the other
/// side, division by zero gives 2147483647, and `!abc` is 1. These are
/// warnings, not errors; only syntax errors fail, and a step then gets `0`,
/// as in Asterisk.
public enum Expression {
    /// Evaluates `text`, or explains its syntax error.
    public static func evaluate(_ text: String) -> Result<String, ExpressionError> {
        var warnings: [String] = []
        let context = EvaluationContext(function: { _, _ in nil }, regexes: RegexCache())
        return evaluate(text, context: context, warnings: &warnings)
    }

    static func evaluate(_ text: String, context: EvaluationContext, warnings: inout [String]) -> Result<String, ExpressionError> {
        do {
            var parser = ExpressionParser(tokens: try tokenize(Array(text.utf8)), context: context)
            guard !parser.tokens.isEmpty else { return .success("") }
            let value = try parser.expression()
            if let token = parser.peek { throw ExpressionError(message: "unexpected '\(token.text)' in expression") }
            warnings += parser.warnings
            return .success(value.text)
        } catch let error as ExpressionError {
            return .failure(error)
        } catch {
            return .failure(ExpressionError(message: "\(error)"))
        }
    }

    /// Evaluates `text` at run time, reading a syntax error as Asterisk's parser does
    /// (checked against Asterisk 22): an expression followed by something that cannot
    /// continue it gives that expression's value (`$[1 2]` is 1, `$[x y]` is x); one
    /// that stops where a value or a closing `)` or `::` is still needed gives 0
    /// (`$[1 + ]`, `$[(1]`, `$[2 ? 3]`); one wrong from its first token gives nothing
    /// (`$[ = 1]`, `$[, 1]`). A `"` that is never closed is skipped, as Asterisk's
    /// scanner skips it. The error comes back too, for the run's warnings.
    static func evaluateAtRunTime(_ text: String, context: EvaluationContext, warnings: inout [String]) -> (value: String, error: ExpressionError?) {
        do {
            var parser = ExpressionParser(tokens: try tokenize(Array(text.utf8), lenient: true), context: context)
            guard !parser.tokens.isEmpty else { return ("", nil) }
            let value: Value
            do {
                value = try parser.expression()
            } catch let error as ExpressionError {
                warnings += parser.warnings
                return (parser.furthest == 0 ? "" : "0", error)
            }
            warnings += parser.warnings
            if let token = parser.peek { return (value.text, ExpressionError(message: "unexpected '\(token.text)' in expression")) }
            return (value.text, nil)
        } catch let error as ExpressionError {
            return ("0", error)
        } catch {
            return ("0", ExpressionError(message: "\(error)"))
        }
    }

    /// The syntax error in `text`, if any (nothing is evaluated).
    static func syntaxError(_ text: String) -> ExpressionError? {
        if case .failure(let error) = evaluate(text) { return error }
        return nil
    }

    enum Operator: String {
        case or = "|", and = "&", equal = "=", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=",
             greaterOrEqual = ">=", plus = "+", minus = "-", times = "*", divide = "/", remainder = "%",
             not = "!", colon = ":", match = "=~", concatenate = "~~", condition = "?", otherwise = "::",
             open = "(", close = ")", comma = ","
    }

    struct Token {
        enum Kind { case value(Value), op(Operator) }
        let kind: Kind
        let text: String
    }

    /// Splits an expression as Asterisk's scanner does: operators, quoted strings
    /// (quotes kept), numbers, and runs of other characters; blanks separate;
    /// characters nothing accepts are skipped.
    static func tokenize(_ bytes: [UInt8], lenient: Bool = false) throws -> [Token] {
        var tokens: [Token] = []
        var i = 0
        func op(_ o: Operator, _ length: Int) { tokens.append(Token(kind: .op(o), text: o.rawValue)); i += length }
        // Each pass consumes at least one byte.
        while i < bytes.count {
            let c = bytes[i]
            let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): i += 1
            case UInt8(ascii: "|"): op(.or, next == UInt8(ascii: "|") ? 2 : 1)
            case UInt8(ascii: "&"): op(.and, next == UInt8(ascii: "&") ? 2 : 1)
            case UInt8(ascii: "="):
                if next == UInt8(ascii: "~") { op(.match, 2) } else { op(.equal, next == UInt8(ascii: "=") ? 2 : 1) }
            case UInt8(ascii: "~"):
                if next == UInt8(ascii: "~") { op(.concatenate, 2) } else { i += 1 }
            case UInt8(ascii: ">"): if next == UInt8(ascii: "=") { op(.greaterOrEqual, 2) } else { op(.greater, 1) }
            case UInt8(ascii: "<"): if next == UInt8(ascii: "=") { op(.lessOrEqual, 2) } else { op(.less, 1) }
            case UInt8(ascii: "!"): if next == UInt8(ascii: "=") { op(.notEqual, 2) } else { op(.not, 1) }
            case UInt8(ascii: "+"): op(.plus, 1)
            case UInt8(ascii: "-"): op(.minus, 1)
            case UInt8(ascii: "*"): op(.times, 1)
            case UInt8(ascii: "/"): op(.divide, 1)
            case UInt8(ascii: "%"): op(.remainder, 1)
            case UInt8(ascii: "?"): op(.condition, 1)
            case UInt8(ascii: ":"): if next == UInt8(ascii: ":") { op(.otherwise, 2) } else { op(.colon, 1) }
            case UInt8(ascii: "("): op(.open, 1)
            case UInt8(ascii: ")"): op(.close, 1)
            case UInt8(ascii: ","): op(.comma, 1)
            case quote:
                guard let end = bytes[(i + 1)...].firstIndex(of: quote) else {
                    guard lenient else { throw ExpressionError(message: "a quoted string in an expression is not closed") }
                    i += 1  // skipped, as Asterisk's scanner skips a quote it cannot pair
                    continue
                }
                let text = String(decoding: bytes[i...end], as: UTF8.self)
                tokens.append(Token(kind: .value(.string(text)), text: text))
                i = end + 1
            default:
                let start = i
                // A run of word characters, `${…}` blocks and what trails them.
                while i < bytes.count {
                    let b = bytes[i]
                    if b == dollar, i + 1 < bytes.count, bytes[i + 1] == openBrace {
                        var level = 0
                        while i < bytes.count {
                            if bytes[i] == openBrace { level += 1 } else if bytes[i] == closeBrace { level -= 1; if level == 0 { i += 1; break } }
                            i += 1
                        }
                        while i < bytes.count, !isTrailStop(bytes[i]) { i += 1 }
                    } else if isWord(b) || (b == dollar && i + 1 < bytes.count) {
                        i += 1
                    } else {
                        break
                    }
                }
                if i == start {
                    i += 1  // a character no token takes: skipped, as Asterisk's scanner does
                    continue
                }
                let text = String(decoding: bytes[start..<i], as: UTF8.self)
                tokens.append(Token(kind: .value(isNumber(bytes[start..<i]) ? .numeric(text) : .string(text)), text: text))
            }
        }
        return tokens
    }

    /// `[a-zA-Z0-9.';\\_^#@]` and bytes from 0x80.
    private static func isWord(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        case UInt8(ascii: "."), UInt8(ascii: "'"), UInt8(ascii: ";"), backslash, UInt8(ascii: "_"), UInt8(ascii: "^"),
             UInt8(ascii: "#"), UInt8(ascii: "@"): return true
        default: return b >= 0x80
        }
    }

    private static func isTrailStop(_ b: UInt8) -> Bool {
        " \t\r\n-$():?%/+=*<>!|&".utf8.contains(b)
    }

    /// `[0-9]+(\.[0-9]+)?`
    private static func isNumber(_ bytes: ArraySlice<UInt8>) -> Bool {
        var seenDot = false, digitsAfterDot = 0, digitsBefore = 0
        for b in bytes {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if seenDot { digitsAfterDot += 1 } else { digitsBefore += 1 }
            } else if b == UInt8(ascii: "."), !seenDot {
                seenDot = true
            } else {
                return false
            }
        }
        return digitsBefore > 0 && (!seenDot || digitsAfterDot > 0)
    }
}

/// A value in an expression: a computed number, a numeric token or result, or a string.
enum Value {
    case number(Double)
    case numeric(String)
    case string(String)

    /// `make_str`: digits and dots (starting with a digit or a dot) read as a number.
    static func from(_ text: String) -> Value {
        guard let first = text.utf8.first, first == UInt8(ascii: ".") || (first >= 48 && first <= 57) else { return .string(text) }
        return text.utf8.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) } ? .numeric(text) : .string(text)
    }

    var text: String {
        switch self {
        case .number(let n): return formatNumber(n)
        case .numeric(let s), .string(let s): return s
        }
    }

    var isString: Bool { if case .string = self { return true } else { return false } }

    /// The number, for a computed or numeric value (`to_number`).
    var number: Double? {
        switch self {
        case .number(let n): return n
        case .numeric(let s): return leadingNumber(s)
        case .string: return nil
        }
    }

    /// Asterisk's `is_zero_or_null`.
    var isZeroOrEmpty: Bool {
        switch self {
        case .number(let n): return n == 0
        case .numeric(let s), .string(let s): return s.isEmpty || number == 0
        }
    }

    /// The text with its quotes removed when it is quoted (`strip_quotes`).
    var unquoted: String {
        let s = text
        guard s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") else { return s }
        return s.replacingOccurrences(of: "\"", with: "")
    }
}

/// What an evaluation may call out to: dialplan functions, and a cache of compiled regular expressions.
struct EvaluationContext {
    let function: (String, String) -> String?
    let regexes: RegexCache
}

/// Compiled regular expressions by pattern, for one call.
final class RegexCache {
    private var compiled: [String: NSRegularExpression?] = [:]

    func regex(_ pattern: String) -> NSRegularExpression? {
        if let known = compiled[pattern] { return known }
        let regex = try? NSRegularExpression(pattern: pattern)
        if compiled.count < 256 { compiled[pattern] = regex }
        return regex
    }
}

struct ExpressionParser {
    let tokens: [Expression.Token]
    let context: EvaluationContext
    var position = 0
    var depth = 0
    var warnings: [String] = []

    init(tokens: [Expression.Token], context: EvaluationContext) {
        self.tokens = tokens
        self.context = context
    }

    var peek: Expression.Token? { position < tokens.count ? tokens[position] : nil }
    /// How many tokens were consumed before an error (0: the first token was already wrong).
    var furthest: Int { position }

    private mutating func take(_ o: Expression.Operator) -> Bool {
        if let token = peek, case .op(let found) = token.kind, found == o { position += 1; return true }
        return false
    }

    private var peekOperator: Expression.Operator? {
        if let token = peek, case .op(let o) = token.kind { return o }
        return nil
    }

    private mutating func nest() throws {
        depth += 1
        guard depth < 200 else { throw ExpressionError(message: "expression nested too deeply") }
    }

    /// `a ? b :: c`, left-associative, the lowest precedence.
    mutating func expression() throws -> Value {
        try nest()
        defer { depth -= 1 }
        var value = try or()
        while take(.condition) {
            let yes = try expression()
            guard take(.otherwise) else { throw ExpressionError(message: "'?' needs '::' in a conditional expression") }
            let no = try or()
            value = condition(value) ? yes : no
        }
        return value
    }

    private func condition(_ value: Value) -> Bool {
        if value.isString {
            let s = value.text
            return !s.isEmpty && s != "\"\"" && s != "0"
        }
        return (value.number ?? 0) != 0
    }

    private mutating func or() throws -> Value {
        var left = try and()
        while take(.or) {
            let right = try and()
            left = left.isZeroOrEmpty ? right : left
        }
        return left
    }

    private mutating func and() throws -> Value {
        var left = try comparison()
        while take(.and) {
            let right = try comparison()
            left = left.isZeroOrEmpty || right.isZeroOrEmpty ? .number(0) : left
        }
        return left
    }

    private mutating func comparison() throws -> Value {
        var left = try additive()
        while let o = peekOperator, [.equal, .notEqual, .less, .greater, .lessOrEqual, .greaterOrEqual].contains(o) {
            position += 1
            let right = try additive()
            let order: Int
            if left.isString || right.isString {
                let a = Array(left.text.utf8), b = Array(right.text.utf8)
                order = a == b ? 0 : a.lexicographicallyPrecedes(b) ? -1 : 1
            } else {
                let a = left.number ?? 0, b = right.number ?? 0
                order = a == b ? 0 : a < b ? -1 : 1
            }
            let result: Bool = switch o {
            case .equal: order == 0
            case .notEqual: order != 0
            case .less: order < 0
            case .greater: order > 0
            case .lessOrEqual: order <= 0
            default: order >= 0
            }
            left = .number(result ? 1 : 0)
        }
        return left
    }

    private mutating func additive() throws -> Value {
        var left = try multiplicative()
        while let o = peekOperator, o == .plus || o == .minus {
            position += 1
            let right = try multiplicative()
            switch (left.number, right.number) {
            case (let a?, let b?): left = .number(o == .plus ? a + b : a - b)
            case (nil, let b?):
                warnings.append("non-numeric argument '\(left.text)' to '\(o.rawValue)'")
                left = o == .plus ? right : .number(-b)
            case (_?, nil):
                warnings.append("non-numeric argument '\(right.text)' to '\(o.rawValue)'")
            case (nil, nil):
                warnings.append("non-numeric arguments '\(left.text)' and '\(right.text)' to '\(o.rawValue)'")
                left = .number(0)
            }
        }
        return left
    }

    private mutating func multiplicative() throws -> Value {
        var left = try unary()
        while let o = peekOperator, o == .times || o == .divide || o == .remainder {
            position += 1
            let right = try unary()
            guard let a = left.number else {
                warnings.append("non-numeric argument '\(left.text)' to '\(o.rawValue)'")
                left = .number(0)
                continue
            }
            guard let b = right.number else {
                warnings.append("non-numeric argument '\(right.text)' to '\(o.rawValue)'")
                left = .number(o == .divide ? 2_147_483_647 : 0)
                continue
            }
            switch o {
            case .times: left = .number(a * b)
            case .divide:
                if b == 0 {
                    warnings.append("division by zero")
                    left = .number(2_147_483_647)
                } else {
                    left = .number(a / b)
                }
            default:
                if b == 0 {
                    warnings.append("division by zero")
                    left = .number(0)
                } else {
                    left = .number(fmod(a, b))
                }
            }
        }
        return left
    }

    private mutating func unary() throws -> Value {
        try nest()
        defer { depth -= 1 }
        if take(.minus) {
            let value = try unary()
            guard let n = value.number else {
                warnings.append("non-numeric argument '\(value.text)' to '-'")
                return .number(0)
            }
            return .number(-n)
        }
        if take(.not) {
            let value = try unary()
            let truth: Bool
            switch value {
            case .number(let n): truth = n != 0
            case .numeric(let s), .string(let s): truth = !(s.isEmpty || s == "0") && leadingInteger(s) != 0
            }
            return .number(truth ? 0 : 1)
        }
        return try regex()
    }

    private mutating func regex() throws -> Value {
        var left = try primary()
        while let o = peekOperator, o == .colon || o == .match || o == .concatenate {
            position += 1
            let right = try primary()
            if o == .concatenate {
                left = Value.from(left.unquoted + right.unquoted)
            } else {
                left = match(left.unquoted, right.unquoted, anchored: o == .colon)
            }
        }
        return left
    }

    private mutating func primary() throws -> Value {
        guard let token = peek else { throw ExpressionError(message: "the expression ends where a value was expected") }
        switch token.kind {
        case .op(.open):
            position += 1
            try nest()
            defer { depth -= 1 }
            let value = try expression()
            guard take(.close) else { throw ExpressionError(message: "'(' is not closed in the expression") }
            return value
        case .op:
            throw ExpressionError(message: "unexpected '\(token.text)' in expression")
        case .value(let value):
            position += 1
            if take(.open) { return try call(token.text) }
            return value
        }
    }

    /// `NAME(arg, …)`: a math function, or a dialplan function.
    private mutating func call(_ name: String) throws -> Value {
        var arguments: [Value] = []
        repeat {
            if let o = peekOperator, o == .comma || o == .close {
                guard !arguments.isEmpty || o == .comma else { throw ExpressionError(message: "unexpected ')' in expression") }
                arguments.append(.string(""))
            } else {
                arguments.append(try expression())
            }
        } while take(.comma)
        guard take(.close) else { throw ExpressionError(message: "'(' is not closed in the expression") }
        let numbers = arguments.map { $0.number ?? 0 }
        func one(_ f: (Double) -> Double) -> Value {
            guard numbers.count == 1 else { warnings.append("wrong arguments to \(name)()"); return .number(0) }
            return .number(f(numbers[0]))
        }
        func two(_ f: (Double, Double) -> Double) -> Value {
            guard numbers.count == 2 else { warnings.append("wrong arguments to \(name)()"); return .number(0) }
            return .number(f(numbers[0], numbers[1]))
        }
        switch name {
        case "COS": return one(cos)
        case "SIN": return one(sin)
        case "TAN": return one(tan)
        case "ACOS": return one(acos)
        case "ASIN": return one(asin)
        case "ATAN": return one(atan)
        case "ATAN2": return two(atan2)
        case "POW": return two(pow)
        case "SQRT": return one(sqrt)
        case "FLOOR": return one(floor)
        case "CEIL": return one(ceil)
        case "ROUND": return one(Foundation.round)
        case "RINT": return one(rint)
        case "TRUNC": return one(trunc)
        case "EXP": return one(exp)
        case "EXP2": return one(exp2)
        case "EXP10": return one { pow(10, $0) }
        case "LOG": return one(log)
        case "LOG2": return one(log2)
        case "LOG10": return one(log10)
        case "REMAINDER": return two(remainder)
        case "ABS": return one(abs)
        default:
            guard let result = context.function(name, arguments.map(\.text).joined(separator: ",")) else {
                warnings.append("'\(name)' is not a function here")
                return .number(0)
            }
            // A function's result made only of digits, signs, dots and blanks is a number.
            if result.utf8.allSatisfy({ "-0123456789. \t".utf8.contains($0) }) {
                return .number(Double(result.trimmingCharacters(in: .whitespaces)) ?? leadingNumber(result))
            }
            return Value.from(result)
        }
    }

    private mutating func match(_ string: String, _ pattern: String, anchored: Bool) -> Value {
        guard let regex = context.regexes.regex(pattern) else {
            warnings.append("bad regular expression '\(pattern)'")
            return .string("")
        }
        let range = NSRange(string.startIndex..., in: string)
        guard let result = regex.firstMatch(in: string, options: anchored ? [.anchored] : [], range: range) else {
            return regex.numberOfCaptureGroups > 0 ? .string("") : .number(0)
        }
        if regex.numberOfCaptureGroups > 0, let group = Range(result.range(at: 1), in: string) { return Value.from(String(string[group])) }
        return .number(Double(Range(result.range, in: string).map { string[$0].utf8.count } ?? 0))
    }
}

/// The number at the start of `text`, as strtod reads it (0 when there is none).
func leadingNumber(_ text: String) -> Double {
    var end = text.startIndex
    var seenDot = false
    for index in text.indices {
        let c = text[index]
        if c.isASCII && c.isNumber { end = text.index(after: index); continue }
        if c == "." && !seenDot { seenDot = true; continue }
        if (c == "-" || c == "+") && index == text.startIndex { continue }
        break
    }
    return Double(text[..<end]) ?? 0
}

/// The integer at the start of `text`, as atoi and sscanf("%d") read it (0 when there is none).
func leadingInteger(_ text: String) -> Int {
    var digits = ""
    var started = false
    for c in text {
        if !started && (c == " " || c == "\t") { continue }
        if !started && (c == "-" || c == "+") { digits.append(c); started = true; continue }
        guard c.isASCII, c.isNumber else { break }
        digits.append(c)
        started = true
        if digits.count > 18 { break }
    }
    return Int(digits) ?? 0
}

/// Asterisk's truth for GotoIf, IF and friends (`pbx_checkcondition`): empty is
/// false, text that starts with an integer is that integer, anything else true.
func truthy(_ value: String) -> Bool {
    let trimmed = value.drop { $0 == " " || $0 == "\t" }
    guard !value.isEmpty else { return false }
    var iterator = trimmed.makeIterator()
    var first = iterator.next()
    if first == "-" || first == "+" { first = iterator.next() }
    guard let first, first.isASCII, first.isNumber else { return true }
    return leadingInteger(value) != 0
}

/// Numbers print as integers when they are whole, otherwise with up to 15 significant digits.
func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    if value == value.rounded(), abs(value) < 1e18 { return String(Int64(value)) }
    return String(format: "%.15g", value)
}

extension Interpreter {
    /// Evaluates an expanded `$[…]` as Asterisk does, syntax errors included (see
    /// `Expression.evaluateAtRunTime`); problems go to the run's warnings.
    func evaluateExpression(_ text: String) -> String {
        var found: [String] = []
        let context = EvaluationContext(function: { [unowned self] name, arguments in self.callSync(name, arguments) }, regexes: regexes)
        let (value, error) = Expression.evaluateAtRunTime(text, context: context, warnings: &found)
        for warning in found { warnings.append("expression $[\(text)]: \(warning)") }
        if let error { warnings.append("\(located)expression $[\(text)]: \(error.message)") }
        return value
    }
}
