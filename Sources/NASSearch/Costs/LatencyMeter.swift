import Foundation
import NASModels
import NASTensor

/// Measures the CPU latency of an architecture, in milliseconds.
///
/// What is timed: one inference forward pass of the **backbone** of a freshly built standalone
/// `Transformer` of exactly `arch` (embeddings, every layer, and the final LayerNorm of a decoder) on a
/// batch of `batchSize × sequenceLength` random token ids (encoders: token type 0, no padding mask;
/// decoders: the causal mask). No task head (no vocabulary projection), no dropout, no autograd graph
/// (`Autograd.noGrad`, as `Transformer`'s inference call runs). Building the model and drawing the ids
/// are not timed.
///
/// The result is the median of `runs` timed forwards after `warmup` untimed ones, on a monotonic
/// clock. `Engine.threads` is set to `threads` for the whole measurement (warm-up included) and
/// restored afterwards. The defaults (batch 1, 128 tokens, one thread) are the search's latency cost.
public struct LatencyMeter: Codable, Equatable, Sendable {
    public var batchSize: Int
    public var sequenceLength: Int
    /// Engine threads during the measurement.
    public var threads: Int
    /// Untimed forwards before the timed ones (first-touch allocation, caches).
    public var warmup: Int
    /// Timed forwards; the median is reported.
    public var runs: Int

    public init(batchSize: Int = 1, sequenceLength: Int = 128, threads: Int = 1, warmup: Int = 2, runs: Int = 7) {
        precondition(batchSize > 0 && sequenceLength > 0, "LatencyMeter: batch \(batchSize) × length \(sequenceLength) must be positive")
        precondition(threads > 0, "LatencyMeter: threads must be positive, got \(threads)")
        precondition(warmup >= 0 && runs > 0, "LatencyMeter: warmup \(warmup) must be ≥ 0 and runs \(runs) > 0")
        self.batchSize = batchSize; self.sequenceLength = sequenceLength; self.threads = threads
        self.warmup = warmup; self.runs = runs
    }

    /// The median latency (ms) of one forward of `arch` (see the type's documentation). `seed` fixes the
    /// model's initial weights and the token ids. Fails when `sequenceLength > arch.maxPositions` (the
    /// model has no position embedding for the extra tokens) or when `arch` is invalid.
    public func measure(_ arch: Architecture, seed: UInt64 = 0) -> Double {
        precondition(sequenceLength <= arch.maxPositions,
                     "LatencyMeter: sequence length \(sequenceLength) exceeds the architecture's maxPositions \(arch.maxPositions)")
        do { try arch.validate() } catch { preconditionFailure("LatencyMeter: \(error)") }

        return measure(Transformer(arch, seed: seed), seed: seed)
    }

    /// The median latency (ms) of one forward of `model` as it is (its weights and its Linears' arithmetic: a quantized
    /// checkpoint runs int8 or bf16); `seed` fixes the token ids.
    public func measure(_ model: Transformer, seed: UInt64 = 0) -> Double {
        let arch = model.maxArchitecture
        precondition(sequenceLength <= arch.maxPositions,
                     "LatencyMeter: sequence length \(sequenceLength) exceeds the model's maxPositions \(arch.maxPositions)")
        let batch = tokens(vocabSize: arch.vocabSize, seed: seed)
        return time { withExtendedLifetime(model(batch)) {} }
    }

    /// The timed input: `batchSize × sequenceLength` token ids drawn uniformly from the vocabulary (token type 0, no
    /// padding mask).
    public func tokens(vocabSize: Int, seed: UInt64) -> TokenBatch {
        var rng = RandomGenerator(seed: seed)
        let ids = (0..<(batchSize * sequenceLength)).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(vocabSize)) }
        return TokenBatch(ids: ids, batchSize: batchSize, length: sequenceLength)
    }

    /// The median time (ms) of `runs` calls of `body` after `warmup` untimed ones, on a monotonic clock, with
    /// `Engine.threads` set to `threads` throughout (restored afterwards).
    public func time(_ body: () -> Void) -> Double {
        let savedThreads = Engine.threads
        Engine.threads = threads
        defer { Engine.threads = savedThreads }
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        samples.reserveCapacity(runs)
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
        }
        return LatencyMeter.median(samples)
    }

    /// The median of `xs` (mean of the two middle values for an even count).
    static func median(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty, "LatencyMeter: median of no samples")
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }
}
