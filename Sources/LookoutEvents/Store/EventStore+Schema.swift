extension EventStore {
    /// Each migration takes the schema from version i to i + 1 (`PRAGMA user_version`); a file newer than this build
    /// is refused rather than guessed at.
    static let migrations: [String] = [
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            sources TEXT NOT NULL
        );
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            run_id INTEGER NOT NULL,
            rule TEXT NOT NULL,
            trigger TEXT NOT NULL,
            stream INTEGER NOT NULL,
            source TEXT NOT NULL,
            track_id INTEGER,
            class TEXT,
            zone TEXT,
            line TEXT,
            direction TEXT,
            count INTEGER,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            start_frame INTEGER NOT NULL,
            end_frame INTEGER,
            start_pts REAL,
            end_pts REAL,
            peak_confidence REAL,
            peak_frame INTEGER,
            box TEXT,
            state TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX events_by_time ON events(start_time);
        CREATE INDEX events_by_stream ON events(source, start_time);
        CREATE INDEX events_by_rule ON events(rule, start_time);
        CREATE INDEX events_open ON events(state) WHERE state = 'open';
        CREATE TABLE snapshots (
            event_id TEXT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
            frame INTEGER NOT NULL,
            jpeg BLOB NOT NULL
        );
        CREATE TABLE tracks (
            run_id INTEGER NOT NULL,
            stream INTEGER NOT NULL,
            track_id INTEGER NOT NULL,
            class TEXT,
            first_frame INTEGER NOT NULL,
            last_frame INTEGER NOT NULL,
            first_time INTEGER NOT NULL,
            last_time INTEGER NOT NULL,
            frames INTEGER NOT NULL,
            peak_confidence REAL NOT NULL,
            PRIMARY KEY (run_id, stream, track_id)
        );
        CREATE TABLE counts (
            run_id INTEGER NOT NULL,
            stream INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            direction TEXT NOT NULL,
            value INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (run_id, stream, kind, name, direction)
        );
        CREATE TABLE detections (
            run_id INTEGER NOT NULL,
            stream INTEGER NOT NULL,
            frame INTEGER NOT NULL,
            time INTEGER NOT NULL,
            track_id INTEGER,
            class INTEGER NOT NULL,
            confidence REAL NOT NULL,
            x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL
        );
        CREATE INDEX detections_by_time ON detections(time);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
            sink TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (event_id, sink)
        );
        CREATE INDEX outbox_due ON outbox(sink, next_attempt_at);
        CREATE TABLE deliveries (
            event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
            sink TEXT NOT NULL,
            delivered_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            PRIMARY KEY (event_id, sink)
        );
        """
    ]
}
