import CLibPQ
import Foundation

// A deliberately small wrapper over libpq, PostgreSQL's own C client (Debian libpq-dev): a connection
// opened with explicit parameters, statements with text parameters ($1, $2, …) returning text rows, and
// reconnection after the server went away. It is what `PostgresStudyStorage` needs and nothing more;
// internal to NASSearch.
//
// Why libpq and not postgres-nio: the search loop is synchronous (ask, evaluate for seconds, store), so
// a blocking client fits it without bridging an event loop, and libpq is the server's reference client,
// maintained with it and packaged by Debian (a system-library target that builds in seconds, no
// dependency graph of its own).

/// A failed libpq call: SQLSTATE (e.g. "23505" unique violation, "08006" connection failure; "" when the
/// failure happened before the server answered) and libpq's message.
struct PostgresError: Error, CustomStringConvertible {
    let sqlState: String
    let message: String
    /// The connection is gone (refused, closed, timed out, server shutting down): retrying may help.
    let connectionLost: Bool
    var description: String { sqlState.isEmpty ? message : "\(message) (SQLSTATE \(sqlState))" }
}

/// One connection. Not thread-safe: use it from one thread at a time.
final class PostgresConnection {
    private var handle: OpaquePointer?
    private let parameters: [(String, String)]
    /// Statements sent to the server (each one round trip), for the coordination benchmark.
    private(set) var roundTrips = 0

    /// Connects with `parameters` (libpq keywords: host, port, dbname, user, password, …). Throws a
    /// `PostgresError` with `connectionLost` when the server cannot be reached.
    init(parameters: [(String, String)]) throws {
        self.parameters = parameters + [("connect_timeout", "5"), ("application_name", "swiftnas")]
        try connect()
    }

    deinit { close() }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    private func connect() throws {
        close()
        let keywords = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer { (keywords + values).forEach { free($0) } }
        let conn = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 0)
            }
        }
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let conn { PQfinish(conn) }
            throw PostgresError(sqlState: "", message: message.trimmingCharacters(in: .whitespacesAndNewlines), connectionLost: true)
        }
        handle = conn
        // Notices ("relation already exists, skipping") would go to standard error.
        _ = try execute("SET client_min_messages = warning")
    }

    /// Runs one statement with text parameters (nil: SQL NULL) and returns its rows (nil: SQL NULL) and the
    /// number of rows it changed. Reconnects first when the connection was lost; a lost connection throws
    /// a `PostgresError` with `connectionLost` (the statement may or may not have been committed).
    @discardableResult
    func execute(_ sql: String, _ arguments: [String?] = []) throws -> (rows: [[String?]], changed: Int) {
        if handle == nil || PQstatus(handle) != CONNECTION_OK { try connect() }
        guard let handle else { throw PostgresError(sqlState: "", message: "no connection", connectionLost: true) }
        roundTrips += 1
        let copies = arguments.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecParams(handle, sql, Int32(arguments.count), nil, values.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            // Class 08: connection exception; 57P01–57P03: the server is shutting down or starting.
            let lost = PQstatus(handle) != CONNECTION_OK || state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
            throw PostgresError(sqlState: state, message: message, connectionLost: lost)
        }
        var rows: [[String?]] = []
        if let result, status == PGRES_TUPLES_OK {
            let columns = PQnfields(result)
            for r in 0..<PQntuples(result) {
                rows.append((0..<columns).map { c in
                    PQgetisnull(result, r, c) != 0 ? nil : String(cString: PQgetvalue(result, r, c))
                })
            }
        }
        let changed = result.flatMap { PQcmdTuples($0) }.flatMap { Int(String(cString: $0)) } ?? 0
        return (rows, changed)
    }
}
