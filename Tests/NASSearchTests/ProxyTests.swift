import Foundation
import XCTest
import NASModels
import NASSearch
import NASTensor

/// Each proxy on tiny models against an independent computation: finite differences of the loss (or of
/// the output sum) in place of backpropagation, Double loops and a Jacobi eigenvalue routine in place of
/// GEMM + LAPACK, hand-made matrices with known spectra.
final class ProxyTests: XCTestCase {

    // MARK: - Fixtures

    static func batch(_ b: Int, _ t: Int, vocab: Int, pad: Int = 0, seed: UInt64 = 1) -> TokenBatch {
        var rng = RandomGenerator(seed: seed)
        let ids = (0..<(b * t)).map { _ in Int32(rng.next() % UInt64(vocab)) }
        var mask = [Float](repeating: 1, count: b * t)
        for j in (t - pad)..<t { mask[(b - 1) * t + j] = 0 }
        return TokenBatch(ids: ids, attentionMask: pad > 0 ? mask : nil, batchSize: b, length: t)
    }

    static let encoder = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8,
                                      layers: [.init(heads: 2, qkv: 8, ffn: 12), .init(heads: 2, qkv: 4, ffn: 10)])
    static let decoder = Architecture(family: .decoder, vocabSize: 11, maxPositions: 8, hidden: 8,
                                      layers: [.init(heads: 2, qkv: 8, ffn: 12), .init(heads: 1, qkv: 4, ffn: 6)])
    /// The smallest model, for per-element finite differences.
    static func micro(_ family: Architecture.Family) -> Architecture {
        Architecture(family: family, vocabSize: 9, maxPositions: 6, hidden: 4, layers: [.init(heads: 2, qkv: 4, ffn: 6)])
    }

    /// Re-draws every parameter with larger values (weights N(0, 0.5²), vectors v + N(0, 0.1²)) so that
    /// gradients stand well above Float rounding in the finite differences.
    static func enlarge(_ c: ProxyContext, seed: UInt64 = 99) {
        var rng = RandomGenerator(seed: seed)
        for p in c.lossParameters {
            p.value = p.value.rank >= 2 ? Tensor.randomNormal(p.shape, std: 0.5, using: &rng)
                                        : p.value + Tensor.randomNormal(p.shape, std: 0.1, using: &rng)
        }
    }

    static func lossValue(_ c: ProxyContext, samples: Range<Int>? = nil) -> Double {
        Autograd.noGrad { c.loss(samples: samples).map { Double($0.item()) } ?? 0 }
    }

    /// Central-difference gradient of `f` with respect to every element of `p`.
    static func fdGradient(_ p: Parameter, h: Float = 5e-3, _ f: () -> Double) -> [Double] {
        let original = p.value.scalars
        var g = [Double](repeating: 0, count: original.count)
        for k in original.indices {
            p.value.withMutableBuffer { $0[k] = original[k] + h }
            let up = f()
            p.value.withMutableBuffer { $0[k] = original[k] - h }
            let down = f()
            p.value.withMutableBuffer { $0[k] = original[k] }
            g[k] = (up - down) / (2 * Double(h))
        }
        return g
    }

    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Double), ascending.
    static func jacobiEigenvalues(_ m: [[Double]]) -> [Double] {
        var a = m
        let n = a.count
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i][j] * a[i][j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0][$0] }.sorted()
    }

    /// The smallest k whose top-k eigenvalue share is strictly above η (written independently).
    static func naiveCount(_ eigenvalues: [Double], eta: Double) -> Int {
        let v = eigenvalues.map { max($0, 0) }.sorted(by: >)
        let total = v.reduce(0, +)
        var k = 0, acc = 0.0
        while k < v.count {
            acc += v[k]
            k += 1
            if acc / total > eta { break }
        }
        return k
    }

    /// Sylvester–Hadamard entry (±1).
    static func hadamard(_ i: Int, _ j: Int) -> Double { (i & j).nonzeroBitCount % 2 == 0 ? 1 : -1 }

    // MARK: - Linear algebra and PCA counting

    func testSymmetricEigenvaluesKnownSpectrum() {
        // [[2,1,0],[1,2,0],[0,0,5]]: the 2×2 block has eigenvalues 1 and 3.
        let a = Tensor(shape: [3, 3], scalars: [2, 1, 0, 1, 2, 0, 0, 0, 5])
        let w = Linalg.symmetricEigenvalues(a)
        XCTAssertEqual(w.count, 3)
        for (x, y) in zip(w, [1, 3, 5] as [Float]) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        let d = Linalg.symmetricEigenvalues([4, 1, 1, 4], n: 2)
        XCTAssertEqual(d[0], 3, accuracy: 1e-12)
        XCTAssertEqual(d[1], 5, accuracy: 1e-12)
        XCTAssertEqual(Linalg.symmetricEigenvalues(Tensor(zeros: [0, 0])), [])
        // A random symmetric 7×7 against Jacobi.
        var rng = RandomGenerator(seed: 3)
        let r = Tensor.randomNormal([7, 7], using: &rng).scalars
        var m = [[Double]](repeating: [Double](repeating: 0, count: 7), count: 7), flat = [Float](repeating: 0, count: 49)
        for i in 0..<7 { for j in 0..<7 {
            m[i][j] = Double(r[i * 7 + j] + r[j * 7 + i])
            flat[i * 7 + j] = r[i * 7 + j] + r[j * 7 + i]
        } }
        let reference = Self.jacobiEigenvalues(m)
        let lapack = Linalg.symmetricEigenvalues(Tensor(shape: [7, 7], scalars: flat))
        for (x, y) in zip(lapack, reference) { XCTAssertEqual(Double(x), y, accuracy: 1e-4) }
        let lapackD = Linalg.symmetricEigenvalues(m.flatMap { $0 }, n: 7)
        for (x, y) in zip(lapackD, reference) { XCTAssertEqual(x, y, accuracy: 1e-10) }
    }

    func testPCACountStrictBoundary() {
        // Shares 1/2, 1/4, 1/8, 1/8 (exact in binary): cumulative 0.5, 0.75, 0.875, 1.
        let w: [Double] = [1, 4, 1, 2]   // unsorted on purpose
        let cases: [(Double, Int)] = [(0.1, 1), (0.49, 1), (0.5, 2), (0.74, 2), (0.75, 3), (0.8, 3), (0.875, 4), (0.99, 4)]
        for (eta, k) in cases {
            XCTAssertEqual(PCAProxy.componentCount(eigenvalues: w, eta: eta), k, "η = \(eta)")
        }
        // Negative rounding noise counts as zero; an all-zero spectrum has k = 0.
        XCTAssertEqual(PCAProxy.componentCount(eigenvalues: [-1e-9, 3, 1], eta: 0.75), 2)
        XCTAssertEqual(PCAProxy.componentCount(eigenvalues: [0, 0], eta: 0.5), 0)
    }

    func testPCACountOnMatrixWithKnownSpectrum() {
        // A: 8 zero-mean orthogonal ±1 columns of the 16×16 Hadamard matrix (AᵀA = 16 I); scale column j
        // by √v_j and rotate by the orthogonal Q = H₈/√8, so cov(X) = (16/15)·Qᵀ diag(v) Q is not
        // diagonal but has eigenvalues 16/15·v. Shares v/80: .5 .25 .125 .0625 .0375 .01875 .00625 0.
        let v: [Double] = [40, 20, 10, 5, 3, 1.5, 0.5, 0]
        var x = [Float](repeating: 0, count: 16 * 8)
        for r in 0..<16 {
            for c in 0..<8 {
                var s = 0.0
                for j in 0..<8 { s += Self.hadamard(r, j + 1) * v[j].squareRoot() * Self.hadamard(j, c) / 8.0.squareRoot() }
                x[r * 8 + c] = Float(s) + Float(c)   // a column offset the centring must remove
            }
        }
        let t = Tensor(shape: [16, 8], scalars: x)
        let cases: [(Double, Int)] = [(0.4, 1), (0.6, 2), (0.8, 3), (0.9, 4), (0.95, 5), (0.99, 6), (0.995, 7)]
        for (eta, k) in cases { XCTAssertEqual(PCAProxy.componentCount(of: t, eta: eta), k, "η = \(eta)") }
    }

    // MARK: - W-PCA and PCA

    func testWPCAMatchesNaiveRoute() throws {
        let arch = Self.encoder
        let c = try ProxyContext(architecture: arch, batch: Self.batch(3, 8, vocab: 13, pad: 2), seed: 5)
        // Independent route: pre-activations at the real tokens, Double covariance, Jacobi eigenvalues.
        let out = Autograd.noGrad { c.forward() }
        let real = (0..<(3 * 8)).filter { !($0 >= 16 + 6) }
        for eta in [0.99, 0.9, 0.5] {
            var ks: [Int] = []
            for r in out.layers {
                let d = r.preActivation.shape.last!, z = r.preActivation.scalars
                let rows = real.map { i in (0..<d).map { Double(z[i * d + $0]) } }
                let n = Double(rows.count)
                let means = (0..<d).map { j in rows.reduce(0) { $0 + $1[j] } / n }
                var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
                for row in rows { for i in 0..<d { for j in 0..<d { cov[i][j] += (row[i] - means[i]) * (row[j] - means[j]) / (n - 1) } } }
                ks.append(Self.naiveCount(Self.jacobiEigenvalues(cov), eta: eta))
            }
            let meanK = Double(ks.reduce(0, +)) / Double(ks.count)
            XCTAssertEqual(try PCAProxy(eta: eta).score(c), meanK, "η = \(eta)")
            XCTAssertEqual(try WPCAProxy(eta: eta).score(c), Double(arch.parameterCount) * meanK, "η = \(eta)")
        }
        XCTAssertThrowsError(try WPCAProxy(eta: 1).score(c))
        // A token limit takes a seeded sample of the real tokens.
        XCTAssertEqual(c.realTokenIndices(limit: 5).count, 5)
        XCTAssertEqual(c.realTokenIndices(limit: 5), c.realTokenIndices(limit: 5))
        XCTAssertNoThrow(try WPCAProxy(maxTokens: 10).score(c))
    }

    // MARK: - Gradient proxies against finite differences

    func testSNIPAndGradNormMatchFiniteDifferences() throws {
        for family in [Architecture.Family.encoder, .decoder] {
            let arch = Self.micro(family)
            let c = try ProxyContext(architecture: arch, batch: Self.batch(2, 4, vocab: 9), seed: 7)
            Self.enlarge(c)
            var snip = 0.0, norm = 0.0
            for p in c.scoredParameters {
                let g = Self.fdGradient(p) { Self.lossValue(c) }
                let w = p.value.scalars
                snip += zip(w, g).reduce(0) { $0 + abs(Double($1.0) * $1.1) }
                norm += g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }
            XCTAssertGreaterThan(snip, 1e-3)
            XCTAssertEqual(try SNIPProxy().score(c), snip, accuracy: 1e-2 * snip, "\(family)")
            XCTAssertEqual(try GradNormProxy().score(c), norm, accuracy: 1e-2 * norm, "\(family)")
        }
    }

    func testSynFlowMatchesFiniteDifferencesAndRestoresWeights() throws {
        for family in [Architecture.Family.encoder, .decoder] {
            for input in [SynFlowProxy.Input.onesEmbeddingOutput, .onesTokenEmbeddings] {
                let arch = Self.micro(family)
                let c = try ProxyContext(architecture: arch, batch: Self.batch(2, 4, vocab: 9), seed: 8)
                Self.enlarge(c)
                let before = c.lossParameters.map { $0.value.scalars }
                let score = try SynFlowProxy(input: input).score(c)
                XCTAssertEqual(c.lossParameters.map { $0.value.scalars }, before, "weights restored")
                XCTAssertTrue(c.lossParameters.allSatisfy { $0.grad == nil }, "gradients cleared")

                // Independently: |θ|, the all-ones input, R = Σ of the full [T, V] logits (with |E|),
                // central differences per weight element.
                for p in c.lossParameters { p.value = Autograd.noGrad { p.value.abs() } }
                let table = c.model.wordEmbeddings.weight, absE = table.value
                if input == .onesTokenEmbeddings { table.value = Tensor(repeating: 1, shape: table.shape) }
                let t = 4
                let tokens = TokenBatch(ids: [Int32](repeating: 0, count: t), batchSize: 1, length: t)
                func r() -> Double {
                    Autograd.noGrad {
                        let out = c.forward(tokens, embeddingHook: input == .onesEmbeddingOutput
                                            ? { Tensor(repeating: 1, shape: $0.shape) } : nil)
                        let h = out.hidden.shape.last!
                        let z = c.lmHead.features(out.hidden.reshaped([t, h]), architecture: arch)
                        var logits = z.matmul(absE, transposeB: true)
                        if let b = c.lmHead.bias { logits = logits + b.value }
                        return logits.scalars.reduce(0) { $0 + Double($1) }
                    }
                }
                var reference = 0.0
                for p in c.scoredParameters {
                    let g = Self.fdGradient(p, h: 1e-2, r)
                    reference += zip(p.value.scalars, g).reduce(0) { $0 + Double($1.0) * $1.1 }
                }
                for (p, v) in zip(c.lossParameters, before) { p.value = Tensor(shape: p.shape, scalars: v) }
                XCTAssertGreaterThan(abs(reference), 0.1)
                XCTAssertEqual(score, reference, accuracy: 1e-2 * abs(reference), "\(family) \(input)")

                // Sign-blind: flipping the signs of weights changes nothing (only |θ| enters).
                var rng = RandomGenerator(seed: 5)
                for p in c.lossParameters {
                    let flip = Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in rng.next() % 2 == 0 ? 1 : -1 })
                    p.value = p.value * flip
                }
                XCTAssertEqual(try SynFlowProxy(input: input).score(c), score, accuracy: 1e-6 * abs(score))
            }
        }
        // LayerNorm maps a constant vector to β: at initialisation (β = 0, zero biases) a pre-LN decoder
        // fed ones sends 0 through every sublayer (documented); the token-embedding input does not.
        let d = try ProxyContext(architecture: Self.decoder, batch: Self.batch(2, 6, vocab: 11), seed: 3)
        XCTAssertEqual(try SynFlowProxy().score(d), 0)
        XCTAssertNotEqual(try SynFlowProxy(input: .onesTokenEmbeddings).score(d), 0)
    }

    func testGraSPMatchesMixedSecondDifference() throws {
        // θᵀ H g = ∂²/∂s∂t L(θ + sθ + tg) at 0, by a four-point difference of loss values only
        // (steps of 0.1 % of ‖θ‖: the enlarged model is strongly curved).
        let arch = Self.micro(.encoder)
        let c = try ProxyContext(architecture: arch, batch: Self.batch(2, 4, vocab: 9), seed: 9)
        Self.enlarge(c)
        let params = c.scoredParameters
        let theta = params.map { $0.value.scalars }
        let g = params.map { p in Self.fdGradient(p) { Self.lossValue(c) } }
        let thetaNorm = theta.flatMap { $0 }.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        let gNorm = g.flatMap { $0 }.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let s = 1e-3, t = 1e-3 * thetaNorm / gNorm
        func phi(_ a: Double, _ b: Double) -> Double {
            for (i, p) in params.enumerated() {
                p.value = Tensor(shape: p.shape, scalars: theta[i].indices.map { Float(Double(theta[i][$0]) * (1 + a) + b * g[i][$0]) })
            }
            return Self.lossValue(c)
        }
        let mixed = (phi(s, t) - phi(s, -t) - phi(-s, t) + phi(-s, -t)) / (4 * s * t)
        for (i, p) in params.enumerated() { p.value = Tensor(shape: p.shape, scalars: theta[i]) }
        let score = try GraSPProxy().score(c)
        XCTAssertEqual(score, -mixed, accuracy: 1e-2 * abs(mixed))
        XCTAssertEqual(params.map { $0.value.scalars }, theta, "weights restored")
    }

    func testFisherMatchesChannelScalingDifferences() throws {
        // Σ_t z_ti ∂L/∂z_ti for sequence n = d/dα L_n(row i of W₁ and b₁ scaled by 1 + α) at α = 0.
        let arch = Self.micro(.encoder)
        let c = try ProxyContext(architecture: arch, batch: Self.batch(3, 5, vocab: 9), seed: 10)
        Self.enlarge(c)
        let lin = c.model.blocks[0].intermediate
        let w0 = lin.weight.value.scalars, b0 = lin.bias!.value.scalars
        let rows = lin.weight.shape[0], cols = lin.weight.shape[1]
        var total = 0.0
        for n in 0..<3 {
            for i in 0..<rows {
                func loss(_ a: Float) -> Double {
                    var w = w0, b = b0
                    for j in 0..<cols { w[i * cols + j] *= 1 + a }
                    b[i] *= 1 + a
                    lin.weight.value = Tensor(shape: lin.weight.shape, scalars: w)
                    lin.bias!.value = Tensor(shape: [rows], scalars: b)
                    return Self.lossValue(c, samples: n..<(n + 1))
                }
                let d = (loss(1e-2) - loss(-1e-2)) / 2e-2
                total += d * d
            }
        }
        lin.weight.value = Tensor(shape: lin.weight.shape, scalars: w0)
        lin.bias!.value = Tensor(shape: [rows], scalars: b0)
        let reference = 0.5 * total / 3
        XCTAssertGreaterThan(reference, 0)
        XCTAssertEqual(try FisherProxy().score(c), reference, accuracy: 2e-2 * reference)
        // The per-sequence loss pieces add up to the batch loss.
        let pieces = (0..<3).map { Self.lossValue(c, samples: $0..<($0 + 1)) }.reduce(0, +)
        XCTAssertEqual(pieces, Self.lossValue(c), accuracy: 1e-5)
    }

    func testJacobianCovarianceMatchesFiniteDifferences() throws {
        let arch = Self.micro(.encoder)
        let b = 3, t = 4
        let c = try ProxyContext(architecture: arch, batch: Self.batch(b, t, vocab: 9, pad: 1), seed: 11)
        Self.enlarge(c)
        let h = arch.hidden
        // y = Σ over real tokens of the full logits; J by central differences on the embedding output.
        func y(_ delta: Tensor) -> Double {
            Autograd.noGrad {
                let out = c.forward(embeddingHook: { $0 + delta })
                let logits = c.lmHead.logits(out.hidden.reshaped([b * t, h]), embeddings: c.model.wordEmbeddings, architecture: arch).scalars
                let v = arch.vocabSize
                var s = 0.0
                for i in 0..<(b * t) where c.isReal(i) { for k in 0..<v { s += Double(logits[i * v + k]) } }
                return s
            }
        }
        var jac = [[Double]](repeating: [], count: b)
        for n in 0..<b {
            for k in 0..<(t * h) {
                var e = [Float](repeating: 0, count: b * t * h)
                e[n * t * h + k] = 1e-2
                let up = y(Tensor(shape: [b, t, h], scalars: e))
                e[n * t * h + k] = -1e-2
                jac[n].append((up - y(Tensor(shape: [b, t, h], scalars: e))) / 2e-2)
            }
        }
        // numpy.corrcoef of the rows, eigenvalues by Jacobi, the v1 formula.
        let centred = jac.map { r -> [Double] in
            let m = r.reduce(0, +) / Double(r.count)
            let d = r.map { $0 - m }
            let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return d.map { $0 / norm }
        }
        let corr = centred.map { a in centred.map { bb in zip(a, bb).reduce(0) { $0 + $1.0 * $1.1 } } }
        let reference = -Self.jacobiEigenvalues(corr).reduce(0) { $0 + log($1 + 1e-5) + 1 / ($1 + 1e-5) }
        let score = try JacobianCovarianceProxy().score(c)
        XCTAssertEqual(score, reference, accuracy: 1e-2 * abs(reference))
    }

    // MARK: - NASWOT, Zen, head confidence

    func testNASWOTKernelAndLogDeterminantOnHandMadeCodes() throws {
        // Codes 101, 011, 110: every pair differs in 2 of 3 bits, so K = 3 − 2 off the diagonal:
        // K = [[3,1,1],[1,3,1],[1,1,3]] with eigenvalues 5, 2, 2 → det 20.
        let codes = Tensor(shape: [3, 3], scalars: [1, 0, 1, 0, 1, 1, 1, 1, 0])
        let k = NASWOTProxy.kernel(codes: codes)
        XCTAssertEqual(k, [3, 1, 1, 1, 3, 1, 1, 1, 3])
        XCTAssertEqual(NASWOTProxy.logAbsDeterminant(k, n: 3), log(20), accuracy: 1e-12)
        // By the definition c·cᵀ + (1 − c)·(1 − c)ᵀ on other codes (D = 4).
        let c2: [[Double]] = [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
        let k2 = NASWOTProxy.kernel(codes: Tensor(shape: [3, 4], scalars: c2.flatMap { $0.map(Float.init) }))
        for a in 0..<3 { for b in 0..<3 {
            let v = zip(c2[a], c2[b]).reduce(0) { $0 + $1.0 * $1.1 + (1 - $1.0) * (1 - $1.1) }
            XCTAssertEqual(k2[a * 3 + b], v)
        } }
        // Duplicate codes: K singular, log|det| = −∞.
        let dup = NASWOTProxy.kernel(codes: Tensor(shape: [2, 2], scalars: [1, 0, 1, 0]))
        XCTAssertEqual(NASWOTProxy.logAbsDeterminant(dup, n: 2), -.infinity)
    }

    func testNASWOTOnModelMatchesNaiveRoute() throws {
        let arch = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8,
                                layers: [.init(heads: 2, qkv: 8, ffn: 40), .init(heads: 2, qkv: 8, ffn: 40)])
        let c = try ProxyContext(architecture: arch, batch: Self.batch(2, 5, vocab: 13), seed: 12)
        let tokens = c.realTokenIndices(limit: 256, distinctIdAndPosition: true)
        let out = Autograd.noGrad { c.forward() }
        let codes: [[Double]] = tokens.map { i in
            out.layers.flatMap { r -> [Double] in
                let d = r.preActivation.shape.last!, z = r.preActivation.scalars
                return (0..<d).map { z[i * d + $0] > 0 ? 1 : 0 }
            }
        }
        let k = codes.map { a in codes.map { b in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 + (1 - $1.0) * (1 - $1.1) } } }
        let reference = Self.jacobiEigenvalues(k).reduce(0) { $0 + log($1) }
        XCTAssertEqual(try NASWOTProxy().score(c), reference, accuracy: 1e-8 * abs(reference))
    }

    func testNASWOTUsesOneTokenPerIdAndPosition() throws {
        // Two identical sequences: in a causal decoder their tokens have identical prefixes, hence
        // identical codes; only one copy of each (id, position) is used, so K stays regular.
        let one = Self.batch(1, 6, vocab: 11, seed: 4)
        let twice = TokenBatch(ids: one.ids + one.ids, batchSize: 2, length: 6)
        let c = try ProxyContext(architecture: Self.decoder, batch: twice, seed: 2)
        XCTAssertEqual(c.realTokenIndices(distinctIdAndPosition: true), Array(0..<6))
        XCTAssertEqual(c.realTokenIndices().count, 12)
        let single = try ProxyContext(architecture: Self.decoder, batch: one, seed: 2)
        let score = try NASWOTProxy().score(c)
        XCTAssertTrue(score.isFinite)
        XCTAssertEqual(score, try NASWOTProxy().score(single))
    }

    func testZenScalesWithPerturbation() throws {
        // In the linear regime the output change doubles with α: the scores differ by log 2.
        let c = try ProxyContext(architecture: Self.encoder, batch: Self.batch(3, 8, vocab: 13, pad: 2), seed: 13)
        let a = try ZenProxy(alpha: 1e-3).score(c), b = try ZenProxy(alpha: 2e-3).score(c)
        XCTAssertTrue(a.isFinite)
        XCTAssertEqual(b - a, log(2), accuracy: 0.02)
    }

    func testHeadConfidenceOfUniformAttention() throws {
        // Zero query and key projections: every score is 0, so attention is uniform over the allowed keys.
        func zeroQK(_ c: ProxyContext) {
            for p in c.model.parameters where ["query.", "key.", "q_proj.", "k_proj."].contains(where: { p.name.contains($0) }) {
                p.value = Tensor(zeros: p.shape)
            }
        }
        let t = 6
        let plain = try ProxyContext(architecture: Self.encoder, batch: Self.batch(2, t, vocab: 13), seed: 14)
        zeroQK(plain)
        XCTAssertEqual(try HeadConfidenceProxy().score(plain), 1 / Double(t), accuracy: 1e-6)
        // Padding: 6 queries see 6 keys, 4 see 4 → (6·1/6 + 4·1/4) / 10 = 1/5.
        let padded = try ProxyContext(architecture: Self.encoder, batch: Self.batch(2, t, vocab: 13, pad: 2), seed: 14)
        zeroQK(padded)
        XCTAssertEqual(try HeadConfidenceProxy().score(padded), 0.2, accuracy: 1e-6)
        // Causal: query q sees q + 1 keys → mean of 1/(q + 1).
        let causal = try ProxyContext(architecture: Self.decoder, batch: Self.batch(2, t, vocab: 11), seed: 14)
        zeroQK(causal)
        let harmonic = (1...t).reduce(0.0) { $0 + 1 / Double($1) } / Double(t)
        XCTAssertEqual(try HeadConfidenceProxy().score(causal), harmonic, accuracy: 1e-6)
        // Random weights: a probability between 1/T and 1.
        let random = try ProxyContext(architecture: Self.encoder, batch: Self.batch(2, t, vocab: 13), seed: 14)
        let s = try HeadConfidenceProxy().score(random)
        XCTAssertTrue(s > 1 / Double(t) && s <= 1)
    }

    func testHeadConfidenceSkipsLayersWithoutAttention() throws {
        let noAttention = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8,
                                       layers: [.init(heads: 2, qkv: 8, ffn: 12, operation: .dft),
                                                .init(heads: 2, qkv: 8, ffn: 12, operation: .dct)])
        let c = try ProxyContext(architecture: noAttention, batch: Self.batch(2, 6, vocab: 13), seed: 15)
        XCTAssertTrue(try HeadConfidenceProxy().score(c).isNaN)
        let mixed = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8,
                                 layers: [.init(heads: 2, qkv: 8, ffn: 12, operation: .dft), .init(heads: 2, qkv: 8, ffn: 12)])
        let m = try ProxyContext(architecture: mixed, batch: Self.batch(2, 6, vocab: 13), seed: 15)
        for p in m.model.parameters where p.name.contains("query.") || p.name.contains("key.") { p.value = Tensor(zeros: p.shape) }
        XCTAssertEqual(try HeadConfidenceProxy().score(m), 1 / 6.0, accuracy: 1e-6)
    }

    // MARK: - Analytic proxies, registry, determinism

    func testAnalyticProxies() throws {
        let c = try ProxyContext(architecture: Self.encoder, batch: Self.batch(2, 6, vocab: 13), seed: 1)
        XCTAssertEqual(try ParameterCountProxy().score(c), Double(Self.encoder.parameterCount))
        XCTAssertEqual(try FLOPsProxy().score(c), Double(Self.encoder.flops(sequenceLength: 6)))
        XCTAssertEqual(try NonEmbeddingParameterCountProxy().score(c), Double(Self.encoder.nonEmbeddingParameterCount))
        XCTAssertEqual(try ParameterCountProxy().score(c), Double(c.model.parameterElementCount))
    }

    func testRegistryNamesAndUnknownName() throws {
        XCTAssertEqual(Proxies.names.count, 14)
        for name in Proxies.names { XCTAssertEqual(try Proxies.named(name).name, name) }
        XCTAssertThrowsError(try Proxies.named("zero-cost")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("zero-cost"), text)
            for name in Proxies.names { XCTAssertTrue(text.contains(name), "\(name) missing from: \(text)") }
        }
    }

    func testEveryProxyIsDeterministicForASeed() throws {
        let flexi = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12, embeddingSize: 8,
                                 layers: [.init(heads: 2, qkv: 8, ffn: 16, operation: .wma, ffnStack: [10]),
                                          .init(heads: 2, qkv: 8, ffn: 12, operation: .dynamicConv(kernel: 3)),
                                          .init(heads: 2, qkv: 8, ffn: 12, operation: .dft)])
        for (arch, vocab) in [(Self.encoder, 13), (Self.decoder, 11), (flexi, 13)] {
            let batch = Self.batch(3, 7, vocab: vocab, pad: 2)
            for name in Proxies.names {
                let proxy = try Proxies.named(name)
                let a = try proxy.score(ProxyContext(architecture: arch, batch: batch, seed: 21))
                let b = try proxy.score(ProxyContext(architecture: arch, batch: batch, seed: 21))
                XCTAssertTrue(a == b || (a.isNaN && b.isNaN), "\(name) on \(arch.family): \(a) vs \(b)")
                XCTAssertFalse(a.isNaN, "\(name) on \(arch.family) is NaN")
            }
            // A different seed draws a different model (and mask): model-based scores change.
            let c1 = try ProxyContext(architecture: arch, batch: batch, seed: 21)
            let c2 = try ProxyContext(architecture: arch, batch: batch, seed: 22)
            XCTAssertNotEqual(try SNIPProxy().score(c1), try SNIPProxy().score(c2))
        }
    }

    func testSupernetSliceScoresLikeTheExtractedModel() throws {
        let superArch = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12,
                                     layers: [.init(heads: 3, qkv: 12, ffn: 20), .init(heads: 3, qkv: 12, ffn: 20),
                                              .init(heads: 2, qkv: 8, ffn: 16)])
        let sub = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8,
                               layers: [.init(heads: 2, qkv: 8, ffn: 12), .init(heads: 1, qkv: 4, ffn: 20)])
        let supernet = Transformer(superArch, seed: 4)
        var rng = RandomGenerator(seed: 6)
        let head = ProxyLMHead(sub, rng: &rng)
        let batch = Self.batch(2, 7, vocab: 13, pad: 1)
        let a = try ProxyContext(model: supernet, lmHead: head, architecture: sub, batch: batch, seed: 3)
        let b = try ProxyContext(model: supernet.extract(sub), lmHead: head, architecture: sub, batch: batch, seed: 3)
        for name in ["w-pca", "snip", "grad-norm", "fisher", "naswot", "head-confidence", "jacob-cov"] {
            let x = try Proxies.named(name).score(a), y = try Proxies.named(name).score(b)
            XCTAssertEqual(x, y, accuracy: 1e-5 * abs(y), name)
        }
        XCTAssertThrowsError(try ProxyContext(model: Transformer(sub, seed: 1), architecture: superArch, batch: batch, seed: 3))
    }

    // MARK: - Timing (opt-in: PROXY_BENCH=1, best in a release build)

    func testTimingPerProxy() throws {
        guard ProcessInfo.processInfo.environment["PROXY_BENCH"] != nil else { throw XCTSkip("set PROXY_BENCH=1") }
        let tiny = Architecture(family: .encoder, vocabSize: 1000, maxPositions: 64, hidden: 64,
                                layers: Array(repeating: .init(heads: 2, qkv: 64, ffn: 256), count: 2))
        let small = Architecture(family: .encoder, vocabSize: 30522, maxPositions: 512, hidden: 256,
                                 layers: Array(repeating: .init(heads: 4, qkv: 256, ffn: 1024), count: 4))
        for (label, arch, b, t) in [("tiny h64 L2, 8×32", tiny, 8, 32), ("BERT-small h256 L4, 32×128", small, 32, 128)] {
            let batch = Self.batch(b, t, vocab: arch.vocabSize)
            var line = "\(label):"
            for name in Proxies.names {
                let context = try ProxyContext(architecture: arch, batch: batch, seed: 1)
                _ = context.model   // build outside the timing
                let start = Date()
                let s = try Proxies.named(name).score(context)
                line += String(format: " %@ %.3fs (%.4g);", name, Date().timeIntervalSince(start), s)
            }
            print(line)
        }
    }
}

