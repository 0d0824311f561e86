import Foundation
import OmnigateTestSupport
import Testing

/// scripts/setup.sh extracts Asterisk's own dialplans from Debian's asterisk source package.
private let samplePath = "/var/cache/omnigate/asterisk/extensions.conf.sample"
private let basicPBXPath = "/var/cache/omnigate/asterisk/basic-pbx/extensions.conf"
private let asteriskPlans = FileManager.default.fileExists(atPath: samplePath) && FileManager.default.fileExists(atPath: basicPBXPath)

/// `[dialplan] mode = asterisk`: the service runs Asterisk dialplans as they are,
/// lists what they leave to run time, and fails those steps as Asterisk does.
@Suite("omnigate run with [dialplan] mode = asterisk",
       .enabled(if: asteriskPlans, "Asterisk's sample or basic-pbx dialplan is missing (scripts/setup.sh extracts them): not run"))
struct AsteriskModeTests {
    static func config(context: String, extra: String = "") -> String {
        "[general]\ndrain_time = 0s\n[dialplan]\nmode = asterisk\n" + GatewayProcess.loopbackTrunk(context: context) + extra
    }

    static func call(_ gateway: GatewayProcess, to number: String, hangsUp scenario: String = "uac-caller-hangs-up.xml") async throws -> SIPp.Result {
        try await SIPp.run(scenario, target: gateway.udpTarget, port: Ports.free(),
                           arguments: ["-m", "1", "-s", number, "-d", "1000", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))],
                           timeout: .seconds(30))
    }

    @Test("Asterisk's sample plan: the service starts, lists its warnings with file:line, and answers a call to its demo")
    func sample() async throws {
        let plan = try String(contentsOfFile: samplePath, encoding: .utf8)
        let gateway = try await GatewayProcess.start(config: Self.config(context: "demo"), dialplan: plan)
        defer { try? FileManager.default.removeItem(atPath: gateway.directory) }
        let log = gateway.process.stderr
        #expect(log.contains("dialplan warning cause=load at=Dialplans/extensions.conf:612:24 problem=\"Gosub to extension 's', which [page] does not have\""), "\(log)")
        #expect(log.contains("problem=\"application 'SIPAddHeader' was removed in Asterisk 21: Asterisk 22 ends the call at this step, and so does Omnigate\""))
        let result = try await Self.call(gateway, to: "s")
        #expect(result.successful == 1, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "call ended call.uniqueid=")
        #expect(try await gateway.stop() == 0)
    }

    @Test("Asterisk's basic-pbx plan: the service starts and its IVR answers a call")
    func basicPBX() async throws {
        let plan = try String(contentsOfFile: basicPBXPath, encoding: .utf8)
        let gateway = try await GatewayProcess.start(config: Self.config(context: "DCS-Incoming"), dialplan: plan)
        defer { try? FileManager.default.removeItem(atPath: gateway.directory) }
        let result = try await Self.call(gateway, to: "2565551100")
        #expect(result.successful == 1, "\(result.summary)")
        let verbose = try await gateway.process.waitForLine(containing: "dialplan: Verbose")
        #expect(verbose.contains("text=\" \\\"New caller, +15551230000 dialed into the IVR.\\\"\"") && verbose.contains("at=Dialplans/extensions.conf:160:22"),
                "\(verbose)")
        #expect(try await gateway.stop() == 0)
    }

    @Test("a jump to an extension nobody defines ends the call at run time as in Asterisk, with a log line naming file:line")
    func runTimeFailure() async throws {
        let plan = try String(contentsOfFile: basicPBXPath, encoding: .utf8)
        // Calls enter [External-Features] itself: from [DCS-Incoming], which includes it, Asterisk (and
        // Omnigate) would take the included IVR's 'i' for the missing extension instead.
        let gateway = try await GatewayProcess.start(config: Self.config(context: "External-Features", extra: "[queue sales]\nmax_wait = 1s\n"),
                                                     dialplan: plan)
        defer { try? FileManager.default.removeItem(atPath: gateway.directory) }
        // The sales queue has no members: Queue() goes on, to Goto(operator,1), which [External-Features] lacks.
        let result = try await Self.call(gateway, to: "2565551200", hangsUp: "uac-gateway-hangs-up.xml")
        #expect(result.successful == 1, "\(result.summary)")
        let line = try await gateway.process.waitForLine(containing: "warning=\"Dialplans/extensions.conf:44:")
        #expect(line.contains("warning=\"Dialplans/extensions.conf:44:11: Goto(operator,1): [External-Features] has no extension 'operator'; the call ends, as in Asterisk\""),
                "\(line)")
        // A reload lists the warnings again.
        gateway.process.signal(SIGHUP)
        let again = try await gateway.process.waitForLine(containing: "dialplan warning cause=reload at=Dialplans/extensions.conf:44:16")
        #expect(again.contains("problem=\"Goto to extension 'operator', which [External-Features] does not have\""))
        #expect(try await gateway.stop() == 0)
    }

    @Test("read strictly (the default), basic-pbx is refused at start with its three run-time references")
    func strictRefuses() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/Dialplans", withIntermediateDirectories: true)
        try String(contentsOfFile: basicPBXPath, encoding: .utf8).write(toFile: directory + "/Dialplans/extensions.conf", atomically: true, encoding: .utf8)
        try "[sip]\nudp = 127.0.0.1:0\ntcp = off\nrtp_port_start = \(Ports.free(count: 200))\nrtp_port_range = 200\n[http]\nlisten = off\n".write(toFile: directory + "/o.conf", atomically: true, encoding: .utf8)
        let process = try TestProcess(TestPaths.omnigate, ["run", "--config", directory + "/o.conf"], directory: directory)
        #expect(try await process.waitForExit() == 1)
        let errors = process.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors == [
            "Dialplans/extensions.conf:44:16: error: Goto to extension 'operator', which [External-Features] does not have",
            "Dialplans/extensions.conf:51:16: error: Goto to extension 'operator', which [External-Features] does not have",
            "Dialplans/extensions.conf:107:18: error: Goto to priority 1111 of 'o' in [Dial-Users], which does not exist",
        ])
    }
}

