@testable import Dialplan
import Foundation
import Testing

/// Every class of problem `dialplan check` reports, each with its exact
/// message and place (`file:line:column: error|warning: message`).
@Suite("dialplan errors, each with its message and place")
struct ErrorTests {
    @Test("lines, sections and settings", arguments: [
        ("exten => 1,1,NoOp()\n", "t.conf:1:1: error: 'exten => 1,1,NoOp()' is outside any [context]"),
        ("[default\n", "t.conf:1:1: error: a context header looks like [name]; got '[default'"),
        ("[a b]\n", "t.conf:1:1: error: 'a b' is not a valid context name"),
        ("[x] junk\n", "t.conf:1:1: error: unexpected 'junk' after [x]"),
        ("[x](!)\nexten => 1,1,NoOp()\n", "t.conf:1:1: warning: context options (!) (templates) are not supported; [x] is read as a plain context"),
        ("[later](+)\nexten => 1,1,NoOp()\n", "t.conf:1:1: error: [later](+) adds to context [later], which is not defined before this line"),
        ("[default]\nfoo => bar\n", "t.conf:2:1: error: unknown statement 'foo'; expected exten, same or include"),
        ("[default]\njust words\n", "t.conf:2:1: error: expected 'exten => …', 'same => …', 'include => …' or 'name = value'; got 'just words'"),
        ("[globals]\n=oops\n", "t.conf:2:1: error: a global needs a name before '='"),
        ("[globals]\nA=1\nA=2\n", "t.conf:3:1: warning: global 'A' is set again; the last value wins"),
        ("[general]\nautofalthrough=no\n", "t.conf:2:1: error: unknown [general] setting 'autofalthrough'; did you mean 'autofallthrough'?"),
        ("[general]\nfrobnicate=1\n", "t.conf:2:1: warning: unknown [general] setting 'frobnicate' is ignored"),
        ("[default]\nignorepat => 9\n", "t.conf:2:1: warning: ignorepat is ignored: Omnigate gives no dial tone"),
        ("[default]\nswitch => DUNDi/e164\n", "t.conf:2:1: warning: 'switch =>' (realtime switch) is not supported and is ignored"),
    ])
    func sections(text: String, message: String) {
        #expect(diagnostics(text) == [message])
    }

    @Test("extension lines", arguments: [
        ("[default]\nexten => 1,1\n", "t.conf:2:10: error: expected 'exten => name,priority,Application(args)'"),
        ("[default]\nexten => ,1,NoOp()\n", "t.conf:2:10: error: the extension name is empty"),
        ("[default]\nexten => 1,x,NoOp()\n", "t.conf:2:10: error: bad priority 'x': extension '1' has no label 'x' before this line"),
        ("[default]\nexten => 1,x+1,NoOp()\nexten => 1,1(x),NoOp()\n", "t.conf:2:10: error: bad priority 'x+1': extension '1' has no label 'x' before this line"),
        ("[default]\nexten => 1,1,NoOp()\nsame => n+x,NoOp()\n", "t.conf:3:9: error: bad priority 'n+x': the offset after '+' must be a whole number from 0 to 2147483647"),
        ("[default]\nexten => 1,0+3,NoOp()\n", "t.conf:2:10: error: bad priority '0+3'; expected a number, n, n(label) or hint"),
        ("[default]\nexten => 1,hint+1,PJSIP/1\n", "t.conf:2:10: error: bad priority 'hint+1'; expected a number, n, n(label) or hint"),
        ("[default]\nexten => 1,0,NoOp()\n", "t.conf:2:10: error: bad priority '0'; expected a number, n, n(label) or hint"),
        ("[default]\nexten => 1,n+99999999999,NoOp()\n",
         "t.conf:2:10: error: bad priority 'n+99999999999': the offset after '+' must be a whole number from 0 to 2147483647"),
        ("[default]\nexten => 1,n,NoOp()\n", "t.conf:2:10: error: priority 'n' needs a numbered priority before it in extension '1'"),
        ("[default]\nexten => 1,s,NoOp()\n", "t.conf:2:10: error: priority 's' needs a priority before it"),
        ("[default]\nexten => 1,1(bad label),NoOp()\n", "t.conf:2:10: error: bad priority label 'bad label'"),
        ("[default]\nsame => n,NoOp()\n", "t.conf:2:9: error: 'same =>' needs an 'exten =>' line before it in [default]"),
        ("[default]\nexten => 1,1,\n", "t.conf:2:10: error: priority 1 of '1' has no application"),
        ("[default]\nexten => 1,1,NoOp(\n", "t.conf:2:14: error: unbalanced parentheses in 'NoOp('"),
        ("[default]\nexten => 1,1,Dial(PJSIP/a,20,A(x)\n", "t.conf:2:14: error: unbalanced parentheses in 'Dial(PJSIP/a,20,A(x)'"),
        ("[default]\nexten => 1,1,No-Op(x)\n", "t.conf:2:14: error: 'No-Op' is not an application name"),
        ("[default]\nexten => 1,1,NoOp()\nexten => 1,1,Hangup()\n",
         "t.conf:3:10: error: priority 1 of extension '1' in [default] is already defined at t.conf:2:14"),
        ("[default]\nexten => 1,1(a),NoOp()\nsame => n(a),Hangup()\n",
         "t.conf:3:9: error: label 'a' is already used by priority 1 of extension '1'"),
        ("[default]\nexten => 100,hint,PJSIP/100\n", "t.conf:2:10: warning: hint for '100' is ignored: Omnigate has no device state"),
    ])
    func extensions(text: String, message: String) {
        #expect(diagnostics(text) == [message])
    }

