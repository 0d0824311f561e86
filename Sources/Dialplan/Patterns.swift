/// An extension pattern (`_NXXNXXXXXX`, `_9011.`, `_[1-5,7]XX!`) compiled
/// into character classes, matched and ordered the way Asterisk does.
///
/// Elements: a literal character; `X` (0-9), `Z` (1-9), `N` (2-9), in either
/// case; a set `[...]` of characters and ranges (`[1-5,7]`; commas are
/// ignored; an empty set `[]` is ignored, as Asterisk ignores it); `.` (one or
/// more of anything) and `!` (zero or more). Asterisk's matcher stops at the
/// first `.` or `!`: what follows it (`X.` in `_X._X.`) matches nothing more,
/// but still sets the pattern apart and places it in match order, so it is
/// kept for that (`order`) and the parser warns about it. Dashes are ignored,
/// in the pattern and in what is dialled (`_1-800-NXX-XXXX` matches
/// `18005551234` and `1-800-555-1234`). Matching is on bytes, as in Asterisk.
public struct Pattern: Sendable, Hashable, CustomStringConvertible {
    enum Element: Sendable, Hashable {
        /// A set of bytes; a literal character is a set of one.
        case set(ByteSet)
        case oneOrMore
        case zeroOrMore
    }

    /// What is matched: the elements up to and including the first `.` or `!`.
    let elements: [Element]
    public let text: String
    /// What follows the first `.` or `!`, kept apart (most patterns have none).
    private let tail: Tail?
    /// Whether the pattern has an empty set `[]` (Asterisk skips it).
    public private(set) var hasEmptySet = false

    /// Elements after the first `.` or `!`: they match nothing more, as Asterisk ignores them,
    /// but still place the pattern in match order and set it apart from `_X.`.
    final class Tail: Sendable {
        let order: [Element]
        let text: String
        init(order: [Element], text: String) {
            self.order = order
            self.text = text
        }
    }

    /// Every element as written, for Asterisk's match order and for telling
    /// two patterns apart (`_X._X.` is not `_X.`, though it matches the same).
    var order: [Element] { tail?.order ?? elements }

    /// What follows the first `.` or `!` as written; nil when nothing does.
    public var ignoredTail: String? { tail?.text }

    init(elements: [Element], order: [Element], text: String, ignoredTail: String?) {
        self.elements = elements
        self.text = text
        tail = order.count > elements.count ? Tail(order: order, text: ignoredTail ?? "") : nil
    }

