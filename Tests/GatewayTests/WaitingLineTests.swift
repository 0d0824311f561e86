@testable import Gateway
import Synchronization
import Testing

/// A queue's waiting line on its own: order, priority, turns, and waits that
/// end by events, not by polling.
@Suite("a queue's waiting line")
struct WaitingLineTests {
    @Test("callers are in the order they came; a higher priority goes ahead of lower ones, behind its equals")
    func order() {
        let line = WaitingLine(queue: "support")
        let first = line.join(), second = line.join(), vip = line.join(priority: 5), otherVIP = line.join(priority: 5)
        #expect([vip, otherVIP, first, second].map { line.position(of: $0) } == [1, 2, 3, 4])
        line.leave(vip)
        #expect(line.position(of: otherVIP) == 1 && line.position(of: second) == 3 && line.position(of: vip) == nil)
    }

    @Test("the first caller's turn comes at once; a later one waits until the head leaves")
    func turns() async {
        let line = WaitingLine(queue: "support")
        let first = line.join()
        let second = line.join()
        #expect(await line.waitForTurn(first, timeout: .seconds(5)))
        let turn = Task { await line.waitForTurn(second, timeout: .seconds(30)) }
        line.leave(first)
        #expect(await turn.value)
    }

    @Test("the head waits for an agent to be freed, and a change that came while it was busy is not lost")
    func agentsChanged() async {
        let line = WaitingLine(queue: "support")
        let caller = line.join()
        #expect(await line.waitForTurn(caller, timeout: .seconds(5)))  // its first turn
        let waiting = Task { await line.waitForTurn(caller, timeout: .seconds(30)) }
        while line.parked < 1 { await Task.yield() }
        line.agentsChanged()
        #expect(await waiting.value)
        line.agentsChanged()  // while the caller rings someone, say
        #expect(await line.waitForTurn(caller, timeout: .seconds(5)), "the change is kept for the next wait")
    }

    // Bounded by the trait, not timed: a loaded machine once took 10 s to resume a 100 ms wait.
    @Test("a wait with no turn ends at its timeout, not its turn", .timeLimit(.minutes(1)))
    func timeout() async {
        let line = WaitingLine(queue: "support")
        let head = line.join()
        let behind = line.join()
        _ = await line.waitForTurn(head, timeout: .seconds(1))
        #expect(await line.waitForTurn(behind, timeout: .milliseconds(100)) == false)
    }

    @Test("leaving ends the caller's own wait (it hung up), and the next caller's turn comes")
    func leaveWhileWaiting() async {
        let line = WaitingLine(queue: "support")
        let head = line.join()
        let behind = line.join()
        _ = await line.waitForTurn(head, timeout: .seconds(1))
        let headWait = Task { await line.waitForTurn(head, timeout: .seconds(30)) }
        let behindWait = Task { await line.waitForTurn(behind, timeout: .seconds(30)) }
        while line.parked < 2 { await Task.yield() }  // both waits parked
        line.leave(head)
        #expect(await headWait.value == false, "a caller who left has no turn")
        #expect(await behindWait.value)
    }
}

@Suite("latency histograms as Prometheus reads them")
struct LatencyHistogramTests {
    @Test("each observation counts in its bucket and every wider one; past the last bound only in the total; negatives as 0")
    func cumulative() {
        let histogram = LatencyHistogram(bounds: [0.001, 0.01, 0.1])
        for seconds in [0.0005, 0.001, 0.005, 0.05, 2, -1] { histogram.observe(seconds) }
        let snapshot = histogram.snapshot
        #expect(snapshot.cumulative == [3, 4, 5])
        #expect(snapshot.count == 6)
        #expect(abs(snapshot.sum - 2.0565) < 1e-9)
        histogram.observe(Duration.milliseconds(20))
        #expect(histogram.snapshot.cumulative == [3, 4, 6])
    }
}
