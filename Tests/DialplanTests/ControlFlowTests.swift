@testable import Dialplan
import Foundation
import Testing

/// What the interpreter decides: where a call goes next, and how it ends.
@Suite("control flow")
struct ControlFlowTests {
    @Test("autofallthrough = yes: running off the end hangs up as DIALSTATUS suggests")
    func autofallthroughYes() async throws {
        let p = try plan("[default]\nexten => 1,1,NoOp()\nexten => 2,1,Set(DIALSTATUS=CHANUNAVAIL)\nexten => 3,1,Set(DIALSTATUS=BUSY)\n")
        #expect(await simulate(p, exten: "1").1.commands == ["hangup(16)"])
        #expect(await simulate(p, exten: "2").1.commands == ["hangup(34)"])
        #expect(await simulate(p, exten: "3").1.commands == ["hangup(17)"])
        #expect(await simulate(p, exten: "1").0.reason == "autofallthrough")
    }

    @Test("autofallthrough = no: running off the end waits for digits, as Asterisk 1.0 did")
    func autofallthroughNo() async throws {
        let p = try plan("[general]\nautofallthrough=no\n[default]\nexten => 1,1,NoOp(start)\nexten => 42,1,NoOp(dialled 42)\nexten => t,1,NoOp(nothing)\n")
        #expect(await simulate(p, exten: "1", script: script("42")).0.steps.map(\.arguments).prefix(2) == ["start", "dialled 42"])
        let (silent, channel) = await simulate(p, exten: "1", script: script { $0.patience = 1 })
        #expect(silent.steps.map(\.arguments) == ["start", "nothing"])
        #expect(silent.reason == "caller-hangup" && channel.commands == ["caller hangs up"])
    }

    @Test("a priority runs from the first extension that has it, as in Asterisk: a pattern's later steps serve an exact name")
    func priorityFallsBackToNextExtension() async throws {
        let p = try plan("""
        [default]
        exten => 123,1,NoOp(exact)
        exten => _1XX,1,NoOp(pattern)
        same => n,NoOp(pattern step 2)
        """)
        #expect(await simulate(p, exten: "123").0.steps.map(\.arguments) == ["exact", "pattern step 2"])
    }

    @Test("dashes in names and in what is dialled are ignored")
    func dashes() async throws {
        let p = try plan("[default]\nexten => 555-1234,1,NoOp(literal)\nexten => _1-800-NXX-XXXX,1,NoOp(pattern)\n")
        #expect(await simulate(p, exten: "5551234").0.steps.first?.arguments == "literal")
        #expect(await simulate(p, exten: "1-800-555-0100").0.steps.first?.arguments == "pattern")
    }

    @Test("i handles an extension that does not exist, t a caller who dials nothing, e either when they are missing")
    func specialExtensions() async throws {
        let withIT = try plan("""
        [default]
        exten => s,1,WaitExten(3)
        exten => 1,1,NoOp(one)
        exten => i,1,NoOp(invalid ${INVALID_EXTEN})
        exten => t,1,NoOp(timeout)
        """)
        #expect(await simulate(withIT, exten: "s", script: script("9")).0.steps.last?.arguments == "invalid 9")
        #expect(await simulate(withIT, exten: "s").0.steps.last?.arguments == "timeout")
        #expect(await simulate(withIT, exten: "77").0.steps.first?.arguments == "invalid 77")

        let withE = try plan("""
        [default]
        exten => s,1,WaitExten(3)
        exten => e,1,NoOp(${EXCEPTION(reason)} at ${EXCEPTION(context)},${EXCEPTION(exten)},${EXCEPTION(priority)})
        """)
        #expect(await simulate(withE, exten: "s", script: script("9")).0.steps.last?.arguments == "INVALID at default,s,1")
        #expect(await simulate(withE, exten: "s").0.steps.last?.arguments == "RESPONSETIMEOUT at default,s,1")

        let neither = try plan("[default]\nexten => s,1,WaitExten(3)\n")
        let (timedOut, channel) = await simulate(neither, exten: "s")
        #expect(timedOut.reason == "timeout" && channel.commands == ["hangup(16)"])
        #expect(await simulate(neither, exten: "9").0.reason == "no-extension")
    }

