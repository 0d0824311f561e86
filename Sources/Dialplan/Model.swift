import Foundation

/// A parsed and checked dialplan: immutable, shared by every call that runs it.
public struct Dialplan: Sendable {
    public internal(set) var contexts: [String: Context] = [:]
    /// `[globals]`, in file order.
    public internal(set) var globals: [(name: String, value: String)] = []
    /// `[general] autofallthrough`: a call that runs off the end of an extension is hung up.
    public internal(set) var autofallthrough = true
    /// The files read, in order.
    public internal(set) var files: [String] = []

    public init() {}

    /// Context names in a stable order.
    public var contextNames: [String] { contexts.keys.sorted() }
}

/// `[name]`: a set of extensions and the contexts it includes.
public struct Context: Sendable {
    public let name: String
    public internal(set) var location: SourceLocation
    /// Extensions in file order.
    public internal(set) var extensions: [Extension] = []
    public internal(set) var includes: [Include] = []
    /// Literal names to their extensions (several when they differ by caller ID).
    var literals: [String: [Int]] = [:]
    /// Pattern extensions in Asterisk's match order.
    var patternOrder: [Int] = []
    /// For each first byte, the pattern extensions (in match order) that can start with it.
    var patternsByFirstByte: [[Int]] = []

    init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// Rebuilds the lookup tables after extensions change.
    mutating func index() {
        literals = [:]
        var patterns: [Int] = []
        for (i, extensionEntry) in extensions.enumerated() {
            if extensionEntry.pattern == nil {
                literals[extensionEntry.name, default: []].append(i)
            } else {
                patterns.append(i)
            }
        }
        patternOrder = patterns.sorted { a, b in
            let x = extensions[a], y = extensions[b]
            // An extension with a caller-ID match is tried before one without.
            if (x.callerID != nil) != (y.callerID != nil) { return x.callerID != nil }
            return Pattern.precedes(x.pattern!, y.pattern!)
        }
        patternsByFirstByte = (0..<128).map { byte in
            patternOrder.filter { index in extensions[index].pattern!.firstClass?.contains(UInt8(byte)) ?? true }
        }
    }

    /// Pattern extensions that could match `exten`, in match order.
    func patternCandidates(_ exten: String) -> [Int] {
        guard let first = exten.utf8.first else { return patternOrder.filter { extensions[$0].pattern!.firstClass == nil } }
        return first < 128 ? patternsByFirstByte[Int(first)] : patternOrder.filter { extensions[$0].pattern!.firstClass == nil }
    }
}

/// A caller-ID condition on an extension (`exten => 100/_1XX,…`).
public enum CallerIDMatch: Sendable, Hashable {
    case literal(String)
    case pattern(Pattern)

    func matches(_ callerID: String) -> Bool {
        switch self {
        case .literal(let value): value == callerID
        case .pattern(let pattern): pattern.matches(callerID)
        }
    }
}

/// An extension: a name or pattern, and its numbered priorities.
public struct Extension: Sendable {
    public let name: String
    public let pattern: Pattern?
    public let callerID: CallerIDMatch?
    public let callerIDText: String?
    public internal(set) var location: SourceLocation
    /// Priorities by number.
    public internal(set) var priorities: [Int: Priority] = [:]
    public internal(set) var labels: [String: Int] = [:]

    /// Priority numbers in order.
    public var numbers: [Int] { priorities.keys.sorted() }

    /// Whether this extension applies to `exten` dialled by `callerID`.
    func matches(_ exten: String, callerID number: String) -> Bool {
        if let callerID, !callerID.matches(number) { return false }
        if let pattern { return pattern.matches(exten) }
        return name == exten
    }
}

/// One step: an application and its (unexpanded) arguments.
public struct Priority: Sendable {
    public let number: Int
    public let label: String?
    public let application: String
    /// The application's name as Omnigate knows it (Asterisk matches names without regard to case).
    let canonicalApplication: String?
    public let arguments: String
    public let location: SourceLocation
    /// Where the arguments start, for diagnostics about them.
    public let argumentsLocation: SourceLocation
}

/// `include => name[,times,weekdays,mdays,months[,timezone]]`.
public struct Include: Sendable {
    public let context: String
    public let time: TimeSpec?
    public let location: SourceLocation
}

extension Dialplan {
    /// The extension a call to `exten` from `callerID` reaches in a context, as
    /// Asterisk searches: exact names first (a caller-ID match before a plain
    /// one), then patterns in match order, then includes depth-first, each
    /// include only while its time condition holds at `now`.
    public func find(_ exten: String, in contextName: String, callerID: String, at now: Date = Date(),
                     timeZone: TimeZone = .current) -> Extension? {
        var visited: Set<String> = []
        return find(exten, in: contextName, callerID: callerID, now: now, timeZone: timeZone, visited: &visited)
    }

    private func find(_ exten: String, in contextName: String, callerID: String, now: Date, timeZone: TimeZone,
                      visited: inout Set<String>) -> Extension? {
        guard visited.insert(contextName).inserted, let context = contexts[contextName] else { return nil }
        if let candidates = context.literals[exten] {
            if let match = candidates.first(where: { context.extensions[$0].callerID != nil && context.extensions[$0].matches(exten, callerID: callerID) })
                ?? candidates.first(where: { context.extensions[$0].callerID == nil }) {
                return context.extensions[match]
            }
        }
        for index in context.patternCandidates(exten) where context.extensions[index].matches(exten, callerID: callerID) {
            return context.extensions[index]
        }
        for include in context.includes {
            if let time = include.time, !time.matches(now, zone: timeZone) { continue }
            if let found = find(exten, in: include.context, callerID: callerID, now: now, timeZone: timeZone, visited: &visited) {
                return found
            }
        }
        return nil
    }
}
