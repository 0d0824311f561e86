@testable import Dialplan
import Foundation
import Testing

@Suite("extension patterns")
struct PatternTests {
    private func pattern(_ text: String) -> Pattern { try! Pattern.compile(text).get() }

    @Test("each class matches what Asterisk's does", arguments: [
        ("_X", "0", true), ("_X", "a", false), ("_Z", "0", false), ("_Z", "1", true), ("_N", "1", false), ("_N", "2", true),
        ("_[1-5,7]", "7", true), ("_[1-5,7]", "6", false), ("_[a-c]", "b", true), ("_9XX", "911", true), ("_9XX", "91", false),
        ("_9.", "9", false), ("_9.", "91", true), ("_9!", "9", true), ("_9!", "9123", true), ("_1-800-NXX-XXXX", "18002221234", true),
        ("_+X.", "+15551234", true), ("_f[n]-.", "fn-BUSY", true), ("_#X", "#1", true),
    ])
    func matches(pattern text: String, input: String, expected: Bool) {
        #expect(pattern(text).matches(input) == expected)
    }

    @Test("more digits can still match")
    func matchMore() {
        #expect(pattern("_9XX").canMatchMore("9"))
        #expect(!pattern("_9XX").canMatchMore("911"))
        #expect(pattern("_9.").canMatchMore("91"))
        #expect(!pattern("_8.").canMatchMore("9"))
    }

    @Test("overlapping patterns sort as Asterisk documents: the more constrained first, '.' before '!'")
    func order() {
        let texts = ["_X!", "_X.", "_NXX", "_1XX", "_[1-3]XX", "_1ZX", "_12X"]
        let sorted = texts.map(pattern).sorted(by: Pattern.precedes).map(\.text)
        #expect(sorted == ["_12X", "_1ZX", "_1XX", "_[1-3]XX", "_NXX", "_X.", "_X!"])
    }

    @Test("Asterisk's ext_cmp order in detail: a pattern's end sorts after '!', equal-size sets by their lowest differing member")
    func orderDetails() {
        let sorted = ["_12", "_12!", "_1[24]", "_1[23]", "_X.", "_XX", "_[0-9]X", "_1-2"].map(pattern).sorted(by: Pattern.precedes).map(\.text)
        // _1-2 is _12 (dashes ignored); between equals the text decides
        #expect(sorted == ["_12!", "_1-2", "_12", "_1[23]", "_1[24]", "_XX", "_[0-9]X", "_X."])
        #expect(Pattern.compare(pattern("_X."), pattern("_x.")) == 0, "X and x are the same class")
    }

    @Test("dialled dashes are ignored, as in Asterisk")
    func dialledDashes() {
        #expect(pattern("_NXX-XXXX").matches("555-0100"))
        #expect(pattern("_NXXXXXX").matches("555-0100"))
        #expect(pattern("_NXX-XXXX").canMatchMore("555-"))
    }

    @Test("the trie index finds what a linear scan in match order finds, for random patterns and numbers")
    func indexAgreesWithScan() throws {
        var random = SeededRandom(seed: 0xC0FFEE)
        let pieces = ["0", "1", "2", "5", "9", "X", "N", "Z", "[1-3]", "[58]", "#", "*"]
        var texts: Set<String> = []
        while texts.count < 400 {
            var text = "_" + (0..<(1 + random.next() % 6)).map { _ in pieces[random.next() % pieces.count] }.joined()
            switch random.next() % 5 {
            case 0: text += "."
            case 1: text += "!"
            default: break
            }
            texts.insert(text)
        }
        let p = try plan("[big]\n" + texts.sorted().map { "exten => \($0),1,NoOp()" }.joined(separator: "\n") + "\n")
        let ordered = p.contexts["big"]!.extensions.compactMap(\.pattern).sorted(by: Pattern.precedes)
        let digits = Array("0123456789#*")
        for _ in 0..<3000 {
            let number = String((0..<(random.next() % 9)).map { _ in digits[random.next() % digits.count] })
            let scanned = ordered.filter { $0.matches(number) }.map(\.text)
            let indexed = p.extensions(matching: number, in: "big").map(\.extension.name)
            #expect(indexed == scanned, "\(number)")
            let more = ordered.contains { $0.canMatchMore(number) }
            #expect(p.canMatchMore(number, in: "big") == more, "\(number)")
        }
    }

