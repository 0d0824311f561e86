import Foundation

/// The kinds of identity a contact can have; each value belongs to one contact.
public enum IdentityKind: String, Sendable, Codable, CaseIterable {
    case phone, email, chat, sip
}

/// An identity in its normal form: phone in E.164, email in lower case, SIP
/// URI without parameters or display name, chat handle trimmed.
public struct Identity: Sendable, Codable, Hashable, CustomStringConvertible {
    public var kind: IdentityKind
    public var value: String

    public init(kind: IdentityKind, value: String) {
        self.kind = kind
        self.value = value
    }

    public var description: String { "\(kind.rawValue) \(value)" }
}

/// Numbering facts for the default countries the store understands.
public struct Country: Sendable {
    public let code: String
    public let callingCode: String
    /// The prefix dialled before a national number (`0` in most of Europe), if any.
    public let trunkPrefix: String?
    /// Digits after the country code.
    public let nationalLengths: ClosedRange<Int>
    /// The international call prefix besides `00`.
    public let exitPrefix: String?

    public static let all: [String: Country] = {
        let list = [
            Country(code: "US", callingCode: "1", trunkPrefix: "1", nationalLengths: 10...10, exitPrefix: "011"),
            Country(code: "CA", callingCode: "1", trunkPrefix: "1", nationalLengths: 10...10, exitPrefix: "011"),
            Country(code: "GB", callingCode: "44", trunkPrefix: "0", nationalLengths: 9...10, exitPrefix: nil),
            Country(code: "DE", callingCode: "49", trunkPrefix: "0", nationalLengths: 6...13, exitPrefix: nil),
            Country(code: "FR", callingCode: "33", trunkPrefix: "0", nationalLengths: 9...9, exitPrefix: nil),
            Country(code: "NL", callingCode: "31", trunkPrefix: "0", nationalLengths: 9...9, exitPrefix: nil),
            Country(code: "ES", callingCode: "34", trunkPrefix: nil, nationalLengths: 9...9, exitPrefix: nil),
            Country(code: "IT", callingCode: "39", trunkPrefix: nil, nationalLengths: 6...11, exitPrefix: nil),
            Country(code: "AU", callingCode: "61", trunkPrefix: "0", nationalLengths: 9...9, exitPrefix: "0011"),
            Country(code: "IN", callingCode: "91", trunkPrefix: "0", nationalLengths: 10...10, exitPrefix: nil),
            Country(code: "BR", callingCode: "55", trunkPrefix: "0", nationalLengths: 10...11, exitPrefix: nil),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.code, $0) })
    }()

    /// The country whose calling code starts `digits` (an international number without `+`), if known.
    public static func forNumber(_ digits: String) -> Country? {
        all.values.filter { digits.hasPrefix($0.callingCode) }.max { $0.callingCode.count < $1.callingCode.count }
    }

    /// The country for an ISO code, or an error listing the supported ones.
    public static func named(_ code: String) throws -> Country {
        guard let country = all[code.uppercased()] else {
            throw StoreError(.invalidValue, "default country '\(code)' is not supported; supported: "
                             + all.keys.sorted().joined(separator: ", "))
        }
        return country
    }
}

/// Turns what callers and other systems write into identities.
public struct IdentityNormalizer: Sendable {
    public let country: Country

    public init(defaultCountry: String) throws {
        country = try Country.named(defaultCountry)
    }

