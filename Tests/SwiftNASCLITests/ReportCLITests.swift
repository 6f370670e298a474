import Foundation
import NASModels
import NASSearch
import NASTensor
import XCTest

/// `swiftnas report` as a process: a report of each kind of source, and bad sources refused with a
/// message naming them, exit status 1 and no file left behind.
final class ReportCLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testReportsOfAStudyARunAndARanking() throws {
        let study = try SQLiteStudyStorage.create(at: folder.appendingPathComponent("s.db"), settings: StudySettings(
            space: SearchSpace.autoTinyBERT.json, strategy: "random", objectives: [ObjectiveSpec(name: "score")],
            constraints: [], paretoCost: .params, seed: 1, sequenceLength: 128, evaluation: [:]))
        var rng = RandomGenerator(seed: 2)
        for n in 0..<5 {
            let arch = SearchSpace.autoTinyBERT.decode(SearchSpace.autoTinyBERT.sample(using: &rng))
            try study.append(Trial(number: n, genome: SearchSpace.autoTinyBERT.encode(arch) ?? [], architecture: arch,
                                   objectives: ["score": Double(n)], costs: Costs(arch, sequenceLength: 128), state: .complete, seconds: 0))
        }
        study.close()
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("{\"step\":1,\"loss\":3.5,\"lr\":0.001}\n".utf8).write(to: run.appendingPathComponent("metrics.jsonl"))
        let ranking = folder.appendingPathComponent("ranking")
        try RankingReport(protocol: "p", tokens: 1, ids: ["a", "b", "c"], target: [1, 2, 3],
                          proxies: [ProxyScores(name: "x", scores: [3, 2, 1], secondsPerArch: 0)]).write(to: ranking)
        for (source, marker) in [("s.db", "<tr id=\"trial-4\""), ("run", "Training loss"), ("ranking", "proxy-row")] {
            let out = folder.appendingPathComponent(source + ".html")
            let (status, output) = try CLIProcess.run(["report", folder.appendingPathComponent(source).path, "--out", out.path])
            XCTAssertEqual(status, 0, output)
            XCTAssertTrue(try String(contentsOf: out, encoding: .utf8).contains(marker), source)
        }
    }

    func testBadSourcesAreRefusedByName() throws {
        let out = folder.appendingPathComponent("r.html")
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let junk = folder.appendingPathComponent("junk.db")
        try Data("no".utf8).write(to: junk)
        for (source, expected) in [(folder.appendingPathComponent("missing.db").path, "missing.db"), (empty.path, "metrics.jsonl"),
                                   (junk.path, "junk.db"), ("postgresql://nas:hunter2@db/studies", "no study name")] {
            let (status, output) = try CLIProcess.run(["report", source, "--out", out.path])
            XCTAssertEqual(status, 1, output)
            XCTAssertTrue(output.contains(expected), output)
            XCTAssertFalse(output.contains("hunter2"), "a URL's password is not printed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written")
        }
    }
}
