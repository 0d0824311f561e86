import Foundation
import Synchronization

/// Free loopback ports for test peers (SIPp needs a port number up front).
public enum Ports {
    private static let next = Mutex<Int>(0)
    private static let lowest = 10000
    private static let highest = 32000

    /// A port free on 127.0.0.1 for both UDP and TCP right now, and for `count`
    /// consecutive ports (SIPp media uses port and port+2). Tests in one run never
    /// get the same port twice, unless they wrap around the range.
    ///
    /// Ports come from 10000–32000, below Linux's ephemeral range (32768–60999):
    /// a port handed out here and bound a moment later is never one the kernel
    /// gave meanwhile to some process's outgoing connection or unbound socket.
    public static func free(count: Int = 1) -> Int {
        while true {
            // Each block starts where the one before ended: a block handed out is not
            // bound yet (a gateway's RTP ports), so it must not overlap the next.
            let candidate = next.withLock { n -> Int in
                if n == 0 { n = lowest + Int(getpid() % 100) * 200 }
                if n + count > highest { n = lowest }
                defer { n += max(count, 4) }
                return n
            }
            if (0..<count).allSatisfy({ isFree(candidate + $0) }) { return candidate }
        }
    }

    private static func isFree(_ port: Int) -> Bool {
        canBind(port, type: Int32(SOCK_DGRAM.rawValue)) && canBind(port, type: Int32(SOCK_STREAM.rawValue))
    }

    private static func canBind(_ port: Int, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
