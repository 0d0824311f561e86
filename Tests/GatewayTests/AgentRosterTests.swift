import Configuration
import Foundation
import SIPEngine
import Synchronization
@testable import Gateway
import Timeline
import Testing

@Suite("queue strategies pick the agents they should")
struct AgentRosterTests {
    private func roster(_ strategy: QueueStrategy, fallback: QueueStrategy = .roundrobin,
                        members: [String] = ["ann", "ben", "cat"], wrapUp: Duration = .zero) -> AgentRoster {
        let location = ConfigLocation(file: "t.conf", line: 1)
        let agents = members.map { name -> Agent in
            var agent = Agent(name: name, location: location)
            agent.contact = "sip:\(name)@127.0.0.1"
            return agent
        }
        var queue = Queue(name: "q", location: location)
        queue.strategy = strategy
        queue.fallback = fallback
        queue.members = members
        queue.wrapUp = wrapUp
        return AgentRoster(agents: agents, queues: [queue])
    }

    private func names(_ agents: [Agent]) -> [String] { agents.map(\.name) }

    /// The agent rung for a queue call answers it and hangs up.
    private func serve(_ r: AgentRoster, _ agent: String, now: ContinuousClock.Instant = .now) {
        r.answered(agent)
        r.finished(agent, queue: "q", now: now)
    }

    @Test("ringall rings every free member; engaged ones are left out")
    func ringall() {
        let r = roster(.ringall)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann", "ben", "cat"])
        #expect(r.pick(queue: "q", lastAgent: nil).isEmpty, "all three are being rung")
        r.release("ben")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
    }

    @Test("linear always starts from the top of the list")
    func linear() {
        let r = roster(.linear)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
        serve(r, "ann")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"], "ann is engaged")
    }

