import Foundation
import Synchronization

/// A latency histogram as Prometheus keeps one: counts per upper bound
/// (cumulative when read), a sum and a count. Observing takes a lock for a
/// few additions, so it may sit on the call path and the store's writer.
public final class LatencyHistogram: Sendable {
    /// Upper bounds of the buckets, in seconds.
    public let bounds: [Double]

    /// What a histogram holds at one moment.
    public struct Snapshot: Sendable {
        /// Observations at or under each bound (cumulative, as the exposition format wants).
        public var cumulative: [Int]
        public var sum: Double
        public var count: Int
    }

    private let state: Mutex<Snapshot>

    public init(bounds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]) {
        self.bounds = bounds
        state = Mutex(Snapshot(cumulative: [Int](repeating: 0, count: bounds.count), sum: 0, count: 0))
    }

    public func observe(_ seconds: Double) {
        let seconds = max(0, seconds)
        let first = bounds.firstIndex { seconds <= $0 } ?? bounds.count
        state.withLock { state in
            for index in first..<bounds.count { state.cumulative[index] += 1 }
            state.sum += seconds
            state.count += 1
        }
    }

    public func observe(_ duration: Duration) { observe(duration.timeInterval) }

    public var snapshot: Snapshot { state.withLock { $0 } }
}
