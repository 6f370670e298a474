import NASModels
import NASTensor

/// Everything a proxy may read about one candidate: the untrained model, the batch and the loss.
///
/// - **Model.** A `Transformer` built at exactly `architecture` with the library's BERT initialisation
///   (weights N(0, 0.02²), biases 0, LayerNorm γ = 1, β = 0), run in eval mode (no dropout). It is
///   built lazily from `seed` (analytic proxies never pay for it). A supernet may be passed instead
///   (`init(model:…)`): every forward then runs the `architecture` slice of it.
/// - **Batch.** A fixed `TokenBatch` of real text. "Real tokens" are those whose attention mask is > 0.
/// - **Loss.** Encoders: masked LM with a tied-embedding MLM head (`lmHead`, see `ProxyLMHead`):
///   round(15 %) of the real, non-special tokens are chosen with a seeded RNG, their ids replaced by
///   `maskTokenId` (or, when it is nil, by a seeded random id), and the loss is the mean cross-entropy of
///   predicting the original ids there. Decoders: the causal LM loss (position t predicts token t + 1 of
///   the batch, as `CausalLMHead.loss`). Both are means over all predicted positions M of the batch.
/// - **Scored parameters.** Gradient proxies sum over `scoredParameters`: the backbone's weight matrices
///   (rank ≥ 2), i.e. the Linear weights, as NASLib sums over Conv/Linear weights; embedding tables,
///   biases, LayerNorm parameters and the LM head are left out.
public final class ProxyContext {
    public let architecture: Architecture
    public let batch: TokenBatch
    public let seed: UInt64
    /// The batch the loss sees: encoders, `batch` with the masked positions replaced; decoders, `batch`.
    public let lossInput: TokenBatch
    /// Per position of the batch (row-major [B, T]): the id the loss predicts there, or −100.
    public let targets: [Int32]
    /// M, the number of predicted positions (the loss is a mean over them).
    public let predictedCount: Int

    private var built: (model: Transformer, head: ProxyLMHead)?
    private let builder: () -> (Transformer, ProxyLMHead)

    /// A context that builds the model of exactly `architecture` from `seed`.
    /// - Parameters:
    ///   - maskTokenId: the tokenizer's `[MASK]` id (encoders); nil replaces masked ids by random ids.
    ///   - specialTokenIds: ids never chosen for masking (`[CLS]`, `[SEP]`, …).
    ///   - maskProbability: the share of real tokens that is masked (encoders).
    public convenience init(architecture: Architecture, batch: TokenBatch, seed: UInt64, maskTokenId: Int32? = nil,
                            specialTokenIds: Set<Int32> = [], maskProbability: Double = 0.15) throws {
        try architecture.validate()
        try self.init(architecture: architecture, batch: batch, seed: seed, maskTokenId: maskTokenId,
                      specialTokenIds: specialTokenIds, maskProbability: maskProbability) {
            var rng = RandomGenerator(seed: seed)
            let model = Transformer(architecture, rng: &rng)
            model.hiddenDropout = 0
            model.attentionDropout = 0
            return (model, ProxyLMHead(architecture, rng: &rng))
        }
    }

    /// A context over a given model (a standalone model or a supernet that `architecture` fits in) and
    /// its LM head (built for `model.maxArchitecture` from `seed` when nil).
    public convenience init(model: Transformer, lmHead: ProxyLMHead? = nil, architecture: Architecture,
                            batch: TokenBatch, seed: UInt64, maskTokenId: Int32? = nil,
                            specialTokenIds: Set<Int32> = [], maskProbability: Double = 0.15) throws {
        try architecture.validate()
        guard model.holds(architecture) else {
            throw ProxyError.unusableContext("the architecture does not fit in the given model")
        }
        try self.init(architecture: architecture, batch: batch, seed: seed, maskTokenId: maskTokenId,
                      specialTokenIds: specialTokenIds, maskProbability: maskProbability) {
            var rng = RandomGenerator(seed: seed)
            return (model, lmHead ?? ProxyLMHead(model.maxArchitecture, rng: &rng))
        }
    }

