import NASModels

/// DNA's search (Li et al., CVPR 2020): one rated candidate per block, combined into the student with the least
/// summed block loss Σ_b L_b under a parameter budget, exactly, by dynamic programming.
///
/// The combined student is block 0's embeddings (width h_0) and layers, then each later block's layers, with one
/// linear adapter at every boundary — block b's A_out (h_b → W) followed by block b+1's A_in (W → h_{b+1}) is the
/// single linear map h_b → h_{b+1} (weight A_in·A_out, bias A_in·b_out + b_in), so it costs h_b·h_{b+1} + h_{b+1}
/// parameters — and the last block's A_out (h → W), which ships so that the student's output lives in the
/// teacher's space:
///
///     params = emb(h_0) + Σ_b layers_b + Σ_{b<B−1} (h_b·h_{b+1} + h_{b+1}) + (h_{B−1}·W + W).
///
/// The boundary cost depends on two neighbouring blocks, so the DP runs over (block, width of its candidate):
/// for every width it keeps the Pareto set of (parameters, summed loss) of the partial students that end in it.
/// Every partial student a cheaper-and-better one dominates can only complete worse, so the optimum survives.
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

    /// The chosen candidate per block, their summed loss and the student's parameters.
    public struct Choice: Equatable, Sendable {
        public var candidates: [Candidate]
        public var loss: Double
        public var parameters: Int
    }

    /// The parameters of a student (`Candidate` per block) with the given vocabulary, positions and teacher width.
    public static func parameters(_ chosen: [Candidate], vocabSize: Int, maxPositions: Int, width: Int) -> Int {
        var n = embeddings(chosen[0].hidden, vocabSize: vocabSize, maxPositions: maxPositions)
        for (i, c) in chosen.enumerated() {
            n += layerParameters(c)
            if i > 0 { n += adapter(chosen[i - 1].hidden, c.hidden) }
        }
        return n + adapter(chosen.last!.hidden, width)
    }

    /// The best student within `maxParameters` (nil when none fits), over every combination of `candidates[b]`.
    public static func best(_ candidates: [[Candidate]], vocabSize: Int, maxPositions: Int, width: Int,
                            maxParameters: Int) -> Choice? {
        precondition(!candidates.isEmpty && candidates.allSatisfy { !$0.isEmpty }, "BlockwiseCombination: a block has no candidate")
        // A partial student: its parameters so far (without the adapter after its last block), loss and choices.
        typealias Partial = (parameters: Int, loss: Double, chosen: [Candidate])
        func pareto(_ items: [Partial]) -> [Partial] {
            var front: [Partial] = []
            for item in items.sorted(by: { ($0.parameters, $0.loss) < ($1.parameters, $1.loss) })
            where front.last.map({ item.loss < $0.loss }) ?? true {
                front.append(item)
            }
            return front
        }
        var states: [Int: [Partial]] = [:]
        for c in candidates[0] {
            let n = embeddings(c.hidden, vocabSize: vocabSize, maxPositions: maxPositions) + layerParameters(c)
            if n <= maxParameters { states[c.hidden, default: []].append((n, c.loss, [c])) }
        }
        states = states.mapValues(pareto)
        for block in candidates.dropFirst() {
            var next: [Int: [Partial]] = [:]
            for (h, partials) in states {
                for c in block {
                    let extra = adapter(h, c.hidden) + layerParameters(c)
                    for p in partials where p.parameters + extra <= maxParameters {
                        next[c.hidden, default: []].append((p.parameters + extra, p.loss + c.loss, p.chosen + [c]))
                    }
                }
            }
            states = next.mapValues(pareto)
        }
        let complete = states.flatMap { h, partials in partials.map { ($0.parameters + adapter(h, width), $0.loss, $0.chosen) } }
            .filter { $0.0 <= maxParameters }
        guard let best = complete.min(by: { ($0.1, $0.0) < ($1.1, $1.0) }) else { return nil }
        return Choice(candidates: best.2, loss: best.1, parameters: best.0)
    }

    static func adapter(_ from: Int, _ to: Int) -> Int { from * to + to }

    /// Word, position and token-type embeddings of width h and their LayerNorm (an encoder's).
    static func embeddings(_ h: Int, vocabSize: Int, maxPositions: Int) -> Int {
        Architecture(family: .encoder, vocabSize: vocabSize, maxPositions: maxPositions, hidden: h, layers: []).parameterCount
    }

    static func layerParameters(_ c: Candidate) -> Int {
        let arch = Architecture(family: .encoder, vocabSize: 1, maxPositions: 1, hidden: c.hidden, layers: c.layers)
        return arch.parameterCount - embeddings(c.hidden, vocabSize: 1, maxPositions: 1)
    }
}
