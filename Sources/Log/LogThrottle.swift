import Synchronization

/// Decides which of many repeated log lines to write, so a flood costs a
/// bounded number of lines: for each key, the 1st, 10th, 100th, 1,000th, …
/// occurrence is written (with its count), the rest only counted.
///
/// Keys name what repeats ("malformed SIP from 192.0.2.7", a message
/// template). The table holds at most `capacity` keys; once full, new keys
/// share one overflow key, so an attacker varying the key cannot make it grow
/// or write a line per variant. Every `window` the counts start again, so a
/// problem that comes back later is seen again.
public final class LogThrottle: Sendable {
    private struct State {
        var counts: [String: Int] = [:]
        var windowStart = ContinuousClock.now
    }

    private let capacity: Int
    private let window: Duration
    private let state = Mutex(State())

    /// The key every new key shares once the table is full.
    public static let overflowKey = "(other)"

    public init(capacity: Int = 1024, window: Duration = .seconds(600)) {
        self.capacity = max(capacity, 1)
        self.window = window
    }

    /// Counts one occurrence of `key`; returns the count when this occurrence
    /// should be logged (1, 10, 100, …), nil when it should only be counted.
    public func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        let count = state.withLock { state -> Int in
            if now - state.windowStart >= window {
                state.counts.removeAll(keepingCapacity: true)
                state.windowStart = now
            }
            var key = key
            if state.counts[key] == nil && state.counts.count >= capacity { key = LogThrottle.overflowKey }
            let count = (state.counts[key] ?? 0) + 1
            state.counts[key] = count
            return count
        }
        return LogThrottle.isLogged(count) ? count : nil
    }

    /// 1, 10, 100, 1000, …
    static func isLogged(_ count: Int) -> Bool {
        var n = count
        while n >= 10 && n % 10 == 0 { n /= 10 }
        return n == 1
    }
}
