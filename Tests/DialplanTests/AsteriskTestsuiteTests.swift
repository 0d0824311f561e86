@testable import Dialplan
import Foundation
import Testing

// Asterisk's own test suite (github.com/asterisk/testsuite), its dialplan-level
// tests ported to Omnigate. Asterisk runs each on a Local channel and reads the
// UserEvents it sends over AMI; here the same dialplan runs on a scripted call
// and the events come from the interpreter. Each suite names the test it comes
// from; docs/dialplan.md counts them and lists every difference.

/// Runs a plan from `context,exten`, returning the UserEvents it sent and how it ended.
private func events(_ plan: Dialplan, context: String, exten: String, callerID: String = "2015550100",
                    variables: [String: String] = [:], channel: Channel = ScriptedChannel()) async -> (events: [UserEvent], outcome: Outcome) {
    var start = CallStart(context: context, exten: exten, callerIDNumber: callerID, uniqueID: "testsuite")
    start.variables = variables
    start.timeZone = TimeZone(identifier: "UTC")!
    let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start)
    let outcome = await interpreter.run()
    return (outcome.userEvents, outcome)
}

/// Ported from tests/pbx/dialplan: one test context that runs 31 numbered
/// sub-tests in turn, each leaving `Result=OK` when it passes, dispatched with
/// ExecIf on an INC'd counter; a failure sends `TestResult Result: Fail`, the end
/// `TestResult Result: Success`. Pattern matching (1-11, 15-23), BASE64 (12),
/// AES (13), LEN (14), Gosub and LOCAL (24), While/ContinueWhile/ExitWhile
/// (25-27), Exec/TryExec (28-30), GLOBAL_DELETE, DELETE and *_EXISTS (31).
@Suite("Asterisk testsuite: tests/pbx/dialplan")
struct TestsuitePBXDialplan {
    /// Sub-test number → where its dispatch goes.
    static let dispatch: [(Int, String)] = [
        (1, "patterns,100,1"), (2, "patterns,101,1"), (3, "patterns,106,1"), (10, "patterns,155,1"), (11, "patterns,255,1"),
        (4, "patterns,abc,1"), (5, "patterns,abc0,1"), (6, "patterns,abc2,1"), (7, "patterns,cba,1"), (8, "patterns,cbaz,1"),
        (9, "patterns,cbazy,1"), (15, "patterns,RG-10111-9999,1"), (16, "patterns,RG-20111-9999,1"), (17, "patterns,foo-1,1"),
        (18, "patterns,foo-2,1"), (19, "patterns,foo-,1"), (20, "patterns,bar-1,1"), (21, "patterns,bar-2,1"),
        (22, "patterns,Set-2,1"), (23, "patterns,955,1"), (12, "base64,start,1"), (13, "aes,start,1"), (14, "len,start,1"),
        (31, "variable_deletion,start,1"), (24, "gosubtest,start,1"), (25, "whiletest,continue_while,1"),
        (26, "whiletest,exit_while,1"), (27, "whiletest,while,1"), (28, "exectests,exec,1"), (29, "exectests,try_noapp,1"),
        (30, "exectests,try_pass,1"),
    ]

    /// Pattern extensions, and the sub-tests each must be the match for (none: it must never match).
    static let patterns: [(String, [Int])] = [
        ("100", [1]), ("_1X[0-5]", [2]), ("_1XX", [3]), ("abc", [4]), ("_[a][b][c]X", [5]), ("_[a][b][c]N", [6]), ("cba", [7]),
        ("_[c][b][a]!", [8]), ("_[c][b][a][z].", [9]), ("_1[5][0-5]", [10]), ("_[1-2][5][0-5]", [11]), ("_RG-101-.", []),
        ("_RG-10111-.", [15]), ("_RG-201.", []), ("_RG-20111.", [16]), ("foo-1", [17]), ("_foo-!", [18, 19]), ("bar-1", [20]),
        ("_bar.", [21]), ("_Set-[0-9]", [22]), ("_Set-[02-9a]", []), ("_9[]5[0-5]", [23]),
    ]

