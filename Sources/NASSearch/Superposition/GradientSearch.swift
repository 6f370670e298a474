import Foundation
import NASModels
import NASTensor
import NASTrain

/// Bilevel gradient-based architecture search on a weight superposition: first-order DARTS (Liu et al.,
/// ICLR 2019) as TangleNAS runs it on entangled spaces (Sukthanker et al., AutoML 2024). The training
/// text is split in two — the trainer's batches train the weights, `alphaTokens` (the rest) train α — and
/// every step makes
///
/// 1. **an α step** on a batch of the α split (drawn with the step's seed): w = sampler(α) per dimension,
///    L = L_α(w) + λ·max(0, E_w[params] / P − 1) (the budget hinge, when a budget P is set; E_w under the
///    weights' product distribution, `ArchitectureParameters.expectedParameters`), back-propagated into α
///    only (the supernet's weights frozen), the α-gradient norm clipped to 5, then Adam with lr 3e-4,
///    betas (0.5, 0.999) and L2 weight decay 1e-3 (DARTS's architecture optimizer);
/// 2. **a weight step** on the trainer's batch: w = sampler(α) again with α frozen, L_train(w) with
///    dropout, back-propagated into the weights; the trainer clips and updates them.
///
/// α and its optimizer's state travel in the checkpoints' `swiftnas_task` (`state`), so a resumed search
/// continues bit for bit.
public final class GradientSearch {
    public let superposition: Superposition
    public let sampler: any ArchitectureSampler
    public let alphaOptimizer: Adam
    /// The α split, the windows drawn from it and the search's length in steps (GDAS anneals over it).
    public let alphaTokens: [Int32]
    public let batchSize: Int, sequenceLength: Int, totalSteps: Int
    /// The parameter budget P and the hinge's weight λ (nil: no budget term).
    public var budget: (parameters: Double, lambda: Float)?
    public static let alphaClip: Float = 5
    /// Dimensions decided by selection (DARTS-PT): their weights are one-hot and their α rests.
    public var fixed: [ArchitectureParameters.Dimension: Int] = [:]
    /// Whether steps make the α step (off while DARTS-PT fine-tunes the weights, and under ENAS).
    public var trainsAlpha = true
    /// More state for the checkpoints (e.g. `ENASTraining`'s controller history): saved under
    /// `search.attachment`, restored on resume after α.
    public var attachment: (save: () -> JSONValue, restore: (JSONValue) throws -> Void)?
    let seed: UInt64

    public var parameters: ArchitectureParameters { superposition.parameters }

    public init(superposition: Superposition, sampler: any ArchitectureSampler, alphaTokens: [Int32], batchSize: Int,
                sequenceLength: Int, totalSteps: Int, seed: UInt64) throws {
        guard alphaTokens.count > sequenceLength + 1 else {
            throw SupernetError(field: "α split", message: "\(alphaTokens.count) tokens cannot give one window of \(sequenceLength + 1); "
                + "use more text or a larger share for α")
        }
        self.superposition = superposition; self.sampler = sampler; self.alphaTokens = alphaTokens
        self.batchSize = batchSize; self.sequenceLength = sequenceLength; self.totalSteps = totalSteps; self.seed = seed
        alphaOptimizer = Adam(parameters: superposition.parameters.parameters, learningRate: 3e-4, beta1: 0.5, beta2: 0.999,
                              weightDecay: 1e-3, weightDecayMode: .l2)
    }

    /// The mixing weights of every dimension with α at `step` (in the graph when α records gradients);
    /// one-hot for the `fixed` ones.
    public func weights(step: Int, using rng: inout RandomGenerator) -> MixingWeights {
        MixingWeights(parameters, fixed: fixed) { _, alpha in sampler.weights(alpha.tensor, step: step, totalSteps: totalSteps, using: &rng) }
    }

    /// The α-split batch of `step`: `batchSize` windows at offsets drawn from a generator keyed by the step.
    func alphaBatch(step: Int) -> TokenBatch {
        var rng = stepGenerator(seed: seed ^ 0xA1FA, step: step)
        let t = sequenceLength, limit = alphaTokens.count - t
        let ids = (0..<batchSize).flatMap { _ in
            let start = Int(rng.next() % UInt64(limit))
            return Array(alphaTokens[start..<(start + t)])
        }
        return TokenBatch(ids: ids, batchSize: batchSize, length: t)
    }