/// Proxies share one context (and its cached forward and gradient), so none may leave the model changed.
final class ProxyIsolationTests: XCTestCase {
    func testEveryProxyLeavesTheModelUntouched() throws {
        let flexi = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8, embeddingSize: 4,
                                 layers: [.init(heads: 2, qkv: 8, ffn: 12, operation: .wma, ffnStack: [6]),
                                          .init(heads: 2, qkv: 8, ffn: 10, operation: .dynamicConv(kernel: 3)),
                                          .init(heads: 2, qkv: 8, ffn: 10, operation: .dft)])
        for arch in [ProxyTests.encoder, ProxyTests.decoder, flexi] {
            let context = try ProxyContext(architecture: arch, batch: ProxyTests.batch(3, 6, vocab: 9, pad: 2),
                                           seed: 4, maskTokenId: 1)
            let before = context.lossParameters.map { $0.value.scalars }
            for name in Proxies.names {
                _ = try Proxies.named(name).score(context)
                for (p, b) in zip(context.lossParameters, before) where p.value.scalars != b {
                    XCTFail("\(name) changed \(p.name) of a \(arch.family) model")
                }
                XCTAssertTrue(context.lossParameters.allSatisfy { $0.grad == nil }, "\(name) left gradients behind")
            }
        }
    }
}
