import ArgumentParser
import NASModels

/// A run's length in optimizer steps and its learning-rate schedule (for commands that count steps
/// rather than epochs): --steps, --warmup, --schedule.
struct StepScheduleOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Optimizer steps.", transform: NumberArgument.positive) var steps = 1000
    @Option(parsing: .unconditional, help: "Warm-up steps.", transform: NumberArgument.nonNegative) var warmup = 100
    @Option(help: "Decay after warm-up.") var schedule = LRSchedule.Kind.linear

    func validate() throws {
        guard warmup <= steps else { throw ValidationError("--warmup (\(warmup)) must be between 0 and --steps (\(steps))") }
    }
}
