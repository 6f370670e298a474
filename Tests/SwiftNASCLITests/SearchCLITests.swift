import Foundation
import XCTest
import NASModels
import NASSearch
import NASTensor

/// `swiftnas search` and `swiftnas study` as processes: a search killed with SIGKILL mid-run resumes
/// with no trial lost or repeated and ends where an uninterrupted run ends; bad study files fail cleanly.
final class SearchCLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func process(_ arguments: [String]) throws -> (Process, Pipe) { try CLIProcess.start(arguments) }
    func run(_ arguments: [String]) throws -> (Int32, String) { try CLIProcess.run(arguments) }

    /// A text the test makes: seeded sentences over a small vocabulary (26 letters, space, full stop, newline).
    func writeCorpus() throws -> URL {
        let words = ["the", "king", "speaks", "to", "a", "quiet", "river", "and", "night", "falls", "over", "old", "town",
                     "where", "people", "sing", "of", "bright", "fields", "with", "gold"]
        var rng = RandomGenerator(seed: 1)
        var text = ""
        for _ in 0..<1500 {
            text += (0..<(4 + Int(rng.next() % 6))).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") + ".\n"
        }
        let url = folder.appendingPathComponent("corpus.txt")
        try Data(text.utf8).write(to: url)
        return url
    }

    func searchArguments(study: URL, corpus: URL, space: URL) -> [String] {
        ["search", "--space", space.path, "--objective", "w-pca", "--strategy", "ga", "--population", "12", "--trials", "70",
         "--seed", "7", "--study", study.path, "--corpus", corpus.path, "--sequence-length", "64", "--batch-size", "8",
         "--threads", "1", "--max-params", "200000", "--out", folder.path]
    }

    /// A small per-layer encoder space for character text.
    func writeSpace() throws -> URL {
        let space = folder.appendingPathComponent("space.json")
        try Data("""
            {"name": "kill-test", "family": "encoder", "vocabSize": 40, "maxPositions": 64, "depth": [1, 2, 3, 4],
             "hidden": [48, 64, 96, 128], "layers": "per-layer", "heads": [2, 4], "ffn": [64, 128, 192, 256]}
            """.utf8).write(to: space)
        return space
    }

    func testSearchKilledMidRunResumesWithoutLossOrRepeats() throws {
        let corpus = try writeCorpus(), space = try writeSpace()
        let whole = folder.appendingPathComponent("whole.db"), killed = folder.appendingPathComponent("killed.db")

        let (status, output) = try run(searchArguments(study: whole, corpus: corpus, space: space))
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("best of 70 trials"), output)
        let reference = try SQLiteStudyStorage.open(at: whole, readOnly: true).trials()
        XCTAssertEqual(reference.count, 70)

        // Start again on a new study; SIGKILL once some trials are stored.
        let (p, pipe) = try process(searchArguments(study: killed, corpus: corpus, space: space))
        var stored = 0
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: killed.path), let study = try? SQLiteStudyStorage.open(at: killed, readOnly: true) {
                stored = (try? study.trials().count) ?? 0
                study.close()
                if stored >= 15 { break }
            }
            usleep(5_000)
        }
        XCTAssertTrue(p.isRunning, "the search ended before it could be killed (\(stored) trials stored)")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        _ = pipe.fileHandleForReading.readDataToEndOfFile()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let afterKill = try SQLiteStudyStorage.open(at: killed).trials()
        XCTAssertGreaterThanOrEqual(afterKill.count, 15)
        XCTAssertLessThan(afterKill.count, 70, "killed mid-run")
        XCTAssertEqual(afterKill.map(\.number), Array(0..<afterKill.count), "no gap")
        XCTAssertEqual(afterKill.map(\.genome), Array(reference.prefix(afterKill.count)).map(\.genome))

        // The same command resumes and ends where the uninterrupted run ended.
        let (again, resumedOutput) = try run(searchArguments(study: killed, corpus: corpus, space: space))
        XCTAssertEqual(again, 0, resumedOutput)
        XCTAssertTrue(resumedOutput.contains("resuming"), resumedOutput)
        let resumed = try SQLiteStudyStorage.open(at: killed, readOnly: true).trials()
        XCTAssertEqual(resumed.map(\.number), Array(0..<70))
        XCTAssertEqual(Set(resumed.map(\.architecture)).count, 70, "no trial repeated")
        XCTAssertEqual(resumed.map(\.genome), reference.map(\.genome))
        XCTAssertEqual(resumed.map(\.objectives), reference.map(\.objectives), "same scores (same seed, one thread)")
        XCTAssertTrue(resumed.allSatisfy { $0.costs.params <= 200_000 })

        // The outputs: the best architecture loads as an architecture file; the export has the documented keys.
        let best = try Architecture.load(from: folder.appendingPathComponent("killed-best1.json"))
        XCTAssertEqual(best, StudyReport.best(resumed, settings: try SQLiteStudyStorage.open(at: killed, readOnly: true).settings).first?.architecture)
        let (exportStatus, export) = try run(["study", "export", killed.path, "--format", "json"])
        XCTAssertEqual(exportStatus, 0, export)
        guard case .object(let top) = try JSONValue(parsing: export), case .array(let items)? = top["trials"],
              case .object(let first)? = items.first else { return XCTFail("unexpected export: \(export.prefix(200))") }
        XCTAssertEqual(items.count, 70)
        XCTAssertEqual(Set(first.keys), ["number", "architecture", "objectives", "costs", "state"])

        // Resuming with another seed is refused, naming the field.
        var other = searchArguments(study: killed, corpus: corpus, space: space)
        other[other.firstIndex(of: "--seed")! + 1] = "8"
        let (refused, message) = try run(other)
        XCTAssertNotEqual(refused, 0)
        XCTAssertTrue(message.contains("seed"), message)
    }

    func testForeignAndCorruptStudyFilesFailWithAClearMessage() throws {
        let text = folder.appendingPathComponent("notes.txt")
        try Data("these are my notes, not a study\n".utf8).write(to: text)
        var (status, output) = try run(["study", "show", text.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not a SwiftNAS study"), output)
        (status, output) = try run(["study", "show", folder.appendingPathComponent("missing.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not found"), output)
        // A search pointed at a foreign file refuses it and leaves it as it was.
        (status, output) = try run(searchArguments(study: text, corpus: try writeCorpus(), space: try writeSpace()))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not a SwiftNAS study"), output)
        XCTAssertEqual(try String(contentsOf: text, encoding: .utf8), "these are my notes, not a study\n")
    }
}
