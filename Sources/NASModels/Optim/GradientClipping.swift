import NASTensor

/// Gradient clipping by global norm (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training
/// recurrent neural networks"; PyTorch's `clip_grad_norm_`):
///
///     total = sqrt(Σ_p ‖g_p‖²)         over every parameter with a gradient, accumulated in Double
///     if total > maxNorm:  g_p ← g_p · maxNorm / (total + 1e-6)   for every p
///
/// The sum is taken over fixed blocks of elements in a fixed order, so the norm does not depend on
/// the number of threads.
public enum GradientClipping {
    /// Elements per partial sum (fixed: the result must not depend on `Engine.threads`).
    static let block = 1 << 14

    /// sqrt(Σ‖g‖²) over the gradients of `parameters` (nil gradients count as zero).
    public static func globalNorm(_ parameters: [Parameter]) -> Double {
        var total = 0.0
        for p in parameters {
            guard let g = p.grad, g.count > 0 else { continue }
            total += sumOfSquares(g.isContiguous ? g : Autograd.noGrad { g.contiguous() })
        }
        return total.squareRoot()
    }

    /// Scales every gradient by maxNorm / (total + 1e-6) when the global norm `total` exceeds `maxNorm`,
    /// and returns `total`, the norm before clipping. A non-finite norm (inf or NaN) scales nothing and
    /// is returned as is: the caller should check it and skip the step.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        precondition(maxNorm > 0, "clipGlobalNorm: maxNorm \(maxNorm) must be > 0")
        let total = globalNorm(parameters)
        guard total.isFinite, total > Double(maxNorm) else { return Float(total) }
        let scale = Float(Double(maxNorm) / (total + 1e-6))
        Autograd.noGrad {
            for p in parameters {
                guard var g = p.grad, g.count > 0 else { continue }
                // Release the parameter's reference first so the buffer is unique and scaled in place.
                p.setGrad(nil)
                g.withMutableBuffer { b in
                    let ptr = b.baseAddress!
                    Engine.parallelFor(b.count) { r in
                        for k in r { ptr[k] *= scale }
                    }
                }
                p.setGrad(g)
            }
        }
        return Float(total)
    }

    /// Σ x² of a contiguous tensor in Double, over fixed blocks summed in order.
    static func sumOfSquares(_ t: Tensor) -> Double {
        let n = t.count, x = t.basePointer
        let blocks = (n + block - 1) / block
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { pb in
            let out = pb.baseAddress!
            Engine.parallelFor(blocks, costPerItem: block) { r in
                for b in r {
                    var s = 0.0
                    for k in (b * block)..<min(n, (b + 1) * block) {
                        let v = Double(x[k])
                        s += v * v
                    }
                    out[b] = s
                }
            }
        }
        withExtendedLifetime(t) {}
        return partial.reduce(0, +)
    }
}
