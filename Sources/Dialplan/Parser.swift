import Foundation

/// Turns dialplan lines into a `Dialplan`, recording every problem and
/// recovering at the next line. Works on the UTF-8 bytes of each line;
/// columns count bytes from 1 (characters, for the ASCII dialplans are).
struct Parser {
    private(set) var plan = Dialplan()
    private(set) var diagnostics: [Diagnostic] = []
    private var current: String?          // context being filled
    /// The last line that numbered a priority in the current context: its extension field as
    /// written (for `same`), where it was, and its priority (`hintPriority` for a hint).
    private var lastLine: (context: String, name: [UInt8], location: SourceLocation, priority: Int)?
    let mode: DialplanMode

    init(mode: DialplanMode = .strict) {
        self.mode = mode
    }

    /// The number Asterisk gives a hint.
    static let hintPriority = -1
    private var seenContexts: [String: SourceLocation] = [:]
    /// Per context: an extension's name and caller-ID text as written, and as matched, to its index.
    private var written: [String: [String: Int]] = [:]
    private var canonical: [String: [ExtensionKey: Int]] = [:]

    /// What makes two extension lines the same extension: the name as matched
    /// (dashes ignored; `_X.` and `_x.` alike) and the caller-ID condition.
    private struct ExtensionKey: Hashable {
        enum Name: Hashable { case literal([UInt8]), pattern([Pattern.Element]) }
        var name: Name
        var callerID: String?
    }

    /// Priorities are C ints in Asterisk.
    static let maxPriority = Int(Int32.max)

    static let generalKeys: Set<String> = ["autofallthrough", "static", "writeprotect", "clearglobalvars", "priorityjumping",
                                           "extenpatternmatchnew", "userscontext"]

