import LookoutCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Works off one sink's outbox: each owed delivery, oldest first, until it succeeds (at least once: a delivery leaves
/// the outbox only after the sink accepted it, so a kill between the two repeats it; receivers deduplicate on the
/// event id, sent as `Idempotency-Key`). After a failure it waits — `initialBackoff` doubling up to `maxBackoff`,
/// ±20% jitter — before trying again, and says so once (not per attempt).
public final class Deliverer: Sendable {
    public let sink: SinkConfiguration
    let storePath: String
    let log: @Sendable (String) -> Void
    private let state = Mutex(State())

    struct State {
        var rung = false
        var stopAt: Int64?
        var failing = false
        var delivered = 0
        var failures = 0
    }

    public init(sink: SinkConfiguration, storePath: String, log: @escaping @Sendable (String) -> Void) {
        self.sink = sink
        self.storePath = storePath
        self.log = log
    }

    /// New deliveries were committed: look now instead of at the next poll.
    public func ring() { state.withLock { $0.rung = true } }

    /// Stop once the outbox is empty, or at `deadline` (wall-clock ms) with deliveries still owed.
    public func finish(deadline: Int64) { state.withLock { $0.stopAt = deadline } }

    public var deliveredCount: Int { state.withLock { $0.delivered } }
    public var failureCount: Int { state.withLock { $0.failures } }

    private var label: String {
        switch sink {
        case .webhook(let w): "webhook '\(w.name)' (\(w.url))"
        case .jsonLines(let name, let path): "jsonl sink '\(name)' (\(path))"
        }
    }

    /// Runs until `finish` and an empty outbox (or its deadline), or cancellation. Store errors end it with the error.
    public func run() async throws(LookoutError) {
        let store: EventStore
        store = try EventStore(path: storePath)
        var backoff = 0.0
        var file: Int32 = -1
        defer { if file >= 0 { close(file) } }
        while !Task.isCancelled {
            let now = WallClock.milliseconds()
            let stopAt = state.withLock { $0.stopAt }
            // Past the deadline, a receiver that keeps failing does not hold the run: what is owed stays owed.
            if let stopAt, now >= stopAt {
                let pending = (try? store.pendingCount(sink: sink.name)) ?? 0
                if pending > 0 { log("\(label): \(pending) deliveries still owed; they go out at the next start") }
                return
            }
            let due: [PendingDelivery]
            do { due = try store.due(sink: sink.name, now: now) } catch { throw EventStore.lookoutError(error) }
            if due.isEmpty {
                state.withLock { $0.rung = false }
                let pending = (try? store.pendingCount(sink: sink.name)) ?? 0
                if stopAt != nil && pending == 0 { return }
                let next = (try? store.nextDue(sink: sink.name)) ?? nil
                var wait = 0.1
                if let next { wait = min(max(Double(next - now) / 1000, 0.005), 0.1) }
                if let stopAt { wait = min(wait, max(Double(stopAt - now) / 1000, 0.005)) }
                try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                continue
            }
            for delivery in due {
                if Task.isCancelled { return }
                let outcome: DeliveryError?
                do { outcome = try await deliver(delivery, store: store, file: &file) } catch {
                    throw EventStore.lookoutError(error)
                }
                let stamp = WallClock.milliseconds()
                if let outcome {
                    backoff = backoff == 0 ? initialBackoff : min(backoff * 2, maxBackoff)
                    let delay = backoff * Double.random(in: 0.8...1.2)
                    do {
                        try store.failed(delivery, error: outcome.message, retryAt: stamp + Int64(delay * 1000))
                    } catch { throw EventStore.lookoutError(error) }
                    let first = state.withLock { s -> Bool in
                        s.failures += 1
                        defer { s.failing = true }
                        return !s.failing
                    }
                    if first {
                        log("\(label): \(outcome.message); retrying with back-off (events are kept in the store)")
                    }
                    // Everything else waits for the same back-off: order is kept and a down receiver is not hammered.
                    var wait = delay
                    if let stopAt { wait = min(wait, max(Double(stopAt - stamp) / 1000, 0)) }
                    try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                    break
                }
                backoff = 0
                do { try store.delivered(delivery, now: stamp) } catch { throw EventStore.lookoutError(error) }
                let recovered = state.withLock { s -> Bool in
                    s.delivered += 1
                    defer { s.failing = false }
                    return s.failing
                }
                if recovered { log("\(label): delivering again") }
            }
        }
    }

    private var initialBackoff: Double {
        if case .webhook(let w) = sink { return w.initialBackoff }
        return 1
    }

    private var maxBackoff: Double {
        if case .webhook(let w) = sink { return w.maxBackoff }
        return 30
    }

    /// nil when delivered; the reason otherwise. A delivery whose event has gone (retention) counts as delivered.
    private func deliver(_ delivery: PendingDelivery, store: EventStore, file: inout Int32) async throws(StoreError)
        -> DeliveryError?
    {
        guard let event = try store.event(id: delivery.eventID) else { return nil }
        switch sink {
        case .webhook(let hook):
            let jpeg = hook.snapshot == .none ? nil : try store.snapshot(eventID: event.id)
            let body = EventJSON.payload(event, snapshot: hook.snapshot, baseURL: hook.snapshotBaseURL, jpeg: jpeg)
            let url: HTTPURL
            do { url = try HTTPURL(parsing: hook.url) } catch { return DeliveryError(message: error.message) }
            var headers = [("Idempotency-Key", event.id), ("X-Lookout-Event", event.id)]
            headers += hook.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            do {
                let status = try await WebhookClient.post(url: url, headers: headers, body: body, timeout: hook.timeout)
                return (200..<300).contains(status) ? nil : DeliveryError(message: "HTTP \(status)")
            } catch {
                return error
            }
        case .jsonLines(_, let path):
            if file < 0 {
                file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                if file < 0 { return DeliveryError(message: String(cString: strerror(errno))) }
            }
            let line = Array((EventJSON.line(event) + "\n").utf8)
            let written = line.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
            // The line is on disk before the delivery leaves the outbox.
            guard written == line.count, fsync(file) == 0 else {
                let reason = String(cString: strerror(errno))
                close(file)
                file = -1
                return DeliveryError(message: reason)
            }
            return nil
        }
    }
}
