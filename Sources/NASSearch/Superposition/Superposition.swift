import NASModels
import NASTensor

/// Weight superposition (TangleNAS; Sukthanker et al., AutoML 2024): the forward pass of every
/// sub-network of a weight-entangled decoder at once, at the cost of the largest. Every layer mixes the
/// zero-padded leading slices of its largest weight and runs **one** GEMM:
///
///     W̃ = Σⱼ ωⱼ · pad(W[:oⱼ, :iⱼ]) = W ⊙ (R·diag(ω)·Cᵀ),   b̃ = Σⱼ ωⱼ · pad(b[:oⱼ]) = b ⊙ (R·ω),
///
/// over the layer's choice combinations j (output width oⱼ, input width iⱼ) with R[r, j] = 1[r < oⱼ] and
/// C[c, j] = 1[c < iⱼ]; the combination's weight ωⱼ is the product of its dimensions' weights
/// (combi-superposition). For one dimension alone the mask is the cumulative one,
/// m[r] = Σ_{i: dᵢ > r} wᵢ (an output width is a row scaling); where one dimension sets both widths
/// (the FFN's e → r·e for hidden e, or a qkv width equal to e) the mask Σₑ wₑ·(row mask ⊗ column mask) is
/// not one outer product, which R·diag(ω)·Cᵀ handles without a case. The rest:
///
/// - embeddings (tied head too): columns scaled by the hidden width's cumulative mask;
/// - LayerNorm: Σₑ wₑ · pad(LNₑ(x[..., :e])), each choice normalised over its own width;
/// - attention: one pass per (qkv width q, head count h) pair on q[..., :q], weight w_q·w_h;
/// - depth: the final LayerNorm reads Σ_d w_d · x_d over the candidate depths d.
///
/// With one-hot weights this is the plain sub-network (`ArchitectureParameters.architecture`), and its
/// gradient with respect to w is ⟨∂L/∂(layer output), each choice's padded output⟩ — what DARTS, DrNAS and
/// GDAS need. Decoders (GPT-2 layout, pre-LN) of plain SDP layers.
public struct Superposition {
    public let model: Transformer
    public let parameters: ArchitectureParameters

    /// The superposition of `parameters`' space on the supernet `model` (its largest member).
    public init(model: Transformer, parameters: ArchitectureParameters) throws {
        let space = parameters.space
        guard space.family == .decoder, model.maxArchitecture.family == .decoder else {
            throw SupernetError(field: "space \(space.name)", message: "weight superposition runs decoder spaces (GPT-2 layout)")
        }
        guard model.holds(space.largest), model.maxArchitecture.depth == parameters.depths.last!,
              model.maxArchitecture.hidden == parameters.hiddens.last! else {
            throw SupernetError(field: "space \(space.name)", message: "the supernet's largest member is not the space's")
        }
        self.model = model; self.parameters = parameters
    }

    /// The flattened outer product of weight vectors (the weights of every combination, first index slowest).
    static func combinations(_ w: [Tensor]) -> Tensor {
        w.dropFirst().reduce(w[0]) { a, b in
            (a.reshaped([a.count, 1]) * b.reshaped([1, b.count])).reshaped([a.count * b.count])
        }
    }

    /// The 0/1 matrix [size, J] with entry (r, j) = 1[r < widths[j]].
    static func indicator(_ widths: [Int], size: Int) -> Tensor {
        var s = [Float](repeating: 0, count: size * widths.count)
        for (j, w) in widths.enumerated() { for r in 0..<min(w, size) { s[r * widths.count + j] = 1 } }
        return Tensor(shape: [size, widths.count], scalars: s)
    }

    /// The cumulative mask m[r] = Σⱼ ωⱼ·1[r < widths[j]] ([size]).
    static func mask(_ omega: Tensor, widths: [Int], size: Int) -> Tensor {
        omega.reshaped([1, widths.count]).matmul(indicator(widths, size: size), transposeB: true).reshaped([size])
    }

    /// Which combinations take part: all when ω carries gradient, else those of nonzero weight. A block
    /// of the weight that only zero-weight combinations cover is exactly zero, so skipping it changes no
    /// value: one-hot weights (SPOS, evaluation, fixed choices) then run the sub-network's own GEMMs.
    static func used(_ omega: Tensor) -> [Bool] {
        omega.requiresGrad ? Array(repeating: true, count: omega.count) : omega.scalars.map { $0 != 0 }
    }

    /// A mixed Linear: x · W̃ᵀ + b̃ with W̃ = W ⊙ (R·diag(ω)·Cᵀ), b̃ = b ⊙ (R·ω), over combinations with
    /// output widths `outs` and input widths `ins`; x is [..., in_max], the result [..., out_max]. Only
    /// the block [:o, :i] the used combinations reach is multiplied (the rest of the output is zero). One
    /// `Tensor.maskedLinear`: the masked weight is not kept for the backward pass.
    static func linear(_ layer: Linear, _ x: Tensor, omega: Tensor, outs: [Int], ins: [Int]) -> Tensor {
        let use = used(omega), j = outs.count
        let o = zip(outs, use).filter(\.1).map(\.0).max() ?? 0, i = zip(ins, use).filter(\.1).map(\.0).max() ?? 0
        guard o > 0, i > 0 else { return Tensor(zeros: Array(x.shape.dropLast()) + [layer.maxOut]) }
        let rows = omega.reshaped([1, j]) * indicator(outs, size: o)
        let y = x.slice(axis: -1, 0..<i).maskedLinear(weight: layer.weight.leading([o, i]), rows: rows,
                                                      columns: indicator(ins, size: i), bias: layer.bias?.leading([o]))
        return padded(y, to: layer.maxOut)
    }

