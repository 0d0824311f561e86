import Foundation

/// A plan read from files, with everything found wrong in it.
public struct DialplanLoad: Sendable {
    /// The plan, only when there are no errors.
    public let plan: Dialplan?
    public let diagnostics: [Diagnostic]
    public var errors: [Diagnostic] { diagnostics.errors }
}

/// How strictly a plan is read (`[dialplan] mode` of the configuration, `check --asterisk`).
public enum DialplanMode: String, Sendable, CaseIterable {
    /// Any error refuses the plan: what Omnigate's own plans are held to.
    case strict
    /// An Asterisk dialplan brought in as it is: what Asterisk itself only meets at
    /// run time (a jump to an extension, context or label nobody defines, an include
    /// of a context Omnigate lacks, a queue or agent the configuration lacks) is a
    /// warning, and fails at run time as in Asterisk. Syntax errors still refuse it.
    case asterisk
}

/// Reads dialplan files and directories into a checked plan.
public enum DialplanLoader {
    /// Loads files, and the `.conf` files of directories (in name order).
    /// - Parameters:
    ///   - mode: strict, or Asterisk's reading (see `DialplanMode`).
    ///   - names: the configuration's queues, agents and trunks, to check names against; nil checks none.
    public static func load(paths: [String], mode: DialplanMode = .strict, names: ConfigurationNames? = nil) -> DialplanLoad {
        var reader = SourceReader()
        var files: [String] = []
        var missing: [Diagnostic] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                missing.append(Diagnostic(.error, SourceLocation(file: path, line: 0), "no such file or directory"))
                continue
            }
            if isDirectory.boolValue {
                // extensions.conf first (it usually includes the rest), then the others by name.
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".conf") }
                    .sorted { ($0 == "extensions.conf" ? 0 : 1, $0) < ($1 == "extensions.conf" ? 0 : 1, $1) }
                if names.isEmpty { missing.append(Diagnostic(.error, SourceLocation(file: path, line: 0), "no .conf files in this directory")) }
                files += names.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        for file in files { reader.read(path: file) }
        return finish(reader: reader, extra: missing, mode: mode, names: names)
    }

    /// Parses dialplan text (for tests and tools); `file` names it in diagnostics.
    public static func parse(_ text: String, file: String = "extensions.conf", mode: DialplanMode = .strict,
                             names: ConfigurationNames? = nil) -> DialplanLoad {
        var reader = SourceReader()
        reader.read(text: text, file: file)
        return finish(reader: reader, extra: [], mode: mode, names: names)
    }

    private static func finish(reader: SourceReader, extra: [Diagnostic], mode: DialplanMode, names: ConfigurationNames?) -> DialplanLoad {
        var parser = Parser(mode: mode)
        parser.parse(reader.lines)
        var plan = parser.plan
        plan.files = reader.files
        var checker = Checker(plan: plan, mode: mode, names: names)
        checker.check()
        var seen = Set<Diagnostic>()
        let all = (extra + reader.diagnostics + parser.diagnostics + checker.diagnostics)
            .filter { seen.insert($0).inserted }
            .sorted { $0.location < $1.location }
        return DialplanLoad(plan: all.errors.isEmpty ? plan : nil, diagnostics: all)
    }
}
