import Foundation
import NASModels
import NASTensor

/// The ENAS controller (Pham et al., "Efficient Neural Architecture Search via Parameter Sharing",
/// ICML 2018) as an ask/tell strategy over any space: an LSTM that makes one decision per gene with more
/// than one choice, in genome order. Its input is a learned start vector, then the embedding of the
/// previous decision; gene k's logits are z = Linear_k(h), squashed as c_tanh·tanh(z / T) (temperature
/// T = 5, tanh constant c_tanh = 2.5, ENAS's values), and the decision is drawn from softmax(z).
///
/// Learning is REINFORCE: for each told genome a with reward R,
///     L = −(R − b)·log π(a) − β·H(π),   b ← 0.99·b + 0.01·R  (b starts at the first reward),
/// with entropy bonus β (default 1e-3, ENAS's value for language models) and Adam (lr 3.5e-4). The reward
/// is `reward(fitness[0])` — the fitness itself by default; with a loss objective (fitness −log ppl) ENAS's
/// c / ppl is `{ c · exp($0) }`.
///
/// **Memory buffer** (`bufferSize` > 0): the last `bufferSize` (genome, R, log π at the time) are kept and
/// every update also replays `replayCount` of them, drawn at random, each weighted by the truncated
/// importance ratio ρ = min(1, π_now(a) / π_then(a)) (detached; the off-policy correction of ACER/V-trace:
/// samples the controller has moved away from count less, none counts more than on-policy).
///
/// Asynchronous mode: a genome told but never asked is learned from like any other (its log π is
/// computed when told). Same seed and same fitnesses give the same proposals.
public final class ENASController: SearchStrategy {
    public let name: String
    let space: SearchSpace
    /// Genes the controller decides (more than one choice), in genome order.
    let decided: [Int]
    let start: Parameter
    let embeddings: [Embedding]
    let inputGates: Linear, hiddenGates: Linear
    let heads: [Linear]
    let hidden: Int
    public var temperature: Float = 5, tanhConstant: Float = 2.5
    public var entropyWeight: Float = 1e-3
    public var reward: (Double) -> Double = { $0 }
    public let bufferSize: Int, replayCount: Int
    let optimizer: Adam
    var rng: RandomGenerator
    public private(set) var baseline: Double?
    var buffer: [(genome: Genome, reward: Double, logProbability: Double)] = []

    public init(space: SearchSpace, seed: UInt64, hidden: Int = 64, learningRate: Float = 3.5e-4,
                bufferSize: Int = 0, replayCount: Int = 4) {
        self.space = space
        self.hidden = hidden
        self.bufferSize = bufferSize
        self.replayCount = bufferSize > 0 ? replayCount : 0
        name = bufferSize > 0 ? "enas-buffer" : "enas"
        rng = RandomGenerator(seed: seed)
        var weights = RandomGenerator(seed: seed ^ 0xE7A5)
        let genes = space.genes
        decided = genes.indices.filter { genes[$0].choices > 1 }
        start = Parameter(Tensor.randomNormal([1, hidden], std: 0.1, using: &weights), name: "enas.start")
        embeddings = decided.map { Embedding(genes[$0].choices, hidden, name: "enas.embedding.\($0)", rng: &weights) }
        inputGates = Linear(hidden, 4 * hidden, name: "enas.lstm.input", rng: &weights)
        hiddenGates = Linear(hidden, 4 * hidden, name: "enas.lstm.hidden", bias: false, rng: &weights)
        heads = decided.map { Linear(hidden, genes[$0].choices, name: "enas.head.\($0)", rng: &weights) }
        let parameters = [start] + embeddings.flatMap(\.parameters) + inputGates.parameters + hiddenGates.parameters
            + heads.flatMap(\.parameters)
        optimizer = Adam(parameters: parameters, learningRate: learningRate)
    }

    /// One LSTM step: (h, c) → (h', c') on input x [1, H].
    func cell(_ x: Tensor, _ h: Tensor, _ c: Tensor) -> (Tensor, Tensor) {
        let gates = inputGates(x) + hiddenGates(h)
        func gate(_ k: Int) -> Tensor { gates.slice(axis: 1, (k * hidden)..<((k + 1) * hidden)) }
        let c2 = gate(1).sigmoid() * c + gate(0).sigmoid() * gate(2).tanh()
        return (gate(3).sigmoid() * c2.tanh(), c2)
    }

