import NASModels
import NASTensor

/// DNA's search (Li et al., CVPR 2020): one rated candidate per block, combined into the student with the least
/// summed block loss Σ_b L_b under a budget on an additive cost, exactly, by dynamic programming.
///
/// The combined student (`BlockwiseStudent`) is block 0's embeddings (width h_0) and layers, then each later
/// block's layers, with one linear map at every boundary between blocks with layers — the composition of the
/// adapters the blocks were trained with, A_in·A_out (a block without layers composes its own two into it) — and
/// the last adapter into the teacher's width W, which ships so that the student's output lives in the teacher's
/// space. Its cost is additive over those parts (`Cost`): for parameters, with h_b the width the student runs
/// at after block b (a block without layers keeps its predecessor's),
///
///     params = emb(h_0) + Σ_b layers_b + Σ_{boundaries} (h·h' + h') + (h_last·W + W).
///
/// The boundary cost depends on two neighbouring widths, so the DP runs over (block, running width): for every
/// width it keeps the Pareto set of (cost, summed loss) of the partial students that end in it. Every partial
/// student a cheaper-and-better one dominates can only complete worse, so the optimum survives.
public enum BlockwiseCombination {
    /// One block's candidate: its width, its layers (possibly none) and its rated loss L_b.
    public struct Candidate: Equatable, Sendable {
        public var hidden: Int
        public var layers: [Architecture.Layer]
        public var loss: Double
        public init(hidden: Int, layers: [Architecture.Layer], loss: Double) {
            self.hidden = hidden; self.layers = layers; self.loss = loss
        }
    }

    /// The chosen candidate per block, their summed loss and the student's cost.
    public struct Choice: Equatable, Sendable {
        public var candidates: [Candidate]
        public var loss: Double
        public var cost: Double
    }

    /// An additive cost of a student: its embeddings (by block 0's width), each block's layers (a block without
    /// layers costs nothing) and each linear map between widths (the boundaries' adapters and the last one, h → W).
    public struct Cost {
        public var embeddings: (Int) -> Double
        public var layers: (Candidate) -> Double
        public var adapter: (_ from: Int, _ to: Int) -> Double

        public init(embeddings: @escaping (Int) -> Double, layers: @escaping (Candidate) -> Double,
                    adapter: @escaping (_ from: Int, _ to: Int) -> Double) {
            self.embeddings = embeddings; self.layers = layers; self.adapter = adapter
        }

        /// Parameters (exact: the counts are far below 2⁵³): word, position and token-type embeddings of width h_0 and
        /// their LayerNorm, `Architecture.parameterCount` of each block's layers, h·h' + h' per linear map.
        public static func parameters(vocabSize: Int, maxPositions: Int) -> Cost {
            func embeddings(_ h: Int, vocabSize: Int, maxPositions: Int) -> Int {
                Architecture(family: .encoder, vocabSize: vocabSize, maxPositions: maxPositions, hidden: h, layers: []).parameterCount
            }
            return Cost(embeddings: { Double(embeddings($0, vocabSize: vocabSize, maxPositions: maxPositions)) },
                        layers: { c in
                            let arch = Architecture(family: .encoder, vocabSize: 1, maxPositions: 1, hidden: c.hidden, layers: c.layers)
                            return Double(arch.parameterCount - embeddings(c.hidden, vocabSize: 1, maxPositions: 1))
                        },
                        adapter: { Double($0 * $1 + $1) })
        }

        /// The cost of the student of `chosen`, whose output maps into width `width`.
        public func of(_ chosen: [Candidate], width: Int) -> Double {
            var total = embeddings(chosen[0].hidden), h = chosen[0].hidden
            for (b, c) in chosen.enumerated() where !c.layers.isEmpty {
                if b > 0 { total += adapter(h, c.hidden) }
                total += layers(c)
                h = c.hidden
            }
            return total + adapter(h, width)
        }
    }

