import Foundation
import Gateway
import Synchronization

/// Prometheus metrics (`GET /metrics`, text format 0.0.4): what an operator
/// graphs and alerts on. Counted from the gateway's buses as calls happen;
/// gauges read when scraped.
final class Metrics: Sendable {
    /// Upper bounds of the latency histogram's buckets, in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]

    private struct State {
        var callsEnded: [String: Int] = [:]
        var callsStarted = 0
        var popsPublished = 0
        /// Calls started and not yet popped or ended: when they started.
        var started: [String: Date] = [:]
        /// The time from a call's start (its INVITE taken) to its agent's pop,
        /// sent just before the agent's INVITE: counts per bucket, sum, count.
        var toAgent = [Int](repeating: 0, count: Metrics.buckets.count)
        var toAgentSum = 0.0
        var toAgentCount = 0
    }

    private let state = Mutex(State())
    private let service: Service
    private let stores: StoreHandle

    init(service: Service, stores: StoreHandle) {
        self.service = service
        self.stores = stores
        service.callEvents.observe { [weak self] call in
            self?.state.withLock { state in
                switch call.kind {
                case .started:
                    state.callsStarted += 1
                    if state.started.count < 100_000 { state.started[call.uniqueid] = call.time }
                case .ended:
                    state.callsEnded[call.disposition ?? "UNKNOWN", default: 0] += 1
                    state.started[call.uniqueid] = nil
                case .answered:
                    break
                }
            }
        }
        service.screenPops.observe { [weak self] event in
            guard case .published(let pop) = event else { return }
            self?.state.withLock { state in
                state.popsPublished += 1
                // The first pop of a call (ringall sends one per agent) measures it.
                guard let start = state.started.removeValue(forKey: pop.callID) else { return }
                let seconds = max(0, pop.publishedAt.timeIntervalSince(start))
                for (index, bound) in Metrics.buckets.enumerated() where seconds <= bound { state.toAgent[index] += 1 }
                state.toAgentSum += seconds
                state.toAgentCount += 1
            }
        }
    }

    /// The exposition text.
    func render() -> String {
        let counted = state.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        metric("omnigate_live_calls", "gauge", "Call legs up now.", [("", String(service.liveCalls))])
        metric("omnigate_calls_started_total", "counter", "Calls taken since start.", [("", String(counted.callsStarted))])
        metric("omnigate_calls_ended_total", "counter", "Calls ended since start, by disposition.",
               counted.callsEnded.sorted { $0.key < $1.key }.map { ("{disposition=\"\(Self.label($0.key))\"}", String($0.value)) })
        metric("omnigate_screen_pops_total", "counter", "Screen pops published since start.", [("", String(counted.popsPublished))])
        var buckets: [(String, String)] = []
        for (index, bound) in Self.buckets.enumerated() { buckets.append(("{le=\"\(bound)\"}", String(counted.toAgent[index]))) }
        buckets.append(("{le=\"+Inf\"}", String(counted.toAgentCount)))
        out += "# HELP omnigate_call_to_agent_seconds From a call's INVITE to its first agent's pop, sent just before the agent's INVITE.\n"
        out += "# TYPE omnigate_call_to_agent_seconds histogram\n"
        for (labels, value) in buckets { out += "omnigate_call_to_agent_seconds_bucket\(labels) \(value)\n" }
        out += "omnigate_call_to_agent_seconds_sum \(counted.toAgentSum)\nomnigate_call_to_agent_seconds_count \(counted.toAgentCount)\n"
        let statuses = service.agents.statuses
        var byState: [String: Int] = [:]
        for status in statuses { byState[status.state.rawValue, default: 0] += 1 }
        metric("omnigate_agents", "gauge", "Agents by state.",
               ["logged_out", "available", "paused", "ringing", "on_call", "wrap_up"].map { ("{state=\"\($0)\"}", String(byState[$0] ?? 0)) })
        let queues = service.configuration.queues.map(\.name)
        metric("omnigate_queue_waiting", "gauge", "Callers waiting in each queue.",
               queues.map { ("{queue=\"\(Self.label($0))\"}", String(service.waitingCount(in: $0))) })
        metric("omnigate_queue_longest_wait_seconds", "gauge", "How long the caller who has waited longest in each queue has waited.",
               queues.map { ("{queue=\"\(Self.label($0))\"}", String(format: "%.3f", service.longestWait(in: $0))) })
        // Every configured webhook, 0 when nothing waits (an absent series hides a webhook).
        let webhooks = service.configuration.webhooks.map(\.name)
        if !webhooks.isEmpty, let backlog = try? stores.store().webhookBacklog() {
            let byName = Dictionary(backlog.map { ($0.webhook, $0) }, uniquingKeysWith: { first, _ in first })
            metric("omnigate_webhook_pending", "gauge", "Webhook deliveries waiting to go out or be tried again.",
                   webhooks.map { ("{webhook=\"\(Self.label($0))\"}", String(byName[$0]?.pending ?? 0)) })
            metric("omnigate_webhook_given_up_total", "counter", "Webhook deliveries given up after retry_for.",
                   webhooks.map { ("{webhook=\"\(Self.label($0))\"}", String(byName[$0]?.givenUp ?? 0)) })
        }
        return out
    }

    /// A label value with `\`, `"` and line breaks escaped, as the format wants.
    static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
