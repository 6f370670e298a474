import Foundation
import XCTest
import NASModels
import NASText
@testable import NASTrain

/// Inputs that cannot be used fail with a `TrainingInputError` naming the file (and the field).
final class TrainingInputsTests: XCTestCase {
    func testUnusableInputsNameTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("inputs-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.txt")
        try Data(" \n".utf8).write(to: empty)

        XCTAssertThrowsError(try TrainingInputs.readCorpora([empty.path])) { error in
            XCTAssertEqual("\(error)", "\(empty.path): the corpus is empty")
        }
        XCTAssertThrowsError(try TrainingInputs.checkpointFolder(folder.path)) { error in
            XCTAssertEqual((error as? TrainingInputError)?.file, folder.path)
        }
        XCTAssertThrowsError(try TextTokenizer.stored(in: folder)) { error in
            XCTAssertTrue("\(error)".hasPrefix(folder.path + ": no vocab.txt"), "\(error)")
        }
        let chars = CharTokenizer(training: "abc")
        let file = folder.appendingPathComponent(TextTokenizer.characterFile)
        try chars.save(to: file)
        let tokenizer = try TextTokenizer.stored(in: folder)
        let arch = Architecture.uniform(.decoder, vocabSize: chars.vocabSize + 1, maxPositions: 16, hidden: 8, depth: 1, heads: 2, ffn: 16)
        XCTAssertThrowsError(try tokenizer.check(arch, source: "the architecture")) { error in
            XCTAssertEqual((error as? TrainingInputError)?.field, "vocabSize")
            XCTAssertTrue("\(error)".hasPrefix("vocabulary mismatch: the architecture has vocabSize"), "\(error)")
        }
    }
}