    /// One search step (α step, then the weight step's forward and backward) for `Trainer.train`.
    public func step(_ step: Int, input: TokenBatch, tokens: Int, rng: inout RandomGenerator) -> Trainer.StepResult {
        let alphas = parameters.parameters
        var metrics: [String: Double] = [:]
        if trainsAlpha { metrics = alphaStep(step, rng: &rng) }
        // 2. Weights on the trainer's batch, α frozen.
        alphas.forEach { $0.requiresGrad = false }
        let loss = superposition.loss(input, weights: weights(step: step, using: &rng), training: true, rng: &rng)
        let value = Double(loss.item())
        if value.isFinite { loss.backward() }
        alphas.forEach { $0.requiresGrad = true }
        return .init(loss: value, tokens: tokens, metrics: metrics)
    }

    /// The α step of `step` (weights frozen meanwhile); returns its values to log.
    func alphaStep(_ step: Int, rng: inout RandomGenerator) -> [String: Double] {
        let model = superposition.model, alphas = parameters.parameters
        model.freeze()
        defer { model.freeze(false) }
        alphas.forEach { $0.requiresGrad = true }
        alphaOptimizer.zeroGrad()
        let w = weights(step: step, using: &rng)
        var alphaLoss = superposition.loss(alphaBatch(step: step), weights: w, rng: &rng)
        let lmValue = Double(alphaLoss.item())
        var metrics: [String: Double] = ["alpha_loss": lmValue]
        if let budget {
            let expected = parameters.expectedParameters(w)
            metrics["expected_params"] = Double(expected.item())
            alphaLoss = alphaLoss + (expected * Float(1 / budget.parameters) - 1).relu() * budget.lambda
        }
        if lmValue.isFinite {
            alphaLoss.backward()
            GradientClipping.clipGlobalNorm(alphas, maxNorm: Self.alphaClip)
            alphaOptimizer.step()
        }
        alphaOptimizer.zeroGrad()
        return metrics
    }

    // MARK: - Checkpoints

    /// The `swiftnas_task` of this search's checkpoints: a decoder supernet checkpoint (`supernet extract`
    /// and `search --objective supernet` read it) with the sampler, α and α's optimizer under `search`.
    public var task: JSONValue {
        .object(["kind": .string("supernet"), "objective": .string("causal"), "space": parameters.space.json,
                 "search": .object(["sampler": .string(sampler.name), "state": state,
                                    "attachment": attachment?.save() ?? .null])])
    }

    /// Makes `trainer`'s checkpoints carry `task`, and, when the trainer resumed (call after `prepare`),
    /// restores α and its optimizer from the checkpoint it resumed from.
    public func attach(to trainer: Trainer) throws {
        trainer.task = task
        trainer.willCheckpoint = { [unowned self, unowned trainer] in trainer.task = self.task }
        guard let folder = trainer.resumedFrom else { return }
        let stored = try Supernet.stored(in: folder)
        guard case .object(let search)? = stored.search, search["sampler"] == .string(sampler.name),
              stored.space == parameters.space, let state = search["state"] else {
            throw SupernetError(path: folder.path, field: "swiftnas_task.search",
                                message: "the run is not a \(sampler.name) search of space \(parameters.space.name); resume with the same")
        }
        try restore(state)
        if let attachment { try attachment.restore(search["attachment"] ?? .null) }
    }

    struct State: Codable {
        var alpha: [String: [Float]]
        var optimizer: OptimizerState
    }

    /// α by dimension and the α optimizer's state.
    public var state: JSONValue {
        let alpha = Dictionary(uniqueKeysWithValues: parameters.alphas.map { ("\($0.key)", $0.value.value.scalars) })
        return (try? JSONValue(encoding: State(alpha: alpha, optimizer: alphaOptimizer.stateDict()))) ?? .null
    }

    public func restore(_ json: JSONValue) throws {
        let state: State
        do { state = try json.decode(State.self) } catch {
            throw SupernetError(field: "search state", message: "cannot read α and its optimizer: \(error)")
        }
        for (d, a) in parameters.alphas {
            guard let values = state.alpha["\(d)"], values.count == a.value.count else {
                throw SupernetError(field: "search state.alpha.\(d)", message: "expected \(a.value.count) values")
            }
            a.value = Tensor(shape: a.shape, scalars: values)
        }
        try alphaOptimizer.load(state: state.optimizer)
    }
}
