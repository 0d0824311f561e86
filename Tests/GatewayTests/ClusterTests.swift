import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

private let clusterUnavailable = PostgresServer.unavailableReason ?? Kamailio.unavailableReason

/// Several gateways on one PostgreSQL store behind Kamailio's dispatcher (Config/kamailio.cfg):
/// real processes, real SIP through the proxy, one gateway killed while calls are up.
@Suite("gateways behind Kamailio sharing PostgreSQL", .enabled(if: clusterUnavailable == nil,
    "PostgreSQL or Kamailio is not installed here (scripts/setup.sh installs both): the multi-gateway set was not checked"))
struct ClusterTests {
    static let plan = "[from-trunk]\nexten => _[a-z0-9+].,1,Answer()\n same => n,Wait(120)\n"

    @Test("three gateways behind Kamailio: calls spread over them, one is killed under load, and every completed call has its one record")
    func killOneUnderLoad() async throws {
        let database = try await onOwnThread { try PostgresServer.database("cluster") }
        let config = GatewayProcess.loopbackTrunk() + "[store]\nbackend = postgresql\nconnection = \(database)\npool_size = 2\n"
        var gateways: [GatewayProcess] = []
        for _ in 0..<3 { gateways.append(try await GatewayProcess.start(config: config, dialplan: Self.plan)) }
        let kamailio = try await Kamailio(gateways: gateways.map(\.udpTarget))
        defer {
            for gateway in gateways {
                gateway.process.kill()
                try? gateway.process.stderr.write(toFile: gateway.directory + "/gateway.log", atomically: true, encoding: .utf8)
            }
        }
        let calls = 120
        let (sipp, directory) = try SIPp.start("uac-via-proxy.xml", target: kamailio.target, port: Ports.free(),
                                               arguments: ["-m", "\(calls)", "-r", "10", "-d", "1500", "-s", "100"],
                                               timeout: .seconds(90))
        // The second gateway has finished calls, and has others up: it dies.
        let victim = gateways[1]
        try await victim.process.waitForLine(containing: "call ended", occurrence: 5, timeout: .seconds(60))
        victim.process.kill()
        // How long until new calls stop going to it: Kamailio logs the dispatcher marking it down
        // (a figure, printed; the 2 s is the probing interval plus one probe's timeout).
        let killed = ContinuousClock.now
        // Either a probe finds it gone ("… is down") or a call to it does first ("… marked down").
        let line = try await kamailio.process.waitForLine(containing: "gateway sip:\(victim.udpTarget) ", timeout: .seconds(30))
        print("cluster: Kamailio took the killed gateway out after \(ContinuousClock.now - killed): \(line)")
        let result = try await SIPp.finish(sipp, directory: directory, timeout: .seconds(120))
        // The killed run's open records are closed as interrupted: by the gateway restarted (its sweep at
        // start) or by a peer (every 30 s), whichever comes first.
        let restarted = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let store = try TimelineStore(postgresql: database, mode: .readOnly)
        let deadline = ContinuousClock.now + .seconds(60)
        while try store.callRecords(includeOpen: true).contains(where: { $0.state != "ended" }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        for gateway in [gateways[0], gateways[2], restarted] { #expect(try await gateway.stop() == 0) }
        await kamailio.stop()

        #expect(result.successful + result.failed == calls, "\(result.summary)")
        #expect(result.successful >= calls - 20, "only the calls up on the killed gateway may fail: \(result.summary)")
        let records = try store.callRecords(includeOpen: true)
        #expect(records.allSatisfy { $0.state == "ended" }, "no record left open")
        #expect(Set(records.map(\.uniqueid)).count == records.count, "no uniqueid twice")
        // Every call SIPp completed has its record. A call the killed gateway finished in its last
        // moments (its BYE answered, the record still in the gateway's memory) has it too, closed as
        // interrupted from what the store had (the answer, talk time to the last heartbeat).
        let completed = records.filter { !$0.interrupted }
        let interrupted = records.filter(\.interrupted)
        // A gateway logs "call ended" once the record is committed: each such call has its completed record
        // (and the killed gateway may have committed one more it had no time to log).
        let calledIn = victim.process.stderr.components(separatedBy: "call: call in ").count - 1
        let victimEnded = victim.process.stderr.components(separatedBy: "call: call ended").count - 1
        let ended = gateways.map { $0.process.stderr.components(separatedBy: "call: call ended").count - 1 }.reduce(0, +)
        #expect(ended <= completed.count && completed.count <= ended + calledIn - victimEnded,
                "every call a gateway finished has its record: \(ended) ended, \(completed.count) recorded")
        // The killed gateway's calls in flight: each has an interrupted record, unless the kill came before
        // even its opening write was committed (a call SIPp completed in the gateway's last moments).
        let unrecorded = result.successful - completed.count - interrupted.count
        #expect(completed.count <= result.successful && unrecorded <= calledIn - victimEnded - interrupted.count,
                "a record for each completed call: \(completed.count) completed, \(interrupted.count) interrupted, \(calledIn - victimEnded) in flight on the killed gateway, for \(result.summary)")
        #expect(completed.allSatisfy { $0.disposition == "ANSWERED" })
        #expect(Set(completed.compactMap(\.sipCallID)).count == completed.count, "no completed call recorded twice")
        #expect(!interrupted.isEmpty && interrupted.count <= result.failed + 5, "the killed gateway's live calls: \(interrupted.count)")
        // Each gateway took a share (round robin), the killed one too.
        let runs = try store.runs()
        let perRun = Dictionary(grouping: records, by: { $0.runID ?? "" }).mapValues(\.count)
        #expect(runs.count == 4)
        #expect(runs.prefix(3).allSatisfy { (perRun[$0.id] ?? 0) >= 5 }, "calls per run: \(perRun)")
    }
}
