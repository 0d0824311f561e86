@testable import Dialplan
import Foundation
import Testing

/// Hostile input: the reader, parser, checker, expression evaluator and
/// interpreter must neither crash nor hang, and what they report must stay
/// well formed. Deterministic (seeded) and bounded in count, so CI stays fast.
@Suite("hostile input")
struct FuzzTests {
    /// What must hold for any input: a plan only without errors, and every
    /// problem rendered as file:line:column: severity: message.
    private func checkInvariants(_ load: DialplanLoad, _ input: String) {
        #expect((load.plan == nil) == load.diagnostics.contains { $0.severity == .error }, "\(input.prefix(200))")
        for diagnostic in load.diagnostics {
            #expect(diagnostic.location.line >= 0 && diagnostic.location.column >= 1)
            #expect(diagnostic.description.hasPrefix("\(diagnostic.location.file):\(diagnostic.location.line):\(diagnostic.location.column): "))
        }
    }

    @Test("inputs built to hurt: deep nesting, huge lines, invalid UTF-8, NULs, endless comments")
    func builtToHurt() async throws {
        let deep = 5_000
        let inputs: [String] = [
            "[default]\nexten => 1,1,NoOp(" + String(repeating: "${", count: deep) + ")\n",
            "[default]\nexten => 1,1,NoOp(" + String(repeating: "$[", count: deep) + String(repeating: "]", count: deep) + ")\n",
            "[default]\nexten => 1,1,NoOp($[" + String(repeating: "(", count: deep) + "1" + String(repeating: ")", count: deep) + "])\n",
            "[default]\nexten => 1,1,NoOp(" + String(repeating: "${X", count: 40) + String(repeating: "}", count: 40) + ")\n",
            "[default]\nexten => 1,1,Set(A=" + String(repeating: "x", count: 1_000_000) + ")\n",
            "[default]\nexten => _" + String(repeating: "X", count: 10_000) + ".,1,NoOp()\n",
            "[default]\nexten => _" + String(repeating: "[", count: 1_000) + ",1,NoOp()\n",
            String(repeating: ";-- ", count: 500) + "\n[default]\nexten => 1,1,NoOp()\n",
            "[default]\r\nexten => 1,1,NoOp(crlf)\r\n\0\0\0[\0]\n",
            String(decoding: [0x5B, 0x64, 0x5D, 0x0A, 0xFF, 0xFE, 0x3D, 0x3E, 0x80, 0x2C, 0x31, 0x2C, 0xC3], as: UTF8.self),
            "[a]\ninclude => b\n[b]\ninclude => a\nexten => 1,1,Goto(a,1,1)\n" + (0..<200).map { "[c\($0)]\ninclude => c\($0 + 1)\n" }.joined(),
            "[default]\nexten => 1,1,GotoIf(" + String(repeating: "?", count: 1_000) + String(repeating: ":", count: 1_000) + ")\n",
            "[default]\nexten => 1,1,Goto(1,1)\n",
        ]
        for input in inputs {
            let load = DialplanLoader.parse(input)
            checkInvariants(load, input)
            _ = DialplanGraph.render(load.plan ?? Dialplan(), format: .dot)
            if let plan = load.plan, let context = plan.contextNames.first {
                let interpreter = Interpreter(plan: plan, channel: ScriptedChannel(script("1#")), globals: Globals(plan),
                                              start: CallStart(context: context, exten: "1", uniqueID: "f"))
                interpreter.stepLimit = 500
                let outcome = await interpreter.run()
                #expect(outcome.steps.count <= 500)
            }
        }
        #expect(Expression.evaluate(String(repeating: "(", count: deep)) == .failure(ExpressionError(message: "expression nested too deeply")))
        #expect(Expression.evaluate(String(repeating: "- ", count: deep) + "1") == .failure(ExpressionError(message: "expression nested too deeply")))
    }

    @Test("random and mutated files never crash or hang the parser, checker, graph or interpreter")
    func mutatedFiles() async throws {
        var random = SeededRandom(seed: 0x5EED)
        let corpus = [
            try String(contentsOfFile: packageRoot + "/Dialplans/extensions.conf", encoding: .utf8),
            "[default]\nexten => _X.,1,Set(A=$[${EXTEN} + 1])\nsame => n,GotoIf($[${A} > 5]?default,1,1)\nsame => n,Gosub(s,1(a,b))\n",
            "[general]\nautofallthrough=no\n[m]\nexten => s,1,Background(x)\nsame => n,WaitExten(1)\nexten => i,1,Goto(s,1)\nexten => e,1,Return()\n",
        ]
        let alphabet = Array("[]()=>,;-_.!XNZ$ {}:?\"\\#&|+*/%<>~0123456789abcsnhite\n\t")
        for runs in 1...2_000 {
            await Task.yield()  // CPU-bound: let tests that wait on processes and sockets run too
            var text = Array(corpus[runs % corpus.count])
            for _ in 0..<(1 + random.next() % 12) {
                let at = text.isEmpty ? 0 : random.next() % text.count
                switch random.next() % 4 {
                case 0: if !text.isEmpty { text.remove(at: at) }
                case 1: text.insert(alphabet[random.next() % alphabet.count], at: at)
                case 2: if !text.isEmpty { text[at] = alphabet[random.next() % alphabet.count] }
                default:
                    let length = min(text.count - at, random.next() % 20)
                    if length > 0 { text.insert(contentsOf: text[at..<(at + length)], at: at) }
                }
            }
            if runs % 5 == 0 { text = (0..<(random.next() % 300)).map { _ in alphabet[random.next() % alphabet.count] } }
            let input = String(text)
            let load = DialplanLoader.parse(input)
            checkInvariants(load, input)
            _ = DialplanGraph.render(load.plan ?? Dialplan(), format: .mermaid)
            if let plan = load.plan, let context = plan.contextNames.first {
                let interpreter = Interpreter(plan: plan, channel: ScriptedChannel(script("12#,9")), globals: Globals(plan),
                                              start: CallStart(context: context, exten: "s", uniqueID: "f"))
                interpreter.stepLimit = 200
                _ = await interpreter.run()
            }
        }
    }

    @Test("random expressions and substitutions evaluate or fail cleanly")
    func expressionSoup() async throws {
        var random = SeededRandom(seed: 0xE4A1)
        let pieces = ["1", "0", "12", "3.5", "-", "+", "*", "/", "%", "=", "!=", "<", ">=", "|", "&", "!", "?", "::", ":", "=~", "~~",
                      "(", ")", ",", "\"a\"", "\"", "abc", "ABS(", "LEN(", "${X}", " ", "$[", "]", "${", "}"]
        let p = try plan("[default]\nexten => 1,1,Set(X=5)\n")
        for runs in 1...20_000 {
            let text = (0..<(1 + random.next() % 14)).map { _ in pieces[random.next() % pieces.count] }.joined(separator: random.next() % 2 == 0 ? " " : "")
            switch Expression.evaluate(text) {
            case .success: break
            case .failure(let error): #expect(!error.message.isEmpty)
            }
            if runs % 50 == 0 {
                await Task.yield()
                let interpreter = Interpreter(plan: p, channel: ScriptedChannel(), globals: Globals(p),
                                              start: CallStart(context: "default", exten: "1", uniqueID: "f"))
                _ = await interpreter.expand("$[" + text + "] ${" + text + "}")
            }
        }
    }
}
