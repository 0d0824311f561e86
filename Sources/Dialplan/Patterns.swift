/// An extension pattern (`_NXXNXXXXXX`, `_9011.`, `_[1-5,7]XX!`) compiled
/// into character classes, matched and ordered the way Asterisk does.
///
/// Elements: a literal character; `X` (0-9), `Z` (1-9), `N` (2-9); a set
/// `[...]` of characters and ranges (`[1-5,7]`, commas are ignored); `.`
/// (one or more of anything, only last); `!` (zero or more, only last).
/// Dashes outside sets are ignored, as in Asterisk.
public struct Pattern: Sendable, Hashable, CustomStringConvertible {
    enum Element: Sendable, Hashable {
        case set(Set<Character>)
        case oneOrMore
        case zeroOrMore
    }

    let elements: [Element]
    public let text: String

    /// Compiles `text` (with its leading `_`); nil with a reason when malformed.
    public static func compile(_ text: String) -> Result<Pattern, PatternError> {
        guard text.hasPrefix("_") else { return .failure(PatternError(message: "a pattern starts with '_'")) }
        var elements: [Element] = []
        var characters = Array(text.dropFirst())
        var index = 0
        while index < characters.count {
            let c = characters[index]
            index += 1
            switch c {
            case "X", "x": elements.append(.set(Set("0123456789")))
            case "Z", "z": elements.append(.set(Set("123456789")))
            case "N", "n": elements.append(.set(Set("23456789")))
            case "-": continue
            case ".", "!":
                guard index == characters.count else {
                    return .failure(PatternError(message: "'\(c)' may only end a pattern"))
                }
                elements.append(c == "." ? .oneOrMore : .zeroOrMore)
            case "[":
                guard let close = characters[index...].firstIndex(of: "]") else {
                    return .failure(PatternError(message: "'[' has no closing ']'"))
                }
                var set = Set<Character>()
                var i = index
                while i < close {
                    let start = characters[i]
                    if i + 2 < close, characters[i + 1] == "-" {
                        let end = characters[i + 2]
                        guard let a = start.asciiValue, let b = end.asciiValue, a <= b else {
                            return .failure(PatternError(message: "bad range '\(start)-\(end)' in a set"))
                        }
                        for v in a...b { set.insert(Character(UnicodeScalar(v))) }
                        i += 3
                    } else {
                        if start != "," { set.insert(start) }
                        i += 1
                    }
                }
                guard !set.isEmpty else { return .failure(PatternError(message: "an empty set '[]'")) }
                elements.append(.set(set))
                index = close + 1
            default:
                elements.append(.set([c]))
            }
        }
        characters.removeAll()
        guard !elements.isEmpty else { return .failure(PatternError(message: "an empty pattern")) }
        return .success(Pattern(elements: elements, text: text))
    }

    public var description: String { text }

    /// Whether `input` matches the whole pattern.
    public func matches(_ input: String) -> Bool {
        var i = 0
        var chars = input.makeIterator()
        var consumed = 0
        while i < elements.count {
            switch elements[i] {
            case .set(let set):
                guard let c = chars.next(), set.contains(c) else { return false }
                consumed += 1
            case .oneOrMore:
                return chars.next() != nil
            case .zeroOrMore:
                return true
            }
            i += 1
        }
        return chars.next() == nil
    }

    /// Whether some longer input starting with `prefix` could match
    /// (Asterisk's "match more": wait for more digits before deciding).
    public func canMatchMore(_ prefix: String) -> Bool {
        var i = 0
        for c in prefix {
            guard i < elements.count else { return false }
            switch elements[i] {
            case .set(let set):
                guard set.contains(c) else { return false }
                i += 1
            case .oneOrMore, .zeroOrMore:
                return true
            }
        }
        return i < elements.count  // more elements remain, or a trailing wildcard
    }

    /// Whether `prefix` could be the start of a match (or a match).
    public func couldMatch(_ prefix: String) -> Bool { matches(prefix) || canMatchMore(prefix) }

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
        case .set(let set): return (set.count, Int(set.min()?.asciiValue ?? 0))
        case .oneOrMore: return (1000, 0)
        case .zeroOrMore: return (1001, 0)
        }
    }
}

public struct PatternError: Error, Sendable {
    public let message: String
}
