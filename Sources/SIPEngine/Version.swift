import CPJSIP

extension SIPEngine {
    /// The version of the libpjproject Omnigate runs on. Wraps `pj_get_version`.
    public static var libraryVersion: String { String(cString: pj_get_version()) }
}
