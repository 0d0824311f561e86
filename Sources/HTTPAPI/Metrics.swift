import Foundation
import Gateway
import Synchronization

/// Prometheus metrics (`GET /metrics`, text format 0.0.4): what an operator
/// graphs and alerts on. Counted from the gateway's buses as calls happen;
/// gauges read when scraped.
final class Metrics: Sendable {
    private struct State {
        var callsEnded: [String: Int] = [:]
        var callsStarted = 0
        var popsPublished = 0
        /// Calls started and not yet popped or ended: when they started.
        var started: [String: Date] = [:]
    }

    private let state = Mutex(State())
    /// The time from a call's start (its INVITE taken) to its agent's pop, sent just before the agent's INVITE.
    private let toAgent = LatencyHistogram()
    private let service: Service
    private let stores: StoreHandle

    /// From a pop's publication to its agent's console saying it shows it.
    private let popsShown: LatencyHistogram

    init(service: Service, stores: StoreHandle, popsShown: LatencyHistogram) {
        self.service = service
        self.stores = stores
        self.popsShown = popsShown
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
            guard let self, case .published(let pop) = event else { return }
            // The first pop of a call (ringall sends one per agent) measures it.
            let start = state.withLock { state in
                state.popsPublished += 1
                return state.started.removeValue(forKey: pop.callID)
            }
            if let start { toAgent.observe(pop.publishedAt.timeIntervalSince(start)) }
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
        func histogram(_ name: String, _ help: String, _ histogram: LatencyHistogram) {
            let snapshot = histogram.snapshot
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (bound, count) in zip(histogram.bounds, snapshot.cumulative) { out += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
            out += "\(name)_bucket{le=\"+Inf\"} \(snapshot.count)\n\(name)_sum \(snapshot.sum)\n\(name)_count \(snapshot.count)\n"
        }
        histogram("omnigate_call_to_agent_seconds", "From a call's INVITE to its first agent's pop, sent just before the agent's INVITE.", toAgent)
        histogram("omnigate_pop_shown_seconds", "From a pop's publication to its agent's console saying it shows it (the ring waits for this).",
                  popsShown)
        histogram("omnigate_store_commit_seconds", "Each commit of the store's writer: one transaction of up to 256 writes.", service.storeCommits)
        histogram("omnigate_store_write_wait_seconds",
                  "Each write to the store, from queued to committed (time held or spilled while the store could not be written included).",
                  service.storeWriteWaits)
        let responses = service.sipResponses
        metric("omnigate_sip_responses_total", "counter", "SIP responses sent and received since start, by class (every transmission).",
               (0..<6).flatMap { index in
                   [("{direction=\"sent\",class=\"\(index + 1)xx\"}", String(responses.sent[index])),
                    ("{direction=\"received\",class=\"\(index + 1)xx\"}", String(responses.received[index]))]
               })
        metric("omnigate_sip_refused_total", "counter", "SIP traffic refused or dropped since start: over a source's rate, too many connections, idle, oversized, malformed.",
               service.sipRefusals.map { ("{what=\"\($0.what)\"}", String($0.count)) })
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