    /// A phone number in E.164 (`+15551234567`) from the ways people and
    /// equipment write them: spaces, dashes, dots and brackets; `+`, `00` or
    /// the country's exit prefix; a national number with or without its trunk
    /// prefix; `tel:` URIs. Invalid numbers are errors, never guesses.
    public func phone(_ text: String) throws -> String {
        var raw = text.trimmingCharacters(in: .whitespaces)
        if raw.lowercased().hasPrefix("tel:") {
            // RFC 3966: tel:NUMBER;params. A local number's phone-context names its
            // global prefix (`tel:555-0100;phone-context=+1-201`); a domain context cannot be made E.164.
            let parts = raw.dropFirst(4).split(separator: ";", omittingEmptySubsequences: false)
            raw = String(parts[0])
            let context = parts.dropFirst().first { $0.lowercased().hasPrefix("phone-context=") }
                .map { String($0.dropFirst("phone-context=".count)) }
            if let context, !raw.hasPrefix("+") {
                guard context.hasPrefix("+") else {
                    throw invalid(text, "a local number in the domain '\(context)' has no country code")
                }
                raw = context + raw
            }
        }
        guard !raw.isEmpty else { throw invalid(text, "it is empty") }
        var digits = ""
        var plus = false
        for (index, character) in raw.enumerated() {
            if character.isASCII && character.isNumber {
                digits.append(character)
            } else if character == "+" && index == 0 {
                plus = true
            } else if " -.()/".contains(character) {
                continue
            } else {
                throw invalid(text, "'\(character)' is not part of a phone number")
            }
        }
        guard !digits.isEmpty else { throw invalid(text, "it has no digits") }
        var international: String
        if plus {
            international = digits
        } else if digits.hasPrefix("00") {
            international = String(digits.dropFirst(2))
        } else if let exit = country.exitPrefix, digits.hasPrefix(exit) {
            international = String(digits.dropFirst(exit.count))
        } else {
            var national = digits
            if country.nationalLengths.contains(national.count) == false, let trunk = country.trunkPrefix,
               national.hasPrefix(trunk), country.nationalLengths.contains(national.count - trunk.count) {
                national = String(national.dropFirst(trunk.count))
            }
            guard country.nationalLengths.contains(national.count) else {
                throw invalid(text, "a national number in \(country.code) has \(lengths(country.nationalLengths)) digits")
            }
            international = country.callingCode + national
        }
        // Check what we know of the number's own country.
        if let first = Country.forNumber(international) {
            var national = String(international.dropFirst(first.callingCode.count))
            // A trunk prefix written after the country code ("+44 (0)20 …") is dropped.
            if let trunk = first.trunkPrefix, trunk == "0", national.hasPrefix("0"),
               first.nationalLengths.contains(national.count - 1) {
                national.removeFirst()
                international = first.callingCode + national
            }
            guard first.nationalLengths.contains(national.count) else {
                throw invalid(text, "a number in +\(first.callingCode) has \(lengths(first.nationalLengths)) digits after the country code")
            }
            if first.callingCode == "1" {
                // NANP: area code and exchange start with 2–9.
                let a = national.first!, e = national[national.index(national.startIndex, offsetBy: 3)]
                guard a >= "2", e >= "2" else { throw invalid(text, "it is not a valid North American number") }
            }
        }
        guard (7...15).contains(international.count) else {
            throw invalid(text, "an international number has 7 to 15 digits")
        }
        guard international.first != "0" else { throw invalid(text, "a country code does not start with 0") }
        return "+" + international
    }

    /// An email address in lower case.
    public func email(_ text: String) throws -> String {
        let value = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !value.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else {
            throw StoreError(.invalidValue, "'\(text)' is not an email address")
        }
        return value
    }

