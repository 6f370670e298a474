import Foundation

/// Where `--study` points: an SQLite file (any path), or a study in a PostgreSQL database, written as
///
///     postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE?study=NAME        (postgres:// too)
///
/// USER, PASSWORD and DATABASE may be percent-encoded; HOST is a name, an IPv4 address or a bracketed
/// IPv6 address; PORT defaults to 5432; `study` (letters, digits, `_ . -`, at most 63) names the study
/// inside the database, so one database holds many. No other query parameter is accepted, so a typo is
/// not silently ignored. Parsed here, not by libpq, so that every mistake is named precisely and the
/// client is handed explicit parameters (`PostgresAddress`); a password may also come from libpq's
/// usual PGPASSWORD or ~/.pgpass (better: a URL's password shows in the process list). Messages built
/// here never show a password.
public enum StudyLocation: Equatable, Sendable, CustomStringConvertible {
    case file(URL)
    case postgres(PostgresAddress)

    /// Reads a `--study` argument: a `postgresql://` or `postgres://` URL, or else a file path.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            self = .postgres(try PostgresAddress(url: text))
        } else if lower.range(of: "^[a-z][a-z0-9+.-]*://", options: .regularExpression) != nil {
            let scheme = String(text.prefix { $0 != ":" })
            throw StudyError(.invalidLocation, path: text, message: "--study \(text): unknown scheme '\(scheme)'; "
                             + "give a file path (SQLite) or postgresql://user@host:port/db?study=NAME")
        } else if text.isEmpty {
            throw StudyError(.invalidLocation, path: text, message: "--study is empty; give a file path or a postgresql:// URL")
        } else {
            self = .file(URL(fileURLWithPath: text))
        }
    }

    /// As messages show it: the path, or the URL without any password.
    public var description: String {
        switch self {
        case .file(let url): return url.relativePath
        case .postgres(let address): return address.description
        }
    }

    /// `text` with any URL password replaced by "***", for messages and pages.
    public static func redacted(_ text: String) -> String { PostgresAddress.redacted(text) }

    /// A short name for files written beside the study: the file's stem, or the study's name.
    public var stem: String {
        switch self {
        case .file(let url): return url.deletingPathExtension().lastPathComponent
        case .postgres(let address): return address.study
        }
    }
}

/// The connection parameters of a PostgreSQL study, from its URL (`StudyLocation`).
public struct PostgresAddress: Equatable, Sendable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// The study's name inside the database.
    public var study: String

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String, study: String) {
        self.user = user; self.password = password; self.host = host; self.port = port; self.database = database
        self.study = study
    }

    /// Parses `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE?study=NAME`; the error names the part
    /// that is wrong and what was expected.
    public init(url text: String) throws {
        func fail(_ what: String) -> StudyError {
            StudyError(.invalidLocation, path: Self.redacted(text), message: "--study \(Self.redacted(text)): \(what); "
                       + "expected postgresql://user@host:port/database?study=NAME")
        }
        guard let schemeEnd = text.range(of: "://") else { throw fail("no scheme") }
        var rest = Substring(text[schemeEnd.upperBound...])
        // The query.
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        if rest.contains("#") { throw fail("a fragment (#…) has no meaning here") }
        // Authority and path.
        guard let slash = rest.firstIndex(of: "/") else { throw fail("no database (the /database part is missing)") }
        let authority = rest[..<slash], path = rest[rest.index(after: slash)...]
        guard let at = authority.lastIndex(of: "@") else { throw fail("no user (write user@host)") }
        let userInfo = authority[..<at], hostPort = authority[authority.index(after: at)...]
        let userPart: Substring, passwordPart: Substring?
        if let colon = userInfo.firstIndex(of: ":") {
            userPart = userInfo[..<colon]; passwordPart = userInfo[userInfo.index(after: colon)...]
        } else {
            userPart = userInfo; passwordPart = nil
        }
        guard let user = userPart.removingPercentEncoding, !user.isEmpty else { throw fail("the user is empty or badly percent-encoded") }
        var password: String?
        if let passwordPart {
            guard let p = passwordPart.removingPercentEncoding else { throw fail("the password is badly percent-encoded") }
            password = p
        }
        // Host and port.
        var host: Substring, portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("the IPv6 host has no closing ']'") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected '\(after)' after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]; portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw fail("no host (write user@host)") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || "-._:".contains($0) }) else {
            throw fail("host '\(host)' holds characters a host name cannot")
        }
        var port = 5432
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw fail("port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        guard let database = path.removingPercentEncoding, !database.isEmpty else { throw fail("no database (the /database part is empty)") }
        guard !database.contains("/") else { throw fail("database '\(database)' contains '/'") }
        // The query: exactly study=NAME.
        var study: String?
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]).removingPercentEncoding : nil
            guard key == "study" else { throw fail("unknown parameter '\(key)' (the only one is study=NAME)") }
            guard study == nil else { throw fail("study= is given twice") }
            guard let value, !value.isEmpty else { throw fail("study= is empty") }
            study = value
        }
        guard let study else { throw fail("no study name (add ?study=NAME)") }
        guard study.count <= 63, study.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "_.-".contains($0) }) else {
            throw fail("study name '\(study)' must be 1 to 63 letters, digits, '_', '.' or '-'")
        }
        self.init(user: user, password: password, host: String(host), port: port, database: database, study: study)
    }

    /// The URL without the password.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(h):\(port)/\(database)?study=\(study)"
    }

    /// `text` with any password between "://user:" and "@" replaced by "***", for messages.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }
}
