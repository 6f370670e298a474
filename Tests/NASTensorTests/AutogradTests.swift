import XCTest
@testable import NASTensor

/// Autodiff semantics, weight entanglement through leading slices, determinism, copy on write.
final class AutogradTests: XCTestCase {
    func testLeadingSliceEqualsExplicitCopy() {
        var rng = RandomGenerator(seed: 1)
        let w = Parameter(Tensor.randomNormal([8, 6], using: &rng))
        let x = Tensor.randomNormal([5, 4], using: &rng)
        let slice = w.leading([3, 4])
        XCTAssertFalse(slice.isContiguous)
        XCTAssertTrue(slice.storage === w.value.storage, "leading slice must share the parent's storage")
        var copy = [Float]()
        for i in 0..<3 { for j in 0..<4 { copy.append(w.value[i, j]) } }
        let explicit = Tensor(shape: [3, 4], scalars: copy)
        XCTAssertEqual(slice.scalars, explicit.scalars)
        XCTAssertEqual(x.matmul(slice, transposeB: true).scalars, x.matmul(explicit, transposeB: true).scalars)
    }

    func testSliceGradientLandsInParentBlock() {
        var rng = RandomGenerator(seed: 2)
        let w = Parameter(Tensor.randomNormal([8, 6], using: &rng))
        let x = Tensor.randomNormal([2, 5, 4], using: &rng)
        x.matmul(w.leading([3, 4]), transposeB: true).sum().backward()
        // Closed form: dW[i, j] = Σ_rows x[row, j] for i < 3, j < 4; zero elsewhere.
        let colSums = x.reshaped([10, 4]).sum(axes: [0]).scalars
        let g = w.grad!
        for i in 0..<8 {
            for j in 0..<6 {
                let expected: Float = (i < 3 && j < 4) ? colSums[j] : 0
                XCTAssertEqual(g[i, j], expected, accuracy: 1e-5, "dW[\(i), \(j)]")
            }
        }
    }

    func testGradientsAccumulateUntilZeroed() {
        let p = Parameter(Tensor(shape: [3], scalars: [1, 2, 3]))
        (p.tensor * p.tensor).sum().backward()
        XCTAssertEqual(p.grad!.scalars, [2, 4, 6])
        (p.tensor * 3).sum().backward()
        XCTAssertEqual(p.grad!.scalars, [5, 7, 9])
        p.zeroGrad()
        XCTAssertNil(p.grad)
        p.tensor.sum().backward()
        XCTAssertEqual(p.grad!.scalars, [1, 1, 1])
    }

    func testLargeGradientAccumulationSplitAcrossThreads() {
        Engine.threads = 2
        let n = 300_001
        var rng = RandomGenerator(seed: 3)
        let p = Parameter(Tensor.randomUniform([n], using: &rng))
        (p.tensor * 2).sum().backward()          // adopted
        (p.tensor.slice(axis: 0, 0..<n) * 3).sum().backward()   // accumulated (one long row, split)
        let g = p.grad!.scalars
        XCTAssertEqual(g.count, n)
        XCTAssertTrue(g.allSatisfy { $0 == 5 })
        let big = Tensor.randomUniform([n], using: &rng)
        XCTAssertEqual(big.reshaped([1, n]).contiguous().scalars, big.scalars)
    }

    func testSharedInputGetsSummedGradient() {
        let p = Parameter(Tensor(shape: [2], scalars: [3, -2]))
        let t = p.tensor
        (t * t + t.exp() + t).sum().backward()
        let expected: [Float] = [3.0, -2.0].map { (v: Double) in Float(2 * v + Foundation.exp(v) + 1) }
        assertClose(p.grad!.scalars, expected, tol: 1e-5)
    }

    func testNoGradRecordsNothing() {
        let p = Parameter(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let y = Autograd.noGrad { p.tensor.matmul(p.tensor).gelu().sum() }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(p.tensor.gelu().requiresGrad)
        let frozen = Parameter(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: false)
        XCTAssertFalse((frozen.tensor * 2).requiresGrad)
    }

    func testCopyOnWrite() {
        var a = Tensor(shape: [3], scalars: [1, 2, 3])
        let b = a
        a.withMutableBuffer { $0[0] = 10 }
        XCTAssertEqual(a.scalars, [10, 2, 3])
        XCTAssertEqual(b.scalars, [1, 2, 3])
        let view = b.slice(axis: 0, 1..<3)
        XCTAssertTrue(view.storage === b.storage)
    }

    func testDeterminismSameSeedSameBits() {
        func run() -> ([Float], [Float]) {
            var rng = RandomGenerator(seed: 42)
            let w = Parameter(Tensor.randomNormal([64, 48], std: 0.02, using: &rng))
            let gamma = Parameter(Tensor(repeating: 1, shape: [64])), beta = Parameter(Tensor(zeros: [64]))
            let x = Tensor.randomNormal([4, 300, 48], using: &rng)
            let h = x.matmul(w.tensor, transposeB: true).gelu().dropout(p: 0.1, using: &rng)
            let y = h.layerNorm(gamma: gamma.tensor, beta: beta.tensor).softmax()
            let loss = y.reshaped([1200, 64]).crossEntropy(targets: (0..<1200).map { Int32($0 % 64) })
            loss.backward()
            return (w.grad!.scalars, gamma.grad!.scalars)
        }
        Engine.threads = 2
        let a = run(), b = run()
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        // The random streams themselves do not depend on the thread count.
        Engine.threads = 1
        var r1 = RandomGenerator(seed: 9)
        let one = Tensor.randomNormal([100_000], using: &r1).scalars
        Engine.threads = 2
        var r2 = RandomGenerator(seed: 9)
        XCTAssertEqual(one, Tensor.randomNormal([100_000], using: &r2).scalars)
    }

    func testRandomGeneratorStreams() {
        var a = RandomGenerator(seed: 1), b = RandomGenerator(seed: 1), c = RandomGenerator(seed: 2)
        let xa = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xa, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xa, (0..<5).map { _ in c.next() })
        let saved = RandomGenerator(key: a.key, counter: a.counter)
        XCTAssertEqual(a.next(), { var s = saved; return s.next() }())
    }
}
