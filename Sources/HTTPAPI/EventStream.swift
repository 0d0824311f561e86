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
        /// For a published pop: its sequence number.
        let pop: UInt64?
        private let object: @Sendable () -> [String: Any]
        private let lock = NSLock()
        private var rendered: String?

        init(id: UInt64, topic: String, name: String, agent: String?, pop: UInt64?, object: @escaping @Sendable () -> [String: Any]) {
            self.id = id
            self.topic = topic
            self.name = name
            self.agent = agent
            self.pop = pop
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

    /// An agent's own open stream (its console): what it has handed to its connection,
    /// and whether it says when it has shown a pop (`?shown=pops`: a console does).
    private struct Screen {
        let agent: String
        var sentThrough: UInt64
        let saysShown: Bool
    }
    /// A pop the gateway waits to see on its agent's screens before ringing the agent:
    /// handed to each plain stream, and said shown by one of those that say so.
    private struct Waiter {
        let event: UInt64
        let pop: UInt64
        let agent: String
        let published: Date
        var screens: Set<ObjectIdentifier>
        var awaitingShown: Bool
        let since: Date
        let shown: @Sendable () -> Void
        var done: Bool { screens.isEmpty && !awaitingShown }
    }
    private var screens: [ObjectIdentifier: Screen] = [:]
    private var waiters: [Waiter] = []
    /// Pops a console said it shows before the gateway began to wait (it can be that quick): the newest 256.
    private var shownEarly: [(pop: UInt64, agent: String)] = []
    /// From a pop's publication to its agent's console saying it shows it.
    let shownLatency = LatencyHistogram()

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
                self?.post(topic: "pops", name: "pop.published", agent: pop.agent, pop: pop.sequence) { pop.object }
            case .withdrawn(let callID, let agent, let reason):
                self?.post(topic: "pops", name: "pop.withdrawn", agent: agent) { ["call_id": callID, "agent": agent, "reason": reason] }
            }
        }
        service.screenPops.showPops { [weak self] pop, shown in self?.wait(for: pop, shown) ?? false }
        service.agents.changes.observe { [weak self] status in
            self?.post(topic: "agents", name: "agent.state_changed", agent: status.agent) { API.json(status) }
        }
        service.messageEvents.observe { [weak self] message in
            self?.post(topic: "messages", name: "sms.\(message.kind.rawValue)", agent: message.agent) {
                var object: [String: Any] = ["from": message.from, "to": message.to, "time": Timestamp.string(message.time)]
                if let agent = message.agent { object["agent"] = agent }
                if let status = message.status { object["status"] = status }
                return object
            }
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
    func post(topic: String, name: String, agent: String?, pop: UInt64? = nil, object: @escaping @Sendable () -> [String: Any]) {
        condition.lock()
        nextID += 1
        items.append(Item(id: nextID, topic: topic, name: name, agent: agent, pop: pop, object: object))
        if items.count > capacity + capacity / 4 { items.removeFirst(items.count - capacity) }
        // A waiter the gateway stopped waiting for (console_wait is at most 5 s) is forgotten.
        if let oldest = waiters.first, Date().timeIntervalSince(oldest.since) > 10 { waiters.removeAll { Date().timeIntervalSince($0.since) > 10 } }
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - The pop before the ring

    /// Calls `shown` once every stream the pop's agent has open has handed the pop
    /// to its connection; false (nothing to wait for) when the agent has none.
    private func wait(for pop: ScreenPop, _ shown: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let item = items.last(where: { $0.pop == pop.sequence }) else { return false }
        let own = screens.filter { $0.value.agent == pop.agent }
        let early = shownEarly.contains { $0.pop == pop.sequence && $0.agent == pop.agent }
        let waiter = Waiter(event: item.id, pop: pop.sequence, agent: pop.agent, published: pop.publishedAt,
                            screens: Set(own.filter { !$0.value.saysShown && $0.value.sentThrough < item.id }.keys),
                            awaitingShown: !early && own.values.contains { $0.saysShown }, since: Date(), shown: shown)
        guard !waiter.done else { return false }
        waiters.append(waiter)
        return true
    }

    /// An agent's own stream opens: the gateway waits for it before ringing the agent.
    func open(screen: ObjectIdentifier, agent: String, from id: UInt64, saysShown: Bool) {
        condition.lock()
        screens[screen] = Screen(agent: agent, sentThrough: id, saysShown: saysShown)
        condition.unlock()
    }

    /// The stream handed everything up to `id` to its connection (or closed: `id` nil).
    func sent(screen: ObjectIdentifier, through id: UInt64?) {
        condition.lock()
        let closing = id == nil ? screens.removeValue(forKey: screen) : nil
        if let id { screens[screen]?.sentThrough = id }
        // The last screen that says when it shows a pop is gone: nobody will say so.
        let noneSaysShown = closing.map { closed in closed.saysShown && !screens.values.contains { $0.agent == closed.agent && $0.saysShown } }
        for index in waiters.indices where id == nil || waiters[index].event <= id! {
            waiters[index].screens.remove(screen)
            if noneSaysShown == true && waiters[index].agent == closing?.agent { waiters[index].awaitingShown = false }
        }
        condition.unlock()
        release()
    }

    /// The agent's console says it shows pop `sequence`; false if no pop of that agent waits for it.
    func shown(pop sequence: UInt64, agent: String) -> Bool {
        condition.lock()
        var found = false
        for index in waiters.indices where waiters[index].pop == sequence && waiters[index].agent == agent && waiters[index].awaitingShown {
            waiters[index].awaitingShown = false
            shownLatency.observe(Date().timeIntervalSince(waiters[index].published))
            found = true
        }
        if !found {
            shownEarly.append((sequence, agent))
            if shownEarly.count > 256 { shownEarly.removeFirst(shownEarly.count - 256) }
        }
        condition.unlock()
        release()
        return found
    }

    /// Tells the gateway of every pop now on all its agent's screens.
    private func release() {
        condition.lock()
        let done = waiters.filter(\.done).map(\.shown)
        waiters.removeAll { $0.done }
        condition.unlock()
        for shown in done { shown() }
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
    /// For an agent's own stream of pops: the gateway rings the agent once this stream has its pop.
    private let isScreen: Bool

    init(hub: EventHub, from id: UInt64?, screenOf agent: String?, saysShown: Bool, matches: @escaping (EventHub.Item) -> Bool) {
        self.hub = hub
        self.matches = matches
        last = id ?? hub.newest
        isScreen = agent != nil
        if let agent { hub.open(screen: ObjectIdentifier(self), agent: agent, from: last, saysShown: saysShown) }
        // The client learns how soon to reconnect, and starts reading at once.
        pending = Data("retry: 2000\n: stream of \(id == nil ? "new" : "missed and new") events\n\n".utf8)
    }

    deinit {
        if isScreen { hub.sent(screen: ObjectIdentifier(self), through: nil) }
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
        if isScreen && pending.isEmpty { hub.sent(screen: ObjectIdentifier(self), through: last) }
        return Data(chunk)
    }
}
