@testable import Dialplan
import Foundation
import Testing

@Suite("hostile input")
struct FuzzTests {
    /// Random and mutated dialplans: the loader and the interpreter must neither
    /// crash nor hang. Deterministic (seeded) and bounded to a few seconds.
    @Test("random and mutated files never crash or hang the parser, checker or interpreter")
    func fuzz() async throws {
        var random = SeededRandom(seed: 0x5EED)
        let corpus = [
            try String(contentsOfFile: packageRoot + "/Dialplans/extensions.conf", encoding: .utf8),
            "[default]\nexten => _X.,1,Set(A=$[${EXTEN} + 1])\nsame => n,GotoIf($[${A} > 5]?default,1,1)\nsame => n,Gosub(s,1(a,b))\n",
        ]
        let alphabet = Array("[]()=>,;-_.!XNZ$ {}:?\"\\#&|+*/%<>0123456789abcsnhit\n\t")
        let deadline = ContinuousClock.now + .seconds(8)
        var runs = 0
        while ContinuousClock.now < deadline && runs < 3000 {
            runs += 1
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
            let load = DialplanLoader.parse(String(text))
            _ = DialplanGraph.render(load.plan ?? Dialplan(), format: .mermaid)
            _ = Expression.evaluate(String(text.prefix(200)))
            if let plan = load.plan, let context = plan.contextNames.first {
                var script = ScriptedChannel.Script()
                script.digits = ["1", "2", "#"]
                let interpreter = Interpreter(plan: plan, channel: ScriptedChannel(script), globals: Globals(plan),
                                              start: CallStart(context: context, exten: "s", uniqueID: "f"))
                interpreter.stepLimit = 200
                _ = await interpreter.run()
            }
        }
        #expect(runs > 100)
    }
}

