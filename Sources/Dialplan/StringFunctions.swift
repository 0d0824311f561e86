import Foundation

/// Asterisk's string, list and hash functions (func_strings, func_base64,
/// func_uri, func_cut's SORT), each reading as Asterisk's does. Functions that
/// name a variable (`FIELDQTY(list,…)`, `SHIFT(list)`) read it by name; the name
/// is never expanded as dialplan text.
extension Interpreter {
    func text(_ function: FunctionName, _ arguments: String) -> String? {
        let args = Self.standardArguments(arguments)
        func list(_ index: Int) -> String { variable(args[index].trimmingCharacters(in: .whitespaces)) ?? "" }
        switch function {
        case .fieldQty:
            // FIELDQTY(var,delim): an empty variable has 0 fields, no delimiter means 1.
            guard args.count > 1 else { return "1" }
            let value = list(0)
            guard !value.isEmpty else { return "0" }
            guard let delimiter = Self.encodedCharacter(args[1]) else { return "1" }
            return String(value.split(separator: delimiter, omittingEmptySubsequences: false).count)
        case .fieldNum:
            guard args.count >= 3 else {
                warnings.append("\(located)FIELDNUM needs variable,delimiter,value")
                return nil
            }
            let value = list(0)
            guard !value.isEmpty, let delimiter = Self.encodedCharacter(args[1]) else { return "0" }
            let fields = value.split(separator: delimiter, omittingEmptySubsequences: false)
            return String((fields.firstIndex { $0.lowercased() == args[2].lowercased() }.map { $0 + 1 }) ?? 0)
        case .listFilter:
            guard args.count >= 3 else { return nil }
            let value = list(0)
            guard !value.isEmpty else { return nil }
            let delimiter = Self.encodedString(args[1]).isEmpty ? "," : Self.encodedString(args[1])
            guard value.contains(args[2]) else { return value }
            return value.components(separatedBy: delimiter).filter { $0 != args[2] }.joined(separator: delimiter)
        case .shift, .pop:
            let name = args[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { return nil }
            let value = variable(name) ?? ""
            guard !value.isEmpty else { return nil }
            let delimiter = args.count > 1 ? Self.encodedCharacter(args[1]) ?? "," : ","
            let cut = function == .shift ? value.firstIndex(of: delimiter) : value.lastIndex(of: delimiter)
            guard let cut else {
                setVariable(name, "")
                return value
            }
            let before = String(value[..<cut]), after = String(value[value.index(after: cut)...])
            setVariable(name, function == .shift ? after : before)
            return function == .shift ? before : after
        case .replace:
            // REPLACE(var,find[,replace]): each character of `find` becomes the first of `replace`, or goes.
            guard args.count >= 2 else { return nil }
            let find = Set(Self.encodedString(args[1]))
            let replacement = args.count > 2 ? Self.encodedCharacter(args[2]) : nil
            let value = list(0)
            guard !find.isEmpty, !value.isEmpty else { return nil }
            return String(value.compactMap { find.contains($0) ? replacement : $0 })
        case .strReplace:
            // STRREPLACE(var,find[,replace[,max]])
            guard args.count >= 2, !args[1].isEmpty else { return nil }
            let value = list(0)
            let replacement = args.count > 2 ? args[2] : ""
            var limit = args.count > 3 ? Int(args[3]) ?? 0 : 0
            if limit <= 0 { limit = .max }
            var result = "", rest = value[...], count = 0
            while count < limit, let range = rest.range(of: args[1]) {
                result += rest[..<range.lowerBound] + replacement
                rest = rest[range.upperBound...]
                count += 1
            }
            return result + rest
        case .strBetween:
            // STRBETWEEN(var,separator): the separator between each two characters.
            guard args.count >= 2 else { return nil }
            return list(0).map(String.init).joined(separator: Self.encodedString(args[1]))
        case .trim: return arguments.trimmingCharacters(in: .whitespaces)
        case .lTrim: return String(arguments.drop { $0 == " " || $0 == "\t" })
        case .rTrim: return String(arguments.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        case .quote:
            return "\"" + arguments.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .csvQuote: return "\"" + arguments.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        case .keypadHash:
            let keys: [Character: Character] = ["a": "2", "b": "2", "c": "2", "d": "3", "e": "3", "f": "3", "g": "4", "h": "4", "i": "4",
                                                "j": "5", "k": "5", "l": "5", "m": "6", "n": "6", "o": "6", "p": "7", "q": "7", "r": "7",
                                                "s": "7", "t": "8", "u": "8", "v": "8", "w": "9", "x": "9", "y": "9", "z": "9"]
            return String(arguments.compactMap { c in c.isNumber ? c : keys[Character(c.lowercased())] })
        case .passthru: return arguments
        case .base64Encode: return Data(arguments.utf8).base64EncodedString()
        case .base64Decode:
            var padded = arguments.trimmingCharacters(in: .whitespaces)
            while padded.count % 4 != 0 { padded += "=" }
            guard let data = Data(base64Encoded: padded) else {
                warnings.append("\(located)BASE64_DECODE: not base64")
                return ""
            }
            return String(decoding: data, as: UTF8.self)
        case .uriEncode:
            var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
            allowed.insert(charactersIn: "-_.!~*'()")
            return arguments.addingPercentEncoding(withAllowedCharacters: allowed) ?? arguments
        case .uriDecode: return arguments.removingPercentEncoding ?? arguments
        case .baseName: return (arguments as NSString).lastPathComponent
        case .dirName:
            let directory = (arguments as NSString).deletingLastPathComponent
            return directory.isEmpty ? "." : directory
        case .uuid: return UUID().uuidString.lowercased()
        case .sort:
            // SORT(key1:value1,key2:value2,…): the keys, by their values.
            let pairs = args.map { item -> (String, Double) in
                let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
                return (parts.first ?? "", parts.count > 1 ? Self.leadingDouble(parts[1]) ?? 0 : 0)
            }
            return pairs.enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0).joined(separator: ",")
        default:
            return nil
        }
    }

    // MARK: - HASH

    /// `ClearHash(name)`: removes every key of the hash.
    func clearHash(_ name: String) -> Interpreter.Flow {
        let prefix = "~HASH~\(name)~"
        for key in variables.keys where key.hasPrefix(prefix) {
            variables[key] = nil
            hashStamps[key] = nil
        }
        return .next
    }

    /// Asterisk keeps `HASH(name,key)` in the channel variable `~HASH~name~key~`.
    static func hashVariable(_ name: String, _ key: String) -> String { "~HASH~\(name)~\(key)~" }

    func hashRead(_ arguments: String) -> String {
        let args = Self.standardArguments(arguments)
        if args.count >= 2 { return variable(Self.hashVariable(args[0], args[1])) ?? "" }
        // HASH(name): every value, in HASHKEYS order; the keys are kept for a HASH(name)=… that follows.
        let keys = hashKeys(args[0])
        setVariable("~ODBCFIELDS~", keys.joined(separator: ","))
        return keys.map { variable(Self.hashVariable(args[0], $0)) ?? "" }.joined(separator: ",")
    }

    func hashWrite(_ target: String, _ value: String) {
        let args = Self.standardArguments(target)
        let prefix = String(args[0].prefix { $0 == "_" }.prefix(2))
        let name = String(args[0].dropFirst(prefix.count))
        var keys: [String]
        var values: [String]
        if args.count >= 2 {
            keys = [args[1]]
            values = [value]
        } else {
            // HASH(name)=v1,v2,…: the keys a HASH(name) read last found.
            guard let fields = variable("~ODBCFIELDS~") else { return }
            keys = Self.standardArguments(fields)
            values = Self.standardArguments(value)
        }
        for (i, key) in keys.enumerated() {
            let variableName = Self.hashVariable(name, key)
            setVariable(prefix + variableName, i < values.count ? values[i] : "")
            hashClock += 1
            hashStamps[variableName] = hashClock
        }
    }

    /// The keys of a hash, the one set latest first (as Asterisk lists them).
    func hashKeys(_ name: String) -> [String] {
        let prefix = "~HASH~\(name)~"
        var found: [(key: String, stamp: Int)] = []
        for (variableName, _) in variables where variableName.hasPrefix(prefix) && variableName.hasSuffix("~") && variableName.count > prefix.count + 1 {
            found.append((String(variableName.dropFirst(prefix.count).dropLast()), hashStamps[variableName] ?? 0))
        }
        return found.sorted { ($0.stamp, $0.key) > ($1.stamp, $1.key) }.map(\.key)
    }

    /// `Set(PUSH(var[,delim])=value)` and `Set(UNSHIFT(var[,delim])=value)`.
    func listAdd(_ target: String, _ value: String, atStart: Bool) {
        let args = Self.standardArguments(target)
        let name = args[0].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        let delimiter = args.count > 1 ? Self.encodedCharacter(args[1]) ?? "," : ","
        // Up to two leading underscores mark inheritance; the list is read by its bare name.
        let bare = String(name.dropFirst(min(2, name.prefix { $0 == "_" }.count)))
        let previous = variable(bare) ?? ""
        let joined = previous.isEmpty ? value : atStart ? value + String(delimiter) + previous : previous + String(delimiter) + value
        setVariable(name, joined)
    }

    // MARK: - Encoded characters

    /// A delimiter as Asterisk reads one (`ast_get_encoded_char`): `\n`, `\t`, `\x2C`, `\,`, or the first character.
    static func encodedCharacter(_ text: String) -> Character? { encodedString(text).first }

    /// Text with Asterisk's escapes (`\n \r \t \\ \xHH`, `\` before anything else) read.
    static func encodedString(_ text: String) -> String {
        var result = ""
        var iterator = Array(text)[...]
        while let c = iterator.popFirst() {
            guard c == "\\", let next = iterator.popFirst() else { result.append(c); continue }
            switch next {
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "x":
                let hex = iterator.prefix(2).prefix { $0.isHexDigit }
                iterator = iterator.dropFirst(hex.count)
                if let value = UInt8(String(hex), radix: 16) { result.append(Character(Unicode.Scalar(value))) }
            default: result.append(next)
            }
        }
        return result
    }
}
