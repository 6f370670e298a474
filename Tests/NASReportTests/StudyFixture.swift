import Foundation
import NASModels
import NASSearch
import NASTensor

/// A small study of AutoTinyBERT's space made for the tests: random genomes (seeded), a made-up
/// objective that grows with the hidden size, a params budget that some trials break, and every
/// `failEvery`-th trial failed.
enum StudyFixture {
    static let space = SearchSpace.autoTinyBERT

    static func settings(maxParams: Double = 8e6) -> StudySettings {
        StudySettings(space: space.json, strategy: "random", objectives: [ObjectiveSpec(name: "score", maximize: true)],
                      constraints: [Constraint(.params, max: maxParams)], paretoCost: .params, seed: 3, sequenceLength: 128,
                      evaluation: [:])
    }

    static func trial(_ number: Int, rng: inout RandomGenerator, failEvery: Int = 7) -> Trial {
        let genome = space.sample(using: &rng)
        let arch = space.decode(genome)
        let failed = failEvery > 0 && number % failEvery == failEvery - 1
        let score = failed ? Double.nan : Double(arch.hidden) / 100 + Double(number % 5) * 0.01
        return Trial(number: number, genome: genome, architecture: arch, objectives: ["score": score],
                     costs: Costs(arch, sequenceLength: 128), state: failed ? .failed : .complete, seconds: 0.25)
    }

    static func trials(_ count: Int, seed: UInt64 = 11) -> [Trial] {
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { trial($0, rng: &rng) }
    }

    /// Creates the study file `name` in `folder` holding `count` trials.
    static func make(in folder: URL, name: String = "study.db", count: Int) throws -> URL {
        let url = folder.appendingPathComponent(name)
        let study = try SQLiteStudyStorage.create(at: url, settings: settings())
        defer { study.close() }
        for t in trials(count) { try study.append(t) }
        return url
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// How often `needle` occurs in `haystack`.
    static func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }
}
