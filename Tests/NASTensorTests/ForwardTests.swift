import XCTest
@testable import NASTensor

/// Forward results against hand-computed values and closed forms.
final class ForwardTests: XCTestCase {
    func testMatmulByHand() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(a.matmul(b).scalars, [58, 64, 139, 154])
        XCTAssertEqual(a.matmul(a, transposeB: true).scalars, [14, 32, 32, 77])
        XCTAssertEqual(a.matmul(a, transposeA: true).scalars, [17, 22, 27, 22, 29, 36, 27, 36, 45])
        XCTAssertEqual(b.matmul(a, transposeA: true, transposeB: true).scalars, [58, 139, 64, 154])
    }

    func testBroadcastArithmeticByHand() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let row = Tensor(shape: [3], scalars: [10, 20, 30])
        let col = Tensor(shape: [2, 1], scalars: [1, 2])
        XCTAssertEqual((a + row).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((a * col).scalars, [1, 2, 3, 8, 10, 12])
        XCTAssertEqual((row - col).scalars, [9, 19, 29, 8, 18, 28])
        XCTAssertEqual((a / col).scalars, [1, 2, 3, 2, 2.5, 3])
        XCTAssertEqual((a * 2 + 1).scalars, [3, 5, 7, 9, 11, 13])
        XCTAssertEqual((12 / a).scalars, [12, 6, 4, 3, 2.4, 2])
    }

    func testReductionsByHand() {
        let a = Tensor(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        XCTAssertEqual(a.sum().item(), 21)
        XCTAssertEqual(a.sum(axes: [0]).scalars, [5, 7, 9])
        XCTAssertEqual(a.sum(axes: [1], keepDims: true).shape, [2, 1])
        XCTAssertEqual(a.mean(axes: [1]).scalars, [3, 4])
        XCTAssertEqual(a.max(axis: 1).scalars, [5, 6])
        XCTAssertEqual(a.max(axis: 0).scalars, [4, 5, 6])
        XCTAssertEqual(a.max(axes: [0, 1]).item(), 6)
    }

    func testActivationsAgainstClosedForms() {
        let xs: [Float] = [-3, -1, -0.3, 0, 0.001, 0.5, 1, 2.5, 8]
        let x = Tensor(shape: [xs.count], scalars: xs)
        func erf(_ v: Double) -> Double { Foundation.erf(v) }
        assertClose(x.gelu().scalars, xs.map { Float(0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot()))) }, tol: 2e-6)
        assertClose(x.geluTanh().scalars, xs.map {
            let v = Double($0)
            return Float(0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
        }, tol: 2e-6)
        assertClose(x.tanh().scalars, xs.map { Float(Foundation.tanh(Double($0))) }, tol: 1e-6)
        assertClose(x.sigmoid().scalars, xs.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }, tol: 1e-6)
        assertClose(x.exp().scalars, xs.map { Float(Foundation.exp(Double($0))) }, tol: 1e-6)
        XCTAssertEqual(x.relu().scalars, xs.map { Swift.max($0, 0) })
        XCTAssertEqual(Tensor(shape: [2], scalars: [-100, -1e30]).exp().scalars, [0, 0])
        // gelu(1) = Φ(1) = 0.8413447
        XCTAssertEqual(Tensor(scalar: 1).gelu().item(), 0.8413447, accuracy: 1e-6)
    }

    func testSoftmaxAndMasks() {
        let x = Tensor(shape: [1, 3], scalars: [1, 2, 3])
        let e: [Double] = [1, 2, 3].map { Foundation.exp($0) }
        assertClose(x.softmax().scalars, e.map { Float($0 / e.reduce(0, +)) }, tol: 1e-6)
        let masked = x.softmax(mask: Tensor(shape: [3], scalars: [0, -.infinity, 0]))
        assertClose(masked.scalars, [Float(e[0] / (e[0] + e[2])), 0, Float(e[2] / (e[0] + e[2]))], tol: 1e-6)
        XCTAssertEqual(masked.scalars[1], 0)
        let lse = Foundation.log(e.reduce(0, +))
        assertClose(x.logSoftmax().scalars, [1, 2, 3].map { Float($0 - lse) }, tol: 1e-6)
    }

    /// A row holding NaN gives NaN (a fault upstream shows), whether every value is NaN or one is, and
    /// with or without a mask; a row whose every position is masked by design (all −∞) gives zeros, and
    /// the other rows of the same call are untouched.
    func testSoftmaxPropagatesNaNButZeroesAFullyMaskedRow() {
        let nan = Float.nan
        let x = Tensor(shape: [4, 3], scalars: [nan, nan, nan, 1, nan, 3, 1, 2, 3, 1, 2, 3])
        let y = x.softmax().scalars
        XCTAssertTrue(y[0..<6].allSatisfy(\.isNaN), "rows with NaN: \(y)")
        XCTAssertEqual(y[6..<9].reduce(0, +), 1, accuracy: 1e-6)
        // Masked: row 0 all NaN, row 1 NaN beside masked positions, row 2 fully masked, row 3 finite.
        let mask = Tensor(shape: [4, 3], scalars: [0, 0, 0, -.infinity, 0, -.infinity,
                                                   -.infinity, -.infinity, -.infinity, 0, -.infinity, 0])
        let m = x.softmax(mask: mask).scalars
        XCTAssertTrue(m[0..<6].allSatisfy(\.isNaN), "masked rows with NaN: \(m)")
        XCTAssertEqual(Array(m[6..<9]), [0, 0, 0], "a fully masked row gives zeros")
        XCTAssertEqual(m[10], 0)
        XCTAssertEqual(m[9] + m[11], 1, accuracy: 1e-6)
        // A causal mask (broadcast [T, T]) over a NaN score row.
        let scores = Tensor(shape: [1, 2, 2], scalars: [nan, nan, 0, 1])
        let causal = Tensor(shape: [2, 2], scalars: [0, -.infinity, 0, 0])
        let c = scores.softmax(mask: causal).scalars
        XCTAssertTrue(c[0].isNaN && c[1].isNaN, "\(c)")
        XCTAssertEqual(c[2] + c[3], 1, accuracy: 1e-6)
    }

    func testCrossEntropyByHand() {
        let logits = Tensor(shape: [3, 2], scalars: [0, 0, 1, 3, 5, 5])
        // rows: ln 2; ln(1 + e^{2}) for target 0 of row [1,3]; row 3 ignored
        let expected = (Foundation.log(2.0) + Foundation.log(1 + Foundation.exp(2.0))) / 2
        XCTAssertEqual(Double(logits.crossEntropy(targets: [1, 0, -100]).item()), expected, accuracy: 1e-6)
        XCTAssertEqual(logits.crossEntropy(targets: [-100, -100, -100]).item(), 0)
    }

    func testLayerNormByHand() {
        let x = Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        // mean 2.5, var 1.25
        let r = 1 / (1.25 + 1e-5).squareRoot()
        let y = x.layerNorm(gamma: Tensor(shape: [4], scalars: [1, 2, 1, 1]), beta: Tensor(shape: [4], scalars: [0, 0, 0, 1]))
        assertClose(y.scalars, [Float(-1.5 * r), Float(2 * -0.5 * r), Float(0.5 * r), Float(1.5 * r + 1)], tol: 1e-6)
    }

    func testGatherConcatSliceWhere() {
        let table = Tensor(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
        XCTAssertEqual(table.gather(rows: [2, 0, 2]).scalars, [20, 21, 0, 1, 20, 21])
        let c = Tensor.concat([table, table.slice(axis: 0, 1..<2)], axis: 0)
        XCTAssertEqual(c.shape, [4, 2])
        XCTAssertEqual(c.scalars, [0, 1, 10, 11, 20, 21, 10, 11])
        XCTAssertEqual(Tensor.concat([table, table], axis: 1).scalars, [0, 1, 0, 1, 10, 11, 10, 11, 20, 21, 20, 21])
        XCTAssertEqual(table.transposed().scalars, [0, 10, 20, 1, 11, 21])
        XCTAssertEqual(table.maskedFill(Tensor(shape: [3, 1], scalars: [0, 1, 0]), value: -1).scalars, [0, 1, -1, -1, 20, 21])
        XCTAssertEqual(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).permuted([1, 0]).reshaped([6]).scalars, [1, 4, 2, 5, 3, 6])
    }

    func testDropoutStatisticsAndScale() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor(repeating: 1, shape: [200_000])
        let y = x.dropout(p: 0.25, using: &rng).scalars
        let kept = y.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / Double(y.count), 0.75, accuracy: 0.005)
        XCTAssertTrue(kept.allSatisfy { $0 == Float(1 / 0.75) })
    }

    func testRandomNormalMoments() {
        var rng = RandomGenerator(seed: 5)
        let v = Tensor.randomNormal([100_001], mean: 2, std: 0.5, using: &rng).scalars.map(Double.init)
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        XCTAssertEqual(mean, 2, accuracy: 0.01)
        XCTAssertEqual(variance.squareRoot(), 0.5, accuracy: 0.01)
    }
}

