// Dialplan: Omnigate's Asterisk-compatible dialplan language.
//
// Rules, first:
// - Pure Swift: no SIP, no store, no I/O but reading dialplan files.
// - The parser never stops at the first problem: it records a `Diagnostic`
//   and goes on with the next line, so `omnigate dialplan check` reports
//   everything at once. Every loop consumes input, so no file can hang it.
// - A plan with errors is never handed out to run.
// - The interpreter owns control flow and variables; everything that touches
//   a call is a command on the `Channel` protocol, which the gateway backs
//   with a real SIP call and tests back with a `ScriptedChannel`.
//
// Files by construct: Loader (files and directories, all or nothing),
// SourceReader (lines, comments, #include), Parser, Model (the plan and
// Asterisk's search order), Patterns, Substitution (${} and $[] compiled at
// load), Expressions, Functions, TimeSpec, Catalog (what Omnigate runs, and
// Asterisk's other names), Checker, Interpreter, Applications/, Channel,
// ScriptedChannel, LivePlan (reload), Graph.

/// A place in a dialplan file; lines and columns count from 1.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem found in a dialplan, with where it is.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `Dialplans/support.conf:6:14: error: unknown application 'Dail'`
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

extension Array where Element == Diagnostic {
    public var errors: [Diagnostic] { filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { filter { $0.severity == .warning } }
}
