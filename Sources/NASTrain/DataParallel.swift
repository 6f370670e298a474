import Foundation
import NASModels
import NASTensor

/// Synchronous data-parallel training over the ranks of an MPI job (`mpirun -np K swiftnas pretrain …`),
/// after PyTorch DDP and Horovod (Li et al., VLDB 2020; Sergeev & Del Balso, 2018).
///
/// Every rank draws the same global batch of B rows (the same generator, the same seed) and keeps its
/// shard, rows ⌊B·r/K⌋ ..< ⌊B·(r+1)/K⌋ (`BatchShard`). What is random per example is keyed by the global
/// row, so a step does not depend on K:
/// - masked-LM corruption is drawn on the whole global batch on every rank (B·T uniform draws, a few
///   microseconds), then sliced;
/// - dropout draws through a generator carrying the shard (`RandomGenerator.batchShard`), which takes the
///   counters of the whole batch and uses those of its rows;
/// - a supernet's sampling rule is seeded by the step, so every rank trains the same sub-networks.
/// A loss that is a mean over a shard's n_r targets (masked positions, next tokens, examples) is scaled
/// by n_r / N, with N = Σ_r n_r all-reduced, so that the gradient *sums* the ranks all-reduce
/// (`Communicator.allReduceGradients`, once per step, before clipping and the update) are exactly the
/// gradient of the global mean loss. The step's loss and metrics are likewise shares, summed over ranks.
/// Rank 0 alone writes checkpoints, the metrics log and the terminal; every rank keeps the same weights,
/// optimizer state and generator, so `--resume` continues on the same K from rank 0's checkpoint.
public final class DataParallel {
    public let communicator: Communicator
    /// The global batch size B.
    public let batchSize: Int
    /// This rank's rows of every batch.
    public let shard: BatchShard

    public enum Failure: Error, CustomStringConvertible {
        case batchTooSmall(batch: Int, ranks: Int)
        case rootFailed
        case stepMismatch(local: Int, other: Int)

        public var description: String {
            switch self {
            case .batchTooSmall(let batch, let ranks):
                return "--batch-size \(batch) is split over \(ranks) data-parallel ranks: it must be at least the number of ranks (mpirun -np)"
            case .rootFailed:
                return "rank 0 could not prepare the run folder (see its message); every rank stops"
            case .stepMismatch(let local, let other):
                return "the ranks resumed from different steps (\(local) and \(other)); every rank must read the same checkpoint"
            }
        }
    }

    public init(batchSize: Int, communicator: Communicator = .world) throws {
        guard batchSize >= communicator.size else { throw Failure.batchTooSmall(batch: batchSize, ranks: communicator.size) }
        self.communicator = communicator
        self.batchSize = batchSize
        shard = BatchShard(total: batchSize, rank: communicator.rank, ranks: communicator.size)
    }

    /// The data-parallel job `mpirun` started, for global batches of `batchSize` rows; nil for a single
    /// process (no `mpirun`, or `-np 1`), which trains exactly as without this type.
    public static func join(batchSize: Int) throws -> DataParallel? {
        let world = Communicator.world
        return world.isDistributed ? try DataParallel(batchSize: batchSize, communicator: world) : nil
    }

    public var isRoot: Bool { communicator.isRoot }

    /// This rank's rows of a global batch.
    public func rows(_ batch: TokenBatch) -> TokenBatch { batch.rows(shard.rows) }

    /// This rank's rows of per-token values of a global batch of `length` tokens per row (e.g. MLM targets).
    public func rows(_ values: [Int32], length: Int) -> [Int32] {
        Array(values[(shard.offset * length) ..< ((shard.offset + shard.count) * length)])
    }

    /// N = Σ_r n_r: the number of loss targets of the whole step (all-reduced: MLM targets differ per shard).
    public func globalCount(_ local: Int) -> Int {
        var v = [Double(local)]
        communicator.allReduceSum(&v)
        return Int(v[0].rounded())
    }

    /// `mean` (over this shard's `count` targets) as this shard's share of the mean over all `total`
    /// targets: mean · count / total. Nil when the shard has no target (it adds nothing to that loss).
    public static func share(_ mean: @autoclosure () -> Tensor, count: Int, of total: Int) -> Tensor? {
        guard count > 0 else { return nil }
        return count == total ? mean() : mean() * (Float(count) / Float(total))
    }

    /// Sums the step's loss, tokens and metrics (each a rank's share) over the ranks, with one all-reduce;
    /// `stop` (e.g. Ctrl-C or a time budget on some rank) comes back true on every rank when it is true
    /// on any. `replicated` values are the same on every rank and stay as they are.
    func reduce(_ result: Trainer.StepResult, stop: Bool) -> (result: Trainer.StepResult, stop: Bool) {
        let keys = result.metrics.keys.sorted()
        var values = [result.loss, Double(result.tokens), stop ? 1 : 0] + keys.map { result.metrics[$0]! }
        communicator.allReduceSum(&values)
        var reduced = result
        reduced.loss = values[0]
        reduced.tokens = Int(values[1].rounded())
        for (i, key) in keys.enumerated() { reduced.metrics[key] = values[3 + i] }
        return (reduced, values[2] > 0)
    }
}
