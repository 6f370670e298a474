import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASTrain

/// `swiftnas quantize search --checkpoint DIR --task sst-2 --max-bits-per-weight B --proxy P`: the bit configuration of
/// the model's units that a training-free proxy scores best under the budget (`BitAllocation`, exact for these additive
/// proxies), then measured for real: the task accuracy with those bits (`MixedPrecision`: per-channel weights, 8-bit
/// inputs, embeddings and head at 8 bits).
struct QuantizeSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Allocate per-unit weight bits under a size budget by a training-free proxy, then evaluate.")

    @Option(help: "A fine-tuned checkpoint folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @Option(help: "The checkpoint's task (a check; default: whatever it was fine-tuned on).")
    var task: String?
    @Option(parsing: .unconditional, help: "The budget: average weight bits over the units (Σ b·n / Σ n).", transform: QuantizeSearch.budget)
    var maxBitsPerWeight: Double
    @Option(help: "The proxy: uniform (every unit at the budget), size, hawq, fisher, snip, hessian-trace, fisher-trace, or a file of `proxy evolve`.")
    var proxy: AllocationProxy = .handMade(.hawq)
    @Option(help: "The bit widths a unit may take, comma-separated.")
    var bits: BitChoices = BitChoices(values: [2, 3, 4])
    @Option(help: "The weight grid: uniform (round to nearest) or power (PowerQuant, a data-free exponent per unit and width).")
    var weightGrid: SimulatedQuantization.Grid = .uniform
    @OptionGroup var calibration: UnitStatisticsOptions
    @OptionGroup var evaluation: TaskEvaluationOptions
    @Option(help: "Write the configuration and its accuracy as JSON to this file.")
    var json: String?
    @OptionGroup var engine: EngineOptions

    @Sendable static func budget(_ text: String) throws -> Double {
        guard let b = Double(text), (2...8).contains(b) else { throw ValidationError("expected average bits per weight in 2…8, got '\(text)'") }
        return b
    }

    func validate() throws {
        guard weightGrid != .nupes else { throw ValidationError("--weight-grid nupes learns one model's weights (evaluate --weight-grid nupes); mixed precision takes uniform or power") }
    }

    func run() throws {
        engine.apply()
        let (taskModel, mixed, folder) = try QuantizationInputs.model(checkpoint, grid: weightGrid)
        if let task, task != taskModel.task.rawValue {
            throw ValidationError("\(folder.path) was fine-tuned on \(taskModel.task.rawValue), not \(task)")
        }
        let sizes = mixed.units.map(\.parameters)
        func scorer() throws -> ConfigurationScorer {
            let statistics = try calibration.statistics(mixed, taskModel: taskModel, checkpoint: folder, data: evaluation.data,
                                                        maxLength: evaluation.maxLength)
            return ConfigurationScorer(mixed, statistics: statistics, choices: bits.values)
        }
        func allocate(_ gain: (Int, Int) -> Double) throws -> [Int] {
            guard let best = BitAllocation.best(sizes: sizes, choices: bits.values, bitsPerWeight: maxBitsPerWeight, gain: gain) else {
                throw ValidationError("no configuration of \(bits.values) fits \(maxBitsPerWeight) bits per weight")
            }
            return best
        }
        let configuration: [Int]
        switch proxy {
        case .uniform:
            guard let b = bits.values.last(where: { Double($0) <= maxBitsPerWeight }) else {
                throw ValidationError("no bit width of \(bits.values) fits \(maxBitsPerWeight) bits per weight")
            }
            configuration = Array(repeating: b, count: sizes.count)
        case .handMade(let name):
            configuration = try allocate(try scorer().gain(name))
        case .evolved(let path):
            let file = try JSONFile.read(EvolvedProxyFile.self, from: URL(fileURLWithPath: path))
            guard let gain = try scorer().gain(file.genotype) else {
                throw ValidationError("\(path): the proxy \(file.formula) is not defined on this model's units")
            }
            configuration = try allocate(gain)
        }
        let batches = try evaluation.batches(for: taskModel, checkpoint: folder)
        mixed.apply(configuration)
        let accuracy = taskModel.evaluate(batches.batches)["accuracy"] ?? .nan
        let bpw = mixed.bitsPerWeight(configuration)
        print("configuration (\(proxy)): " + zip(mixed.units, configuration).map { "\($0.name)=\($1)" }.joined(separator: " "))
        print(String(format: "%.3f bits per weight (budget %.2f): %@ %@ accuracy %.4f", bpw, maxBitsPerWeight, taskModel.task.rawValue,
                     evaluation.split, accuracy))
        if let json {
            let figures: JSONValue = .object([
                "checkpoint": .string(folder.path), "proxy": .string("\(proxy)"), "budget": .double(maxBitsPerWeight),
                "bits_per_weight": .double(bpw), "accuracy": .double(accuracy), "bits": .array(configuration.map { .int($0) }),
                "units": .array(mixed.units.map { .string($0.name) })])
            try AtomicFile.write(Data((try figures.serialized(pretty: true) + "\n").utf8), to: URL(fileURLWithPath: json))
        }
    }
}

/// `--proxy`: uniform, a hand-made proxy's name, or an evolved proxy's file (`*.json`).
enum AllocationProxy: ExpressibleByArgument, CustomStringConvertible {
    case uniform
    case handMade(ConfigurationScorer.HandMade)
    case evolved(String)

    init?(argument: String) {
        if argument == "uniform" { self = .uniform }
        else if let h = ConfigurationScorer.HandMade(rawValue: argument) { self = .handMade(h) }
        else if argument.hasSuffix(".json") { self = .evolved(argument) }
        else { return nil }
    }

    var description: String {
        switch self {
        case .uniform: return "uniform"
        case .handMade(let h): return h.rawValue
        case .evolved(let path): return "evolved (\(path))"
        }
    }
}
