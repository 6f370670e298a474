import ArgumentParser
import Foundation
import NASModels
import NASSearch

/// `swiftnas study …`: read a study (as written by `swiftnas search --study FILE|URL`: an SQLite file or a
/// postgresql:// URL). Every subcommand reads it read-only, so it is safe while searches write to it; only
/// after a killed writer does it reopen an SQLite file for writing, which rolls back the unfinished
/// transaction (`StudyStorages.openForReading`).
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Show, rank, plot and export the trials of a study.",
        subcommands: [StudyShow.self, StudyBest.self, StudyPareto.self, StudyExport.self])

    /// Opens the study read-only and reads its trials; failures are `StudyError`s naming the study.
    static func load(_ file: String) throws -> (settings: StudySettings, trials: [Trial]) {
        try StudyStorages.read(file)
    }

    /// Writes `text` to `output` atomically, or to standard output when `output` is nil.
    static func emit(_ text: String, to output: String?) throws {
        guard let output else {
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            return
        }
        do {
            try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
        } catch {
            throw CommandError("cannot write \(output): \(error)")
        }
    }
}

/// `swiftnas study show FILE [--limit N]`: the settings, counts, the trials in order, and why the first ten
/// failed trials failed.
struct StudyShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a study's settings and its trials in order.")

    @Argument(help: "The study: a file, or postgresql://user@host:port/db?study=NAME.")
    var file: String

    @Option(parsing: .unconditional, help: "Show at most N trials (the first N).", transform: NumberArgument.nonNegative)
    var limit: Int?

    func run() throws {
        let (settings, trials) = try StudyCommand.load(file)
        print("study \(file)")
        print(StudyReport.summary(trials, settings: settings))
        print("")
        print(StudyReport.table(trials, settings: settings, limit: limit))
        let failed = trials.filter { $0.state == .failed }
        if !failed.isEmpty { print("") }
        for t in failed.prefix(10) { print("trial \(t.number) failed: \(t.failure ?? "(no reason stored)")") }
        if failed.count > 10 { print("… \(failed.count - 10) more failures (study export --format json lists every reason)") }
    }
}

/// `swiftnas study best FILE [--top K] [--json]`: the best feasible trials by the primary objective.
/// With `--json`, their architectures: the best one's JSON object when K = 1 (an architecture file),
/// an array of K objects otherwise.
struct StudyBest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "best",
        abstract: "The best trials within the study's constraints, by its primary objective.",
        discussion: """
        A trial counts when it is complete, within every constraint of the study and has a finite primary \
        objective. With --json the architecture is printed as JSON: `swiftnas study best s.db --json > \
        arch.json` gives a file that `swiftnas model info --arch arch.json` reads.
        """)

    @Argument(help: "The study: a file, or postgresql://user@host:port/db?study=NAME.")
    var file: String

    @Option(parsing: .unconditional, help: "How many trials.", transform: NumberArgument.positive)
    var top = 1

    @Flag(help: "Print the architecture(s) as JSON (an object when --top is 1, an array otherwise).")
    var json = false

    func run() throws {
        let (settings, trials) = try StudyCommand.load(file)
        let best = StudyReport.best(trials, settings: settings, top: top)
        guard !best.isEmpty else {
            throw CommandError("study \(file): no complete trial within the constraints (\(trials.count) trials)")
        }
        if json {
            let architectures = try best.map { try JSONValue(encoding: $0.architecture) }
            let value = top == 1 ? architectures[0] : .array(architectures)
            print(try value.serialized(pretty: true))
        } else {
            print(StudyReport.table(best, settings: settings))
        }
    }
}

/// `swiftnas study pareto FILE [--svg OUT]`: the Pareto front of the primary objective against the
/// study's Pareto cost.
struct StudyPareto: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pareto",
        abstract: "The Pareto front of the primary objective against the study's Pareto cost.")

    @Argument(help: "The study: a file, or postgresql://user@host:port/db?study=NAME.")
    var file: String

    @Option(help: ArgumentHelp("Also write the Pareto plot (SVG) here.", valueName: "file"))
    var svg: String?

    func run() throws {
        let (settings, trials) = try StudyCommand.load(file)
        let front = StudyReport.paretoFront(trials, settings: settings)
        let objective = settings.objectives.first?.name ?? "objective"
        print("Pareto front of \(objective) against \(settings.paretoCost.rawValue): \(front.count) of \(trials.count) trials")
        print(StudyReport.table(front, settings: settings))
        if let svg {
            try StudyCommand.emit(StudyReport.paretoSVG(trials, settings: settings), to: svg)
            print("plot → \(svg)")
        }
    }
}

/// `swiftnas study export FILE --format json|csv [--output OUT]`: every trial, to standard output or a
/// file (written atomically). Formats: `StudyReport.exportJSON` and `StudyReport.exportCSV`.
struct StudyExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export every trial as JSON or CSV.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    @Argument(help: "The study: a file, or postgresql://user@host:port/db?study=NAME.")
    var file: String

    @Option(help: "json or csv.")
    var format: Format

    @Option(help: ArgumentHelp("Write here instead of standard output.", valueName: "file"))
    var output: String?

    func run() throws {
        let (settings, trials) = try StudyCommand.load(file)
        let text: String
        switch format {
        case .json: text = try StudyReport.exportJSON(trials).serialized(pretty: true) + "\n"
        case .csv: text = StudyReport.exportCSV(trials, settings: settings)
        }
        try StudyCommand.emit(text, to: output)
    }
}
