@testable import Gateway
import SIPEngine
import Testing

@Suite("a call's mailbox")
struct MailboxTests {
    let caller = CallID(rawValue: 1)
    let agent = CallID(rawValue: 2)

    private func isDigit(_ event: SIPEvent) -> Bool { if case .dtmf = event { true } else { false } }

    @Test("digits typed ahead are kept until asked for, in order")
    func typeAhead() async {
        let box = Mailbox(inbound: caller)
        box.post(.dtmf(caller, digit: "1", method: .rfc4733))
        box.post(.dtmf(caller, digit: "2", method: .rfc4733))
        let first = await box.wait(timeout: .zero) { if case .dtmf = $0 { true } else { false } }
        let second = await box.wait(timeout: .zero) { if case .dtmf = $0 { true } else { false } }
        guard case .dtmf(_, "1", _)? = first, case .dtmf(_, "2", _)? = second else {
            Issue.record("got \(String(describing: first)), \(String(describing: second))")
            return
        }
    }

    @Test("a waiter gets the event posted after it started waiting")
    func waiterWakes() async {
        let box = Mailbox(inbound: caller)
        let agent = self.agent
        async let event = box.wait(timeout: .seconds(5)) { if case .callState(agent, .confirmed) = $0 { true } else { false } }
        try? await Task.sleep(for: .milliseconds(20))
        box.post(.callState(agent, .early(status: 180)))
        box.post(.callState(agent, .confirmed))
        guard case .callState(_, .confirmed)? = await event else { Issue.record("no confirmed"); return }
        #expect(box.drain { _ in true }.count == 1, "the 180 is kept")
    }

    @Test("a wait times out with nil")
    func timeout() async {
        let box = Mailbox(inbound: caller)
        let start = ContinuousClock.now
        let event = await box.wait(timeout: .milliseconds(50)) { _ in false }
        #expect(event == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }

    @Test("the caller's hangup ends every wait, now and later")
    func hangupEndsWaits() async {
        let box = Mailbox(inbound: caller)
        async let pending = box.wait { _ in false }
        try? await Task.sleep(for: .milliseconds(20))
        box.post(.callState(caller, .disconnected(status: 200, reason: "OK", byUs: false)))
        guard case .callState(_, .disconnected)? = await pending else { Issue.record("pending wait not ended"); return }
        guard case .callState(_, .disconnected)? = await box.wait(timeout: .seconds(1), { _ in false }) else {
            Issue.record("later wait not ended"); return
        }
    }

    @Test("kept events are bounded")
    func bounded() {
        let box = Mailbox(inbound: caller, capacity: 4)
        for _ in 0..<10 { box.post(.dtmf(caller, digit: "5", method: .rfc4733)) }
        #expect(box.drain { _ in true }.count == 4)
    }
}
