import XCTest
@testable import NASTensor

/// `Tensor.unfold(axis:size:)`: centred sliding windows with zero padding, and its overlap-add backward.
final class UnfoldTests: XCTestCase {
    override func setUp() { Engine.threads = 2 }

    /// out[pre, t, j, post] = x[pre, t + j − k/2, post] or 0, by explicit index arithmetic.
    func reference(_ x: Tensor, axis: Int, size k: Int) -> [Float] {
        let s = x.shape, v = x.scalars
        let outer = s[..<axis].reduce(1, *), n = s[axis], inner = s[(axis + 1)...].reduce(1, *)
        var out: [Float] = []
        for o in 0..<outer { for t in 0..<n { for j in 0..<k { for i in 0..<inner {
            let src = t + j - k / 2
            out.append(src >= 0 && src < n ? v[(o * n + src) * inner + i] : 0)
        } } } }
        return out
    }

    func testForwardByHand() {
        let x = Tensor(shape: [1, 4, 1], scalars: [1, 2, 3, 4])
        let u = x.unfold(axis: 1, size: 3)
        XCTAssertEqual(u.shape, [1, 4, 3, 1])
        XCTAssertEqual(u.scalars, [0, 1, 2,  1, 2, 3,  2, 3, 4,  3, 4, 0])
        XCTAssertEqual(x.unfold(axis: 1, size: 1).scalars, [1, 2, 3, 4])
    }

    func testForwardAgainstIndexArithmetic() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([2, 5, 3], using: &rng)
        for axis in 0..<3 {
            for k in [1, 2, 3, 5, 9] {
                var shape = x.shape
                shape.insert(k, at: axis + 1)
                let u = x.unfold(axis: axis, size: k)
                XCTAssertEqual(u.shape, shape)
                XCTAssertEqual(u.scalars, reference(x, axis: axis, size: k), "axis \(axis) k \(k)")
            }
        }
        // Non-contiguous input (a transposed view) and a negative axis.
        let t = x.transposed(0, 1)
        XCTAssertEqual(t.unfold(axis: -2, size: 3).scalars, reference(t.contiguous(), axis: 1, size: 3))
    }

    func testGradients() {
        for k in [1, 3, 4, 7] {
            checkGradients([[2, 5, 3]]) { $0[0].unfold(axis: 1, size: k) }
        }
        checkGradients([[6, 4]]) { $0[0].unfold(axis: 0, size: 3) }
        checkGradients([[3, 4]]) { $0[0].unfold(axis: -1, size: 5) }
        // A strided leading-slice input; the parent's gradient outside the block stays zero.
        checkGradients([[2, 4, 3]], sliced: true) { $0[0].unfold(axis: 1, size: 3) }
        // Composed as the dynamic convolution uses it: windows · per-position weights, summed.
        checkGradients([[2, 5, 3], [2, 5, 3, 1]]) { ($0[0].unfold(axis: 1, size: 3) * $0[1]).sum(axes: [2]) }
    }

    func testNoGraphWithoutRecording() {
        let p = Parameter(Tensor(repeating: 1, shape: [2, 3]))
        XCTAssertTrue(p.tensor.unfold(axis: 0, size: 3).requiresGrad)
        XCTAssertFalse(Autograd.noGrad { p.tensor.unfold(axis: 0, size: 3) }.requiresGrad)
    }
}
