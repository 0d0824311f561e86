import Foundation
import Synchronization

/// Which agents have a screen that acknowledges pops (the agent console), and
/// the acknowledgements themselves: the call path waits for one before it
/// rings such an agent's phone, within `[screenpop] console_wait`, so the pop
/// is on the agent's screen before (or as) the phone rings. An agent without
/// a screen is rung at once; a screen that does not answer in time costs at
/// most the wait. Nothing here blocks a thread: waiting is on a continuation.
public final class PopReceipts: Sendable {
    private struct Key: Hashable {
        let callID: String
        let agent: String
    }

    private struct State {
        var screens: [String: Int] = [:]
        var waiting: [Key: CheckedContinuation<Void, Never>] = [:]
        /// Acknowledgements that came before anyone waited (newest 1,000).
        var early: [Key] = []
    }

    private let state = Mutex(State())

    /// How one wait ended: acknowledged (true), not (false), or by `shown` (nil).
    private final class Outcome: Sendable { let value = Mutex<Bool?>(nil) }

    public init() {}

    /// A screen that acknowledges this agent's pops opened; call `screenClosed` once when it goes.
    public func screenOpened(agent: String) { state.withLock { $0.screens[agent, default: 0] += 1 } }

    public func screenClosed(agent: String) {
        state.withLock { state in
            let left = (state.screens[agent] ?? 1) - 1
            state.screens[agent] = left > 0 ? left : nil
        }
    }

    /// Screens open for the agent now.
    public func screens(of agent: String) -> Int { state.withLock { $0.screens[agent] ?? 0 } }

    /// A screen has shown the pop of `callID` to `agent`: the ring waiting for it goes on.
    public func shown(callID: String, agent: String) {
        let key = Key(callID: callID, agent: agent)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiting.removeValue(forKey: key) { return waiter }
            state.early.append(key)
            if state.early.count > 1000 { state.early.removeFirst(state.early.count - 1000) }
            return nil
        }
        waiter?.resume()
    }

    /// Waits until a screen of `agent` has shown the pop of `callID`, at most `limit`;
    /// returns at once when the agent has no screen open or the limit is zero.
    /// Returns whether a screen acknowledged the pop (false: none open, or none in time).
    @discardableResult
    public func wait(callID: String, agent: String, within limit: Duration) async -> Bool {
        let key = Key(callID: callID, agent: agent)
        guard limit > .zero else { return false }
        // No screen open for the agent (the usual case): no suspension at all.
        guard state.withLock({ $0.screens[agent, default: 0] > 0 || $0.early.contains(key) }) else { return false }
        let outcome = Outcome()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let decided = state.withLock { state -> Bool? in
                if let index = state.early.firstIndex(of: key) {
                    state.early.remove(at: index)
                    return true
                }
                if state.screens[agent, default: 0] == 0 { return false }
                state.waiting[key] = continuation
                return nil
            }
            if let decided {
                outcome.value.withLock { $0 = decided }
                continuation.resume()
                return
            }
            Task {
                try? await Task.sleep(for: limit)
                // Still waiting: the screen did not answer in time; ring anyway.
                if let waiter = self.state.withLock({ $0.waiting.removeValue(forKey: key) }) {
                    outcome.value.withLock { $0 = false }
                    waiter.resume()
                }
            }
        }
        // Not decided above nor by the timer: `shown` resumed it.
        return outcome.value.withLock { $0 } ?? true
    }
}
