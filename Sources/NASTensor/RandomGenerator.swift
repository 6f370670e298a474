import CKernels

/// The one seeded random number generator of SwiftNAS (initialisers, dropout, sampling).
///
/// Counter-based: value `i` of the stream is `SplitMix64(key + (i + 1)·φ)` (Steele, Lea & Flood,
/// "Fast splittable pseudorandom number generators", OOPSLA 2014). A bulk fill of n values takes the
/// counters `[counter, counter + n)`, so any split of the fill across threads gives the same numbers.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The stream key, derived from the seed.
    public let key: UInt64
    /// Index of the next value of the stream.
    public private(set) var counter: UInt64
    /// The rows of the global batch that batch-shaped draws (dropout) are for, under data parallelism
    /// (nil: the whole batch). Not part of the stream's state: never saved in checkpoints.
    public var batchShard: BatchShard?

    enum CodingKeys: String, CodingKey { case key, counter }

    public init(seed: UInt64) {
        key = nk_random_u64(seed, 0x5EED)
        counter = 0
    }

    /// Resumes a stream at a saved position.
    public init(key: UInt64, counter: UInt64) {
        self.key = key
        self.counter = counter
    }

    public mutating func next() -> UInt64 {
        defer { counter &+= 1 }
        return nk_random_u64(key, counter)
    }

    /// Reserves `n` counters for a bulk fill and returns the first.
    public mutating func reserve(_ n: Int) -> UInt64 {
        defer { counter &+= UInt64(n) }
        return counter
    }

    /// Reserves the counters of a batch-major fill of `n` values for this generator's rows: with a
    /// `batchShard`, those of the whole batch (n / count · total), returning the first of this shard's rows;
    /// without one, `reserve(n)`.
    public mutating func reserveRows(_ n: Int) -> UInt64 {
        guard let shard = batchShard else { return reserve(n) }
        let (skip, all) = shard.counters(elements: n)
        return reserve(all) &+ UInt64(skip)
    }

    /// A new independent stream (for a component that draws on its own, e.g. dropout).
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next())
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1.0p-24 }

    /// Uniform on the open interval (0, 1) in double precision: (k + ½)·2⁻⁵³ for the top 53 bits k of one
    /// draw, so never 0 or 1 (safe under log, as in Gumbel noise or the Gamma sampler's acceptance test).
    public mutating func uniformOpen() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// Standard normal (Box-Muller on one 64-bit draw).
    public mutating func normal() -> Float {
        var x: Float = 0
        let start = reserve(2)
        nk_fill_normal(&x, 1, key, start, 0, 1)
        return x
    }
}
