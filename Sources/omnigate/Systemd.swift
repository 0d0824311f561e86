import CSystemd
import Foundation

/// systemd's service protocol, through libsystemd: `READY=1` once calls are
/// taken, `RELOADING=1` around a SIGHUP reload, `STOPPING=1` at a stop,
/// `WATCHDOG=1` while the SIP thread answers, `STATUS=` in words. Outside
/// systemd (no `NOTIFY_SOCKET`) each call does nothing.
enum Systemd {
    /// Wraps `sd_notify(3)`.
    static func notify(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// How often systemd expects `WATCHDOG=1` (`WatchdogSec=`), or nil when it does not. Wraps `sd_watchdog_enabled(3)`.
    static var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    /// `CLOCK_MONOTONIC` in microseconds, which `RELOADING=1` carries (`MONOTONIC_USEC=`).
    static var monotonicMicroseconds: UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
    }
}
