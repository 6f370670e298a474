import Foundation
import NASTensor

/// NUPES's data-driven step (Yvinec et al., 2023, "NUPES: Non-Uniform Post-Training Quantization via Power Exponent
/// Search"): from PowerQuant's data-free start (α₀, W₀), learn one layer's exponent α and its weights W over the whole
/// grid — not only the up/down rounding of AdaRound — by straight-through gradient steps on the layer-output error on
/// calibration inputs X [n, in]:
///
///     L(W, α) = ‖Q_a(X)·Q_α(W)ᵀ − X·W₀ᵀ‖² / (n·out),    Q_α(w) = sign(w)·m·q^{1/α},  q = round(L_b·|w/m|^α)/L_b
///
/// with m the row's largest |w₀| (the row's largest-magnitude weight is held, so the grid does not move; the others
/// are clipped to ±m), L_b = 2^{b−1} − 1 levels and Q_a the layer's 8-bit input quantizer. Gradients:
///
/// - weights: straight through the quantizer, ∂Q_α(w)/∂w = 1;
/// - exponent: straight through the rounding (∂q/∂u = 1 for u = |w/m|^α, i.e. the residual q − u held),
///   ∂Q_α(w)/∂α = (Q_α(w)/α)·((u/q)·ln|w/m| − ln(q)/α), zero where u sits on the grid; the logarithms clamped at −20.
///
/// Each step moves along the straight-through direction — the weights by η·(m/L_b)·g/rms(g) (η grid steps at the row's
/// top for a weight of RMS gradient), α by η_α against its gradient's sign — and is taken only if the real, rounded
/// calibration loss falls (then η, η_α grow by 1.25), else both halve. The straight-through gradients are biased (the α
/// one pulls α up on every rounded weight alike); the acceptance test keeps the fit monotone: it never raises the
/// calibration error of PowerQuant's start.
public enum NUPES {
    public struct Options: Sendable {
        public var steps: Int
        /// First step η of the weights, in units of the row's top grid step m/L_b.
        public var weightStep: Float
        /// First step η_α of α.
        public var alphaStep: Float
        public var alphaRange: ClosedRange<Float>
        public init(steps: Int = 100, weightStep: Float = 0.1, alphaStep: Float = 0.02, alphaRange: ClosedRange<Float> = 0.3...1) {
            self.steps = steps; self.weightStep = weightStep; self.alphaStep = alphaStep; self.alphaRange = alphaRange
        }
    }

    /// A fitted layer: its weights, exponent, and the calibration loss before (α₀, W₀) and after.
    public struct Fit: Sendable {
        public var weight: [Float]
        public var alpha: Float
        public var initialLoss: Double
        public var loss: Double
    }

    /// Q_α(w) of every weight (rows of `cols`, row scales `m`) and, when asked, ∂Q/∂α.
    static func quantize(_ w: [Float], cols: Int, scales m: [Float], bits: Int, alpha: Float, derivative: Bool) -> (q: [Float], dAlpha: [Float]) {
        let levels = Float((1 << (bits - 1)) - 1)
        var out = [Float](repeating: 0, count: w.count), d = derivative ? out : []
        for e in w.indices {
            let scale = m[e / cols]
            guard scale > 0 else { continue }
            let a = min(abs(w[e]) / scale, 1)
            let u = Foundation.pow(a, alpha), q = (u * levels).rounded(.toNearestOrAwayFromZero) / levels
            guard q > 0 else { continue }
            let v = (w[e] < 0 ? -scale : scale) * Foundation.pow(q, 1 / alpha)
            out[e] = v
            if derivative { d[e] = v / alpha * (u / q * max(Foundation.log(a), -20) - max(Foundation.log(q), -20) / alpha) }
        }
        return (out, d)
    }

    /// Fits one layer (see the type's comment): `weight` W₀ [out, in], `inputs` X [n, in] in fp32 (the target's),
    /// `activations` the layer's input quantizer (nil: fp32 inputs), starting at α₀.
    public static func fit(weight: Tensor, inputs x: Tensor, bits: Int, alpha alpha0: Float, activations: FakeQuantization?,
                           options: Options = .init()) -> Fit {
        let (rows, cols) = (weight.shape[0], weight.shape[1]), n = x.shape[0]
        let w0 = weight.contiguous().scalars
        let target = x.matmul(weight, transposeB: true)
        let xq = activations.map { x.fakeQuantized($0) } ?? x
        var m = [Float](repeating: 0, count: rows), anchor = [Int](repeating: 0, count: rows)
        for r in 0..<rows { for c in 0..<cols where abs(w0[r * cols + c]) > m[r] { m[r] = abs(w0[r * cols + c]); anchor[r] = r * cols + c } }
        let levels = Float((1 << (bits - 1)) - 1)

        func loss(_ q: [Float]) -> (Double, Tensor) {
            let residual = xq.matmul(Tensor(shape: [rows, cols], scalars: q), transposeB: true) - target
            let v = residual.scalars
            return (v.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n * rows), residual)
        }
        var w = w0, alpha = alpha0, (current, residual) = loss(quantize(w0, cols: cols, scales: m, bits: bits, alpha: alpha0, derivative: false).q)
        let initial = current
        var eta = options.weightStep, etaAlpha = options.alphaStep
        for _ in 0..<options.steps {
            // The straight-through direction at (W, α): ∂L/∂Q = 2/(n·out)·residualᵀ·Q_a(X), its α part Σ ∂L/∂Q·∂Q/∂α.
            let dq = quantize(w, cols: cols, scales: m, bits: bits, alpha: alpha, derivative: true).dAlpha
            let g = residual.matmul(xq, transposeA: true, alpha: 2 / Float(n * rows)).scalars
            var gAlpha: Float = 0
            for e in g.indices { gAlpha += g[e] * dq[e] }
            let rms = (g.reduce(0) { $0 + $1 * $1 } / Float(max(g.count, 1))).squareRoot()
            guard rms > 0 else { break }
            var trial = w
            for e in w.indices where e != anchor[e / cols] {
                let limit = m[e / cols]
                trial[e] = min(max(w[e] - eta * limit / levels * g[e] / rms, -limit), limit)
            }
            let trialAlpha = min(max(alpha - etaAlpha * (gAlpha > 0 ? 1 : gAlpha < 0 ? -1 : 0), options.alphaRange.lowerBound),
                                 options.alphaRange.upperBound)
            // The step is taken only where the real (rounded) loss falls; otherwise it halves.
            let (value, r) = loss(quantize(trial, cols: cols, scales: m, bits: bits, alpha: trialAlpha, derivative: false).q)
            if value < current {
                (w, alpha, current, residual) = (trial, trialAlpha, value, r)
                eta *= 1.25; etaAlpha *= 1.25
            } else {
                eta *= 0.5; etaAlpha *= 0.5
            }
        }
        return Fit(weight: w, alpha: alpha, initialLoss: initial, loss: current)
    }
}
