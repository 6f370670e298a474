import CKernels
import Foundation

/// Fake quantization (quantize–dequantize), the op that mixed-precision and non-uniform quantization
/// searches train and score through (EMQ; NUPES):
///
///   symmetric, b bits (weights):   s = m / (2^{b−1} − 1),  m = max|x|,  x̂ = s · clamp(round(x/s), ±(2^{b−1} − 1))
///   asymmetric, b bits (activations): s = (max − min) / (2^b − 1),  z = round(−min/s),
///                                  x̂ = s · (clamp(round(x/s) + z, 0, 2^b − 1) − z)
///   power exponent α (symmetric only; NUPES, Yvinec et al., 2023): the grid is uniform in u = sign(x)·|x/m|^α,
///                                  x̂ = m · sign(û)·|û|^{1/α} with û the symmetric quantization of u (α = 1 runs the uniform grid)
///
/// The range (m, or min and max) is taken per tensor or per slice along axis 0 (per output channel of a
/// weight [out, in]). Rounding is to nearest, ties away from zero. Gradient: the straight-through
/// estimator (Bengio et al., 2013), ∂x̂/∂x = 1 — the range is the data's own, so nothing is clipped.
public struct FakeQuantization: Hashable, Sendable, CustomStringConvertible {
    /// Bits per value, 2…8.
    public var bits: Int
    /// One range per slice along axis 0 instead of one for the whole tensor.
    public var perChannel: Bool
    /// Symmetric around zero (weights) or with a zero point (activations).
    public var symmetric: Bool
    /// NUPES's power exponent α > 0 (symmetric only); nil for the uniform grid.
    public var powerExponent: Float?

    public init(bits: Int, perChannel: Bool = false, symmetric: Bool = true, powerExponent: Float? = nil) {
        precondition((2...8).contains(bits), "FakeQuantization: bits must be 2…8, got \(bits)")
        precondition(powerExponent.map { $0 > 0 && $0.isFinite && symmetric } ?? true,
                     "FakeQuantization: a power exponent must be positive and finite, on a symmetric grid")
        self.bits = bits
        self.perChannel = perChannel
        self.symmetric = symmetric
        self.powerExponent = powerExponent
    }

    public var description: String {
        "int\(bits) \(symmetric ? "symmetric" : "asymmetric") per-\(perChannel ? "channel" : "tensor")"
            + (powerExponent.map { " α=\($0)" } ?? "")
    }

    /// Quantize–dequantize `values` in place (one range for all of them); the uniform grids in C (`nk_fake_quantize`).
    func apply(_ values: UnsafeMutableBufferPointer<Float>) {
        guard !values.isEmpty else { return }
        guard symmetric, let alpha = powerExponent, alpha != 1 else {
            nk_fake_quantize(values.baseAddress!, values.count, Int32(bits), symmetric ? 1 : 0)
            return
        }
        let levels = Float((1 << (bits - 1)) - 1)
        var m: Float = 0
        for v in values { m = Swift.max(m, Swift.abs(v)) }
        guard m > 0, m.isFinite else { return }
        for i in values.indices {
            let u = Foundation.pow(Swift.abs(values[i]) / m, alpha)
            let q = (u * levels).rounded(.toNearestOrAwayFromZero) / levels
            values[i] = (values[i] < 0 ? -m : m) * Foundation.pow(q, 1 / alpha)
        }
    }
}

extension Tensor {
    /// `FakeQuantization` of this tensor (see there), with a straight-through gradient.
    public func fakeQuantized(_ q: FakeQuantization) -> Tensor {
        var out = contiguousCopy()
        let slices = q.perChannel && rank > 0 ? shape[0] : 1, width = slices == 0 ? 0 : count / slices
        out.withMutableBuffer { p in
            Engine.parallelFor(slices, costPerItem: width * 8) { r in
                for c in r { q.apply(UnsafeMutableBufferPointer(rebasing: p[(c * width)..<((c + 1) * width)])) }
            }
        }
        out = out.detached()
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "fake_quantize") { g, _ in [g] }
        }
        return out
    }
}
