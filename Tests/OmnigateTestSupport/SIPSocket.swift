import Foundation

/// A raw socket on loopback, for sending SIP the way an attacker or a broken
/// peer would (bytes SIPp cannot produce, from a chosen source address such as
/// 127.0.0.2, which no test trunk matches) and reading what comes back.
///
/// Blocking calls with timeouts: use it from `onOwnThread`.
public final class SIPSocket: @unchecked Sendable {  // one test thread uses it at a time
    public let fd: Int32
    public let isStream: Bool
    /// The local port bound.
    public let port: Int
    private var pending = Data()

    /// A UDP socket bound to `host` (port 0: any), or a TCP connection from
    /// `host` to `127.0.0.1:target`.
    public init(udp host: String = "127.0.0.1", port: Int = 0) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        isStream = false
        guard fd >= 0 else { throw TestProcessError("socket() failed") }
        self.port = try SIPSocket.bind(fd, host: host, port: port)
    }

    public init(tcp host: String = "127.0.0.1", to target: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        isStream = true
        guard fd >= 0 else { throw TestProcessError("socket() failed") }
        port = try SIPSocket.bind(fd, host: host, port: 0)
        var address = SIPSocket.address("127.0.0.1", target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestProcessError("connect() from \(host) to 127.0.0.1:\(target) failed: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Sends bytes to the gateway (UDP: a datagram to `127.0.0.1:target`; TCP: on the connection).
    /// Returns false when the peer has closed a TCP connection.
    @discardableResult
    public func send(_ bytes: Data, to target: Int = 0) -> Bool {
        if isStream {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        var address = SIPSocket.address("127.0.0.1", target)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return sent == bytes.count
    }

    public func send(_ text: String, to target: Int = 0) { send(Data(text.utf8), to: target) }

    /// The next SIP message received within `timeout` (a datagram, or one
    /// message framed by Content-Length on a stream), or nil.
    public func receive(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if isStream, let message = takeMessage() { return message }
            let left = deadline - .now
            guard left > .zero else { return nil }
            var tv = timeval(tv_sec: Int(left.components.seconds), tv_usec: Int(left.components.attoseconds / 1_000_000_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 70_000)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { continue }
            guard n > 0 else { return nil }
            if !isStream { return String(decoding: buffer[0..<n], as: UTF8.self) }
            pending.append(contentsOf: buffer[0..<n])
        }
    }

    /// Every message received until `timeout` passes with nothing new.
    public func receiveAll(quiet timeout: Duration) -> [String] {
        var messages: [String] = []
        while let message = receive(timeout: timeout) { messages.append(message) }
        return messages
    }

    /// True once the peer has closed the TCP connection (within `timeout`).
    public func isClosedByPeer(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            let left = deadline - .now
            var tv = timeval(tv_sec: Int(left.components.seconds), tv_usec: Int(left.components.attoseconds / 1_000_000_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { if errno == ECONNRESET { return true }; if errno == EINTR { continue }; return false }
        }
        return false
    }

    /// How many of `sockets` the peer closes within `timeout` (all are watched at once).
    public static func closedByPeer(_ sockets: [SIPSocket], within timeout: Duration) -> Int {
        var closed = Set<Int>()
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline && closed.count < sockets.count {
            for (index, socket) in sockets.enumerated() where !closed.contains(index) {
                let n = recv(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno == ECONNRESET) { closed.insert(index) }
            }
            usleep(10_000)  // polling interval while watching many sockets, not a wait for a result
        }
        return closed.count
    }

    private func takeMessage() -> String? {
        guard let end = pending.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: pending[pending.startIndex..<end.lowerBound], as: UTF8.self)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") || $0.lowercased().hasPrefix("l:") }
            .flatMap { Int($0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let total = end.upperBound - pending.startIndex + length
        guard pending.count >= total else { return nil }
        let message = String(decoding: pending.prefix(total), as: UTF8.self)
        pending.removeFirst(total)
        return message
    }

    private static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }

    private static func bind(_ fd: Int32, host: String, port: Int) throws -> Int {
        var address = address(host, port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw TestProcessError("bind(\(host):\(port)) failed: \(String(cString: strerror(errno)))") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: actual.sin_port))
    }
}

/// SIP requests for the attack tests, with the headers every request needs.
public enum SIPText {
    /// A request from `from` (`host:port`, the socket's own address) to the gateway.
    public static func request(_ method: String, uri: String, from: String, transport: String = "UDP",
                               callID: String = UUID().uuidString, fromURI: String? = nil, headers: [String] = [],
                               body: String = "", cseq: Int = 1) -> String {
        var lines = [
            "\(method) \(uri) SIP/2.0",
            "Via: SIP/2.0/\(transport) \(from);branch=z9hG4bK\(UUID().uuidString.prefix(12));rport",
            "From: <\(fromURI ?? "sip:tester@\(from)")>;tag=\(UUID().uuidString.prefix(8))",
            "To: <\(uri)>",
            "Call-ID: \(callID)",
            "CSeq: \(cseq) \(method)",
            "Max-Forwards: 70",
        ]
        lines += headers
        lines.append("Content-Length: \(body.utf8.count)")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    /// The status code of a response's first line, or nil for a request.
    public static func status(_ message: String) -> Int? {
        guard message.hasPrefix("SIP/2.0 ") else { return nil }
        return Int(message.dropFirst(8).prefix(3))
    }

    /// The value of a header (first occurrence) in a message.
    public static func header(_ name: String, in message: String) -> String? {
        for line in message.components(separatedBy: "\r\n").dropFirst() {
            if line.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).caseInsensitiveCompare(name) == .orderedSame {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
