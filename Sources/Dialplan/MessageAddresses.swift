/// `MESSAGE(from)` and `MESSAGE(to)` as Asterisk 22's res_pjsip_messaging sets
/// them, so a plan written for Asterisk reads the same values from Omnigate
/// (and from `dialplan simulate`):
/// - from: `"Display Name" <sip:user@host>` (the display name's control
///   characters as spaces; no port, no parameters; no quotes without a name);
/// - to: `pjsip:user@host`.
public enum MessageAddresses {
    public static func from(displayName: String, scheme: String = "sip", user: String, host: String) -> String {
        let address = "<\(scheme):\(user)@\(host)>"
        guard !displayName.isEmpty else { return address }
        let name = String(String.UnicodeScalarView(displayName.unicodeScalars.map { $0.value < 32 ? " " : $0 }))
        return "\"\(name)\" " + address
    }

    public static func to(user: String, host: String) -> String { "pjsip:\(user)@\(host)" }
}
