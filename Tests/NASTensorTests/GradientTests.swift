import XCTest
@testable import NASTensor

/// A finite-difference check for every differentiable op, on random shapes with broadcasting,
/// non-square and non-contiguous (leading-slice and permuted) inputs.
final class GradientTests: XCTestCase {
    override func setUp() { Engine.threads = 2 }

    /// y = x·(W ⊙ (A·Bᵀ))ᵀ + b ⊙ (A·1): gradients of x, W (also a strided slice), A and b; B is constant. And
    /// the values equal the composed ops'.
    func testMaskedLinear() {
        let columns = Tensor(shape: [4, 3], scalars: [1, 1, 0, 1, 0, 1, 0.5, 1, 0, 1, 0, 0])
        for sliced in [false, true] {
            checkGradients([[2, 3, 4], [5, 4], [5, 3], [5]], sliced: sliced) {
                $0[0].maskedLinear(weight: $0[1], rows: $0[2], columns: columns, bias: $0[3])
            }
            checkGradients([[6, 4], [5, 4], [5, 3]], sliced: sliced) { $0[0].maskedLinear(weight: $0[1], rows: $0[2], columns: columns, bias: nil) }
        }
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([6, 4], using: &rng), w = Tensor.randomNormal([5, 4], using: &rng)
        let a = Tensor.randomNormal([5, 3], using: &rng), b = Tensor.randomNormal([5], using: &rng)
        let fused = x.maskedLinear(weight: w, rows: a, columns: columns, bias: b).scalars
        let composed = x.matmul(w * a.matmul(columns, transposeB: true), transposeB: true, bias: b * a.sum(axes: [1])).scalars
        XCTAssertEqual(fused, composed)
    }

