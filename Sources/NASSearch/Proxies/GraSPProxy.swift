import NASModels
import NASTensor

/// GraSP (Wang, Zhang & Grosse, "Picking winning tickets before training by preserving gradient
/// flow", ICLR 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021):
///     score = −Σ_θ θ ⊙ (H g),   g = ∇L(θ),  H the Hessian of the LM loss L
/// over the scored parameters (the backbone's weight matrices). The Hessian-vector product is a central
/// finite difference of gradients instead of double backpropagation (the engine has no second order):
///     H g ≈ (∇L(θ + εg) − ∇L(θ − εg)) / 2ε,
/// with only the scored parameters perturbed (g is their gradient) and ε chosen so that
/// ‖εg‖ = `relativeStep` · ‖θ‖ (norms over the scored parameters; default 10⁻³). The error is O(ε²)
/// plus Float rounding of the gradients over 2ε. Values are restored exactly afterwards.
public struct GraSPProxy: Proxy {
    public var relativeStep: Double

    public init(relativeStep: Double = 1e-3) { self.relativeStep = relativeStep }

    public var name: String { "grasp" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        guard relativeStep > 0 && relativeStep.isFinite else {
            throw ProxyError.invalidOption(proxy: name, message: "relativeStep = \(relativeStep) must be positive")
        }
        let params = context.scoredParameters
        let theta = params.map { $0.value }
        defer { for (p, v) in zip(params, theta) { p.value = v } }
        let g = context.scoredGradients
        var thetaSq = 0.0, gSq = 0.0
        for (x, y) in zip(theta, g) { thetaSq += ProxyContext.dot(x, x); gSq += ProxyContext.dot(y, y) }
        guard gSq > 0 else { return 0 }
        let eps = relativeStep * thetaSq.squareRoot() / gSq.squareRoot()
        func gradient(at sign: Double) -> [Tensor] {
            Autograd.noGrad { for (i, p) in params.enumerated() { p.value = theta[i] + g[i] * Float(sign * eps) } }
            return context.lossGradients(of: params)
        }
        let plus = gradient(at: 1), minus = gradient(at: -1)
        var s = 0.0
        for i in params.indices {
            let x = theta[i].scalars, a = plus[i].scalars, b = minus[i].scalars
            for j in x.indices { s += Double(x[j]) * (Double(a[j]) - Double(b[j])) }
        }
        return -s / (2 * eps)
    }
}
