import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor

/// `proxy evolve --ranking FILE`: architecture-ranking proxies evolved over `ArchitectureFeatures` of a FlexiBERT
/// benchmark's rows (measured once and kept in --features), fitness the within-band Kendall τ against the rows' GLUE
/// score. Cross-fitted on two halves of the rows — by id/2 mod 2, since the dev half holds only the even upstream ids
/// (ids ≡ 0 and ≡ 2 mod 4) — evolved on one half and judged on the other, then the reverse, so no reported τ is a
/// training score; W-PCA (the genotype mean(params * pca)) starts every population and is reported beside it.
struct RankingProxyEvolution {
    /// The features of every row, with the setting they were measured in (a file of this is resumed).
    struct FeatureFile: Codable, Equatable {
        struct Row: Codable, Equatable {
            var id: Int
            var glue: Double
            var parameters: Double
            var seconds: Double
            var leaves: [String: ProxyValue]
        }
        var benchmark: String
        var modelProtocol: String
        var tokens: Int
        var length: Int
        var eta: Double
        var corpus: String
        var rows: [Row]

        func sameSetting(as other: FeatureFile) -> Bool {
            (benchmark, modelProtocol, tokens, length, eta, corpus) == (other.benchmark, other.modelProtocol, other.tokens, other.length, other.eta, other.corpus)
        }
    }

    struct Correlation: Codable { var proxy: String; var kendall: Double; var withinBand: Double }
    struct Fold: Codable {
        var fit: String, test: String
        var genotype: ProxyGenotype
        var formula: String
        var fitWithinBand: Double
        var evaluated: Int
        var heldOut: [Correlation]
    }
    struct Report: Codable {
        var genotype: ProxyGenotype
        var formula: String
        var eta: Double
        var folds: [Fold]
        var featureSecondsPerArchitecture: Double
        var evolutionSeconds: Double
    }

    /// W-PCA as a genotype: mean(params ⊙ k) = #params · (1/L) Σ_l k_l.
    static let wpca = ProxyGenotype(leaves: ["params", "pca"], chains: [[], []], binary: .product, reduction: .mean)
    static let params = ProxyGenotype(leaves: ["params", "params"], chains: [[], []], binary: .sum, reduction: .mean)

    var ranking: URL
    var input: RankingInputOptions
    var features: URL
    var settings: ProxyEvolution.Settings
    var out: URL

    func run() throws {
        let file = try measure()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let a = file.rows.filter { ($0.id / 2) % 2 == 0 }, b = file.rows.filter { ($0.id / 2) % 2 == 1 }
        guard a.count >= 10, b.count >= 10 else {
            throw ValidationError("\(ranking.path): \(a.count) and \(b.count) rows with id ≡ 0 and ≡ 2 (mod 4); the cross-fit needs at least 10 of each")
        }
        let folds = try [fold(fit: a, test: b, names: ("id ≡ 0 mod 4", "id ≡ 2 mod 4")), fold(fit: b, test: a, names: ("id ≡ 2 mod 4", "id ≡ 0 mod 4"))]
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        for f in folds {
            print("fit on the rows with \(f.fit) (within-band τ \(String(format: "%.3f", f.fitWithinBand)), \(f.evaluated) evaluated): \(f.formula)")
            for c in f.heldOut {
                print(String(format: "  held out (%@)  %-10@ τ %.3f   within-band τ %.3f", f.test, c.proxy, c.kendall, c.withinBand))
            }
        }
        let perArch = file.rows.map(\.seconds).reduce(0, +) / Double(file.rows.count)
        print(String(format: "features %.2f s per architecture; evolution %.0f s", perArch, seconds))
        try JSONFile.write(Report(genotype: folds[0].genotype, formula: folds[0].formula, eta: input.eta, folds: folds,
                                  featureSecondsPerArchitecture: perArch, evolutionSeconds: seconds), to: out)
        print("→ \(out.path) (the proxy of the first fold; use it as --proxies evolved:\(out.path))")
    }

    func fold(fit: [FeatureFile.Row], test: [FeatureFile.Row], names: (String, String)) throws -> Fold {
        func correlation(_ g: ProxyGenotype, _ rows: [FeatureFile.Row]) -> (Double, Double) {
            let s = rows.map { g.evaluate($0.leaves) ?? .nan }, truth = rows.map(\.glue)
            return (RankCorrelation.kendallTauB(s, truth), WithinBandCorrelation.kendall(sizes: rows.map(\.parameters), proxy: s, truth: truth).kendall)
        }
        let sizes = fit.map(\.parameters), truth = fit.map(\.glue)
        let evolution = ProxyEvolution(leafNames: ArchitectureFeatures.leafNames, samples: fit.map(\.leaves)) {
            WithinBandCorrelation.kendall(sizes: sizes, proxy: $0, truth: truth).kendall
        }
        let result = try evolution.run(settings, start: [Self.wpca])
        let best = result.best.genotype
        let heldOut = [("evolved", best), ("w-pca", Self.wpca), ("params", Self.params)].map { name, g -> Correlation in
            let (tau, within) = correlation(g, test)
            return Correlation(proxy: name, kendall: tau, withinBand: within)
        }
        return Fold(fit: names.0, test: names.1, genotype: best, formula: best.description, fitWithinBand: result.best.fitness,
                    evaluated: result.evaluated, heldOut: heldOut)
    }

    /// The features of every row: read from --features when it holds this setting, the missing rows measured and saved
    /// every 10 rows (a long measurement resumes).
    func measure() throws -> FeatureFile {
        let rows = try FlexiBERTBenchmark.load(from: ranking)
        let tokenizer = try input.tokenizer()
        let batch = try input.corpusText(tokenizer).encoderBatch(batchSize: input.tokens / input.length, length: input.length,
                                                                 cls: tokenizer.clsId, sep: tokenizer.sepId, seed: 0)
        var file = FeatureFile(benchmark: ranking.relativePath, modelProtocol: input.modelProtocol.rawValue, tokens: input.tokens, length: input.length,
                               eta: input.eta, corpus: input.corpus, rows: [])
        if FileManager.default.fileExists(atPath: features.path) {
            let stored = try JSONFile.read(FeatureFile.self, from: features)
            guard stored.sameSetting(as: file) else {
                throw ValidationError("\(features.path) holds features of another setting (benchmark, protocol, batch or η); give another --features")
            }
            file = stored
        }
        let done = Set(file.rows.map(\.id))
        let missing = rows.filter { !done.contains($0.id) }
        for (i, row) in missing.enumerated() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let context = try ProxyContext(architecture: input.modelProtocol.architecture(of: row), batch: batch, seed: UInt64(row.id),
                                           maskTokenId: tokenizer.maskId, specialTokenIds: tokenizer.specialIds)
            let leaves = try ArchitectureFeatures.measure(context, eta: input.eta)
            file.rows.append(.init(id: row.id, glue: row.glue, parameters: Double(context.architecture.parameterCount),
                                   seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, leaves: leaves))
            if (i + 1) % 10 == 0 || i + 1 == missing.count {
                try JSONFile.write(file, to: features)
                FileHandle.standardError.write(Data("\rfeatures: \(file.rows.count)/\(rows.count) architectures   ".utf8))
            }
        }
        if !missing.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
        return file
    }
}
