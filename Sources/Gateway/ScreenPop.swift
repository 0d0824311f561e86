import Foundation
import Log
import Synchronization

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
    /// The store's full screen-pop document (identities, recent events, open items), as JSON.
    public var detail: String?

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
    private let events = Broadcast<ScreenPopEvent>()
    private let sequence = Atomic<UInt64>(0)
    /// Screens that acknowledge pops (the agent console), which a ring waits for.
    public let receipts = PopReceipts()

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
}

/// Writes every pop and withdrawal as one JSON line to a file (`[screenpop] log`),
/// flushed per line: a simple feed for agent desktops and for tests.
final class ScreenPopFile: Sendable {
    private let handle: FileHandle
    private let writeLock = Mutex(())

    init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Writes synchronously, so the line is in the file before the caller goes on.
    func write(_ event: ScreenPopEvent) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(String(format: "%.6f", date.timeIntervalSince1970))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line: Data?
        switch event {
        case .published(let pop):
            line = try? encoder.encode(["event": AnyEncodable("published"), "pop": AnyEncodable(pop)])
        case .withdrawn(let callID, let agent, let reason):
            line = try? encoder.encode(["event": "withdrawn", "callID": callID, "agent": agent, "reason": reason,
                                        "at": String(format: "%.6f", Date().timeIntervalSince1970)])
        }
        guard var line else { return }
        line.append(0x0A)
        writeLock.withLock { _ in handle.write(line) }
    }
}

/// Encodes any Encodable value behind one type.
struct AnyEncodable: Encodable {
    private let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
