@testable import Dialplan
import Foundation
import Testing

/// Loads text, expecting no errors.
func plan(_ text: String, file: String = "t.conf") throws -> Dialplan {
    let load = DialplanLoader.parse(text, file: file)
    if let plan = load.plan { return plan }
    throw LoadFailure(diagnostics: load.diagnostics)
}

/// Every diagnostic for some text, rendered.
func diagnostics(_ text: String, compatibility: Bool = false) -> [String] {
    DialplanLoader.parse(text, file: "t.conf", compatibility: compatibility).diagnostics.map(\.description)
}

/// Runs a plan against a scripted channel.
func simulate(_ plan: Dialplan, context: String = "default", exten: String, callerID: String = "2015550100",
              script: ScriptedChannel.Script = .init(), time: String? = nil) async -> (Outcome, ScriptedChannel) {
    let channel = ScriptedChannel(script)
    var start = CallStart(context: context, exten: exten, callerIDNumber: callerID, callerIDName: "Ada", uniqueID: "u-1")
    if let time {
        let date = ISO8601DateFormatter().date(from: time)!
        start.now = { date }
    }
    start.timeZone = TimeZone(identifier: "UTC")!
    let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start)
    return (await interpreter.run(), channel)
}

@Suite("dialplan syntax")
struct SyntaxTests {
    @Test("exten with => and =, same => n, labels, priorities and comments")
    func basics() throws {
        let p = try plan("""
        ; a comment
        [default]
        exten => 100,1,Answer()   ; trailing comment
        same => n(greet),Playback(welcome)
        exten = 100,n,Hangup()
        exten => 200,1,NoOp(semicolon\\; kept)
        """)
        let ext = try #require(p.contexts["default"]?.extensions.first { $0.name == "100" })
        #expect(ext.numbers == [1, 2, 3])
        #expect(ext.labels["greet"] == 2)
        #expect(ext.priorities[3]?.application == "Hangup")
        #expect(p.contexts["default"]?.extensions.first { $0.name == "200" }?.priorities[1]?.arguments == "semicolon; kept")
    }

    @Test("block comments ;-- … --; span lines")
    func blockComments() throws {
        let p = try plan("""
        [default]
        ;-- this is
        exten => 1,1,Hangup()
        all commented --;
        exten => 2,1,NoOp(a) ;-- inline --; 
        """)
        #expect(p.contexts["default"]?.extensions.map(\.name) == ["2"])
    }

    @Test("[general] autofallthrough and [globals]")
    func generalAndGlobals() throws {
        let p = try plan("[general]\nautofallthrough=no\n[globals]\nTRUNK=PJSIP/provider\nX = a=b\n[default]\nexten => s,1,NoOp()\n")
        #expect(!p.autofallthrough)
        #expect(p.globals.map { "\($0.name)=\($0.value)" } == ["TRUNK=PJSIP/provider", "X=a=b"])
    }

    @Test("[context](+) adds to a context; a repeated plain header is merged with a warning")
    func extendContext() throws {
        let p = try plan("[a]\nexten => 1,1,NoOp()\n[a](+)\nexten => 2,1,NoOp()\n")
        #expect(p.contexts["a"]?.extensions.count == 2)
        #expect(diagnostics("[a]\nexten => 1,1,NoOp()\n[a]\nexten => 2,1,NoOp()\n") == [
            "t.conf:3:1: warning: context [a] was already defined at t.conf:1:1; its extensions are added to it (write [a](+) to say so)",
        ])
    }

    @Test("caller-ID matches: the matching one wins over the plain extension")
    func callerID() async throws {
        let p = try plan("""
        [default]
        exten => 306,1,NoOp(plain)
        exten => 306/_101,1,NoOp(from 101)
        """)
        let (fromBoss, _) = await simulate(p, exten: "306", callerID: "101")
        #expect(fromBoss.steps.first?.arguments == "from 101")
        let (other, _) = await simulate(p, exten: "306", callerID: "555")
        #expect(other.steps.first?.arguments == "plain")
    }

    @Test("hints are ignored with a warning; ignorepat and switch too")
    func hintsAndOthers() {
        #expect(diagnostics("[default]\nexten => 100,hint,PJSIP/100\nignorepat => 9\nswitch => DUNDi/e164\n") == [
            "t.conf:2:10: warning: hint for '100' is ignored: Omnigate has no device state",
            "t.conf:3:1: warning: ignorepat is ignored: Omnigate gives no dial tone",
            "t.conf:4:1: warning: 'switch =>' (realtime switch) is not supported and is ignored",
        ])
    }

    @Test("#include and #tryinclude are relative, and cycles are refused")
    func includes() throws {
        let dir = NSTemporaryDirectory() + "dp-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\n#include \"sub/more.conf\"\n#tryinclude missing.conf\n".write(toFile: dir + "/extensions.conf", atomically: true, encoding: .utf8)
        try "exten => 1,1,NoOp()\n#include \"../extensions.conf\"\n".write(toFile: dir + "/sub/more.conf", atomically: true, encoding: .utf8)
        let load = DialplanLoader.load(paths: [dir])
        #expect(load.diagnostics.map(\.description) == [
            "\(dir)/sub/more.conf:2:1: error: #include cycle: extensions.conf -> more.conf -> extensions.conf",
        ])
        try "exten => 1,1,NoOp()\n".write(toFile: dir + "/sub/more.conf", atomically: true, encoding: .utf8)
        let fixed = DialplanLoader.load(paths: [dir])
        #expect(fixed.errors.isEmpty)
        #expect(fixed.plan?.contexts["default"]?.extensions.count == 1)
        #expect(DialplanLoader.load(paths: [dir + "/nope.conf"]).diagnostics.map(\.description) == [
            "\(dir)/nope.conf:0:1: error: no such file or directory",
        ])
    }
}

