import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASSearch
import NASTrain

/// `swiftnas proxy`: training-free proxies found by evolution.
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy", abstract: "Evolve training-free proxies.", subcommands: [ProxyEvolve.self])
}

/// `swiftnas proxy evolve --benchmark FILE --out FILE`: EMQ's proxy evolution (`ProxyEvolution`) on a mixed-precision
/// benchmark (`quantize benchmark`): proxies over the units' statistics, fitness the Spearman ρ of Σ_u b_u·s_{u,b_u} against
/// the accuracy of the benchmark's training configurations; reported on its test configurations against the hand-made
/// proxies (`ConfigurationScorer`). The best genotype goes to --out for `quantize search --proxy`.
struct ProxyEvolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evolve", abstract: "Evolve a bit-allocation proxy (--benchmark) or an architecture-ranking proxy (--ranking).")

    @Option(help: "A mixed-precision benchmark of `swiftnas quantize benchmark` (bit-allocation proxies).")
    var benchmark: String?
    @Option(help: "Or a FlexiBERT ranking benchmark (architecture proxies, fitted to its within-band τ; e.g. ../shared/data/flexibert/benchmark-dev.json).")
    var ranking: String?
    @Option(help: "With --ranking: the file the rows' features are kept in (measured once, resumed).")
    var features: String?
    @OptionGroup var rankingInput: RankingInputOptions
    @Option(help: "The benchmark's checkpoint, when it has moved (its weights must match the benchmark's SHA-256).")
    var checkpoint: String?
    @Option(help: "Task folder in GLUE's TSV format, for the calibration examples (default: ../shared/data/glue/<task>).")
    var data: String?
    @OptionGroup var calibration: UnitStatisticsOptions
    @Option(parsing: .unconditional, help: "Population size.", transform: NumberArgument.positive)
    var population = 40
    @Option(parsing: .unconditional, help: "Children evaluated after the initial population.", transform: NumberArgument.positive)
    var iterations = 600
    @Option(parsing: .unconditional, help: "Seed of the evolution.")
    var seed: UInt64 = 0
    @Option(help: "Where the evolved proxy and its report go (JSON).")
    var out: String
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard (benchmark == nil) != (ranking == nil) else { throw ValidationError("give either --benchmark (bit allocation) or --ranking (architectures)") }
        guard features == nil || ranking != nil else { throw ValidationError("--features goes with --ranking") }
    }

    func run() throws {
        engine.apply()
        let settings = ProxyEvolution.Settings(population: population, iterations: iterations, seed: seed)
        if let ranking {
            let featureFile = features ?? URL(fileURLWithPath: out).deletingPathExtension().path + "-features.json"
            return try RankingProxyEvolution(ranking: URL(fileURLWithPath: ranking), input: rankingInput, features: URL(fileURLWithPath: featureFile),
                                             settings: settings, out: URL(fileURLWithPath: out)).run()
        }
        guard let benchmark else { throw ValidationError("give either --benchmark (bit allocation) or --ranking (architectures)") }
        try evolveBitAllocation(benchmark: URL(fileURLWithPath: benchmark), settings: settings)
    }

    func evolveBitAllocation(benchmark file: URL, settings: ProxyEvolution.Settings) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let bench = try MixedPrecisionBenchmark.load(file)
        let (taskModel, mixed, folder) = try QuantizationInputs.model(checkpoint ?? bench.checkpoint, matching: bench)
        let statistics = try calibration.statistics(mixed, taskModel: taskModel, checkpoint: folder, data: data, maxLength: bench.maxLength)
        let scorer = ConfigurationScorer(mixed, statistics: statistics, choices: bench.bitChoices)
        let train = bench.configurations(in: .train), test = bench.configurations(in: .test)
        guard train.count >= 10, test.count >= 5 else {
            throw ValidationError("\(file.path): \(train.count) training and \(test.count) test configurations; measure at least 15 (quantize benchmark)")
        }
        guard Set(train.map(\.accuracy)).count > 1 else {
            throw ValidationError("\(file.path): every training configuration has accuracy \(train[0].accuracy); there is nothing to rank")
        }
        let evolution = ProxyEvolution(leafNames: ConfigurationScorer.leafNames, samples: scorer.samples) { s in
            ConfigurationScorer.correlation(train, gain: scorer.gain(scores: s)).all
        }
        let result = try evolution.run(settings)
        let best = result.best
        let gain = scorer.gain(scores: best.scores)
        var rows: [(String, (all: Double, top: Double), (all: Double, top: Double))] = [
            ("evolved", ConfigurationScorer.correlation(train, gain: gain), ConfigurationScorer.correlation(test, gain: gain))]
        for proxy in ConfigurationScorer.HandMade.allCases {
            rows.append((proxy.rawValue, ConfigurationScorer.correlation(train, gain: scorer.gain(proxy)),
                         ConfigurationScorer.correlation(test, gain: scorer.gain(proxy))))
        }
        let bestHandMade = rows.dropFirst().max { $0.1.all < $1.1.all }!
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print("evolved proxy: \(best.genotype)")
        print(String(format: "evolution: %d evaluated, screened out %d invalid, %d constant, %d equivalent, %d repeated; %.0f s in all",
                     result.evaluated, result.invalid, result.constant, result.equivalent, result.repeated, seconds))
        print("proxy            train ρ   train ρ@top20%   test ρ   test ρ@top20%")
        for (name, tr, te) in rows {
            print(String(format: "%-15@ %8.3f %12.3f %12.3f %12.3f", name, tr.all, tr.top, te.all, te.top))
        }
        print("best hand-made proxy on the training configurations: \(bestHandMade.0)")
        let report = EvolvedProxyFile(genotype: best.genotype, formula: best.genotype.description, benchmark: file.relativePath, sha256: bench.sha256,
                                      trainConfigurations: train.count, testConfigurations: test.count,
                                      correlations: rows.map { .init(proxy: $0.0, trainSpearman: $0.1.all, trainSpearmanTop20: $0.1.top,
                                                                     testSpearman: $0.2.all, testSpearmanTop20: $0.2.top) },
                                      bestHandMade: bestHandMade.0, history: result.history, evaluated: result.evaluated,
                                      screened: ["invalid": result.invalid, "constant": result.constant, "equivalent": result.equivalent,
                                                 "repeated": result.repeated],
                                      calibrationExamples: calibration.calibration.calibrationExamples, probes: calibration.probes, seed: seed, seconds: seconds)
        try JSONFile.write(report, to: URL(fileURLWithPath: out))
        print("→ \(out)")
    }
}

/// What `proxy evolve` writes and `quantize search --proxy FILE` reads.
struct EvolvedProxyFile: Codable {
    struct Correlation: Codable {
        var proxy: String
        var trainSpearman, trainSpearmanTop20, testSpearman, testSpearmanTop20: Double
    }
    var genotype: ProxyGenotype
    var formula: String
    var benchmark: String
    var sha256: String
    var trainConfigurations, testConfigurations: Int
    var correlations: [Correlation]
    var bestHandMade: String
    var history: [Double]
    var evaluated: Int
    var screened: [String: Int]
    var calibrationExamples, probes: Int
    var seed: UInt64
    var seconds: Double
}
