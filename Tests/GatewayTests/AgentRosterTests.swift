import Configuration
@testable import Gateway
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
}
