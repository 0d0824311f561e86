import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

/// Agents shared by two gateways on one PostgreSQL store: a phone registered
/// with one is rung by the other, and an agent one of them holds is not
/// offered a call by the other. Real processes, real SIP, a real server.
@Suite("agents shared by gateways on one PostgreSQL store", .enabled(if: PostgresServer.unavailableReason == nil,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): agents across gateways were not checked"))
struct SharedAgentsTests {
    static let plan = """
        [from-trunk]
        exten => _X.,1,Answer()
         same => n,Queue(support,,,,30)
         same => n,Hangup()
        """

    static func config(_ database: String) -> String {
        GatewayProcess.loopbackTrunk() + "[store]\nbackend = postgresql\nconnection = \(database)\npool_size = 2\n"
            + "[agent alice]\npassword = s3cret\nqueues = support\nqualify_frequency = 0\n"
            + "[queue support]\nring_timeout = 4s\nwrapup = 0s\n"
    }

    @Test("a phone registered with gateway A takes a queue call of gateway B; while it is on it, A's caller waits and gets the agent once B lets go")
    func registeredOnOneHeldByTheOther() async throws {
        let database = try await onOwnThread { try PostgresServer.database("shared-agents") }
        let a = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        let b = try await GatewayProcess.start(config: Self.config(database), dialplan: Self.plan)
        defer { a.process.kill(); b.process.kill() }

        // alice's phone registers with A only; B learns where it is through the store.
        let phonePort = Ports.free()
        let register = try await SIPp.run("uac-register.xml", target: a.udpTarget, port: phonePort,
                                          arguments: ["-m", "1", "-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "expires", "600"])
        #expect(register.successful == 1, "\(register.summary)")
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
}