/// The engine's split GEMMs (rows, columns, inner dimension) against a Double reference.
final class SplitGEMMTests: XCTestCase {
    func testLargeProductsMatchDoubleReference() {
        var rng = RandomGenerator(seed: 12)
        // (m, k, n): row split, column split, inner-dimension split (weight-gradient shape).
        for (m, k, n) in [(512, 96, 64), (64, 96, 512), (128, 2048, 96)] {
            let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
            let bias = Tensor.randomNormal([n], using: &rng)
            for threads in [1, 2] {
                Engine.threads = threads
                let c = a.matmul(b, alpha: 0.5, bias: bias).scalars
                let av = a.scalars, bv = b.scalars, biasv = bias.scalars
                for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3), (7, n - 2)] {
                    var ref = 0.0
                    for t in 0..<k { ref += Double(av[i * k + t]) * Double(bv[t * n + j]) }
                    ref = 0.5 * ref + Double(biasv[j])
                    XCTAssertEqual(Double(c[i * n + j]), ref, accuracy: 1e-3 * (1 + Swift.abs(ref)), "\(m)×\(k)×\(n) t=\(threads)")
                }
            }
        }
        Engine.threads = 2
    }
}

/// Regressions found in review.
final class ReviewRegressionTests: XCTestCase {
    func testFoldedMatmulWithSizeOneAxesOfArbitraryStride() {
        let y = Tensor(shape: [3, 2, 1, 2], scalars: (0..<12).map(Float.init))
        let a = y.permuted([1, 2, 0, 3])                  // [2, 1, 3, 2], strides [2, 2, 4, 1]
        let w = Tensor(shape: [2, 1], scalars: [1, 10])
        XCTAssertEqual(a.matmul(w).scalars, [10, 54, 98, 32, 76, 120])
        XCTAssertEqual(a.matmul(w).scalars, a.contiguous().matmul(w).scalars)
        let p = Parameter(w)
        a.matmul(p.tensor).sum().backward()                // folded weight gradient
        let colSums = a.contiguous().reshaped([6, 2]).sum(axes: [0]).scalars
        XCTAssertEqual(p.grad!.scalars, colSums)
    }

    func testSumOfRankZeroViewKeepsItsOffset() {
        let v = Tensor(shape: [3], scalars: [1, 2, 3]).slice(axis: 0, 2..<3).reshaped([])
        XCTAssertEqual(v.item(), 3)
        XCTAssertEqual(v.sum().item(), 3)
        XCTAssertEqual(v.mean().item(), 3)
    }
}