    func testMatmulAllTransposes() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = ta ? [4, 3] : [3, 4], b = tb ? [5, 4] : [4, 5]
            checkGradients([a, b]) { $0[0].matmul($0[1], transposeA: ta, transposeB: tb) }
            checkGradients([a, b], sliced: true) { $0[0].matmul($0[1], transposeA: ta, transposeB: tb) }
        }
    }

    func testMatmulBatchedAndBroadcast() {
        checkGradients([[2, 3, 4, 5], [2, 3, 5, 2]]) { $0[0].matmul($0[1]) }
        checkGradients([[2, 3, 4, 5], [2, 3, 2, 5]]) { $0[0].matmul($0[1], transposeB: true) }
        checkGradients([[2, 3, 5, 4], [2, 3, 5, 2]]) { $0[0].matmul($0[1], transposeA: true, alpha: 0.7) }
        checkGradients([[2, 3, 4], [6, 4]], sliced: true) { $0[0].matmul($0[1], transposeB: true, alpha: -1.5) }
        // Shared weight (the Linear pattern): folded GEMM, gradient straight into the parameter block.
        checkGradients([[2, 3, 4], [6, 4]], sliced: true) { $0[0].matmul($0[1], transposeB: true) }
        checkGradients([[2, 3, 4], [4, 6]], sliced: true) { $0[0].matmul($0[1]) }
        // Batch broadcasting on either side.
        checkGradients([[3, 4], [2, 4, 5]]) { $0[0].matmul($0[1]) }
        checkGradients([[2, 1, 3, 4], [1, 3, 4, 2]]) { $0[0].matmul($0[1]) }
        // Permuted (attention-style) views.
        checkGradients([[2, 4, 3, 5], [2, 4, 3, 5]]) {
            $0[0].permuted([0, 2, 1, 3]).matmul($0[1].permuted([0, 2, 1, 3]), transposeB: true)
        }
    }

    func testArithmeticBroadcasting() {
        for shapes in [[[3, 4], [3, 4]], [[3, 1, 4], [2, 1]], [[4], [3, 4]], [[2, 3, 4], [1, 3, 1]], [[], [3, 2]]] {
            checkGradients(shapes) { $0[0] + $0[1] }
            checkGradients(shapes) { $0[0] - $0[1] }
            checkGradients(shapes) { $0[0] * $0[1] }
            checkGradients(shapes, positive: true) { $0[0] / $0[1] }
        }
        checkGradients([[3, 4], [3, 4]], sliced: true) { $0[0] * $0[1] + $0[0] }
    }

    func testScalarOps() {
        checkGradients([[3, 5]]) { $0[0] * 2.5 + 1 }
        checkGradients([[3, 5]]) { 3 - $0[0] / 4 }
        checkGradients([[3, 5]], positive: true) { 2 / $0[0] }
        checkGradients([[3, 5]], sliced: true) { -$0[0] }
    }

    func testUnaryOps() {
        let shapes = [[3, 7]]
        checkGradients(shapes) { $0[0].exp() }
        checkGradients(shapes, positive: true) { $0[0].log() }
        checkGradients(shapes, positive: true) { $0[0].sqrt() }
        checkGradients(shapes, positive: true) { $0[0].pow(1.7) }
        checkGradients(shapes) { $0[0].pow(3) }
        checkGradients(shapes, h: 1e-3) { $0[0].abs() }
        checkGradients(shapes, h: 1e-3) { $0[0].relu() }
        checkGradients(shapes) { $0[0].tanh() }
        checkGradients(shapes) { $0[0].sigmoid() }
        checkGradients(shapes) { $0[0].gelu() }
        checkGradients(shapes) { $0[0].geluTanh() }
        checkGradients(shapes) { $0[0].square() }
        checkGradients(shapes, positive: true) { $0[0].reciprocal() }
        checkGradients(shapes, sliced: true) { $0[0].gelu() }
    }

    func testReductions() {
        checkGradients([[2, 3, 4]]) { $0[0].sum() }
        checkGradients([[2, 3, 4]]) { $0[0].sum(axes: [1]) }
        checkGradients([[2, 3, 4]]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkGradients([[2, 3, 4]], sliced: true) { $0[0].mean(axes: [-1]) }
        checkGradients([[2, 3, 4]]) { $0[0].mean() }
        checkGradients([[2, 3, 4]]) { $0[0].max(axis: 1) }
        checkGradients([[2, 3, 4]], sliced: true) { $0[0].max(axis: -1, keepDims: true) }
        checkGradients([[2, 3, 4]]) { $0[0].max(axes: [0, 2]) }
    }

    func testShapeOps() {
        checkGradients([[2, 3, 4]]) { $0[0].reshaped([4, -1]) }
        checkGradients([[2, 3, 4]], sliced: true) { $0[0].reshaped([6, 4]) }
        checkGradients([[2, 3, 4]]) { $0[0].permuted([2, 0, 1]) * $0[0].permuted([2, 0, 1]) }
        checkGradients([[2, 3, 4]]) { $0[0].transposed(0, 2).contiguous() }
        checkGradients([[5, 4]]) { $0[0].slice(axis: 0, 1..<4) }
        checkGradients([[5, 4]], sliced: true) { $0[0].slice(axis: 1, 2..<4) }
        checkGradients([[5, 4]]) { $0[0].leading([3, 2]) }
        checkGradients([[2, 3], [2, 5], [2, 1]]) { Tensor.concat($0, axis: 1) }
        checkGradients([[2, 3], [4, 3]], sliced: true) { Tensor.concat($0, axis: 0) }
    }

    func testGather() {
        let ids: [Int32] = [3, 0, 3, 5, 1]
        checkGradients([[6, 4]]) { $0[0].gather(rows: ids) }
        checkGradients([[6, 4]], sliced: true) { $0[0].gather(rows: ids) }
        checkGradients([[6, 4]]) { $0[0].transposed().transposed().gather(rows: ids) * 2 }
    }

    func testSoftmaxFamily() {
        checkGradients([[3, 6]]) { $0[0].softmax() }
        checkGradients([[3, 6]], sliced: true) { $0[0].softmax() }
        // Additive masks: padding [B, 1, 1, T] and causal [T, T].
        let pad = Tensor(shape: [2, 1, 1, 4], scalars: [0, 0, 0, -1e9, 0, 0, -1e9, -1e9])
        checkGradients([[2, 3, 4, 4]]) { $0[0].softmax(mask: pad) }
        var causal = [Float](repeating: 0, count: 16)
        for i in 0..<4 { for j in 0..<4 where j > i { causal[i * 4 + j] = -.infinity } }
        let c = Tensor(shape: [4, 4], scalars: causal)
        checkGradients([[2, 4, 4]]) { $0[0].softmax(mask: c) }
        checkGradients([[3, 6]]) { $0[0].logSoftmax() }
        checkGradients([[3, 6]], sliced: true) { $0[0].logSoftmax() }
    }

    func testCrossEntropy() {
        checkGradients([[5, 7]]) { $0[0].crossEntropy(targets: [1, 6, 0, 3, 3]) }
        checkGradients([[5, 7]], sliced: true) { $0[0].crossEntropy(targets: [1, -100, 0, -100, 2]) }
        checkGradients([[4, 7]]) { $0[0].crossEntropy(targets: [9, 9, 2, 9], ignoreIndex: 9) * 3 }
    }

    func testLayerNorm() {
        checkGradients([[4, 6], [6], [6]]) { $0[0].layerNorm(gamma: $0[1], beta: $0[2]) }
        checkGradients([[2, 3, 6], [6], [6]], sliced: true) { $0[0].layerNorm(gamma: $0[1], beta: $0[2], eps: 1e-12) }
        checkGradients([[4, 6]]) { $0[0].layerNorm(gamma: nil, beta: nil) }
    }

    func testDropoutWhereMaskedFill() {
        let rng = RandomGenerator(seed: 11)
        checkGradients([[4, 9]]) { x in var r = rng; return x[0].dropout(p: 0.3, using: &r) }
        let cond = Tensor(shape: [3, 1], scalars: [1, 0, 1])
        checkGradients([[3, 4], [4]]) { Tensor.select(cond, $0[0], $0[1]) }
        let mask = Tensor(shape: [1, 4], scalars: [0, 1, 0, 1])
        checkGradients([[3, 4]], sliced: true) { $0[0].maskedFill(mask, value: -2) }
    }

    func testComposedBlock() {
        // attention-like composition through several ops at once
        checkGradients([[2, 5, 8], [8, 8], [8]]) { v in
            let h = v[0].matmul(v[1], transposeB: true) + v[2]
            let q = h.reshaped([2, 5, 2, 4]).permuted([0, 2, 1, 3])
            let s = q.matmul(q, transposeB: true) * 0.5
            return s.softmax().matmul(q).permuted([0, 2, 1, 3]).reshaped([2, 5, 8]).gelu().layerNorm(gamma: nil, beta: nil)
        }
    }
}

final class FusedOpGradientTests: XCTestCase {
    func testMatmulWithFusedBias() {
        checkGradients([[2, 3, 4], [5, 4], [5]], sliced: true) { $0[0].matmul($0[1], transposeB: true, bias: $0[2]) }
        checkGradients([[2, 3, 4, 5], [2, 3, 5, 2], [2]]) { $0[0].matmul($0[1], alpha: 0.5, bias: $0[2]) }
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), b = Tensor(shape: [2, 2], scalars: [1, 0, 0, 1])
        XCTAssertEqual(a.matmul(b, bias: Tensor(shape: [2], scalars: [10, 20])).scalars, [11, 22, 13, 24])
    }
}
