import XCTest
@testable import NASTensor

/// Finite-difference gradient check.
///
/// Each input is a `Parameter` (or, with `sliced`, the leading block of a larger parameter, so the op
/// sees a non-contiguous strided view). The scalar loss is L = Σ r ⊙ f(inputs) with a fixed random r,
/// summed in Double; the reference gradient is the central difference (L(x+h) − L(x−h)) / 2h in Double.
/// With `sliced`, the parameter's gradient outside the block must stay exactly zero.
func checkGradients(_ shapes: [[Int]], sliced: Bool = false, seed: UInt64 = 7, h: Float = 1e-2,
                    rtol: Double = 2e-2, atol: Double = 2e-3, positive: Bool = false, maxProbes: Int = 40,
                    file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor]) -> Tensor) {
    var rng = RandomGenerator(seed: seed)
    let params: [Parameter] = shapes.map { s in
        let parent = sliced ? s.map { $0 + 2 } : s
        var v = Tensor.randomNormal(parent, using: &rng)
        if positive { v = Autograd.noGrad { v.abs() + 0.5 } }
        return Parameter(v)
    }
    func inputs() -> [Tensor] { zip(params, shapes).map { sliced ? $0.leading($1) : $0.tensor } }

    let y = f(inputs())
    let r = Tensor.randomNormal(y.shape, using: &rng)
    (y * r).sum().backward()

    func loss() -> Double {
        Autograd.noGrad {
            let out = f(inputs()).scalars, w = r.scalars
            var s = 0.0
            for i in out.indices { s += Double(out[i]) * Double(w[i]) }
            return s
        }
    }

    for (pi, p) in params.enumerated() {
        let grad = p.grad?.scalars ?? [Float](repeating: 0, count: p.value.count)
        let parentShape = p.shape, strides = Tensor(zeros: parentShape).strides
        // Positions inside the block; probe a random subset of them.
        var inside: [Int] = []
        var outside: [Int] = []
        for flat in 0..<p.value.count {
            var rem = flat, isIn = true
            for d in stride(from: parentShape.count - 1, through: 0, by: -1) {
                if rem % parentShape[d] >= shapes[pi][d] { isIn = false }
                rem /= parentShape[d]
            }
            if isIn { inside.append(flat) } else { outside.append(flat) }
        }
        _ = strides
        for o in outside where grad[o] != 0 {
            XCTFail("input \(pi): gradient \(grad[o]) outside the sliced block at \(o)", file: file, line: line)
            break
        }
        var probeRng = RandomGenerator(seed: seed &+ UInt64(pi) &+ 99)
        let probes = inside.count <= maxProbes ? inside : (0..<maxProbes).map { _ in inside[Int(probeRng.next() % UInt64(inside.count))] }
        for k in probes {
            let original = p.value.scalars[k]
            p.value.withMutableBuffer { $0[k] = original + h }
            let lp = loss()
            p.value.withMutableBuffer { $0[k] = original - h }
            let lm = loss()
            p.value.withMutableBuffer { $0[k] = original }
            let numeric = (lp - lm) / (2 * Double(h))
            let analytic = Double(grad[k])
            if Swift.abs(analytic - numeric) > atol + rtol * Swift.abs(numeric) {
                XCTFail("input \(pi) element \(k): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where Swift.abs(x - y) > tol * Swift.max(1, Swift.abs(y)) {
        XCTFail("element \(i): \(x) vs \(y)", file: file, line: line)
        return
    }
}
