import Foundation
import XCTest
@testable import NASModels

/// An output folder is checked before work starts, and its problems are sentences naming the path.
final class OutputFolderTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("output-folder-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws {
        chmod(root.appendingPathComponent("locked").path, 0o755)
        try? FileManager.default.removeItem(at: root)
    }

    func failure(_ body: () throws -> Void) -> OutputFolder.Failure? {
        do { try body() } catch let f as OutputFolder.Failure { return f } catch { XCTFail("unexpected \(error)") }
        return nil
    }

    func testAFileInTheWayIsNamed() throws {
        let file = root.appendingPathComponent("x")
        try Data("keep".utf8).write(to: file)
        XCTAssertEqual(failure { try OutputFolder.check(file) }?.description,
                       "\(file.path): cannot create the output folder: a file exists at this path")
        XCTAssertEqual(failure { try OutputFolder.create(file.appendingPathComponent("run")) }?.description,
                       "\(file.path)/run: cannot create the output folder: \(file.path) is a file, not a folder")
        XCTAssertEqual(try Data(contentsOf: file), Data("keep".utf8))
    }

    func testMissingFoldersAreCreatedAndExistingOnesAccepted() throws {
        let deep = root.appendingPathComponent("a/b/c")
        try OutputFolder.check(deep)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("a").path), "check creates nothing")
        try OutputFolder.create(deep)
        var isFolder: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: deep.path, isDirectory: &isFolder) && isFolder.boolValue)
        try OutputFolder.check(deep)
        try OutputFolder.create(deep)
    }

    func testAReadOnlyFolderIsRefused() throws {
        if getuid() == 0 { throw XCTSkip("root ignores folder permissions") }
        let locked = root.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        chmod(locked.path, 0o555)
        XCTAssertEqual(failure { try OutputFolder.check(locked) }?.description,
                       "\(locked.path): the output folder exists but cannot be written into (permission denied)")
        XCTAssertEqual(failure { try OutputFolder.create(locked.appendingPathComponent("run")) }?.description,
                       "\(locked.path)/run: cannot create the output folder: \(locked.path) cannot be written into (permission denied)")
    }

    func testFoundationErrorsBecomePhrases() {
        XCTAssertEqual(OutputFolder.describe(CocoaError(.fileWriteNoPermission)), "permission denied")
        XCTAssertEqual(OutputFolder.describe(CocoaError(.fileWriteFileExists)), "a file exists at this path")
        XCTAssertEqual(OutputFolder.describe(CocoaError(.fileWriteOutOfSpace)), "no space left on the device")
        XCTAssertEqual(OutputFolder.describe(POSIXError(.EROFS)), "read-only file system")
    }

    func testANewFolderAppearsWholeOrNotAtAll() throws {
        let target = root.appendingPathComponent("new")
        struct Stop: Error {}
        XCTAssertThrowsError(try OutputFolder.createNew(target) { staging in
            try Data("half".utf8).write(to: staging.appendingPathComponent("a"))
            throw Stop()
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), [], "nothing left: no folder, no staging")
        try OutputFolder.createNew(target) { try Data("whole".utf8).write(to: $0.appendingPathComponent("a")) }
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent("a")), Data("whole".utf8))
        XCTAssertTrue(failure { try OutputFolder.createNew(target) { _ in XCTFail("filled an existing folder") } }?
            .description.hasSuffix("already exists; choose a new folder") ?? false)
    }
}