    /// x zero-padded on its last axis to `width`.
    static func padded(_ x: Tensor, to width: Int) -> Tensor {
        let w = x.shape.last!
        return w == width ? x : Tensor.concat([x, Tensor(zeros: Array(x.shape.dropLast()) + [width - w])], axis: -1)
    }

    /// Σₑ wₑ · pad(LNₑ(x[..., :e])) over the hidden widths (the used ones).
    func layerNorm(_ norm: LayerNorm, _ x: Tensor, _ w: Tensor) -> Tensor {
        let full = parameters.hiddens.last!, use = Self.used(w)
        return sum(parameters.hiddens.enumerated().filter { use[$0.offset] }.map { k, e in
            Self.padded(norm(x.slice(axis: -1, 0..<e)), to: full) * w.slice(axis: 0, k..<(k + 1))
        })
    }

    private func sum(_ terms: [Tensor]) -> Tensor { terms.dropFirst().reduce(terms[0], +) }

    /// The final hidden states [B, T, H_max] of the superposed network under `w` (dropout when `training`).
    public func callAsFunction(_ batch: TokenBatch, weights w: MixingWeights, training: Bool = false,
                               rng: inout RandomGenerator) -> Tensor {
        let p = parameters, b = batch.batchSize, t = batch.length, full = p.hiddens.last!
        let wE = w[.hidden], mE = Self.mask(wE, widths: p.hiddens, size: full)
        let hiddenDrop = training ? model.hiddenDropout : 0, attnDrop = training ? model.attentionDropout : 0
        func drop(_ x: Tensor) -> Tensor { hiddenDrop > 0 ? x.dropout(p: hiddenDrop, using: &rng) : x }

        var x = (model.wordEmbeddings(batch.ids, dim: full).reshaped([b, t, full])
            + model.positionEmbeddings(Array(0..<Int32(t)), dim: full)) * mE
        let mask = Transformer.causalMask(batch)
        x = drop(x)

        // Layers past the deepest depth in use are not run (all depths carry weight when w has gradient).
        let wD = w[.depth], usedDepths = Self.used(wD)
        let deepest = zip(p.depths, usedDepths).filter(\.1).map(\.0).max() ?? p.depths.last!
        var states: [Tensor] = []
        for (l, block) in model.blocks.prefix(deepest).enumerated() {
            guard let attention = block.attention else { preconditionFailure("Superposition: layer \(l) is not SDP") }
            let s = p.slot(ofLayer: l)
            let wH = w[.heads(slot: s)], wF = w[.ffn(slot: s)]
            // qkv widths: a gene of their own (combined with hidden), or the hidden width itself.
            let qkvWidths = p.qkvs ?? p.hiddens, wQ = p.qkvs == nil ? wE : w[.qkv(slot: s)]
            let projection: (omega: Tensor, outs: [Int], ins: [Int]) = p.qkvs.map { qs in
                (Self.combinations([wE, wQ]), p.hiddens.flatMap { _ in qs }, p.hiddens.flatMap { e in qs.map { _ in e } })
            } ?? (wE, p.hiddens, p.hiddens)

            let a = layerNorm(block.attentionNorm, x, wE)
            let q = Self.linear(attention.query, a, omega: projection.omega, outs: projection.outs, ins: projection.ins)
            let k = Self.linear(attention.key, a, omega: projection.omega, outs: projection.outs, ins: projection.ins)
            let v = Self.linear(attention.value, a, omega: projection.omega, outs: projection.outs, ins: projection.ins)
            let qMax = q.shape[2], pairs = Self.combinations([wQ, wH]), usedPairs = Self.used(pairs)
            var context: Tensor?
            for (i, width) in qkvWidths.enumerated() {
                for (j, h) in p.heads.enumerated() where usedPairs[i * p.heads.count + j] {
                    let c = MultiHeadAttention.attend(q.slice(axis: -1, 0..<width), k.slice(axis: -1, 0..<width),
                                                      v.slice(axis: -1, 0..<width), heads: h, mask: mask, dropout: attnDrop,
                                                      rng: &rng).context
                    let term = Self.padded(c, to: qMax) * pairs.slice(axis: 0, (i * p.heads.count + j)..<(i * p.heads.count + j + 1))
                    context = context.map { $0 + term } ?? term
                }
            }
            // The output projection: the same combinations, qkv → hidden.
            let h = x + drop(Self.linear(attention.output, context!, omega: projection.omega, outs: projection.ins, ins: projection.outs))

            // FFN: combinations (hidden e, FFN choice k): e → width(k, e) → e.
            let ffnOmega = Self.combinations([wE, wF])
            let widths = p.hiddens.flatMap { e in p.ffns.indices.map { p.ffnWidth($0, hidden: e) } }
            let ffnIns = p.hiddens.flatMap { e in p.ffns.map { _ in e } }
            let f = layerNorm(block.outputNorm, h, wE)
            let u = block.activation(Self.linear(block.intermediate, f, omega: ffnOmega, outs: widths, ins: ffnIns))
            x = h + drop(Self.linear(block.output, u, omega: ffnOmega, outs: ffnIns, ins: widths))
            states.append(x)
        }
        let mixed = sum(p.depths.enumerated().filter { usedDepths[$0.offset] }.map { k, d in
            states[d - 1] * wD.slice(axis: 0, k..<(k + 1))
        })
        return layerNorm(model.norm, mixed, wE) * mE
    }

    /// The mean next-token cross-entropy of the superposed network (tied head on the masked embeddings).
    public func loss(_ batch: TokenBatch, weights w: MixingWeights, training: Bool = false, rng: inout RandomGenerator) -> Tensor {
        let hidden = self(batch, weights: w, training: training, rng: &rng)
        return CausalLMHead.loss(hidden, batch: batch, embeddings: model.wordEmbeddings)
    }
}
