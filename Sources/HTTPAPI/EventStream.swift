import Foundation
import Gateway
import Synchronization
import Timeline

/// The live event stream's memory: every screen pop (published, withdrawn),
/// agent state change and call start, answer and end, numbered, the newest
/// `capacity` kept so a client that reconnects with `Last-Event-ID` misses
/// nothing. Fed synchronously by the gateway's buses (a pop is here before the
/// agent's INVITE is sent); each stream's connection thread waits on it.
final class EventHub: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    /// One event. Its JSON is made when a stream first sends it, off the
    /// call's path (where the event was posted), and then kept for every stream.
    final class Item: @unchecked Sendable {
        // @unchecked: `rendered` is guarded by `lock`; the rest is immutable.
        let id: UInt64
        let topic: String
        let name: String
        /// The agent the event concerns, for agents' tokens.
        let agent: String?
        private let object: @Sendable () -> [String: Any]
        private let lock = NSLock()
        private var rendered: String?

        init(id: UInt64, topic: String, name: String, agent: String?, object: @escaping @Sendable () -> [String: Any]) {
            self.id = id
            self.topic = topic
            self.name = name
            self.agent = agent
            self.object = object
        }

        var json: String {
            lock.lock()
            defer { lock.unlock() }
            if let rendered { return rendered }
            let data = (try? JSONSerialization.data(withJSONObject: object(), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            let text = String(decoding: data, as: UTF8.self)
            rendered = text
            return text
        }
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var nextID: UInt64
    private var closed = false
    private let capacity: Int

    /// Ids start from this run's start time in milliseconds times 1,000, so
    /// they keep growing across restarts: an id from before a restart is older
    /// than every id kept, and the client is told of the gap.
    init(capacity: Int = 10_000) {
        self.capacity = capacity
        nextID = UInt64(Date().timeIntervalSince1970 * 1000) * 1000
    }

    /// Subscribes to the gateway's pops, agents and calls.
    func follow(_ service: Service) {
        service.screenPops.observe { [weak self] event in
            switch event {
            case .published(let pop):
                self?.post(topic: "pops", name: "pop.published", agent: pop.agent) { pop.object }
            case .withdrawn(let callID, let agent, let reason):
                self?.post(topic: "pops", name: "pop.withdrawn", agent: agent) { ["call_id": callID, "agent": agent, "reason": reason] }
            }
        }
        service.agents.changes.observe { [weak self] status in
            self?.post(topic: "agents", name: "agent.state_changed", agent: status.agent) { API.json(status) }
        }
        service.callEvents.observe { [weak self] call in
            self?.post(topic: "calls", name: "call.\(call.kind.rawValue)", agent: call.agent) {
                var object: [String: Any] = ["uniqueid": call.uniqueid, "direction": call.direction, "from": call.from, "to": call.to,
                                             "time": Timestamp.string(call.time)]
                if let agent = call.agent { object["agent"] = agent }
                if let queue = call.queue { object["queue"] = queue }
                if let disposition = call.disposition { object["disposition"] = disposition }
                return object
            }
        }
    }

    /// Numbers and keeps an event; its JSON is made later, when a stream sends it.
    func post(topic: String, name: String, agent: String?, object: @escaping @Sendable () -> [String: Any]) {
        condition.lock()
        nextID += 1
        items.append(Item(id: nextID, topic: topic, name: name, agent: agent, object: object))
        if items.count > capacity + capacity / 4 { items.removeFirst(items.count - capacity) }
        condition.broadcast()
        condition.unlock()
    }

    /// Events after `id` that `matches` allows; waits up to `timeout` for one.
    /// `gap` when events after `id` are no longer kept; `closed` when the server stops.
    func next(after id: UInt64, timeout: TimeInterval, matches: (Item) -> Bool) -> (items: [Item], gap: Bool, closed: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if closed { return ([], false, true) }
            let gap = id > 0 && (items.first.map { $0.id > id + 1 } ?? (id < nextID))
            let start = items.firstIndex { $0.id > id } ?? items.count
            let found = items[start...].filter(matches)
            if !found.isEmpty || gap { return (Array(found.prefix(500)), gap, false) }
            // Nothing for this client yet: go on from the newest event it was not shown.
            if !condition.wait(until: deadline) { return ([], false, false) }
        }
    }

    /// The newest id now (where a stream without Last-Event-ID starts).
    var newest: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return nextID
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// One client's stream: Server-Sent Events, written as the hub has them.
final class EventStreamBody: StreamingBody, @unchecked Sendable {
    // @unchecked: only the connection's thread calls `next`.
    private let hub: EventHub
    private var last: UInt64
    private let matches: (EventHub.Item) -> Bool
    private var pending = Data()
    private var lastWrite = Date()

    init(hub: EventHub, from id: UInt64?, matches: @escaping (EventHub.Item) -> Bool) {
        self.hub = hub
        self.matches = matches
        last = id ?? hub.newest
        // The client learns how soon to reconnect, and starts reading at once.
        pending = Data("retry: 2000\n: stream of \(id == nil ? "new" : "missed and new") events\n\n".utf8)
    }

    func next(max: Int) -> Data? {
        while pending.isEmpty {
            let (items, gap, closed) = hub.next(after: last, timeout: 1, matches: matches)
            if closed { return nil }
            if gap {
                pending.append(Data("event: gap\ndata: {\"detail\":\"events after the id you gave are no longer kept: read the store for what you missed\"}\n\n".utf8))
            }
            for item in items {
                pending.append(Data("id: \(item.id)\nevent: \(item.name)\ndata: \(item.json)\n\n".utf8))
            }
            // Advance past everything looked at, shown or not.
            if let newest = items.last?.id { last = newest } else if gap { last = hub.newest }
            if pending.isEmpty && Date().timeIntervalSince(lastWrite) >= 15 {
                pending = Data(": keep-alive\n\n".utf8)
            }
        }
        let chunk = pending.prefix(max)
        pending.removeFirst(chunk.count)
        lastWrite = Date()
        return Data(chunk)
    }
}
