import Foundation

/// Checks a parsed plan as a whole: applications and functions, jump targets
/// and labels, priorities that can never run, includes of undefined contexts,
/// include cycles.
///
/// In compatibility mode (for Asterisk dialplans brought in as they are),
/// problems Asterisk itself only meets at run time — a jump to nowhere, an
/// include of a context nobody defines — are warnings instead of errors.
struct Checker {
    let plan: Dialplan
    let compatibility: Bool
    private(set) var diagnostics: [Diagnostic] = []

    init(plan: Dialplan, compatibility: Bool) {
        self.plan = plan
        self.compatibility = compatibility
    }

    private var runtimeSeverity: Diagnostic.Severity { compatibility ? .warning : .error }

    mutating func check() {
        var targets: Set<String> = []  // "context|exten|priority" reached by a static jump
        for name in plan.contextNames {
            let context = plan.contexts[name]!
            for extensionEntry in context.extensions {
                for number in extensionEntry.numbers {
                    let priority = extensionEntry.priorities[number]!
                    checkApplication(priority)
                    checkArguments(priority)
                    checkOptions(priority)
                    for (text, isGosub) in jumpTexts(priority) {
                        if let target = checkJump(text, gosub: isGosub, from: context, extensionEntry, priority) {
                            targets.insert(target)
                        }
                    }
                }
            }
            for include in context.includes where plan.contexts[include.context] == nil {
                if let module = Catalog.moduleContexts[include.context] {
                    diagnostics.append(Diagnostic(runtimeSeverity, include.location,
                                                  "[\(name)] includes '\(include.context)', which Asterisk's \(module) provides and Omnigate does not have"))
                } else {
                    diagnostics.append(Diagnostic(runtimeSeverity, include.location,
                                                  "[\(name)] includes '\(include.context)', which is not defined"))
                }
            }
        }
        checkReachability(targets)
        checkIncludeCycles()
    }

    // MARK: - Applications, functions and expressions

    private mutating func checkApplication(_ priority: Priority) {
        if priority.app != nil { return }
        if Catalog.isAsteriskApplication(priority.application) {
            diagnostics.append(Diagnostic(.warning, priority.location,
                                          "application '\(priority.application)' is not supported by Omnigate; this step will be skipped"))
            return
        }
        var message = "unknown application '\(priority.application)'"
        if let suggestion = Self.closest(priority.application, in: Catalog.applications) { message += "; did you mean '\(suggestion)'?" }
        diagnostics.append(Diagnostic(.error, priority.location, message))
    }

    private func at(_ priority: Priority, _ offset: Int) -> SourceLocation {
        var location = priority.argumentsLocation
        location.column += offset
        return location
    }