    @Test("patterns", arguments: [
        ("[default]\nexten => _1[2,1,NoOp()\n", "t.conf:2:10: error: bad pattern '_1[2': '[' has no closing ']'"),
        ("[default]\nexten => _X._X.,1,NoOp()\n", "t.conf:2:10: warning: pattern '_X._X.' matches as '_X.': Asterisk ignores '_X.' after the first '.' or '!'"),
        ("[default]\nexten => _1!2,1,NoOp()\n", "t.conf:2:10: warning: pattern '_1!2' matches as '_1!': Asterisk ignores '2' after the first '.' or '!'"),
        ("[default]\nexten => _[],1,NoOp()\n", "t.conf:2:10: error: bad pattern '_[]': an empty pattern"),
        ("[default]\nexten => _[9-1],1,NoOp()\n", "t.conf:2:10: error: bad pattern '_[9-1]': bad range '9-1' in a set"),
        ("[default]\nexten => _,1,NoOp()\n", "t.conf:2:10: error: bad pattern '_': an empty pattern"),
        ("[default]\nexten => 1/_1[,1,NoOp()\n", "t.conf:2:10: error: bad caller-ID pattern '_1[': '[' has no closing ']'"),
    ])
    func patterns(text: String, message: String) {
        #expect(diagnostics(text) == [message])
    }

    @Test("comments, directives and includes", arguments: [
        ("[default]\n;-- never closed\nexten => 1,1,NoOp()\n", "t.conf:2:1: error: block comment ';--' is never closed with '--;'"),
        ("[default]\n#exec rm -rf /\n", "t.conf:2:1: warning: #exec is not supported and is ignored"),
        ("[default]\n#inlcude x.conf\n", "t.conf:2:1: error: unknown directive '#inlcude'; expected #include or #tryinclude"),
        ("[default]\n#include\n", "t.conf:2:1: error: #include needs a file name"),
        ("[default]\n#include \"nothere.conf\"\n", "t.conf:2:1: error: cannot read included file nothere.conf"),
        ("[default]\ninclude =>\n", "t.conf:2:11: error: include needs a context name"),
        ("[default]\ninclude => other,09:00-17:00,mon-fri\n",
         "t.conf:2:12: error: bad time condition in include: a time condition has 4 or 5 fields (times,weekdays,mdays,months[,timezone]); got 2"),
        ("[default]\ninclude => missing\n", "t.conf:2:12: error: [default] includes 'missing', which is not defined"),
        ("[default]\ninclude => parkedcalls\n",
         "t.conf:2:12: error: [default] includes 'parkedcalls', which Asterisk's res_parking provides and Omnigate does not have"),
    ])
    func directives(text: String, message: String) {
        #expect(diagnostics(text) == [message])
    }

