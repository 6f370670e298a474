import NASModels

/// The baseline a `LatencyPredictor` must beat: latency as a linear function of the analytic costs,
///
///     latency (ms) ≈ a · FLOPs + b · params + c,
///
/// with FLOPs at the model's sequence length, fitted by ordinary least squares on measured samples
/// (the normal equations on standardised columns, solved by Gaussian elimination with partial
/// pivoting; a tiny ridge keeps a degenerate sample set, e.g. constant params, solvable).
public struct LinearLatencyModel: Codable, Equatable, Sendable {
    public var sequenceLength: Int
    /// ms per FLOP.
    public var a: Double
    /// ms per parameter.
    public var b: Double
    /// ms.
    public var c: Double

    public init(sequenceLength: Int, a: Double, b: Double, c: Double) {
        self.sequenceLength = sequenceLength; self.a = a; self.b = b; self.c = c
    }

    /// a · FLOPs + b · params + c, in milliseconds.
    public func predict(_ arch: Architecture) -> Double {
        a * Double(arch.flops(sequenceLength: sequenceLength)) + b * Double(arch.parameterCount) + c
    }

    /// The least-squares fit to `samples` (architecture, measured ms).
    public static func fit(samples: [(Architecture, Double)], sequenceLength: Int) -> LinearLatencyModel {
        precondition(!samples.isEmpty, "LinearLatencyModel.fit: no samples")
        let flops = samples.map { Double($0.0.flops(sequenceLength: sequenceLength)) }
        let params = samples.map { Double($0.0.parameterCount) }
        let (mf, sf) = LatencyPredictor.meanAndStd(flops), (mp, sp) = LatencyPredictor.meanAndStd(params)
        let scaleF = sf > 0 ? sf : 1, scaleP = sp > 0 ? sp : 1
        // Columns (f − mf)/sf, (p − mp)/sp, 1: solve (XᵀX + λI) β = Xᵀy.
        let rows = zip(flops, params).map { [($0 - mf) / scaleF, ($1 - mp) / scaleP, 1.0] }
        var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 3)
        for (row, s) in zip(rows, samples) {
            for i in 0..<3 {
                for j in 0..<3 { m[i][j] += row[i] * row[j] }
                m[i][3] += row[i] * s.1
            }
        }
        for i in 0..<3 { m[i][i] += 1e-9 * Double(samples.count) }
        let beta = solve(m)
        let a = beta[0] / scaleF, b = beta[1] / scaleP
        return LinearLatencyModel(sequenceLength: sequenceLength, a: a, b: b, c: beta[2] - a * mf - b * mp)
    }

    /// Solves the n × n system held in the augmented matrix `m` ([A | y], n rows of n + 1 values).
    static func solve(_ m: [[Double]]) -> [Double] {
        var m = m
        let n = m.count
        for col in 0..<n {
            let pivot = (col..<n).max { Swift.abs(m[$0][col]) < Swift.abs(m[$1][col]) }!
            m.swapAt(col, pivot)
            for r in (col + 1)..<n {
                let factor = m[r][col] / m[col][col]
                for c in col...n { m[r][c] -= factor * m[col][c] }
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = m[r][n]
            for c in (r + 1)..<n { s -= m[r][c] * x[c] }
            x[r] = s / m[r][r]
        }
        return x
    }
}
