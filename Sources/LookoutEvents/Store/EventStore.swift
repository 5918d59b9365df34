import LookoutCore

/// The event store: one SQLite file in WAL mode holding runs, events (with their snapshot JPEGs), track summaries,
/// counts per zone and line, optional per-frame detections, and the outbox of deliveries still owed to each sink
/// (written in the same transaction as the event, so a delivery can never be lost between the two).
///
/// One connection, used by one thread at a time: the processor's writer has one, each sink's deliverer its own.
/// `synchronous=NORMAL` in WAL mode: a committed transaction survives the process being killed; an OS crash or power
/// loss may take the last transactions (docs/events.md).
public final class EventStore {
    public let path: String
    let db: SQLiteDatabase
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (or creates) the store at `path` and brings its schema up to date. Fails in one line naming the file when
    /// it cannot be written, is not a Lookout store, is damaged, or was made by a newer Lookout.
    public init(path: String, readOnly: Bool = false) throws(LookoutError) {
        self.path = path
        do {
            db = try SQLiteDatabase(path: path, readOnly: readOnly, create: !readOnly)
            if !readOnly {
                // Before the first table exists, so deleted events give their pages back (retention by size).
                try db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                let mode = try db.text("PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw StoreError(path: path, code: 8, message: "cannot switch to WAL (journal mode \(mode ?? "?"))")
                }
                try db.execute("PRAGMA synchronous = NORMAL")
            }
            try db.execute("PRAGMA foreign_keys = ON")
            let version = Int(try db.integer("PRAGMA user_version") ?? 0)
            if version == 0, !readOnly {
                let tables = try db.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
                guard tables == 0 else {
                    throw LookoutError(
                        .invalidArgument,
                        "\(path): not a Lookout event store (it has \(tables) tables of something else); give another database path",
                        parameter: "store")
                }
            }
            guard version <= Self.migrations.count else {
                throw LookoutError(
                    .invalidArgument,
                    "\(path): made by a newer Lookout (schema \(version), this one knows \(Self.migrations.count))",
                    parameter: "store")
            }
            if version < Self.migrations.count {
                guard !readOnly else {
                    throw LookoutError(.invalidArgument, "\(path): not a Lookout event store", parameter: "store")
                }
                try db.transaction { () throws(StoreError) in
                    for v in version..<Self.migrations.count {
                        try db.execute(Self.migrations[v])
                    }
                    try db.execute("PRAGMA user_version = \(Self.migrations.count)")
                }
            }
        } catch let error as LookoutError {
            throw error
        } catch let error as StoreError {
            throw Self.lookoutError(error, opening: true)
        } catch {
            throw LookoutError(.io, "\(path): \(error)", parameter: "store")
        }
    }

