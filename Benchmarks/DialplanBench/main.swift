// dialplan-bench: what the dialplan costs per operation, each beside a
// baseline measured in the same run. A program that prints figures, not a test.
//
//   swift run -c release dialplan-bench [--lines N] [--patterns P] [--steps S] [--help]
//
// 1. Parse and check a generated plan of N lines (default 10,000); baseline:
//    only splitting the same text into lines.
// 2. Choose an extension in a context of P patterns (default 1,000), for an
//    extension that matches late in Asterisk's order and one that matches no
//    pattern; baseline: a Swift dictionary lookup of a literal name.
// 3. Run one priority (NoOp with variables and a function, Set with an
//    expression) in a plan of S steps; baseline: the same string built directly.
// Targets: parse under 100 ms; matching and one step under 5 µs.

import Dialplan
import Foundation

var lines = 10_000, patterns = 1_000, stepsCount = 20_000
var argv = Array(CommandLine.arguments.dropFirst())
while !argv.isEmpty {
    let name = argv.removeFirst()
    switch name {
    case "--help", "-h":
        print("usage: dialplan-bench [--lines N] [--patterns P] [--steps S]")
        exit(0)
    case "--lines": lines = Int(argv.removeFirst()) ?? lines
    case "--patterns": patterns = Int(argv.removeFirst()) ?? patterns
    case "--steps": stepsCount = Int(argv.removeFirst()) ?? stepsCount
    default:
        FileHandle.standardError.write(Data("dialplan-bench: unknown argument \(name)\n".utf8))
        exit(2)
    }
}

func time(_ body: () -> Void) -> Double {
    let start = ContinuousClock.now
    body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func row(_ what: String, _ value: String, _ baseline: String) {
    print(what.padding(toLength: 54, withPad: " ", startingAt: 0) + value.padding(toLength: 16, withPad: " ", startingAt: 0) + baseline)
}

// MARK: - 1. Parse

var text = "[general]\nautofallthrough=yes\n[globals]\nTRUNK=PJSIP/provider\n"
var context = 0
var written = 4
while written < lines {
    text += "[ctx\(context)]\n"
    written += 1
    for e in 0..<20 where written < lines {
        text += "exten => _9\(String(format: "%02d", e))\(context)XX,1,NoOp(call ${EXTEN} from ${CALLERID(num)})\n"
        text += " same => n,Set(COUNT=$[${COUNT} + 1])\n"
        text += " same => n,GotoIf($[\"${CONTACT(tier)}\" = \"vip\"]?vip)\n"
        text += " same => n,Dial(PJSIP/agent\(e),20)\n"
        text += " same => n(vip),Queue(support,,,,60)\n"
        written += 5
    }
    if context > 0 { text += "include => ctx\(context - 1)\n"; written += 1 }
    context += 1
}
let lineCount = text.split(separator: "\n").count
var parseTimes: [Double] = [], splitTimes: [Double] = []
var load: DialplanLoad?
for _ in 0..<7 {
    parseTimes.append(time { load = DialplanLoader.parse(text, file: "bench.conf") })
    splitTimes.append(time { _ = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) })
}
guard let plan = load?.plan else {
    print("the generated plan has errors: \(load?.errors.prefix(3) ?? [])")
    exit(1)
}
print("dialplan-bench: \(lineCount) lines, \(plan.contexts.count) contexts; \(patterns) patterns; \(stepsCount) steps\n")
row("operation", "omnigate", "baseline")
row("parse + check \(lineCount)-line plan (median of 7)", String(format: "%.1f ms", median(parseTimes) * 1000),
    String(format: "%.1f ms (split into lines)", median(splitTimes) * 1000))

// MARK: - 2. Choose an extension among many patterns

