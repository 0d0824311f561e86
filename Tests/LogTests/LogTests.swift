@testable import Log
import Testing

@Suite("log lines")
struct LogTests {
    @Test("every control character, DEL, C1 control and Unicode line separator is escaped, so a value stays on its line",
          arguments: [("a\nb", "a\\nb"), ("a\r\nb", "a\\r\\nb"), ("tab\there", "tab\\there"), ("bell\u{07}", "bell\\x07"),
                      ("esc\u{1b}[2J", "esc\\x1b[2J"), ("del\u{7f}", "del\\x7f"), ("c1\u{85}", "c1\\x85"),
                      ("ls\u{2028}ps\u{2029}", "ls\\u{2028}ps\\u{2029}"), ("rtl\u{202e}", "rtl\\u{202e}"),
                      ("back\\slash", "back\\\\slash"), ("plain ascii", "plain ascii"), ("Müller", "Müller")])
    func escapes(input: String, expected: String) {
        #expect(Logger.escaped(input, limit: 100) == expected)
    }

    @Test("a long value is cut, and the cut says how much is missing")
    func cuts() {
        #expect(Logger.escaped(String(repeating: "a", count: 10), limit: 4) == "aaaa…(6 more)")
        #expect(Logger.escaped("\n\n\n", limit: 2) == "\\n\\n…(1 more)")
    }

    @Test("a field value with spaces, quotes or = is quoted, and its quotes escaped")
    func quoting() {
        #expect(Logger.quoted("x") == "x")
        #expect(Logger.quoted("") == "\"\"")
        #expect(Logger.quoted("a b") == "\"a b\"")
        #expect(Logger.quoted("say \"hi\"") == "\"say \\\"hi\\\"\"")
        #expect(Logger.quoted("k=v") == "\"k=v\"")
    }

    @Test("a throttle logs the 1st, 10th, 100th and 1,000th occurrence of each key")
    func throttle() {
        let throttle = LogThrottle(capacity: 10)
        let logged = (1...2000).compactMap { _ in throttle.admit("flood") }
        #expect(logged == [1, 10, 100, 1000])
        #expect(throttle.admit("other") == 1)
    }

    @Test("keys past the throttle's capacity share one key, so varying the key cannot write a line each")
    func throttleCapacity() {
        let throttle = LogThrottle(capacity: 3)
        let logged = (0..<1000).filter { throttle.admit("key-\($0)") != nil }.count
        // 3 keys get their first line; the other 997 share the overflow key (1st, 10th, 100th).
        #expect(logged == 3 + 3)
    }

    @Test("a throttle starts counting again after its window")
    func throttleWindow() {
        let throttle = LogThrottle(capacity: 10, window: .seconds(60))
        let start = ContinuousClock.now
        #expect(throttle.admit("k", now: start) == 1)
        #expect(throttle.admit("k", now: start + .seconds(1)) == nil)
        #expect(throttle.admit("k", now: start + .seconds(61)) == 1)
    }
}
