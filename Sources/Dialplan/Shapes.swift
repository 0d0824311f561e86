/// The structure some applications read in their arguments, found at load in
/// the text the plan wrote.
///
/// Most applications take their arguments as one text. A few read structure in
/// it: `GotoIf(condition?yes:no)`, `ExecIf(condition?App(args):App(args))`,
/// `Exec(App(args))`, and the `IF(condition?yes:no)` function. Asterisk finds
/// the `?`, `:` and `(` after substituting variables, so a value holding one
/// (a caller's name, say) adds a branch, an application or an argument of its
/// own choosing. Omnigate looks for them only in the text the plan wrote, before
/// substitution: the checker and the interpreter see the same branches, and a
/// value is never read as dialplan syntax. Everything is still substituted once,
/// in order, as Asterisk does, whichever branch is taken.
indirect enum Shape: Sendable {
    /// Arguments read as one text.
    case plain(Template)
    /// `condition?yes:no`; `yes` and `no` are nil when not written, `colon` when the `:` was.
    case branches(condition: Template, yes: Shape?, no: Shape?, colon: Bool)
    /// `App(arguments)`, the application Exec, TryExec or ExecIf runs; `prefix` is `App(`, `suffix` the
    /// last `)` and what follows it (ignored, as Asterisk ignores it); `offset` where `App` was written.
    case call(name: String, app: Application?, prefix: String, arguments: Shape, suffix: String, offset: Int)
    /// An application named at run time (`Exec(${APP})`): the value is run as it is, never substituted again.
    case computedCall(Template)

    /// Exec inside Exec inside …: deeper than this is read as plain text, so no file or value can exhaust the stack.
    static let maxNesting = 8

    /// The shape `app`'s arguments have.
    static func of(_ app: Application?, _ template: Template, depth: Int = 0) -> Shape {
        guard depth < maxNesting else { return .plain(template) }
        switch app {
        case .gotoIf?, .gotoIfTime?:
            // Asterisk: strsep at the first '?', then at the first ':'.
            return branches(template, nested: false) { .plain($0) }
        case .gosubIf?:
            // Asterisk: raw arguments split at '?' then ':', outside parentheses and quotes.
            return branches(template, nested: true) { .plain($0) }
        case .execIf?:
            return branches(template, nested: true) { call($0, depth: depth + 1) }
        case .execIfTime?:
            // Asterisk: strsep at the first '?'; there is no false branch.
            guard let (spec, rest) = template.split(at: UInt8(ascii: "?"), nested: false) else {
                return .branches(condition: template, yes: nil, no: nil, colon: false)
            }
            return .branches(condition: spec, yes: call(rest, depth: depth + 1), no: nil, colon: false)
        case .exec?, .tryExec?:
            return call(template, depth: depth + 1)
        default:
            return .plain(template)
        }
    }

    private static func branches(_ template: Template, nested: Bool, _ branch: (Template) -> Shape) -> Shape {
        guard let (condition, rest) = template.split(at: UInt8(ascii: "?"), nested: nested) else {
            return .branches(condition: template, yes: nil, no: nil, colon: false)
        }
        guard let (yes, no) = rest.split(at: colon, nested: nested) else {
            return .branches(condition: condition, yes: branch(rest), no: nil, colon: false)
        }
        return .branches(condition: condition, yes: branch(yes), no: branch(no), colon: true)
    }

    /// `App(args)` when the application's name is written out; a computed call otherwise.
    static func call(_ template: Template, depth: Int) -> Shape {
        guard let first = template.pieces.first, case .text(let head) = first else { return .computedCall(template) }
        let bytes = Array(head.utf8)
        guard let open = bytes.firstIndex(of: openParen) else {
            // No arguments: the whole text is the name, unless something is substituted into it.
            guard template.pieces.count == 1 else { return .computedCall(template) }
            let name = head.trimmingCharacters(in: .whitespaces)
            return .call(name: name, app: Application.named(name), prefix: head, arguments: .plain(Template("")), suffix: "",
                         offset: template.offsets[0])
        }
        let name = String(decoding: bytes[..<open], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return .computedCall(template) }
        // The arguments run to the last ')' (Asterisk's strrchr), which must be in the text written.
        var pieces = template.pieces, offsets = template.offsets
        pieces[0] = .text(String(decoding: bytes[(open + 1)...], as: UTF8.self))
        offsets[0] += open + 1
        var suffix = ""
        if let lastText = pieces.indices.last(where: { if case .text(let t) = pieces[$0] { t.contains(")") } else { false } }),
           case .text(let tail) = pieces[lastText] {
            let tailBytes = Array(tail.utf8)
            let close = tailBytes.lastIndex(of: closeParen)!
            pieces[lastText] = .text(String(decoding: tailBytes[..<close], as: UTF8.self))
            // Asterisk drops what follows the last ')'; it is kept only to show the step as written.
            suffix = String(decoding: tailBytes[close...], as: UTF8.self)
            pieces.removeSubrange((lastText + 1)...)
            offsets.removeSubrange((lastText + 1)...)
        }
        for (i, piece) in pieces.enumerated().reversed() { if case .text(let t) = piece, t.isEmpty { pieces.remove(at: i); offsets.remove(at: i) } }
        let app = Application.named(name)
        let arguments = Template(pieces: pieces, offsets: offsets)
        return .call(name: name, app: app, prefix: String(decoding: bytes[...open], as: UTF8.self), arguments: of(app, arguments, depth: depth),
                     suffix: suffix, offset: template.offsets[0])
    }

    /// The template of the whole (for the checker's and the graph's plain reading).
    var template: Template? {
        if case .plain(let template) = self { return template }
        return nil
    }
}

