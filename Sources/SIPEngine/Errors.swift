import CPJSIP

/// A pjlib/pjsip/pjsua call that failed, with the library's own explanation.
public struct SIPError: Error, CustomStringConvertible, Sendable, Equatable {
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

/// Why the engine did not carry out a command: what `SIPEngine.perform` throws.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The engine has stopped: the command was not run, and no descriptor was touched.
    case stopped
    /// The call named has ended (or never existed).
    case callGone(CallID)
    /// The call has no media yet (play, record or bridge before the answer).
    case noMedia(CallID)
    /// A header whose name is not a token or whose value has a line break: it never goes on the wire.
    case invalidHeader(String)
    /// No provider account has this name.
    case unknownAccount(String)
    /// PJSIP refused: the function and the library's own explanation.
    case library(SIPError)

    /// Any error from the engine thread, typed (PJSIP's own as `.library`).
    init(_ error: any Error) {
        switch error {
        case let error as EngineError: self = error
        case let error as SIPError: self = .library(error)
        default: self = .library(SIPError(status: pj_status_t(PJ_EUNKNOWN), call: String(describing: error)))
        }
    }

    public var description: String {
        switch self {
        case .stopped: "the SIP engine has stopped"
        case .callGone(let id): "call \(id) is not live"
        case .noMedia(let id): "call \(id) has no media yet"
        case .invalidHeader(let name): "header '\(name)' has an invalid name or value"
        case .unknownAccount(let name): "no SIP account named '\(name)'"
        case .library(let error): error.description
        }
    }
}