    /// Patterns are the same when written the same.
    public static func == (a: Pattern, b: Pattern) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    /// Compiles `text` (with its leading `_`), or explains what is wrong with it.
    public static func compile(_ text: String) -> Result<Pattern, PatternError> {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "_") else { return .failure(PatternError(message: "a pattern starts with '_'")) }
        var elements: [Element] = []
        var stop: Int?          // elements.count at the first '.' or '!'
        var tailStart: Int?     // the byte where the ignored tail starts
        var emptySet = false
        var index = 1
        // Each pass consumes at least one byte.
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "X"), UInt8(ascii: "x"): elements.append(.set(ByteSet(from: UInt8(ascii: "0"), through: UInt8(ascii: "9"))))
            case UInt8(ascii: "Z"), UInt8(ascii: "z"): elements.append(.set(ByteSet(from: UInt8(ascii: "1"), through: UInt8(ascii: "9"))))
            case UInt8(ascii: "N"), UInt8(ascii: "n"): elements.append(.set(ByteSet(from: UInt8(ascii: "2"), through: UInt8(ascii: "9"))))
            case UInt8(ascii: "-"): continue
            case UInt8(ascii: "."), UInt8(ascii: "!"):
                elements.append(c == UInt8(ascii: ".") ? .oneOrMore : .zeroOrMore)
            case UInt8(ascii: "["):
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")) else {
                    return .failure(PatternError(message: "'[' has no closing ']'"))
                }
                var set = ByteSet()
                var i = index
                while i < close {
                    let start = bytes[i]
                    if i + 2 < close, bytes[i + 1] == UInt8(ascii: "-") {
                        let end = bytes[i + 2]
                        guard start <= end else {
                            let range = String(decoding: bytes[i...(i + 2)], as: UTF8.self)
                            return .failure(PatternError(message: "bad range '\(range)' in a set"))
                        }
                        set.insert(from: start, through: end)
                        i += 3
                    } else {
                        if start != UInt8(ascii: ",") { set.insert(start) }
                        i += 1
                    }
                }
                index = close + 1
                // An empty set is skipped, as Asterisk skips it.
                if set.isEmpty { emptySet = true } else { elements.append(.set(set)) }
            default:
                elements.append(.set(ByteSet(c)))
            }
            if stop == nil, let last = elements.last, last == .oneOrMore || last == .zeroOrMore {
                stop = elements.count
                if index < bytes.count { tailStart = index }
            }
        }
        guard !elements.isEmpty else { return .failure(PatternError(message: "an empty pattern")) }
        let tail = tailStart.map { String(decoding: bytes[$0...], as: UTF8.self) }.flatMap { $0.allSatisfy { $0 == "-" } ? nil : $0 }
        var pattern = Pattern(elements: Array(elements.prefix(stop ?? elements.count)), order: elements, text: text, ignoredTail: tail)
        pattern.hasEmptySet = emptySet
        return .success(pattern)
    }

    public var description: String { text }

    /// Whether `input` matches the whole pattern.
    public func matches(_ input: String) -> Bool { matches(Array(input.utf8).filter { $0 != dash }) }

    /// Whether dash-free `input` matches the whole pattern.
    func matches(_ input: [UInt8]) -> Bool {
        var position = 0
        for element in elements {
            switch element {
            case .set(let set):
                guard position < input.count, set.contains(input[position]) else { return false }
                position += 1
            case .oneOrMore:
                return position < input.count
            case .zeroOrMore:
                return true
            }
        }
        return position == input.count
    }

    /// Whether some longer input starting with `prefix` could match (Asterisk's
    /// "match more": wait for more digits before deciding). A pattern ending in
    /// `.` always could; one ending in `!` never asks for more.
    public func canMatchMore(_ prefix: String) -> Bool { canMatchMore(Array(prefix.utf8).filter { $0 != dash }) }

    func canMatchMore(_ prefix: [UInt8]) -> Bool {
        var position = 0
        for element in elements {
            switch element {
            case .set(let set):
                guard position < prefix.count else { return true }
                guard set.contains(prefix[position]) else { return false }
                position += 1
            case .oneOrMore:
                return true
            case .zeroOrMore:
                return false
            }
        }
        return false
    }

    /// Whether `prefix` could be the start of a match (or a match).
    public func couldMatch(_ prefix: String) -> Bool { matches(prefix) || canMatchMore(prefix) }

    /// Asterisk's order for overlapping patterns (`ext_cmp` in main/pbx.c):
    /// element by element, the smaller set first (a literal is a set of one),
    /// equal sizes by their lowest character; `.` after any set, `!` after `.`,
    /// and the end of a pattern after everything. The first pattern in this
    /// order that matches is the one a call takes.
    public static func precedes(_ a: Pattern, _ b: Pattern) -> Bool {
        let order = compare(a, b)
        return order != 0 ? order < 0 : a.text < b.text
    }

    /// Negative when `a` sorts first, 0 when the two patterns are the same.
    static func compare(_ a: Pattern, _ b: Pattern) -> Int {
        var i = 0
        while true {
            let x = i < a.order.count ? a.order[i] : nil
            let y = i < b.order.count ? b.order[i] : nil
            if x == nil && y == nil { return 0 }
            let wx = weight(x), wy = weight(y)
            if wx != wy { return wx < wy ? -1 : 1 }
            if case .set(let s)? = x, case .set(let t)? = y, s != t { return s.lowerMembersFirst(than: t) ? -1 : 1 }
            i += 1
        }
    }

    /// Asterisk's score of one position: count << 8 | lowest member for a set,
    /// 0x18000 for `.`, 0x28000 for `!`, 0x30000 past the end.
    private static func weight(_ element: Element?) -> Int {
        switch element {
        case .set(let set)?: return set.count << 8 | Int(set.lowest)
        case .oneOrMore?: return 0x18000
        case .zeroOrMore?: return 0x28000
        case nil: return 0x30000
        }
    }
}

let dash = UInt8(ascii: "-")

public struct PatternError: Error, Sendable {
    public let message: String
}

