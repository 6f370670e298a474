import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas bench superposition`: one training step (forward and backward) of a decoder space's weight
/// superposition under each sampler, against one plain step of the largest sub-network alone on the same
/// batch — wall-clock and the peak of live tensor memory during the step (`TensorStorage.peakBytes`; the
/// weights, alive before, are not counted). TangleNAS's claim: about the cost of the largest.
struct SuperpositionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superposition", abstract: "Superposition step time and peak memory per sampler, against the largest's plain step.")

    @OptionGroup var options: BenchOptions

    @Option(help: ArgumentHelp("A built-in decoder space name or a space JSON file.", valueName: "name|file"))
    var space = "tanglenas-shakespeare"
    @Option(help: "Text the batch is drawn from (characters).")
    var corpus = "../shared/data/tinyshakespeare/input.txt"
    @Option(parsing: .unconditional, help: "Sequences per batch.", transform: NumberArgument.positive)
    var batchSize = 8
    @Option(parsing: .unconditional, help: "Characters per sequence.", transform: NumberArgument.positive)
    var sequenceLength = 256

    func run() throws {
        Engine.threads = options.threadCount
        let space = try Search.resolveSpace(self.space)
        let raw = try TrainingInputs.readCorpora([corpus])
        let text = try TextCorpus(tokens: CharTokenizer(training: raw).encode(raw), path: corpus)
        let batch = try text.decoderBatch(batchSize: batchSize, length: sequenceLength, seed: 1)
        var rng = RandomGenerator(seed: 1)
        let supernet = try Supernet(space: space, rng: &rng)
        let superposition = try Superposition(model: supernet.model, parameters: ArchitectureParameters(space: space, rng: &rng))
        let warmup = options.warmupRuns, runs = options.quick ? 3 : max(5, options.timedRuns / 2)
        let params = supernet.model.parameters + superposition.parameters.parameters

        /// Median seconds and the largest peak (bytes above the live memory before the step) of `loss`'s
        /// forward and backward.
        func measure(_ loss: () -> Tensor) -> (seconds: Double, bytes: Double) {
            var peak = 0
            let seconds = Measure.seconds(warmup: warmup, runs: runs, prepare: { params.forEach { $0.zeroGrad() } }) {
                let before = TensorStorage.liveBytes
                TensorStorage.resetPeak()
                loss().backward()
                peak = max(peak, TensorStorage.peakBytes - before)
            }
            return (seconds, Double(peak))
        }
        let largest = measure {
            CausalLMHead.loss(supernet.model(batch, architecture: space.largest, training: true, rng: &rng).hidden, batch: batch,
                              embeddings: supernet.model.wordEmbeddings)
        }
        var results = [BenchResult("largest sub-network, one step (time)", value: largest.seconds, unit: "s"),
                       BenchResult("largest sub-network, one step (peak tensor memory)", value: largest.bytes / 1e6, unit: "MB")]
        for kind in ArchitectureSamplerKind.allCases where options.selects(kind.rawValue) {
            let sampler = kind.make()
            var step = 0
            let cost = measure {
                defer { step += 1 }
                let w = MixingWeights(Dictionary(uniqueKeysWithValues: superposition.parameters.alphas.map { d, alpha in
                    (d, sampler.weights(alpha.tensor, step: step, totalSteps: 100, using: &rng))
                }))
                return superposition.loss(batch, weights: w, training: true, rng: &rng)
            }
            results.append(BenchResult("\(kind.rawValue) superposition step vs the largest's (time)", value: cost.seconds, unit: "s",
                                       reference: largest.seconds))
            results.append(BenchResult("\(kind.rawValue) superposition step vs the largest's (peak tensor memory)", value: cost.bytes / 1e6,
                                       unit: "MB", reference: largest.bytes / 1e6))
        }
        print("superposition bench: \(space.name), largest \(String(format: "%.2fM", Double(space.largest.parameterCount) / 1e6)) "
              + "parameters, batch \(batchSize) × \(sequenceLength), \(Engine.threads) threads, median of \(runs)")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }
}