    mutating func parse(_ lines: [SourceLine]) {
        for line in lines { parseLine(line) }
        plan.index()
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.error, location, message))
    }

    private mutating func warning(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.warning, location, message))
    }

    private mutating func parseLine(_ line: SourceLine) {
        let text = line.text
        let bytes = Array(text.utf8)
        if bytes.first == openBracket {
            contextHeader(line)
            return
        }
        guard let current else {
            error(line.location, "'\(text.prefix(40))' is outside any [context]")
            return
        }
        // `key => value` or `key = value`
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
            error(line.location, "expected 'exten => …', 'same => …', 'include => …' or 'name = value'; got '\(text.prefix(60))'")
            return
        }
        let name = Parser.trimmed(bytes[..<equals])
        let key = String(decoding: name, as: UTF8.self).lowercased()
        var valueStart = equals + 1
        if valueStart < bytes.count, bytes[valueStart] == UInt8(ascii: ">") { valueStart += 1 }
        while valueStart < bytes.count, Parser.isBlank(bytes[valueStart]) { valueStart += 1 }
        let valueBytes = Parser.trimmed(bytes[valueStart...])
        let value = String(decoding: valueBytes, as: UTF8.self)
        var valueLocation = line.location
        valueLocation.column += valueStart

        switch current {
        case "general":
            if !Parser.generalKeys.contains(key) {
                // A near miss of a real setting is a typo that would silently change nothing.
                if let meant = Checker.closest(key, in: Parser.generalKeys) {
                    error(line.location, "unknown [general] setting '\(key)'; did you mean '\(meant)'?")
                } else {
                    warning(line.location, "unknown [general] setting '\(key)' is ignored")
                }
            } else if key == "autofallthrough" {
                plan.autofallthrough = Parser.isTrue(value)
            } else if key == "clearglobalvars" {
                plan.clearGlobals = Parser.isTrue(value)
            }
            return
        case "globals":
            guard !key.isEmpty else { error(line.location, "a global needs a name before '='"); return }
            let globalName = String(decoding: name, as: UTF8.self)
            if plan.globals.contains(where: { $0.name == globalName }) {
                warning(line.location, "global '\(globalName)' is set again; the last value wins")
                plan.globals.removeAll { $0.name == globalName }
            }
            plan.globals.append((globalName, value))
            return
        default:
            break
        }
        switch key {
        case "exten": exten(valueBytes, at: valueLocation, same: false)
        case "same": exten(valueBytes, at: valueLocation, same: true)
        case "include": include(value, at: valueLocation, context: current)
        case "ignorepat":
            warning(line.location, "ignorepat is ignored: Omnigate gives no dial tone")
        case "switch", "eswitch", "lswitch":
            warning(line.location, "'\(key) =>' (realtime switch) is not supported and is ignored")
        default:
            error(line.location, "unknown statement '\(key)'; expected exten, same or include")
        }
    }

    static func isTrue(_ value: String) -> Bool { ["yes", "true", "on", "1", "y", "t"].contains(value.lowercased()) }

    private mutating func contextHeader(_ line: SourceLine) {
        let text = line.text
        guard let close = text.firstIndex(of: "]") else {
            error(line.location, "a context header looks like [name]; got '\(text)'")
            current = nil
            return
        }
        let name = text[text.index(after: text.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        let options = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces)
        lastLine = nil
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
        if extend && seenContexts[name] == nil {
            // Asterisk refuses to add to a category it has not read yet.
            error(line.location, "[\(name)](+) adds to context [\(name)], which is not defined before this line")
        }
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
    private mutating func exten(_ value: ArraySlice<UInt8>, at location: SourceLocation, same: Bool) {
        guard let contextName = current else { return }
        // Fields: the name (commas inside a pattern's [ ] do not count, as in Asterisk's
        // pbx_config), the priority, and the application with all the rest.
        var fields: [Range<Int>] = []
        var start = value.startIndex
        if !same {
            var brackets = 0
            var i = value.startIndex
            while i < value.endIndex {
                let b = value[i]
                if b == openBracket { brackets += 1 } else if b == closeBracket { brackets = max(0, brackets - 1) }
                else if b == backslash { i += 1 } else if b == comma && brackets == 0 { break }
                i += 1
            }
            if i >= value.endIndex, let plain = value.firstIndex(of: comma) {
                // An unclosed '[' swallows the commas: split plainly so the pattern error shows.
                i = plain
            }
            guard i < value.endIndex else {
                error(location, "expected 'exten => name,priority,Application(args)'")
                return
            }
            fields.append(start..<i)
            start = i + 1
        }
        guard let priorityEnd = value[start...].firstIndex(of: comma) else {
            if same, lastLine?.context != contextName {
                error(location, "'same =>' needs an 'exten =>' line before it in [\(contextName)]")
                return
            }
            error(location, "expected 'exten => name,priority,Application(args)'")
            return
        }
        fields.append(start..<priorityEnd)
        fields.append((priorityEnd + 1)..<value.endIndex)

        // The extension: named on this line, or for `same`, on the line before.
        let nameField: [UInt8]
        let nameLocation: SourceLocation
        if same {
            guard let last = lastLine, last.context == contextName else {
                error(location, "'same =>' needs an 'exten =>' line before it in [\(contextName)]")
                return
            }
            nameField = last.name
            nameLocation = last.location
        } else {
            nameField = Array(Parser.trimmed(value[fields[0]]))
            nameLocation = location
        }
        let created = plan.contexts[contextName]!.extensions.count
        guard let extensionIndex = extensionFor(nameField[...], in: contextName, at: nameLocation, warn: !same) else { return }
        let priorityField = String(decoding: Parser.trimmed(value[fields[fields.count - 2]]), as: UTF8.self)
        let applicationRange = fields[fields.count - 1]
        let extensionName = plan.contexts[contextName]!.extensions[extensionIndex].name
        // A line that adds nothing leaves no extension behind (a hint, or a line with an error).
        var added = false
        defer {
            if !added, extensionIndex == created, plan.contexts[contextName]!.extensions[extensionIndex].priorities.isEmpty {
                removeExtension(extensionIndex, in: contextName)
            }
        }

        // Priority and optional label: 1, n, n(label), 5(label), n+2, s, hint, label+101, 1+199(name).
        // As in Asterisk's pbx_config: the label comes off first, then the text splits at '+';
        // the base is a number, n (the previous line's priority + 1), s (the same), or a label
        // an earlier line of this extension has; the offset is added to it.
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
        var offset = 0
        if let plus = priorityText.firstIndex(of: "+") {
            let offsetText = priorityText[priorityText.index(after: plus)...]
            guard let value = Int(offsetText), value >= 0, value <= Parser.maxPriority else {
                error(location, "bad priority '\(priorityField)': the offset after '+' must be a whole number from 0 to \(Parser.maxPriority)")
                return
            }
            offset = value
            priorityText = String(priorityText[..<plus])
        }
        // As in Asterisk's pbx_config, `n` and `s` count from the previous line of the context, whatever its extension.
        let previous = lastLine.map { $0.context == contextName ? $0.priority : 0 } ?? 0
        var base: Int
        if priorityText == "hint" {
            guard offset == 0 else {
                error(location, "bad priority '\(priorityField)'; expected a number, n, n(label) or hint")
                return
            }
            warning(location, "hint for '\(extensionName)' is ignored: Omnigate has no device state")
            // Asterisk numbers a hint -1: an `n` straight after it has no number.
            lastLine = (contextName, nameField, nameLocation, Parser.hintPriority)
            return
        } else if priorityText == "n" || priorityText == "next" || priorityText == "s" || priorityText == "same" {
            let word = priorityText.hasPrefix("n") ? "n" : "s"
            if previous == Parser.hintPriority {
                // Asterisk numbers this line 0 and drops it without a word.
                let message = "priority '\(priorityField)' follows a hint, which has no number; Asterisk drops this line"
                if mode == .asterisk { warning(location, message + ", and so does Omnigate") } else { error(location, message + "; give it a number") }
                return
            }
            guard previous > 0 else {
                if word == "n" {
                    error(location, "priority 'n' needs a numbered priority before it in extension '\(extensionName)'")
                } else {
                    error(location, "priority 's' needs a priority before it")
                }
                return
            }
            base = word == "n" ? previous + 1 : previous
        } else if let n = Int(priorityText) {
            guard n > 0, n <= Parser.maxPriority else {
                error(location, "bad priority '\(priorityField)'; expected a number, n, n(label) or hint")
                return
            }
            base = n
        } else if !priorityText.isEmpty, let labelled = plan.contexts[contextName]!.extensions[extensionIndex].labels[priorityText] {
            base = labelled
        } else if !priorityText.isEmpty, priorityText.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
                  !priorityText.allSatisfy(\.isNumber) {
            error(location, "bad priority '\(priorityField)': extension '\(extensionName)' has no label '\(priorityText)' before this line")
            return
        } else {
            error(location, "bad priority '\(priorityField)'; expected a number, n, n(label) or hint")
            return
        }
        guard offset <= Parser.maxPriority - base else {
            error(location, "bad priority '\(priorityField)'; expected a number, n, n(label) or hint")
            return
        }
        let number = base + offset

        // The application: `App(args)`, `App`, or the old `App,args`.
        let application = Parser.trimmed(value[applicationRange])
        guard !application.isEmpty else {
            error(location, "priority \(number) of '\(extensionName)' has no application")
            return
        }
        var appLocation = location
        appLocation.column += application.startIndex - value.startIndex
        guard let (nameRange, argumentRange) = Parser.splitApplication(application) else {
            error(appLocation, "unbalanced parentheses in '\(String(decoding: application, as: UTF8.self).prefix(60))'")
            return
        }
        let app = String(decoding: Parser.trimmed(application[nameRange]), as: UTF8.self)
        guard !app.isEmpty, app.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            error(appLocation, "'\(app)' is not an application name")
            return
        }
        var argumentsLocation = appLocation
        argumentsLocation.column += argumentRange.lowerBound - application.startIndex
        let arguments = String(decoding: application[argumentRange], as: UTF8.self)

        // Read without keeping a copy of the extension: a copy alive across the insert below
        // would make the priorities' storage copy itself on every line.
        if let other = plan.contexts[contextName]!.extensions[extensionIndex].priorities[number] {
            error(location, "priority \(number) of extension '\(extensionName)' in [\(contextName)] is already defined at \(other.location)")
            return
        }
        if let name = label, let other = plan.contexts[contextName]!.extensions[extensionIndex].labels[name] {
            // Asterisk keeps the step and warns; a jump to the label goes to the first.
            guard mode == .asterisk else {
                error(location, "label '\(name)' is already used by priority \(other) of extension '\(extensionName)'")
                return
            }
            warning(location, "label '\(name)' is already used by priority \(other) of extension '\(extensionName)'; as in Asterisk, jumps to it go there")
            label = nil
        }
        let known = Application.named(app)
        let template = Template(arguments)
        let priority = Priority(number: number, label: label, application: app, arguments: arguments,
                                location: appLocation, argumentsLocation: argumentsLocation,
                                app: known, compiled: CompiledArguments(template: template, shape: Shape.of(known, template)))
        plan.contexts[contextName]!.extensions[extensionIndex].priorities[number] = priority
        if let label { plan.contexts[contextName]!.extensions[extensionIndex].labels[label] = number }
        added = true
        lastLine = (contextName, nameField, nameLocation, number)
    }

    /// The extension a `name[/cid]` field names in a context, added when new; nil (with an error) when malformed.
    private mutating func extensionFor(_ field: ArraySlice<UInt8>, in contextName: String, at location: SourceLocation,
                                       warn: Bool = true) -> Int? {
        let written = String(decoding: field, as: UTF8.self)
        if let index = self.written[contextName]?[written] { return index }
        guard !field.isEmpty else {
            error(location, "the extension name is empty")
            return nil
        }
        var name = written
        var callerIDText: String?
        if let slash = field.firstIndex(of: UInt8(ascii: "/")) {
            name = String(decoding: field[..<slash], as: UTF8.self)
            callerIDText = String(decoding: field[(slash + 1)...], as: UTF8.self)
        }
        var pattern: Pattern?
        if name.hasPrefix("_") {
            switch Pattern.compile(name) {
            case .success(let compiled):
                pattern = compiled
                if warn, compiled.hasEmptySet {
                    warning(location, "pattern '\(name)' has an empty set '[]', which matches nothing; Asterisk skips it, and so does Omnigate")
                }
                if warn, let tail = compiled.ignoredTail {
                    let stop = name.utf8.count - tail.utf8.count
                    warning(location, "pattern '\(name)' matches as '\(name.prefix(stop))': Asterisk ignores '\(tail)' after the first '.' or '!'")
                }
            case .failure(let failure):
                error(location, "bad pattern '\(name)': \(failure.message)")
                return nil
            }
        }
        var callerID: CallerIDMatch?
        if let callerIDText {
            if callerIDText.hasPrefix("_") {
                switch Pattern.compile(callerIDText) {
                case .success(let compiled): callerID = .pattern(compiled)
                case .failure(let failure):
                    error(location, "bad caller-ID pattern '\(callerIDText)': \(failure.message)")
                    return nil
                }
            } else {
                callerID = .literal(callerIDText)
            }
        }
        let key = ExtensionKey(name: pattern.map { .pattern($0.order) } ?? .literal(Array(name.utf8).filter { $0 != dash }),
                               callerID: callerIDText)
        if let index = canonical[contextName]?[key] {
            self.written[contextName, default: [:]][written] = index
            return index
        }
        plan.contexts[contextName]!.extensions.append(
            Extension(name: name, pattern: pattern, callerID: callerID, callerIDText: callerIDText, location: location))
        let index = plan.contexts[contextName]!.extensions.count - 1
        self.written[contextName, default: [:]][written] = index
        canonical[contextName, default: [:]][key] = index
        return index
    }

    /// Drops an extension that only had a hint, keeping the indexes right.
    private mutating func removeExtension(_ index: Int, in contextName: String) {
        plan.contexts[contextName]!.extensions.remove(at: index)
        written[contextName] = written[contextName]?.compactMapValues { $0 == index ? nil : $0 > index ? $0 - 1 : $0 }
        canonical[contextName] = canonical[contextName]?.compactMapValues { $0 == index ? nil : $0 > index ? $0 - 1 : $0 }
    }

    /// `App(args)` → (name, arguments); `App` alone; the old `App,args`. Nil when
    /// the parentheses (outside double quotes) do not balance or text follows the last one.
    static func splitApplication(_ text: ArraySlice<UInt8>) -> (name: Range<Int>, arguments: Range<Int>)? {
        let open = text.firstIndex(of: openParen)
        let firstComma = text.firstIndex(of: comma)
        if let firstComma, open.map({ firstComma < $0 }) ?? true {
            return (text.startIndex..<firstComma, (firstComma + 1)..<text.endIndex)
        }
        guard let open else { return (text.startIndex..<text.endIndex, text.endIndex..<text.endIndex) }
        guard text.last == closeParen else { return nil }
        let inner = (open + 1)..<(text.endIndex - 1)
        var depth = 0
        var quoted = false
        for b in text[inner] {
            if b == quote { quoted.toggle() } else if !quoted {
                if b == openParen { depth += 1 } else if b == closeParen { depth -= 1 }
                if depth < 0 { return nil }
            }
        }
        guard depth == 0 || quoted else { return nil }
        return (text.startIndex..<open, inner)
    }

    static func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }

    /// Text without leading and trailing blanks; much cheaper than Foundation's trimming, for hot paths.
    static func trimmedBlanks(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !isBlank($0) })!
        return String(text[first...last])
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// Splits on commas outside brackets, parentheses and quotes, at most `maxSplits` times.
    static func splitTopLevel(_ text: String, maxSplits: Int = .max, brackets trackBrackets: Bool = true) -> [String] {
        var parts: [String] = []
        var currentPart = ""
        var depth = 0, brackets = 0
        var quoted = false
        var escaped = false
        for c in text {
            if escaped { currentPart.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; currentPart.append(c); continue }
            if c == "\"" { quoted.toggle() }
            if !quoted {
                if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) }
                if trackBrackets { if c == "[" { brackets += 1 } else if c == "]" { brackets = max(0, brackets - 1) } }
                if c == ",", depth == 0, brackets == 0, parts.count < maxSplits {
                    parts.append(currentPart)
                    currentPart = ""
                    continue
                }
            }
            currentPart.append(c)
        }
        parts.append(currentPart)
        return parts
    }
}
