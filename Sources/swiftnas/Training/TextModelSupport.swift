import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// The CLI side of the training commands: the architecture to train (a file or a study's trial), and the
/// terminal (progress line, Ctrl-C, the closing note).
enum TextModelSupport {
    /// The architecture named by `--arch FILE` or `--study FILE [--rank K]`.
    static func architecture(arch: String?, study: String?, rank: Int) throws -> Architecture {
        switch (arch, study) {
        case (let a?, nil):
            return try Architecture.load(from: URL(fileURLWithPath: a))
        case (nil, let s?):
            let (settings, trials) = try StudyStorages.read(s)
            let best = StudyReport.best(trials, settings: settings, top: rank)
            guard best.count == rank else {
                throw ValidationError("\(s): the study has \(best.count) feasible complete trial(s), so there is no rank \(rank)")
            }
            return best[rank - 1].architecture
        default:
            throw ValidationError("give exactly one of --arch FILE or --study FILE")
        }
    }

    /// Hooks a trainer to the terminal: a progress line, log lines when not a terminal, Ctrl-C, and an
    /// optional wall-clock budget (minutes of training, summed over resumes: `Trainer.trainingSeconds`)
    /// after which the run stops with a checkpoint.
    /// The trainer's notes from `prepare` (e.g. which checkpoint a resume took) go to standard error first.
    static func attach(_ trainer: Trainer, label: String, unit: String = "tokens", timeBudget: Double? = nil) -> ProgressLine {
        for note in trainer.notes { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        let progress = ProgressLine()
        Interrupt.install()
        // Under mpirun, Ctrl-C ends the ranks at once; mpirun forwards SIGUSR1 to every rank instead
        // (`kill -USR1 <mpirun's pid>`), which stops the job the way Ctrl-C stops one process: together, with a checkpoint.
        signal(SIGUSR1) { _ in Interrupt.requested = true }
        trainer.shouldStop = { [unowned trainer] in
            Interrupt.requested || timeBudget.map { trainer.trainingSeconds / 60 >= $0 } ?? false
        }
        trainer.onProgress = { p in
            var text = (progress.isTerminal ? ProgressLine.bar(Double(p.step) / Double(p.steps)) + " " : "")
                + "\(label) step \(p.step)/\(p.steps)  loss \(String(format: "%.4f", p.loss))  "
                + "\(String(format: "%.0f", p.tokensPerSecond)) \(unit)/s"
            if let eta = p.etaSeconds { text += "  ETA " + ProgressLine.duration(eta) }
            progress.update(text)
        }
        return progress
    }

    /// After training: a note when interrupted (exit 130) or out of time (exit 0), the checkpoint folder.
    static func finish(_ trainer: Trainer, progress: ProgressLine) throws {
        progress.finish()
        if trainer.interrupted && Interrupt.requested {
            print("interrupted at step \(trainer.step); checkpoint saved in \(trainer.run.path). Continue with the same command and --resume.")
            throw ExitCode(130)
        }
        if trainer.interrupted { print("time budget reached at step \(trainer.step) of \(trainer.options.steps)") }
        if let folder = try TrainingCheckpoint.latest(in: trainer.run) { print("checkpoint → \(folder.path)") }
        print("metrics log → \(trainer.run.appendingPathComponent("metrics.jsonl").path)")
    }
}