    private init(architecture: Architecture, batch: TokenBatch, seed: UInt64, maskTokenId: Int32?,
                 specialTokenIds: Set<Int32>, maskProbability: Double,
                 builder: @escaping () -> (Transformer, ProxyLMHead)) throws {
        guard batch.length <= architecture.maxPositions else {
            throw ProxyError.unusableContext("sequence length \(batch.length) exceeds maxPositions \(architecture.maxPositions)")
        }
        guard batch.ids.allSatisfy({ $0 >= 0 && Int($0) < architecture.vocabSize }) else {
            throw ProxyError.unusableContext("the batch has ids outside the vocabulary of \(architecture.vocabSize)")
        }
        if let m = maskTokenId, m < 0 || Int(m) >= architecture.vocabSize {
            throw ProxyError.unusableContext("mask token id \(m) is outside the vocabulary")
        }
        guard maskProbability > 0 && maskProbability <= 1 else {
            throw ProxyError.unusableContext("mask probability \(maskProbability) is not in (0, 1]")
        }
        self.architecture = architecture
        self.batch = batch
        self.seed = seed
        self.builder = builder
        let b = batch.batchSize, t = batch.length
        func real(_ i: Int) -> Bool { batch.attentionMask.map { $0[i] > 0 } ?? true }
        var targets = [Int32](repeating: -100, count: b * t)
        switch architecture.family {
        case .encoder:
            let eligible = (0..<(b * t)).filter { real($0) && !specialTokenIds.contains(batch.ids[$0]) }
            guard !eligible.isEmpty else { throw ProxyError.unusableContext("the batch has no maskable token") }
            let count = max(1, min(eligible.count, Int((maskProbability * Double(eligible.count)).rounded())))
            var rng = RandomGenerator(seed: seed ^ 0x4D41_534B)  // "MASK"
            let chosen = ProxyContext.sample(eligible, count: count, using: &rng)
            var ids = batch.ids
            for i in chosen {
                targets[i] = batch.ids[i]
                ids[i] = maskTokenId ?? Int32(rng.next() % UInt64(architecture.vocabSize))
            }
            lossInput = TokenBatch(ids: ids, typeIds: batch.typeIds, attentionMask: batch.attentionMask,
                                   batchSize: b, length: t)
        case .decoder:
            for i in 0..<b {
                for j in 0..<max(t - 1, 0) where real(i * t + j + 1) { targets[i * t + j] = batch.ids[i * t + j + 1] }
            }
            guard targets.contains(where: { $0 != -100 }) else {
                throw ProxyError.unusableContext("the batch has no next-token target")
            }
            lossInput = batch
        }
        self.targets = targets
        predictedCount = targets.filter { $0 != -100 }.count
    }

    // MARK: - Model

    private var parts: (model: Transformer, head: ProxyLMHead) {
        if let built { return built }
        let (m, h) = builder()
        built = (m, h)
        return built!
    }

    /// The untrained model (built on first use).
    public var model: Transformer { parts.model }
    /// The LM head of the loss (tied to the word embeddings).
    public var lmHead: ProxyLMHead { parts.head }

    /// Every parameter the loss depends on: the model's and the head's.
    public var lossParameters: [Parameter] { model.parameters + lmHead.parameters }

    /// The parameters gradient proxies sum over: the backbone's weight matrices (see the type's doc).
    public var scoredParameters: [Parameter] {
        let m = model
        let tables = Set((m.wordEmbeddings.parameters + m.positionEmbeddings.parameters
                          + (m.tokenTypeEmbeddings?.parameters ?? [])).map { ObjectIdentifier($0) })
        return m.parameters.filter { $0.value.rank >= 2 && !tables.contains(ObjectIdentifier($0)) }
    }

    public func zeroGrad() { lossParameters.forEach { $0.zeroGrad() } }

    /// One eval-mode forward (`training: false`, so no dropout) of `architecture` on `input` (default:
    /// the unmasked batch). Records a graph only when autograd is recording (wrap in `Autograd.noGrad`
    /// for gradient-free proxies).
    public func forward(_ input: TokenBatch? = nil, embeddingHook: ((Tensor) -> Tensor)? = nil) -> Transformer.Output {
        var rng = RandomGenerator(seed: seed)
        return model(input ?? batch, architecture: architecture, training: false, rng: &rng, embeddingHook: embeddingHook)
    }

