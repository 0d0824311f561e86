import CPJSIP
import Foundation

extension String {
    /// Copies a `pj_str_t`, which has a length and no terminating NUL.
    init(pj: pj_str_t) {
        guard let ptr = pj.ptr, pj.slen > 0 else { self = ""; return }
        let bytes = UnsafeRawBufferPointer(start: ptr, count: Int(pj.slen))
        self = String(decoding: bytes, as: UTF8.self)
    }
}

/// C strings that live as long as this object, for `pj_str_t` values passed
/// into pjsua during one command. pjsua copies what it keeps (into its own
/// pools), so an arena only needs to outlive the call it is used in.
final class CStrings {
    private var allocations: [UnsafeMutablePointer<CChar>] = []

    /// A `pj_str_t` pointing at a copy of `text`, valid until the arena goes away.
    func pj(_ text: String) -> pj_str_t {
        let copy = strdup(text)!
        allocations.append(copy)
        return pj_str_t(ptr: copy, slen: pj_ssize_t(strlen(copy)))
    }

    /// A NUL-terminated copy of `text`, valid until the arena goes away.
    func c(_ text: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(text)!
        allocations.append(copy)
        return copy
    }

    deinit { allocations.forEach { free($0) } }
}

/// Reads a fixed-size C char array (imported as a tuple) as a string.
func stringFromTuple<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let length = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<length]), as: UTF8.self)
    }
}

/// Prints a SIP URI the way it appears in a header (wraps `pjsip_uri_print`).
func printURI(_ uri: UnsafeRawPointer?, context: pjsip_uri_context_e) -> String {
    guard let uri else { return "" }
    var buffer = [CChar](repeating: 0, count: Int(PJSIP_MAX_URL_SIZE))
    let n = buffer.withUnsafeMutableBufferPointer { buf in
        pjsip_uri_print(context, uri, buf.baseAddress, pj_size_t(buf.count - 1))
    }
    guard n > 0 else { return "" }
    return String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Prints one header's value, without its name (wraps `pjsip_hdr_print_on`).
func printHeaderValue(_ header: UnsafeMutablePointer<pjsip_hdr>) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBufferPointer { buf in
        pjsip_hdr_print_on(header, buf.baseAddress, pj_size_t(buf.count - 1))
    }
    guard n > 0 else { return "" }
    let line = String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let colon = line.firstIndex(of: ":") else { return line }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
