import Foundation
import XCTest
import NASTensor
@testable import NASModels

/// Optimizers, gradient clipping and learning-rate schedules against closed forms computed here in
/// Double, plus checkpoint/resume bit-identity.
final class OptimizerTests: XCTestCase {

    // MARK: - Helpers

    private func param(_ name: String, _ shape: [Int], _ values: [Double]) -> Parameter {
        Parameter(Tensor(shape: shape, scalars: values.map(Float.init)), name: name)
    }

    private func setGrad(_ p: Parameter, _ g: [Double]) {
        p.setGrad(Tensor(shape: p.shape, scalars: g.map(Float.init)))
    }

    /// The values of `p` as the Float32 numbers the reference starts from, in Double.
    private func doubles(_ p: Parameter) -> [Double] { p.value.scalars.map(Double.init) }

    private func assertClose(_ a: [Float], _ b: [Double], tol: Double = 1e-6,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(Double(x), y, accuracy: tol * max(1, abs(y)), file: file, line: line)
        }
    }

    private func assertBitIdentical(_ a: [Float], _ b: [Float], _ what: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), what, file: file, line: line)
    }

    /// Adam in Double: `decoupled` selects AdamW's decay, otherwise wd is an L2 term on the gradient.
    private func adamReference(_ p0: [Double], _ grads: [[Double]], lr: Double, b1: Double, b2: Double,
                               eps: Double, wd: Double, decoupled: Bool) -> [Double] {
        var p = p0
        var m = [Double](repeating: 0, count: p.count), v = m
        for (t1, g0) in grads.enumerated() {
            let t = Double(t1 + 1)
            let bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t)
            for i in p.indices {
                let g = decoupled ? g0[i] : g0[i] + wd * p[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let mHat = m[i] / bc1, vHat = v[i] / bc2
                if decoupled { p[i] -= lr * wd * p[i] }
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        return p
    }

    private let p0: [Double] = [0.5, -1.0, 2.0, 0.1, -0.3, 0.7]
    private let gradSequence: [[Double]] = [
        [0.1, -0.2, 0.3, -0.4, 0.5, -0.6],
        [0.05, 0.1, -0.2, 0.3, 0.0, 1.0],
        [-0.3, 0.2, 0.1, 0.0, -0.5, 0.25],
    ]

    // MARK: - SGD

    func testSGDMomentumThreeStepsMatchesClosedForm() {
        let p = param("encoder.dense.weight", [2, 3], p0)
        let start = doubles(p)
        let lr = 0.1, mu = 0.9, wd = 0.01
        let opt = SGD(parameters: [p], learningRate: Float(lr), momentum: Float(mu), weightDecay: Float(wd))
        for g in gradSequence {
            setGrad(p, g)
            opt.step()
        }
        // Closed form: buf1 = g1', buf2 = μ buf1 + g2', buf3 = μ buf2 + g3', p_t = p_{t-1} − lr buf_t.
        var ref = start, buf = [Double](repeating: 0, count: ref.count)
        for (t, g) in gradSequence.enumerated() {
            for i in ref.indices {
                let gi = g[i] + wd * ref[i]
                buf[i] = t == 0 ? gi : mu * buf[i] + gi
                ref[i] -= lr * buf[i]
            }
        }
        assertClose(p.value.scalars, ref)
        XCTAssertEqual(opt.stepCount, 3)
        assertClose(opt.stateDict().parameters[0].buffers["momentum_buffer"]!, buf)
    }

    func testSGDWithoutMomentumIsPlainGradientDescent() {
        let p = param("w", [2, 3], p0)
        let start = doubles(p)
        let opt = SGD(parameters: [p], learningRate: 0.5)
        setGrad(p, gradSequence[0])
        opt.step()
        assertClose(p.value.scalars, zip(start, gradSequence[0]).map { $0 - 0.5 * $1 })
        XCTAssertTrue(opt.stateDict().parameters[0].buffers.isEmpty)
    }

    // MARK: - Adam / AdamW

    func testAdamThreeStepsMatchesClosedForm() {
        let p = param("encoder.dense.weight", [2, 3], p0)
        let start = doubles(p)
        let opt = Adam(parameters: [p], learningRate: 0.01)
        for g in gradSequence {
            setGrad(p, g)
            opt.step()
        }
        let ref = adamReference(start, gradSequence, lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0,
                                decoupled: false)
        assertClose(p.value.scalars, ref)
        XCTAssertEqual(opt.stateDict().parameters[0].step, 3)
    }

    func testAdamL2WeightDecayAddsToGradient() {
        let p = param("encoder.dense.weight", [2, 3], p0)
        let start = doubles(p)
        let opt = Adam(parameters: [p], learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6,
                       weightDecay: 0.1)
        for g in gradSequence {
            setGrad(p, g)
            opt.step()
        }
        let ref = adamReference(start, gradSequence, lr: 0.01, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.1,
                                decoupled: false)
        assertClose(p.value.scalars, ref)
    }

    func testAdamWDecoupledDecayAndSkipList() {
        let w = param("encoder.dense.weight", [2, 3], p0)
        // Named bias but rank 2: excluded by its name alone.
        let b = param("encoder.dense.bias", [2, 3], p0)
        let ln = param("encoder.LayerNorm.weight", [2, 3], p0)
        let lr = 0.05, wd = 0.1
        let opt = AdamW(parameters: [w, b, ln], learningRate: Float(lr), weightDecay: Float(wd))
        XCTAssertEqual(opt.decays, [true, false, false])
        XCTAssertEqual(opt.stateDict().kind, "adamw")
        let start = doubles(w)
        for g in gradSequence {
            for p in [w, b, ln] { setGrad(p, g) }
            opt.step()
        }
        let decayed = adamReference(start, gradSequence, lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8, wd: wd,
                                    decoupled: true)
        let plain = adamReference(start, gradSequence, lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0,
                                  decoupled: true)
        assertClose(w.value.scalars, decayed)
        assertClose(b.value.scalars, plain)
        assertClose(ln.value.scalars, plain)
        // The decay is visible: the weight moved further towards 0 than the bias.
        XCTAssertNotEqual(w.value.scalars, b.value.scalars)
    }

    func testDefaultWeightDecayExclusion() {
        func excluded(_ name: String, _ shape: [Int]) -> Bool {
            WeightDecayExclusion.biasAndNorm(Parameter(Tensor(zeros: shape), name: name))
        }
        XCTAssertFalse(excluded("encoder.layer.0.attention.query.weight", [4, 4]))
        XCTAssertFalse(excluded("embeddings.word_embeddings.weight", [10, 4]))
        XCTAssertTrue(excluded("encoder.layer.0.attention.query.bias", [1, 4]))
        XCTAssertTrue(excluded("encoder.layer.0.output.LayerNorm.weight", [1, 4]))
        XCTAssertTrue(excluded("h.0.layer_norm.gamma", [1, 4]))
        XCTAssertTrue(excluded("h.0.norm1.weight", [1, 4]))
        XCTAssertTrue(excluded("anything", [4]))
        XCTAssertTrue(excluded("scalar", []))
        XCTAssertFalse(WeightDecayExclusion.nothing(Parameter(Tensor(zeros: [4]), name: "bias")))
    }

    func testParametersWithoutGradientAreSkipped() {
        let used = param("w", [2, 3], p0), unused = param("v", [2, 3], p0)
        let frozen = Parameter(Tensor(shape: [2, 3], scalars: p0.map(Float.init)), name: "f", requiresGrad: false)
        let opt = Adam(parameters: [used, unused, frozen], learningRate: 0.1)
        setGrad(used, gradSequence[0])
        setGrad(frozen, gradSequence[0])
        opt.step()
        XCTAssertNotEqual(used.value.scalars, p0.map(Float.init))
        XCTAssertEqual(unused.value.scalars, p0.map(Float.init))
        XCTAssertEqual(frozen.value.scalars, p0.map(Float.init))
        let s = opt.stateDict()
        XCTAssertEqual(s.step, 1)
        XCTAssertEqual(s.parameters.map(\.step), [1, 0, 0])
        XCTAssertTrue(s.parameters[1].buffers.isEmpty)
        opt.zeroGrad()
        XCTAssertNil(used.grad)
        XCTAssertNil(frozen.grad)
    }

    func testAdamBiasCorrectionCountsEachParametersOwnUpdates() {
        // A parameter first reached at the optimizer's 3rd step gets t = 1 bias correction there.
        let early = param("a", [2, 3], p0), late = param("b", [2, 3], p0)
        let opt = Adam(parameters: [early, late], learningRate: 0.01)
        for s in 0..<3 {
            setGrad(early, gradSequence[s])
            if s == 2 { setGrad(late, gradSequence[0]) }
            opt.step()
        }
        let ref = adamReference(p0.map { Double(Float($0)) }, [gradSequence[0]], lr: 0.01, b1: 0.9,
                                b2: 0.999, eps: 1e-8, wd: 0, decoupled: false)
        assertClose(late.value.scalars, ref)
    }

    func testLargeParameterUpdateIsIndependentOfThreadCount() {
        let n = 100_003
        let values = (0..<n).map { Float(sin(Double($0) * 0.37)) }
        let grads = (0..<n).map { Float(cos(Double($0) * 0.11)) }
        func run(threads: Int) -> ([Float], OptimizerState) {
            let saved = Engine.threads
            Engine.threads = threads
            defer { Engine.threads = saved }
            let p = Parameter(Tensor(shape: [n], scalars: values), name: "big.weight")
            let opt = Adam(parameters: [p], learningRate: 0.01, weightDecay: 0.05)
            let w = param("big2.weight", [1, n], values.map(Double.init))
            let optW = AdamW(parameters: [w], learningRate: 0.01, weightDecay: 0.05)
            for _ in 0..<2 {
                p.setGrad(Tensor(shape: [n], scalars: grads))
                w.setGrad(Tensor(shape: [1, n], scalars: grads))
                opt.step()
                optW.step()
            }
            return (p.value.scalars + w.value.scalars, opt.stateDict())
        }
        let (a, sa) = run(threads: 1), (b, sb) = run(threads: 2)
        assertBitIdentical(a, b, "parameters")
        assertBitIdentical(sa.parameters[0].buffers["exp_avg_sq"]!, sb.parameters[0].buffers["exp_avg_sq"]!, "v")
    }

    // MARK: - Gradient clipping

    func testClipGlobalNormScalesAboveThreshold() {
        let a = param("a", [2], [0, 0]), b = param("b", [1, 1], [0]), c = param("c", [3], [0, 0, 0])
        setGrad(a, [3, 4])
        setGrad(b, [12])
        let held = a.grad!   // a value held elsewhere must not change (value semantics)
        let norm = GradientClipping.clipGlobalNorm([a, b, c], maxNorm: 1)
        XCTAssertEqual(norm, 13)
        let scale = 1.0 / (13.0 + 1e-6)
        assertClose(a.grad!.scalars, [3 * scale, 4 * scale], tol: 1e-7)
        assertClose(b.grad!.scalars, [12 * scale], tol: 1e-7)
        XCTAssertNil(c.grad)
        XCTAssertEqual(held.scalars, [3, 4])
        XCTAssertEqual(GradientClipping.globalNorm([a, b, c]), 1, accuracy: 1e-6)
    }

    func testClipGlobalNormLeavesGradientsBelowThreshold() {
        let a = param("a", [2], [0, 0]), b = param("b", [1], [0])
        setGrad(a, [3, 4])
        setGrad(b, [12])
        XCTAssertEqual(GradientClipping.clipGlobalNorm([a, b], maxNorm: 13.5), 13)
        XCTAssertEqual(a.grad!.scalars, [3, 4])
        XCTAssertEqual(b.grad!.scalars, [12])
        // Exactly at the threshold: no scaling either.
        XCTAssertEqual(GradientClipping.clipGlobalNorm([a, b], maxNorm: 13), 13)
        XCTAssertEqual(a.grad!.scalars, [3, 4])
    }

    func testGlobalNormOfLargeGradientIsExactAndThreadIndependent() {
        let n = 70_001
        let g = (0..<n).map { Float(sin(Double($0))) }
        let p = Parameter(Tensor(zeros: [n]), name: "big")
        p.setGrad(Tensor(shape: [n], scalars: g))
        let ref = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let saved = Engine.threads
        Engine.threads = 1
        let one = GradientClipping.globalNorm([p])
        Engine.threads = 2
        let two = GradientClipping.globalNorm([p])
        Engine.threads = saved
        XCTAssertEqual(one.bitPattern, two.bitPattern)
        XCTAssertEqual(one, ref, accuracy: 1e-9 * ref)
    }

    // MARK: - Schedules

    func testLinearWarmupThenLinearDecay() {
        let s = LRSchedule.linear(peak: 1e-3, warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(s.learningRate(at: 0), 0)
        XCTAssertEqual(s.learningRate(at: 5), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 10), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 60), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 85), 2.5e-4, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 110), 0)
        XCTAssertEqual(s.learningRate(at: 500), 0)
    }

    func testCosineDecayToFloor() {
        let s = LRSchedule.cosine(peak: 1e-3, warmupSteps: 10, totalSteps: 110, floor: 1e-4)
        XCTAssertEqual(s.learningRate(at: 0), 0)
        XCTAssertEqual(s.learningRate(at: 5), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 10), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 60), (1e-3 + 1e-4) / 2, accuracy: 1e-9)
        XCTAssertEqual(Double(s.learningRate(at: 35)), 1e-4 + 9e-4 * (1 + cos(Double.pi / 4)) / 2, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(at: 110), 1e-4)
        XCTAssertEqual(s.learningRate(at: 1000), 1e-4)
        let zeroFloor = LRSchedule.cosine(peak: 2, warmupSteps: 0, totalSteps: 100)
        XCTAssertEqual(zeroFloor.learningRate(at: 0), 2)
        XCTAssertEqual(zeroFloor.learningRate(at: 50), 1, accuracy: 1e-6)
        XCTAssertEqual(zeroFloor.learningRate(at: 100), 0)
    }

    func testConstantScheduleAndCodable() throws {
        let c = LRSchedule.constant(3e-4)
        XCTAssertEqual(c.learningRate(at: 0), 3e-4)
        XCTAssertEqual(c.learningRate(at: 1_000_000), 3e-4)
        let w = LRSchedule.constant(3e-4, warmupSteps: 4)
        XCTAssertEqual(w.learningRate(at: 2), 1.5e-4, accuracy: 1e-10)
        XCTAssertEqual(w.learningRate(at: 4), 3e-4)
        let s = LRSchedule.cosine(peak: 1e-3, warmupSteps: 10, totalSteps: 110, floor: 1e-5)
        let back = try JSONDecoder().decode(LRSchedule.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(back, s)
    }

    // MARK: - Checkpoint / resume

    /// A small "model": a weight, a bias, a LayerNorm gain, a parameter reached only from step 2 on
    /// and one never reached.
    private func makeModel() -> [Parameter] {
        let specs: [(String, [Int])] = [("encoder.dense.weight", [3, 4]), ("encoder.dense.bias", [4]),
                                        ("encoder.LayerNorm.weight", [4]), ("late.weight", [2, 2]),
                                        ("unused.weight", [2, 3])]
        return specs.enumerated().map { j, s in
            let n = s.1.reduce(1, *)
            return Parameter(Tensor(shape: s.1, scalars: (0..<n).map { Float(sin(Double(7 * j + $0) + 0.5)) }),
                             name: s.0)
        }
    }

    private func setGrads(_ params: [Parameter], step: Int) {
        for (j, p) in params.enumerated() {
            if p.name == "unused.weight" || (p.name == "late.weight" && step < 2) { continue }
            let n = p.value.count
            p.setGrad(Tensor(shape: p.shape, scalars: (0..<n).map { Float(cos(Double(31 * step + 5 * j + $0))) }))
        }
    }

    private func checkResume(_ make: ([Parameter]) -> any Optimizer, file: StaticString = #filePath,
                             line: UInt = #line) throws {
        let schedule = LRSchedule.cosine(peak: 0.05, warmupSteps: 2, totalSteps: 10)
        let a = makeModel()
        var optA = make(a)
        for s in 0..<4 {
            setGrads(a, step: s)
            optA.learningRate = schedule.learningRate(at: s)
            optA.step()
        }
        // Through JSON, as a checkpoint would go.
        let data = try JSONEncoder().encode(optA.stateDict())
        let saved = try JSONDecoder().decode(OptimizerState.self, from: data)
        XCTAssertEqual(saved, optA.stateDict(), file: file, line: line)

        let b = a.map { Parameter(Tensor(shape: $0.shape, scalars: $0.value.scalars), name: $0.name) }
        var optB = make(b)
        try optB.load(state: saved)
        XCTAssertEqual(optB.stateDict(), optA.stateDict(), file: file, line: line)

        for s in 4..<6 {
            setGrads(a, step: s)
            optA.learningRate = schedule.learningRate(at: optA.stepCount)
            optA.step()
            setGrads(b, step: s)
            optB.learningRate = schedule.learningRate(at: optB.stepCount)
            optB.step()
        }
        for (pa, pb) in zip(a, b) {
            assertBitIdentical(pa.value.scalars, pb.value.scalars, pa.name, file: file, line: line)
        }
        let sa = optA.stateDict(), sb = optB.stateDict()
        XCTAssertEqual(sa.step, 6, file: file, line: line)
        XCTAssertEqual(sa.step, sb.step, file: file, line: line)
        for (x, y) in zip(sa.parameters, sb.parameters) {
            XCTAssertEqual(x.step, y.step, file: file, line: line)
            XCTAssertEqual(x.buffers.keys.sorted(), y.buffers.keys.sorted(), file: file, line: line)
            for k in x.buffers.keys {
                assertBitIdentical(x.buffers[k]!, y.buffers[k]!, "\(x.name).\(k)", file: file, line: line)
            }
        }
    }

    func testAdamResumeIsBitIdentical() throws {
        try checkResume { Adam(parameters: $0, learningRate: 0.01, weightDecay: 0.01) }
    }

    func testAdamWResumeIsBitIdentical() throws {
        try checkResume { AdamW(parameters: $0, learningRate: 0.01, weightDecay: 0.1) }
    }

    func testSGDResumeIsBitIdentical() throws {
        try checkResume { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3) }
    }

    func testLoadRejectsMismatchedState() {
        let model = makeModel()
        let adam = Adam(parameters: model)
        let sgd = SGD(parameters: model, learningRate: 0.1)
        XCTAssertThrowsError(try sgd.load(state: adam.stateDict())) { e in
            XCTAssertEqual(e as? OptimizerStateError, .kindMismatch(expected: "sgd", found: "adam"))
        }
        XCTAssertThrowsError(try AdamW(parameters: model).load(state: adam.stateDict()))
        XCTAssertThrowsError(try Adam(parameters: Array(model.dropLast())).load(state: adam.stateDict()))
        var bad = adam.stateDict()
        bad.parameters[0].buffers = ["exp_avg": [1], "exp_avg_sq": [1]]
        XCTAssertThrowsError(try adam.load(state: bad))
        // A refused state changes nothing.
        XCTAssertEqual(adam.stateDict(), Adam(parameters: model).stateDict())
    }
}
