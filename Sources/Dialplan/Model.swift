import Foundation

/// A parsed and checked dialplan: immutable, shared by every call that runs it.
public struct Dialplan: Sendable {
    public internal(set) var contexts: [String: Context] = [:]
    /// `[globals]`, in file order.
    public internal(set) var globals: [(name: String, value: String)] = []
    /// `[general] autofallthrough`: a call that runs off the end of an extension is hung up.
    public internal(set) var autofallthrough = true
    /// `[general] clearglobalvars`: a reload resets globals changed at run time.
    public internal(set) var clearGlobals = false
    /// The files read, in order.
    public internal(set) var files: [String] = []

    public init() {}

    /// Context names in a stable order.
    public var contextNames: [String] { contexts.keys.sorted() }

    /// Contexts by number, and numbers by name, for searching (built by `index()`).
    var table: [Context] = []
    var numbers: [String: Int] = [:]

    /// Numbers the contexts and resolves includes to numbers; run once the plan is complete.
    mutating func index() {
        let names = contextNames
        numbers = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        table = names.map { name in
            var context = contexts[name]!
            context.index()
            for i in context.includes.indices { context.includes[i].target = numbers[context.includes[i].context] ?? -1 }
            contexts[name] = context
            return context
        }
    }

    /// The extensions a call to `exten` in `context` would use, in Asterisk's
    /// search order: the context's exact names (one with a matching caller-ID
    /// condition before one without), then its patterns in match order, then
    /// its includes depth-first, each context searched once. A priority runs
    /// from the first of these that has it.
    ///
    /// - Parameters:
    ///   - callerID: the caller's number, for extensions with a caller-ID condition; nil takes them all.
    ///   - date: the time for timed includes; nil searches every include, whatever its time.
    public func extensions(matching exten: String, in context: String, callerID: String? = nil, at date: Date? = nil,
                           timeZone: TimeZone = .current) -> [(context: String, extension: Extension)] {
        search(Array(exten.utf8).filter { $0 != dash }, in: context, callerID: callerID, at: date, timeZone: timeZone)
            .map { (table[$0.context].name, self[$0]) }
    }

    /// The first extension a call to `exten` from `callerID` reaches in a context
    /// (the one that runs priority 1 when it has it), as `extensions(matching:…)` orders them.
    public func find(_ exten: String, in context: String, callerID: String, at now: Date = Date(),
                     timeZone: TimeZone = .current) -> Extension? {
        first(Array(exten.utf8).filter { $0 != dash }, in: context, callerID: callerID, at: now, timeZone: timeZone) { _ in true }
            .map { self[$0] }
    }

    /// Whether dialling more characters after `prefix` could reach an extension.
    public func canMatchMore(_ prefix: String, in context: String, at date: Date? = nil, timeZone: TimeZone = .current) -> Bool {
        canMatchMore(Array(prefix.utf8).filter { $0 != dash }, in: context, at: date, timeZone: timeZone)
    }

    /// An extension found by a search: its context's number and its place there.
    struct Found {
        let context: Int
        let index: Int
    }

    subscript(found: Found) -> Extension { table[found.context].extensions[found.index] }

    /// Every extension `exten` (without dashes) reaches from `name`, in search order.
    func search(_ exten: [UInt8], in name: String, callerID: String?, at date: Date?, timeZone: TimeZone) -> [Found] {
        var found: [Found] = []
        visit(exten, in: name, callerID: callerID, at: date, timeZone: timeZone) { found.append($0); return false }
        return found
    }

    /// The first extension, in search order, that `accept`s.
    func first(_ exten: [UInt8], in name: String, callerID: String?, at date: Date?, timeZone: TimeZone,
               where accept: (Extension) -> Bool) -> Found? {
        var result: Found?
        visit(exten, in: name, callerID: callerID, at: date, timeZone: timeZone) { found in
            guard accept(self[found]) else { return false }
            result = found
            return true
        }
        return result
    }

    /// Calls `body` with each extension in search order until it returns true.
    private func visit(_ exten: [UInt8], in name: String, callerID: String?, at date: Date?, timeZone: TimeZone,
                       _ body: (Found) -> Bool) {
        guard let start = numbers[name] else { return }
        var visited = [UInt64](repeating: 0, count: table.count / 64 + 1)
        var depth = 0
        func walk(_ number: Int) -> Bool {
            let bit = UInt64(1) << UInt64(number % 64)
            // Asterisk's own bound on include depth (AST_PBX_MAX_STACK).
            guard depth < 128, visited[number / 64] & bit == 0 else { return false }
            visited[number / 64] |= bit
            let context = table[number]
            for index in context.matching(exten, callerID: callerID) where body(Found(context: number, index: index)) { return true }
            depth += 1
            defer { depth -= 1 }
            for include in context.includes where include.target >= 0 {
                if let date, let time = include.time, !time.matches(date, zone: timeZone) { continue }
                if walk(include.target) { return true }
            }
            return false
        }
        _ = walk(start)
    }

    func canMatchMore(_ prefix: [UInt8], in name: String, at date: Date?, timeZone: TimeZone) -> Bool {
        guard let start = numbers[name] else { return false }
        var visited = Set<Int>()
        var queue = [start]
        while let next = queue.popLast() {
            guard visited.count < 128, visited.insert(next).inserted else { continue }
            let context = table[next]
            if context.canMatchMore(prefix) { return true }
            for include in context.includes.reversed() where include.target >= 0 {
                if let date, let time = include.time, !time.matches(date, zone: timeZone) { continue }
                queue.append(include.target)
            }
        }
        return false
    }
}

