import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

/// Agents shared by two gateways on one PostgreSQL store: a phone registered
/// with one is rung by the other, and an agent one of them holds is not
/// offered a call by the other. Real processes, real SIP, a real server.
// One test at a time: each runs two or three gateways, and a full run starts every suite at once.
@Suite("agents shared by gateways on one PostgreSQL store", .serialized, .enabled(if: PostgresServer.unavailableReason == nil,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): agents across gateways were not checked"))
struct SharedAgentsTests {
    static let plan = """
        [from-trunk]
        exten => _X.,1,Answer()
         same => n,Queue(support,,,,30)
         same => n,Hangup()
        exten => 7047,1,PauseQueueMember(,PJSIP/alice,,lunch)
         same => n,Hangup()
        """

    static func config(_ database: String) -> String {
        GatewayProcess.loopbackTrunk() + "[store]\nbackend = postgresql\nconnection = \(database)\npool_size = 2\n"
            + "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nring_timeout = 4s\nwrapup = 0s\n"
    }

    /// A phone (SIPp, from a port of its own) registers `agent` with `gateway`; its port.
    @discardableResult
    static func register(_ agent: String, with gateway: GatewayProcess, port: Int = Ports.free()) async throws -> Int {
        let register = try await SIPp.run("uac-register.xml", target: gateway.udpTarget, port: port,
                                          arguments: ["-m", "1", "-s", agent, "-au", agent, "-ap", "s3cret", "-key", "expires", "600"])
        #expect(register.successful == 1, "\(register.summary)")
        return port
    }

    @Test("a phone registered with gateway A takes a queue call of gateway B; while it is on it, A's caller waits and gets the agent once B lets go")
    func registeredOnOneHeldByTheOther() async throws {
        let database = try await onOwnThread { try PostgresServer.database("shared-agents") }
        let a = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        let b = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        defer { a.process.kill(); b.process.kill() }

        // alice's phone registers with A only; B learns where it is through the store.
        let phonePort = try await Self.register("alice", with: a)
        let learned = try await b.process.waitForLine(containing: "agent's phones registered with another gateway agent=alice",
                                                      timeout: .seconds(10))
        #expect(learned.contains("127.0.0.1:\(phonePort)"), "\(learned)")
        #expect(!b.process.stderr.contains("agent phone registered"), "the phone registered with A, not B")

        // The phone answers two calls, one after the other (SIPp's built-in UAS waits for each BYE).
        let (phone, phoneDirectory) = try SIPp.start("builtin:uas", target: nil, port: phonePort, arguments: ["-m", "2"],
                                                     timeout: .seconds(60))
        // Caller 1 reaches B, which rings alice's phone (registered with A) and bridges it: B holds alice.
        let (first, firstDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: b.udpTarget, port: Ports.free(),
                                                     arguments: ["-m", "1", "-d", "4000", "-s", "18005550101"], timeout: .seconds(30))
        try await b.process.waitForLine(containing: "screen pop", timeout: .seconds(15))
        // Caller 2 reaches A while alice talks on B: A must not offer her the call.
        let (second, secondDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: a.udpTarget, port: Ports.free(),
                                                       arguments: ["-m", "1", "-d", "12000", "-s", "18005550102"], timeout: .seconds(40))
        let waiting = try await a.process.waitForLine(containing: "queue: no agent can take the call yet", timeout: .seconds(15))
        #expect(waiting.contains("alice: taken by another gateway"), "\(waiting)")
        #expect(try await SIPp.finish(first, directory: firstDirectory).successful == 1)
        #expect(try await SIPp.finish(second, directory: secondDirectory, timeout: .seconds(40)).successful == 1)
        #expect(try await SIPp.finish(phone, directory: phoneDirectory, timeout: .seconds(30)).successful == 2)
        try await a.process.waitForLine(containing: "call ended", timeout: .seconds(15))
        try await b.process.waitForLine(containing: "call ended", timeout: .seconds(15))
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)

        let store = try TimelineStore(postgresql: database, mode: .readOnly)
        let records = try store.callRecords(includeOpen: true)
        let onB = try #require(records.first { $0.dst == "18005550101" })
        let onA = try #require(records.first { $0.dst == "18005550102" })
        #expect(onB.agent == "alice" && onB.disposition == "ANSWERED", "\(onB)")
        #expect(onA.agent == "alice" && onA.disposition == "ANSWERED", "\(onA)")
        #expect(onB.runID != onA.runID)
        // Never on two calls at once: A's call reached her after B's ended.
        let firstEnd = try #require(onB.end), secondAnswer = try #require(onA.agentAnswer)
        #expect(secondAnswer >= firstEnd, "A offered alice at \(secondAnswer), while she was on B's call until \(firstEnd)")
        #expect(try store.claimHolder(agent: "alice") == nil, "both let her go")
    }

    @Test("an agent paused on one gateway is paused on the other, which does not save the change again")
    func loginStateFollowed() async throws {
        let database = try await onOwnThread { try PostgresServer.database("shared-presence") }
        let a = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        let b = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        defer { a.process.kill(); b.process.kill() }
        let pause = try await SIPp.run("uac-caller-hangs-up.xml", target: b.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "1", "-d", "200", "-s", "7047"])
        #expect(pause.successful + pause.failed == 1, "\(pause.summary)")
        let set = try await b.process.waitForLine(containing: "agent changed agent=alice presence=paused", timeout: .seconds(10))
        #expect(set.contains("reason=lunch"), "\(set)")
        let followed = try await a.process.waitForLine(containing: "agent changed on another gateway agent=alice presence=paused",
                                                      timeout: .seconds(10))
        #expect(followed.contains("reason=lunch"), "\(followed)")
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
        let log = try await onOwnThread {
            try PostgresServer.running().get().psql("SELECT presence || ' ' || reason FROM agent_state_log WHERE agent = 'alice'",
                                                    database: PostgresServer.databaseName(database))
        }
        #expect(log.trimmingCharacters(in: .whitespacesAndNewlines) == "paused lunch", "one change, written once: \(log)")
    }

    @Test("a queue serves callers in one order across gateways: the caller who came first on B gets the agent freed on A before A's own caller")
    func oneOrderAcrossGateways() async throws {
        let database = try await onOwnThread { try PostgresServer.database("shared-queue") }
        let a = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan, arguments: ["--log-level", "debug"])
        let b = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        defer { a.process.kill(); b.process.kill() }
        let phonePort = try await Self.register("alice", with: a)
        try await b.process.waitForLine(containing: "agent's phones registered with another gateway agent=alice", timeout: .seconds(10))
        let (phone, phoneDirectory) = try SIPp.start("builtin:uas", target: nil, port: phonePort, arguments: ["-m", "3"],
                                                     timeout: .seconds(90))
        func call(_ gateway: GatewayProcess, _ number: String, holding: Int) throws -> (TestProcess, String) {
            try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                           arguments: ["-m", "1", "-d", "\(holding)", "-s", number], timeout: .seconds(60))
        }
        // alice talks to A's first caller.
        let busy = try call(a, "18005550100", holding: 5000)
        try await a.process.waitForLine(containing: "screen pop", timeout: .seconds(15))
        // The first to wait joins on B; A learns of it; then A's own caller joins.
        let first = try call(b, "18005550101", holding: 12000)
        try await b.process.waitForLine(containing: "queue: no agent can take the call yet", timeout: .seconds(15))
        try await a.process.waitForLine(containing: "callers waiting on other gateways queue=support callers=1", timeout: .seconds(10))
        let second = try call(a, "18005550102", holding: 20000)
        let joined = try await a.process.waitForLine(containing: "queue: joined", occurrence: 2, timeout: .seconds(15))
        #expect(joined.contains("position=2"), "behind the caller on B: \(joined)")
        // alice is free on A first; A lets B's caller, who came first, have her.
        try await a.process.waitForLine(containing: "queue: a caller who came first on another gateway is served first", timeout: .seconds(20))
        for (sipp, directory) in [busy, first, second] {
            #expect(try await SIPp.finish(sipp, directory: directory, timeout: .seconds(60)).successful == 1)
        }
        #expect(try await SIPp.finish(phone, directory: phoneDirectory, timeout: .seconds(30)).successful == 3)
        try await a.process.waitForLine(containing: "call ended", occurrence: 2, timeout: .seconds(15))
        try await b.process.waitForLine(containing: "call ended", timeout: .seconds(15))
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)

        let records = try TimelineStore(postgresql: database, mode: .readOnly).callRecords(includeOpen: true)
        let onB = try #require(records.first { $0.dst == "18005550101" })
        let onA = try #require(records.first { $0.dst == "18005550102" })
        #expect(onB.agent == "alice" && onA.agent == "alice", "\(onB.agent ?? "-") \(onA.agent ?? "-")")
        let firstServed = try #require(onB.agentAnswer), secondServed = try #require(onA.agentAnswer)
        #expect(firstServed < secondServed, "B's caller came first and was served at \(firstServed), A's at \(secondServed)")
    }

    @Test("a gateway that restarts takes back the phones registered with it, not those of a gateway still running")
    func restartKeepsOwnPhones() async throws {
        let database = try await onOwnThread { try PostgresServer.database("shared-restart") }
        let config = Self.config(database) + "[agent bob]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
        let a = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let b = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        defer { a.process.kill(); b.process.kill() }
        try await Self.register("alice", with: a)
        try await Self.register("bob", with: b)
        try await a.process.waitForLine(containing: "agent's phones registered with another gateway agent=bob", timeout: .seconds(10))
        #expect(try await a.stop() == 0)
        let restarted = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        defer { restarted.process.kill() }
        try await restarted.process.waitForLine(containing: "agent's phones restored from the store agent=alice", timeout: .seconds(10))
        try await restarted.process.waitForLine(containing: "agent's phones registered with another gateway agent=bob", timeout: .seconds(10))
        #expect(!restarted.process.stderr.contains("restored from the store agent=bob"), "bob's phone is B's")
        #expect(try await restarted.stop() == 0)
        #expect(try await b.stop() == 0)
    }
}
