import Synchronization

/// Hands each event to every subscriber's stream, in order. Sending never
/// blocks: a slow subscriber's stream keeps the newest `buffer` events.
public final class Broadcast<Event: Sendable>: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<Event>.Continuation]>([:])
    private let observers = Mutex<[@Sendable (Event) -> Void]>([])
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

    /// Runs `observer` for every event, on the sender's thread, before `send`
    /// returns: for what must have the event before the sender goes on (the
    /// API's event stream has a pop before the agent's INVITE is sent). It must not block.
    public func observe(_ observer: @escaping @Sendable (Event) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    public func send(_ event: Event) {
        for observer in observers.withLock({ $0 }) { observer(event) }
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(event) }
    }
}
