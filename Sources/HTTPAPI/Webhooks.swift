import CCrypto
import Configuration
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateway
import Log
import Synchronization
import Timeline

/// Posts events to the configured webhooks from the store's outbox
/// (docs/api.md, "Webhooks"): at least once, in the order calls ended,
/// signed, retried with exponential backoff and jitter for the webhook's
/// `retry_for`, across restarts and kills (the outbox and its cursor are in
/// the store). Runs on a thread of its own; a slow receiver holds up only
/// its deliveries, never a call.
public final class WebhookDispatcher: @unchecked Sendable {
    // @unchecked: `thread` is set once in `start`; the rest is immutable or atomic.
    private let webhooks: [String: Webhook]
    private let stores: StoreHandle
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let log = Logger("webhook")
    private let session: URLSession
    /// How long settled deliveries stay in the outbox (`[http] webhook_history`).
    private let history: Duration
    /// When the outbox was last pruned; only the dispatcher's thread touches it.
    private var lastPrune = ContinuousClock.now - .seconds(3600)

    private init(config: GatewayConfig) {
        history = config.http.webhookHistory
        webhooks = Dictionary(config.webhooks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        stores = StoreHandle(settings: config.store)
        let settings = URLSessionConfiguration.ephemeral
        settings.timeoutIntervalForRequest = 10
        settings.timeoutIntervalForResource = 15
        settings.httpMaximumConnectionsPerHost = WebhookDispatcher.inFlight
        session = URLSession(configuration: settings)
    }

    /// Starts delivering for the configured webhooks; nil when there are none.
    public static func start(service: Service, config: GatewayConfig) -> WebhookDispatcher? {
        guard !config.webhooks.isEmpty else { return nil }
        let dispatcher = WebhookDispatcher(config: config)
        // Cursors of new webhooks are set before the gateway says it is ready: what happens from then on is sent.
        dispatcher.fillOutbox()
        service.callEvents.observe { [weak dispatcher] event in
            if event.kind == .ended { dispatcher?.wake.signal() }
        }
        let thread = Thread { [dispatcher] in
            while !dispatcher.stopped.load(ordering: .acquiring) {
                dispatcher.tick()
                _ = dispatcher.wake.wait(timeout: .now() + 1)
                // Calls that ended meanwhile are all taken by the next tick: one wake, not one per call.
                while dispatcher.wake.wait(timeout: .now()) == .success {}
            }
            dispatcher.finished.signal()
        }
        thread.name = "omnigate-webhooks"
        thread.start()
        return dispatcher
    }

    /// Stops after the delivery in flight (what is left stays in the outbox for the next start).
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        _ = finished.wait(timeout: .now() + 20)
    }

    private func tick() {
        guard let store = fillOutbox() else { return }
        deliverDue(store)
        if ContinuousClock.now - lastPrune >= .seconds(600) {
            lastPrune = .now
            do {
                let removed = try store.pruneDeliveries(createdBefore: Date().addingTimeInterval(-history.timeInterval))
                if removed > 0 { log.info("webhook outbox pruned", ("deliveries", removed), ("older_than", "\(history)")) }
            } catch {
                log.warning("webhook outbox not pruned; tried again in 10 minutes", ("error", "\(error)"))
            }
        }
    }

    /// Turns what happened since each webhook's cursors into deliveries.
    @discardableResult
    private func fillOutbox() -> TimelineStore? {
        guard let store = try? stores.store() else { return nil }
        for webhook in webhooks.values {
            for event in webhook.events {
                do {
                    while try store.queueDeliveries(for: webhook.name, event: event) > 0 && !stopped.load(ordering: .relaxed) {}
                } catch {
                    log.warning("webhook outbox not filled: the store did not answer", ("webhook", webhook.name), ("event", event),
                                ("error", "\(error)"))
                }
            }
        }
        return store
    }

