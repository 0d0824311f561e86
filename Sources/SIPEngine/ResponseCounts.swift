import Synchronization

/// SIP responses sent and received, by class: what an operator watches for a
/// trunk answering 5xx or agents' phones answering 486. Every transmission
/// counts (a retransmitted response too), including the gateway's stateless
/// answers to malformed or unwanted requests.
public struct SIPResponseCounts: Sendable, Equatable {
    /// Index 0 is 1xx, … 5 is 6xx.
    public var sent = [Int](repeating: 0, count: 6)
    public var received = [Int](repeating: 0, count: 6)
}

/// The counts, written on the engine thread and read by anyone.
final class ResponseCounterStore: Sendable {
    private let counts = Mutex(SIPResponseCounts())

    func note(_ status: Int32, sent: Bool) {
        guard (100...699).contains(status) else { return }
        let index = Int(status / 100) - 1
        counts.withLock { counts in
            if sent { counts.sent[index] += 1 } else { counts.received[index] += 1 }
        }
    }

    var snapshot: SIPResponseCounts { counts.withLock { $0 } }
}
