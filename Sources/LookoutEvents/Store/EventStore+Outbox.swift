/// One delivery owed to a sink.
public struct PendingDelivery: Sendable {
    public var id: Int64
    public var eventID: String
    public var sink: String
    public var attempts: Int
}

extension EventStore {
    /// Deliveries of `sink` due at `now`, oldest first.
    public func due(sink: String, now: Int64, limit: Int = 64) throws(StoreError) -> [PendingDelivery] {
        let s = try statement(
            "SELECT id, event_id, attempts FROM outbox WHERE sink = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?")
        try s.bind([.text(sink), .integer(now), .integer(Int64(limit))])
        var out: [PendingDelivery] = []
        while try s.step() {
            out.append(PendingDelivery(id: s.int64(0), eventID: s.string(1) ?? "", sink: sink, attempts: s.int(2)))
        }
        return out
    }

    /// When the next delivery of `sink` is due (nil: none owed).
    public func nextDue(sink: String) throws(StoreError) -> Int64? {
        let s = try statement("SELECT min(next_attempt_at) FROM outbox WHERE sink = ?")
        try s.bind([.text(sink)])
        return try s.first { $0.optionalInt64(0) } ?? nil
    }

    /// Deliveries still owed (all sinks, or one).
    public func pendingCount(sink: String? = nil) throws(StoreError) -> Int {
        let s = try statement(
            sink == nil ? "SELECT count(*) FROM outbox" : "SELECT count(*) FROM outbox WHERE sink = ?")
        try s.bind(sink.map { [.text($0)] } ?? [])
        return try s.first { $0.int(0) } ?? 0
    }

    /// The delivery succeeded: it leaves the outbox and is recorded.
    public func delivered(_ delivery: PendingDelivery, now: Int64) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            try statement("DELETE FROM outbox WHERE id = ?").run([.integer(delivery.id)])
            try statement(
                "INSERT OR REPLACE INTO deliveries (event_id, sink, delivered_at, attempts) VALUES (?, ?, ?, ?)"
            ).run([
                .text(delivery.eventID), .text(delivery.sink), .integer(now), .integer(Int64(delivery.attempts + 1)),
            ])
        }
    }

    /// The delivery failed: try again at `retryAt`.
    public func failed(_ delivery: PendingDelivery, error: String, retryAt: Int64) throws(StoreError) {
        try statement("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?")
            .run([
                .integer(retryAt), .text(error), .integer(delivery.id),
            ])
    }

    /// Every delivery recorded for `sink`.
    public func deliveredEventIDs(sink: String) throws(StoreError) -> Set<String> {
        let s = try statement("SELECT event_id FROM deliveries WHERE sink = ?")
        try s.bind([.text(sink)])
        var out = Set<String>()
        while try s.step() { out.insert(s.string(0) ?? "") }
        return out
    }
}
