/// An extension pattern (`_NXXNXXXXXX`, `_9011.`, `_[1-5,7]XX!`) compiled
/// into character classes, matched and ordered the way Asterisk does.
///
/// Elements: a literal character; `X` (0-9), `Z` (1-9), `N` (2-9); a set
/// `[...]` of characters and ranges (`[1-5,7]`, commas are ignored); `.`
/// (one or more of anything, only last); `!` (zero or more, only last).
/// Dashes outside sets are ignored, as in Asterisk.
///
/// Classes of ASCII characters are 128-bit masks matched byte by byte, so
/// choosing among a thousand patterns stays in the microseconds.
public struct Pattern: Sendable, Hashable, CustomStringConvertible {
    /// A set of ASCII characters as a 128-bit mask (non-ASCII characters in patterns are refused).
    struct CharacterClass: Sendable, Hashable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        init() {}
        init(_ characters: String) { for byte in characters.utf8 { insert(byte) } }

        mutating func insert(_ byte: UInt8) {
            if byte < 64 { low |= 1 << UInt64(byte) } else if byte < 128 { high |= 1 << UInt64(byte - 64) }
        }

        @inline(__always) func contains(_ byte: UInt8) -> Bool {
            byte < 64 ? (low >> UInt64(byte)) & 1 == 1 : byte < 128 && (high >> UInt64(byte - 64)) & 1 == 1
        }

        var count: Int { low.nonzeroBitCount + high.nonzeroBitCount }
        var first: Int { low != 0 ? low.trailingZeroBitCount : 64 + high.trailingZeroBitCount }

        static let digits = CharacterClass("0123456789")
        static let z = CharacterClass("123456789")
        static let n = CharacterClass("23456789")
    }

    enum Element: Sendable, Hashable {
        case set(CharacterClass)
        case oneOrMore
        case zeroOrMore
    }

    let elements: [Element]
    public let text: String

    /// Compiles `text` (with its leading `_`), or says what is wrong with it.
    public static func compile(_ text: String) -> Result<Pattern, PatternError> {
        guard text.hasPrefix("_") else { return .failure(PatternError(message: "a pattern starts with '_'")) }
        let bytes = Array(text.utf8.dropFirst())
        guard bytes.allSatisfy({ $0 < 128 }) else {
            return .failure(PatternError(message: "patterns take ASCII characters only"))
        }
        var elements: [Element] = []
        var index = 0
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "X"), UInt8(ascii: "x"): elements.append(.set(.digits))
            case UInt8(ascii: "Z"), UInt8(ascii: "z"): elements.append(.set(.z))
            case UInt8(ascii: "N"), UInt8(ascii: "n"): elements.append(.set(.n))
            case UInt8(ascii: "-"): continue
            case UInt8(ascii: "."), UInt8(ascii: "!"):
                guard index == bytes.count else {
                    return .failure(PatternError(message: "'\(Character(UnicodeScalar(c)))' may only end a pattern"))
                }
                elements.append(c == UInt8(ascii: ".") ? .oneOrMore : .zeroOrMore)
            case UInt8(ascii: "["):
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")) else {
                    return .failure(PatternError(message: "'[' has no closing ']'"))
                }
                var set = CharacterClass()
                var i = index
                while i < close {
                    let start = bytes[i]
                    if i + 2 < close, bytes[i + 1] == UInt8(ascii: "-") {
                        let end = bytes[i + 2]
                        guard start <= end else {
                            return .failure(PatternError(message: "bad range '\(Character(UnicodeScalar(start)))-\(Character(UnicodeScalar(end)))' in a set"))
                        }
                        for v in start...end { set.insert(v) }
                        i += 3
                    } else {
                        if start != UInt8(ascii: ",") { set.insert(start) }
                        i += 1
                    }
                }
                guard set.count > 0 else { return .failure(PatternError(message: "an empty set '[]'")) }
                elements.append(.set(set))
                index = close + 1
            default:
                var set = CharacterClass()
                set.insert(c)
                elements.append(.set(set))
            }
        }
        guard !elements.isEmpty else { return .failure(PatternError(message: "an empty pattern")) }
        return .success(Pattern(elements: elements, text: text))
    }

    public var description: String { text }

    /// Whether `input` matches the whole pattern.
    public func matches(_ input: String) -> Bool {
        var utf8 = input.utf8.makeIterator()
        for element in elements {
            switch element {
            case .set(let set):
                guard let byte = utf8.next(), set.contains(byte) else { return false }
            case .oneOrMore:
                return utf8.next() != nil
            case .zeroOrMore:
                return true
            }
        }
        return utf8.next() == nil
    }

    /// Whether some longer input starting with `prefix` could match
    /// (Asterisk's "match more": wait for more digits before deciding).
    public func canMatchMore(_ prefix: String) -> Bool {
        var i = 0
        for byte in prefix.utf8 {
            guard i < elements.count else { return false }
            switch elements[i] {
            case .set(let set):
                guard set.contains(byte) else { return false }
                i += 1
            case .oneOrMore, .zeroOrMore:
                return true
            }
        }
        return i < elements.count
    }

    /// The first element's class, when it is one (for indexing).
    var firstClass: CharacterClass? {
        if case .set(let set)? = elements.first { return set }
        return nil
    }

    /// Asterisk's order for overlapping patterns: element by element, the more
    /// constrained class first (fewer characters; a literal before a set),
    /// then the lower character; a pattern that ends sorts before `.`, and
    /// `.` before `!`.
    public static func precedes(_ a: Pattern, _ b: Pattern) -> Bool {
        let count = max(a.elements.count, b.elements.count)
        for i in 0..<count {
            let x = i < a.elements.count ? weight(a.elements[i]) : (0, 0)
            let y = i < b.elements.count ? weight(b.elements[i]) : (0, 0)
            if x != y { return x < y }
        }
        return a.text < b.text
    }

    private static func weight(_ element: Element) -> (Int, Int) {
        switch element {
        case .set(let set): return (set.count, set.first)
        case .oneOrMore: return (1000, 0)
        case .zeroOrMore: return (1001, 0)
        }
    }
}

public struct PatternError: Error, Sendable {
    public let message: String
}
