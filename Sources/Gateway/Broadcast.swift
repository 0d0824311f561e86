import Synchronization

/// Hands each event to every subscriber's stream, in order. Sending never
/// blocks: a slow subscriber's stream keeps the newest `buffer` events.
public final class Broadcast<Event: Sendable>: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<Event>.Continuation]>([:])
    private let nextSubscriber = Atomic<UInt64>(0)
    private let buffer: Int

    public init(buffer: Int = 1000) { self.buffer = buffer }

    public func subscribe() -> AsyncStream<Event> {
        let id = nextSubscriber.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    public func send(_ event: Event) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(event) }
    }
}