    @Test("roundrobin continues after the agent who took the last call")
    func roundrobin() {
        let r = roster(.roundrobin)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
        serve(r, "ann")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
        serve(r, "ben")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["cat"])
        serve(r, "cat")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
    }

    @Test("leastrecent picks never-called agents first, then the longest idle")
    func leastrecent() {
        let r = roster(.leastrecent)
        let t0 = ContinuousClock.now
        _ = r.pick(queue: "q", lastAgent: nil)  // ann
        serve(r, "ann", now: t0)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
        serve(r, "ben", now: t0 + .seconds(1))
        _ = r.pick(queue: "q", lastAgent: nil)  // cat, never called
        serve(r, "cat", now: t0 + .seconds(2))
        #expect(names(r.pick(queue: "q", lastAgent: nil, now: t0 + .seconds(3))) == ["ann"])
    }

    @Test("fewestcalls picks the free member with the fewest calls taken")
    func fewestcalls() {
        let r = roster(.fewestcalls)
        for agent in ["ann", "ann", "cat"] { r.finished(agent, queue: "q") }
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["cat"])
    }

    @Test("random picks among free members with the given source of randomness")
    func random() {
        let r = roster(.random)
        #expect(names(r.pick(queue: "q", lastAgent: nil, random: { _ in 2 })) == ["cat"])
        #expect(names(r.pick(queue: "q", lastAgent: nil, random: { n in n - 1 })) == ["ben"])
    }

    @Test("sticky rings the caller's last agent when free, else the fallback strategy")
    func sticky() {
        let r = roster(.sticky, fallback: .linear)
        #expect(names(r.pick(queue: "q", lastAgent: "cat")) == ["cat"])
        #expect(names(r.pick(queue: "q", lastAgent: "cat")) == ["ann"], "cat is engaged: linear fallback")
        #expect(names(r.pick(queue: "q", lastAgent: "nobody")) == ["ben"])
    }

    @Test("wrap-up keeps an agent out until it has passed")
    func wrapUp() {
        let r = roster(.linear, wrapUp: .seconds(10))
        let t0 = ContinuousClock.now
        _ = r.pick(queue: "q", lastAgent: nil, now: t0)
        serve(r, "ann", now: t0)
        #expect(names(r.pick(queue: "q", lastAgent: nil, now: t0 + .seconds(5))) == ["ben"])
        #expect(names(r.pick(queue: "q", lastAgent: nil, now: t0 + .seconds(11))) == ["ann"])
    }

    @Test("a reload keeps the state of agents that stay")
    func reload() {
        let r = roster(.fewestcalls)
        r.finished("ann", queue: "q")
        let location = ConfigLocation(file: "t.conf", line: 1)
        var ann = Agent(name: "ann", location: location)
        ann.contact = "sip:ann@127.0.0.2"
        var queue = Queue(name: "q", location: location)
        queue.members = ["ann"]
        r.reload(agents: [ann], queues: [queue])
        #expect(r.snapshot("ann")?.callsTaken == 1)
        #expect(r.agent(named: "ann")?.contact == "sip:ann@127.0.0.2")
        #expect(r.agent(named: "ben") == nil)
    }

    @Test("login, logout, pause and unpause answer as Asterisk's member applications, and change who is picked")
    func memberChanges() {
        let r = roster(.linear)
        #expect(r.pause("ann", reason: "lunch") == .paused)
        #expect(r.status(of: "ann")?.state == .paused && r.status(of: "ann")?.presence == .paused(reason: "lunch"))
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"], "ann is paused")
        r.release("ben")
        #expect(r.logOut("ben", queue: nil) == .removed)
        #expect(r.logOut("ben", queue: nil) == .notInQueue)
        #expect(r.status(of: "ben")?.state == .loggedOut)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["cat"])
        r.release("cat")
        #expect(r.logIn("ben", queue: nil) == .added, "back in the queues it had")
        #expect(r.status(of: "ben")?.queues == ["q"])
        #expect(r.logIn("ben", queue: "q") == .memberAlready)
        #expect(r.logIn("ben", queue: "nosuch") == .noSuchQueue)
        #expect(r.logOut("ben", queue: "q") == .removed)
        #expect(r.logOut("ben", queue: "q") == .notInQueue)
        #expect(r.unpause("ann") == .unpaused)
        #expect(r.pause("nobody", reason: "") == .notFound)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
    }

    @Test("an agent that says it is ready ends its wrap-up at once")
    func readyEndsWrapUp() {
        let r = roster(.linear, members: ["ann"], wrapUp: .seconds(600))
        _ = r.pick(queue: "q", lastAgent: nil)
        serve(r, "ann")
        #expect(r.status(of: "ann")?.state == .wrapUp)
        #expect(r.pick(queue: "q", lastAgent: nil).isEmpty)
        #expect(r.unpause("ann") == .unpaused)
        #expect(r.status(of: "ann")?.state == .available)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
    }

    @Test("every change of state reaches the followers once, in order: ringing, on a call, wrap-up, available")
    func changesAreReported() async {
        let r = roster(.linear, members: ["ann"], wrapUp: .milliseconds(50))
        let seen = Mutex<[AgentStatus.State]>([])
        r.follow { _, after in seen.withLock { $0.append(after.state) } }
        _ = r.pick(queue: "q", lastAgent: nil)
        r.answered("ann")
        r.finished("ann", queue: "q")
        // Wrap-up ends by itself, as a change like any other.
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0.last }) != .available && ContinuousClock.now < deadline { await Task.yield() }
        #expect(seen.withLock { $0 } == [.ringing, .onCall, .wrapUp, .available])
    }

    @Test("a saved state comes back at start: paused with its reason, or logged out, in the queues it had")
    func savedStates() {
        let location = ConfigLocation(file: "t.conf", line: 1)
        let agents = ["ann", "ben"].map { name -> Agent in
            var agent = Agent(name: name, location: location)
            agent.contact = "sip:\(name)@127.0.0.1"
            return agent
        }
        var q = Queue(name: "q", location: location)
        q.members = ["ann", "ben"]
        let saved = [SavedAgentState(agent: "ann", presence: "paused", reason: "training", queues: ["q", "gone"], changedAt: Date()),
                     SavedAgentState(agent: "ben", presence: "logged_out", queues: ["q"], changedAt: Date())]
        let r = AgentRoster(agents: agents, queues: [q], saved: saved)
        #expect(r.status(of: "ann")?.presence == .paused(reason: "training"))
        #expect(r.status(of: "ann")?.queues == ["q"], "a queue no longer configured is dropped")
        #expect(r.status(of: "ben")?.state == .loggedOut)
        #expect(r.unavailability(of: "ann", queue: "q") == "paused (training)")
        #expect(r.pick(queue: "q", lastAgent: nil).isEmpty)
    }

    @Test("joinempty and leavewhenempty read members as Asterisk's get_member_status does")
    func emptyConditions() {
        let r = roster(.ringall, members: ["ann"])
        #expect(r.hasUsableMember("q", under: .loose) && r.hasUsableMember("q", under: .strict))
        _ = r.pause("ann", reason: "")
        #expect(r.hasUsableMember("q", under: .loose), "loose: a paused member still counts")
        #expect(!r.hasUsableMember("q", under: .strict))
        _ = r.logOut("ann", queue: nil)
        #expect(!r.hasUsableMember("q", under: .loose), "nobody logged in")
        #expect(r.hasUsableMember("q", under: []), "no conditions: callers wait for nobody, as Asterisk's default")
        #expect(EmptyConditions(parsing: "yes", joining: true) == [])
        #expect(EmptyConditions(parsing: "no", joining: false) == [])
        #expect(EmptyConditions(parsing: "paused, inuse", joining: true) == [.paused, .inUse])
        #expect(EmptyConditions(parsing: "sometimes", joining: true) == nil)
    }

    @Test("on a shared store: an agent another gateway holds is not picked, and is picked again once it lets go")
    func heldElsewhere() {
        let r = roster(.linear, members: ["ann", "ben"])
        r.share(elsewhere: ["ann"], remotePhones: [:], states: [])
        #expect(r.status(of: "ann")?.state == .onCall && r.status(of: "ann")?.held == false, "busy, but not held here")
        #expect(r.unavailability(of: "ann", queue: "q") == "taken by another gateway")
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
        #expect(r.status(of: "ben")?.held == true)
        r.release("ben")
        r.share(elsewhere: [], remotePhones: [:], states: [])
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
    }

    @Test("on a shared store: phones registered with another gateway are rung when none registered here")
    func remotePhones() {
        let location = ConfigLocation(file: "t.conf", line: 1)
        var q = Queue(name: "q", location: location)
        q.members = ["ann"]
        let r = AgentRoster(agents: [Agent(name: "ann", location: location)], queues: [q])
        #expect(r.destinations(of: "ann").isEmpty)
        r.share(elsewhere: [], remotePhones: ["ann": ["sip:ann@192.0.2.7:5060"]], states: [])
        #expect(r.destinations(of: "ann") == ["sip:ann@192.0.2.7:5060"])
        let here = Binding(contact: "sip:ann@127.0.0.1:5070", target: "sip:ann@127.0.0.1:5070", expires: Date().addingTimeInterval(60),
                           source: SourceAddress(host: "127.0.0.1", port: 5070, transport: "UDP"))
        r.updateBindings(agent: "ann", bindings: [here])
        #expect(r.destinations(of: "ann") == ["sip:ann@127.0.0.1:5070"], "registered here: rung here only")
    }

    @Test("on a shared store: a login state set later on another gateway is taken over, marked as not to be saved again; an older one is not")
    func adoptedPresence() {
        let r = roster(.linear, members: ["ann"])
        let seen = Mutex<[AgentStatus]>([])
        r.follow { _, after in seen.withLock { $0.append(after) } }
        _ = r.pause("ann", reason: "lunch")
        let pausedAt = try! #require(r.status(of: "ann")?.presenceChangedAt)
        #expect(seen.withLock { $0.last?.adopted } == false, "set here: saved by this gateway")
        r.share(elsewhere: [], remotePhones: [:], states: [
            SavedAgentState(agent: "ann", presence: "available", queues: ["q"], changedAt: pausedAt.addingTimeInterval(-5))])
        #expect(r.status(of: "ann")?.presence == .paused(reason: "lunch"), "older than the pause here")
        r.share(elsewhere: [], remotePhones: [:], states: [
            SavedAgentState(agent: "ann", presence: "logged_out", queues: ["q"], changedAt: pausedAt.addingTimeInterval(5))])
        #expect(r.status(of: "ann")?.presence == .loggedOut)
        #expect(seen.withLock { $0.last?.adopted } == true, "set on the other gateway: already saved")
        _ = r.logIn("ann", queue: "q")
        #expect(seen.withLock { $0.last?.adopted } == false)
        // Dated after the change it follows, even when that one's clock was ahead: the store keeps the later.
        #expect(r.status(of: "ann")!.presenceChangedAt > pausedAt.addingTimeInterval(5))
    }

    @Test("an agent on a call of its own is not offered a queue call, and is free again when it ends (no wrap-up, not a call taken)")
    func ownCall() {
        let r = roster(.linear, members: ["ann", "ben"], wrapUp: .seconds(30))
        r.ownCall("ann")
        #expect(r.status(of: "ann")?.state == .onCall && r.status(of: "ann")?.held == true)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ben"])
        r.release("ben")
        r.ownCallEnded("ann")
        #expect(r.status(of: "ann")?.state == .available && r.snapshot("ann")?.callsTaken == 0)
        #expect(names(r.pick(queue: "q", lastAgent: nil)) == ["ann"])
    }
}
