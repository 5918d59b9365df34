import CLookoutSQLite
import LookoutCore

/// A failed SQLite call: the database file, SQLite's result code and its text, and the statement.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    /// SQLite's primary result code (`SQLITE_BUSY` 5, `SQLITE_READONLY` 8, `SQLITE_CORRUPT` 11, `SQLITE_NOTADB` 26…).
    public var code: Int32
    public var message: String
    public var statement: String?

    public var description: String {
        "\(path): \(message)" + (statement.map { " (in `\($0.prefix(80))`)" } ?? "")
    }

    /// Corruption, or a file that is not a database at all.
    public var isCorrupt: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }
    public var isReadOnly: Bool {
        code & 0xFF == SQLITE_READONLY || code & 0xFF == SQLITE_CANTOPEN || code & 0xFF == SQLITE_PERM
    }
}

/// One SQLite connection (the system's libsqlite3), used by one thread at a time.
package final class SQLiteDatabase {
    package let path: String
    private var handle: OpaquePointer?

    /// Opens (creating when `create`) the file. `busyTimeout` is how long a write waits for another connection's.
    package init(path: String, readOnly: Bool = false, create: Bool = true, busyTimeout: Int32 = 10_000)
        throws(StoreError)
    {
        self.path = path
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(handle)
            handle = nil
            throw StoreError(path: path, code: status, message: message, statement: nil)
        }
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeout)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ status: Int32, _ sql: String?) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
        return StoreError(path: path, code: status, message: message, statement: sql)
    }

    /// Runs one or more statements that return no rows of interest.
    package func execute(_ sql: String) throws(StoreError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw error(status, sql) }
    }

    package func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else { throw error(status, sql) }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE`: the write lock is taken at once), rolled back when it throws.
    package func transaction<R>(_ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The first column of the first row of `sql`, as an integer.
    package func integer(_ sql: String) throws(StoreError) -> Int64? {
        let statement = try prepare(sql)
        return try statement.first { $0.isNull(0) ? nil : $0.int64(0) } ?? nil
    }

    package func text(_ sql: String) throws(StoreError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.string(0)
    }

    package var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement: bind by 1-based index, `step` through rows, read by 0-based column.
package final class SQLiteStatement {
    let database: SQLiteDatabase
    let handle: OpaquePointer
    let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    package func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    package func bind(_ values: [SQLiteValue]) throws(StoreError) {
        reset()
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(handle, index)
            case .integer(let v): status = sqlite3_bind_int64(handle, index, v)
            case .real(let v): status = sqlite3_bind_double(handle, index, v)
            case .text(let v):
                status = v.utf8CString.withUnsafeBufferPointer {
                    lookout_sqlite_bind_text(handle, index, $0.baseAddress, Int32($0.count - 1))
                }
            case .blob(let v):
                status = v.withUnsafeBytes { lookout_sqlite_bind_blob(handle, index, $0.baseAddress, Int32($0.count)) }
            }
            guard status == SQLITE_OK else { throw database.error(status, sql) }
        }
    }

    /// Advances to the next row; false when there is none (done).
    package func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(status, sql)
        }
    }

    /// Steps to the first row, reads it with `read`, and resets: a statement left on a row keeps its connection's
    /// read transaction (and its old snapshot) open, so the connection's next write would fail with "database is
    /// locked" whatever the busy timeout, and the WAL could not be checkpointed.
    package func first<T>(_ read: (SQLiteStatement) -> T) throws(StoreError) -> T? {
        defer { sqlite3_reset(handle) }
        return try step() ? read(self) : nil
    }

    /// Binds and runs a statement that returns no rows.
    package func run(_ values: [SQLiteValue]) throws(StoreError) {
        try bind(values)
        while try step() {}
    }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    package func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    package func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    package func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: text)
    }
    package func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
    package func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    package func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    package func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
}

package enum SQLiteValue {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    package init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }
    package init(_ v: Int64?) { self = v.map { .integer($0) } ?? .null }
    package init(_ v: Double?) { self = v.map { .real($0) } ?? .null }
    package init(_ v: String?) { self = v.map { .text($0) } ?? .null }
}
