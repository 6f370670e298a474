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

    @Option(parsing: .unconditional, help: "Sequences (or examples) per step.", transform: NumberArgument.positive)
    var batchSize = 32
    @Option(parsing: .unconditional, help: "Peak learning rate (default: pretrain 5e-4, finetune 1e-4).",
            transform: NumberArgument.positive)
    var lr: Float?
    @Option(parsing: .unconditional, help: "Decoupled weight decay (AdamW).", transform: NumberArgument.nonNegative)
    var weightDecay: Float = 0.01
    @Option(parsing: .unconditional, help: "Global gradient-norm clip (0: off).", transform: NumberArgument.nonNegative)
    var clip: Float = 1
    @Option(parsing: .unconditional, help: "Random seed (initialisation, data order, masking, dropout).",
            transform: NumberArgument.seed)
    var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Checkpoint every N steps (and at the end).", transform: NumberArgument.positive)
    var checkpointEvery = 500
    @Option(parsing: .unconditional, help: "Log every N steps (default: pretrain 10, finetune 20).",
            transform: NumberArgument.positive)
    var logEvery: Int?
    @Option(parsing: .unconditional, help: "Evaluate every N steps (and at the end).", transform: NumberArgument.nonNegative)
    var evalEvery = 0
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Wall-clock budget: stop with a checkpoint after this many minutes of training, counted over resumes (e.g. to compare runs at equal time; pair with --schedule constant). supernet search then selects.",
                               valueName: "minutes"),
            transform: NumberArgument.positive)
    var timeBudget: Double?
    @Option(help: ArgumentHelp("GEMM arithmetic: fp32, or bf16 mixed precision (bf16 operands, fp32 accumulation, fp32 master weights and optimizer state; fp32 with a note on a CPU without AVX512_BF16).",
                               valueName: "fp32|bf16"))
    var precision = Precision.fp32
    @OptionGroup var engine: EngineOptions

    /// The run folder.
    var run: URL { URL(fileURLWithPath: out) }

    /// The trainer's options: these options (with the command's defaults) for a run of `steps` steps,
    /// plus everything else that shapes the run (`settings`, compared on resume).
    func trainingOptions(steps: Int, warmupSteps: Int, schedule: LRSchedule.Kind, defaults: Defaults,
                         learningRateFloor: Float? = nil, settings: [String: String]) -> TrainingOptions {
        TrainingOptions(steps: steps, learningRate: lr ?? defaults.learningRate, warmupSteps: warmupSteps, schedule: schedule,
                        weightDecay: weightDecay, clipNorm: clip, seed: seed, checkpointEvery: checkpointEvery,
                        logEvery: logEvery ?? defaults.logEvery, evalEvery: evalEvery,
                        learningRateFloor: learningRateFloor.flatMap { $0 > 0 ? $0 : nil }, precision: precision, settings: settings)
    }
}
