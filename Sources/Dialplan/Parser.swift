import Foundation

/// Turns dialplan lines into a `Dialplan`, recording every problem and
/// recovering at the next line.
struct Parser {
    private(set) var plan = Dialplan()
    private(set) var diagnostics: [Diagnostic] = []
    private var current: String?          // context being filled
    private var lastExtension: (context: String, index: Int, priority: Int)?
    private var seenContexts: [String: SourceLocation] = [:]
    /// Per context, "name/callerID" to the extension's index, while parsing.
    private var extensionIndexes: [String: [String: Int]] = [:]

    static let generalKeys: Set<String> = ["autofallthrough", "static", "writeprotect", "clearglobalvars", "priorityjumping",
                                           "extenpatternmatchnew", "userscontext", "autofallthrough"]

    mutating func parse(_ lines: [SourceLine]) {
        for line in lines { parseLine(line) }
        for name in plan.contexts.keys { plan.contexts[name]!.index() }
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.error, location, message))
    }

    private mutating func warning(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.warning, location, message))
    }

    private mutating func parseLine(_ line: SourceLine) {
        let text = line.text
        if text.hasPrefix("[") {
            contextHeader(line)
            return
        }
        guard let current else {
            error(line.location, "'\(text.prefix(40))' is outside any [context]")
            return
        }
        // `key => value` or `key = value`
        guard let equals = text.firstIndex(of: "=") else {
            error(line.location, "expected 'exten => …', 'same => …', 'include => …' or 'name = value'; got '\(text.prefix(60))'")
            return
        }
        let key = String(text[..<equals]).trimmedBlanks.lowercased()
        var valueStart = text.index(after: equals)
        if valueStart < text.endIndex, text[valueStart] == ">" { valueStart = text.index(after: valueStart) }
        let leading = text[valueStart...].prefix { $0 == " " || $0 == "\t" }.count
        let value = String(text[valueStart...]).trimmedBlanks
        var valueLocation = line.location
        valueLocation.column += text.distance(from: text.startIndex, to: valueStart) + leading

        switch current {
        case "general":
            if !Parser.generalKeys.contains(key) {
                warning(line.location, "unknown [general] setting '\(key)' is ignored")
            } else if key == "autofallthrough" {
                plan.autofallthrough = ["yes", "true", "on", "1"].contains(value.lowercased())
            }
            return
        case "globals":
            guard !key.isEmpty else { error(line.location, "a global needs a name before '='"); return }
            let name = text[..<equals].trimmingCharacters(in: .whitespaces)
            if plan.globals.contains(where: { $0.name == name }) {
                warning(line.location, "global '\(name)' is set again; the last value wins")
                plan.globals.removeAll { $0.name == name }
            }
            plan.globals.append((name, value))
            return
        default:
            break
        }
        switch key {
        case "exten": exten(value, at: valueLocation, line: line, same: false)
        case "same": exten(value, at: valueLocation, line: line, same: true)
        case "include": include(value, at: valueLocation, context: current)
        case "ignorepat":
            warning(line.location, "ignorepat is ignored: Omnigate gives no dial tone")
        case "switch", "eswitch", "lswitch":
            warning(line.location, "'\(key) =>' (realtime switch) is not supported and is ignored")
        default:
            error(line.location, "unknown statement '\(key)'; expected exten, same or include")
        }
    }

    private mutating func contextHeader(_ line: SourceLine) {
        let text = line.text
        guard let close = text.firstIndex(of: "]") else {
            error(line.location, "a context header looks like [name]; got '\(text)'")
            current = nil
            return
        }
        let name = text[text.index(after: text.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        let options = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces)
        lastExtension = nil
        guard !name.isEmpty, name.allSatisfy({ !$0.isWhitespace && $0 != "[" && $0 != "," }) else {
            error(line.location, "'\(name)' is not a valid context name")
            current = nil
            return
        }
        var extend = false
        if !options.isEmpty {
            if options == "(+)" {
                extend = true
            } else if options.hasPrefix("(") && options.hasSuffix(")") {
                warning(line.location, "context options \(options) (templates) are not supported; [\(name)] is read as a plain context")
            } else {
                error(line.location, "unexpected '\(options)' after [\(name)]")
            }
        }
        current = name
        if name == "general" || name == "globals" { return }
        if let first = seenContexts[name], !extend {
            // Asterisk merges a repeated context; say so, since it is usually a mistake.
            warning(line.location, "context [\(name)] was already defined at \(first); its extensions are added to it (write [\(name)](+) to say so)")
        }
        if seenContexts[name] == nil {
            seenContexts[name] = line.location
            plan.contexts[name] = Context(name: name, location: line.location)
        }
    }

    private mutating func include(_ value: String, at location: SourceLocation, context: String) {
        let separator: Character = value.contains(",") ? "," : "|"
        let parts = value.split(separator: separator, maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = parts.first, !name.isEmpty else {
            error(location, "include needs a context name")
            return
        }
        var time: TimeSpec?
        if parts.count == 2 {
            switch TimeSpec.parse(parts[1]) {
            case .success(let spec): time = spec
            case .failure(let failure):
                error(location, "bad time condition in include: \(failure.message)")
                return
            }
        }
        plan.contexts[context]?.includes.append(Include(context: name, time: time, location: location))
    }

    /// `name[/cid],priority[(label)],Application(args)` (or, for `same`, `priority[(label)],Application(args)`).
    private mutating func exten(_ value: String, at location: SourceLocation, line: SourceLine, same: Bool) {
        guard let contextName = current else { return }
        var fields = Parser.splitTopLevel(value, maxSplits: same ? 1 : 2)
        if fields.count < (same ? 2 : 3) {
            // An unclosed '[' in a pattern swallows the commas: split plainly so the pattern error shows.
            fields = Parser.splitTopLevel(value, maxSplits: same ? 1 : 2, brackets: false)
        }
        var extensionIndex: Int
        if same {
            guard let last = lastExtension, last.context == contextName else {
                error(location, "'same =>' needs an 'exten =>' line before it in [\(contextName)]")
                return
            }
            extensionIndex = last.index
            fields.insert("", at: 0)
        } else {
            guard fields.count == 3 else {
                error(location, "expected 'exten => name,priority,Application(args)'")
                return
            }
            let nameField = fields[0].trimmedBlanks
            guard !nameField.isEmpty else { error(location, "the extension name is empty"); return }
            var name = nameField
            var callerIDText: String?
            if let slash = nameField.firstIndex(of: "/") {
                name = String(nameField[..<slash])
                callerIDText = String(nameField[nameField.index(after: slash)...])
            }
            var pattern: Pattern?
            if name.hasPrefix("_") {
                switch Pattern.compile(name) {
                case .success(let compiled): pattern = compiled
                case .failure(let failure):
                    error(location, "bad pattern '\(name)': \(failure.message)")
                    return
                }
            }
            var callerID: CallerIDMatch?
            if let callerIDText {
                if callerIDText.hasPrefix("_") {
                    switch Pattern.compile(callerIDText) {
                    case .success(let compiled): callerID = .pattern(compiled)
                    case .failure(let failure):
                        error(location, "bad caller-ID pattern '\(callerIDText)': \(failure.message)")
                        return
                    }
                } else {
                    callerID = .literal(callerIDText)
                }
            }
            let key = name + "/" + (callerIDText ?? "")
            let existing = extensionIndexes[contextName]?[key]
            if let existing {
                extensionIndex = existing
            } else {
                plan.contexts[contextName]!.extensions.append(
                    Extension(name: name, pattern: pattern, callerID: callerID, callerIDText: callerIDText, location: location))
                extensionIndex = plan.contexts[contextName]!.extensions.count - 1
                extensionIndexes[contextName, default: [:]][key] = extensionIndex
            }
        }
        let priorityField = fields[1].trimmedBlanks
        let application = fields.count > 2 ? fields[2].trimmedBlanks : ""
        let extensionName = plan.contexts[contextName]!.extensions[extensionIndex].name

        // Priority and optional label: 1, n, n(label), 5(label), hint.
        var number: Int
        var label: String?
        var priorityText = priorityField
        if let open = priorityText.firstIndex(of: "("), priorityText.hasSuffix(")") {
            label = String(priorityText[priorityText.index(after: open)..<priorityText.index(before: priorityText.endIndex)])
            priorityText = String(priorityText[..<open])
            if label!.isEmpty || !label!.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                error(location, "bad priority label '\(label!)'")
                return
            }
        }
        let previous = lastExtension.map { $0.context == contextName && $0.index == extensionIndex ? $0.priority : 0 } ?? 0
        if priorityText.lowercased() == "hint" {
            warning(location, "hint for '\(extensionName)' is ignored: Omnigate has no device state")
            if plan.contexts[contextName]!.extensions[extensionIndex].priorities.isEmpty && !same {
                plan.contexts[contextName]!.extensions.remove(at: extensionIndex)
                extensionIndexes[contextName] = Dictionary(uniqueKeysWithValues: plan.contexts[contextName]!.extensions.enumerated().map {
                    ($0.element.name + "/" + ($0.element.callerIDText ?? ""), $0.offset)
                })
                lastExtension = nil
            }
            return
        } else if priorityText == "n" {
            guard previous > 0 else {
                error(location, "priority 'n' needs a numbered priority before it in extension '\(extensionName)'")
                return
            }
            number = previous + 1
        } else if priorityText == "s" {
            guard previous > 0 else { error(location, "priority 's' needs a priority before it"); return }
            number = previous
        } else if priorityText.hasPrefix("n+"), let step = Int(priorityText.dropFirst(2)), previous > 0, step > 0 {
            number = previous + step
        } else if let n = Int(priorityText), n > 0 {
            number = n
        } else {
            error(location, "bad priority '\(priorityField)'; expected a number, n, n(label) or hint")
            return
        }
        guard !application.isEmpty else {
            error(location, "priority \(number) of '\(extensionName)' has no application")
            return
        }
        guard let (app, arguments, argumentsOffset) = Parser.splitApplication(application) else {
            error(location, "unbalanced parentheses in '\(application.prefix(60))'")
            return
        }
        guard app.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            error(location, "'\(app)' is not an application name")
            return
        }
        var appLocation = location
        // The application starts after the name and priority fields and their commas (and any blanks).
        let rawApplication = fields.count > 2 ? fields[2] : ""
        appLocation.column += (same ? 0 : fields[0].count + 1) + fields[1].count + 1
            + rawApplication.utf8.prefix { $0 == 0x20 || $0 == 0x09 }.count
        var argumentsLocation = appLocation
        argumentsLocation.column += argumentsOffset
        var entry = plan.contexts[contextName]!.extensions[extensionIndex]
        if let existing = entry.priorities[number] {
            error(location, "priority \(number) of extension '\(extensionName)' in [\(contextName)] is already defined at \(existing.location)")
            return
        }
        if let label {
            if let other = entry.labels[label] {
                error(location, "label '\(label)' is already used by priority \(other) of extension '\(extensionName)'")
                return
            }
            entry.labels[label] = number
        }
        entry.priorities[number] = Priority(number: number, label: label, application: app,
                                            canonicalApplication: Catalog.canonicalApplication(app), arguments: arguments,
                                            location: appLocation, argumentsLocation: argumentsLocation)
        plan.contexts[contextName]!.extensions[extensionIndex] = entry
        lastExtension = (contextName, extensionIndex, number)
    }

    /// `App(args)` → ("App", "args", offset of args); `App` alone; legacy `App,args`. Nil when parentheses are unbalanced.
    static func splitApplication(_ text: String) -> (String, String, Int)? {
        if let open = text.firstIndex(of: "(") {
            let name = text[..<open].trimmingCharacters(in: .whitespaces)
            guard text.hasSuffix(")") else { return nil }
            let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            var depth = 0
            for c in inner {
                if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
                if depth < 0 { return nil }
            }
            guard depth == 0 else { return nil }
            return (name, inner, text.distance(from: text.startIndex, to: open) + 1)
        }
        if let comma = text.firstIndex(of: ",") {
            return (text[..<comma].trimmingCharacters(in: .whitespaces), String(text[text.index(after: comma)...]),
                    text.distance(from: text.startIndex, to: comma) + 1)
        }
        return (text.trimmingCharacters(in: .whitespaces), "", text.count)
    }

    /// Splits on commas outside brackets, parentheses and quotes, at most `maxSplits` times.
    static func splitTopLevel(_ text: String, maxSplits: Int = .max, brackets trackBrackets: Bool = true) -> [String] {
        var parts: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        var depth = 0, brackets = 0
        var quoted = false
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") { i += 2; continue }
            if c == UInt8(ascii: "\"") { quoted.toggle() }
            if !quoted {
                switch c {
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"): depth = max(0, depth - 1)
                case UInt8(ascii: "[") where trackBrackets: brackets += 1
                case UInt8(ascii: "]") where trackBrackets: brackets = max(0, brackets - 1)
                case UInt8(ascii: ",") where depth == 0 && brackets == 0 && parts.count < maxSplits:
                    parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                    start = i + 1
                default: break
                }
            }
            i += 1
        }
        parts.append(String(decoding: bytes[min(start, bytes.count)...], as: UTF8.self))
        return parts
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (cheaper than Foundation's trimming).
    var trimmedBlanks: String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(self[first...last])
    }
}
