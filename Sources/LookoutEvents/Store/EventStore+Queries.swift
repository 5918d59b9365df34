/// Which events `EventStore.events(matching:)` returns.
public struct EventFilter: Sendable {
    /// Wall-clock milliseconds: events that started at or after / before.
    public var since: Int64?
    public var until: Int64?
    /// Source (as the pipeline describes it) or stream index.
    public var stream: String?
    public var rule: String?
    public var className: String?
    public var trigger: String?
    /// `open`, `closed` or `interrupted`.
    public var state: String?
    /// Only events whose id sorts before this one (ids grow with time: the page after one that ended there).
    public var beforeID: String?
    /// Newest first (by id) instead of oldest first (by start time).
    public var newestFirst = false
    public var limit: Int?

    public init() {}
}

extension EventStore {
    static let eventColumns = """
        id, rule, trigger, stream, source, track_id, class, zone, line, direction, count, start_time, end_time,
        start_frame, end_frame, start_pts, end_pts, peak_confidence, peak_frame, box, state
        """

    static func event(from s: SQLiteStatement) -> Event {
        Event(
            id: s.string(0) ?? "", rule: s.string(1) ?? "", trigger: s.string(2) ?? "", stream: s.int(3),
            source: s.string(4) ?? "", trackID: s.optionalInt(5), className: s.string(6), zone: s.string(7),
            line: s.string(8), direction: s.string(9), count: s.optionalInt(10), startTime: s.int64(11),
            endTime: s.optionalInt64(12), startFrame: s.int(13), endFrame: s.optionalInt(14),
            startPTS: s.optionalDouble(15), endPTS: s.optionalDouble(16),
            peakConfidence: s.optionalDouble(17).map { Float($0) }, peakFrame: s.optionalInt(18),
            box: parseBox(s.string(19)), state: Event.State(rawValue: s.string(20) ?? "") ?? .closed)
    }

    /// Events matching `filter`, oldest first.
    public func events(matching filter: EventFilter = EventFilter()) throws(StoreError) -> [Event] {
        var clauses: [String] = []
        var values: [SQLiteValue] = []
        if let since = filter.since {
            clauses.append("start_time >= ?")
            values.append(.integer(since))
        }
        if let until = filter.until {
            clauses.append("start_time < ?")
            values.append(.integer(until))
        }
        if let stream = filter.stream {
            if let index = Int(stream) {
                clauses.append("(stream = ? OR source = ?)")
                values += [.integer(Int64(index)), .text(stream)]
            } else {
                clauses.append("source = ?")
                values.append(.text(stream))
            }
        }
        if let rule = filter.rule {
            clauses.append("rule = ?")
            values.append(.text(rule))
        }
        if let className = filter.className {
            clauses.append("class = ?")
            values.append(.text(className))
        }
        if let trigger = filter.trigger {
            clauses.append("trigger = ?")
            values.append(.text(trigger))
        }
        if let state = filter.state {
            clauses.append("state = ?")
            values.append(.text(state))
        }
        if let before = filter.beforeID {
            clauses.append("id < ?")
            values.append(.text(before))
        }
        var sql = "SELECT \(Self.eventColumns) FROM events"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += filter.newestFirst ? " ORDER BY id DESC" : " ORDER BY start_time, id"
        if let limit = filter.limit { sql += " LIMIT \(limit)" }
        let s = try db.prepare(sql)
        try s.bind(values)
        var out: [Event] = []
        while try s.step() { out.append(Self.event(from: s)) }
        return out
    }

    public func event(id: String) throws(StoreError) -> Event? {
        let s = try statement("SELECT \(Self.eventColumns) FROM events WHERE id = ?")
        try s.bind([.text(id)])
        return try s.first { Self.event(from: $0) }
    }

    public func snapshot(eventID: String) throws(StoreError) -> [UInt8]? {
        let s = try statement("SELECT jpeg FROM snapshots WHERE event_id = ?")
        try s.bind([.text(eventID)])
        return try s.first { $0.blob(0) }
    }

    /// Counts per run, stream, zone or line and direction (the latest run first).
    public func counts() throws(StoreError) -> [(
        run: Int64, stream: Int, kind: String, name: String, direction: String, value: Int
    )] {
        let s = try db.prepare(
            "SELECT run_id, stream, kind, name, direction, value FROM counts ORDER BY run_id DESC, stream, kind, name, direction"
        )
        var out: [(Int64, Int, String, String, String, Int)] = []
        while try s.step() {
            out.append((s.int64(0), s.int(1), s.string(2) ?? "", s.string(3) ?? "", s.string(4) ?? "", s.int(5)))
        }
        return out.map { (run: $0.0, stream: $0.1, kind: $0.2, name: $0.3, direction: $0.4, value: $0.5) }
    }

    public func eventCount() throws(StoreError) -> Int { Int(try db.integer("SELECT count(*) FROM events") ?? 0) }
}