    private func deliverDue(_ store: TimelineStore) {
        // Up to `inFlight` deliveries at once: a receiver's round trip does not set the rate.
        var batches = 0
        while batches < 50, !stopped.load(ordering: .relaxed), let due = try? store.claimDueDeliveries(limit: Self.inFlight * 4), !due.isEmpty {
            batches += 1
            let group = DispatchGroup()
            let slots = DispatchSemaphore(value: Self.inFlight)
            let outcomes = Mutex<[TimelineStore.DeliveryOutcome]>([])
            for delivery in due {
                slots.wait()
                group.enter()
                deliver(delivery) { outcome in
                    outcomes.withLock { $0.append(outcome) }
                    slots.signal()
                    group.leave()
                }
            }
            group.wait()
            // One transaction for the batch: a sync of the store per delivery would set the rate.
            do {
                try store.settleDeliveries(outcomes.withLock { $0 })
            } catch {
                log.warning("webhook outcomes not written; the deliveries will be tried again", ("error", "\(error)"))
                return
            }
        }
    }

    /// Deliveries sent at once.
    static let inFlight = 8

    private func deliver(_ delivery: WebhookDelivery, then done: @escaping @Sendable (TimelineStore.DeliveryOutcome) -> Void) {
        guard let webhook = webhooks[delivery.webhook], let url = URL(string: webhook.url) else {
            done(.init(id: delivery.id, status: nil, error: "the webhook is no longer configured", retryAt: nil))
            return
        }
        let timestamp = String(Int(Date().timeIntervalSince1970))
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(delivery.body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Omnigate", forHTTPHeaderField: "User-Agent")
        request.setValue("\(delivery.event):\(delivery.eventID)", forHTTPHeaderField: "Omnigate-Event-Id")
        request.setValue(delivery.event, forHTTPHeaderField: "Omnigate-Event")
        request.setValue(String(delivery.attempts + 1), forHTTPHeaderField: "Omnigate-Attempt")
        request.setValue(timestamp, forHTTPHeaderField: "Omnigate-Timestamp")
        request.setValue("v1=" + Self.signature(secret: webhook.secret, timestamp: timestamp, body: delivery.body),
                         forHTTPHeaderField: "Omnigate-Signature")
        session.dataTask(with: request) { [self] _, response, error in
            done(outcome(delivery, webhook, status: (response as? HTTPURLResponse)?.statusCode, error: error?.localizedDescription))
        }.resume()
    }

    private func outcome(_ delivery: WebhookDelivery, _ webhook: Webhook, status: Int?, error: String?) -> TimelineStore.DeliveryOutcome {
        if let status, (200..<300).contains(status) {
            return .init(id: delivery.id, status: status, error: nil, retryAt: nil)
        }
        let reason = error ?? "the receiver answered \(status ?? 0)"
        let now = Date()
        // Exponential backoff from 1 s to 10 minutes, with jitter, until retry_for has passed.
        let delay = min(600, pow(2, Double(delivery.attempts))) * Double.random(in: 0.5...1.5)
        let retryAt = now.addingTimeInterval(delay)
        let expired = retryAt > delivery.createdAt.addingTimeInterval(webhook.retryFor.timeInterval)
        if expired {
            log.error("webhook delivery given up", ("webhook", webhook.name), ("event", delivery.event), ("event.id", delivery.eventID),
                      ("attempts", delivery.attempts + 1), ("reason", reason))
        } else if delivery.attempts == 0 {
            log.warning("webhook delivery failed; retrying", ("webhook", webhook.name), ("event", delivery.event),
                        ("event.id", delivery.eventID), ("reason", reason))
        }
        return .init(id: delivery.id, status: status, error: reason, retryAt: expired ? nil : retryAt)
    }

    /// `hex(HMAC-SHA256(secret, timestamp + "." + body))`, as docs/api.md tells receivers to check it.
    static func signature(secret: String, timestamp: String, body: String) -> String {
        let key = Array(secret.utf8)
        let message = Array((timestamp + "." + body).utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        _ = omnigate_hmac_sha256(key, Int32(key.count), message, message.count, &digest)
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
