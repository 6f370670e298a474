import NASTensor

/// How a supernet's FFN layers route their weights by architecture (Mixture-of-Supernets; `ArchitectureRouter`).
public struct ExpertRouting: Codable, Equatable, Sendable {
    /// Layer-wise: one mixture weight per expert for the whole layer. Neuron-wise: one per expert and
    /// output unit (a convex combination per row).
    public enum Granularity: String, Codable, CaseIterable, Sendable {
        case layer, neuron
    }
    /// Expert copies of each routed weight (m ≥ 2; m = 1 is the plain supernet and builds no router).
    public var experts: Int
    public var granularity: Granularity
    /// The router's hidden width.
    public var hidden: Int

    public init(experts: Int, granularity: Granularity = .layer, hidden: Int = 64) {
        self.experts = experts; self.granularity = granularity; self.hidden = hidden
    }

    /// The router's input for layer `i` of `arch` in a supernet whose largest member is `largest`: the
    /// architecture normalised by the largest's sizes, [hidden, heads of layer i, FFN of layer i, depth]
    /// (MoS's encoding of the sub-network: each size over its maximum).
    public static func input(_ arch: Architecture, layer i: Int, largest: Architecture) -> [Float] {
        let layer = arch.layers[i], most = largest.layers[i]
        return [Float(arch.hidden) / Float(largest.hidden), Float(layer.heads) / Float(Swift.max(most.heads, 1)),
                Float(layer.ffn) / Float(most.ffn), Float(arch.depth) / Float(largest.depth)]
    }

    /// Width of `input`.
    public static let inputWidth = 4
}

/// Mixture-of-Supernets' router (Jawahar et al., "Mixture-of-Supernets: Improving Weight-Sharing
/// Supernet Training with Architecture-Routed Mixture-of-Experts", ACL Findings 2024): from the
/// normalised architecture vector a of the active sub-network (`ExpertRouting.input`),
///
///     α = softmax(W₂ · ReLU(W₁ a + b₁) + b₂),
///
/// layer-wise α ∈ Δ^m (output [1, m]); neuron-wise the m·R outputs are read as R rows of m with a
/// softmax per row (output [R, m], R the routed layer's largest output width; a narrower sub-network
/// uses the leading rows). The routed `Linear` then runs one GEMM with W = Σ_k α_k ⊙ E_k[:out, :in].
/// Routing depends on the architecture only, never on the tokens, so for a fixed architecture the
/// experts collapse into one dense matrix (`Transformer.extract`).
public final class ArchitectureRouter: Module {
    public let first: Linear, second: Linear
    public let experts: Int
    /// Rows routed apart: 1 (layer-wise) or the routed layer's largest output width (neuron-wise).
    public let rows: Int

    public init(experts: Int, rows: Int, hidden: Int, name: String, rng: inout RandomGenerator) {
        precondition(experts >= 2 && rows >= 1, "ArchitectureRouter: \(experts) experts, \(rows) rows")
        self.experts = experts
        self.rows = rows
        first = Linear(ExpertRouting.inputWidth, hidden, name: name + ".0", rng: &rng)
        second = Linear(hidden, experts * rows, name: name + ".2", rng: &rng)
    }

    public var children: [(name: String, module: any Module)] { [("first", first), ("second", second)] }

    /// The mixture weights [rows, m] for the architecture vector `a`.
    public func callAsFunction(_ a: [Float]) -> Tensor {
        let x = Tensor(shape: [1, a.count], scalars: a)
        return second(first(x).relu()).reshaped([rows, experts]).softmax()
    }
}