var many = "[big]\n"
for i in 0..<patterns { many += "exten => _\(String(format: "%03d", i))XXXX,1,NoOp()\n" }
many += "exten => _X.,1,NoOp(catch-all)\nexten => 5551234,1,NoOp(literal)\n"
let big = DialplanLoader.parse(many, file: "patterns.conf").plan!
let lateMatch = String(format: "%03d", patterns - 1) + "1234"
let iterations = 20_000
var found = 0
let patternTime = time { for _ in 0..<iterations { if big.find(lateMatch, in: "big", callerID: "1") != nil { found += 1 } } }
let catchAllTime = time { for _ in 0..<iterations { if big.find("99999999999", in: "big", callerID: "1") != nil { found += 1 } } }
let literalTime = time { for _ in 0..<iterations { if big.find("5551234", in: "big", callerID: "1") != nil { found += 1 } } }
let dictionary = Dictionary(uniqueKeysWithValues: (0..<patterns).map { (String(format: "%03d", $0) + "1234", $0) })
var sum = 0
let dictionaryTime = time { for _ in 0..<iterations { sum &+= dictionary[lateMatch] ?? 0 } }
precondition(found == iterations * 3)
row("choose extension: late pattern of \(patterns + 1)", String(format: "%.2f µs", patternTime / Double(iterations) * 1e6),
    String(format: "%.3f µs (dictionary lookup)", dictionaryTime / Double(iterations) * 1e6))
row("choose extension: no pattern but _X. (scan all)", String(format: "%.2f µs", catchAllTime / Double(iterations) * 1e6), "")
row("choose extension: exact literal", String(format: "%.2f µs", literalTime / Double(iterations) * 1e6), "")

// MARK: - 3. Run one priority

/// A channel that does nothing, so only the interpreter is measured.
final class NullChannel: Channel, @unchecked Sendable {
    var isHungUp: Bool { false }
    func answer() async -> Bool { true }
    func ringing() async {}
    func progress() async {}
    func hangup(cause: Int) async {}
    func wait(_ duration: Duration) async -> Bool { true }
    func play(_ prompts: [String], interruptDigits: String) async -> PlayResult { .finished }
    func digit(timeout: Duration) async -> Character? { nil }
    func dial(_ request: DialRequest) async -> DialResult { DialResult(status: "ANSWER") }
    func queue(_ request: QueueRequest) async -> QueueResult { QueueResult(status: "TIMEOUT") }
    func voicemail(_ request: VoicemailRequest) async -> VoicemailResult { VoicemailResult(status: "SUCCESS") }
    func record(_ request: RecordRequest) async -> RecordResult { RecordResult(status: "DTMF") }
    func sendMessage(_ message: OutboundMessage) async -> MessageSendResult { MessageSendResult(status: "SUCCESS") }
    func contact(field: String) async -> String? { "vip" }
}

let steps = stepsCount

func stepPlan(_ application: String) -> Dialplan {
    var text = "[run]\nexten => 100,1,Set(COUNT=0)\n"
    for _ in 0..<steps { text += " same => n,\(application)\n" }
    return DialplanLoader.parse(text, file: "steps.conf").plan!
}

func runSteps(_ plan: Dialplan, steps: Int) async -> Double {
    var start = CallStart(context: "run", exten: "100", callerIDNumber: "+12025550142", callerIDName: "Ada", uniqueID: "1.1")
    start.now = { Date(timeIntervalSince1970: 1_800_000_000) }
    let interpreter = Interpreter(plan: plan, channel: NullChannel(), globals: Globals(plan), start: start)
    interpreter.stepLimit = steps + 10
    let begin = ContinuousClock.now
    let outcome = await interpreter.run()
    let d = ContinuousClock.now - begin
    precondition(outcome.steps.count == steps + 1, "ran \(outcome.steps.count) steps: \(outcome.warnings.prefix(2))")
    return (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) / Double(steps)
}

let noop = stepPlan("NoOp(call ${EXTEN} from ${CALLERID(num)})")
let set = stepPlan("Set(COUNT=$[${COUNT} + 1])")
let done = DispatchSemaphore(value: 0)
nonisolated(unsafe) var noopCost = 0.0, setCost = 0.0
Task.detached {
    noopCost = await runSteps(noop, steps: steps)
    setCost = await runSteps(set, steps: steps)
    done.signal()
}
done.wait()
var built = ""
let buildTime = time { for i in 0..<stepsCount { built = "call 100 from +12025550142 \(i)" } }
_ = built
row("one step: NoOp(call ${EXTEN} from ${CALLERID(num)})", String(format: "%.2f µs", noopCost * 1e6),
    String(format: "%.3f µs (building the string)", buildTime / Double(stepsCount) * 1e6))
row("one step: Set(COUNT=$[${COUNT} + 1])", String(format: "%.2f µs", setCost * 1e6), "")
print("\ntargets: parse under 100 ms; choosing an extension and one step under 5 µs")
