@testable import Dialplan
import Foundation
import Testing

/// What a call does when a step fails at run time, as Asterisk's does: the call
/// goes on to `i`, `e`, or ends (and `h` runs), and the warning names the step's
/// file:line:column. Each kind of failure has its message asserted verbatim.
/// Targets are computed (or the plan read in Asterisk mode), since check would
/// refuse one written out in a strict plan.
@Suite("run-time failures, each with its message and place")
struct RuntimeFailureTests {
    private func run(_ text: String, exten: String = "1", variables: [String: String] = [:]) async throws -> (Outcome, [String]) {
        let load = DialplanLoader.parse(text + "\n", file: "t.conf", mode: .asterisk)
        let plan = try #require(load.plan, "\(load.errors)")
        let (outcome, channel) = await simulate(plan, exten: exten, variables: variables)
        return (outcome, channel.commands)
    }

    @Test("a jump to an extension or context nobody defines: on to i, else e, else the call ends with 'unallocated'")
    func missingExtension() async throws {
        let (toI, _) = try await run("[default]\nexten => 1,1,Goto(nowhere,1)\nexten => i,1,NoOp(${INVALID_EXTEN})\n")
        #expect(toI.warnings == ["t.conf:2:14: Goto(nowhere,1): [default] has no extension 'nowhere'; the call goes to 'i'"])
        #expect(toI.steps.last?.description == "default,i,1: NoOp(nowhere)")
        let (toE, _) = try await run("[default]\nexten => 1,1,Goto(nowhere,1)\nexten => e,1,NoOp(${EXCEPTION(reason)})\n")
        #expect(toE.warnings == ["t.conf:2:14: Goto(nowhere,1): [default] has no extension 'nowhere'; the call goes to 'e'"])
        #expect(toE.steps.last?.arguments == "INVALID")
        let (ends, commands) = try await run("[default]\nexten => 1,1,Goto(elsewhere,s,1)\nexten => h,1,NoOp(h runs)\n")
        #expect(ends.warnings == ["t.conf:2:14: Goto(elsewhere,s,1): there is no context [elsewhere]; the call ends, as in Asterisk"])
        #expect(ends.reason == "no-extension" && commands == ["hangup(1)"])
    }

    @Test("a jump to a priority the extension lacks: the call ends, as Asterisk's autofallthrough ends it")
    func missingPriority() async throws {
        let (outcome, commands) = try await run("[default]\nexten => 1,1,Goto(2,${P})\nexten => 2,1,NoOp()\n", variables: ["P": "7"])
        #expect(outcome.warnings == ["t.conf:2:14: Goto(2,7): '2' in [default] has no priority 7; the call ends, as in Asterisk"])
        #expect(outcome.reason == "autofallthrough" && commands == ["hangup(16)"])
    }

    /// An empty extension stays in the current one, as Asterisk's Goto does.
    @Test("a Gosub to nowhere, an application Asterisk 22 lacks, RaiseException without e, UserEvent without a name: the call ends")
    func failingApplications() async throws {
        let cases: [(String, String, String)] = [
            ("[default]\nexten => 1,1,Gosub(sub,${X},1)\n[sub]\nexten => s,1,Return()\n",
             "t.conf:2:14: Gosub(sub,,1): there is no priority 1 of '1' in [sub]; the call ends, as in Asterisk", "bad-gosub"),
            ("[default]\nexten => 1,1,Gosub(sub,s,${L})\n[sub]\nexten => s,1,Return()\n",
             "t.conf:2:14: Gosub(sub,s,): no priority given; the call ends, as in Asterisk", "bad-gosub"),
            ("[default]\nexten => 1,1,Macro(menu)\n",
             "t.conf:2:14: Asterisk 22 has no application 'Macro'; the call ends, as in Asterisk", "no-application"),
            ("[default]\nexten => 1,1,Exec(${APP}(x))\n",
             "t.conf:2:14: Exec(Frobnicate(x)): there is no application 'Frobnicate'; the call ends, as in Asterisk", "exec"),
            ("[default]\nexten => 1,1,ExecIf($[1]?${APP}())\n",
             "t.conf:2:14: ExecIf: there is no application 'Frobnicate'; the call ends, as in Asterisk", "exec"),
            ("[default]\nexten => 1,1,RaiseException(BOOM)\n",
             "t.conf:2:14: RaiseException(BOOM): [default] has no 'e' extension; the call ends, as in Asterisk", "exception"),
            ("[default]\nexten => 1,1,UserEvent()\n",
             "t.conf:2:14: UserEvent needs an event name; the call ends, as in Asterisk", "user-event"),
        ]
        for (text, warning, reason) in cases {
            let (outcome, commands) = try await run(text, variables: ["APP": "Frobnicate"])
            #expect(outcome.warnings == [warning])
            #expect(outcome.reason == reason && commands == ["hangup(16)"], "\(text)")
        }
    }

    @Test("Exec within Exec, thousands deep, in the plan or in a value, is cut at 8 levels and never exhausts the stack")
    func deepNesting() async throws {
        let deep = String(repeating: "Exec(", count: 5000) + "NoOp(x)" + String(repeating: ")", count: 5000)
        let load = DialplanLoader.parse("[default]\nexten => 1,1,\(deep)\nexten => 2,1,Exec(${APP})\n", file: "t.conf")
        let plan = try #require(load.plan)
        for exten in ["1", "2"] {
            let (outcome, _) = await simulate(plan, exten: exten, variables: ["APP": deep])
            #expect(outcome.reason == "exec")
            #expect(outcome.warnings.last?.hasSuffix("Exec: applications nested deeper than 8; the call ends") == true, "\(outcome.warnings)")
        }
    }

    @Test("warnings that let the call go on, each naming the step")
    func warningsOnly() async throws {
        let (outcome, _) = try await run("""
            [default]
            exten => 1,1,NoOp(${INC(UNSET)} ${MATH(12)} ${VALID_EXTEN(s)})
             same => n,Set(LOCAL(x)=1)
             same => n,ExitIf()
             same => n,While(0)
             same => n,NoOp(end)
            """)
        #expect(outcome.warnings == [
            "t.conf:2:14: INC(UNSET): the variable is not set",
            "t.conf:2:14: MATH(12): no operator",
            "t.conf:2:14: VALID_EXTEN needs [context],extension[,priority]",
            "t.conf:3:12: LOCAL(x) can only be set inside a Gosub; it is not set",
            "t.conf:4:12: ExitIf: no matching EndIf after it",
            "t.conf:5:12: While: no matching EndWhile after it",
        ])
    }
}
