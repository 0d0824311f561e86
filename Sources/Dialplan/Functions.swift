import Foundation

/// The dialplan functions Omnigate answers (`Catalog.functions`); each reads as
/// Asterisk's of the same name does, unless docs/dialplan.md says otherwise.
enum FunctionName: String, CaseIterable, Sendable {
    // Omnigate's own
    case contact = "CONTACT"
    // The call and the message
    case callerID = "CALLERID", message = "MESSAGE", timeout = "TIMEOUT", exception = "EXCEPTION", channel = "CHANNEL"
    // Agents and queues (asked of the gateway)
    case queueMember = "QUEUE_MEMBER", queueWaitingCount = "QUEUE_WAITING_COUNT"
    // Conditions and time
    case `if` = "IF", ifTime = "IFTIME", strftime = "STRFTIME", isNull = "ISNULL", exists = "EXISTS"
    // Variables
    case global = "GLOBAL", globalExists = "GLOBAL_EXISTS", globalDelete = "GLOBAL_DELETE", variableExists = "VARIABLE_EXISTS",
         delete = "DELETE", set = "SET", local = "LOCAL", localPeek = "LOCAL_PEEK", array = "ARRAY", hash = "HASH",
         hashKeys = "HASHKEYS"
    // Numbers
    case inc = "INC", dec = "DEC", math = "MATH", min = "MIN", max = "MAX", abs = "ABS", digitSum = "DIGIT_SUM", rand = "RAND"
    // Text
    case len = "LEN", cut = "CUT", toUpper = "TOUPPER", toLower = "TOLOWER", regex = "REGEX", filter = "FILTER",
         replace = "REPLACE", strReplace = "STRREPLACE", strBetween = "STRBETWEEN", trim = "TRIM", lTrim = "LTRIM",
         rTrim = "RTRIM", quote = "QUOTE", csvQuote = "CSV_QUOTE", keypadHash = "KEYPADHASH", passthru = "PASSTHRU",
         base64Encode = "BASE64_ENCODE", base64Decode = "BASE64_DECODE", uriEncode = "URIENCODE", uriDecode = "URIDECODE",
         baseName = "BASENAME", dirName = "DIRNAME", uuid = "UUID", sort = "SORT"
    // Lists in a variable
    case fieldQty = "FIELDQTY", fieldNum = "FIELDNUM", listFilter = "LISTFILTER", shift = "SHIFT", pop = "POP",
         push = "PUSH", unshift = "UNSHIFT"
    // The plan
    case dialplanExists = "DIALPLAN_EXISTS", validExten = "VALID_EXTEN", evalExten = "EVAL_EXTEN"

    private static let byName: [String: FunctionName] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// Function names are upper case in Asterisk; Omnigate accepts any case.
    static func named(_ name: String) -> FunctionName? { byName[name.uppercased()] }
}

/// Dialplan functions: `${NAME(args)}` to read, `Set(NAME(args)=value)` to write.
extension Interpreter {
    /// Reads a function; `CONTACT` asks the channel, the others are answered here.
    func call(_ name: String, _ arguments: String) async -> String {
        if name.uppercased() == "EVAL_EXTEN" { return await evalExten(arguments) }
        if let function = FunctionName.named(name), function == .queueMember || function == .queueWaitingCount {
            return await queueFigure(function, arguments)
        }
        guard name.uppercased() == "CONTACT" else {
            guard let value = callSync(name, arguments) else {
                if FunctionName.named(name) == nil { warnings.append("\(located)function \(name.uppercased()) is not supported by Omnigate; it reads as empty") }
                return ""
            }
            return value
        }
        guard let value = await channel.contact(field: arguments.lowercased()) else {
            warnings.append("CONTACT(\(arguments)): no such field")
            return ""
        }
        return value
    }

