import Dialplan
import Foundation

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

// 10,000-line plan
var lines = ["[general]", "autofallthrough=yes", "[globals]", "TRUNK=PJSIP/provider"]
var c = 0
while lines.count < 10_000 {
    lines.append("[ctx\(c)]")
    for e in 0..<20 {
        lines.append("exten => \(1000 + e),1,NoOp(call ${EXTEN} in ${CONTEXT})")
        lines.append(" same => n,Set(COUNT=$[${COUNT} + 1])")
        lines.append(" same => n,GotoIf($[\"${CONTACT(tier)}\" = \"vip\"]?vip)")
        lines.append(" same => n,Dial(PJSIP/agent\(e),20,g)")
        lines.append(" same => n(vip),Queue(support,,,,60)")
    }
    lines.append("exten => _9NXXXXXX,1,Dial(${TRUNK}/${EXTEN:1})")
    c += 1
}
let text = lines.joined(separator: "\n")
var best = Double.infinity
for _ in 0..<5 {
    let t0 = ContinuousClock.now
    let load = DialplanLoader.parse(text)
    let dt = seconds(ContinuousClock.now - t0)
    precondition(load.plan != nil, "\(load.diagnostics.prefix(3))")
    best = min(best, dt)
}
print("parse \(lines.count) lines: \(best * 1000) ms")

// 1000 patterns
var p = ["[big]"]
for i in 0..<1000 { p.append("exten => _\(100 + i)XXXX,1,NoOp(\(i))") }
let big = DialplanLoader.parse(p.joined(separator: "\n")).plan!
let n = 2000
let t0 = ContinuousClock.now
for i in 0..<n {
    let ch = ScriptedChannel()
    let it = Interpreter(plan: big, channel: ch, globals: Globals(big), start: CallStart(context: "big", exten: "\(100 + i % 1000)1234", uniqueID: "x"))
    it.stepLimit = 1
    _ = await it.run()
}
print("run of one step with 1000 patterns: \(seconds(ContinuousClock.now - t0) / Double(n) * 1e6) us")

var s = ["[loop]", "exten => s,1,Set(X=0)"]
for _ in 0..<2000 { s.append(" same => n,Set(X=$[${X} + 1])") }
let loop = DialplanLoader.parse(s.joined(separator: "\n")).plan!
let t1 = ContinuousClock.now
let it = Interpreter(plan: loop, channel: ScriptedChannel(), globals: Globals(loop), start: CallStart(context: "loop", exten: "s", uniqueID: "x"))
let out = await it.run()
print("steps \(out.steps.count): \(seconds(ContinuousClock.now - t1) / Double(out.steps.count) * 1e6) us per step")
