import Foundation

/// Dialplan functions: `${NAME(args)}` to read, `Set(NAME(args)=value)` to write.
extension Interpreter {
    /// Reads a function; `CONTACT` asks the channel, the others are answered here.
    func call(_ name: String, _ arguments: String) async -> String {
        guard name.uppercased() == "CONTACT" else {
            guard let value = callSync(name, arguments) else {
                warnings.append("function \(name.uppercased()) is not supported by Omnigate")
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

    /// Reads a function that needs nothing from the channel; nil for an unknown one.
    func callSync(_ name: String, _ arguments: String) -> String? {
        let upper = name.uppercased()
        var args: [String] { Parser.splitTopLevel(arguments).map { $0.trimmingCharacters(in: .whitespaces) } }
        switch upper {
        case "IF":
            // Both values lose surrounding blanks and quotes, as in Asterisk.
            let (condition, yes, no) = conditional(arguments)
            return Self.unquoted(truthy(condition) ? yes : no)
        case "IFTIME":
            let (spec, yes, no) = conditional(arguments)
            switch TimeSpec.parse(spec) {
            case .success(let time): return Self.unquoted(time.matches(start.now(), zone: start.timeZone) ? yes : no)
            case .failure(let error):
                warnings.append("IFTIME: \(error.message)")
                return no
            }
        case "GLOBAL": return globals[arguments] ?? ""
        case "LOCAL": return variable(arguments) ?? ""
        case "LEN": return String(arguments.count)
        case "TOUPPER": return arguments.uppercased()
        case "TOLOWER": return arguments.lowercased()
        case "ISNULL": return arguments.isEmpty ? "1" : "0"
        case "EXISTS": return arguments.isEmpty ? "0" : "1"
        case "CUT":
            guard args.count >= 2 else { warnings.append("CUT needs variable,delimiter,fields"); return "" }
            return cut(variable(args[0]) ?? "", delimiter: args[1], fields: args.count > 2 ? args[2] : "1")
        case "REGEX":
            // REGEX("pattern" string)
            let trimmed = arguments.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("\""), let close = trimmed.dropFirst().firstIndex(of: "\"") else {
                warnings.append("REGEX takes \"pattern\" string")
                return "0"
            }
            let pattern = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let subject = String(trimmed[trimmed.index(after: close)...]).trimmingCharacters(in: .whitespaces)
            guard let regex = try? NSRegularExpression(pattern: pattern) else {
                warnings.append("REGEX: bad pattern '\(pattern)'")
                return "0"
            }
            return regex.firstMatch(in: subject, range: NSRange(subject.startIndex..., in: subject)) == nil ? "0" : "1"
        case "STRFTIME":
            let epoch = args.first.flatMap { Double($0) } ?? start.now().timeIntervalSince1970
            let zone = args.count > 1 && !args[1].isEmpty ? TimeZone(identifier: args[1]) ?? start.timeZone : start.timeZone
            let pattern = args.count > 2 ? Parser.splitTopLevel(arguments, maxSplits: 2)[2] : "%c"
            return strftime(Date(timeIntervalSince1970: epoch), zone: zone, format: pattern)
        case "RAND":
            let low = args.first.flatMap { Int($0) } ?? 0
            let high = args.count > 1 ? Int(args[1]) ?? 2_147_483_647 : 2_147_483_647
            return String(Int.random(in: min(low, high)...max(low, high)))
        case "CALLERID":
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
        case "MESSAGE":
            switch arguments.lowercased() {
            case "body": return messageBody ?? ""
            case "from": return messageFrom ?? ""
            case "to": return messageTo ?? ""
            default:
                warnings.append("MESSAGE(\(arguments)): use body, from or to")
                return ""
            }
        case "EXCEPTION":
            return exception[arguments.trimmingCharacters(in: .whitespaces).lowercased()] ?? ""
        case "FILTER":
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
        case "TIMEOUT":
            switch arguments.lowercased() {
            case "digit": return formatNumber(Self.seconds(timeouts.digit))
            case "response": return formatNumber(Self.seconds(timeouts.response))
            default: return ""
            }
        default:
            return nil
        }
    }

    /// `Set(FUNC(args)=value)`; false when the function cannot be written.
    func assign(_ target: String, _ value: String) -> Bool {
        guard let paren = target.firstIndex(of: "("), target.hasSuffix(")") else {
            setVariable(target, value)
            return true
        }
        let name = target[..<paren].uppercased()
        let argument = target[target.index(after: paren)..<target.index(before: target.endIndex)].lowercased()
        switch name {
        case "GLOBAL":
            globals[String(target[target.index(after: paren)..<target.index(before: target.endIndex)])] = value
        case "LOCAL":
            let variable = String(target[target.index(after: paren)..<target.index(before: target.endIndex)])
            if frames.isEmpty { setVariable(variable, value) } else { frames[frames.count - 1].locals[variable] = value }
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