    /// Identities a SIP or tel URI stands for: a phone number when the user part
    /// is one (always with `user=phone` or `tel:`), and the bare SIP URI.
    public func fromURI(_ uri: String) -> [Identity] {
        var text = uri.trimmingCharacters(in: .whitespaces)
        if let open = text.firstIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            text = String(text[text.index(after: open)..<close])
        }
        let lower = text.lowercased()
        if lower.hasPrefix("tel:") { return (try? phone(text)).map { [Identity(kind: .phone, value: $0)] } ?? [] }
        guard lower.hasPrefix("sip:") || lower.hasPrefix("sips:") else {
            if let number = try? phone(text) { return [Identity(kind: .phone, value: number)] }
            if let mail = try? email(text) { return [Identity(kind: .email, value: mail)] }
            return []
        }
        let schemeEnd = text.firstIndex(of: ":")!
        let rest = text[text.index(after: schemeEnd)...]
        let userPhone = lower.contains(";user=phone")
        var base = String(rest)
        if let semi = base.firstIndex(of: ";") { base = String(base[..<semi]) }
        if let question = base.firstIndex(of: "?") { base = String(base[..<question]) }
        var identities: [Identity] = []
        if let at = base.firstIndex(of: "@") {
            let user = String(base[..<at]).removingPercentEncoding ?? String(base[..<at])
            var userNoParams = user
            if let semi = userNoParams.firstIndex(of: ";") { userNoParams = String(userNoParams[..<semi]) }
            let looksNumeric = userNoParams.allSatisfy { $0.isNumber || "+-(). ".contains($0) } && userNoParams.contains(where: \.isNumber)
            if userPhone || looksNumeric, let number = try? phone(userNoParams) {
                identities.append(Identity(kind: .phone, value: number))
            }
            identities.append(Identity(kind: .sip, value: "sip:" + user + "@" + base[base.index(after: at)...].lowercased()))
        } else {
            identities.append(Identity(kind: .sip, value: "sip:" + base.lowercased()))
        }
        return identities
    }

    /// The normal form of an identity of a known kind.
    public func normalize(_ kind: IdentityKind, _ value: String) throws -> Identity {
        switch kind {
        case .phone: return Identity(kind: .phone, value: try phone(value))
        case .email: return Identity(kind: .email, value: try email(value))
        case .sip:
            guard let sip = fromURI(value).first(where: { $0.kind == .sip }) else {
                throw StoreError(.invalidValue, "'\(value)' is not a SIP URI")
            }
            return sip
        case .chat:
            let handle = value.trimmingCharacters(in: .whitespaces)
            guard !handle.isEmpty, !handle.contains(where: { $0.isWhitespace }) else {
                throw StoreError(.invalidValue, "'\(value)' is not a chat handle (no spaces allowed)")
            }
            return Identity(kind: .chat, value: handle)
        }
    }

    /// The identities a screen pop looks `text` up by: a `sip:`/`sips:` URI (its
    /// phone number too when the user part is one), a `tel:` URI or phone number,
    /// an email (`mailto:` or bare), or `chat:HANDLE`.
    /// - Throws: `StoreError(.invalidValue)` with the reason when it is none of these;
    ///   an invalid number is an error, never a guess.
    public func lookup(_ text: String) throws -> [Identity] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("chat:") { return [try normalize(.chat, String(trimmed.dropFirst(5)))] }
        if lower.hasPrefix("mailto:") { return [Identity(kind: .email, value: try email(String(trimmed.dropFirst(7))))] }
        if lower.hasPrefix("tel:") { return [Identity(kind: .phone, value: try phone(trimmed))] }
        if lower.hasPrefix("sip:") || lower.hasPrefix("sips:") || trimmed.contains("<") {
            let identities = fromURI(trimmed)
            guard !identities.isEmpty else { throw StoreError(.invalidValue, "'\(text)' is not a SIP URI") }
            return identities
        }
        if trimmed.contains("@") { return [Identity(kind: .email, value: try email(trimmed))] }
        if trimmed.contains(where: { $0.isLetter }) {
            throw StoreError(.invalidValue, "'\(text)' is not a phone number, SIP or tel URI, email address or chat:HANDLE")
        }
        return [Identity(kind: .phone, value: try phone(trimmed))]
    }

    /// Every identity `text` may stand for, for writes: a URI, a number, an
    /// email, and otherwise a chat handle (chat systems write their handles bare).
    public func candidates(_ text: String) -> [Identity] {
        let fromURI = fromURI(text)
        if !fromURI.isEmpty { return fromURI }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // `chat:HANDLE`, as lookups take it, names the handle itself.
        if trimmed.lowercased().hasPrefix("chat:") { return [Identity(kind: .chat, value: String(trimmed.dropFirst(5)))] }
        return [Identity(kind: .chat, value: trimmed)]
    }

    private func invalid(_ text: String, _ why: String) -> StoreError {
        StoreError(.invalidValue, "'\(text)' is not a valid phone number: \(why)")
    }

    private func lengths(_ range: ClosedRange<Int>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
    }
}