    static let text: String = {
        var text = """
        [test]
        exten => s,1,NoOp()
         same => n,Goto(start,1)
        exten => resume,1,Goto(start,top)
        exten => start,1,NoOp()
         same => n,Set(TestCounter=0)
         same => n,Set(Result=OK)
         same => n(top),NoOp()
         same => n,GotoIf($[${Result} != OK]?result_fail,1)
         same => n,Set(TestCounter=${INC(TestCounter)})
         same => n,UserEvent(TestStatus,message: Starting test ${TestCounter})

        """
        for (n, target) in dispatch { text += " same => n,ExecIf($[${TestCounter} = \(n)]?Goto(\(target)))\n" }
        text += """
         same => n,Goto(result_pass,1)
        exten => result_pass,1,NoOp()
         same => n,UserEvent(TestResult,Result: Success)
         same => n,Set(ResultSent=OK)
         same => n,Hangup()
        exten => result_fail,1,NoOp()
         same => n,UserEvent(TestResult,Result: Fail,message: Test ${TestCounter} failed.)
         same => n,Set(ResultSent=OK)
         same => n,Hangup()
        exten => h,1,NoOp()
         same => n,GotoIf($[${ResultSent} = OK]?done)
         same => n,UserEvent(TestResult,Result: Fail,message: Unexpected hangup on test ${TestCounter}.)
         same => n(done),NoOp()

        [patterns]
        exten => i,1,NoOp(Invalid exten)
         same => n,Set(Result=Fail)
         same => n,Goto(test,start,top)

        """
        for (pattern, tests) in patterns {
            let condition = tests.isEmpty ? "Fail" : "${IF($[" + tests.map { "${TestCounter} = \($0)" }.joined(separator: " | ") + "]?OK:Fail)}"
            text += "exten => \(pattern),1,NoOp(Extension '${EXTEN}' matched on '\(pattern)')\n"
            text += " same => n,Set(Result=\(condition))\n same => n,Goto(test,start,top)\n"
        }
        text += """

        [base64]
        exten => start,1,NoOp()
         same => n,Set(Encoded=YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWjAxMjM0NTY3ODk=)
         same => n,Set(Decoded=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789)
         same => n,Set(Result=${IF($["${BASE64_ENCODE(${Decoded})}" = "${Encoded}"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Set(Result=${IF($["${BASE64_DECODE(${Encoded})}" = "${Decoded}"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Goto(test,start,top)

        [aes]
        exten => start,1,NoOp()
         same => n,Set(Key=1qaz2wsx3edc4rfv)
         same => n,Set(Encoded=KfAgilzmckUn1bH3NNLFHKfHA36w2EAHJvJvWqEQSSwdLroipj/Cp+dVt2FtjxBXT30cQcQiM0Plgb20pTqPAw==)
         same => n,Set(Decoded=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789)
         same => n,Set(Result=${IF($["${AES_ENCRYPT(${Key},${Decoded})}" = "${Encoded}"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Set(Result=${IF($["${AES_DECRYPT(${Key},${Encoded})}" = "${Decoded}"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Goto(test,start,top)

        [len]
        exten => start,1,NoOp()
         same => n,Set(MyStr=\\;)
         same => n,Set(Result=${IF($["${LEN(${MyStr})}" = "1"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Set(MyStr=)
         same => n,Set(Result=${IF($["${LEN(${MyStr})}" = "0"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Set(MyStr=asdf)
         same => n,Set(Result=${IF($["${LEN(${MyStr})}" = "4"]?OK:Fail)})
         same => n,GotoIf($[${Result} = Fail]?test,result_fail,1)
         same => n,Goto(test,start,top)

        [variable_deletion]
        exten => start,1,NoOp()
         same => n,Set(GLOBAL(alice)=exists)
         same => n,GotoIf($["${GLOBAL_EXISTS(alice)}" != "1"]?test,result_fail,1)
         same => n,Set(GLOBAL(alice)=)
         same => n,GotoIf($["${GLOBAL_EXISTS(alice)}" != "1"]?test,result_fail,1)
         same => n,Set(GLOBAL_DELETE(alice)=)
         same => n,GotoIf($["${GLOBAL_EXISTS(alice)}" != "0"]?test,result_fail,1)
         same => n,Set(bob=exists)
         same => n,GotoIf($["${VARIABLE_EXISTS(bob)}" != "1"]?test,result_fail,1)
         same => n,Set(bob=)
         same => n,GotoIf($["${VARIABLE_EXISTS(bob)}" != "1"]?test,result_fail,1)
         same => n,Set(DELETE(bob)=)
         same => n,GotoIf($["${VARIABLE_EXISTS(bob)}" != "0"]?test,result_fail,1)
         same => n,Goto(test,start,top)

        [gosubtest]
        exten => start,1,NoOp()
         same => n,Set(GoSubCounter=1)
         same => n,Gosub(gosubtest,subroutine,1(${GoSubCounter}))
         same => n,GotoIf($[${GOSUB_RETVAL}=1]?test,start,top)
         same => n,Goto(test,result_fail,1)
        exten => subroutine,1,NoOp()
         same => n,Set(LocalCounter=${LOCAL(ARG1)})
         same => n,Set(LocalCounter=${INC(LocalCounter)})
         same => n,GotoIf($[${LocalCounter}=100]?return:continue)
         same => n(return),Return(1)
         same => n(continue),Gosub(1(${LocalCounter}))
         same => n,GotoIf($[${GOSUB_RETVAL}=1]?return)
         same => n,Return(0)

        [whiletest]
        exten => continue_while,1,NoOp()
         same => n,Set(Count=0)
         same => n,While($[${Count} < 15])
         same => n,Set(Count=${INC(Count)})
         same => n,ContinueWhile()
         same => n,Log(ERROR, Execution continued past ContinueWhile)
         same => n,Goto(test,result_fail,1)
         same => n,EndWhile()
         same => n,GotoIf($[${Count} != 15]?test,result_fail,1:test,start,top)
        exten => exit_while,1,NoOp()
         same => n,Set(Count=0)
         same => n,While($[${Count} < 15])
         same => n,Set(Count=${INC(Count)})
         same => n,ExitWhile()
         same => n,Log(ERROR, Execution continued past ExitWhile)
         same => n,Goto(test,result_fail,1)
         same => n,EndWhile()
         same => n,GotoIf($[${Count} != 1]?test,result_fail,1:test,start,top)
        exten => while,1,NoOp()
         same => n,Set(Count=0)
         same => n,While($[${Count} < 15])
         same => n,Set(Count=${INC(Count)})
         same => n,EndWhile()
         same => n,GotoIf($[${Count} != 15]?test,result_fail,1:test,start,top)

        [exectests]
        exten => exec,1,NoOp()
         same => n,Set(Check=0)
         same => n,Exec(GotoIf($[${Check} = 0]?test,start,top:test,result_fail,1))
        exten => try_noapp,1,NoOp()
         same => n,TryExec(NoSuchApp())
         same => n,GotoIf($[${TRYSTATUS} = NOAPP]?test,start,top:test,result_fail,1)
        exten => try_pass,1,NoOp()
         same => n,TryExec(GotoIF(false_arg))
         same => n,GotoIf($[${TRYSTATUS} != SUCCESS]?test,result_fail,1:test,start,top)

        """
        return text
    }()