    @Test("a call picks the exact extension, then the best pattern, then includes depth-first")
    func searchOrder() async throws {
        let p = try plan("""
        [default]
        include => second
        exten => _X.,1,NoOp(any)
        exten => _1XX,1,NoOp(1xx)
        exten => 123,1,NoOp(exact)
        [second]
        include => third
        exten => 555,1,NoOp(second)
        [third]
        exten => 777,1,NoOp(third)
        exten => 555,1,NoOp(third too)
        """)
        for (exten, expected) in [("123", "exact"), ("150", "1xx"), ("950", "any")] {
            let (outcome, _) = await simulate(p, exten: exten)
            #expect(outcome.steps.first?.arguments == expected, "\(exten)")
        }
        let p2 = try plan("[default]\ninclude => second\n[second]\ninclude => third\nexten => 555,1,NoOp(second)\n[third]\nexten => 777,1,NoOp(third)\nexten => 555,1,NoOp(third too)\n")
        let (second, _) = await simulate(p2, exten: "555")
        #expect(second.steps.first?.arguments == "second")
        let (third, _) = await simulate(p2, exten: "777")
        #expect(third.steps.first?.arguments == "third")
    }

    @Test("timed includes are searched only when their time holds")
    func timedInclude() async throws {
        let p = try plan("""
        [default]
        include => daytime,09:00-17:00,mon-fri,*,*
        include => night
        [daytime]
        exten => 1,1,NoOp(day)
        [night]
        exten => 1,1,NoOp(night)
        """)
        let (tuesdayNoon, _) = await simulate(p, exten: "1", time: "2026-11-24T12:00:00Z")
        #expect(tuesdayNoon.steps.first?.arguments == "day")
        let (tuesdayNight, _) = await simulate(p, exten: "1", time: "2026-11-24T22:00:00Z")
        #expect(tuesdayNight.steps.first?.arguments == "night")
        let (saturday, _) = await simulate(p, exten: "1", time: "2026-11-28T12:00:00Z")
        #expect(saturday.steps.first?.arguments == "night")
    }

    @Test("time conditions: ranges, lists, wrapping and zones")
    func timeSpecs() throws {
        let utc = TimeZone(identifier: "UTC")!
        let date = { (s: String) in ISO8601DateFormatter().date(from: s)! }
        let night = try TimeSpec.parse("22:00-06:00,*,*,*").get()
        #expect(night.matches(date("2026-11-24T23:30:00Z"), zone: utc))
        #expect(night.matches(date("2026-11-24T05:59:00Z"), zone: utc))
        #expect(night.matches(date("2026-11-24T06:00:59Z"), zone: utc), "both ends count, as in Asterisk")
        #expect(!night.matches(date("2026-11-24T06:01:00Z"), zone: utc))
        #expect(!night.matches(date("2026-11-24T21:59:59Z"), zone: utc))
        let christmas = try TimeSpec.parse("*,*,25,dec").get()
        #expect(christmas.matches(date("2026-12-25T10:00:00Z"), zone: utc))
        let weekend = try TimeSpec.parse("*|sat&sun|*|*").get()
        #expect(weekend.matches(date("2026-11-29T10:00:00Z"), zone: utc))
        let berlin = try TimeSpec.parse("09:00-17:00,mon-fri,*,*,Europe/Berlin").get()
        #expect(berlin.matches(date("2026-11-24T08:30:00Z"), zone: utc), "09:30 in Berlin")
        if case .failure(let error) = TimeSpec.parse("9-17,*,*,*") { #expect(error.message == "bad time '9'; write times as HH:MM") } else {
            Issue.record("accepted 9-17")
        }
    }
}
