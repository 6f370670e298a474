import NASModels

/// What a candidate costs to run. Params and FLOPs are analytic (`Architecture.parameterCount`,
/// `Architecture.flops(sequenceLength:)`); latency is either predicted (`LatencyPredictor`) or measured
/// (`LatencyMeter`: batch 1, one thread, median after warm-up by default).
public enum CostKind: String, CaseIterable, Codable, Sendable {
    case params, flops, latency

    /// The unit shown next to values and in plot axes.
    public var unit: String {
        switch self {
        case .params: return "parameters"
        case .flops: return "FLOPs"
        case .latency: return "ms"
        }
    }
}

/// The costs of one trial. `flops` is at the study's sequence length.
public struct Costs: Equatable, Codable, Sendable {
    public var params: Int
    public var flops: Int
    /// Predicted latency (ms), when the study uses latency.
    public var latencyMs: Double?
    /// Measured latency (ms): finalists are re-measured so that a result never breaks its budget by a
    /// prediction error. When present it overrides the prediction.
    public var measuredLatencyMs: Double?

    public init(params: Int, flops: Int, latencyMs: Double? = nil, measuredLatencyMs: Double? = nil) {
        self.params = params; self.flops = flops; self.latencyMs = latencyMs; self.measuredLatencyMs = measuredLatencyMs
    }

    /// The analytic costs of `arch` at `sequenceLength` tokens.
    public init(_ arch: Architecture, sequenceLength: Int) {
        self.init(params: arch.parameterCount, flops: arch.flops(sequenceLength: sequenceLength))
    }

    /// The value of one cost (latency: measured when known, else predicted; nil when neither).
    public func value(_ kind: CostKind) -> Double? {
        switch kind {
        case .params: return Double(params)
        case .flops: return Double(flops)
        case .latency: return measuredLatencyMs ?? latencyMs
        }
    }
}

/// A budget on one cost as a range: `min ≤ value ≤ max`, either end optional. The same constraint
/// serves the search (only candidates inside are evaluated), `study best` and the Pareto plots.
public struct Constraint: Equatable, Codable, Sendable, CustomStringConvertible {
    public var cost: CostKind
    public var min: Double?
    public var max: Double?

    public init(_ cost: CostKind, min: Double? = nil, max: Double? = nil) {
        self.cost = cost; self.min = min; self.max = max
    }

    /// How far outside the range `costs` lies, relative to the bound (0 inside; the measure of
    /// constraint-domination, `ParetoFront.constrainedDominates`). A cost that is unknown counts as inside.
    public func violation(_ costs: Costs) -> Double {
        guard let v = costs.value(cost) else { return 0 }
        if let max, v > max { return (v - max) / Swift.max(abs(max), 1e-12) }
        if let min, v < min { return (min - v) / Swift.max(abs(min), 1e-12) }
        return 0
    }

    public func allows(_ costs: Costs) -> Bool { violation(costs) == 0 }

    public var description: String {
        func f(_ v: Double) -> String {
            switch cost {
            case .params, .flops: return v >= 1e6 ? String(format: "%.4gM", v / 1e6) : String(format: "%.0f", v)
            case .latency: return String(format: "%.3g ms", v)
            }
        }
        switch (min, max) {
        case let (lo?, hi?): return "\(f(lo)) ≤ \(cost.rawValue) ≤ \(f(hi))"
        case let (nil, hi?): return "\(cost.rawValue) ≤ \(f(hi))"
        case let (lo?, nil): return "\(cost.rawValue) ≥ \(f(lo))"
        case (nil, nil): return "\(cost.rawValue) unconstrained"
        }
    }
}

extension Array where Element == Constraint {
    /// Whether every constraint allows `costs`.
    public func allow(_ costs: Costs) -> Bool { allSatisfy { $0.allows(costs) } }
    /// The summed violation (0 when feasible).
    public func violation(_ costs: Costs) -> Double { reduce(0) { $0 + $1.violation(costs) } }
}