    static var plan: Dialplan {
        get throws {
            let load = DialplanLoader.parse(text, file: "pbx-dialplan.conf")
            guard let plan = load.plan else { throw LoadFailure(diagnostics: load.diagnostics) }
            return plan
        }
    }

    /// The sub-tests, each run on its own: the harness starts at `top` (through
    /// `resume`, an entry the port adds) with the counter one below it, and the
    /// sub-test passes when the harness goes on to the next one (or, after the
    /// last, reports Success).
    static let subtests = Array(1...31)

    /// AES_ENCRYPT and AES_DECRYPT are not supported by Omnigate (docs/dialplan.md):
    /// they read as empty, so sub-test 13 fails here by design.
    static let differences: Set<Int> = [13]

    @Test("each sub-test passes as it does in Asterisk (13, AES, is a documented difference)", arguments: subtests)
    func subtest(_ n: Int) async throws {
        let (sent, _) = await events(try Self.plan, context: "test", exten: "resume",
                                     variables: ["TestCounter": String(n - 1), "Result": "OK"])
        let after = sent.drop { $0["message"] != "Starting test \(n)" }.dropFirst()
        if Self.differences.contains(n) {
            #expect(after.first == UserEvent(name: "TestResult", fields: [.init("Result", "Fail"), .init("message", "Test \(n) failed.")]))
        } else if n == 31 {
            #expect(after.first?["message"] == "Starting test 32" && after.dropFirst().first == UserEvent(name: "TestResult", fields: [.init("Result", "Success")]))
        } else {
            #expect(after.first?["message"] == "Starting test \(n + 1)", "sub-test \(n): \(Array(after.prefix(2)))")
        }
    }

