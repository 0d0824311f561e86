import Foundation

/// A command-line mistake; printed with the command's usage, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// The arguments of one command: `--name value`, `--name=value`, flags and
/// positionals. Each accessor consumes what it reads; `finish()` rejects the
/// rest, so a mistyped option is an error rather than silently ignored.
struct Arguments {
    private var items: [String]

    init(_ items: [String]) { self.items = items }

    /// True when `--help` or `-h` is among the arguments.
    var wantsHelp: Bool { items.contains("--help") || items.contains("-h") }

    /// Removes and returns the first argument when it is a word (a subcommand).
    mutating func subcommand() -> String? {
        guard let first = items.first, !first.hasPrefix("-") else { return nil }
        items.removeFirst()
        return first
    }

    /// The value of `--name`; the last one wins when repeated.
    mutating func option(_ name: String) throws -> String? {
        try options(name).last
    }

    /// Every value of a repeatable `--name`.
    mutating func options(_ name: String) throws -> [String] {
        var values: [String] = []
        var i = 0
        while i < items.count {
            let item = items[i]
            if item == "--\(name)" {
                guard i + 1 < items.count else { throw UsageError("--\(name) needs a value") }
                values.append(items[i + 1])
                items.removeSubrange(i...(i + 1))
            } else if item.hasPrefix("--\(name)=") {
                values.append(String(item.dropFirst(name.count + 3)))
                items.remove(at: i)
            } else {
                i += 1
            }
        }
        return values
    }

    /// An integer option with a range check.
    mutating func intOption(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = try option(name) else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw UsageError("--\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'")
        }
        return n
    }

    /// Whether `--name` is present.
    mutating func flag(_ name: String) -> Bool {
        let before = items.count
        items.removeAll { $0 == "--\(name)" }
        return items.count != before
    }

    /// The remaining arguments that are not options, in order.
    mutating func positionals() -> [String] {
        var result: [String] = []
        var rest: [String] = []
        var afterDoubleDash = false
        for item in items {
            if afterDoubleDash || !item.hasPrefix("-") || item == "-" {
                result.append(item)
            } else if item == "--" {
                afterDoubleDash = true
            } else {
                rest.append(item)
            }
        }
        items = rest
        return result
    }

    /// Fails on anything no accessor consumed.
    func finish() throws {
        if let first = items.first {
            throw UsageError(first.hasPrefix("-") ? "unknown option '\(first)'" : "unexpected argument '\(first)'")
        }
    }
}
