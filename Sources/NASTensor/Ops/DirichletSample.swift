import Foundation

extension Tensor {
    /// One reparameterised sample of Dirichlet(c) per row of the last axis, c = this tensor's values
    /// (concentrations, > 0): z_i ~ Gamma(c_i, 1) independently, w = z / Σz (the rows sum to 1).
    /// The Gamma draws come from `rng` in row-major order (`GammaDistribution`); the normalisation is done
    /// in double precision in logs (w = softmax(log z)), so tiny draws of small concentrations cannot
    /// underflow to a 0/0 row. A row holding a concentration that is not a positive finite number gives NaN.
    ///
    /// Backward (implicit reparameterisation, Figurnov et al., NeurIPS 2018): with ∂w_j/∂z_i = (δ_ij − w_j)/Σz
    /// and dz_i/dc_i = −(∂P(c_i, z_i)/∂c_i) / f(z_i; c_i),
    ///     ∂L/∂c_i = (g_i − ⟨g, w⟩) · w_i · d log z_i/dc_i.
    public func dirichletSample(using rng: inout RandomGenerator) -> Tensor {
        let c = contiguous().detached()
        defer { withExtendedLifetime(c) {} }
        let n = shape.last ?? 1, rows = count / Swift.max(n, 1)
        var out = Tensor(uninitializedShape: shape)
        var w = [Double](repeating: .nan, count: count)
        var dLogZ = [Double](repeating: .nan, count: count)
        let pc = c.basePointer, po = out.storage.pointer
        var logZ = [Double](repeating: 0, count: n)
        for row in 0..<rows {
            let base = row * n
            var valid = true
            for i in 0..<n {
                let a = Double(pc[base + i])
                logZ[i] = GammaDistribution.logSample(shape: a, using: &rng)
                if !logZ[i].isFinite { valid = false }
            }
            if valid {
                let top = logZ.max() ?? 0
                var total = 0.0
                for i in 0..<n { total += Foundation.exp(logZ[i] - top) }
                for i in 0..<n {
                    w[base + i] = Foundation.exp(logZ[i] - top) / total
                    dLogZ[base + i] = GammaDistribution.logSampleShapeDerivative(logZ: logZ[i], shape: Double(pc[base + i]))
                }
            }
            for i in 0..<n { po[base + i] = Float(w[base + i]) }
        }
        if let parents = Autograd.parents(self) {
            let w = w, dLogZ = dLogZ
            out.node = Node(parents, op: "dirichlet_sample") { g, _ in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let dc = Tensor(uninitializedShape: g.shape)
                let pg = g.basePointer, pd = dc.storage.pointer
                for row in 0..<rows {
                    let base = row * n
                    var dot = 0.0
                    for i in 0..<n { dot += Double(pg[base + i]) * w[base + i] }
                    for i in 0..<n {
                        pd[base + i] = Float((Double(pg[base + i]) - dot) * w[base + i] * dLogZ[base + i])
                    }
                }
                return [dc]
            }
        }
        return out
    }
}