    @Test("the whole run from s goes through sub-tests 1 to 12 and stops at 13, the AES difference, as the harness reports it")
    func wholeRun() async throws {
        let (sent, outcome) = await events(try Self.plan, context: "test", exten: "s")
        #expect(sent.map { $0["Result"] ?? $0["message"] ?? "" }
                == (1...13).map { "Starting test \($0)" } + ["Fail"])
        #expect(sent.last?["message"] == "Test 13 failed.")
        #expect(outcome.reason == "hangup")
        #expect(outcome.warnings == ["pbx-dialplan.conf:143:12: function AES_ENCRYPT is not supported by Omnigate; it reads as empty"])
    }

    /// The Log() after ContinueWhile and ExitWhile is there to catch a broken loop, and
    /// the EndWhile after them is reached only through the loop's own jumps.
    @Test("the ported plan checks clean but for what Omnigate does not have (AES), the probe for a missing application, and the dead ends the test sets on purpose")
    func checks() {
        let load = DialplanLoader.parse(Self.text, file: "pbx-dialplan.conf")
        #expect(load.errors.isEmpty)
        #expect(Set(load.diagnostics.map(\.message)).sorted() == [
            "application 'NoSuchApp' does not exist in Omnigate or Asterisk 22; TryExec sets TRYSTATUS to NOAPP",
            "function 'AES_DECRYPT' is not supported by Omnigate; it reads as empty",
            "function 'AES_ENCRYPT' is not supported by Omnigate; it reads as empty",
            "pattern '_9[]5[0-5]' has an empty set '[]', which matches nothing; Asterisk skips it, and so does Omnigate",
            "priority 6 of 'continue_while' in [whiletest] can never run: ContinueWhile at priority 5 never continues to it",
            "priority 6 of 'exit_while' in [whiletest] can never run: ExitWhile at priority 5 never continues to it",
            "priority 8 of 'continue_while' in [whiletest] can never run: Goto at priority 7 never continues to it",
            "priority 8 of 'exit_while' in [whiletest] can never run: Goto at priority 7 never continues to it",
        ])
    }
}

/// Ported from tests/apps/if/if_comprehensive: If, ElseIf, Else, EndIf and ExitIf,
/// nested, in every order; nine `IfSuccess Result: Pass` events and no Fail.
/// The test writes the label `after` twice in one extension, which Asterisk
/// accepts (a jump goes to the first): it runs in Asterisk mode, as it would be brought in.
@Suite("Asterisk testsuite: tests/apps/if")
struct TestsuiteIf {
    static let comprehensive = """
        [default]
        exten => s,1,Answer()
         same => n,If(1)
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,EndIf()
         same => n,If(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(1)
         same => n,ExitIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,Else()
         same => n,Goto(after)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n(after),NoOp()
         same => n,If(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,ElseIf(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,ElseIf(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,Goto(after)
         same => n,ElseIf(1)
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n(after),NoOp()
         same => n,If(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,ElseIf(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,ElseIf(0)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,ElseIf(1)
         same => n,Goto(after2)
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n(after2),NoOp()
         same => n,If(1)
         same => n,If(1)
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,ExitIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,ExitIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,If(1)
         same => n,If(1)
         same => n,If(0)
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,ExitIf()
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,ExitIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,ExitIf()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,ExitIf()
         same => n,ElseIf(1)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,ExitIf()
         same => n,ElseIf(1)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(0)
         same => n,NoOp()
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,Else()
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,If(0)
         same => n,NoOp()
         same => n,EndIf()
         same => n,If(1)
         same => n,NoOp()
         same => n,ExitIf()
         same => n,ElseIf(1)
         same => n,UserEvent(IfSuccess,Result: Fail)
         same => n,EndIf()
         same => n,UserEvent(IfSuccess,Result: Pass)
         same => n,Hangup()
        """

