import Foundation
import OmnigateTestSupport
import Testing

/// The built `omnigate` executable, beside the test runner.
private let omnigate: String = {
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: runner).deletingLastPathComponent()
    while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
        url.deleteLastPathComponent()
    }
    return url.path + "/omnigate"
}()
private let built = FileManager.default.isExecutableFile(atPath: omnigate)

/// Runs `omnigate ARGS` in the package root; returns its exit status, stdout and stderr.
private func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = try TestProcess(omnigate, arguments, directory: packageRoot)
    let status = process.waitForExitBlocking(timeout: .seconds(60))
    return (status, process.stdout, process.stderr)
}

/// `omnigate dialplan check|simulate|graph`, as admins run them.
@Suite("omnigate dialplan commands", .enabled(if: built, "the omnigate executable is not built (swift build): the commands were not run"))
struct CommandTests {
    @Test("check: clean plans exit 0; errors exit 1 and are printed as file:line:column; warnings alone exit 0")
    func check() throws {
        let shipped = try run(["dialplan", "check"])
        #expect(shipped.status == 0 && shipped.out == "")
        #expect(shipped.err.contains("Dialplans: 12 contexts") && shipped.err.contains("0 errors, 0 warnings"))

        let dir = try temporaryDirectory("check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\nexten => 1,1,Dail(PJSIP/a)\nexten => 2,1,SayDigits(1)\n".write(toFile: dir + "/bad.conf", atomically: true, encoding: .utf8)
        try "[default]\nexten => 2,1,SayDigits(1)\n".write(toFile: dir + "/warn.conf", atomically: true, encoding: .utf8)
        let bad = try run(["dialplan", "check", dir + "/bad.conf"])
        #expect(bad.status == 1)
        #expect(bad.out == """
            \(dir)/bad.conf:2:14: error: unknown application 'Dail'; did you mean 'Dial'?
            \(dir)/bad.conf:3:14: warning: application 'SayDigits' is not supported by Omnigate; this step will be skipped

            """)
        #expect(bad.err.contains("1 errors, 1 warnings; the plan would not be loaded"))
        let warned = try run(["dialplan", "check", dir + "/warn.conf"])
        #expect(warned.status == 0 && warned.out.contains("warning:"))
        #expect(try run(["dialplan", "check", dir + "/nothere.conf"]).status == 1)
    }

    @Test("check --asterisk: Asterisk's own sample and basic-pbx plans have no errors",
          .enabled(if: FileManager.default.fileExists(atPath: "/var/cache/omnigate/asterisk/basic-pbx/extensions.conf"),
                   "Asterisk's plans are missing (scripts/setup.sh extracts them): not checked"))
    func asteriskPlans() throws {
        for path in ["/var/cache/omnigate/asterisk/extensions.conf.sample", "/var/cache/omnigate/asterisk/basic-pbx/extensions.conf"] {
            let result = try run(["dialplan", "check", "--asterisk", path])
            #expect(result.status == 0 && !result.out.contains(": error: "), "\(path): \(result.out)")
            #expect(result.err.contains("(read as Asterisk does)") && result.err.contains("; 0 errors, "), "\(result.err)")
            #expect(result.err.contains("names checked against Config/omnigate.conf"))
        }
        let strict = try run(["dialplan", "check", "/var/cache/omnigate/asterisk/basic-pbx/extensions.conf"])
        #expect(strict.status == 1 && strict.err.contains("5 errors"), "3 references, a queue and a trunk Config/omnigate.conf lacks")
    }

    @Test("check and graph read the configuration: its mode, its queues (with members), and --config naming another")
    func configuration() throws {
        let dir = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\nexten => 1,1,Queue(suport)\nsame => n,Goto(nowhere,s,1)\n".write(toFile: dir + "/plan.conf", atomically: true, encoding: .utf8)
        try "[dialplan]\nmode = asterisk\n[agent alice]\ncontact = sip:alice@192.0.2.1\nqueues = support\n[queue support]\n"
            .write(toFile: dir + "/omnigate.conf", atomically: true, encoding: .utf8)
        let asterisk = try run(["dialplan", "check", "--config", dir + "/omnigate.conf", dir + "/plan.conf"])
        #expect(asterisk.status == 0)
        #expect(asterisk.out == """
            \(dir)/plan.conf:2:20: warning: Queue 'suport' is not a [queue] in \(dir)/omnigate.conf; did you mean 'support'?
            \(dir)/plan.conf:3:16: warning: Goto to context 'nowhere', which is not defined

            """)
        let strict = try run(["dialplan", "check", "--strict", "--config", dir + "/omnigate.conf", dir + "/plan.conf"])
        #expect(strict.status == 1 && strict.out.contains("2:20: error: Queue 'suport' is not a [queue]"))
        let graph = try run(["dialplan", "graph", "--config", dir + "/omnigate.conf", dir + "/plan.conf"])
        #expect(graph.out.contains("[\"queue suport<br/>not in \(dir)/omnigate.conf\"]"))
        let shipped = try run(["dialplan", "graph"])
        #expect(shipped.out.contains("[\"queue support<br/>no members\"]"), "Config/omnigate.conf's built-in queues")
        try "[dialplan]\nmode = lenient\n".write(toFile: dir + "/bad.conf", atomically: true, encoding: .utf8)
        let bad = try run(["dialplan", "check", "--config", dir + "/bad.conf", dir + "/plan.conf"])
        #expect(bad.status == 2 && bad.err.contains("bad value 'lenient' for 'mode' in [dialplan]: expected strict or asterisk"))
    }

    @Test("simulate prints each step and the outcome, or the same as JSON")
    func simulate() throws {
        let text = try run(["dialplan", "simulate", "--context", "from-trunk", "--exten", "18005550100", "--time", "2026-11-24T10:00", "--timezone", "America/New_York",
                            "--digits", "3", "--callerid", "2025550142"])
        #expect(text.status == 0)
        let lines = text.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "from-trunk,18005550100,1: NoOp(Call from 2025550142 to 18005550100)")
        #expect(lines.contains("menu,3,1: Goto(voicemail,s,1)"))
        #expect(lines.contains("-- ended: hangup (cause 16)"))

        let json = try run(["dialplan", "simulate", "--context", "from-trunk", "--exten", "18005550100", "--time", "2026-11-24T22:00", "--timezone", "America/New_York",
                            "--format", "json"])
        #expect(json.status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let steps = try #require(document["steps"] as? [[String: Any]])
        #expect(steps.contains { $0["context"] as? String == "closed" && $0["application"] as? String == "Playback" })
        #expect((document["commands"] as? [String])?.contains("play(closed)") == true)
        #expect((document["outcome"] as? [String: Any])?["reason"] as? String == "hangup")

        let message = try run(["dialplan", "simulate", "--context", "sms-in", "--exten", "18005550100", "--callerid", "+12015550100",
                               "--message", "hello", "--time", "2026-11-24T10:00", "--timezone", "America/New_York"])
        #expect(message.out.contains("-- call: message(<sip:+12015550100@127.0.0.1>: Thanks for your message. An agent will reply shortly.)"),
                "MESSAGE(from) reads as Asterisk gives it")

        let dir = try temporaryDirectory("events")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[d]\nexten => 1,1,Verbose(1,hi)\nsame => n,UserEvent(Done,Result: ok)\n".write(toFile: dir + "/e.conf", atomically: true, encoding: .utf8)
        let events = try run(["dialplan", "simulate", "--context", "d", "--exten", "1", dir + "/e.conf"])
        #expect(events.out.contains("-- VERBOSE: hi\n-- UserEvent: Done Result: ok\n"), "\(events.out)")
    }

    @Test("graph prints mermaid or dot")
    func graph() throws {
        let mermaid = try run(["dialplan", "graph"])
        #expect(mermaid.status == 0 && mermaid.out.hasPrefix("flowchart TD\n"))
        let dot = try run(["dialplan", "graph", "--format", "dot", "--context", "menu"])
        #expect(dot.status == 0 && dot.out.hasPrefix("digraph dialplan {") && dot.out.hasSuffix("}\n"))
    }

    @Test("--help works on the command and each subcommand; mistakes are usage errors (exit 2)", arguments: [
        ["dialplan", "--help"], ["dialplan", "check", "--help"], ["dialplan", "simulate", "--help"], ["dialplan", "graph", "--help"],
    ])
    func help(_ arguments: [String]) throws {
        let result = try run(arguments)
        #expect(result.status == 0 && result.out.hasPrefix("Usage: omnigate dialplan check"))
    }

    @Test("usage errors exit 2 and say what is wrong")
    func usageErrors() throws {
        let noContext = try run(["dialplan", "simulate", "--exten", "1"])
        #expect(noContext.status == 2 && noContext.err.contains("--context is required"))
        let unknown = try run(["dialplan", "frobnicate"])
        #expect(unknown.status == 2 && unknown.err.contains("unknown dialplan command 'frobnicate'"))
        let badFormat = try run(["dialplan", "graph", "--format", "svg"])
        #expect(badFormat.status == 2 && badFormat.err.contains("--format takes mermaid or dot"))
        let badOption = try run(["dialplan", "check", "--frob"])
        #expect(badOption.status == 2 && badOption.err.contains("unknown option '--frob'"))
    }
}
