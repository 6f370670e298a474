import Foundation
import XCTest
@testable import NASModels

/// SHA-256 against FIPS 180-4's test vectors (and a file streamed in chunks), and the Codable JSON reader's errors.
final class FileFormatTests: XCTestCase {
    func testSHA256KnownAnswers() throws {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a' (FIPS 180-4 appendix), through a file read in 1 MiB chunks.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID())")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: UInt8(ascii: "a"), count: 1_000_000).write(to: url)
        XCTAssertEqual(try SHA256.hex(contentsOf: url), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    struct Inner: Codable, Equatable { var bits: [Int] }
    struct Outer: Codable, Equatable { var name: String; var items: [Inner] }

    func testJSONFileNamesTheFileAndTheField() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let value = Outer(name: "x", items: [Inner(bits: [2]), Inner(bits: [3, 4])])
        try JSONFile.write(value, to: url)
        XCTAssertEqual(try JSONFile.read(Outer.self, from: url), value)
        func failure(_ text: String) -> JSONFile.Failure? {
            try? Data(text.utf8).write(to: url)
            do { _ = try JSONFile.read(Outer.self, from: url); return nil } catch { return error as? JSONFile.Failure }
        }
        XCTAssertEqual(failure(#"{"name": "x", "items": [{"bits": [2]}, {"bits": ["a"]}]}"#)?.field, "items[1].bits[0]")
        XCTAssertEqual(failure(#"{"items": []}"#)?.field, "name")
        XCTAssertEqual(failure(#"{"name": "x", "items": [{}]}"#)?.field, "items[0].bits")
        let broken = failure("{not json")
        XCTAssertNil(broken?.field)
        XCTAssertTrue(broken?.description.contains(url.path) ?? false)
    }
}
