/// How much the store keeps.
public struct RetentionPolicy: Sendable, Equatable {
    /// Closed events (with their snapshots), detections and finished runs' counts older than this go; nil: no limit.
    public var maxAgeSeconds: Double?
    /// When the file's used pages exceed this, the oldest closed events go until it fits; nil: no limit.
    public var maxBytes: Int64?

    public init(maxAgeSeconds: Double? = nil, maxBytes: Int64? = nil) {
        self.maxAgeSeconds = maxAgeSeconds
        self.maxBytes = maxBytes
    }

    public var isUnlimited: Bool { maxAgeSeconds == nil && maxBytes == nil }
}

extension EventStore {
    /// Bytes in use: the pages of the file that are not free.
    public func usedBytes() throws(StoreError) -> Int64 {
        let pages = try db.integer("PRAGMA page_count") ?? 0
        let free = try db.integer("PRAGMA freelist_count") ?? 0
        let size = try db.integer("PRAGMA page_size") ?? 4096
        return (pages - free) * size
    }

    /// Deletes what `policy` no longer keeps (never an open event, nor one still owed to a sink: its outbox rows
    /// cascade only with an explicit age limit), then returns the pages. Returns the events deleted.
    @discardableResult
    public func applyRetention(_ policy: RetentionPolicy, now: Int64) throws(StoreError) -> Int {
        var deleted = 0
        if let age = policy.maxAgeSeconds {
            let cutoff = now - Int64(age * 1000)
            try db.transaction { () throws(StoreError) in
                try statement("DELETE FROM events WHERE start_time < ? AND state != 'open'").run([.integer(cutoff)])
                deleted += db.changes
                try statement("DELETE FROM detections WHERE time < ?").run([.integer(cutoff)])
            }
        }
        if let limit = policy.maxBytes {
            var rounds = 0
            while case let used = try usedBytes(), used > limit, rounds < 1000 {
                rounds += 1
                // As many of the oldest deletable events as the excess is a share of the file (at least one), so
                // the store ends just under the limit instead of emptied; the next round corrects the estimate.
                let events = try db.integer("SELECT count(*) FROM events") ?? 0
                let share = Double(used - limit) / Double(used)
                let chunk = max(1, Int((share * Double(events)).rounded(.up)))
                var removed = 0
                try db.transaction { () throws(StoreError) in
                    try statement(
                        """
                        DELETE FROM events WHERE id IN (SELECT id FROM events WHERE state != 'open'
                        AND id NOT IN (SELECT event_id FROM outbox) ORDER BY start_time LIMIT ?)
                        """
                    ).run([.integer(Int64(chunk))])
                    deleted += db.changes
                    removed += db.changes
                    try statement(
                        "DELETE FROM detections WHERE rowid IN (SELECT rowid FROM detections ORDER BY time LIMIT ?)"
                    ).run([.integer(Int64(chunk * 50))])
                    removed += db.changes
                }
                try db.execute("PRAGMA incremental_vacuum")
                if removed == 0 { break }
            }
        }
        if deleted > 0 { try db.execute("PRAGMA incremental_vacuum") }
        return deleted
    }
}