    @Test("arguments: substitutions and expressions", arguments: [
        ("[default]\nexten => 1,1,NoOp(${EXTEN)\n", "t.conf:2:19: error: '${' is not closed with '}'"),
        ("[default]\nexten => 1,1,NoOp(x $[1 + 2)\n", "t.conf:2:21: error: '$[' is not closed with ']'"),
        ("[default]\nexten => 1,1,NoOp($[1 + ])\n", "t.conf:2:19: error: bad expression $[1 + ]: the expression ends where a value was expected"),
        ("[default]\nexten => 1,1,Set(A=$[${X} ? 2])\n", "t.conf:2:20: error: bad expression $[0 ? 2]: '?' needs '::' in a conditional expression"),
    ])
    func arguments(text: String, message: String) {
        #expect(diagnostics(text) == [message])
    }

    @Test("unknown applications are errors with a suggestion; Asterisk's others are warnings")
    func applications() {
        #expect(diagnostics("[default]\nexten => 1,1,Dail(PJSIP/alice)\n") == [
            "t.conf:2:14: error: unknown application 'Dail'; did you mean 'Dial'?",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,Frobnicate()\n") == ["t.conf:2:14: error: unknown application 'Frobnicate'"])
        #expect(diagnostics("[default]\nexten => 1,1,SayDigits(123)\n") == [
            "t.conf:2:14: warning: application 'SayDigits' is not supported by Omnigate; this step will be skipped",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,noop(lower case is fine)\nsame => n,BACKGROUND(x)\n").isEmpty)
    }

