import CPhoneNumbers
import Foundation
import Synchronization

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

/// Turns what callers and other systems write into identities. Phone numbers
/// follow libphonenumber's numbering plans for every country (through
/// CPhoneNumbers); the rest is ours.
public struct IdentityNormalizer: Sendable {
    /// ISO 3166 code of the country a national number (one written without its country code) belongs to.
    public let region: String

    /// National numbers from the United States, Canada and the rest of +1 (the store's default).
    public static let northAmerica = try! IdentityNormalizer(defaultCountry: "US")

    public init(defaultCountry: String) throws {
        let code = defaultCountry.uppercased()
        guard code.count == 2, omnigate_phone_region_known(code) == 1 else {
            throw StoreError(.invalidValue, "default country '\(defaultCountry)' is not a country libphonenumber knows; "
                             + "give an ISO 3166 code such as US, GB, DE, AT or CH")
        }
        region = code
    }

    /// A phone number in E.164 (`+15551234567`) from the ways people and
    /// equipment write them: spaces, dashes, dots and brackets; `+`, `00` or
    /// the country's international prefix; a national number with or without
    /// its trunk prefix (`030 …` in Germany); `tel:` URIs. The number must be
    /// one its country's numbering plan uses: invalid numbers are errors, never guesses.
    public func phone(_ text: String) throws -> String {
        // A call's number is normalised several times (the pop, the record opened and finished,
        // its event), and libphonenumber's regular expressions are most of a write's CPU.
        let key = region + " " + text
        if let known = Self.recent.withLock({ $0[key] }) { return try known.get() }
        let result: Result<String, StoreError>
        do { result = .success(try parsePhone(text)) } catch { result = .failure(error) }
        Self.recent.withLock { recent in
            if recent.count >= Self.recentLimit { recent.removeAll(keepingCapacity: true) }
            recent[key] = result
        }
        return try result.get()
    }

    /// Numbers normalised lately, by region and text as written (cleared when full: no LRU
    /// bookkeeping for a cache that is only a shortcut).
    private static let recent = Mutex<[String: Result<String, StoreError>]>([:])
    private static let recentLimit = 4096

    private func parsePhone(_ text: String) throws(StoreError) -> String {
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
        // Only what people write in numbers: libphonenumber would also read letters (1-800-FLOWERS).
        for (index, character) in raw.enumerated() where !(character.isASCII && character.isNumber) {
            guard (character == "+" && index == 0) || " -.()/".contains(character) else {
                throw invalid(text, "'\(character)' is not part of a phone number")
            }
        }
        guard raw.contains(where: { $0.isASCII && $0.isNumber }) else { throw invalid(text, "it has no digits") }
        // `00` starts an international number wherever it is written: no national number begins with it,
        // also where the international prefix is another (011 in North America).
        let digits = raw.filter { $0.isASCII && $0.isNumber }
        if !raw.hasPrefix("+") && digits.hasPrefix("00") { raw = "+" + digits.dropFirst(2) }
        var e164 = [CChar](repeating: 0, count: 64)
        var own = [CChar](repeating: 0, count: 8)
        var callingCode: Int32 = 0
        let status = omnigate_phone_e164(raw, region, &e164, e164.count, &own, own.count, &callingCode)
        let number = String(cString: e164), country = String(cString: own)
        let place = country.isEmpty || country == "ZZ" ? "its country" : "+\(callingCode) (\(country))"
        switch status {
        case OMNIGATE_PHONE_OK: return number
        case OMNIGATE_PHONE_INVALID_COUNTRY_CODE: throw invalid(text, "its country code is not one in use")
        case OMNIGATE_PHONE_TOO_SHORT_AFTER_IDD: throw invalid(text, "it is too short after the international prefix")
        case OMNIGATE_PHONE_TOO_SHORT_NSN, OMNIGATE_PHONE_TOO_SHORT: throw invalid(text, "it is too short for a number in \(place)")
        case OMNIGATE_PHONE_TOO_LONG_NSN, OMNIGATE_PHONE_TOO_LONG: throw invalid(text, "it is too long for a number in \(place)")
        case OMNIGATE_PHONE_INVALID_LENGTH: throw invalid(text, "no number in \(place) has that many digits")
        case OMNIGATE_PHONE_NOT_IN_PLAN: throw invalid(text, "\(number) is in no range the numbering plan of \(place) uses")
        default: throw invalid(text, "it is not a phone number")
        }
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
}