@Suite("dialplan errors, each with its message and place")
struct ErrorTests {
    @Test("syntax errors are reported and parsing goes on", arguments: [
        ("exten => 1,1,NoOp()\n", "t.conf:1:1: error: 'exten => 1,1,NoOp()' is outside any [context]"),
        ("[default\n", "t.conf:1:1: error: a context header looks like [name]; got '[default'"),
        ("[default]\nexten => 1,1\n", "t.conf:2:10: error: expected 'exten => name,priority,Application(args)'"),
        ("[default]\nexten => 1,x,NoOp()\n", "t.conf:2:10: error: bad priority 'x'; expected a number, n, n(label) or hint"),
        ("[default]\nexten => 1,n,NoOp()\n", "t.conf:2:10: error: priority 'n' needs a numbered priority before it in extension '1'"),
        ("[default]\nsame => n,NoOp()\n", "t.conf:2:9: error: 'same =>' needs an 'exten =>' line before it in [default]"),
        ("[default]\nexten => 1,1,NoOp(\n", "t.conf:2:14: error: unbalanced parentheses in 'NoOp('"),
        ("[default]\nexten => _1[2,1,NoOp()\n", "t.conf:2:10: error: bad pattern '_1[2': '[' has no closing ']'"),
        ("[default]\nexten => _1.2,1,NoOp()\n", "t.conf:2:10: error: bad pattern '_1.2': '.' may only end a pattern"),
        ("[default]\nfoo => bar\n", "t.conf:2:1: error: unknown statement 'foo'; expected exten, same or include"),
        ("[default]\nexten => 1,1,NoOp()\nexten => 1,1,Hangup()\n",
         "t.conf:3:10: error: priority 1 of extension '1' in [default] is already defined at t.conf:2:14"),
        ("[default]\nexten => 1,1(a),NoOp()\nsame => n(a),Hangup()\n",
         "t.conf:3:9: error: label 'a' is already used by priority 1 of extension '1'"),
        ("[default]\n;-- never closed\nexten => 1,1,NoOp()\n", "t.conf:2:1: error: block comment ';--' is never closed with '--;'"),
        ("[default]\n#exec rm -rf /\n", "t.conf:2:1: warning: #exec is not supported and is ignored"),
        ("[default]\n#inlcude x.conf\n", "t.conf:2:1: error: unknown directive '#inlcude'; expected #include or #tryinclude"),
        ("[default]\ninclude => other,09:00-17:00,mon-fri\n",
         "t.conf:2:12: error: bad time condition in include: a time condition has 4 or 5 fields (times,weekdays,mdays,months[,timezone]); got 2"),
    ])
    func syntax(text: String, message: String) {
        #expect(diagnostics(text).contains(message), "\(diagnostics(text))")
    }

    @Test("unknown applications are errors with a suggestion; Asterisk's others are warnings")
    func applications() {
        #expect(diagnostics("[default]\nexten => 1,1,Dail(PJSIP/alice)\n") == [
            "t.conf:2:14: error: unknown application 'Dail'; did you mean 'Dial'?",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,SayDigits(123)\n") == [
            "t.conf:2:14: warning: application 'SayDigits' is not supported by Omnigate; this step will be skipped",
        ])
    }

    @Test("unknown functions are errors; Asterisk's others are warnings")
    func functions() {
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${TOUPER(x)})\n") == [
            "t.conf:2:21: error: unknown function 'TOUPER'; did you mean 'TOUPPER'?",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,Set(CHANNEL(language)=fr)\n") == [
            "t.conf:2:18: warning: function 'CHANNEL' is not supported by Omnigate; it reads as empty",
        ])
    }

    @Test("jumps to contexts, extensions, priorities and labels that do not exist are errors")
    func jumps() {
        let found = diagnostics("""
        [default]
        exten => 1,1,Goto(nowhere,s,1)
        exten => 2,1,Goto(default,99,1)
        exten => 3,1,Goto(1,7)
        exten => 4,1,GotoIf($[1]?1,missing:1,1)
        exten => 5,1,Goto(${DEST},1)
        """)
        #expect(found == [
            "t.conf:2:19: error: Goto to context 'nowhere', which is not defined",
            "t.conf:3:19: error: Goto to extension '99', which [default] does not have",
            "t.conf:4:19: error: Goto to priority 7 of '1' in [default], which does not exist",
            "t.conf:5:21: error: Goto to label 'missing', which extension '1' in [default] does not have",
        ])
    }

    @Test("priorities that can never run are warnings")
    func unreachable() {
        #expect(diagnostics("[default]\nexten => 1,1,NoOp()\nexten => 1,3,NoOp(gap)\nexten => 2,1,Hangup()\nsame => n,NoOp(dead)\n") == [
            "t.conf:3:14: warning: priority 3 of '1' in [default] can never run: there is no priority 2 before it and nothing jumps to it",
            "t.conf:5:11: warning: priority 2 of '2' in [default] can never run: Hangup at priority 1 never continues to it",
        ])
    }

    @Test("a context included but never defined is an error; a cycle of includes a warning")
    func includes() {
        #expect(diagnostics("[a]\ninclude => b\n[b]\ninclude => a\ninclude => missing\n") == [
            "t.conf:4:12: warning: include cycle: a -> b -> a; the repeat is skipped when searching",
            "t.conf:5:12: error: [b] includes 'missing', which is not defined",
        ])
    }

    @Test("a plan with errors is never handed out")
    func noPlanWithErrors() {
        #expect(DialplanLoader.parse("[default]\nexten => 1,1,Dail()\n").plan == nil)
        #expect(DialplanLoader.parse("[default]\nexten => 1,1,SayDigits(1)\n").plan != nil)
    }
}