    private mutating func checkArguments(_ priority: Priority) {
        let template = priority.template
        for unclosed in template.unclosed {
            diagnostics.append(Diagnostic(.error, at(priority, unclosed.offset),
                                          "'\(unclosed.opener)' is not closed with '\(unclosed.opener == "${" ? "}" : "]")'"))
        }
        guard template.literal == nil || priority.app == .set else { return }
        let functions = template.functions
        var names = functions.map { ($0.name, $0.offset) }
        // CONTACT(field) reads as empty for a field the store does not have: a
        // misspelt field would quietly send every caller down the same branch.
        for function in functions where function.name.uppercased() == "CONTACT" {
            guard let field = function.literalArguments?.trimmingCharacters(in: .whitespaces),
                  !TimelineFields.known.contains(field) else { continue }
            var message = field.isEmpty ? "CONTACT() needs a field name" : "unknown CONTACT() field '\(field)'"
            if !field.isEmpty, let suggestion = Self.closest(field, in: TimelineFields.known) { message += "; did you mean '\(suggestion)'?" }
            diagnostics.append(Diagnostic(.error, at(priority, function.offset), message))
        }
        // Set(FUNC(args)=value) writes a function.
        let text = priority.arguments
        if priority.app == .set, let paren = text.firstIndex(of: "("), let equals = text.firstIndex(of: "="), paren < equals {
            let name = text[..<paren].trimmingCharacters(in: .whitespaces)
            if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.append((name, 0)) }
        }
        for (name, offset) in names {
            let upper = name.uppercased()
            if Catalog.functions.contains(upper) { continue }
            if Catalog.asteriskFunctions.contains(upper) {
                diagnostics.append(Diagnostic(.warning, at(priority, offset), "function '\(name)' is not supported by Omnigate; it reads as empty"))
            } else {
                var message = "unknown function '\(name)'"
                if let suggestion = Self.closest(upper, in: Catalog.functions) { message += "; did you mean '\(suggestion)'?" }
                diagnostics.append(Diagnostic(.error, at(priority, offset), message))
            }
        }
        for (expression, offset) in template.expressions {
            if let error = Expression.syntaxError(expression) {
                diagnostics.append(Diagnostic(.error, at(priority, offset), "bad expression $[\(expression)]: \(error.message)"))
            }
        }
    }

    /// Dial and Queue options Omnigate honours; Asterisk's others (t, T, r, m,
    /// A(…), L(…), …) are warnings, since the call goes on without them.
    private static let honouredOptions: [Application: (argument: Int, letters: Set<Character>)] = [
        .dial: (2, ["g"]), .queue: (1, ["c"]),
    ]

    private mutating func checkOptions(_ priority: Priority) {
        guard let app = priority.app, let honoured = Self.honouredOptions[app], priority.template.literal != nil else { return }
        let parts = Parser.splitTopLevel(priority.arguments)
        guard parts.count > honoured.argument else { return }
        let start = parts[..<honoured.argument].reduce(0) { $0 + $1.utf8.count + 1 }
        for (letter, offset) in Interpreter.optionLetters(parts[honoured.argument]) where !honoured.letters.contains(letter) {
            diagnostics.append(Diagnostic(.warning, at(priority, start + offset),
                                          "\(app.rawValue) option '\(letter)' is not supported by Omnigate; it is ignored"))
        }
    }

    // MARK: - Jumps

    /// The jump targets a priority names: (text, is it a Gosub).
    private func jumpTexts(_ priority: Priority) -> [(String, Bool)] {
        let args = priority.arguments
        switch priority.app {
        case .goto?: return [(args, false)]
        case .gotoIf?, .gotoIfTime?: return Self.branches(args).compactMap { $0 }.map { ($0, false) }
        case .gosub?: return [(args, true)]
        case .gosubIf?: return Self.branches(args).compactMap { $0 }.map { ($0, true) }
        default: return []
        }
    }

    /// The two branches of `condition?yes:no`; nil for one left empty.
    static func branches(_ text: String) -> [String?] {
        guard let question = text.firstIndex(of: "?") else { return [] }
        let rest = text[text.index(after: question)...]
        if let colon = rest.firstIndex(of: ":") {
            let yes = String(rest[..<colon]), no = String(rest[rest.index(after: colon)...])
            return [yes.isEmpty ? nil : yes, no.isEmpty ? nil : no]
        }
        return [rest.isEmpty ? nil : String(rest), nil]
    }

    /// Checks a static jump; returns "context|exten|priority" it reaches, or nil.
    private mutating func checkJump(_ text: String, gosub: Bool, from context: Context, _ extensionEntry: Extension,
                                    _ priority: Priority) -> String? {
        var place = text.trimmingCharacters(in: .whitespaces)
        if gosub, let open = place.firstIndex(of: "("), place.hasSuffix(")") { place = String(place[..<open]) }
        guard !place.contains("$") else { return nil }  // computed at run time
        var parts = Parser.splitTopLevel(place).map { $0.trimmingCharacters(in: .whitespaces) }
        let app = gosub ? "Gosub" : "Goto"
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            diagnostics.append(Diagnostic(.error, priority.argumentsLocation, "\(app) target '\(place)' is not [[context,]extension,]priority"))
            return nil
        }
        var contextName = context.name
        var exten = extensionEntry.name
        let bare = parts.count == 1
        if parts.count == 3 { contextName = parts.removeFirst() }
        if parts.count == 2 { exten = parts.removeFirst() }
        let priorityText = parts[0]
        guard plan.contexts[contextName] != nil else {
            diagnostics.append(Diagnostic(runtimeSeverity, priority.argumentsLocation, "\(app) to context '\(contextName)', which is not defined"))
            return nil
        }
        // A bare priority or label stays in the current extension (even a pattern one);
        // otherwise, as in Asterisk, the first extension the name reaches that has it.
        let key = Array(exten.utf8).filter { $0 != dash }
        func first(_ accept: (Extension) -> Bool) -> (context: String, extension: Extension)? {
            if bare { return accept(extensionEntry) ? (context.name, extensionEntry) : nil }
            return plan.first(key, in: contextName, callerID: nil, at: nil, timeZone: .current, where: accept)
                .map { (plan.table[$0.context].name, plan[$0]) }
        }
        guard first({ _ in true }) != nil else {
            diagnostics.append(Diagnostic(runtimeSeverity, priority.argumentsLocation, "\(app) to extension '\(exten)', which [\(contextName)] does not have"))
            return nil
        }
        if let number = Int(priorityText) {
            guard let found = first({ $0.priorities[number] != nil }) else {
                diagnostics.append(Diagnostic(runtimeSeverity, priority.argumentsLocation,
                                              "\(app) to priority \(number) of '\(exten)' in [\(contextName)], which does not exist"))
                return nil
            }
            return "\(found.context)|\(found.extension.name)|\(number)"
        }
        guard let found = first({ $0.labels[priorityText] != nil }) else {
            diagnostics.append(Diagnostic(runtimeSeverity, priority.argumentsLocation,
                                          "\(app) to label '\(priorityText)', which extension '\(exten)' in [\(contextName)] does not have"))
            return nil
        }
        return "\(found.context)|\(found.extension.name)|\(found.extension.labels[priorityText]!)"
    }

    // MARK: - Reachability

    private mutating func checkReachability(_ targets: Set<String>) {
        for name in plan.contextNames {
            for extensionEntry in plan.contexts[name]!.extensions {
                let numbers = extensionEntry.numbers
                for (i, number) in numbers.enumerated() {
                    let priority = extensionEntry.priorities[number]!
                    if priority.label != nil || targets.contains("\(name)|\(extensionEntry.name)|\(number)") { continue }
                    if number == 1 { continue }
                    if i > 0, numbers[i - 1] == number - 1 {
                        let previous = extensionEntry.priorities[number - 1]!
                        guard Self.neverContinues(previous) else { continue }
                        let app = previous.app?.rawValue ?? previous.application
                        diagnostics.append(Diagnostic(.warning, priority.location,
                                                      "priority \(number) of '\(extensionEntry.name)' in [\(name)] can never run: \(app) at priority \(number - 1) never continues to it"))
                    } else {
                        diagnostics.append(Diagnostic(.warning, priority.location,
                                                      "priority \(number) of '\(extensionEntry.name)' in [\(name)] can never run: there is no priority \(number - 1) before it and nothing jumps to it"))
                    }
                }
            }
        }
    }

    /// Goto, Hangup, Busy, Congestion, Return; GotoIf and GotoIfTime with both branches.
    static func neverContinues(_ priority: Priority) -> Bool {
        guard let app = priority.app else { return false }
        if app.neverContinues { return true }
        if app == .gotoIf || app == .gotoIfTime {
            let branches = Self.branches(priority.arguments)
            return branches.count == 2 && branches.allSatisfy { $0 != nil }
        }
        return false
    }

    private mutating func checkIncludeCycles() {
        var reported: Set<String> = []
        for start in plan.contextNames {
            var path: [String] = []
            func visit(_ name: String) {
                if let index = path.firstIndex(of: name) {
                    let cycle = Array(path[index...]) + [name]
                    let key = cycle.dropLast().sorted().joined(separator: ",")
                    if reported.insert(key).inserted, let include = plan.contexts[path.last!]?.includes.first(where: { $0.context == name }) {
                        diagnostics.append(Diagnostic(.warning, include.location,
                                                      "include cycle: \(cycle.joined(separator: " -> ")); the repeat is skipped when searching"))
                    }
                    return
                }
                guard let context = plan.contexts[name], path.count < 64 else { return }
                path.append(name)
                for include in context.includes { visit(include.context) }
                path.removeLast()
            }
            visit(start)
        }
    }

    /// The nearest name within two edits (a swap of neighbours is one edit), for "did you mean".
    static func closest(_ name: String, in names: Set<String>) -> String? {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a.lowercased()), b = Array(b.lowercased())
            guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
            var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in 1...a.count {
                for j in 1...b.count {
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        return names.map { ($0, distance(name, $0)) }.filter { $0.1 <= 2 }.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }
}
