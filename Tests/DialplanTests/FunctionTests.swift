@testable import Dialplan
import Foundation
import Testing

/// Each dialplan function, read with `${FUNC(args)}` and, where it can be,
/// written with `Set(FUNC(args)=value)`.
@Suite("dialplan functions")
struct FunctionTests {
    /// The expanded arguments of every step of extension 1.
    private func steps(_ body: String, time: String? = nil, script: ScriptedChannel.Script = .init()) async throws -> [String] {
        let p = try plan("[globals]\nG=one\n[default]\n" + body)
        return await simulate(p, exten: "1", script: script, time: time).0.steps.map(\.arguments)
    }

    @Test("IF and IFTIME choose a value; quotes around a value go")
    func conditionals() async throws {
        let args = try await steps("""
        exten => 1,1,NoOp(${IF(1?"yes":no)}|${IF(0?yes)}|${IF(?a:b)}|${IF($[2 > 1]?big:small)})
        same => n,NoOp(${IFTIME(09:00-17:00,mon-fri,*,*?open:closed)})
        """, time: "2026-11-24T17:00:30Z")
        #expect(args == ["yes||b|big", "open"])
        let later = try await steps("exten => 1,1,NoOp(${IFTIME(09:00-17:00,mon-fri,*,*?open:closed)})\n", time: "2026-11-24T17:01:00Z")
        #expect(later == ["closed"])
    }

