import ArgumentParser
import Foundation
import NASModels
import NASTensor
import NASTrain

/// The options every training command shares: the run folder and resume, the batch, AdamW, clipping, the
/// seed, the checkpoint/log/eval cadence and the engine threads. The learning rate and the log cadence
/// have per-command defaults (`Defaults`), resolved by `trainingOptions`.
struct TrainingOptionGroup: ParsableArguments {
    /// The defaults that differ between commands.
    struct Defaults {
        var learningRate: Float
        var logEvery: Int
    }

    @Option(help: "Run folder (checkpoints, metrics.jsonl; finetune: eval.json).")
    var out: String
    @Flag(help: "Continue the run in --out from its latest checkpoint.")
    var resume = false

    @Option(help: "Sequences (or examples) per step.") var batchSize = 32
    @Option(help: "Peak learning rate (default: pretrain 5e-4, finetune 1e-4).") var lr: Float?
    @Option(help: "Decoupled weight decay (AdamW).") var weightDecay: Float = 0.01
    @Option(help: "Global gradient-norm clip (0: off).") var clip: Float = 1
    @Option(help: "Random seed (initialisation, data order, masking, dropout).") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps (and at the end).") var checkpointEvery = 500
    @Option(help: "Log every N steps (default: pretrain 10, finetune 20).") var logEvery: Int?
    @Option(help: "Evaluate every N steps (and at the end).") var evalEvery = 0
    @Option(help: "Engine threads (default: all cores).") var threads: Int?
    @Option(help: ArgumentHelp("Wall-clock budget: stop with a checkpoint after this many minutes (e.g. to compare runs at equal time; pair with --schedule constant).", valueName: "minutes"))
    var timeBudget: Double?

    func validate() throws {
        guard batchSize > 0, checkpointEvery > 0, (logEvery ?? 1) > 0, evalEvery >= 0 else {
            throw ValidationError("--batch-size, --checkpoint-every and --log-every must be positive, --eval-every ≥ 0")
        }
        if let lr { guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") } }
        if let timeBudget { guard timeBudget > 0, timeBudget.isFinite else { throw ValidationError("--time-budget must be positive") } }
    }

    /// The run folder.
    var run: URL { URL(fileURLWithPath: out) }

    /// Sets the engine's threads when --threads is given.
    func applyThreads() {
        if let threads { Engine.threads = threads }
    }

    /// The trainer's options: these options (with the command's defaults) for a run of `steps` steps,
    /// plus everything else that shapes the run (`settings`, compared on resume).
    func trainingOptions(steps: Int, warmupSteps: Int, schedule: LRSchedule.Kind, defaults: Defaults,
                         learningRateFloor: Float? = nil, settings: [String: String]) -> TrainingOptions {
        TrainingOptions(steps: steps, learningRate: lr ?? defaults.learningRate, warmupSteps: warmupSteps, schedule: schedule,
                        weightDecay: weightDecay, clipNorm: clip, seed: seed, checkpointEvery: checkpointEvery,
                        logEvery: logEvery ?? defaults.logEvery, evalEvery: evalEvery,
                        learningRateFloor: learningRateFloor.flatMap { $0 > 0 ? $0 : nil }, settings: settings)
    }
}