    @Test("unknown functions are errors; Asterisk's others are warnings")
    func functions() {
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${TOUPER(x)})\n") == [
            "t.conf:2:21: error: unknown function 'TOUPER'; did you mean 'TOUPPER'?",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,NoOp($[${LEN(${NOSUCH(1)})} > 0])\n") == [
            "t.conf:2:29: error: unknown function 'NOSUCH'",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,Set(CHANNEL(language)=fr)\n") == [
            "t.conf:2:18: warning: Omnigate does not set CHANNEL(); this Set is ignored",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${CHANNEL(language)} ${CHANNEL(endpoint)})\n") == [
            "t.conf:2:21: warning: CHANNEL(language) is not supported by Omnigate (it answers endpoint and channeltype); it reads as empty",
        ])
    }

    @Test("Dial and Queue options Omnigate does not honour are warnings at their column; computed ones are left alone")
    func options() {
        #expect(diagnostics("[default]\nexten => 1,1,Dial(PJSIP/alice,20,tgA(beep))\nexten => 2,1,Queue(support,cr)\n") == [
            "t.conf:2:34: warning: Dial option 't' is not supported by Omnigate; it is ignored",
            "t.conf:2:36: warning: Dial option 'A' is not supported by Omnigate; it is ignored",
            "t.conf:3:29: warning: Queue option 'r' is not supported by Omnigate; it is ignored",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,Dial(PJSIP/alice,20,g)\nexten => 2,1,Dial(PJSIP/a,,${OPTS})\nexten => 3,1,Queue(q,c)\n").isEmpty)
    }

    @Test("a CONTACT() field the store does not have is an error; one computed at run time is left to the call")
    func contactFields() {
        #expect(diagnostics("[default]\nexten => 1,1,GotoIf($[\"${CONTACT(teir)}\" = \"vip\"]?2,1)\nexten => 2,1,NoOp()\n") == [
            "t.conf:2:26: error: unknown CONTACT() field 'teir'; did you mean 'tier'?",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${CONTACT(shoe size)})\n") == [
            "t.conf:2:21: error: unknown CONTACT() field 'shoe size'",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${CONTACT()})\n") == [
            "t.conf:2:21: error: CONTACT() needs a field name",
        ])
        #expect(diagnostics("[default]\nexten => 1,1,NoOp(${CONTACT(last_agent)} ${CONTACT(${FIELD})})\n").isEmpty)
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
        exten => 6,1,Goto(a,b,c,d)
        exten => 7,1,Gosub(sub,s,1(x))
        exten => 8,1,GosubIf($[1]?sub,5,start)
        [sub]
        exten => 5,1,Return()
        """)
        #expect(found == [
            "t.conf:2:19: error: Goto to context 'nowhere', which is not defined",
            "t.conf:3:19: error: Goto to extension '99', which [default] does not have",
            "t.conf:4:19: error: Goto to priority 7 of '1' in [default], which does not exist",
            "t.conf:5:26: error: Goto to label 'missing', which extension '1' in [default] does not have",
            "t.conf:7:19: error: Goto target 'a,b,c,d' is not [[context,]extension,]priority",
            "t.conf:8:20: error: Gosub to extension 's', which [sub] does not have",
            "t.conf:9:27: error: Gosub to label 'start', which extension '5' in [sub] does not have",
        ])
    }

    @Test("a jump is checked as Asterisk resolves it: the first extension reached that has the priority or label")
    func jumpsFollowSearchOrder() {
        #expect(diagnostics("""
        [default]
        include => more
        exten => 1,1,Goto(2,2)
        exten => 2,1,NoOp(here only 1)
        exten => 3,1,Goto(2,deep)
        [more]
        exten => _X,1,NoOp()
        same => n(deep),NoOp(from the include)
        """).isEmpty)
    }

    @Test("priorities that can never run are warnings")
    func unreachable() {
        #expect(diagnostics("""
        [default]
        exten => 1,1,NoOp()
        exten => 1,3,NoOp(gap)
        exten => 2,1,Hangup()
        same => n,NoOp(dead)
        exten => 3,1,GotoIf($[1]?4,1:5,1)
        same => n,NoOp(dead too)
        exten => 4,1,GotoIf($[1]?5,1)
        same => n(alive),NoOp(the false branch continues here)
        exten => 5,1,Goto(6,2)
        exten => 6,1,Hangup()
        same => n,NoOp(reached by the Goto)
        """) == [
            "t.conf:3:14: warning: priority 3 of '1' in [default] can never run: there is no priority 2 before it and nothing jumps to it",
            "t.conf:5:11: warning: priority 2 of '2' in [default] can never run: Hangup at priority 1 never continues to it",
            "t.conf:7:11: warning: priority 2 of '3' in [default] can never run: GotoIf at priority 1 never continues to it",
        ])
    }

    @Test("a context included but never defined is an error; a cycle of includes a warning")
    func includes() {
        #expect(diagnostics("[a]\ninclude => b\n[b]\ninclude => a\ninclude => missing\n") == [
            "t.conf:4:12: warning: include cycle: a -> b -> a; the repeat is skipped when searching",
            "t.conf:5:12: error: [b] includes 'missing', which is not defined",
        ])
    }

    @Test("in Asterisk compatibility mode, what Asterisk only meets at run time is a warning; misspellings stay errors")
    func compatibility() {
        let text = """
        [default]
        include => parkedcalls
        exten => 1,1,Goto(nowhere,s,1)
        exten => 2,1,Dail(PJSIP/alice)
        exten => 3,1,PlayTones(busy)
        """
        #expect(diagnostics(text, mode: .asterisk) == [
            "t.conf:2:12: warning: [default] includes 'parkedcalls', which Asterisk's res_parking provides and Omnigate does not have",
            "t.conf:3:19: warning: Goto to context 'nowhere', which is not defined",
            "t.conf:4:14: error: unknown application 'Dail'; did you mean 'Dial'?",
            "t.conf:5:14: warning: application 'PlayTones' is not supported by Omnigate; this step will be skipped",
        ])
        #expect(diagnostics(text).filter { $0.contains("error:") }.count == 3)
    }

    @Test("a priority n straight after a hint: Asterisk numbers it 0 and drops it; strict mode refuses it, Asterisk mode drops it too")
    func numberAfterHint() {
        let text = "[default]\nexten => 1,hint,PJSIP/1\nsame => n,NoOp()\nexten => 1,1,NoOp()\n"
        #expect(diagnostics(text) == [
            "t.conf:2:10: warning: hint for '1' is ignored: Omnigate has no device state",
            "t.conf:3:9: error: priority 'n' follows a hint, which has no number; Asterisk drops this line; give it a number",
        ])
        #expect(diagnostics(text, mode: .asterisk) == [
            "t.conf:2:10: warning: hint for '1' is ignored: Omnigate has no device state",
            "t.conf:3:9: warning: priority 'n' follows a hint, which has no number; Asterisk drops this line, and so does Omnigate",
        ])
    }

    @Test("in Asterisk mode, what Asterisk 22 loads with a warning of its own is a warning: a label used twice, an expression that does not parse")
    func asteriskModeWarnings() {
        let text = "[default]\nexten => 1,1(a),NoOp()\nsame => n(a),NoOp($[${X} = a,b])\n"
        #expect(diagnostics(text) == [
            "t.conf:3:9: error: label 'a' is already used by priority 1 of extension '1'",
        ])
        #expect(diagnostics(text, mode: .asterisk) == [
            "t.conf:3:9: warning: label 'a' is already used by priority 1 of extension '1'; as in Asterisk, jumps to it go there",
            "t.conf:3:19: warning: bad expression $[0 = a,b]: unexpected ',' in expression; Asterisk reads it as far as it parses, and so does Omnigate",
        ])
    }

    @Test("what Asterisk 21 removed is unknown, saying so; in Asterisk mode a warning, since Asterisk 22 loads it and fails at that step")
    func removedInAsterisk21() {
        let text = "[default]\nexten => 1,1,Macro(menu)\nsame => n,SIPAddHeader(X-A: 1)\nsame => n,NoOp(${SIP_HEADER(To)})\n"
        #expect(diagnostics(text) == [
            "t.conf:2:14: error: unknown application 'Macro': Asterisk removed it in version 21",
            "t.conf:3:11: error: unknown application 'SIPAddHeader': Asterisk removed it in version 21",
            "t.conf:4:18: error: unknown function 'SIP_HEADER': Asterisk removed it in version 21",
        ])
        #expect(diagnostics(text, mode: .asterisk) == [
            "t.conf:2:14: warning: application 'Macro' was removed in Asterisk 21: Asterisk 22 ends the call at this step, and so does Omnigate",
            "t.conf:3:11: warning: application 'SIPAddHeader' was removed in Asterisk 21: Asterisk 22 ends the call at this step, and so does Omnigate",
            "t.conf:4:18: warning: function 'SIP_HEADER' was removed in Asterisk 21; it reads as empty, as in Asterisk 22",
        ])
    }

    @Test("the applications Exec, TryExec and ExecIf run are checked where the plan names them")
    func execTargets() {
        #expect(diagnostics("""
        [default]
        exten => 1,1,ExecIf($[1]?Dail(PJSIP/a):SayDigits(1))
        same => n,Exec(Frobnicate(x))
        same => n,TryExec(NoSuchApp())
        same => n,TryExec(SayDigits(12))
        same => n,ExecIf($[1]?Goto(nowhere,s,1))
        same => n,Exec(${APP})
        """) == [
            "t.conf:2:26: error: unknown application 'Dail'; did you mean 'Dial'?",
            "t.conf:2:40: warning: application 'SayDigits' is not supported by Omnigate; this step will be skipped",
            "t.conf:3:16: error: unknown application 'Frobnicate'",
            "t.conf:4:19: warning: application 'NoSuchApp' does not exist in Omnigate or Asterisk 22; TryExec sets TRYSTATUS to NOAPP",
            "t.conf:5:19: warning: application 'SayDigits' is not supported by Omnigate; TryExec sets TRYSTATUS to NOAPP",
            "t.conf:6:28: error: Goto to context 'nowhere', which is not defined",
        ])
    }

    @Test("a branch is found where the plan wrote it: a '?' inside ${IF(…)} or $[…] is not GotoIf's")
    func branchesAfterSubstitution() {
        #expect(diagnostics("""
        [default]
        exten => 1,1,GotoIf(${IF($[${X} > 1]?1:0)}?2,1)
        same => n,GotoIf($["${A}" = "?"]?3,1:2,1)
        exten => 2,1,NoOp()
        exten => 3,1,GotoIf(${IF(${Y}?1:0)}?nowhere)
        """) == [
            "t.conf:5:37: error: Goto to label 'nowhere', which extension '3' in [default] does not have",
        ])
    }

    static let names = ConfigurationNames(source: "omnigate.conf", queues: ["support": ["alice"], "sales": []],
                                          agents: ["alice", "bob"], trunks: ["provider"])

    @Test("queues, agents and trunks a step names are checked against the configuration, with a suggestion")
    func configurationNames() {
        let text = """
        [default]
        exten => 1,1,Queue(suport)
        same => n,Dial(PJSIP/alcie&PJSIP/bob,20)
        same => n,Dial(PJSIP/+15551230000@provder)
        same => n,Dial(PJSIP/${EXTEN}@providr)
        same => n,MessageSend(pjsip:bobb)
        same => n,MessageSend(+15551230000@provider)
        same => n,Queue(${Q})
        same => n,Dial(PJSIP/sip:carol@192.0.2.7)
        """
        #expect(diagnostics(text, names: Self.names) == [
            "t.conf:2:20: error: Queue 'suport' is not a [queue] in omnigate.conf; did you mean 'support'?",
            "t.conf:3:16: error: Dial to 'PJSIP/alcie': 'alcie' is not an [agent] in omnigate.conf; did you mean 'alice'?",
            "t.conf:4:35: error: Dial to 'PJSIP/+15551230000@provder': 'provder' is not a [trunk] in omnigate.conf; did you mean 'provider'?",
            "t.conf:5:31: error: Dial to 'PJSIP/${EXTEN}@providr': 'providr' is not a [trunk] in omnigate.conf; did you mean 'provider'?",
            "t.conf:6:23: error: MessageSend to 'pjsip:bobb': 'bobb' is not an [agent] or [trunk] in omnigate.conf; did you mean 'bob'?",
        ])
        #expect(diagnostics(text, mode: .asterisk, names: Self.names).allSatisfy { $0.contains(": warning: ") })
        #expect(diagnostics(text).isEmpty, "without a configuration, names are not checked")
    }

    @Test("every problem in a file is reported at once, in file order")
    func allAtOnce() {
        #expect(diagnostics("[default]\nexten => 1,1,Dail()\nexten => 2,x,NoOp()\nfoo => 1\nexten => 3,1,NoOp(${X)\n") == [
            "t.conf:2:14: error: unknown application 'Dail'; did you mean 'Dial'?",
            "t.conf:3:10: error: bad priority 'x': extension '2' has no label 'x' before this line",
            "t.conf:4:1: error: unknown statement 'foo'; expected exten, same or include",
            "t.conf:5:19: error: '${' is not closed with '}'",
        ])
    }

    @Test("files and directories that cannot be read")
    func unreadable() throws {
        let dir = try temporaryDirectory("dp-empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(DialplanLoader.load(paths: [dir]).diagnostics.map(\.description) == ["\(dir):0:1: error: no .conf files in this directory"])
        #expect(DialplanLoader.load(paths: [dir + "/nope.conf"]).diagnostics.map(\.description) == [
            "\(dir)/nope.conf:0:1: error: no such file or directory",
        ])
    }

    @Test("a plan with errors is never handed out")
    func noPlanWithErrors() {
        #expect(DialplanLoader.parse("[default]\nexten => 1,1,Dail()\n").plan == nil)
        #expect(DialplanLoader.parse("[default]\nexten => 1,1,SayDigits(1)\n").plan != nil)
    }
}