/// Ported from Asterisk's testsuite, tests/pbx/callerid_match, over SIP: the caller
/// ID a call takes to the extensions is the From user SIPp sends (none at all for
/// samples 3 and 5), and each call must reach the step its sample names. Asterisk's
/// test starts the calls from call files and runs an AGI there; here the step sends
/// a UserEvent, which the gateway logs.
@Suite("Asterisk testsuite: tests/pbx/callerid_match, over SIP")
struct CallerIDMatchOverSIPTests {
    static let plan = """
        [test]
        exten => agi1/2565550101,1,Answer()
         same => n,UserEvent(Reached,sample: 1)
        exten => agi1,1,Hangup(21)
        exten => agi2/2565550299,1,Hangup(21)
        exten => agi2,1,Answer()
         same => n,UserEvent(Reached,sample: 2)
        exten => agi3/,1,Answer()
         same => n,UserEvent(Reached,sample: 3)
        exten => agi3,1,Hangup(21)
        exten => agi4,1,Answer()
         same => n,UserEvent(Reached,sample: 4)
        exten => agi4/,1,Hangup(21)
        exten => agi5,1,Hangup(21)
        exten => agi5/,1,Answer()
         same => n,UserEvent(Reached,sample: 5)
        exten => agi6,1,Hangup(21)
        exten => agi6/,1,Hangup(21)
        exten => agi6/2565550606,1,Answer()
         same => n,UserEvent(Reached,sample: 6)
        exten => agi7,1,Hangup(21)
        exten => agi7/,1,Hangup(21)
        exten => agi7/1,1,Hangup(21)
        exten => agi7/12,1,Answer()
         same => n,UserEvent(Reached,sample: 7)
        exten => agi7/123,1,Hangup(21)
        """

    @Test("seven calls, each to the step its caller ID selects")
    func samples() async throws {
        let gateway = try await GatewayProcess.start(config: "[general]\ndrain_time = 0s\n" + GatewayProcess.loopbackTrunk(context: "test"),
                                                     dialplan: Self.plan)
        defer { try? FileManager.default.removeItem(atPath: gateway.directory) }
        let calls = ["2565550101@;agi1", "2565550202@;agi2", ";agi3", "2565550404@;agi4", ";agi5", "2565550606@;agi6", "12@;agi7"]
        let file = gateway.directory + "/callers.csv"
        try ("SEQUENTIAL\n" + calls.map { $0 + ";\n" }.joined()).write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await SIPp.run("uac-caller-id-from-file.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-inf", file, "-m", "7", "-l", "1", "-mi", "127.0.0.1", "-mp", String(Ports.free(count: 4))],
                                        timeout: .seconds(60))
        #expect(result.successful == 7, "\(result.summary)")
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 7)
        let samples = gateway.process.stderr.split(separator: "\n").filter { $0.contains("user event event=Reached") }
            .map { line in line.split(separator: " ").first { $0.hasPrefix("event.sample=") }.map { String($0.dropFirst("event.sample=".count)) } ?? "" }
        #expect(samples == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(try await gateway.stop() == 0)
    }
}

/// What a plan tells the log — Verbose(), Log(), UserEvent() — reaches the
/// gateway's log from message contexts as from calls, each line naming its step.
@Suite("Verbose, Log and UserEvent in the gateway's log")
struct DialplanLogTests {
    @Test("from a message context: a line each, at their level, with the message's id and the step's file:line")
    func fromMessages() async throws {
        let plan = """
            [from-trunk]
            exten => s,1,Hangup()
            [sms-in]
            exten => _X.,1,Verbose(1,SMS from ${MESSAGE(from)}: ${MESSAGE(body)})
             same => n,Log(WARNING,looks urgent)
             same => n,UserEvent(SMS,To: ${EXTEN},From: ${CALLERID(num)})
            """
        let gateway = try await GatewayProcess.start(config: GatewayProcess.loopbackTrunk(messageContext: "sms-in"), dialplan: plan)
        defer { try? FileManager.default.removeItem(atPath: gateway.directory) }
        let sent = try await SIPp.run("uac-message.xml", target: gateway.udpTarget, port: Ports.free(), arguments: ["-m", "1", "-s", "18005550100"])
        #expect(sent.successful == 1, "\(sent.summary)")
        let event = try await gateway.process.waitForLine(containing: "user event")
        #expect(event.contains(" info    dialplan: user event event=SMS message.uniqueid=sms-") && event.contains("at=Dialplans/extensions.conf:6:12")
                && event.hasSuffix("event.To=18005550100 event.From=+15551230000"), "\(event)")
        let log = gateway.process.stderr
        #expect(log.contains(" info    dialplan: Verbose text=\"SMS from <sip:+15551230000@127.0.0.1>"), "\(log)")
        #expect(log.contains(": Watson, come here.\\r\\n\" at=Dialplans/extensions.conf:4:16 message.uniqueid=sms-"))
        #expect(log.contains(" warning dialplan: Log WARNING text=\"looks urgent\" at=Dialplans/extensions.conf:5:12 message.uniqueid=sms-"))
        #expect(try await gateway.stop() == 0)
    }
}
