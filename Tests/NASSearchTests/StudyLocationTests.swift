import XCTest
@testable import NASSearch

/// `--study` arguments: file paths, and PostgreSQL URLs parsed into explicit connection parameters with
/// errors that name the part at fault (and never print a password).
final class StudyLocationTests: XCTestCase {
    func location(_ text: String) throws -> StudyLocation { try StudyLocation(parsing: text) }

    func message(_ text: String) -> String {
        do { _ = try location(text); return "" } catch let e as StudyError {
            XCTAssertEqual(e.kind, .invalidLocation, text)
            return e.message
        } catch { return "\(error)" }
    }

    func testPathsAreFiles() throws {
        XCTAssertEqual(try location("runs/s.db"), .file(URL(fileURLWithPath: "runs/s.db")))
        XCTAssertEqual(try location("runs/s.db").stem, "s")
        let absolute = FileManager.default.temporaryDirectory.appendingPathComponent("x:y.db").path
        XCTAssertEqual(try location(absolute), .file(URL(fileURLWithPath: absolute)), "an absolute path with a colon")
    }

    func testURLsGiveExplicitParameters() throws {
        XCTAssertEqual(try location("postgresql://nas@db.lab:6543/studies?study=atb-1"),
                       .postgres(PostgresAddress(user: "nas", host: "db.lab", port: 6543, database: "studies", study: "atb-1")))
        XCTAssertEqual(try location("postgres://nas@127.0.0.1/studies?study=a"),
                       .postgres(PostgresAddress(user: "nas", host: "127.0.0.1", port: 5432, database: "studies", study: "a")))
        let withPassword = try location("postgresql://n%40s:p%2Fw@[::1]:5433/my%20db?study=x_y.z")
        XCTAssertEqual(withPassword, .postgres(PostgresAddress(user: "n@s", password: "p/w", host: "::1", port: 5433,
                                                               database: "my db", study: "x_y.z")))
        XCTAssertEqual(withPassword.description, "postgresql://n@s@[::1]:5433/my db?study=x_y.z", "no password shown")
        XCTAssertEqual(withPassword.stem, "x_y.z")
    }

    func testErrorsNameThePart() {
        XCTAssertTrue(message("postgresql://db.lab:5432/s?study=a").contains("no user"))
        XCTAssertTrue(message("postgresql://nas@:5432/s?study=a").contains("no host"))
        XCTAssertTrue(message("postgresql://nas@db:99999/s?study=a").contains("port '99999'"))
        XCTAssertTrue(message("postgresql://nas@db:x/s?study=a").contains("port 'x'"))
        XCTAssertTrue(message("postgresql://nas@db:5432?study=a").contains("no database"))
        XCTAssertTrue(message("postgresql://nas@db:5432/?study=a").contains("no database"))
        XCTAssertTrue(message("postgresql://nas@db/s").contains("no study name"))
        XCTAssertTrue(message("postgresql://nas@db/s?study=").contains("study= is empty"))
        XCTAssertTrue(message("postgresql://nas@db/s?study=a b").contains("study name 'a b'"))
        XCTAssertTrue(message("postgresql://nas@db/s?study=a&sslmode=off").contains("unknown parameter 'sslmode'"))
        XCTAssertTrue(message("postgresql://nas@db/s?study=a&study=b").contains("twice"))
        XCTAssertTrue(message("postgresql://nas@[::1/s?study=a").contains("closing ']'"))
        XCTAssertTrue(message("mysql://nas@db/s?study=a").contains("unknown scheme 'mysql'"))
        XCTAssertTrue(message("").contains("empty"))
        let secret = message("postgresql://nas:hunter2@db:0/s?study=a")
        XCTAssertTrue(secret.contains("port '0'"), secret)
        XCTAssertFalse(secret.contains("hunter2"), secret)
    }
}
