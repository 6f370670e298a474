import XCTest
@testable import NASTensor

/// Fake quantization against hand-computed grids, its error bound and its straight-through gradient.
final class FakeQuantizeTests: XCTestCase {
    func values(_ xs: [Float], _ q: FakeQuantization, shape: [Int]? = nil) -> [Float] {
        Tensor(shape: shape ?? [xs.count], scalars: xs).fakeQuantized(q).scalars
    }

    func testSymmetricGridsByHand() {
        // 2 bits: levels ±1, s = max|x| = 1; −0.5 rounds away from zero.
        XCTAssertEqual(values([-1, -0.5, 0.1, 0.74, 1], .init(bits: 2)), [-1, -1, 0, 1, 1])
        // 3 bits: levels ±3, s = 1/3: x/s = −3, −1.5, 0.3, 2.22, 3.
        let three = values([-1, -0.5, 0.1, 0.74, 1], .init(bits: 3))
        for (a, b) in zip(three, [-1, -2.0 / 3, 0, 2.0 / 3, 1] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(values([0, 0, 0], .init(bits: 4)), [0, 0, 0], "an all-zero tensor stays zero")
    }

    func testAsymmetricGridByHand() {
        // 2 bits over [−1, 2]: s = 3/3 = 1, z = round(1/1) = 1; q = clamp(round(x) + 1, 0, 3).
        XCTAssertEqual(values([-1, 0.2, 2], .init(bits: 2, symmetric: false)), [-1, 0, 2])
        XCTAssertEqual(values([0, 1, 2, 3], .init(bits: 2, symmetric: false)), [0, 1, 2, 3], "values on the grid are exact")
    }

    func testPerChannelRangesAreTheRowsOwn() {
        let xs: [Float] = [1, 0.5, 10, 5]
        XCTAssertEqual(values(xs, .init(bits: 2, perChannel: true), shape: [2, 2]), [1, 1, 10, 10])
        XCTAssertEqual(values(xs, .init(bits: 2), shape: [2, 2]), [0, 0, 10, 10], "one range: the small row vanishes")
    }

    func testPowerExponentGridByHand() {
        // α = 0.5, 3 bits, m = 1: u = √0.25 = 0.5 → round(1.5)/3 = 2/3 → x̂ = (2/3)² = 4/9.
        let q = values([0.25, -1], .init(bits: 3, powerExponent: 0.5))
        XCTAssertEqual(q[0], 4.0 / 9, accuracy: 1e-6)
        XCTAssertEqual(q[1], -1, accuracy: 1e-6)
    }

    func testErrorIsAtMostHalfAStepAndQuantizingTwiceChangesNothing() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([64, 48], std: 1, using: &rng)
        for bits in 2...8 {
            for perChannel in [false, true] {
                let q = FakeQuantization(bits: bits, perChannel: perChannel)
                let y = x.fakeQuantized(q)
                let rows = perChannel ? 64 : 1, width = x.count / rows
                for r in 0..<rows {
                    let slice = Array(x.scalars[(r * width)..<((r + 1) * width)])
                    let step = slice.map { Swift.abs($0) }.max()! / Float((1 << (bits - 1)) - 1)
                    for j in 0..<width {
                        XCTAssertLessThanOrEqual(Swift.abs(y.scalars[r * width + j] - slice[j]), step / 2 * (1 + 1e-5), "\(q)")
                    }
                }
                XCTAssertEqual(y.fakeQuantized(q).scalars, y.scalars, "\(q) is idempotent")
            }
        }
    }

    func testGradientIsStraightThrough() {
        var rng = RandomGenerator(seed: 2)
        let p = Parameter(Tensor.randomNormal([5, 7], std: 1, using: &rng), name: "w")
        let c = Tensor.randomNormal([5, 7], std: 1, using: &rng)
        Autograd.withGrad { (p.tensor.fakeQuantized(.init(bits: 3, perChannel: true)) * c).sum() }.backward()
        XCTAssertEqual(p.grad?.scalars, c.scalars)
    }
}