    /// The student with the least summed loss whose `cost` is within `budget` (nil when none fits), over every
    /// combination of `candidates[b]`; ties go to the cheaper one.
    public static func best(_ candidates: [[Candidate]], cost: Cost, width: Int, budget: Double) -> Choice? {
        precondition(!candidates.isEmpty && candidates.allSatisfy { !$0.isEmpty }, "BlockwiseCombination: a block has no candidate")
        // A partial student: its cost so far (without the map after its last layers), loss and choices.
        typealias Partial = (cost: Double, loss: Double, chosen: [Candidate])
        func pareto(_ items: [Partial]) -> [Partial] {
            var front: [Partial] = []
            for item in items.sorted(by: { ($0.cost, $0.loss) < ($1.cost, $1.loss) })
            where front.last.map({ item.loss < $0.loss }) ?? true {
                front.append(item)
            }
            return front
        }
        // Keyed by the width the partial student runs at.
        var states: [Int: [Partial]] = [:]
        for c in candidates[0] {
            let n = cost.embeddings(c.hidden) + (c.layers.isEmpty ? 0 : cost.layers(c))
            if n <= budget { states[c.hidden, default: []].append((n, c.loss, [c])) }
        }
        states = states.mapValues(pareto)
        for block in candidates.dropFirst() {
            var next: [Int: [Partial]] = [:]
            for (h, partials) in states {
                for c in block {
                    let (extra, to) = c.layers.isEmpty ? (0, h) : (cost.adapter(h, c.hidden) + cost.layers(c), c.hidden)
                    for p in partials where p.cost + extra <= budget {
                        next[to, default: []].append((p.cost + extra, p.loss + c.loss, p.chosen + [c]))
                    }
                }
            }
            states = next.mapValues(pareto)
        }
        let complete = states.flatMap { h, partials in partials.map { ($0.cost + cost.adapter(h, width), $0.loss, $0.chosen) } }
            .filter { $0.0 <= budget }
        guard let best = complete.min(by: { ($0.1, $0.0) < ($1.1, $1.0) }) else { return nil }
        return Choice(candidates: best.2, loss: best.1, cost: best.0)
    }
}

extension BlockwiseCombination {
    /// The DP's choice under a budget on a cost measured for the whole student (`measure`, e.g. its latency), when the
    /// DP's `cost` only sums parts: a choice measured over `budget` sends the DP back with the budget divided by that
    /// choice's whole-to-parts ratio ρ = measured / summed (kept if smaller; below the choice's sum, so the DP moves on),
    /// up to `rounds` times. Returns every round's (choice, measurement), the last within the budget; empty when
    /// nothing fits, and ending over the budget when no round fit. When the ratio is the same for every student, the
    /// second round's choice is the optimum of those that fit.
    public static func best(_ candidates: [[Candidate]], cost: Cost, width: Int, measuredBudget budget: Double, rounds: Int = 5,
                            measure: (Choice) -> Double) -> [(choice: Choice, measured: Double)] {
        var history: [(choice: Choice, measured: Double)] = []
        var dpBudget = budget
        while history.count < rounds, let choice = best(candidates, cost: cost, width: width, budget: dpBudget) {
            let measured = measure(choice)
            history.append((choice, measured))
            if measured <= budget { break }
            dpBudget = min(dpBudget, budget * choice.cost / measured)
        }
        return history
    }
}

extension BlockwiseCombination.Cost {
    /// Measured latency (ms, `meter`'s batch, length and threads), each part timed on its own and memoised: the
    /// embeddings of width h (an encoder of `reference`'s vocabulary and positions with no layers), a block's layers
    /// on random [B, T, h] states, a linear map h → h'. Their sum predicts the student's latency; re-measure the
    /// chosen student as a whole (`BlockwiseStudent`), since the parts' caches and calls do not add exactly.
    public static func latency(meter: LatencyMeter, like reference: Architecture, seed: UInt64 = 0) -> Self {
        final class Memo { var times: [String: Double] = [:] }
        let memo = Memo()
        let (b, t) = (meter.batchSize, meter.sequenceLength)
        let batch = meter.tokens(vocabSize: reference.vocabSize, seed: seed)
        func memoised(_ key: String, _ measure: () -> Double) -> Double {
            if let known = memo.times[key] { return known }
            let ms = measure()
            memo.times[key] = ms
            return ms
        }
        func states(_ h: Int) -> Tensor { var rng = RandomGenerator(seed: seed); return Tensor.randomNormal([b, t, h], std: 1, using: &rng) }
        return .init(
            embeddings: { h in
                memoised("embeddings \(h)") {
                    var arch = reference
                    (arch.hidden, arch.embeddingSize, arch.layers) = (h, nil, [])
                    let model = Transformer(arch, seed: seed)
                    return meter.time { withExtendedLifetime(model(batch)) {} }
                }
            },
            layers: { c in
                memoised("layers \(c.hidden) \(c.layers)") {
                    var rng = RandomGenerator(seed: seed)
                    let blocks = c.layers.enumerated().map { j, layer in
                        TransformerBlock(family: .encoder, activation: reference.activation, hidden: c.hidden, layer: layer, index: j,
                                         eps: reference.layerNormEps, rng: &rng)
                    }
                    let x = states(c.hidden)
                    return meter.time {
                        Autograd.noGrad {
                            var z = x
                            for (block, layer) in zip(blocks, c.layers) {
                                z = block(z, layer: layer, mask: nil, hiddenDropout: 0, attentionDropout: 0, rng: &rng).output
                            }
                            withExtendedLifetime(z) {}
                        }
                    }
                }
            },
            adapter: { from, to in
                memoised("adapter \(from) \(to)") {
                    var rng = RandomGenerator(seed: seed)
                    let linear = Linear(from, to, name: "adapter", rng: &rng), x = states(from)
                    return meter.time { Autograd.noGrad { withExtendedLifetime(linear(x)) {} } }
                }
            })
    }
}
