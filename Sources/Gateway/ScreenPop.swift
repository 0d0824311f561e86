import Foundation
import Log
import Synchronization
import Timeline

/// What the gateway knows about a caller when an agent is rung.
public struct CallerContext: Sendable, Codable, Equatable {
    /// False for a number no contact owns (the pop then shows the number's own history).
    public var known = false
    public var contactID: String?
    public var name: String?
    public var tier: String?
    /// The agent who last handled this contact on any channel.
    public var lastAgent: String?
    /// One line: channel, when, and what about ("chat 2h ago: refund for order 4711").
    public var lastInteraction: String?
    /// The store's full screen-pop document (identities, recent events, open items); made
    /// into JSON only where it is shown (the pop log, the event stream), never on the call's path.
    public var document: TimelinePop?

    public init() {}
}

/// One screen pop: the context handed to one agent for one call, before the agent's phone rings.
public struct ScreenPop: Sendable, Codable {
    public var sequence: UInt64
    public var publishedAt: Date
    /// The call's unique id (as in its call record).
    public var callID: String
    public var agent: String
    public var queue: String?
    public var callerNumber: String
    public var callerName: String
    /// The Call-Info URL the agent's INVITE carries.
    public var url: String
    public var context: CallerContext?
    /// What could not be looked up in time, in words ("store lookup exceeded its 50 ms budget").
    public var missing: [String]
}

extension ScreenPop {
    /// The pop as one JSON object, the same in the pop log and the HTTP event stream:
    /// snake_case names, ISO 8601 UTC times, and the store's pop document (`detail`:
    /// identities, recent events, open items) as an object, never as JSON inside a string.
    public var object: [String: Any] {
        var object: [String: Any] = ["sequence": sequence, "published_at": Timestamp.string(publishedAt), "call_id": callID,
                                     "agent": agent, "caller_number": callerNumber, "caller_name": callerName,
                                     "url": url, "missing": missing]
        if let queue { object["queue"] = queue }
        if let context {
            var known: [String: Any] = ["known": context.known]
            if let id = context.contactID { known["contact_id"] = id }
            if let name = context.name { known["name"] = name }
            if let tier = context.tier { known["tier"] = tier }
            if let last = context.lastAgent { known["last_agent"] = last }
            if let interaction = context.lastInteraction { known["last_interaction"] = interaction }
            if let document = context.document, let data = try? Timestamp.encoder.encode(document),
               let detail = try? JSONSerialization.jsonObject(with: data) {
                known["detail"] = detail
            }
            object["context"] = known
        }
        return object
    }
}

extension ScreenPopEvent {
    /// The event as the pop log writes it: `{"event": "published", "pop": {…}}`, or
    /// `{"event": "withdrawn", "call_id", "agent", "reason", "at"}`.
    public func object(at now: Date = Date()) -> [String: Any] {
        switch self {
        case .published(let pop): ["event": "published", "pop": pop.object]
        case .withdrawn(let callID, let agent, let reason):
            ["event": "withdrawn", "call_id": callID, "agent": agent, "reason": reason, "at": Timestamp.string(now)]
        }
    }
}

/// Everything the bus carries.
public enum ScreenPopEvent: Sendable {
    case published(ScreenPop)
    /// Another agent answered (ringall), the caller hung up, or the ring timed out.
    case withdrawn(callID: String, agent: String, reason: String)
}

/// The in-process event bus for screen pops. Agent-facing interfaces subscribe;
/// the call path publishes before it sends the agent's INVITE. Publishing never
/// blocks: a slow subscriber's stream buffers (newest 1,000 kept).
public final class ScreenPopBus: Sendable {
    /// Shows pops to agents in person (the HTTP event stream, the console): told of
    /// each pop right after it is published, it calls `shown` once the pop has reached
    /// every screen the agent has open, and returns false when the agent has none.
    public typealias Display = @Sendable (_ pop: ScreenPop, _ shown: @escaping @Sendable () -> Void) -> Bool

    private let events = Broadcast<ScreenPopEvent>()
    private let sequence = Atomic<UInt64>(0)
    /// In a box: a closure read out of a Mutex by value was wrapped in one more
    /// reabstraction thunk at every read, and a call ran through all of them
    /// (12 % of the gateway's CPU after 10,000 calls, found with perf).
    private final class DisplayBox: Sendable {
        let show: Display
        init(_ show: @escaping Display) { self.show = show }
    }
    private let display = Mutex<DisplayBox?>(nil)

    public init() {}

    public func subscribe() -> AsyncStream<ScreenPopEvent> { events.subscribe() }

    /// Sees every pop on the publisher's thread, before the agent's INVITE is sent (it must not block).
    public func observe(_ observer: @escaping @Sendable (ScreenPopEvent) -> Void) { events.observe(observer) }

    /// Numbers and publishes a pop; returns it as published.
    @discardableResult
    public func publish(_ pop: ScreenPop) -> ScreenPop {
        var pop = pop
        pop.sequence = sequence.add(1, ordering: .relaxed).newValue
        pop.publishedAt = Date()
        events.send(.published(pop))
        return pop
    }

    public func withdraw(callID: String, agent: String, reason: String) {
        events.send(.withdrawn(callID: callID, agent: agent, reason: reason))
    }

    /// Sets what shows pops to agents (one at a time; the HTTP API's event stream).
    public func showPops(on display: @escaping Display) { self.display.withLock { $0 = DisplayBox(display) } }

    /// Waits until `pop` is on every screen its agent has open, at most `budget`:
    /// the pop before the ring. True when shown in time (or there was nothing to wait for).
    func shown(_ pop: ScreenPop, within budget: Duration) async -> Bool {
        guard budget > .zero, let display = display.withLock({ $0 }) else { return true }
        // The common case, no screen open, never suspends the call: a suspension costs a trip through the task pool.
        let shown = FirstAnswer<Bool>()
        guard display.show(pop, { shown.give(true) }) else { return true }
        Deadlines.queue.asyncAfter(deadline: .now() + budget.timeInterval) { shown.give(false) }
        return await shown.value()
    }
}

/// Writes every pop and withdrawal as one JSON line to a file (`[screenpop] log`),
/// flushed per line: a simple feed for agent desktops and for tests.
final class ScreenPopFile: Sendable {
    private let handle: FileHandle
    private let writeLock = Mutex(())

    init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Writes synchronously, so the line is in the file before the caller goes on.
    func write(_ event: ScreenPopEvent) {
        guard var line = try? JSONSerialization.data(withJSONObject: event.object(), options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(0x0A)
        writeLock.withLock { _ in handle.write(line) }
    }
}
