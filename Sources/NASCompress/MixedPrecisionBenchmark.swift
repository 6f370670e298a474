import Foundation
import NASModels
import NASTensor

/// A mixed-precision benchmark of one trained model (EMQ's MQ-Bench-101, for transformers): the measured accuracy
/// of random bit configurations (`MixedPrecision`), the ground truth that bit-allocation proxies are fitted to
/// (`split == .train`) and judged on (`.test`). Stored as JSON with the model's SHA-256, so a proxy is never scored
/// against another model's accuracies.
public struct MixedPrecisionBenchmark: Codable, Equatable, Sendable {
    public enum Split: String, Codable, Sendable { case train, test }

    public struct Configuration: Codable, Equatable, Sendable {
        public var id: Int
        public var bits: [Int]
        public var bitsPerWeight: Double
        public var accuracy: Double
        public var split: Split
    }

    /// The checkpoint folder, the SHA-256 of its `model.safetensors`, its task and fp32 accuracy.
    public var checkpoint: String
    public var sha256: String
    public var task: String
    public var fp32Accuracy: Double
    /// The accuracy of always predicting the majority class of the evaluation set.
    public var chance: Double
    /// The evaluation set: split file, number of examples, longest input in tokens.
    public var evaluationSplit: String
    public var examples: Int
    public var maxLength: Int
    /// The quantizer: weight grid (uniform or power), bits of the units' inputs, bits of embeddings and head.
    public var grid: String
    public var activationBits: Int
    public var fixedBits: Int
    /// The bit widths a unit draws from, uniformly and independently, and the seed of the draws.
    public var bitChoices: [Int]
    public var seed: UInt64
    public var units: [MixedPrecision.Unit]
    public var configurations: [Configuration]

    public init(checkpoint: String, sha256: String, task: String, fp32Accuracy: Double, chance: Double, evaluationSplit: String,
                examples: Int, maxLength: Int, grid: String, activationBits: Int, fixedBits: Int, bitChoices: [Int], seed: UInt64,
                units: [MixedPrecision.Unit], configurations: [Configuration] = []) {
        (self.checkpoint, self.sha256, self.task, self.fp32Accuracy, self.chance) = (checkpoint, sha256, task, fp32Accuracy, chance)
        (self.evaluationSplit, self.examples, self.maxLength) = (evaluationSplit, examples, maxLength)
        (self.grid, self.activationBits, self.fixedBits, self.bitChoices, self.seed) = (grid, activationBits, fixedBits, bitChoices, seed)
        (self.units, self.configurations) = (units, configurations)
    }

    /// The `count` configurations of `seed`: configuration i draws each unit's bits with generator (seed, i), so a
    /// longer benchmark extends a shorter one.
    public static func draws(count: Int, units: Int, choices: [Int], seed: UInt64) -> [[Int]] {
        (0..<count).map { i in
            var rng = RandomGenerator(key: seed, counter: UInt64(i) << 32)
            return (0..<units).map { _ in choices[Int(rng.next() % UInt64(choices.count))] }
        }
    }

    /// The fixed split: 7 of every 10 configurations (by id) fit a proxy, the other 3 judge it.
    public static func split(of id: Int) -> Split { id % 10 < 7 ? .train : .test }

    public func configurations(in split: Split) -> [Configuration] { configurations.filter { $0.split == split } }

    /// The spread the benchmark needs to be informative: the range of accuracies (max − min) and the fraction of
    /// configurations within 2 points of chance.
    public var spread: (range: Double, atChance: Double) {
        let a = configurations.map(\.accuracy)
        guard let lo = a.min(), let hi = a.max() else { return (0, 0) }
        return (hi - lo, Double(a.filter { $0 < chance + 0.02 }.count) / Double(a.count))
    }

    /// Reads and checks a benchmark file: every configuration has one bit width per unit, from `bitChoices`, an
    /// accuracy in [0, 1], the bits per weight its bits give and the split of its id.
    public static func load(_ url: URL) throws -> MixedPrecisionBenchmark {
        let b = try JSONFile.read(MixedPrecisionBenchmark.self, from: url)
        func fail(_ field: String, _ message: String) -> JSONFile.Failure { JSONFile.Failure(file: url.path, field: field, message) }
        guard !b.units.isEmpty else { throw fail("units", "is empty, expected at least one unit") }
        guard !b.bitChoices.isEmpty, b.bitChoices.allSatisfy({ (2...8).contains($0) }) else {
            throw fail("bitChoices", "is \(b.bitChoices), expected bit widths 2…8")
        }
        for (i, c) in b.configurations.enumerated() {
            guard c.bits.count == b.units.count else { throw fail("configurations[\(i)].bits", "has \(c.bits.count) entries, expected \(b.units.count) (one per unit)") }
            if let bad = c.bits.first(where: { !b.bitChoices.contains($0) }) {
                throw fail("configurations[\(i)].bits", "holds \(bad), expected one of \(b.bitChoices)")
            }
            guard (0...1).contains(c.accuracy) else { throw fail("configurations[\(i)].accuracy", "is \(c.accuracy), expected a fraction in [0, 1]") }
            guard abs(c.bitsPerWeight - MixedPrecision.bitsPerWeight(c.bits, units: b.units)) < 1e-6 else {
                throw fail("configurations[\(i)].bitsPerWeight", "is \(c.bitsPerWeight), its bits give \(MixedPrecision.bitsPerWeight(c.bits, units: b.units))")
            }
            guard c.split == split(of: c.id) else { throw fail("configurations[\(i)].split", "is \(c.split.rawValue), the fixed split puts id \(c.id) in \(split(of: c.id).rawValue)") }
        }
        return b
    }

    /// Whether `other` measured the same thing (model, evaluation, quantizer, draws), so its configurations continue
    /// this one's.
    public func sameSetting(as other: MixedPrecisionBenchmark) -> Bool {
        var a = self, b = other
        (a.configurations, b.configurations, a.checkpoint, b.checkpoint) = ([], [], "", "")
        return a == b
    }

    /// Evaluates the configurations of the draws not yet in `configurations`, up to `count`, in id order, calling
    /// `save` after each (a resumable, checkpointed run).
    public mutating func extend(to count: Int, evaluate: ([Int]) throws -> Double, save: (MixedPrecisionBenchmark) throws -> Void) rethrows {
        let done = Set(configurations.map(\.id))
        for (id, bits) in MixedPrecisionBenchmark.draws(count: count, units: units.count, choices: bitChoices, seed: seed).enumerated()
        where !done.contains(id) {
            let accuracy = try evaluate(bits)
            configurations.append(Configuration(id: id, bits: bits, bitsPerWeight: MixedPrecision.bitsPerWeight(bits, units: units),
                                                accuracy: accuracy, split: MixedPrecisionBenchmark.split(of: id)))
            try save(self)
        }
    }
}
