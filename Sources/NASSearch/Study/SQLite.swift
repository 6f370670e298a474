import CSQLite
import Foundation

// A deliberately small wrapper over SQLite's C API (Debian's libsqlite3): a connection, prepared
// statements binding and reading Int, Double and Text, and transactions. It is what `SQLiteStudyStorage` needs and
// nothing more; it is internal to NASSearch. Errors carry SQLite's primary result code and the text of
// `sqlite3_errmsg`, so that callers can turn, e.g., SQLITE_NOTADB into a message about the file.

/// A failed SQLite call: the primary result code (`SQLITE_NOTADB`, `SQLITE_CORRUPT`, …) and SQLite's
/// message for it.
struct SQLiteError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    /// The extended result code (e.g. `SQLITE_READONLY_ROLLBACK`), when known.
    var extendedCode: Int32 = 0
    var description: String { "\(message) (SQLite code \(code))" }
}

/// One open database connection. Not thread-safe: use it from one thread at a time.
final class SQLiteConnection {
    /// How to open the file.
    enum Mode {
        /// Reads only; a write fails with SQLITE_READONLY.
        case readOnly
        /// Reads and writes an existing file.
        case readWrite
        /// Reads and writes, creating the file when it does not exist.
        case create
    }

    private var handle: OpaquePointer?

    /// Opens `path`. Opening is lazy in SQLite: a file that is not a database is only refused by the
    /// first statement that reads it.
    init(path: String, mode: Mode) throws {
        let flags: Int32
        switch mode {
        case .readOnly: flags = SQLITE_OPEN_READONLY
        case .readWrite: flags = SQLITE_OPEN_READWRITE
        case .create: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc & 0xFF, message: message)
        }
        handle = db
        // Another process (a search writing while `study show` reads) holds the lock only for the length
        // of one transaction: wait for it rather than fail.
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit { close() }

    /// Closes the connection (idempotent). Statements still alive keep SQLite's connection as a zombie
    /// until they are finalized.
    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var isOpen: Bool { handle != nil }

    private func db() throws -> OpaquePointer {
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "the database connection is closed") }
        return handle
    }

    /// The error SQLite reports for `code` on this connection.
    fileprivate func error(_ code: Int32) -> SQLiteError {
        guard let handle else { return SQLiteError(code: code & 0xFF, message: String(cString: sqlite3_errstr(code))) }
        return SQLiteError(code: code & 0xFF, message: String(cString: sqlite3_errmsg(handle)),
                           extendedCode: sqlite3_extended_errcode(handle))
    }

    /// Runs one or more SQL statements that return no rows (`;`-separated, no parameters).
    func exec(_ sql: String) throws {
        let db = try db()
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(message)
            throw SQLiteError(code: rc & 0xFF, message: text, extendedCode: sqlite3_extended_errcode(db))
        }
    }

    /// Compiles one SQL statement (parameters written `?`, numbered from 1).
    func prepare(_ sql: String) throws -> SQLiteStatement {
        let db = try db()
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw error(rc)
        }
        return SQLiteStatement(statement, connection: self)
    }

    /// Runs `body` in one transaction: `BEGIN IMMEDIATE` (the write lock is taken at once, so a
    /// read-then-write body cannot be overtaken by another writer), then `COMMIT`, or `ROLLBACK` when
    /// the body or the commit throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }
}

/// A prepared statement. Bind parameters (1-based), `step()` through the rows and read columns
/// (0-based) of the current row; `reset()` to run it again. Finalized when released.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection

    /// SQLite copies bound text before `bind` returns (the Swift string's buffer is temporary).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    fileprivate init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ rc: Int32) throws {
        if rc != SQLITE_OK { throw connection.error(rc) }
    }

    func bind(_ value: Int, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, sqlite3_int64(value)))
    }

    /// Binds a double. SQLite stores NaN as NULL, so callers must not bind NaN into a NOT NULL column.
    func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(handle, index, value))
    }

    func bind(_ value: String, at index: Int32) throws {
        try check(sqlite3_bind_text(handle, index, value, -1, Self.transient))
    }

    /// Binds text, or NULL for nil.
    func bind(_ value: String?, at index: Int32) throws {
        guard let value else { return try check(sqlite3_bind_null(handle, index)) }
        try bind(value, at: index)
    }

    /// Advances to the next row: `true` when there is one, `false` when the statement is done.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc)
        }
    }

    /// Makes the statement ready to run again (bindings are kept).
    func reset() {
        sqlite3_reset(handle)
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// The column as text (its bytes decoded as UTF-8), nil when NULL.
    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
