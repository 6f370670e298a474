import ArgumentParser
import NASModels

/// A run's length in optimizer steps and its learning-rate schedule (for commands that count steps
/// rather than epochs): --steps, --warmup, --schedule.
struct StepScheduleOptions: ParsableArguments {
    @Option(help: "Optimizer steps.") var steps = 1000
    @Option(help: "Warm-up steps.") var warmup = 100
    @Option(help: "Decay after warm-up.") var schedule = LRSchedule.Kind.linear

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
        guard warmup >= 0, warmup <= steps else { throw ValidationError("--warmup (\(warmup)) must be between 0 and --steps (\(steps))") }
    }
}
