import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas rank`: scores every architecture of a ranking benchmark with training-free proxies and
/// reports how well each proxy's ranking agrees with the trained scores (Kendall τ-b, Spearman ρ,
/// Pearson r, within-band τ). The benchmark is told from the file: FlexiBERT (encoders, GLUE average)
/// or LTS (GPT-2-style decoders, ranked against −WikiText-103 valid perplexity, banded by
/// non-embedding parameters).
struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank a benchmark's architectures with zero-shot proxies against their trained scores.")

    @Option(help: "The benchmark: FlexiBERT (encoders, GLUE) or LTS (decoders, WikiText-103 perplexity) JSON, told from the file.")
    var benchmark = "../shared/data/flexibert/benchmark-dev.json"

    @Option(help: ArgumentHelp("Comma-separated proxies, or 'all'.", valueName: "names"))
    var proxies = "all"

    @OptionGroup var input: RankingInputOptions

    @Option(parsing: .unconditional, help: "Random seed (model initialisation, masking, batch).",
            transform: NumberArgument.seed)
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Score only the first N architectures.", transform: NumberArgument.positive)
    var limit: Int?

    @Option(parsing: .unconditional, help: "Score only the rows whose hidden size (d_model) is at most N, e.g. the rows a supernet covers.",
            transform: NumberArgument.positive)
    var maxHidden: Int?

    @Option(help: "A trained supernet (`swiftnas supernet train` run or checkpoint): adds the scorer 'supernet', minus the inherited-weight LM loss on a fixed batch of --corpus (NaN for rows that are no sub-network).")
    var supernet: String?

    @Flag(help: "Also correlate with each GLUE task (FlexiBERT only).")
    var perTask = false

    @Option(help: "Write ranking.json, scores.csv, correlations.csv and one SVG per proxy here.")
    var out: String?

    @OptionGroup var engine: EngineOptions

    mutating func validate() throws {
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2 (a correlation needs two points)") }
    }

    func run() throws {
        engine.apply()
        var names = proxies == "all" ? Proxies.names : proxies.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        if supernet != nil && !names.contains(ObjectiveName.supernet) { names.insert(ObjectiveName.supernet, at: 0) }
        let benchmarkURL = URL(fileURLWithPath: benchmark)
        let kind = try RankingBenchmarkKind.detect(contentsOf: benchmarkURL)
        if kind == .lts && perTask { throw CommandError("--per-task applies to FlexiBERT (GLUE tasks); \(benchmark) is an LTS benchmark") }
        let scorers: [RankingScorer] = try names.map { name in
            switch name {
            case "w-pca": return .proxy(WPCAProxy(eta: input.eta))
            case "pca": return .proxy(PCAProxy(eta: input.eta))
            // Fed ones after the embeddings, a pre-LN decoder at initialisation scores exactly 0 (SynFlowProxy).
            case "synflow" where kind == .lts: return .proxy(SynFlowProxy(input: .onesTokenEmbeddings))
            case ObjectiveName.supernet: return try supernetScorer()
            default: return .proxy(try Proxies.named(name))
            }
        }

        let tokenizer = try input.tokenizer()
        let text = try input.corpusText(tokenizer)
        let (tokens, length, corpus, modelProtocol) = (input.tokens, input.length, input.corpus, input.modelProtocol)

        // The rows as (id, architecture, seed offset), the target and the sizes the bands are made of.
        var ids: [String], architectures: [Architecture], seedOffsets: [UInt64], target: [Double], label: String
        var flexiRows: [FlexiBERTRow] = []
        let batch: TokenBatch
        switch kind {
        case .flexiBERT:
            flexiRows = try FlexiBERTBenchmark.load(from: benchmarkURL)
            if let limit { flexiRows = Array(flexiRows.prefix(limit)) }
            ids = flexiRows.map { String($0.id) }
            architectures = flexiRows.map { modelProtocol.architecture(of: $0) }
            seedOffsets = flexiRows.map { UInt64($0.id) }
            target = flexiRows.map(\.glue)
            label = modelProtocol.rawValue
            batch = try text.encoderBatch(batchSize: tokens / length, length: length, cls: tokenizer.clsId,
                                          sep: tokenizer.sepId, seed: seed)
        case .lts:
            var rows = try LTSBenchmark.load(from: benchmarkURL)
            if let limit { rows = Array(rows.prefix(limit)) }
            ids = rows.map(\.id)
            let positions = max(LTSBenchmark.defaultMaxPositions, length)
            architectures = rows.map { $0.architecture(vocabSize: tokenizer.vocabSize, maxPositions: positions) }
            seedOffsets = rows.indices.map { UInt64($0) }
            target = rows.map(\.target)
            label = "lts (decoders, causal LM, WordPiece \(tokenizer.vocabSize))"
            batch = try text.decoderBatch(batchSize: tokens / length, length: length, seed: seed)
        }
        if let maxHidden {
            let keep = architectures.indices.filter { architectures[$0].hidden <= maxHidden }
            guard keep.count >= 2 else { throw CommandError("--max-hidden \(maxHidden) leaves \(keep.count) rows; a ranking needs two") }
            (ids, architectures, seedOffsets, target) = (keep.map { ids[$0] }, keep.map { architectures[$0] },
                                                         keep.map { seedOffsets[$0] }, keep.map { target[$0] })
            if !flexiRows.isEmpty { flexiRows = keep.map { flexiRows[$0] } }
        }
        // FlexiBERT: the parameter count under the protocol in use; LTS: non-embedding parameters.
        let sizes = architectures.map { Double(kind == .lts ? $0.nonEmbeddingParameterCount : $0.parameterCount) }
        let batchTokens = batch.batchSize * batch.length
        FileHandle.standardError.write(Data(("ranking \(ids.count) architectures (\(label)) with "
            + "\(scorers.count) scorers on \(batch.batchSize) × \(batch.length) tokens of \(corpus)\n").utf8))

        var scores = [[Double]](repeating: [], count: scorers.count)
        var seconds = [Double](repeating: 0, count: scorers.count)
        var notes: [String] = []
        let start = DispatchTime.now().uptimeNanoseconds
        for (i, arch) in architectures.enumerated() {
            let context = try ProxyContext(architecture: arch, batch: batch, seed: seed &+ seedOffsets[i],
                                           maskTokenId: tokenizer.maskId, specialTokenIds: tokenizer.specialIds)
            for (p, scorer) in scorers.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                var value = Double.nan
                do {
                    value = try scorer.score(context)
                } catch let error as ProxyError {
                    notes.append("\(scorer.name) on \(ids[i]): \(error) (scored NaN)")
                }
                seconds[p] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                scores[p].append(value)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let eta = elapsed / Double(i + 1) * Double(ids.count - i - 1)
            FileHandle.standardError.write(Data(String(format: "\r[%3d/%d] %@  %.1f s elapsed, ETA %.0f s   ",
                                                       i + 1, ids.count, ids[i], elapsed, eta).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        for note in notes { FileHandle.standardError.write(Data(("note: " + note + "\n").utf8)) }
        let proxyScores = scorers.indices.map {
            ProxyScores(name: scorers[$0].name, scores: scores[$0], secondsPerArch: seconds[$0] / Double(ids.count))
        }
        let report: RankingReport
        switch kind {
        case .flexiBERT:
            report = RankingReport(protocol: label, tokens: batchTokens, rows: flexiRows, proxies: proxyScores,
                                   perTask: perTask, sizes: sizes)
        case .lts:
            report = RankingReport(protocol: label, tokens: batchTokens, ids: ids, target: target, targetName: "-valid_ppl",
                                   proxies: proxyScores, sizes: sizes)
        }
        print(report.table())
        print(String(format: "wall clock %.1f s", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        if let out {
            try report.write(to: URL(fileURLWithPath: out))
            print("wrote \(out)/ranking.json, scores.csv, correlations.csv and \(scorers.count) SVG plots")
        }
    }

    /// The supernet scorer: −(inherited-weight LM loss) of a row's architecture on a fixed batch of --corpus,
    /// tokenised as the supernet was trained (rows get the supernet's vocabulary and positions; the LTS
    /// mapping's embedding is not part of the non-embedding structure it keeps).
    func supernetScorer() throws -> RankingScorer {
        guard let supernet else { throw CommandError("the scorer 'supernet' needs --supernet DIR (a `swiftnas supernet train` run)") }
        let objective = try SupernetObjective.load(supernet: supernet, corpus: input.corpus, batchSize: input.tokens / input.length, length: input.length,
                                                   seed: seed).objective
        let net = objective.supernet
        return .architecture(ObjectiveName.supernet) { row in
            var arch = row
            arch.vocabSize = net.largest.vocabSize
            arch.maxPositions = net.largest.maxPositions
            guard net.model.holds(arch) else { return .nan }
            return -(try objective.evaluate(arch))
        }
    }
}
