import Foundation
import NASTensor

/// Lottery Jackpots (Chen et al., "Lottery Jackpots Exist in Pre-trained Models", TPAMI 2023; arXiv 2104.08700): a
/// sparse mask found in a trained model with its weights frozen.
///
/// - Budget: magnitude pruning with one global threshold over all masks of a kind (`magnitudeInitialisation`): the
///   s·N items of least magnitude are pruned wherever they are, which fixes each mask's kept count k.
/// - Scores start at 1 for the kept items and 0.99 for the pruned ones, so the search starts from magnitude pruning.
/// - Each step: the loss of the masked model on a batch, the straight-through gradient ∂L/∂m_i = Σ_{e∈i} g_e·W₀,e to
///   every score, SGD with momentum μ on the scores, the gradient normalised by its RMS within the mask (one learning
///   rate serves weights and whole heads), then the top-k of each mask re-selected under the short restriction.
/// - Short restriction (our rule): let τ be the score of the best item outside the top k. The candidates are
///   pruned items scoring above τ (to revive) and kept items scoring at or below τ (to drop), paired best revive
///   with worst drop. A pair (i, j) is swapped only if its first-order loss change ∂L/∂m_i − ∂L/∂m_j is negative on
///   this step's batch, and at most ⌈r_t·n⌉ pairs per mask and step, with n the candidate pairs and
///   r_t = (1 − t/T)⁴ (the paper's authors' schedule). The paper bounds the loss increase of a mask update by the
///   number of changed items, which is why it limits them; the sign check drops the swaps that the step's own
///   gradient says would raise the loss.
public enum LotteryJackpot {
    /// The search's length and score optimiser. On fine-tuned MiniLM-L6 (`results/pruning`), 1e-5 suits unstructured masks
    /// (noisy per-weight scores; 1e-4 churned 10⁵–10⁶ weights and lost accuracy) and 1e-4 structured ones (a head's or
    /// neuron's score sums hundreds of weights; 1e-5 hardly moved them).
    public struct Options: Sendable {
        public var steps: Int
        public var learningRate: Float
        public var momentum: Float
        public init(steps: Int = 100, learningRate: Float = 1e-5, momentum: Float = 0.9) {
            self.steps = steps; self.learningRate = learningRate; self.momentum = momentum
        }
    }

    /// One search step's loss (before its update) and the items it swapped in all masks.
    public struct Step: Sendable {
        public var loss: Float
        public var swaps: Int
    }

    /// Magnitude pruning at sparsity `s` over `masks` (one kind of item): the round(s·N) items of least magnitude
    /// among all N are pruned (ties: later mask, then later item), but every mask keeps at least `minimumKept`.
    /// Scores are set to 1 (kept) and 0.99 (pruned).
    public static func magnitudeInitialisation(_ masks: inout [PruningMask], sparsity s: Double, minimumKept: Int = 1) {
        precondition((0..<1).contains(s), "LotteryJackpot: sparsity \(s) outside [0, 1)")
        var all: [(m: Float, mask: Int, item: Int)] = []
        for (k, mask) in masks.enumerated() { for (i, m) in mask.magnitude.enumerated() { all.append((m, k, i)) } }
        all.sort { $0.m != $1.m ? $0.m > $1.m : ($0.mask != $1.mask ? $0.mask < $1.mask : $0.item < $1.item) }
        let keep = all.count - Int((s * Double(all.count)).rounded())
        for k in masks.indices { masks[k].mask = [Bool](repeating: false, count: masks[k].count) }
        for e in all.prefix(keep) { masks[e.mask].mask[e.item] = true }
        for k in masks.indices {
            let order = masks[k].magnitude.indices.sorted { masks[k].magnitude[$0] > masks[k].magnitude[$1] }
            for i in order.prefix(minimumKept) { masks[k].mask[i] = true }
            masks[k].scores = masks[k].mask.map { $0 ? 1 : 0.99 }
        }
    }

    /// The search: `loss(t)` runs the model (its masked weights in place) on step t's batch and returns the mean loss,
    /// recorded; this function calls `backward()` on it and reads the masked weights' gradients. Leaves every mask
    /// applied. Returns the steps' losses and swaps.
    public static func search(_ masks: inout [PruningMask], options: Options, loss: (Int) -> Tensor) -> [Step] {
        var velocity = masks.map { [Float](repeating: 0, count: $0.count) }
        var history: [Step] = []
        for t in 0..<options.steps {
            for mask in masks { mask.apply(); mask.linear.weight.zeroGrad() }
            let value = loss(t)
            value.backward()
            let rate = Float(pow(1 - Double(t) / Double(options.steps), 4))
            var swaps = 0
            for k in masks.indices {
                guard let g = masks[k].linear.weight.grad?.contiguous().scalars else {
                    preconditionFailure("LotteryJackpot: no gradient reached \(masks[k].linear.weight.name)")
                }
                let d = masks[k].itemGradient(g)
                let rms = (d.reduce(0) { $0 + $1 * $1 } / Float(max(d.count, 1))).squareRoot()
                for i in d.indices {
                    velocity[k][i] = options.momentum * velocity[k][i] + (rms > 0 ? d[i] / rms : 0)
                    masks[k].scores[i] -= options.learningRate * velocity[k][i]
                }
                swaps += restrictedReselection(&masks[k], gradient: d, rate: rate)
            }
            for mask in masks { mask.linear.weight.zeroGrad() }
            history.append(Step(loss: value.item(), swaps: swaps))
        }
        for mask in masks { mask.apply() }
        return history
    }

    /// The short restriction's top-k re-selection of one mask (see the type's comment); returns the swapped pairs.
    static func restrictedReselection(_ mask: inout PruningMask, gradient d: [Float], rate: Float) -> Int {
        let k = mask.kept, n = mask.count
        guard k > 0, k < n else { return 0 }
        let s = mask.scores
        let tau = largest(k + 1, of: s)
        let revive = s.indices.filter { !mask.mask[$0] && s[$0] > tau }.sorted { s[$0] > s[$1] }
        let drop = s.indices.filter { mask.mask[$0] && s[$0] <= tau }.sorted { s[$0] < s[$1] }
        let pairs = min(revive.count, drop.count)
        guard pairs > 0 else { return 0 }
        let cap = Int((rate * Float(pairs)).rounded(.up))
        var swapped = 0
        for p in 0..<pairs where swapped < cap && d[revive[p]] - d[drop[p]] < 0 {
            mask.mask[revive[p]] = true
            mask.mask[drop[p]] = false
            swapped += 1
        }
        return swapped
    }

    /// The r-th largest value of `values` (r ≥ 1), by quickselect with a deterministic middle pivot: O(n) on average,
    /// where a sort of the 590k scores of an FFN matrix on every step would cost more than the step's gradient.
    static func largest(_ r: Int, of values: [Float]) -> Float {
        precondition(r >= 1 && r <= values.count, "LotteryJackpot.largest: rank \(r) of \(values.count)")
        var a = values, lo = 0, hi = a.count - 1, target = r - 1
        while lo < hi {
            let pivot = a[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { return a[target] }
        }
        return a[target]
    }
}