    /// The LM loss, recorded when autograd records. With `samples`, only the terms of those sequences
    /// are computed, scaled by (their predicted positions) / M so that the pieces of the samples add up
    /// to the whole-batch loss (and their gradients to its gradient). Nil when `samples` predicts nothing.
    public func loss(samples: Range<Int>? = nil, embeddingHook: ((Tensor) -> Tensor)? = nil) -> Tensor? {
        let t = batch.length
        let range = samples ?? 0..<batch.batchSize
        precondition(range.lowerBound >= 0 && range.upperBound <= batch.batchSize, "ProxyContext.loss: samples \(range) out of range")
        let lo = range.lowerBound * t, hi = range.upperBound * t
        let rows = (lo..<hi).filter { targets[$0] != -100 }
        if rows.isEmpty { return nil }
        let input = range == 0..<batch.batchSize ? lossInput : ProxyContext.slice(lossInput, range)
        let out = forward(input, embeddingHook: embeddingHook)
        let h = out.hidden.shape.last!
        let picked = out.hidden.reshaped([range.count * t, h]).gather(rows: rows.map { Int32($0 - lo) })
        let logits = lmHead.logits(picked, embeddings: model.wordEmbeddings, architecture: architecture)
        let ce = logits.crossEntropy(targets: rows.map { targets[$0] })
        return rows.count == predictedCount ? ce : ce * (Float(rows.count) / Float(predictedCount))
    }

    /// The LM logits summed over the vocabulary at every position, [B·T] — the "network output" of the
    /// output-sum proxies (SynFlow, Jacobian covariance). With the tied table E, Σ_v logits_v =
    /// z · Σ_v E_v (+ Σ_v bias_v), z = `ProxyLMHead.features`, so it is computed exactly without the
    /// [N, V] logits. The column sums of E are a constant (no gradient reaches E through them); pass
    /// `columnSums` to use ones taken earlier (`vocabularyColumnSums()`).
    func vocabularySummedLogits(_ out: Transformer.Output, columnSums: Tensor? = nil) -> Tensor {
        let h = out.hidden.shape.last!
        let n = out.hidden.count / h
        let z = lmHead.features(out.hidden.reshaped([n, h]), architecture: architecture)
        let v = architecture.vocabSize
        let sums = columnSums ?? vocabularyColumnSums()
        precondition(sums.shape == [z.shape[1], 1], "vocabularySummedLogits: column sums \(sums.shape) for features \(z.shape)")
        let constant: Float = Autograd.noGrad { lmHead.bias.map { $0.value.leading([v]).sum().item() } ?? 0 }
        let y = z.matmul(sums).reshaped([n])
        return constant == 0 ? y : y + constant
    }

    /// Σ_v E_v over the word-embedding table's rows [:V, :E], as an [E, 1] constant.
    func vocabularyColumnSums() -> Tensor {
        let e = architecture.embeddingWidth
        return Autograd.noGrad {
            model.wordEmbeddings.weight.value.leading([architecture.vocabSize, e]).sum(axes: [0]).reshaped([e, 1])
        }
    }

    // MARK: - Tokens

    /// Whether flat position i ([B, T] row-major) is a real token.
    public func isReal(_ i: Int) -> Bool { batch.attentionMask.map { $0[i] > 0 } ?? true }

    /// Flat indices ([B, T] row-major) of the real tokens, ascending; with `limit`, a seeded uniform
    /// sample of at most `limit` of them (still ascending). With `distinctIdAndPosition`, only the first
    /// occurrence (in batch order) of each (id, position) pair is eligible.
    public func realTokenIndices(limit: Int? = nil, distinctIdAndPosition: Bool = false) -> [Int] {
        var all = (0..<(batch.batchSize * batch.length)).filter(isReal)
        if distinctIdAndPosition {
            var seen = Set<Int64>()
            all = all.filter { seen.insert(Int64(batch.ids[$0]) << 32 | Int64($0 % batch.length)).inserted }
        }
        guard let limit, limit < all.count else { return all }
        var rng = RandomGenerator(seed: seed ^ 0x544F_4B45_4E53)  // "TOKENS"
        return ProxyContext.sample(all, count: max(limit, 0), using: &rng).sorted()
    }

    /// `count` distinct elements of `items`, by a partial Fisher–Yates shuffle.
    static func sample(_ items: [Int], count: Int, using rng: inout RandomGenerator) -> [Int] {
        var pool = items
        for i in 0..<count {
            let j = i + Int(rng.next() % UInt64(pool.count - i))
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(count))
    }

    /// Sequences `range` of a batch.
    static func slice(_ b: TokenBatch, _ range: Range<Int>) -> TokenBatch {
        let t = b.length, r = (range.lowerBound * t)..<(range.upperBound * t)
        return TokenBatch(ids: Array(b.ids[r]), typeIds: b.typeIds.map { Array($0[r]) },
                          attentionMask: b.attentionMask.map { Array($0[r]) }, batchSize: range.count, length: t)
    }

