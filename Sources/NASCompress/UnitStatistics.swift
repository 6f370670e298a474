import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// What EMQ's proxies read of each quantization unit (Dong et al., ICCV 2023; the leaves of `ProxyGenotype`), measured
/// once with every Linear in fp32 (the embeddings as `MixedPrecision.prepare` left them) on a calibration set of N
/// labelled examples:
///
/// - `weights` W [out, in];
/// - `activations` A: the unit's inputs on the calibration set, at most `maxRows` token rows (evenly spaced);
/// - `gradients` G = (1/N) Σ_i ∇_W ℓ_i, the task loss's gradient;
/// - `fisher` F = (1/N) Σ_i (∇_W ℓ_i)², the empirical Fisher diagonal (per-example gradients);
/// - `hessian` D = (1/K) Σ_k z_k ⊙ (H z_k), Hutchinson's estimate of the Hessian diagonal (Rademacher z_k; Bekas et
///   al., 2007; HAWQ-V2, Dong et al., NeurIPS 2020, uses its trace Tr H_u = Σ D_u), H z by central differences of
///   the gradient, (∇L(W + ε_u z) − ∇L(W − ε_u z)) / (2 ε_u), with ε_u = `relativeStep` · rms(W_u) per unit.
public struct UnitStatistics {
    public static let leafNames = ["weights", "activations", "gradients", "fisher", "hessian"]

    /// Per unit, its leaves by name.
    public var leaves: [[String: ProxyValue]]
    /// Per unit, Tr H_u = Σ D_u.
    public var hessianTrace: [Double]

    /// Measures the statistics of `mixed`'s units with `head` on the `calibration` batch (its rows one by one for the
    /// per-example gradients, the whole batch in the Hutchinson passes).
    public static func measure(_ mixed: MixedPrecision, head: SequenceClassificationHead, calibration whole: GLUEBatch, probes: Int = 8,
                               relativeStep: Float = 1e-3, maxRows: Int = 256, seed: UInt64 = 0) -> UnitStatistics {
        let examples = (0..<whole.tokens.batchSize).map { i in
            GLUEBatch(tokens: whole.tokens.rows(i..<(i + 1)), labels: [whole.labels[i]], exampleIndices: [whole.exampleIndices[i]])
        }
        let weights = mixed.units.indices.map { mixed.weight(of: $0) }
        let linears = mixed.units.indices.map { mixed.linear(of: $0) }
        // Every Linear exact while measuring, the head's too: a fake-quantized input jumps by a grid step under the
        // Hutchinson perturbations, which would swamp the gradient differences.
        let exact = linears + head.linears().map(\.linear)
        let saved = exact.map(\.arithmetic)
        exact.forEach { $0.arithmetic = .exact }
        defer { for (l, a) in zip(exact, saved) { l.arithmetic = a } }
        let parameters = mixed.model.parameters + head.parameters

        // Inputs and per-example gradients.
        var inputs = Array(repeating: [Tensor](), count: linears.count)
        var gradients = weights.map { [Float](repeating: 0, count: $0.count) }, fisher = gradients
        for (u, linear) in linears.enumerated() { linear.inputObserver = { x in inputs[u].append(x.detached()) } }
        for batch in examples {
            parameters.forEach { $0.zeroGrad() }
            TaskModel.loss(mixed.model, head, batch).backward()
            for (u, linear) in linears.enumerated() {
                guard let g = linear.weight.grad?.contiguous().scalars else { preconditionFailure("UnitStatistics: no gradient reached \(linear.weight.name)") }
                for j in g.indices { gradients[u][j] += g[j]; fisher[u][j] += g[j] * g[j] }
            }
        }
        linears.forEach { $0.inputObserver = nil }
        let n = Float(examples.count)

        // Hutchinson: H z by central differences of the whole-set gradient.
        var diagonal = weights.map { [Float](repeating: 0, count: $0.count) }
        var rng = RandomGenerator(seed: seed)
        let steps = weights.map { w -> Float in
            let v = w.contiguous().scalars
            return relativeStep * (v.reduce(0) { $0 + $1 * $1 } / Float(max(v.count, 1))).squareRoot()
        }
        for _ in 0..<probes {
            let z = weights.map { w in (0..<w.count).map { _ in rng.next() & 1 == 0 ? Float(-1) : 1 } }
            func gradient(_ sign: Float) -> [[Float]] {
                for (u, linear) in linears.enumerated() {
                    linear.weight.value = weights[u] + Tensor(shape: weights[u].shape, scalars: z[u].map { sign * steps[u] * $0 })
                }
                parameters.forEach { $0.zeroGrad() }
                TaskModel.loss(mixed.model, head, whole).backward()
                return linears.map { $0.weight.grad!.contiguous().scalars }
            }
            let plus = gradient(1), minus = gradient(-1)
            for u in linears.indices {
                let scale = 1 / (2 * steps[u] * Float(probes))
                for j in diagonal[u].indices { diagonal[u][j] += z[u][j] * (plus[u][j] - minus[u][j]) * scale }
            }
        }
        for (u, linear) in linears.enumerated() { linear.weight.value = weights[u] }
        parameters.forEach { $0.zeroGrad() }

        var leaves: [[String: ProxyValue]] = []
        for u in linears.indices {
            let shape = weights[u].shape
            func value(_ v: [Float]) -> ProxyValue { ProxyValue(rows: shape[0], cols: shape[1], values: v) }
            let rows = inputs[u].flatMap { x -> [[Float]] in
                let width = x.shape.last!, v = x.contiguous().scalars
                return stride(from: 0, to: v.count, by: width).map { Array(v[$0..<($0 + width)]) }
            }
            let every = max(1, (rows.count + maxRows - 1) / maxRows)
            let kept = stride(from: 0, to: rows.count, by: every).map { rows[$0] }
            leaves.append(["weights": ProxyValue(weights[u]), "activations": ProxyValue(rows: kept.count, cols: kept[0].count, values: kept.flatMap { $0 }),
                           "gradients": value(gradients[u].map { $0 / n }), "fisher": value(fisher[u].map { $0 / n }),
                           "hessian": value(diagonal[u])])
        }
        return UnitStatistics(leaves: leaves, hessianTrace: diagonal.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}