    @Test("if_comprehensive: nine Pass events and no Fail, as in Asterisk")
    func comprehensive() async throws {
        let load = DialplanLoader.parse(Self.comprehensive + "\n", file: "if.conf", mode: .asterisk)
        let plan = try #require(load.plan, "\(load.errors)")
        #expect(load.diagnostics.map(\.description) == [
            "if.conf:22:12: warning: priority 21 of 's' in [default] can never run: Goto at priority 20 never continues to it",
            "if.conf:37:10: warning: label 'after' is already used by priority 23 of extension 's'; as in Asterisk, jumps to it go there",
            "if.conf:46:12: warning: priority 45 of 's' in [default] can never run: Goto at priority 44 never continues to it",
        ])
        let (sent, outcome) = await events(plan, context: "default", exten: "s")
        #expect(sent.map { $0["Result"] } == Array(repeating: "Pass", count: 9))
        #expect(outcome.reason == "hangup" && outcome.warnings.isEmpty)
    }

    /// Ported from tests/apps/if/if_endif: EndIf goes on to the next priority, and
    /// an ExitIf leaves only the innermost If (issue #341 of Asterisk).
    @Test("if_endif: two Pass events and no Fail, as in Asterisk")
    func endIf() async throws {
        let plan = try #require(DialplanLoader.parse("""
            [default]
            exten => s,1,Answer()
             same => n,If(0)
             same => n,NoOp()
             same => n,EndIf()
             same => n,If(0)
             same => n,Hangup()
             same => n,EndIf()
             same => n,If(1)
             same => n,NoOp()
             same => n,EndIf()
             same => n,Goto(start)
             same => n,Hangup()
             same => n(start),If(1)
             same => n,NoOp(inside main if)
             same => n,If(0)
             same => n,NoOp()
             same => n,EndIf()
             same => n,NoOp(after nested false if)
             same => n,If(1)
             same => n,NoOp(inside true nested if)
             same => n,EndIf()
             same => n,NoOp(after nested true if)
             same => n,UserEvent(IfSuccess,Result: Pass)
             same => n,If(1)
             same => n,NoOp(inside true nested if)
             same => n,ExitIf()
             same => n,EndIf()
             same => n,UserEvent(IfSuccess,Result: Pass)
             same => n,Hangup()
             same => n,EndIf()
             same => n,UserEvent(IfSuccess,Result: Fail)
             same => n,NoOp(after main if)
             same => n,Hangup()
            """ + "\n", file: "if_endif.conf").plan)
        let (sent, outcome) = await events(plan, context: "default", exten: "s")
        #expect(sent.map { $0["Result"] } == ["Pass", "Pass"])
        #expect(outcome.reason == "hangup")
    }
}

/// Ported from tests/funcs/func_push: PUSH appends and UNSHIFT prepends, to plain
/// and to inherited (`__`) variables, and a dialled leg inherits the result. Asterisk
/// dials a Local channel; here the leg's variables are what the Dial request hands
/// over (as the gateway puts them on the agent's INVITE), and the leg's own
/// extension runs with them. The test compares `$[${INHERIT_PUSH} = yes,please]`,
/// which Asterisk's parser reads only up to the comma (a syntax error it logs):
/// `yes,please = …` gives `yes`, true. The plan loads in Asterisk mode, as brought in.
@Suite("Asterisk testsuite: tests/funcs/func_push")
struct TestsuitePush {
    static let text = """
        [default]
        exten => s,1,Answer()
         same => n,Set(__TESTVAR=poop)
         same => n,Set(PUSH(REGULAR_PUSH)=yes)
         same => n,Set(PUSH(REGULAR_PUSH)=please)
         same => n,Set(PUSH(__INHERIT_PUSH)=yes)
         same => n,Set(PUSH(__INHERIT_PUSH)=please)
         same => n,Set(UNSHIFT(REGULAR_UNSHIFT)=please)
         same => n,Set(UNSHIFT(REGULAR_UNSHIFT)=yes)
         same => n,Set(UNSHIFT(__INHERIT_UNSHIFT)=please)
         same => n,Set(UNSHIFT(__INHERIT_UNSHIFT)=yes)
         same => n,Dial(Local/dest@default)
        exten => dest,1,Answer()
         same => n,UserEvent(PushInheritance,result: ${IF($[${INHERIT_PUSH} = yes,please]?pass:fail)})
         same => n,UserEvent(UnshiftInheritance,result: ${IF($[${INHERIT_UNSHIFT} = yes,please]?pass:fail)})
         same => n,Wait(1)
         same => n,Hangup()
        """

    @Test("the lists build in order, the leg inherits both, and its checks pass")
    func push() async throws {
        let load = DialplanLoader.parse(Self.text + "\n", file: "func_push.conf", mode: .asterisk)
        let plan = try #require(load.plan)
        #expect(load.diagnostics.map(\.description) == [
            "func_push.conf:14:51: warning: bad expression $[0 = yes,please]: unexpected ',' in expression; Asterisk reads it as far as it parses, and so does Omnigate",
            "func_push.conf:15:54: warning: bad expression $[0 = yes,please]: unexpected ',' in expression; Asterisk reads it as far as it parses, and so does Omnigate",
        ])
        let caller = RecordingChannel()
        let (_, outcome) = await events(plan, context: "default", exten: "s", channel: caller)
        #expect(outcome.variables["REGULAR_PUSH"] == "yes,please" && outcome.variables["REGULAR_UNSHIFT"] == "yes,please")
        let dial = try #require(caller.requests.withLock { $0.dials.first })
        #expect(dial.inherited == ["__TESTVAR": "poop", "__INHERIT_PUSH": "yes,please", "__INHERIT_UNSHIFT": "yes,please"])
        // The leg: the inherited variables, as the dialled side sees them (underscores kept, as Asterisk keeps them).
        let (sent, _) = await events(plan, context: "default", exten: "dest", variables: dial.inherited)
        #expect(sent == [UserEvent(name: "PushInheritance", fields: [.init("result", "pass")]),
                         UserEvent(name: "UnshiftInheritance", fields: [.init("result", "pass")])])
    }
}

/// Ported from tests/pbx/callerid_match: a call reaches the extension whose
/// caller-ID condition matches, an empty condition (`agi3/`) only a call with no
/// caller ID, and the exact length counts. Asterisk's test starts each call from
/// a call file and passes when the call reaches its AGI step; here that step is a
/// UserEvent naming the sample.
@Suite("Asterisk testsuite: tests/pbx/callerid_match")
struct TestsuiteCallerIDMatch {
    static let text = """
        [test]
        exten => agi1/2565550101,1,UserEvent(Reached,sample: 1)
        exten => agi1,1,Hangup
        exten => agi2/2565550299,1,Hangup
        exten => agi2,1,UserEvent(Reached,sample: 2)
        exten => agi3/,1,UserEvent(Reached,sample: 3)
        exten => agi3,1,Hangup
        exten => agi4,1,UserEvent(Reached,sample: 4)
        exten => agi4/,1,Hangup
        exten => agi5,1,Hangup
        exten => agi5/,1,UserEvent(Reached,sample: 5)
        exten => agi6,1,Hangup
        exten => agi6/,1,Hangup
        exten => agi6/2565550606,1,UserEvent(Reached,sample: 6)
        exten => agi7,1,Hangup
        exten => agi7/,1,Hangup
        exten => agi7/1,1,Hangup
        exten => agi7/12,1,UserEvent(Reached,sample: 7)
        exten => agi7/123,1,Hangup
        """

    /// The samples' call files: the extension called and the caller ID.
    static let samples: [(exten: String, callerID: String)] = [
        ("agi1", "2565550101"), ("agi2", "2565550202"), ("agi3", ""), ("agi4", "2565550404"), ("agi5", ""), ("agi6", "2565550606"), ("agi7", "12"),
    ]

    @Test("each sample reaches its step", arguments: 1...7)
    func sample(_ n: Int) async throws {
        let plan = try #require(DialplanLoader.parse(Self.text + "\n", file: "callerid_match.conf").plan)
        let sample = Self.samples[n - 1]
        let (sent, _) = await events(plan, context: "test", exten: sample.exten, callerID: sample.callerID)
        #expect(sent == [UserEvent(name: "Reached", fields: [.init("sample", String(n))])], "sample \(n)")
    }
}

/// Ported from tests/pbx/dialplan_reload: a plan with hints and an extension whose
/// caller-ID condition is empty (`60./`) loads, and reloads, without trouble.
@Suite("Asterisk testsuite: tests/pbx/dialplan_reload")
struct TestsuiteDialplanReload {
    @Test("the plan loads with its hints ignored, and reloads")
    func reloads() throws {
        let dir = try temporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "[incoming_1]\n\nexten => _60.,hint,Local/${EXTEN}@incoming_1\nexten => 60,hint,Local/60@incoming_1\nexten =>  60./,1,NoOp()\nexten =>  60.,1,NoOp()\n"
        try text.write(toFile: dir + "/extensions.conf", atomically: true, encoding: .utf8)
        let live = try LivePlan(paths: [dir], mode: .asterisk)
        #expect(live.warnings.map(\.message) == ["hint for '_60.' is ignored: Omnigate has no device state",
                                                 "hint for '60' is ignored: Omnigate has no device state"])
        #expect(live.current.plan.contexts["incoming_1"]?.extensions.map(\.name) == ["60.", "60."])
        #expect(live.reload().applied)
    }
}

/// Ported from tests/funcs/func_evalexten: EVAL_EXTEN reads the arguments another
/// priority was written with, substituted as if the call were there; eleven
/// calls, each `EvalExtenSuccess Result: Pass`.
@Suite("Asterisk testsuite: tests/funcs/func_evalexten")
struct TestsuiteEvalExten {
    static let text = """
        [evalexten]
        exten => success,1,Answer()
         same => n,UserEvent(EvalExtenSuccess,Result: Pass)
         same => n,Hangup()
        exten => fail,1,Answer()
         same => n,UserEvent(EvalExtenFailure,Result: Fail,Reason: ${digits})
         same => n,Hangup()
        exten => 1,1,GotoIf($["${EVAL_EXTEN(ee-context-1,${EPOCH},1)}"="4545"]?success,1:fail,1)
        exten => 2,1,GotoIf($["${EVAL_EXTEN(ee-context-2,${EPOCH},1)}"=""]?success,1:fail,1)
        exten => 3,1,GotoIf($[${EVAL_EXTEN(ee-context-3,${EXTEN},1)}>${EPOCH}]?success,1:fail,1)
        exten => 4,1,GotoIf($[${EVAL_EXTEN(ee-context-4,212,1)}=200]?success,1:fail,1)
        exten => 5,1,GotoIf($[${EVAL_EXTEN(ee-context-4,312,1)}=300]?success,1:fail,1)
        exten => 6,1,GotoIf($[${EVAL_EXTEN(ee-context-4,332,1)}=330]?success,1:fail,1)
        exten => 7,1,GotoIf($["${EVAL_EXTEN(ee-context-4,332,2)}"="isreallycool"]?success,1:fail,1)
        exten => 8,1,GotoIf($[${EVAL_EXTEN(100,1)}=50]?success,1:fail,1)
        exten => 9,1,GotoIf($[${EVAL_EXTEN(2)}=60]?success,1:fail,1)
         same => n,Return(60)
        exten => 10,1,GotoIf($["${EVAL_EXTEN(ee-context-5,353,1)}"="353"]?success,1:fail,1)
        exten => 11,1,GotoIf($["${EVAL_EXTEN(ee-context-5,354,1)}"="1"]?success,1:fail,1)
        exten => 100,1,Return(50)

        [ee-context-1]
        exten => 1,1,Return(0)
        exten => _X!,1,Return(4545)

        [ee-context-2]
        exten => 0,1,Return(4545)

        [ee-context-3]
        exten => 1,1,Return(${EPOCH})
        exten => 2,1,Return($[${EPOCH}+1])
        exten => 3,1,Return($[${EPOCH}+2])

        [ee-context-4]
        exten => _2XX,1,Return(200)
        exten => _3XX,1,Return(300)
        exten => _33X,1,Return(330)
         same => n,Return(${evalexten})

        [ee-context-5]
        exten => 353,1,Return(${EXTEN})
        exten => 354,1,Return($["${EXTEN}"="354"])
        """

    @Test("each of the eleven calls passes", arguments: 1...11)
    func call(_ n: Int) async throws {
        let plan = try #require(DialplanLoader.parse(Self.text + "\n", file: "func_evalexten.conf").plan)
        // Asterisk's test sets this global first, from the extension that starts the calls.
        let (sent, _) = await events(plan, context: "evalexten", exten: String(n), variables: ["evalexten": "isreallycool"])
        #expect(sent == [UserEvent(name: "EvalExtenSuccess", fields: [.init("Result", "Pass")])], "call \(n)")
    }
}