    // MARK: - Helpers for proxies

    /// Σ a·b over all elements, in Double.
    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "dot: \(a.shape) vs \(b.shape)")
        let x = a.scalars, y = b.scalars
        var s = 0.0
        for i in x.indices { s += Double(x[i]) * Double(y[i]) }
        return s
    }

    // MARK: - Shared work
    //
    // Several proxies read the same forward pass or the same loss gradient of the untouched model;
    // each is computed once per context. Proxies that change the weights (SynFlow, GraSP) restore them
    // and use the uncached routes for the changed weights.

    private var cachedOutput: Transformer.Output?
    private var cachedScoredGradients: [Tensor]?
    private var cachedComponentCounts: [String: [Int]] = [:]

    /// The eval-mode forward of the unmasked batch without a graph, computed once.
    public var inferenceOutput: Transformer.Output {
        if let cachedOutput { return cachedOutput }
        let out = Autograd.noGrad { forward() }
        cachedOutput = out
        return out
    }

    /// The whole-batch loss gradients of `scoredParameters` at the model's initial weights, computed once.
    public var scoredGradients: [Tensor] {
        if let cachedScoredGradients { return cachedScoredGradients }
        let g = lossGradients(of: scoredParameters)
        cachedScoredGradients = g
        return g
    }

    /// Memoises a per-layer count (PCA) under `key`.
    func componentCounts(key: String, _ compute: () throws -> [Int]) rethrows -> [Int] {
        if let c = cachedComponentCounts[key] { return c }
        let c = try compute()
        cachedComponentCounts[key] = c
        return c
    }

    /// The gradients of `parameters` after one backward of the whole-batch loss at the current weights
    /// (zeros where a parameter got none). Gradients are cleared before and after.
    func lossGradients(of parameters: [Parameter]) -> [Tensor] {
        zeroGrad()
        defer { zeroGrad() }
        let l = Autograd.withGrad { loss()! }
        l.backward()
        return parameters.map { $0.grad ?? Tensor(zeros: $0.shape) }
    }
}

/// The LM head of the proxies' loss, tied to the word-embedding table E [V, E]:
/// - encoders, BERT's MLM head generalised to factorised embeddings (ELECTRA's generator head):
///   z = LN(act(h·W[:E, :h]ᵀ + b)), logits = z·Eᵀ + bias — for E = H exactly `MaskedLMHead`;
/// - decoders, GPT-2's head: logits = h·Eᵀ (as `CausalLMHead`), with a bias-free projection h → E first
///   only when the output width differs from the embedding width.
/// Initialised like the backbone (N(0, 0.02²) weights, zero biases, LayerNorm γ = 1, β = 0).
public final class ProxyLMHead: Module {
    public let dense: Linear?
    public let norm: LayerNorm?
    public let bias: Parameter?
    public let family: Architecture.Family

    public init(_ arch: Architecture, rng: inout RandomGenerator) {
        family = arch.family
        let e = arch.embeddingWidth, out = arch.outputWidth
        switch arch.family {
        case .encoder:
            dense = Linear(out, e, name: "cls.predictions.transform.dense", rng: &rng)
            norm = LayerNorm(e, name: "cls.predictions.transform.LayerNorm", eps: arch.layerNormEps)
            bias = Parameter(Tensor(zeros: [arch.vocabSize]), name: "cls.predictions.bias")
        case .decoder:
            dense = out != e ? Linear(out, e, name: "lm_head.projection", bias: false, rng: &rng) : nil
            norm = nil
            bias = nil
        }
    }

    public var children: [(name: String, module: any Module)] {
        (dense.map { [("dense", $0)] } ?? []) + (norm.map { [("norm", $0)] } ?? [])
    }
    public var ownParameters: [Parameter] { bias.map { [$0] } ?? [] }

    /// h [N, width] → z [N, E], the features the tied table multiplies.
    public func features(_ h: Tensor, architecture arch: Architecture) -> Tensor {
        let e = arch.embeddingWidth
        guard let dense else { return h }
        let z = dense(h, out: e)
        guard let norm else { return z }
        return norm(arch.activation(z))
    }

    /// h [N, width] → logits [N, V].
    public func logits(_ h: Tensor, embeddings: Embedding, architecture arch: Architecture) -> Tensor {
        let z = features(h, architecture: arch)
        let table = embeddings.weight.leading([arch.vocabSize, z.shape[1]])
        return z.matmul(table, transposeB: true, bias: bias?.leading([arch.vocabSize]))
    }
}
