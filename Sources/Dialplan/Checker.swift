import Foundation

/// Checks a parsed plan as a whole: applications and functions, jump targets
/// and labels, priorities that can never run, includes of undefined contexts,
/// include cycles.
///
/// In Asterisk mode (for Asterisk dialplans brought in as they are), problems
/// Asterisk itself only meets at run time — a jump to nowhere, an include of a
/// context nobody defines, a queue or agent the configuration lacks — are
/// warnings instead of errors.
struct Checker {
    let plan: Dialplan
    let mode: DialplanMode
    let names: ConfigurationNames?
    var diagnostics: [Diagnostic] = []

    init(plan: Dialplan, mode: DialplanMode, names: ConfigurationNames? = nil) {
        self.plan = plan
        self.mode = mode
        self.names = names
    }

    var runtimeSeverity: Diagnostic.Severity { mode == .asterisk ? .warning : .error }

    mutating func check() {
        var targets: Set<String> = []  // "context|exten|priority" reached by a static jump
        for name in plan.contextNames {
            let context = plan.contexts[name]!
            for extensionEntry in context.extensions {
                for number in extensionEntry.numbers {
                    let priority = extensionEntry.priorities[number]!
                    checkApplication(priority)
                    checkCalls(priority)
                    checkArguments(priority)
                    checkOptions(priority)
                    checkConfiguration(priority)
                    for jump in Self.jumps(priority) {
                        if let target = checkJump(jump, from: context, extensionEntry, priority) {
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
        if let diagnostic = missingApplication(priority.application, at: priority.location, skipped: "this step will be skipped") {
            diagnostics.append(diagnostic)
        }
    }

    /// What to say about an application Omnigate does not run: Asterisk 22's is a
    /// warning; one Asterisk 21 removed is unknown (a warning in Asterisk mode, where
    /// the call ends at it, as in Asterisk 22); anything else is a misspelling.
    private func missingApplication(_ name: String, at location: SourceLocation, skipped: String) -> Diagnostic? {
        if Catalog.isAsteriskApplication(name) {
            return Diagnostic(.warning, location, "application '\(name)' is not supported by Omnigate; \(skipped)")
        }
        if let removed = Catalog.removedApplication(name) {
            if mode == .asterisk {
                return Diagnostic(.warning, location, "application '\(removed)' was removed in Asterisk 21: Asterisk 22 ends the call at this step, and so does Omnigate")
            }
            return Diagnostic(.error, location, "unknown application '\(name)': Asterisk removed it in version 21")
        }
        return Diagnostic(.error, location, Self.unknownApplication(name))
    }

    static func unknownApplication(_ name: String) -> String {
        var message = "unknown application '\(name)'"
        if let suggestion = closest(name, in: Catalog.allApplications) { message += "; did you mean '\(suggestion)'?" }
        return message
    }

    /// The applications Exec, TryExec, ExecIf and ExecIfTime run, where the plan names them.
    private mutating func checkCalls(_ priority: Priority) {
        guard case .branches = priority.shape else {
            guard case .call = priority.shape else { return }
            return checkCallsIn(priority)
        }
        checkCallsIn(priority)
    }

    private mutating func checkCallsIn(_ priority: Priority) {
        func visit(_ shape: Shape, in caller: Application?) {
            switch shape {
            case .plain, .computedCall: break
            case .branches(_, let yes, let no, _):
                if let yes { visit(yes, in: caller) }
                if let no { visit(no, in: caller) }
            case .call(let name, let app, _, let arguments, _, let offset):
                if app == nil {
                    if caller == .tryExec {
                        // Probing for an application is what TryExec is for: never an error.
                        let what = Catalog.isAsteriskApplication(name) ? "is not supported by Omnigate" : "does not exist in Omnigate or Asterisk 22"
                        diagnostics.append(Diagnostic(.warning, at(priority, offset), "application '\(name)' \(what); TryExec sets TRYSTATUS to NOAPP"))
                    } else if let diagnostic = missingApplication(name, at: at(priority, offset), skipped: "this step will be skipped") {
                        diagnostics.append(diagnostic)
                    }
                }
                visit(arguments, in: app)
            }
        }
        visit(priority.shape, in: priority.app)
    }

    func at(_ priority: Priority, _ offset: Int) -> SourceLocation {
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
        // CHANNEL() answers two of Asterisk's items: any other reads as empty.
        for function in functions where function.name.uppercased() == "CHANNEL" {
            guard let item = function.literalArguments?.trimmingCharacters(in: .whitespaces),
                  !["endpoint", "channeltype"].contains(item.lowercased()) else { continue }
            diagnostics.append(Diagnostic(.warning, at(priority, function.offset),
                                          "CHANNEL(\(item)) is not supported by Omnigate (it answers endpoint and channeltype); it reads as empty"))
        }
        // Set(FUNC(args)=value) writes a function.
        let text = priority.arguments
        if priority.app == .set, let paren = text.firstIndex(of: "("), let equals = text.firstIndex(of: "="), paren < equals {
            let name = text[..<paren].trimmingCharacters(in: .whitespaces)
            if name.uppercased() == "CHANNEL" {
                diagnostics.append(Diagnostic(.warning, at(priority, 0), "Omnigate does not set CHANNEL(); this Set is ignored"))
            } else if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                names.append((name, 0))
            }
        }
        for (name, offset) in names {
            let upper = name.uppercased()
            if Catalog.functions.contains(upper) { continue }
            if Catalog.asteriskFunctions.contains(upper) {
                diagnostics.append(Diagnostic(.warning, at(priority, offset), "function '\(name)' is not supported by Omnigate; it reads as empty"))
            } else if Catalog.removedFunctions.contains(upper) {
                if mode == .asterisk {
                    diagnostics.append(Diagnostic(.warning, at(priority, offset), "function '\(upper)' was removed in Asterisk 21; it reads as empty, as in Asterisk 22"))
                } else {
                    diagnostics.append(Diagnostic(.error, at(priority, offset), "unknown function '\(name)': Asterisk removed it in version 21"))
                }
            } else {
                var message = "unknown function '\(name)'"
                if let suggestion = Self.closest(upper, in: Catalog.allFunctions) { message += "; did you mean '\(suggestion)'?" }
                diagnostics.append(Diagnostic(.error, at(priority, offset), message))
            }
        }
        for (expression, offset) in template.expressions {
            if let error = Expression.syntaxError(expression) {
                // Asterisk loads such a plan and evaluates the expression as far as it parses (see
                // Expression.evaluateAtRunTime): an error in an Omnigate plan, a warning in Asterisk mode.
                if mode == .asterisk {
                    diagnostics.append(Diagnostic(.warning, at(priority, offset),
                                                  "bad expression $[\(expression)]: \(error.message); Asterisk reads it as far as it parses, and so does Omnigate"))
                } else {
                    diagnostics.append(Diagnostic(.error, at(priority, offset), "bad expression $[\(expression)]: \(error.message)"))
                }
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

    /// A place a step may jump to, as the plan wrote it.
    struct Jump {
        /// The target text, with a Gosub's `(arguments)` removed.
        var text: String
        var gosub: Bool
        /// Where the target starts in the arguments.
        var offset: Int
        /// The condition the jump is taken on (GotoIf's, ExecIf's), for the graph; nil for an unconditional one.
        var condition: String?
        /// True for the branch taken when the condition is false.
        var otherwise = false
        /// Nil when the target is computed at run time.
        var literal: Bool
    }

    /// Every jump a step names: Goto, GotoIf, GotoIfTime, Gosub, GosubIf, and these
    /// run by Exec, TryExec, ExecIf and ExecIfTime, with their branches found as the
    /// interpreter finds them (see `Shape`).
    static func jumps(_ priority: Priority) -> [Jump] {
        guard let app = priority.app, [.goto, .gotoIf, .gotoIfTime, .gosub, .gosubIf, .execIf, .execIfTime, .exec, .tryExec].contains(app) else {
            return []
        }
        var found: [Jump] = []
        func target(_ template: Template, gosub: Bool, condition: String?, otherwise: Bool) {
            guard let text = template.literal else {
                found.append(Jump(text: "", gosub: gosub, offset: template.startOffset, condition: condition, otherwise: otherwise, literal: false))
                return
            }
            var place = text
            if gosub, let open = place.firstIndex(of: "(") { place = String(place[..<open]) }
            found.append(Jump(text: place, gosub: gosub, offset: template.startOffset, condition: condition, otherwise: otherwise, literal: true))
        }
        func visit(_ app: Application?, _ shape: Shape, condition: String?) {
            switch (app, shape) {
            case (.goto?, .plain(let template)), (.gosub?, .plain(let template)):
                if !template.pieces.isEmpty { target(template, gosub: app == .gosub, condition: condition, otherwise: false) }
            case (.gotoIf?, .branches(let c, let yes, let no, _)), (.gotoIfTime?, .branches(let c, let yes, let no, _)),
                 (.gosubIf?, .branches(let c, let yes, let no, _)):
                let text = Self.conditionText(c)
                if case .plain(let template)? = yes, !template.pieces.isEmpty { target(template, gosub: app == .gosubIf, condition: text, otherwise: false) }
                if case .plain(let template)? = no, !template.pieces.isEmpty { target(template, gosub: app == .gosubIf, condition: text, otherwise: true) }
            case (.execIf?, .branches(let c, let yes, let no, _)), (.execIfTime?, .branches(let c, let yes, let no, _)):
                let text = Self.conditionText(c)
                if case .call(_, let inner, _, let arguments, _, _)? = yes { visit(inner, arguments, condition: text) }
                if case .call(_, let inner, _, let arguments, _, _)? = no {
                    let before = found.count
                    visit(inner, arguments, condition: text)
                    for i in before..<found.count { found[i].otherwise = true }
                }
            case (.exec?, .call(_, let inner, _, let arguments, _, _)), (.tryExec?, .call(_, let inner, _, let arguments, _, _)):
                visit(inner, arguments, condition: condition)
            default:
                break
            }
        }
        visit(priority.app, priority.shape, condition: nil)
        return found
    }

    /// A condition as the plan wrote it, for messages and the graph.
    static func conditionText(_ template: Template) -> String {
        func text(_ pieces: [Template.Piece]) -> String {
            pieces.map { piece -> String in
                switch piece {
                case .text(let value): return value
                case .expression(let inner, _): return "$[" + text(inner) + "]"
                case .reference(let reference):
                    let substring = reference.substring.map { ":" + text($0) } ?? ""
                    switch reference.name {
                    case .variable(let name): return "${" + name + substring + "}"
                    case .function(let name, let arguments): return "${" + name + "(" + text(arguments) + ")" + substring + "}"
                    case .dynamic(let inner): return "${" + text(inner) + substring + "}"
                    }
                }
            }.joined()
        }
        return text(template.pieces)
    }

    /// Checks a jump the plan writes out; returns "context|exten|priority" it reaches, or nil.
    private mutating func checkJump(_ jump: Jump, from context: Context, _ extensionEntry: Extension,
                                    _ priority: Priority) -> String? {
        guard jump.literal else { return nil }  // computed at run time
        let place = Parser.trimmedBlanks(jump.text)
        let location = at(priority, jump.offset)
        var parts = Parser.splitTopLevel(place).map { Parser.trimmedBlanks($0) }
        let app = jump.gosub ? "Gosub" : "Goto"
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            diagnostics.append(Diagnostic(.error, location, "\(app) target '\(place)' is not [[context,]extension,]priority"))
            return nil
        }
        var contextName = context.name
        var exten = extensionEntry.name
        let bare = parts.count == 1
        if parts.count == 3 { contextName = parts.removeFirst() }
        if parts.count == 2 { exten = parts.removeFirst() }
        let priorityText = parts[0]
        guard plan.contexts[contextName] != nil else {
            diagnostics.append(Diagnostic(runtimeSeverity, location, "\(app) to context '\(contextName)', which is not defined"))
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
            diagnostics.append(Diagnostic(runtimeSeverity, location, "\(app) to extension '\(exten)', which [\(contextName)] does not have"))
            return nil
        }
        var number = Int(priorityText)
        // `+N` and `-N` count from the step's own priority.
        if let sign = priorityText.first, sign == "+" || sign == "-", let n = Int(priorityText.dropFirst()) {
            number = priority.number + (sign == "+" ? n : -n)
        }
        if let number {
            guard let found = first({ $0.priorities[number] != nil }) else {
                diagnostics.append(Diagnostic(runtimeSeverity, location,
                                              "\(app) to priority \(number) of '\(exten)' in [\(contextName)], which does not exist"))
                return nil
            }
            return "\(found.context)|\(found.extension.name)|\(number)"
        }
        guard let found = first({ $0.labels[priorityText] != nil }) else {
            diagnostics.append(Diagnostic(runtimeSeverity, location,
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
                    // If and While jump to an ElseIf, past an Else, an EndIf or an EndWhile.
                    if priority.app == .elseIf { continue }
                    if let previous = extensionEntry.priorities[number - 1]?.app, [.else, .endIf, .endWhile].contains(previous) { continue }
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

    /// Goto, Hangup, Busy, Congestion, Return, RaiseException, ExitWhile, ContinueWhile;
    /// GotoIf and GotoIfTime with both branches.
    static func neverContinues(_ priority: Priority) -> Bool {
        guard let app = priority.app else { return false }
        if app.neverContinues { return true }
        if app == .gotoIf || app == .gotoIfTime, case .branches(_, let yes?, let no?, _) = priority.shape {
            return !(yes.template?.pieces.isEmpty ?? false) && !(no.template?.pieces.isEmpty ?? false)
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