    @Test("WaitExten with no digit goes on to its next priority when there is one")
    func waitExtenContinues() async throws {
        let p = try plan("[default]\nexten => s,1,WaitExten(2)\nsame => n,NoOp(nobody pressed)\nexten => t,1,NoOp(t)\n")
        #expect(await simulate(p, exten: "s").0.steps.map(\.arguments) == ["2", "nobody pressed"])
    }

    @Test("digits are collected while a longer extension could still match")
    func collectsDigits() async throws {
        let p = try plan("""
        [default]
        exten => s,1,Background(menu)
        exten => 1,1,NoOp(one)
        exten => 12,1,NoOp(twelve)
        exten => _9X.,1,NoOp(outside ${EXTEN})
        """)
        #expect(await simulate(p, exten: "s", script: script("1")).0.steps.last?.arguments == "one")
        #expect(await simulate(p, exten: "s", script: script("12")).0.steps.last?.arguments == "twelve")
        #expect(await simulate(p, exten: "s", script: script("9555")).0.steps.last?.arguments == "outside 9555")
    }

    @Test("h runs after the call ends, in the context the call was in; what touches the call is skipped there")
    func hangupHandler() async throws {
        let p = try plan("""
        [default]
        exten => s,1,Answer()
        same => n,Goto(second,s,1)
        exten => h,1,NoOp(not this one)
        [second]
        exten => s,1,Playback(a)
        same => n,Hangup(USER_BUSY)
        exten => h,1,NoOp(ended ${HANGUPCAUSE}${DIALSTATUS})
        same => n,Playback(nobody hears this)
        same => n,NoOp(still runs)
        """)
        let (outcome, channel) = await simulate(p, exten: "s")
        #expect(channel.commands == ["answer", "play(a)", "hangup(17)"])
        #expect(outcome.steps.suffix(3).map(\.description) == [
            "second,h,1: NoOp(ended 17)", "second,h,2: Playback(nobody hears this)", "second,h,3: NoOp(still runs)",
        ])
        #expect(outcome.lastApplication == "Hangup" && outcome.lastData == "USER_BUSY")
    }

    @Test("Goto and GotoIf labels resolve in the first extension reached that has them, includes too")
    func labelsThroughIncludes() async throws {
        let p = try plan("""
        [default]
        include => shared
        exten => 1,1,Goto(2,deep)
        [shared]
        exten => _X,1,NoOp()
        same => n(deep),NoOp(found ${EXTEN} in ${CONTEXT})
        """)
        #expect(await simulate(p, exten: "1").0.steps.last?.arguments == "found 2 in default")
    }

    @Test("caller-ID conditions are tried first, and a changed CALLERID(num) is seen at once")
    func callerIDConditions() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Set(CALLERID(num)=101)
        same => n,Goto(2,1)
        exten => 2/101,1,NoOp(boss)
        exten => 2,1,NoOp(anyone)
        exten => 3/_1XX,1,NoOp(hundreds)
        exten => 3,1,NoOp(others)
        """)
        #expect(await simulate(p, exten: "1").0.steps.last?.arguments == "boss")
        #expect(await simulate(p, exten: "2").0.steps.last?.arguments == "anyone")
        #expect(await simulate(p, exten: "3", callerID: "150").0.steps.last?.arguments == "hundreds")
        #expect(await simulate(p, exten: "3", callerID: "2015550100").0.steps.last?.arguments == "others")
    }

    @Test("a Goto to a label that does not exist at run time ends the call with a warning")
    func badDynamicGoto() async throws {
        let p = try plan("[default]\nexten => 1,1,Set(L=nowhere)\nsame => n,Goto(${L})\n")
        let (outcome, channel) = await simulate(p, exten: "1")
        #expect(outcome.reason == "bad-goto")
        #expect(outcome.warnings == ["t.conf:3:11: Goto(nowhere): extension '1' in [default] has no label 'nowhere'; the call ends, as in Asterisk"])
        #expect(channel.commands == ["hangup(16)"])
    }

    @Test("a message context runs to its end without a call, and without h")
    func messageRun() async throws {
        let p = try plan("[sms]\nexten => _X.,1,NoOp(${MESSAGE(body)})\nexten => h,1,NoOp(never)\n")
        let outcome = await run(p, on: ScriptedChannel(), context: "sms", exten: "55", message: ("hi", "a", "b"))
        #expect(outcome.reason == "message-done" && outcome.steps.map(\.arguments) == ["hi"])
    }
}
