import ArgumentParser
import Foundation
import NASModels
import NASText

/// `swiftnas augment …`: text augmentation policies.
struct AugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment", abstract: "Text augmentation policies (RandAugment for text).",
        subcommands: [AugmentSearch.self])
}

/// `swiftnas augment search`: RandAugment's grid search (Cubuk et al., "RandAugment: Practical automated data
/// augmentation with a reduced search space", NeurIPS 2020, §3): the policy has two numbers, N operations per
/// example at one global magnitude M, so a plain grid over (N, M) replaces a learned policy. Every grid point
/// is one `finetune --augment N,M --holdout K` run (the options after `--`), trained on the training set minus
/// its last K examples and scored on those K, so that the choice never sees the dev set. The point N = 0
/// (no augmentation) is always run as the baseline. With several `--seeds`, a point's score is the mean
/// over its runs.
///
/// The study is the folder `--out`: one run folder per point and seed (`n2-m5-seed0`, resumable like any
/// run) and `grid.json`, rewritten atomically after every run; a stopped search continues where it stopped
/// (finished runs are read back, a run without `eval.json` resumes from its checkpoint, if it wrote one).
struct AugmentSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Grid search of RandAugment's (N, M) on a held-out split of the training set.",
        discussion: """
        Example: swiftnas augment search --out runs/grid --holdout 100 --counts 1 2 3 --magnitudes 2 5 8 -- \\
        --arch student.json --init-from MODEL --teacher TEACHER --task sst-2 --limit 500 --epochs 5
        """)

    @Option(help: "Study folder: a run per grid point and seed, and grid.json.")
    var out: String
    @Option(parsing: .unconditional, help: "Training examples held out for scoring (the last N, after --limit).",
            transform: NumberArgument.positive)
    var holdout: Int
    @Option(parsing: .upToNextOption, help: "Operations per example (N ≥ 1; N = 0 is always run as the baseline).")
    var counts: [Int] = [1, 2, 3]
    @Option(parsing: .upToNextOption, help: "Magnitudes (1…10).")
    var magnitudes: [Int] = [2, 5, 8]
    @Option(parsing: .upToNextOption, help: "Fine-tuning seeds per point (default: the seed after --, or 0).")
    var seeds: [UInt64] = []
    @Argument(parsing: .postTerminator, help: "The finetune options (after --), without --out, --augment, --holdout, --resume, --seed.")
    var finetune: [String] = []

    /// One finished run: a grid point, its seed and its held-out metrics.
    struct Run: Codable, Equatable {
        var count: Int
        var magnitude: Int
        var seed: UInt64
        var metrics: [String: Double]
        var seconds: Double
    }

    /// grid.json: every finished run, and per point the mean of the primary metric.
    struct Grid: Codable {
        struct Point: Codable { var count: Int; var magnitude: Int; var runs: Int; var mean: Double }
        var metric: String
        var holdout: Int
        var finetune: [String]
        var runs: [Run]
        var points: [Point]
        var best: Point?
    }

    mutating func validate() throws {
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--counts must be at least 1 (N = 0 always runs)") }
        guard !magnitudes.isEmpty, magnitudes.allSatisfy({ (1...10).contains($0) }) else { throw ValidationError("--magnitudes must be in 1…10") }
        for option in ["--out", "--augment", "--holdout", "--resume", "--seed"] where finetune.contains(where: { $0 == option || $0.hasPrefix(option + "=") }) {
            throw ValidationError("\(option) after -- is set by augment search for each run; leave it out")
        }
        // The finetune options are checked once here, so that a typo fails before the first run.
        _ = try Finetune.parse(runArguments(count: 0, magnitude: 0, seed: 0))
    }

    /// A run's finetune arguments; the baseline (N = 0) runs without --augment.
    func runArguments(count: Int, magnitude: Int, seed: UInt64) -> [String] {
        finetune + ["--out", folder(count: count, magnitude: magnitude, seed: seed).path, "--holdout", "\(holdout)", "--seed", "\(seed)"]
            + (count > 0 ? ["--augment", "\(count),\(magnitude)"] : [])
    }

    func folder(count: Int, magnitude: Int, seed: UInt64) -> URL {
        URL(fileURLWithPath: out).appendingPathComponent("n\(count)-m\(magnitude)-seed\(seed)")
    }

    func run() throws {
        let base = try Finetune.parse(finetune + ["--out", out])   // the task, for its primary metric
        let metric = base.task.primaryMetric
        let seeds = self.seeds.isEmpty ? [UInt64(0)] : self.seeds
        let points = [(0, 0)] + counts.flatMap { n in magnitudes.map { (n, $0) } }
        let previous = try Self.readGrid(out)
        if let previous, previous.finetune != finetune || previous.holdout != holdout {
            throw CommandError("\(out)/grid.json was made with other options (--holdout \(previous.holdout), after --: "
                                  + "\(previous.finetune.joined(separator: " "))); use a new --out")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var runs: [Run] = []
        for (n, m) in points {
            for seed in seeds {
                let folder = self.folder(count: n, magnitude: m, seed: seed)
                let evalFile = folder.appendingPathComponent("eval.json")
                var seconds = 0.0
                if !FileManager.default.fileExists(atPath: evalFile.path) {
                    let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
                    let resume = entries.contains { $0 == "latest" || $0.hasPrefix("checkpoint-") }
                    print("augment search: N = \(n), M = \(m), seed \(seed)" + (resume ? " (resumed)" : ""))
                    let command = try Finetune.parse(runArguments(count: n, magnitude: m, seed: seed) + (resume ? ["--resume"] : []))
                    let start = Date()
                    try command.run()
                    seconds = Date().timeIntervalSince(start)
                } else if let earlier = previous?.runs.first(where: { $0.count == n && $0.magnitude == m && $0.seed == seed }) {
                    seconds = earlier.seconds
                }
                let eval = try JSONFile.read([String: JSONValue].self, from: evalFile)
                var metrics: [String: Double] = [:]
                for (key, value) in eval { if case .double(let v) = value { metrics[key] = v } }
                guard metrics[metric] != nil else {
                    throw JSONFile.Failure(file: evalFile.path, field: metric, "is missing (the task's primary metric)")
                }
                runs.append(Run(count: n, magnitude: m, seed: seed, metrics: metrics, seconds: seconds))
                try write(Self.grid(runs, metric: metric, holdout: holdout, finetune: finetune))
            }
        }
        let grid = Self.grid(runs, metric: metric, holdout: holdout, finetune: finetune)
        print(Self.table(grid))
        if let best = grid.best {
            print(String(format: "best: --augment %d,%d (held-out %@ %.4f over %d run(s)); %@", best.count, best.magnitude, metric, best.mean,
                         best.runs, URL(fileURLWithPath: out).appendingPathComponent("grid.json").path))
        }
    }

    func write(_ grid: Grid) throws { try JSONFile.write(grid, to: URL(fileURLWithPath: out).appendingPathComponent("grid.json")) }

    static func readGrid(_ out: String) throws -> Grid? {
        let url = URL(fileURLWithPath: out).appendingPathComponent("grid.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONFile.read(Grid.self, from: url)
    }

    /// The points' means in grid order; the best is the highest mean, ties to the earlier point (fewer, weaker
    /// operations: the baseline wins a tie).
    static func grid(_ runs: [Run], metric: String, holdout: Int, finetune: [String]) -> Grid {
        var points: [Grid.Point] = []
        for run in runs where !points.contains(where: { $0.count == run.count && $0.magnitude == run.magnitude }) {
            let values = runs.filter { $0.count == run.count && $0.magnitude == run.magnitude }.compactMap { $0.metrics[metric] }
            points.append(.init(count: run.count, magnitude: run.magnitude, runs: values.count, mean: values.reduce(0, +) / Double(values.count)))
        }
        let best = points.reduce(nil as Grid.Point?) { best, p in best.map { p.mean > $0.mean ? p : $0 } ?? p }
        return Grid(metric: metric, holdout: holdout, finetune: finetune, runs: runs, points: points, best: best)
    }

    /// The grid as a table: N down, M across, each cell the mean held-out metric (×100).
    static func table(_ grid: Grid) -> String {
        let ms = Array(Set(grid.points.filter { $0.count > 0 }.map(\.magnitude))).sorted()
        var lines = ["held-out \(grid.metric) (×100, mean over seeds)", "N \\ M  " + ms.map { String(format: "%6d", $0) }.joined()]
        if let baseline = grid.points.first(where: { $0.count == 0 }) { lines.append(String(format: "0      %6.2f (no augmentation)", 100 * baseline.mean)) }
        for n in Array(Set(grid.points.map(\.count))).sorted() where n > 0 {
            lines.append(String(format: "%-7d", n) + ms.map { m in
                grid.points.first { $0.count == n && $0.magnitude == m }.map { String(format: "%6.2f", 100 * $0.mean) } ?? "     -"
            }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
