import CPJSIP

/// A pjlib/pjsip/pjsua call that failed, with the library's own explanation.
public struct SIPError: Error, CustomStringConvertible, Sendable {
    /// The raw `pj_status_t`, kept for logs and tests.
    public let status: Int32
    /// The C function that failed, such as "pjsua_call_answer".
    public let call: String

    public var description: String { "\(call): \(pjText(status))" }

    /// True when the operating system said the address is already in use.
    public var isAddressInUse: Bool { status == pjStatusFromOS(EADDRINUSE) }
}

/// Turns a pj status code into a thrown `SIPError`, once, at the boundary.
func check(_ status: pj_status_t, _ call: @autoclosure () -> String) throws {
    if status != PJ_SUCCESS.rawValue { throw SIPError(status: status, call: call()) }
}

/// pjlib's text for a status code (wraps `pj_strerror`).
func pjText(_ status: pj_status_t) -> String {
    var buffer = [CChar](repeating: 0, count: 160)
    let text = buffer.withUnsafeMutableBufferPointer { buf in
        pj_strerror(status, buf.baseAddress, pj_size_t(buf.count))
    }
    return String(pj: text)
}

/// `PJ_STATUS_FROM_OS(code)`, a macro Swift cannot call.
func pjStatusFromOS(_ code: Int32) -> pj_status_t {
    code == 0 ? pj_status_t(PJ_SUCCESS.rawValue) : code + pj_status_t(PJ_ERRNO_START_SYS)
}
