import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

/// What gateways sharing a store keep about agents: who holds an agent (one run at a
/// time, decided by the store), and which run each phone registered with.
@Suite("agents shared through the store")
struct SharedAgentsStoreTests {
    private func run(_ id: String, alive: Date = Date(), stopped: Date? = nil) -> GatewayRun {
        var run = GatewayRun(id: id, systemName: "gw-" + id, pid: 1, bootID: "", processStart: 0, startedAt: alive)
        run.aliveAt = alive
        run.stoppedAt = stopped
        return run
    }

    private func phone(_ contact: String, port: Int) -> SavedRegistration {
        SavedRegistration(contact: contact, target: "sip:alice@127.0.0.1:\(port)", expires: Date().addingTimeInterval(600),
                          sourceHost: "127.0.0.1", sourcePort: port, transport: "UDP", userAgent: "test phone")
    }

    @Test("one run holds an agent at a time: another's claim and release change nothing, and a run that is over lets go",
          arguments: StoreBackend.testable)
    func claims(backend: StoreBackend) async throws {
        // Off the concurrency pool: a full run's other tests need its two threads.
        try await onOwnThread { try self.claims(on: backend) }
    }

    private func claims(on backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        try t.store.apply([.runStarted(run("a")), .runStarted(run("b")), .runStarted(run("dead"))])
        try t.store.apply([.agentClaim(agent: "alice", run: "a", at: Date()), .agentClaim(agent: "alice", run: "b", at: Date())])
        #expect(try t.store.claimHolder(agent: "alice") == "a", "the first claim wins")
        try t.store.apply([.agentRelease(agent: "alice", run: "b")])
        #expect(try t.store.claimHolder(agent: "alice") == "a", "b cannot let go of a's agent")
        try t.store.apply([.agentRelease(agent: "alice", run: "a"), .agentClaim(agent: "alice", run: "b", at: Date())])
        #expect(try t.store.claimHolder(agent: "alice") == "b", "free, then b's")

        try t.store.apply([.agentClaim(agent: "bob", run: "dead", at: Date()), .agentClaim(agent: "cat", run: "gone", at: Date())])
        let released = try t.store.releaseClaims(isOver: { $0.id == "dead" })
        #expect(released == ["bob", "cat"], "a run that is over, and one the store never knew")
        #expect(try t.store.claimHolder(agent: "bob") == nil && t.store.claimHolder(agent: "alice") == "b")
        #expect(try t.store.sharedAgents().claims == ["alice": "b"])
    }

    @Test("each run replaces only its own phones; a phone that registers with another run moves to it", arguments: StoreBackend.testable)
    func registrationsByRun(backend: StoreBackend) async throws {
        try await onOwnThread { try self.registrationsByRun(on: backend) }
    }

    private func registrationsByRun(on backend: StoreBackend) throws {
        let t = try TemporaryStore(backend)
        let desk = phone("sip:alice@127.0.0.1:5070", port: 5070), soft = phone("sip:alice@127.0.0.1:5080", port: 5080)
        try t.store.apply([.registrations(agent: "alice", bindings: [desk], run: "a"),
                           .registrations(agent: "alice", bindings: [soft], run: "b")])
        var saved = try t.store.registrations()["alice"] ?? []
        #expect(saved.map(\.run) == ["a", "b"] && saved.map(\.contact) == [desk.contact, soft.contact])
        // a's phone unregisters: b's stays.
        try t.store.apply([.registrations(agent: "alice", bindings: [], run: "a")])
        saved = try t.store.registrations()["alice"] ?? []
        #expect(saved.map(\.run) == ["b"])
        // The soft phone's next REGISTER goes to a (a proxy in front, say): the row is a's now.
        try t.store.apply([.registrations(agent: "alice", bindings: [soft], run: "a")])
        saved = try t.store.sharedAgents().registrations["alice"] ?? []
        #expect(saved.count == 1 && saved.first?.run == "a")
        // b's last word about its phones no longer removes it.
        try t.store.apply([.registrations(agent: "alice", bindings: [], run: "b")])
        #expect(try t.store.registrations()["alice"]?.count == 1)
    }

    @Test("a registration spilled by an earlier version (no run) is still read from the spill file")
    func spilledRegistrationWithoutRun() throws {
        let old = #"{"registrations":{"agent":"alice","bindings":[{"contact":"sip:alice@127.0.0.1:5070","target":"sip:alice@127.0.0.1:5070","expires":0,"sourceHost":"127.0.0.1","sourcePort":5070,"transport":"UDP","userAgent":""}]}}"#
        let write = try JSONDecoder().decode(StoreWrite.self, from: Data(old.utf8))
        guard case .registrations(let agent, let bindings, let run) = write else { Issue.record("\(write)"); return }
        #expect(agent == "alice" && bindings.count == 1 && run == nil)
        let again = try JSONDecoder().decode(StoreWrite.self, from: JSONEncoder().encode(StoreWrite.registrations(agent: "alice", bindings: bindings, run: "a")))
        #expect(again == .registrations(agent: "alice", bindings: bindings, run: "a"))
    }
}
