@testable import Dialplan
import Testing

@Suite("$[ ] expressions and ${ } substitution")
struct ExpressionTests {
    @Test("operators and precedence, as Asterisk's ast_expr2 evaluates them", arguments: [
        // arithmetic is floating point; integers print without a fraction
        ("1 + 2 * 3", "7"), ("(1 + 2) * 3", "9"), ("7 / 2", "3.5"), ("TRUNC(7 / 2)", "3"), ("7 % 3", "1"), ("7.5 / 2", "3.75"),
        ("-3 + 1", "-2"), ("5 - -3", "8"), ("1+1", "2"),
        // comparisons: numeric when both sides are numbers, otherwise text (quotes and all)
        ("2 = 2", "1"), ("2 == 3", "0"), ("\"a\" != \"b\"", "1"), ("10 > 9", "1"), ("10 < 9", "0"), ("\"10\" < \"9\"", "1"),
        ("abc < abd", "1"), ("3 <= 3", "1"), ("4 >= 5", "0"), ("\"vip\" = \"vip\"", "1"), ("\"vip\" = vip", "0"),
        // | gives the left side unless it is empty or 0; & gives the left side when neither is
        ("0 | 5", "5"), ("x | y", "x"), ("\"\" | x", "\"\""), ("3 & 4", "3"), ("3 & 0", "0"), ("a && b", "a"), ("0 || 7", "7"),
        // ! is 1 for empty, 0 and text that does not start with a number other than 0
        ("!0", "1"), ("!5", "0"), ("!abc", "1"), ("!12abc", "0"),
        // a ? b :: c, left-associative
        ("1 ? yes :: no", "yes"), ("0 ? yes :: no", "no"), ("\"\" ? yes :: no", "no"), ("abc ? yes :: no", "yes"),
        ("1 ? 0 :: 1 ? a :: b", "b"),
        // regular expressions: ':' anchored, '=~' anywhere; a group gives its text, else the length matched
        ("\"12345\" : \"123\"", "3"), ("\"abc\" : \"b\"", "0"), ("\"abc\" =~ \"b\"", "1"), ("\"5551234\" : \"555(.*)\"", "1234"),
        ("\"abc\" : \"x(.*)\"", ""), ("2 + 3 : 3", "3"), ("- 2 : 2", "-1"),
        // ~~ joins text; quotes are dropped first
        ("a ~~ b", "ab"), ("\"a\" ~~ \"b c\"", "ab c"),
        // quoted values keep their quotes; a bare word is itself; nothing gives nothing
        ("\"quoted\"", "\"quoted\""), ("x", "x"), ("", ""),
        // the math functions Asterisk's expressions have
        ("ABS(-3)", "3"), ("POW(2, 10)", "1024"), ("SQRT(16)", "4"), ("FLOOR(2.7)", "2"), ("CEIL(2.1)", "3"), ("ROUND(2.5)", "3"),
        // what Asterisk answers for odd operands (with a warning, never an error)
        ("1 / 0", "2147483647"), ("5 % 0", "0"), ("a + 1", "1"), ("a - 1", "-1"), ("2 * a", "0"), ("fn-BUSY = fn-BUSY", "1"),
    ])
    func evaluate(text: String, expected: String) {
        #expect(Expression.evaluate(text) == .success(expected))
    }

    @Test("odd operands give Asterisk's answer with a warning for the call's log")
    func warnings() {
        var warnings: [String] = []
        let context = EvaluationContext(function: { _, _ in nil }, regexes: RegexCache())
        #expect(Expression.evaluate("1 / 0", context: context, warnings: &warnings) == .success("2147483647"))
        #expect(Expression.evaluate("a + 1", context: context, warnings: &warnings) == .success("1"))
        #expect(warnings == ["division by zero", "non-numeric argument 'a' to '+'"])
    }

    @Test("syntax errors in expressions are reported, not crashed on", arguments: [
        ("(1 + 2", "'(' is not closed in the expression"), ("1 ? 2", "'?' needs '::' in a conditional expression"),
        ("\"open", "a quoted string in an expression is not closed"), ("1 +", "the expression ends where a value was expected"),
        ("1 2", "unexpected '2' in expression"), ("= 1", "unexpected '=' in expression"), ("1 , 2", "unexpected ',' in expression"),
        ("ABS()", "unexpected ')' in expression"), ("1 :: 2", "unexpected '::' in expression"),
        (String(repeating: "(", count: 300) + "1", "expression nested too deeply"),
    ])
    func errors(text: String, message: String) {
        #expect(Expression.evaluate(text) == .failure(ExpressionError(message: message)))
    }