    /// Reads a function that needs nothing from the channel; nil for an unknown
    /// one, or when the function fails (Asterisk's -1: it reads as empty).
    func callSync(_ name: String, _ arguments: String) -> String? {
        guard let function = FunctionName.named(name) else { return nil }
        var args: [String] { Parser.splitTopLevel(arguments).map { $0.trimmingCharacters(in: .whitespaces) } }
        switch function {
        case .contact: return nil
        case .queueMember, .queueWaitingCount:
            warnings.append("\(located)\(function.rawValue) reads only as ${\(function.rawValue)(…)}, not inside $[…] on its own")
            return ""
        case .channel:
            switch arguments.trimmingCharacters(in: .whitespaces).lowercased() {
            case "endpoint": return start.endpoint ?? ""
            case "channeltype": return "PJSIP"
            default:
                warnings.append("\(located)CHANNEL(\(arguments)): Omnigate answers endpoint and channeltype only; it reads as empty")
                return ""
            }
        case .evalExten:
            warnings.append("\(located)EVAL_EXTEN reads only as ${EVAL_EXTEN(…)}, not inside $[…] on its own")
            return ""
        case .if:
            let parts = Self.split(arguments, at: "?", nested: true)
            guard parts.count == 2 else { return "" }
            let branches = Self.split(parts[1], at: ":", nested: true)
            let chosen = truthy(Self.unquotedArgument(parts[0])) ? branches[0] : (branches.count == 2 ? branches[1] : "")
            return Self.unquotedArgument(chosen).trimmingCharacters(in: .whitespaces)
        case .ifTime:
            let parts = Self.split(Self.unquoted(arguments), at: "?", nested: false)
            guard parts.count == 2 else { return "" }
            let branches = Self.split(parts[1], at: ":", nested: false)
            switch TimeSpec.parse(parts[0]) {
            case .success(let time):
                return Self.unquoted(time.matches(start.now(), zone: start.timeZone) ? branches[0] : (branches.count == 2 ? branches[1] : ""))
            case .failure(let error):
                warnings.append("\(located)IFTIME: \(error.message)")
                return ""
            }
        case .global: return globals[arguments] ?? ""
        case .globalExists: return globals[arguments] == nil ? "0" : "1"
        case .variableExists: return channelVariable(arguments) == nil && globals[arguments] == nil ? "0" : "1"
        case .globalDelete, .delete, .push, .unshift, .array:
            warnings.append("\(located)\(function.rawValue)() can only be written, with Set(\(function.rawValue)(…)=…)")
            return ""
        case .set:
            // SET(name=value) sets the variable and reads as its value.
            guard let equals = arguments.firstIndex(of: "=") else { return "" }
            let value = String(arguments[arguments.index(after: equals)...])
            _ = assign(arguments[..<equals].trimmingCharacters(in: .whitespaces), value)
            return value
        case .local:
            // Only a variable local to the Gosub running, as Asterisk's LOCAL() reads.
            return frames.last?.locals[arguments] ?? ""
        case .localPeek:
            let parts = Self.standardArguments(arguments)
            guard parts.count == 2, let n = Int(parts[0].trimmingCharacters(in: .whitespaces)), n >= 0 else { return "" }
            let values = frames.reversed().compactMap { $0.locals[parts[1]] } + [variables[parts[1]]].compactMap { $0 }
            return n < values.count ? values[n] : ""
        case .hash: return hashRead(arguments)
        case .hashKeys: return hashKeys(arguments).joined(separator: ",")
        case .inc, .dec: return crement(arguments, by: function == .inc ? 1 : -1)
        case .math: return math(arguments)
        case .min, .max: return minMax(arguments, max: function == .max)
        case .abs:
            guard let n = Self.leadingDouble(arguments) else { return nil }
            return Self.formatMathResult(Swift.abs(n))
        case .digitSum:
            return String(arguments.reduce(0) { $0 + ($1.wholeNumberValue.map { Int($0) } ?? 0) })
        case .rand:
            let low = args.first.flatMap { Int($0) } ?? 0
            let high = args.count > 1 ? Int(args[1]) ?? 2_147_483_647 : 2_147_483_647
            return String(Int.random(in: Swift.min(low, high)...Swift.max(low, high)))
        case .len: return String(arguments.count)
        // ASCII letters only, as Asterisk's toupper() in the C locale.
        case .toUpper: return String(decoding: arguments.utf8.map { (0x61...0x7a).contains($0) ? $0 - 32 : $0 }, as: UTF8.self)
        case .toLower: return String(decoding: arguments.utf8.map { (0x41...0x5a).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
        case .isNull: return arguments.isEmpty ? "1" : "0"
        case .exists: return arguments.isEmpty ? "0" : "1"
        case .cut:
            guard args.count >= 2 else { warnings.append("CUT needs variable,delimiter,fields"); return "" }
            return cut(variable(args[0]) ?? "", delimiter: args[1], fields: args.count > 2 ? args[2] : "1")
        case .regex:
            // REGEX("pattern" string)
            let trimmed = arguments.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("\""), let close = trimmed.dropFirst().firstIndex(of: "\"") else {
                warnings.append("REGEX takes \"pattern\" string")
                return "0"
            }
            let pattern = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let subject = String(trimmed[trimmed.index(after: close)...]).trimmingCharacters(in: .whitespaces)
            guard let regex = regexes.regex(pattern) else {
                warnings.append("REGEX: bad pattern '\(pattern)'")
                return "0"
            }
            return regex.firstMatch(in: subject, range: NSRange(subject.startIndex..., in: subject)) == nil ? "0" : "1"
        case .strftime:
            let epoch = args.first.flatMap { Double($0) } ?? start.now().timeIntervalSince1970
            let zone = args.count > 1 && !args[1].isEmpty ? TimeZone(identifier: args[1]) ?? start.timeZone : start.timeZone
            let pattern = args.count > 2 ? Parser.splitTopLevel(arguments, maxSplits: 2)[2] : "%c"
            return strftime(Date(timeIntervalSince1970: epoch), zone: zone, format: pattern)
        case .callerID:
            switch arguments {
            case "num": return callerIDNumber
            case "name": return callerIDName
            default: break
            }
            switch arguments.lowercased() {
            case "num", "number", "ani": return callerIDNumber
            case "name": return callerIDName
            case "all": return callerIDName.isEmpty ? callerIDNumber : "\"\(callerIDName)\" <\(callerIDNumber)>"
            default:
                warnings.append("CALLERID(\(arguments)): use num, name or all")
                return ""
            }
        case .message:
            switch arguments.lowercased() {
            case "body": return messageBody ?? ""
            case "from": return messageFrom ?? ""
            case "to": return messageTo ?? ""
            default:
                warnings.append("MESSAGE(\(arguments)): use body, from or to")
                return ""
            }
        case .exception:
            return exception[arguments.trimmingCharacters(in: .whitespaces).lowercased()] ?? ""
        case .filter:
            // FILTER(allowed,string): characters and ranges (0-9, a-z) to keep.
            let parts = Parser.splitTopLevel(arguments, maxSplits: 1)
            guard parts.count == 2 else { warnings.append("FILTER takes allowed-characters,string"); return "" }
            let allowed = Array(parts[0])
            var keep = Set<Character>()
            var i = 0
            while i < allowed.count {
                if i + 2 < allowed.count, allowed[i + 1] == "-", let a = allowed[i].asciiValue, let b = allowed[i + 2].asciiValue, a <= b {
                    for v in a...b { keep.insert(Character(UnicodeScalar(v))) }
                    i += 3
                } else {
                    keep.insert(allowed[i])
                    i += 1
                }
            }
            return String(parts[1].filter { keep.contains($0) })
        case .timeout:
            switch arguments.lowercased() {
            case "digit": return formatNumber(Self.seconds(timeouts.digit))
            case "response": return formatNumber(Self.seconds(timeouts.response))
            default: return ""
            }
        case .replace, .strReplace, .strBetween, .trim, .lTrim, .rTrim, .quote, .csvQuote, .keypadHash, .passthru, .base64Encode,
             .base64Decode, .uriEncode, .uriDecode, .baseName, .dirName, .uuid, .sort, .fieldQty, .fieldNum, .listFilter, .shift, .pop:
            return text(function, arguments)
        case .dialplanExists:
            let parts = Self.standardArguments(arguments).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let context = parts.first, !context.isEmpty else { return "0" }
            if parts.count > 2, !parts[2].isEmpty {
                if let n = Int(parts[2]), n > 0 { return lookup(Position(context: context, exten: parts[1], priority: n)) == nil ? "0" : "1" }
                return label(parts[2], exten: parts[1], in: context) == nil ? "0" : "1"
            }
            if parts.count > 1, !parts[1].isEmpty { return exists(context, parts[1]) ? "1" : "0" }
            return plan.contexts[context] == nil ? "0" : "1"
        case .validExten:
            let parts = Self.standardArguments(arguments).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, !parts[1].isEmpty else {
                warnings.append("\(located)VALID_EXTEN needs [context],extension[,priority]")
                return nil
            }
            let context = parts[0].isEmpty ? position.context : parts[0]
            let priority = parts.count > 2 ? Int(parts[2]) ?? 1 : 1
            return lookup(Position(context: context, exten: parts[1], priority: priority)) == nil ? "0" : "1"
        }
    }

    /// `Set(FUNC(args)=value)`; false when the function cannot be written.
    func assign(_ target: String, _ value: String) -> Bool {
        guard let paren = target.firstIndex(of: "("), target.hasSuffix(")") else {
            setVariable(target, value)
            return true
        }
        let name = target[..<paren].uppercased()
        let inner = String(target[target.index(after: paren)..<target.index(before: target.endIndex)])
        let argument = inner.lowercased()
        switch name {
        case "GLOBAL":
            globals[inner] = value
        case "GLOBAL_DELETE":
            globals[inner] = nil
        case "DELETE":
            deleteVariable(inner)
        case "LOCAL":
            // As in Asterisk, only inside a Gosub: the variable lives until its Return.
            guard !frames.isEmpty else {
                warnings.append("\(located)LOCAL(\(inner)) can only be set inside a Gosub; it is not set")
                return true
            }
            frames[frames.count - 1].locals[inner] = value
        case "ARRAY":
            let names = Self.standardArguments(inner)
            let values = Self.standardArguments(value)
            for (i, name) in names.enumerated() { setVariable(name, i < values.count ? values[i] : "") }
        case "HASH":
            hashWrite(inner, value)
        case "PUSH", "UNSHIFT":
            listAdd(inner, value, atStart: name == "UNSHIFT")
        case "CALLERID":
            candidates = nil  // extensions with caller-ID conditions may now match differently
            switch argument {
            case "num", "number": callerIDNumber = value
            case "name": callerIDName = value
            default: return false
            }
        case "MESSAGE":
            switch argument {
            case "body": messageBody = value
            case "from": messageFrom = value
            case "to": messageTo = value
            default: return false
            }
        case "TIMEOUT":
            guard let seconds = Double(value), seconds >= 0 else { return false }
            let duration = Duration.milliseconds(Int64(seconds * 1000))
            switch argument {
            case "digit": timeouts.digit = duration
            case "response": timeouts.response = duration
            case "absolute": absoluteDeadline = seconds == 0 ? nil : ContinuousClock.now + duration
            default: return false
            }
        default:
            return false
        }
        return true
    }

    /// `EVAL_EXTEN([[context,]exten,]priority)`: the arguments a priority of the plan
    /// was written with (a `Return(…)`, usually), substituted as if the call were
    /// there (`${EXTEN}` is that extension). The text is the plan's own.
    func evalExten(_ arguments: String) async -> String {
        guard evalDepth < 32 else {
            warnings.append("\(located)EVAL_EXTEN nested deeper than 32 levels")
            return ""
        }
        guard case .success(let place) = target(arguments), let (_, priority) = lookup(place) else {
            warnings.append("\(located)EVAL_EXTEN(\(arguments)): no such priority")
            return ""
        }
        let saved = position
        evalDepth += 1
        position = place
        let value = await expand(priority.template)
        position = saved
        evalDepth -= 1
        return value
    }

    /// `INC(var)`, `DEC(var)`: the variable must hold a whole number; it is changed, and read as its new value.
    private func crement(_ name: String, by step: Int) -> String? {
        guard let value = variable(name), !value.isEmpty else {
            warnings.append("\(located)\(step > 0 ? "INC" : "DEC")(\(name)): the variable is not set")
            return nil
        }
        guard let number = Int32(value.trimmingCharacters(in: .whitespaces)) else {
            warnings.append("\(located)\(step > 0 ? "INC" : "DEC")(\(name)): '\(value)' is not a whole number")
            return nil
        }
        let result = String(number &+ Int32(step))
        setVariable(name, result)
        return result
    }

    /// `MATH(number1 op number2[,type])`: the operator as Asterisk's func_math finds it
    /// (`* / % ^ AND XOR OR > >= >> < <= << == + -`), the result as `float` (the
    /// default, six decimals), `int`, `hex` or `char`; comparisons read TRUE or FALSE.
    private func math(_ arguments: String) -> String? {
        let args = Self.standardArguments(arguments)
        var first = args[0]
        var negative = false
        if first.hasPrefix("-") { negative = true; first.removeFirst() }
        // The first operator in Asterisk's order that the text has (not the first in the text).
        var found: (op: String, range: Range<String.Index>)?
        for op in ["*", "/", "%", "^", "AND", "XOR", "OR", ">", "<", "=", "+", "-"] {
            guard let range = first.range(of: op) else { continue }
            var wide = range
            var name = op
            if op == ">" || op == "<" || op == "=", range.upperBound < first.endIndex {
                let next = first[range.upperBound]
                if next == "=" || (next == Character(op) && op != "=") {
                    name = op + String(next)
                    wide = range.lowerBound..<first.index(after: range.upperBound)
                }
            }
            if name == "=" { break }  // a single '=' is no operator
            found = (name, wide)
            break
        }
        guard let found else {
            warnings.append("\(located)MATH(\(arguments)): no operator")
            return nil
        }
        guard let a = Self.leadingDouble(String(first[..<found.range.lowerBound])),
              let b = Self.leadingDouble(String(first[found.range.upperBound...])) else {
            warnings.append("\(located)MATH(\(arguments)): not a number")
            return nil
        }
        let x = negative ? -a : a
        func int(_ d: Double) -> Int32 { Int32(clamping: Int64(d.isFinite ? d.rounded(.towardZero) : 0)) }
        let result: Double
        switch found.op {
        case "+": result = x + b
        case "-": result = x - b
        case "*": result = x * b
        case "/": result = b <= 0 ? 0 : x / b
        case "%": result = int(b) == 0 ? 0 : Double(int(x) % int(b))
        case "^": result = pow(x, b)
        case "AND": result = Double(int(x) & int(b))
        case "XOR": result = Double(int(x) ^ int(b))
        case "OR": result = Double(int(x) | int(b))
        case "<<": result = Double(int(x) << int(b))
        case ">>": result = Double(int(x) >> int(b))
        case ">": return x > b ? "TRUE" : "FALSE"
        case "<": return x < b ? "TRUE" : "FALSE"
        case ">=": return x >= b ? "TRUE" : "FALSE"
        case "<=": return x <= b ? "TRUE" : "FALSE"
        default: return x == b ? "TRUE" : "FALSE"
        }
        switch args.count > 1 ? args[1].lowercased() : "float" {
        case "float", "f": return String(format: "%f", result)
        case "int", "i": return String(int(result))
        case "hex", "h": return String(UInt32(truncatingIfNeeded: Int64(result.isFinite ? result : 0)), radix: 16)
        case "char", "c": return String(Character(Unicode.Scalar(UInt8(truncatingIfNeeded: Int64(result.isFinite ? result : 0)))))
        default:
            warnings.append("\(located)MATH: unknown type of result '\(args[1])'")
            return nil
        }
    }

    /// `MIN(a,b)`, `MAX(a,b)`: a whole result prints without decimals.
    private func minMax(_ arguments: String, max: Bool) -> String? {
        let args = Self.standardArguments(arguments)
        let a = args[0].isEmpty ? nil : Self.leadingDouble(args[0])
        let b = args.count > 1 && !args[1].isEmpty ? Self.leadingDouble(args[1]) : a
        if !args[0].isEmpty && a == nil { return nil }
        guard let second = b else { return nil }
        let first = a ?? second
        return Self.formatMathResult(max ? Swift.max(first, second) : Swift.min(first, second))
    }

    /// `%d` when whole, else `%f`, as func_math's MIN, MAX and ABS print.
    static func formatMathResult(_ value: Double) -> String {
        if value == value.rounded(), Swift.abs(value) < 2_147_483_648 { return String(Int(value)) }
        return String(format: "%f", value)
    }

    /// The number at the start of `text` (sscanf's `%lf`), nil when there is none.
    static func leadingDouble(_ text: String) -> Double? {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        var end = trimmed.startIndex
        var seenDigit = false, seenDot = false
        for index in trimmed.indices {
            let c = trimmed[index]
            if c.isASCII && c.isNumber { seenDigit = true; end = trimmed.index(after: index); continue }
            if c == "." && !seenDot { seenDot = true; continue }
            if (c == "-" || c == "+") && index == trimmed.startIndex { continue }
            break
        }
        guard seenDigit else { return nil }
        return Double(trimmed[..<end])
    }

    /// A channel variable (a Gosub's local first); nil when unset. Globals are not channel variables.
    func channelVariable(_ name: String) -> String? {
        for frame in frames.reversed() { if let value = frame.locals[name] { return value } }
        return variables[name]
    }

    /// `DELETE(var)=`: removes the variable (a Gosub's local first, as Asterisk removes the innermost).
    func deleteVariable(_ name: String) {
        var bare = name
        var level = 0
        while bare.hasPrefix("_") && level < 2 { bare.removeFirst(); level += 1 }
        if let frame = frames.indices.last(where: { frames[$0].locals[bare] != nil }) {
            frames[frame].locals[bare] = nil
        } else {
            variables[bare] = nil
            inheritance[bare] = nil
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `text` without surrounding blanks and one pair of surrounding double quotes.
    static func unquoted(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count >= 2, trimmed.hasPrefix("\""), trimmed.hasSuffix("\"") { return String(trimmed.dropFirst().dropLast()) }
        return trimmed
    }

    /// `condition?yes:no`, splitting at the first `?` and the following `:`.
    func conditional(_ text: String) -> (String, String, String) {
        guard let question = text.firstIndex(of: "?") else { return (text, "", "") }
        let condition = String(text[..<question])
        let rest = text[text.index(after: question)...]
        guard let colon = rest.firstIndex(of: ":") else { return (condition, String(rest), "") }
        return (condition, String(rest[..<colon]), String(rest[rest.index(after: colon)...]))
    }

    /// `CUT`: fields counted from 1, `2`, `2-3`, `2-` (to the end), `1&3`.
    func cut(_ value: String, delimiter: String, fields: String) -> String {
        let separator = delimiter.isEmpty ? "-" : String(delimiter.prefix(1))
        let parts = value.components(separatedBy: separator)
        var chosen: [String] = []
        for item in fields.split(separator: "&") {
            let range = item.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            let low = max(1, range.first.flatMap { $0 } ?? 1)
            let high = range.count > 1 ? (range[1] ?? parts.count) : low
            guard low <= parts.count, high >= low else { continue }
            chosen += parts[(low - 1)..<min(high, parts.count)]
        }
        return chosen.joined(separator: separator)
    }

    /// A subset of strftime(3): %Y %m %d %H %M %S %y %b %B %a %A %j %p %I %e %Z %s %%.
    func strftime(_ date: Date, zone: TimeZone, format pattern: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        var out = ""
        var iterator = pattern.makeIterator()
        while let ch = iterator.next() {
            guard ch == "%", let spec = iterator.next() else { out.append(ch); continue }
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            switch spec {
            case "Y": out += String(c.year!)
            case "y": out += two(c.year! % 100)
            case "m": out += two(c.month!)
            case "d": out += two(c.day!)
            case "e": out += c.day! < 10 ? " \(c.day!)" : "\(c.day!)"
            case "H": out += two(c.hour!)
            case "I": out += two((c.hour! + 11) % 12 + 1)
            case "M": out += two(c.minute!)
            case "S": out += two(c.second!)
            case "p": out += c.hour! < 12 ? "AM" : "PM"
            case "b": out += String(months[c.month! - 1].prefix(3))
            case "B": out += months[c.month! - 1]
            case "a": out += String(days[c.weekday! - 1].prefix(3))
            case "A": out += days[c.weekday! - 1]
            case "j":
                let day = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
                out += String(format: "%03d", day)
            case "Z": out += zone.abbreviation(for: date) ?? zone.identifier
            case "s": out += String(Int(date.timeIntervalSince1970))
            case "%": out += "%"
            case "c": out += strftime(date, zone: zone, format: "%a %b %e %H:%M:%S %Y")
            default: out += "%\(spec)"
            }
        }
        return out
    }
}