    /// Runs the controller over `genome`'s decisions (teacher-forced), or samples them when `genome` is
    /// nil: the decisions, Σ log π, Σ entropy and the final hidden state.
    func unroll(_ genome: Genome?) -> (decisions: [Int], logProbability: Tensor, entropy: Tensor, hidden: Tensor) {
        var h = Tensor(zeros: [1, hidden]), c = Tensor(zeros: [1, hidden]), x = start.tensor
        var decisions: [Int] = [], logProbability = Tensor(zeros: [1, 1]), entropy = Tensor(zeros: [1, 1])
        for (k, gene) in decided.enumerated() {
            (h, c) = cell(x, h, c)
            let logits = (heads[k](h) * (1 / temperature)).tanh() * tanhConstant
            let logp = logits.logSoftmax()
            let choice: Int
            if let genome {
                choice = genome[gene]
            } else {
                let p = Autograd.noGrad { logp.exp() }.scalars.map { Double($0) }
                choice = roulette(p, using: &rng)
            }
            decisions.append(choice)
            logProbability = logProbability + logp.slice(axis: 1, choice..<(choice + 1))
            entropy = entropy - (logp.exp() * logp).sum(axes: [1], keepDims: true)
            x = embeddings[k]([Int32(choice)], dim: hidden)
        }
        return (decisions, logProbability, entropy, h)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        try propose(name, accept: accept) {
            let decisions = Autograd.noGrad { unroll(nil).decisions }
            var genome = Genome(repeating: 0, count: space.genes.count)
            for (k, gene) in decided.enumerated() { genome[gene] = decisions[k] }
            return space.repaired(genome)
        }
    }

    /// π(genome) under the current controller.
    public func logProbability(of genome: Genome) -> Double { Double(Autograd.noGrad { unroll(genome).logProbability.item() }) }

    /// The controller's final hidden state on `genome` (teacher-forced): what ENAS's critics compare with
    /// the architecture's edit distance.
    public func hiddenState(of genome: Genome) -> [Float] { Autograd.noGrad { unroll(genome).hidden.scalars } }

    /// Whether the controller's final hidden state tracks architecture similarity, the property the memory
    /// buffer is meant to improve: over all pairs of `genomes`, Spearman's ρ and Kendall's τ-b between the
    /// Euclidean distance ‖h(a) − h(b)‖ of the hidden states and the edit distance of the architectures —
    /// the number of genes in which their canonical genomes (`encode(decode(·))`: genes of absent layers
    /// zeroed) differ.
    public func hiddenStateEditDistanceCorrelation(_ genomes: [Genome]) -> (spearman: Double, kendall: Double, pairs: Int) {
        let canonical = genomes.map { space.encode(space.decode($0)) ?? $0 }
        let states = canonical.map(hiddenState(of:))
        var hidden: [Double] = [], edit: [Double] = []
        for i in canonical.indices {
            for j in canonical.indices where j > i {
                hidden.append(Double(zip(states[i], states[j]).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()))
                edit.append(Double(zip(canonical[i], canonical[j]).filter { $0 != $1 }.count))
            }
        }
        return (RankCorrelation.spearman(hidden, edit), RankCorrelation.kendallTauB(hidden, edit), hidden.count)
    }

    public func tell(_ genome: Genome, fitness: [Double]) {
        let r = reward(fitness[0])
        guard r.isFinite else { return }
        let b = baseline ?? r
        optimizer.zeroGrad()
        let now = unroll(genome)
        var loss = now.logProbability * Float(-(r - b)) - now.entropy * entropyWeight
        if replayCount > 0, !buffer.isEmpty {
            for _ in 0..<replayCount {
                let old = buffer[uniformIndex(buffer.count, using: &rng)]
                let logp = unroll(old.genome).logProbability
                let ratio = min(1, Foundation.exp(Double(logp.item()) - old.logProbability))
                loss = loss + logp * Float(-ratio * (old.reward - b) / Double(replayCount))
            }
        }
        loss.backward()
        optimizer.step()
        optimizer.zeroGrad()
        baseline = 0.99 * b + 0.01 * r
        if bufferSize > 0 {
            buffer.append((genome, r, Double(now.logProbability.item())))
            if buffer.count > bufferSize { buffer.removeFirst() }
        }
    }
}