    /// A store failure in API terms: what to do about a read-only, damaged or busy file.
    public static func lookoutError(_ error: StoreError, opening: Bool = false) -> LookoutError {
        let advice: String
        if error.isCorrupt {
            advice = "not a Lookout event store or damaged (\(error.message)); move it away to start a new one"
        } else if error.isReadOnly {
            advice = "cannot write the event store (\(error.message)); give a writable database path"
        } else {
            advice = error.message
        }
        return LookoutError(
            error.isCorrupt || error.isReadOnly ? .invalidArgument : .io, "\(error.path): \(advice)",
            parameter: "store",
            cause: error)
    }

    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let s = statements[sql] { return s }
        let s = try db.prepare(sql)
        statements[sql] = s
        return s
    }

    // MARK: Runs

    /// Starts a run: events still open from earlier runs (a kill, a crash) become `interrupted` and end at their last
    /// update. Returns the new run's id.
    public func beginRun(sources: [String], now: Int64) throws(StoreError) -> Int64 {
        try db.transaction { () throws(StoreError) -> Int64 in
            try statement("UPDATE events SET state = 'interrupted', end_time = updated_at WHERE state = 'open'").run([])
            try statement("INSERT INTO runs (started_at, sources) VALUES (?, ?)").run([
                .integer(now), .text(sources.joined(separator: "\n")),
            ])
            return try db.integer("SELECT last_insert_rowid()") ?? 0
        }
    }

    public func endRun(_ run: Int64, now: Int64) throws(StoreError) {
        try statement("UPDATE runs SET ended_at = ? WHERE id = ?").run([.integer(now), .integer(run)])
    }

    // MARK: Writing

    /// Writes one batch in one transaction.
    public func write(_ batch: StoreBatch, run: Int64) throws(StoreError) {
        guard !batch.isEmpty else { return }
        try db.transaction { () throws(StoreError) in
            for item in batch.opened {
                try insert(item.event, run: run, now: batch.time)
                if let jpeg = item.snapshot {
                    try statement("INSERT OR REPLACE INTO snapshots (event_id, frame, jpeg) VALUES (?, ?, ?)").run([
                        .text(item.event.id), SQLiteValue(item.event.peakFrame ?? item.event.startFrame), .blob(jpeg),
                    ])
                }
                for sink in item.sinks {
                    try statement(
                        "INSERT OR IGNORE INTO outbox (event_id, sink, next_attempt_at, created_at) VALUES (?, ?, ?, ?)"
                    ).run([.text(item.event.id), .text(sink), .integer(batch.time), .integer(batch.time)])
                }
            }
            for event in batch.updated { try update(event, now: batch.time) }
            for (id, frame, jpeg) in batch.snapshots {
                try statement("INSERT OR REPLACE INTO snapshots (event_id, frame, jpeg) VALUES (?, ?, ?)").run([
                    .text(id), .integer(Int64(frame)), .blob(jpeg),
                ])
            }
            for (key, delta) in batch.counts {
                try statement(
                    """
                    INSERT INTO counts (run_id, stream, kind, name, direction, value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run_id, stream, kind, name, direction) DO UPDATE SET value = value + excluded.value,
                    updated_at = excluded.updated_at
                    """
                ).run([
                    .integer(run), .integer(Int64(key.stream)), .text(key.kind), .text(key.name), .text(key.direction),
                    .integer(Int64(delta)), .integer(batch.time),
                ])
            }
            for track in batch.tracks {
                try statement(
                    """
                    INSERT INTO tracks (run_id, stream, track_id, class, first_frame, last_frame, first_time, last_time,
                    frames, peak_confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run_id, stream, track_id) DO UPDATE SET class = excluded.class,
                    last_frame = excluded.last_frame, last_time = excluded.last_time, frames = frames + excluded.frames,
                    peak_confidence = max(peak_confidence, excluded.peak_confidence)
                    """
                ).run([
                    .integer(run), .integer(Int64(track.stream)), .integer(Int64(track.trackID)),
                    SQLiteValue(track.className), .integer(Int64(track.firstFrame)), .integer(Int64(track.lastFrame)),
                    .integer(track.firstTime), .integer(track.lastTime), .integer(Int64(track.frames)),
                    .real(Double(track.peakConfidence)),
                ])
            }
            for d in batch.detections {
                try statement(
                    """
                    INSERT INTO detections (run_id, stream, frame, time, track_id, class, confidence, x1, y1, x2, y2)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                ).run([
                    .integer(run), .integer(Int64(d.stream)), .integer(Int64(d.frame)), .integer(d.time),
                    SQLiteValue(d.trackID), .integer(Int64(d.classIndex)), .real(Double(d.confidence)),
                    .real(Double(d.box[0])), .real(Double(d.box[1])), .real(Double(d.box[2])), .real(Double(d.box[3])),
                ])
            }
        }
    }

    private func insert(_ e: Event, run: Int64, now: Int64) throws(StoreError) {
        try statement(
            """
            INSERT INTO events (id, run_id, rule, trigger, stream, source, track_id, class, zone, line, direction, count,
            start_time, end_time, start_frame, end_frame, start_pts, end_pts, peak_confidence, peak_frame, box, state,
            updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).run([
            .text(e.id), .integer(run), .text(e.rule), .text(e.trigger), .integer(Int64(e.stream)), .text(e.source),
            SQLiteValue(e.trackID), SQLiteValue(e.className), SQLiteValue(e.zone), SQLiteValue(e.line),
            SQLiteValue(e.direction), SQLiteValue(e.count), .integer(e.startTime), SQLiteValue(e.endTime),
            .integer(Int64(e.startFrame)), SQLiteValue(e.endFrame), SQLiteValue(e.startPTS), SQLiteValue(e.endPTS),
            SQLiteValue(e.peakConfidence.map(Double.init)), SQLiteValue(e.peakFrame), SQLiteValue(Self.boxText(e.box)),
            .text(e.state.rawValue), .integer(now),
        ])
    }

    private func update(_ e: Event, now: Int64) throws(StoreError) {
        try statement(
            """
            UPDATE events SET class = ?, count = ?, end_time = ?, end_frame = ?, end_pts = ?, peak_confidence = ?,
            peak_frame = ?, box = ?, state = ?, updated_at = ? WHERE id = ?
            """
        ).run([
            SQLiteValue(e.className), SQLiteValue(e.count), SQLiteValue(e.endTime), SQLiteValue(e.endFrame),
            SQLiteValue(e.endPTS), SQLiteValue(e.peakConfidence.map(Double.init)), SQLiteValue(e.peakFrame),
            SQLiteValue(Self.boxText(e.box)), .text(e.state.rawValue), .integer(now), .text(e.id),
        ])
    }

    static func boxText(_ box: [Float]?) -> String? {
        box.map { "[" + $0.map { "\(($0 * 10).rounded() / 10)" }.joined(separator: ",") + "]" }
    }

    static func parseBox(_ text: String?) -> [Float]? {
        guard let text, text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        let values = text.dropFirst().dropLast().split(separator: ",").compactMap { Float($0) }
        return values.count == 4 ? values : nil
    }

    // MARK: Checks

    /// `PRAGMA integrity_check`'s answer (`ok` when sound).
    public func integrityCheck() throws(StoreError) -> String {
        try db.text("PRAGMA integrity_check") ?? "no answer"
    }
}