    /// Each result is what Asterisk 22.10.1 printed for the same expression. The
    /// expressions come from variables, as a caller's values would: check refuses
    /// such syntax errors written in the plan.
    @Test("a step whose expression has a syntax error gets what Asterisk's parser leaves, and a warning")
    func syntaxErrorAtRunTime() async throws {
        let cases: [(expression: String, asterisk: String)] = [
            (" = 1", ""), ("1 + ", "0"), ("3 = 3,4", "1"), ("(1", "0"), ("1 2", "1"), (" ", ""), ("\"abc", "abc"), ("2 ? 3", "0"),
            ("5 ) 6", "5"), ("yes,please = yes", "yes"), (", 1", ""), ("7 = ", "0"), ("1 + 1 ,", "2"), ("4 * (2 + ", "0"), ("x y z", "x"),
        ]
        var variables: [String: String] = [:]
        for (i, c) in cases.enumerated() { variables["E\(i)"] = c.expression }
        let steps = cases.indices.map { "same => n,NoOp($[${E\($0)}])" }.joined(separator: "\n")
        let p = try plan("[default]\nexten => 1,1,NoOp(start)\n\(steps)\n")
        let (outcome, _) = await simulate(p, exten: "1", variables: variables)
        #expect(outcome.steps.dropFirst().map(\.arguments) == cases.map(\.asterisk))
        #expect(outcome.warnings.first == "t.conf:3:11: expression $[ = 1]: unexpected '=' in expression")
        #expect(outcome.warnings.count == 13, "each one with an error says so (' ' and '\"abc' have none)")
    }

    @Test("expressions call dialplan functions, as FUNC(args)")
    func functionsInExpressions() async throws {
        let p = try plan("[default]\nexten => 1,1,Set(A=hello)\nsame => n,NoOp($[LEN(${A}) + 1] $[TOUPPER(${A}) = HELLO])\n")
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.steps.last?.arguments == "6 1")
    }

    @Test("variables, substrings, nesting, functions and expressions expand together")
    func substitution() async throws {
        let p = try plan("""
        [globals]
        G=global
        [default]
        exten => 5551234,1,Set(A=hello)
        same => n,Set(IDX=2)
        same => n,NoOp(${A} ${A:1:3} ${A:-2} ${A:1:-1} ${EXTEN:3} ${CONTEXT} ${PRIORITY} ${UNIQUEID} ${G})
        same => n,NoOp(${LEN(${A})} ${TOUPPER(${A})} ${TOLOWER(ABC)} ${ISNULL(${NOPE})} ${EXISTS(${A})} ${IF($[${IDX} > 1]?big:small)})
        same => n,NoOp(${CUT(EXTEN,1,2)} ${GLOBAL(G)} ${CALLERID(num)} ${CALLERID(name)} ${REGEX("^55" ${EXTEN})})
        same => n,NoOp($[${IDX} * 10] ${STRFTIME(0,UTC,%Y-%m-%d %H:%M)} ${CONTACT(tier)})
        same => n,Set(GLOBAL(G)=changed)
        same => n,Set(CALLERID(name)=Grace)
        same => n,NoOp(${G} ${CALLERID(name)} \\${A})
        """)
        var script = ScriptedChannel.Script()
        script.contact["tier"] = "vip"
        let (outcome, _) = await simulate(p, exten: "5551234", script: script)
        let args = outcome.steps.map(\.arguments)
        #expect(args[2] == "hello ell lo ell 1234 default 3 u-1 global")
        #expect(args[3] == "5 HELLO abc 1 1 big")
        #expect(args[4] == "234 global 2015550100 Ada 1")
        #expect(args[5] == "20 1970-01-01 00:00 vip")
        #expect(args[8] == "changed Grace ${A}")
        #expect(outcome.warnings.isEmpty, "\(outcome.warnings)")
    }

    @Test("_VAR and __VAR are handed to dialled legs")
    func inheritance() async throws {
        let p = try plan("[default]\nexten => 1,1,Set(_ONE=1)\nsame => n,Set(__ALL=2)\nsame => n,Set(MINE=3)\nsame => n,Dial(PJSIP/alice)\n")
        let (outcome, channel) = await simulate(p, exten: "1")
        #expect(channel.commands.contains("dial(PJSIP/alice)"))
        #expect(outcome.variables["ONE"] == "1" && outcome.variables["ALL"] == "2")
        let interpreter = Interpreter(plan: p, channel: ScriptedChannel(), globals: Globals(p),
                                      start: CallStart(context: "default", exten: "1", uniqueID: "x"))
        interpreter.setVariable("_ONE", "1")
        interpreter.setVariable("__ALL", "2")
        interpreter.setVariable("MINE", "3")
        #expect(interpreter.inheritedVariables == ["_ONE": "1", "__ALL": "2"])
    }
}
