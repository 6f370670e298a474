import Foundation
import NASTensor

/// A value inside an evolved proxy (`ProxyGenotype`): a matrix rows × cols of Floats (a vector is 1 × n, a number
/// 1 × 1). Every operation either returns a value or nil (shapes that do not fit, a value that is not finite),
/// which is how compatibility screening finds invalid proxies.
public struct ProxyValue: Codable, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(rows * cols == values.count && rows > 0 && cols > 0, "ProxyValue: \(rows)×\(cols) with \(values.count) values")
        (self.rows, self.cols, self.values) = (rows, cols, values)
    }
    public init(_ scalar: Double) { self.init(rows: 1, cols: 1, values: [Float(scalar)]) }
    public init(vector: [Double]) { self.init(rows: 1, cols: vector.count, values: vector.map(Float.init)) }
    /// A tensor of rank 0–2 (rank 0 → 1×1, rank 1 → 1×n).
    public init(_ t: Tensor) {
        let s = t.shape
        precondition(s.count <= 2, "ProxyValue: rank \(s.count) tensor")
        self.init(rows: s.count == 2 ? s[0] : 1, cols: s.last ?? 1, values: t.contiguous().scalars)
    }

    public var isFinite: Bool { values.allSatisfy(\.isFinite) }
    var tensor: Tensor { Tensor(shape: [rows, cols], scalars: values) }

    func map(_ f: (Float) -> Float) -> ProxyValue { ProxyValue(rows: rows, cols: cols, values: values.map(f)) }

    public var mean: Double { values.reduce(0.0) { $0 + Double($1) } / Double(values.count) }
    public var sum: Double { values.reduce(0.0) { $0 + Double($1) } }
    public var norm: Double { values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    public var std: Double {
        let m = mean
        return (values.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(values.count)).squareRoot()
    }
}

/// The unary operations of a proxy's branches. Elementwise ones keep the shape; the rest reduce or re-shape.
public enum ProxyUnary: String, CaseIterable, Codable, Sendable {
    case abs, square, sqrt, log, exp, negate, reciprocal, sigmoid, tanh
    /// x / ‖x‖_F; (x − min)/(max − min); (x − μ)/σ; softmax over all entries.
    case normalize, minMax = "min-max", standardize, softmax
    case transpose
    /// Row means [r, 1]; column means [1, c]; ‖x‖_F, mean, std (→ a number).
    case rowMean = "row-mean", columnMean = "column-mean", frobenius, mean, std

    public func apply(_ x: ProxyValue) -> ProxyValue? {
        let eps: Float = 1e-8
        let out: ProxyValue
        switch self {
        case .abs: out = x.map { Swift.abs($0) }
        case .square: out = x.map { $0 * $0 }
        case .sqrt: out = x.map { Swift.abs($0).squareRoot() }
        case .log: out = x.map { Foundation.log(Swift.abs($0) + eps) }
        case .exp: out = x.map { Foundation.exp(Swift.min($0, 30)) }
        case .negate: out = x.map { -$0 }
        case .reciprocal: out = x.map { 1 / ($0 >= 0 ? $0 + eps : $0 - eps) }
        case .sigmoid: out = x.map { 1 / (1 + Foundation.exp(-$0)) }
        case .tanh: out = x.map { Foundation.tanh($0) }
        case .normalize:
            let n = Float(x.norm)
            guard n > 0 else { return nil }
            out = x.map { $0 / n }
        case .minMax:
            guard let lo = x.values.min(), let hi = x.values.max(), hi > lo else { return nil }
            out = x.map { ($0 - lo) / (hi - lo) }
        case .standardize:
            let m = Float(x.mean), s = Float(x.std)
            guard s > 0 else { return nil }
            out = x.map { ($0 - m) / s }
        case .softmax:
            guard let hi = x.values.max() else { return nil }
            let e = x.values.map { Foundation.exp($0 - hi) }, z = e.reduce(0, +)
            out = ProxyValue(rows: x.rows, cols: x.cols, values: e.map { $0 / z })
        case .transpose:
            var v = [Float](repeating: 0, count: x.values.count)
            for r in 0..<x.rows { for c in 0..<x.cols { v[c * x.rows + r] = x.values[r * x.cols + c] } }
            out = ProxyValue(rows: x.cols, cols: x.rows, values: v)
        case .rowMean:
            out = ProxyValue(rows: x.rows, cols: 1, values: (0..<x.rows).map { r in
                x.values[(r * x.cols)..<((r + 1) * x.cols)].reduce(0, +) / Float(x.cols) })
        case .columnMean:
            var v = [Float](repeating: 0, count: x.cols)
            for r in 0..<x.rows { for c in 0..<x.cols { v[c] += x.values[r * x.cols + c] } }
            out = ProxyValue(rows: 1, cols: x.cols, values: v.map { $0 / Float(x.rows) })
        case .frobenius: out = ProxyValue(x.norm)
        case .mean: out = ProxyValue(x.mean)
        case .std: out = ProxyValue(x.std)
        }
        return out.isFinite ? out : nil
    }
}

/// The binary operation joining a proxy's two branches: elementwise sum, difference, product (equal shapes, or one
/// side a number, a column [r, 1] or a row [1, c] broadcast over the other), or the matrix product a·b (a.cols ==
/// b.rows), else a·bᵀ (a.cols == b.cols).
public enum ProxyBinary: String, CaseIterable, Codable, Sendable {
    case sum, difference, product, matmul

    var symbol: String { ["sum": "+", "difference": "-", "product": "*", "matmul": "@"][rawValue]! }

    public func apply(_ a: ProxyValue, _ b: ProxyValue) -> ProxyValue? {
        if self == .matmul {
            let product: Tensor
            if a.cols == b.rows { product = Autograd.noGrad { a.tensor.matmul(b.tensor) } }
            else if a.cols == b.cols { product = Autograd.noGrad { a.tensor.matmul(b.tensor, transposeB: true) } }
            else { return nil }
            let out = ProxyValue(product)
            return out.isFinite ? out : nil
        }
        let f: (Float, Float) -> Float = self == .sum ? (+) : self == .difference ? (-) : (*)
        let (rows, cols) = (Swift.max(a.rows, b.rows), Swift.max(a.cols, b.cols))
        func index(_ x: ProxyValue) -> ((Int, Int) -> Int)? {
            switch (x.rows, x.cols) {
            case (rows, cols): return { r, c in r * cols + c }
            case (1, 1): return { _, _ in 0 }
            case (rows, 1): return { r, _ in r }
            case (1, cols): return { _, c in c }
            default: return nil
            }
        }
        guard let ia = index(a), let ib = index(b) else { return nil }
        var v = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { v[r * cols + c] = f(a.values[ia(r, c)], b.values[ib(r, c)]) } }
        let out = ProxyValue(rows: rows, cols: cols, values: v)
        return out.isFinite ? out : nil
    }
}

/// The final reduction of a proxy to one number per sample.
public enum ProxyReduction: String, CaseIterable, Codable, Sendable {
    case mean, sum, norm, std

    public func apply(_ x: ProxyValue) -> Double? {
        let v: Double
        switch self {
        case .mean: v = x.mean
        case .sum: v = x.sum
        case .norm: v = x.norm
        case .std: v = x.std
        }
        return v.isFinite ? v : nil
    }
}
