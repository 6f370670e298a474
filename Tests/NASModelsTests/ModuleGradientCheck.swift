import XCTest
import NASModels
import NASTensor

/// Finite differences of L = Σ r ⊙ output (r fixed random, summed in Double) against backward, for a
/// few elements with a nonzero gradient of every parameter of `model` that gets one.
func checkModuleGradients(_ model: Module, probes: Int = 3, file: StaticString = #filePath, line: UInt = #line,
                          _ forward: () -> Tensor) {
    model.zeroGrad()
    let y = forward()
    var seedRNG = RandomGenerator(seed: 99)
    let r = Tensor.randomNormal(y.shape, using: &seedRNG)
    (y * r).sum().backward()
    let rs = r.scalars
    func loss() -> Double {
        let out = Autograd.noGrad { forward() }.scalars
        return zip(out, rs).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    var rng = RandomGenerator(seed: 77)
    var checked = 0
    for p in model.parameters {
        guard let grad = p.grad else { continue }
        let gs = grad.scalars
        let nonzero = gs.indices.filter { gs[$0] != 0 }
        for _ in 0..<Swift.min(probes, nonzero.count) {
            let k = nonzero[Int(rng.next() % UInt64(nonzero.count))]
            let h: Float = 1e-2, orig = p.value.scalars[k]
            p.value.withMutableBuffer { $0[k] = orig + h }
            let lp = loss()
            p.value.withMutableBuffer { $0[k] = orig - h }
            let lm = loss()
            p.value.withMutableBuffer { $0[k] = orig }
            let numeric = (lp - lm) / (2 * Double(h)), analytic = Double(gs[k])
            checked += 1
            if Swift.abs(numeric - analytic) > 2e-3 + 3e-2 * Swift.abs(numeric) {
                XCTFail("\(p.name)[\(k)]: analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
    XCTAssertGreaterThan(checked, 0, file: file, line: line)
}

/// A random batch [b, t] of ids below `vocab`; the second half of each row is segment 1, and with
/// `padLast` the last two positions of the last row are padding.
func batch(_ b: Int, _ t: Int, vocab: Int, padLast: Bool = true, seed: UInt64 = 1) -> TokenBatch {
    var rng = RandomGenerator(seed: seed)
    let ids = (0..<(b * t)).map { _ in Int32(rng.next() % UInt64(vocab)) }
    var mask = [Float](repeating: 1, count: b * t)
    if padLast { for j in (t - 2)..<t { mask[(b - 1) * t + j] = 0 } }
    let types = (0..<(b * t)).map { Int32(($0 % t) >= t / 2 ? 1 : 0) }
    return TokenBatch(ids: ids, typeIds: types, attentionMask: mask, batchSize: b, length: t)
}
