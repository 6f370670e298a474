import ArgumentParser
import Foundation

/// `swiftnas bench …`: release-build measurements (never run as tests). One subcommand per bench.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine and models (build with -c release).",
        subcommands: [EngineBench.self, ModelBench.self, ProxyBench.self, SearchBench.self, SupernetBench.self, SuperpositionBench.self, CoordinationBench.self,
                      DataParallelBench.self])
}

/// Options shared by every bench.
struct BenchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write the results as a JSON array to this file.", valueName: "file"))
    var json: String?

    @Option(parsing: .unconditional, help: "Threads for the engine and for the raw BLAS reference (default: all cores).",
            transform: NumberArgument.threads)
    var threads: Int?

    @Option(parsing: .unconditional, help: "Timed runs per measurement; the median is reported (at least 10).",
            transform: NumberArgument.positive)
    var runs: Int = 10

    @Flag(help: "Smoke run: 3 timed runs after 1 warm-up (figures not for reporting).")
    var quick = false

    @Option(help: ArgumentHelp("Run only the measurements whose name contains this text.", valueName: "text"))
    var filter: String?

    mutating func validate() throws {
        if !quick && runs < 10 {
            throw ValidationError("--runs must be at least 10 for a reported median (use --quick for a smoke run)")
        }
    }

    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }
    var timedRuns: Int { quick ? 3 : runs }
    var warmupRuns: Int { quick ? 1 : 2 }

    /// Whether the measurement called `name` is selected by `--filter`.
    func selects(_ name: String) -> Bool { filter.map { name.contains($0) } ?? true }
}