    @Test("GLOBAL reads and writes the globals every call shares")
    func global() async throws {
        #expect(try await steps("exten => 1,1,NoOp(${GLOBAL(G)} ${G})\nsame => n,Set(GLOBAL(G)=two)\nsame => n,NoOp(${G})\n")
            == ["one one", "GLOBAL(G)=two", "two"])
    }

    @Test("LEN, TOUPPER, TOLOWER, ISNULL, EXISTS, FILTER")
    func strings() async throws {
        #expect(try await steps("exten => 1,1,NoOp(${LEN(hello)} ${LEN()} ${LEN(ünï)} ${TOUPPER(abc)} ${TOLOWER(ABC)})\n") == ["5 0 3 ABC abc"])
        #expect(try await steps("exten => 1,1,NoOp(${ISNULL()}${ISNULL(x)}${EXISTS()}${EXISTS(x)})\n") == ["1001"])
        #expect(try await steps("exten => 1,1,NoOp(${FILTER(0-9,+1 (555) 010-0100)} ${FILTER(a-c,abcdef)})\n") == ["15550100100 abc"])
    }

    @Test("CUT takes fields of a variable by number, range and list")
    func cut() async throws {
        #expect(try await steps("exten => 1,1,Set(LIST=a-b-c-d)\nsame => n,NoOp(${CUT(LIST,-,2)}|${CUT(LIST,-,2-3)}|${CUT(LIST,-,3-)}|${CUT(LIST,-,1&4)}|${CUT(LIST,,2)}|${CUT(LIST,-,3-1)})\n")
            == ["LIST=a-b-c-d", "b|b-c|c-d|a-d|b|"])
    }

    @Test("REGEX tests a string against a regular expression")
    func regex() async throws {
        #expect(try await steps("exten => 1,1,NoOp(${REGEX(\"^[0-9]+$\" 12345)}${REGEX(\"^[0-9]+$\" 12a)})\n") == ["10"])
    }

    @Test("STRFTIME formats a time in a zone; EPOCH is the call's clock")
    func strftime() async throws {
        #expect(try await steps("""
        exten => 1,1,NoOp(${STRFTIME(0,UTC,%Y-%m-%d %H:%M:%S)})
        same => n,NoOp(${STRFTIME(86400,America/New_York,%a %b %e %I:%M %p %j)})
        same => n,NoOp(${EPOCH} ${STRFTIME(${EPOCH},,%H:%M)})
        """, time: "2026-11-24T10:15:00Z") == ["1970-01-01 00:00:00", "Thu Jan  1 07:00 PM 001", "1795515300 10:15"])
    }

    @Test("RAND stays within its bounds")
    func rand() async throws {
        for _ in 0..<20 {
            let args = try await steps("exten => 1,1,NoOp(${RAND(5,5)} ${RAND(1,3)})\n")
            let parts = args[0].split(separator: " ").compactMap { Int($0) }
            #expect(parts.count == 2 && parts[0] == 5 && (1...3).contains(parts[1]))
        }
    }

    @Test("CALLERID reads and writes the caller's number and name")
    func callerID() async throws {
        #expect(try await steps("""
        exten => 1,1,NoOp(${CALLERID(num)} ${CALLERID(name)} ${CALLERID(all)} ${CALLERID(num):-4})
        same => n,Set(CALLERID(name)=Grace)
        same => n,Set(CALLERID(num)=+33123)
        same => n,NoOp(${CALLERID(all)})
        """) == ["2015550100 Ada \"Ada\" <2015550100> 0100", "CALLERID(name)=Grace", "CALLERID(num)=+33123", "\"Grace\" <+33123>"])
    }

    @Test("TIMEOUT reads and sets the digit and response timeouts WaitExten and menus use")
    func timeout() async throws {
        #expect(try await steps("exten => 1,1,NoOp(${TIMEOUT(digit)} ${TIMEOUT(response)})\nsame => n,Set(TIMEOUT(digit)=2.5)\nsame => n,NoOp(${TIMEOUT(digit)})\n")
            == ["5 10", "TIMEOUT(digit)=2.5", "2.5"])
    }

    @Test("CONTACT answers from the customer store; an unknown field computed at run time reads empty with a warning")
    func contact() async throws {
        let p = try plan("[default]\nexten => 1,1,Set(F=nosuch)\nsame => n,NoOp(${CONTACT(tier)}|${CONTACT(last_agent)}|${CONTACT(${F})})\n")
        let (outcome, _) = await simulate(p, exten: "1", script: script { $0.contact = ["tier": "vip", "last_agent": "alice"] })
        #expect(outcome.steps[1].arguments == "vip|alice|")
        #expect(outcome.warnings == ["CONTACT(nosuch): no such field"])
    }

    /// As Asterisk's LOCAL(): reading it names only the running Gosub's own locals (checked against Asterisk 22.10.1).
    @Test("LOCAL variables live in their Gosub, are seen by Gosubs it calls, and are gone after Return")
    func local() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Set(X=outer)
        same => n,Gosub(sub,s,1(a,b))
        same => n,NoOp(${X} ${Y} ${ARG1})
        [sub]
        exten => s,1,Set(LOCAL(X)=inner)
        same => n,Set(LOCAL(Y)=mine)
        same => n,Gosub(deeper,s,1(z))
        same => n,Return()
        [deeper]
        exten => s,1,NoOp(${X} ${Y} ${LOCAL(Y)} ${ARG1} ${ARG2} ${ARGC})
        same => n,Return()
        """)
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.steps.map(\.arguments).filter { $0.hasPrefix("inner") || $0.hasPrefix("outer") } == ["inner mine  z  1", "outer  "])
    }

    @Test("MESSAGE reads the inbound message and sets the reply")
    func message() async throws {
        let p = try plan("[sms]\nexten => _X.,1,NoOp(${MESSAGE(from)} ${MESSAGE(to)} ${MESSAGE(body)})\nsame => n,Set(MESSAGE(body)=pong)\nsame => n,NoOp(${MESSAGE(body)})\n")
        let outcome = await run(p, on: ScriptedChannel(), context: "sms", exten: "100", message: ("ping", "sip:a@x", "sip:100@gw"))
        #expect(outcome.steps.map(\.arguments) == ["sip:a@x sip:100@gw ping", "MESSAGE(body)=pong", "pong"])
    }

    @Test("names can be built from variables, and substrings taken of anything")
    func dynamicNames() async throws {
        #expect(try await steps("exten => 1,1,Set(NAME=G)\nsame => n,NoOp(${${NAME}} ${${NAME}:1} ${EXTEN:0:1} ${TOUPPER(abcdef):2:2})\n")
            == ["NAME=G", "one ne 1 CD"])
    }
}
