@testable import Dialplan
import Foundation
import Testing

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

    @Test("a ;--- banner line is a plain comment; block comments nest and may end mid-line")
    func commentForms() throws {
        let p = try plan("""
        ;-------------------------------------------------------- banner
        [default]
        ;-- outer ;-- inner --; still outer
        exten => 1,1,Hangup()
        --; exten => 2,1,NoOp(after the block)
        exten => 3,1,NoOp(a\\;b) ; the escaped semicolon stays
        """)
        #expect(p.contexts["default"]?.extensions.map(\.name) == ["2", "3"])
        #expect(p.contexts["default"]?.extensions[1].priorities[1]?.arguments == "a;b")
    }

    /// `n+2` is n (the line before + 1) and then + 2, as Asterisk's pbx_config adds the offset to the base.
    @Test("priorities: numbers, n, n+2, s (both from the line before, as in Asterisk), labels; the old App,args form")
    func priorityForms() throws {
        let load = DialplanLoader.parse("""
        [default]
        exten => 1,1,NoOp(one)
        same => n,NoOp(two)
        same => n+2,NoOp(five)
        exten => 2,1,NoOp()
        exten => 3,s,NoOp(the same number as the line before)
        exten => 3,n,NoOp(and the next)
        exten => 1,10(ten),Wait,2
        """, file: "t.conf")
        let p = try #require(load.plan)
        let one = try #require(p.contexts["default"]?.extensions.first { $0.name == "1" })
        #expect(one.numbers == [1, 2, 5, 10])
        #expect(p.contexts["default"]?.extensions.first { $0.name == "3" }?.numbers == [1, 2])
        #expect(one.labels["ten"] == 10 && one.priorities[10]?.application == "Wait" && one.priorities[10]?.arguments == "2")
        #expect(load.diagnostics.map(\.description) == [
            "t.conf:4:13: warning: priority 5 of '1' in [default] can never run: there is no priority 4 before it and nothing jumps to it",
        ])
    }

    @Test("_X. and _x. are one extension, as Asterisk compares patterns by what they match")
    func samePattern() throws {
        #expect(diagnostics("[default]\nexten => _X.,1,NoOp()\nexten => _x.,1,NoOp()\n") == [
            "t.conf:3:10: error: priority 1 of extension '_X.' in [default] is already defined at t.conf:2:16",
        ])
        let p = try plan("[default]\nexten => _X.,1,NoOp()\nexten => _x.,2,NoOp()\n")
        #expect(p.contexts["default"]?.extensions.count == 1)
    }

    @Test("[general] clearglobalvars is read")
    func clearGlobals() throws {
        #expect(try plan("[general]\nclearglobalvars=yes\n").clearGlobals)
        #expect(try !plan("[general]\nclearglobalvars=no\n").clearGlobals)
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