/// `[name]`: a set of extensions and the contexts it includes.
public struct Context: Sendable {
    public let name: String
    public internal(set) var location: SourceLocation
    /// Extensions in file order.
    public internal(set) var extensions: [Extension] = []
    public internal(set) var includes: [Include] = []
    /// Literal names (without dashes) to their extensions, one with a caller-ID condition first.
    var literals: [[UInt8]: [Int]] = [:]
    /// Literal names without dashes, sorted, to answer "could more digits match".
    var literalNames: [[UInt8]] = []
    /// Pattern extensions in Asterisk's match order.
    var patternOrder: [Int] = []
    /// The patterns as a trie; entries are numbered by their place in `patternOrder`.
    var patterns = PatternTrie()

    init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// Rebuilds the lookup tables after extensions change.
    mutating func index() {
        literals = [:]
        var patternIndices: [Int] = []
        for (i, entry) in extensions.enumerated() {
            if entry.pattern == nil {
                literals[entry.key, default: []].append(i)
            } else {
                patternIndices.append(i)
            }
        }
        for key in literals.keys {
            literals[key]!.sort { a, b in Extension.callerIDFirst(extensions[a], extensions[b]) }
        }
        literalNames = literals.keys.sorted { $0.lexicographicallyPrecedes($1) }
        patternOrder = patternIndices.sorted { a, b in
            let x = extensions[a], y = extensions[b]
            let order = Pattern.compare(x.pattern!, y.pattern!)
            if order != 0 { return order < 0 }
            // The same pattern with different caller-ID conditions: a condition first.
            return Extension.callerIDFirst(x, y)
        }
        patterns = PatternTrie()
        for (rank, index) in patternOrder.enumerated() { patterns.insert(extensions[index].pattern!, id: Int32(rank)) }
    }

    /// Extensions of this context alone that `exten` (without dashes) reaches, in match order.
    func matching(_ exten: [UInt8], callerID: String?) -> [Int] {
        var result: [Int] = []
        if let exact = literals[exten] {
            for index in exact where extensions[index].accepts(callerID: callerID) { result.append(index) }
        }
        if !patternOrder.isEmpty {
            var ranks: [Int32] = []
            patterns.matches(exten, into: &ranks)
            if ranks.count > 1 { ranks.sort() }
            for rank in ranks {
                let index = patternOrder[Int(rank)]
                if extensions[index].accepts(callerID: callerID) { result.append(index) }
            }
        }
        return result
    }

    /// Whether an extension of this context alone starts with `prefix` and is longer.
    func canMatchMore(_ prefix: [UInt8]) -> Bool {
        // The first literal name not before `prefix`: any longer name starting with it follows.
        var low = 0, high = literalNames.count
        while low < high {
            let middle = (low + high) / 2
            if literalNames[middle].lexicographicallyPrecedes(prefix) { low = middle + 1 } else { high = middle }
        }
        var i = low
        while i < literalNames.count, literalNames[i].starts(with: prefix) {
            if literalNames[i].count > prefix.count { return true }
            i += 1
        }
        return patterns.canMatchMore(prefix)
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

    /// The name as matched: without dashes.
    var key: [UInt8] { Array(name.utf8).filter { $0 != dash } }

    /// Whether this extension applies to `exten` dialled by `callerID`.
    func matches(_ exten: String, callerID number: String) -> Bool {
        guard accepts(callerID: number) else { return false }
        if let pattern { return pattern.matches(exten) }
        return key == Array(exten.utf8).filter { $0 != dash }
    }

    /// Whether a call from `number` may use this extension; a nil number takes any condition.
    func accepts(callerID number: String?) -> Bool {
        guard let callerID, let number else { return true }
        return callerID.matches(number)
    }

    /// Between two extensions with the same name, one with a caller-ID condition
    /// is tried first; two conditions go in pattern order.
    static func callerIDFirst(_ a: Extension, _ b: Extension) -> Bool {
        switch (a.callerID, b.callerID) {
        case (nil, nil): return false
        case (_?, nil): return true
        case (nil, _?): return false
        case (.literal(let x)?, .literal(let y)?): return x < y
        case (.literal?, .pattern?): return true
        case (.pattern?, .literal?): return false
        case (.pattern(let x)?, .pattern(let y)?): return Pattern.precedes(x, y)
        }
    }
}

/// One step: an application and its (unexpanded) arguments.
public struct Priority: Sendable {
    public let number: Int
    public let label: String?
    public let application: String
    public let arguments: String
    public let location: SourceLocation
    /// Where the arguments start, for diagnostics about them.
    public let argumentsLocation: SourceLocation
    /// The application as Omnigate knows it (nil outside the subset).
    let app: Application?
    /// The arguments compiled at load, behind one reference so a step is cheap to copy.
    let compiled: CompiledArguments
    /// The arguments, compiled for expansion.
    var template: Template { compiled.template }
    /// The arguments in the shape the application reads them (branches, the application Exec runs).
    var shape: Shape { compiled.shape }
}

/// A step's arguments compiled at load: never changed, shared by every call.
final class CompiledArguments: Sendable {
    let template: Template
    let shape: Shape

    init(template: Template, shape: Shape) {
        self.template = template
        self.shape = shape
    }
}

/// `include => name[,times,weekdays,mdays,months[,timezone]]`.
public struct Include: Sendable {
    public let context: String
    public let time: TimeSpec?
    public let location: SourceLocation
    /// The included context's number in the plan, -1 when it is not defined.
    var target = -1

    init(context: String, time: TimeSpec?, location: SourceLocation) {
        self.context = context
        self.time = time
        self.location = location
    }
}