/// A set of bytes as a 256-bit map.
struct ByteSet: Sendable, Hashable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    init(_ byte: UInt8) { insert(byte) }

    init(from low: UInt8, through high: UInt8) { insert(from: low, through: high) }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func insert(from low: UInt8, through high: UInt8) {
        var b = low
        while true {
            insert(b)
            if b == high { break }
            b += 1
        }
    }

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    var count: Int { words.0.nonzeroBitCount + words.1.nonzeroBitCount + words.2.nonzeroBitCount + words.3.nonzeroBitCount }
    var isEmpty: Bool { count == 0 }

    /// The lowest member (0 for an empty set).
    var lowest: UInt8 {
        if words.0 != 0 { return UInt8(words.0.trailingZeroBitCount) }
        if words.1 != 0 { return UInt8(64 + words.1.trailingZeroBitCount) }
        if words.2 != 0 { return UInt8(128 + words.2.trailingZeroBitCount) }
        if words.3 != 0 { return UInt8(192 + words.3.trailingZeroBitCount) }
        return 0
    }

    /// The only member of a set of one.
    var single: UInt8? { count == 1 ? lowest : nil }

    /// Between two sets of the same size and lowest member: the one holding the
    /// lowest character the other lacks sorts first (Asterisk compares the bit maps).
    func lowerMembersFirst(than other: ByteSet) -> Bool {
        let a = [words.0, words.1, words.2, words.3], b = [other.words.0, other.words.1, other.words.2, other.words.3]
        for i in 0..<4 where a[i] != b[i] {
            let difference = a[i] ^ b[i]
            return a[i] & (difference & (~difference &+ 1)) != 0
        }
        return false
    }

    static func == (a: ByteSet, b: ByteSet) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// The patterns of one context as a trie over their elements, so choosing an
/// extension costs about the length of the number dialled, not the number of
/// patterns. Entries are numbered by the caller (their rank in match order).
struct PatternTrie: Sendable {
    private struct Node: Sendable {
        var literals: [(byte: UInt8, node: Int32)] = []
        var sets: [(set: ByteSet, node: Int32)] = []
        /// Entries whose pattern ends here, ends with `.` here, or with `!` here.
        var end: [Int32] = []
        var oneOrMore: [Int32] = []
        var zeroOrMore: [Int32] = []
    }

    private var nodes = [Node()]

    init() {}

    /// Adds `pattern` as entry `id`.
    mutating func insert(_ pattern: Pattern, id: Int32) {
        var node = 0
        for element in pattern.elements {
            switch element {
            case .set(let set):
                if let byte = set.single {
                    if let next = nodes[node].literals.first(where: { $0.byte == byte }) {
                        node = Int(next.node)
                    } else {
                        nodes.append(Node())
                        nodes[node].literals.append((byte, Int32(nodes.count - 1)))
                        node = nodes.count - 1
                    }
                } else if let next = nodes[node].sets.first(where: { $0.set == set }) {
                    node = Int(next.node)
                } else {
                    nodes.append(Node())
                    nodes[node].sets.append((set, Int32(nodes.count - 1)))
                    node = nodes.count - 1
                }
            case .oneOrMore:
                nodes[node].oneOrMore.append(id)
                return
            case .zeroOrMore:
                nodes[node].zeroOrMore.append(id)
                return
            }
        }
        nodes[node].end.append(id)
    }

    /// Every entry whose pattern matches dash-free `input`, in no particular order.
    func matches(_ input: [UInt8], into found: inout [Int32]) {
        var stack: [(node: Int32, position: Int)] = [(0, 0)]
        // Each pop either ends a branch or pushes nodes one byte further on.
        while let (index, position) = stack.popLast() {
            let node = nodes[Int(index)]
            found.append(contentsOf: node.zeroOrMore)
            guard position < input.count else {
                found.append(contentsOf: node.end)
                continue
            }
            found.append(contentsOf: node.oneOrMore)
            let byte = input[position]
            for literal in node.literals where literal.byte == byte { stack.append((literal.node, position + 1)) }
            for set in node.sets where set.set.contains(byte) { stack.append((set.node, position + 1)) }
        }
    }

    /// Whether some pattern could match `input` followed by more characters.
    func canMatchMore(_ input: [UInt8]) -> Bool {
        var stack: [(node: Int32, position: Int)] = [(0, 0)]
        while let (index, position) = stack.popLast() {
            let node = nodes[Int(index)]
            if !node.oneOrMore.isEmpty { return true }
            guard position < input.count else {
                if !node.literals.isEmpty || !node.sets.isEmpty { return true }
                continue
            }
            let byte = input[position]
            for literal in node.literals where literal.byte == byte { stack.append((literal.node, position + 1)) }
            for set in node.sets where set.set.contains(byte) { stack.append((set.node, position + 1)) }
        }
        return false
    }
}