/// Arguments after substitution, in the shape the application reads. Only the
/// nested cases are boxed: most steps are plain text, and take no allocation.
enum Arguments: Sendable {
    case text(String)
    indirect case branches(condition: String, yes: Arguments?, no: Arguments?, colon: Bool)
    indirect case call(name: String, app: Application?, prefix: String, arguments: Arguments, suffix: String)

    /// The arguments as one text, as the step shows them (`GotoIf(1?vip,s,1)`).
    var text: String {
        switch self {
        case .text(let text): return text
        case .branches(let condition, let yes, let no, let colon):
            guard let yes else { return condition }
            return condition + "?" + yes.text + (colon ? ":" + (no?.text ?? "") : "")
        case .call(_, _, let prefix, let arguments, let suffix):
            return prefix + arguments.text + suffix
        }
    }

    /// `condition?yes:no` read from text that was not compiled with the plan (the
    /// value an `Exec(${APP})` runs): split as Asterisk splits it.
    static func branches(_ text: String, nested: Bool) -> Arguments {
        let parts = Interpreter.split(text, at: "?", nested: nested)
        guard parts.count == 2 else { return .branches(condition: text, yes: nil, no: nil, colon: false) }
        let rest = Interpreter.split(parts[1], at: ":", nested: nested)
        return .branches(condition: parts[0], yes: .text(rest[0]), no: rest.count == 2 ? .text(rest[1]) : nil, colon: rest.count == 2)
    }

    /// `App(args)` from run-time text.
    static func call(_ text: String, depth: Int = 0) -> Arguments? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "(") else {
            guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            return .call(name: trimmed, app: Application.named(trimmed), prefix: trimmed, arguments: .text(""), suffix: "")
        }
        let name = String(trimmed[..<open])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        var inner = trimmed[trimmed.index(after: open)...]
        var suffix = ""
        if let close = inner.lastIndex(of: ")") {
            suffix = String(inner[close...])
            inner = inner[..<close]
        }
        let app = Application.named(name)
        let arguments: Arguments
        switch depth < Shape.maxNesting ? app : nil {
        case .gotoIf?, .gotoIfTime?: arguments = branches(String(inner), nested: false)
        case .gosubIf?: arguments = branches(String(inner), nested: true)
        case .execIfTime?:
            let parts = Interpreter.split(String(inner), at: "?", nested: false)
            arguments = .branches(condition: parts[0], yes: parts.count == 2 ? call(parts[1], depth: depth + 1) : nil, no: nil, colon: false)
        case .execIf?:
            if case .branches(let c, let y, let n, let colon) = branches(String(inner), nested: true) {
                arguments = .branches(condition: c, yes: y.flatMap { call($0.text, depth: depth + 1) }, no: n.flatMap { call($0.text, depth: depth + 1) },
                                      colon: colon)
            } else {
                arguments = .text(String(inner))
            }
        case .exec?, .tryExec?: arguments = call(String(inner), depth: depth + 1) ?? .text(String(inner))
        default: arguments = .text(String(inner))
        }
        return .call(name: name, app: app, prefix: name + "(", arguments: arguments, suffix: suffix)
    }
}

extension Template {
    /// Splits at the first `separator` in the text the plan wrote (never inside a
    /// substitution's value); with `nested`, only outside the parentheses,
    /// brackets and double quotes of that text. Nil when there is none.
    func split(at separator: UInt8, nested: Bool) -> (Template, Template)? {
        var depth = 0, brackets = 0
        var quoted = false
        for (index, piece) in pieces.enumerated() {
            guard case .text(let text) = piece else { continue }
            let bytes = Array(text.utf8)
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if nested {
                    if b == backslash { i += 2; continue }
                    if b == quote { quoted.toggle() } else if !quoted {
                        if b == openParen { depth += 1 } else if b == closeParen { depth = max(0, depth - 1) }
                        else if b == openBracket { brackets += 1 } else if b == closeBracket { brackets = max(0, brackets - 1) }
                    }
                }
                if b == separator, !nested || (depth == 0 && brackets == 0 && !quoted) {
                    var before = Array(pieces[..<index]), beforeOffsets = Array(offsets[..<index])
                    var after = Array(pieces[(index + 1)...]), afterOffsets = Array(offsets[(index + 1)...])
                    if i > 0 {
                        before.append(.text(String(decoding: bytes[..<i], as: UTF8.self)))
                        beforeOffsets.append(offsets[index])
                    }
                    if i + 1 < bytes.count {
                        after.insert(.text(String(decoding: bytes[(i + 1)...], as: UTF8.self)), at: 0)
                        afterOffsets.insert(offsets[index] + i + 1, at: 0)
                    }
                    return (Template(pieces: before, offsets: beforeOffsets), Template(pieces: after, offsets: afterOffsets))
                }
                i += 1
            }
        }
        return nil
    }

    /// Where this template starts in the arguments (0 for an empty one).
    var startOffset: Int { offsets.first ?? 0 }
}
