import XCTest
import CKernels
@testable import NASTensor

/// bf16 rounding, the oneDNN bf16 and int8 GEMMs against fp64 references of their (rounded or
/// quantized) operands, strided and transposed operands, bias, the engine split and primitive caching.
final class LowPrecisionTests: XCTestCase {
    // MARK: - bf16 rounding

    /// An independent oracle: the bf16 nearest to x, by comparing distances in double precision (ties to
    /// the even pattern; past the largest finite bf16 the next pattern up is ±inf, counted as ±2¹²⁸).
    static func nearestBF16(_ x: Float) -> UInt16 {
        let down = UInt16(truncatingIfNeeded: x.bitPattern >> 16), up = down &+ 1
        func value(_ b: UInt16) -> Double {
            if b & 0x7F80 == 0x7F80 { return (b & 0x8000 != 0 ? -1 : 1) * 0x1p128 }
            return Double(Float(bitPattern: UInt32(b) << 16))
        }
        let dd = Swift.abs(Double(x) - value(down)), du = Swift.abs(value(up) - Double(x))
        if dd < du { return down }
        if du < dd { return up }
        return down & 1 == 0 ? down : up
    }

    func testBF16RoundingHandCases() {
        let cases: [(UInt32, UInt16, String)] = [
            (0x3F80_0000, 0x3F80, "1 is exact"),
            (0x3F80_8000, 0x3F80, "1 + 2⁻⁸: a tie, rounds to the even 1"),
            (0x3F81_8000, 0x3F82, "1 + 3·2⁻⁸: a tie, rounds up to the even pattern"),
            (0x3F80_8001, 0x3F81, "just above a tie rounds up"),
            (0x3F80_7FFF, 0x3F80, "just below a tie rounds down"),
            (0xBF80_8000, 0xBF80, "negative tie to even"),
            (0xBF81_8000, 0xBF82, "negative tie up in magnitude"),
            (0x3FFF_8000, 0x4000, "the carry moves into the exponent"),
            (0x7F7F_FFFF, 0x7F80, "the largest fp32 rounds to +inf"),
            (0x7F7F_7FFF, 0x7F7F, "the largest bf16 stays finite"),
            (0x7F80_0000, 0x7F80, "+inf"),
            (0xFF80_0000, 0xFF80, "-inf"),
            (0x8000_0000, 0x8000, "-0"),
            (0x0000_0001, 0x0000, "the smallest subnormal rounds to 0"),
            (0x0000_8000, 0x0000, "a subnormal tie rounds to the even 0"),
        ]
        for (bits, expected, what) in cases {
            XCTAssertEqual(BF16.round(Float(bitPattern: bits)), expected, what)
            XCTAssertEqual(Self.nearestBF16(Float(bitPattern: bits)), expected, "oracle: \(what)")
        }
        for nan: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x7F80_8000] {
            let r = BF16.round(Float(bitPattern: nan))
            XCTAssertTrue(BF16.float(r).isNaN, "NaN 0x\(String(nan, radix: 16)) must stay NaN, got 0x\(String(r, radix: 16))")
            XCTAssertEqual(r & 0x8000, UInt16(nan >> 31) << 15, "NaN keeps its sign")
        }
    }

    /// The vectorised kernel (contiguous and strided) against the oracle on random bit patterns.
    func testBF16ConversionMatchesOracle() {
        var rng = RandomGenerator(seed: 11)
        let n = 10_003
        var xs = (0..<n).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        xs += [1.00390625, -3.0078125, 65504, Float.leastNormalMagnitude / 1000]
        var out = [UInt16](repeating: 0, count: xs.count)
        BF16.convert(xs, into: &out, count: xs.count)
        for (x, y) in zip(xs, out) {
            if x.isNaN { XCTAssertTrue(BF16.float(y).isNaN); continue }
            XCTAssertEqual(y, Self.nearestBF16(x), "bf16(\(x)) [0x\(String(x.bitPattern, radix: 16))]")
        }
        var strided = [UInt16](repeating: 0, count: xs.count / 3)
        BF16.convert(xs, stride: 3, into: &strided, count: strided.count)
        for i in strided.indices where !xs[3 * i].isNaN { XCTAssertEqual(strided[i], out[3 * i]) }
    }

    // MARK: - references

    /// fp64 C = A·B (+ bias) of fp32 operand values; also Σ|a||b| per element (the accumulation scale).
    static func reference(_ a: [[Float]], _ b: [[Float]], bias: [Float]?) -> (c: [[Double]], scale: [[Double]]) {
        let m = a.count, k = b.count, n = b.first?.count ?? 0
        var c = [[Double]](repeating: [Double](repeating: 0, count: n), count: m), s = c
        for i in 0..<m { for j in 0..<n {
            var acc = 0.0, mag = 0.0
            for p in 0..<k { acc += Double(a[i][p]) * Double(b[p][j]); mag += Swift.abs(Double(a[i][p]) * Double(b[p][j])) }
            c[i][j] = acc + Double(bias?[j] ?? 0)
            s[i][j] = mag + Swift.abs(Double(bias?[j] ?? 0))
        } }
        return (c, s)
    }

    /// Rows of a 2-D tensor (any strides) as arrays, optionally rounded to bf16.
    static func rows(_ t: Tensor, bf16: Bool = false) -> [[Float]] {
        (0..<t.shape[0]).map { i in (0..<t.shape[1]).map { j in bf16 ? BF16.rounded(t[i, j]) : t[i, j] } }
    }

    static func transpose(_ x: [[Float]]) -> [[Float]] {
        guard let cols = x.first?.count else { return [] }
        return (0..<cols).map { j in x.map { $0[j] } }
    }

    func requireBF16() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.bf16), LowPrecision.fallbackNote(.bf16))
    }

    func requireInt8() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.int8), LowPrecision.fallbackNote(.int8))
    }

    /// Asserts |C − ref| ≤ tol · Σ|a||b| elementwise (fp32 accumulation of exact bf16 products).
    func assertClose(_ c: Tensor, _ ref: (c: [[Double]], scale: [[Double]]), tol: Double, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(c.shape, [ref.c.count, ref.c.first?.count ?? 0], what, file: file, line: line)
        var worst = 0.0
        for i in ref.c.indices { for j in ref.c[i].indices {
            worst = Swift.max(worst, Swift.abs(Double(c[i, j]) - ref.c[i][j]) / Swift.max(ref.scale[i][j], 1e-30))
        } }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): worst error / Σ|a·b| = \(worst)", file: file, line: line)
    }

    // MARK: - bf16 GEMM

    /// Plain operands, shapes that split over rows (m ≥ n) and over columns (n > m) of the engine's threads.
    func testBF16GEMMMatchesReferenceOfRoundedOperands() throws {
        try requireBF16()
        var rng = RandomGenerator(seed: 1)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 3] {
            Engine.threads = threads
            for (m, k, n) in [(5, 7, 3), (300, 64, 100), (40, 300, 200)] {
                let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
                let c = a.matmulBF16(b)
                let ref = Self.reference(Self.rows(a, bf16: true), Self.rows(b, bf16: true), bias: nil)
                assertClose(c, ref, tol: 1e-6 * Double(k).squareRoot() + 1e-6, "bf16 \(m)x\(k)x\(n), \(threads) threads")
                // Rounding really happened: the unrounded product is further away than the tolerance.
                let exact = Self.reference(Self.rows(a), Self.rows(b), bias: nil)
                XCTAssertGreaterThan(zip(exact.c.joined(), ref.c.joined()).map { Swift.abs($0 - $1) }.max() ?? 0, 1e-3)
            }
        }
    }

    /// `Linear`'s pattern: x · W[:out, :in]ᵀ with W a leading slice of a larger weight (row stride =
    /// the parent's width), with bias; the fp32-operand path and a pre-rounded `BF16Matrix` agree bit for bit.
    func testBF16LeadingSliceTransposedWithBias() throws {
        try requireBF16()
        var rng = RandomGenerator(seed: 2)
        let parent = Tensor.randomNormal([160, 96], using: &rng)
        let w = parent.leading([130, 50])  // W[:130, :50], row stride 96
        let x = Tensor.randomNormal([70, 50], using: &rng), bias = Tensor.randomNormal([130], using: &rng)
        let c = x.matmulBF16(w, transposeB: true, bias: bias)
        let ref = Self.reference(Self.rows(x, bf16: true), Self.transpose(Self.rows(w, bf16: true)), bias: bias.scalars)
        assertClose(c, ref, tol: 1e-6 * 50.0.squareRoot() + 1e-6, "x·W[:130,:50]ᵀ + b")
        let pre = BF16Matrix(rounding: w)
        XCTAssertEqual(x.matmulBF16(pre, transposeB: true, bias: bias).scalars, c.scalars, "pre-rounded weight")
        // A [batch, seq, in] input folds its leading axes into rows.
        let x3 = x.reshaped([7, 10, 50])
        let c3 = x3.matmulBF16(w, transposeB: true, bias: bias)
        XCTAssertEqual(c3.shape, [7, 10, 130])
        XCTAssertEqual(c3.scalars, c.scalars)
        // Raw API on a transposed left operand (rows stride 1): A = Xᵀ.
        let xt = Tensor.randomNormal([50, 70], using: &rng)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 70 * 130)
        defer { out.deallocate() }
        LowPrecision.gemmBF16(StridedMatrix(UnsafePointer(xt.basePointer), rows: 50, cols: 70, rowStride: 70).transposed,
                              StridedMatrix(UnsafePointer(w.basePointer), rows: 130, cols: 50, rowStride: 96).transposed,
                              into: out, ldc: 130)
        let refT = Self.reference(Self.transpose(Self.rows(xt, bf16: true)), Self.transpose(Self.rows(w, bf16: true)), bias: nil)
        assertClose(Tensor(shape: [70, 130], scalars: Array(UnsafeBufferPointer(start: out, count: 70 * 130))), refT,
                    tol: 1e-6 * 50.0.squareRoot() + 1e-6, "Xᵀ·Wᵀ")
        withExtendedLifetime((parent, xt)) {}
    }

    // MARK: - AMX kernel

    /// The engine's AMX kernel (A in fp32, rounded while packed, or already bf16; B = W[:n, :k]ᵀ a leading
    /// slice read transposed) on tails of m (not a multiple of 32) and n (not of 16), splits over rows and
    /// over columns (n > m): against fp64 of the rounded operands and against oneDNN on the same operands.
    func testAMXKernelMatchesReferenceAndOneDNN() throws {
        try XCTSkipUnless(AMXMatmul.isAvailable, "no AMX here (oneDNN reports \(LowPrecision.isaName))")
        var rng = RandomGenerator(seed: 11)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2, 3] {
            Engine.threads = threads
            for (m, k, n) in [(1, 32, 5), (37, 64, 50), (100, 96, 17), (70, 256, 300), (33, 32, 1000)] {
                let parent = Tensor.randomNormal([m, k + 7], using: &rng)
                let x = parent.leading([m, k])   // rows of stride k + 7
                let w = BF16Matrix(rounding: Tensor.randomNormal([n + 3, k + 5], using: &rng).leading([n, k]))
                let bias = Tensor.randomNormal([n], using: &rng).scalars
                let a32 = x.matrixView(transposed: false)
                XCTAssertTrue(AMXMatmul.accepts(.fp32(a32)), "\(m)x\(k)x\(n) should take the AMX kernel")
                let c = outputs(m * n) { LowPrecision.gemmBF16(a32, w.matrix.transposed, bias: bias, into: $0, ldc: n) }
                let ref = Self.reference(Self.rows(x, bf16: true), Self.transpose(Self.rows(w.tensor())), bias: bias)
                assertClose(Tensor(shape: [m, n], scalars: c), ref, tol: 1e-6 * Double(k).squareRoot() + 1e-6,
                            "AMX \(m)x\(k)x\(n), \(threads) threads")
                // A rounded first: the same kernel on the same values, bit for bit.
                let xb = BF16Matrix(rounding: x)
                let cb = outputs(m * n) { LowPrecision.gemmBF16(xb.matrix, w.matrix.transposed, bias: bias, into: $0, ldc: n) }
                XCTAssertEqual(cb, c, "bf16 A and fp32 A rounded in the kernel")
                // oneDNN on the same bf16 operands: equal up to the order of the fp32 sums.
                let cd = outputs(m * n) { out in
                    bias.withUnsafeBufferPointer { bp in
                        DNNLMatmul.run(.bf16, m: m, n: n, k: k, a: xb.storage, aStrides: (k, 1), b: w.storage, bStrides: (1, k),
                                       elementSizes: (2, 2), c: out, ldc: n, bias: bp.baseAddress)
                    }
                }
                let worst = zip(c, cd).map { Swift.abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-4 * Float(k).squareRoot(), "AMX against oneDNN, \(m)x\(k)x\(n)")
                withExtendedLifetime(parent) {}
            }
        }
    }

    /// Rounding inside the kernel's pack follows `BF16.round` (ties to even, near the largest finite bf16,
    /// the smallest normals): A · I = bf16(A) exactly. `TDPBF16PS` reads bf16 denormals as zero.
    func testAMXRoundingInsideThePackMatchesBF16() throws {
        try XCTSkipUnless(AMXMatmul.isAvailable, "no AMX here (oneDNN reports \(LowPrecision.isaName))")
        let k = 32
        var values: [Float] = [1, -1, 0, 1 + 0x1p-8, 1 + 0x1p-7 + 0x1p-8, 1 + 0x1p-9, 1 + 3 * 0x1p-9, 0x1p-120, -0x1p-125,
                               3.3895e38, -2.5e38, 1e-3, 12345.678, -0.3333333, Float.leastNormalMagnitude, 0x1p-130]
        var rng = RandomGenerator(seed: 12)
        while values.count < 3 * k { values.append(Float(rng.normal()) * 100) }
        let a = Tensor(shape: [3, k], scalars: values)
        let identity = BF16Matrix(rounding: Tensor(shape: [k, k], scalars: (0..<(k * k)).map { $0 / k == $0 % k ? 1 : 0 }))
        let c = outputs(3 * k) { LowPrecision.gemmBF16(a.matrixView(transposed: false), identity.matrix, into: $0, ldc: k) }
        for (x, y) in zip(values, c) {
            let expected = x.magnitude < Float.leastNormalMagnitude ? 0 : BF16.rounded(x)   // a denormal reads as zero
            XCTAssertEqual(y.bitPattern, expected.bitPattern, "bf16(\(x)) through the kernel")
        }
    }

    /// The AMX int8 kernel (x quantized while packed) against fp64 of the quantized operands and against
    /// `QuantizedActivations` + oneDNN's `gemmInt8` on the same values: the int32 sums are exact, so the two
    /// differ at most by the fp32 rescale. Tails of m and n, bias or none, splits over rows and columns.
    func testAMXInt8KernelMatchesTheQuantizedProduct() throws {
        try XCTSkipUnless(AMXMatmul.isAvailable, "no AMX here (oneDNN reports \(LowPrecision.isaName))")
        var rng = RandomGenerator(seed: 14)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2] {
            Engine.threads = threads
            for (m, k, n, withBias) in [(1, 64, 5, true), (37, 128, 50, false), (100, 192, 17, true), (33, 64, 400, true)] {
                let x = Tensor.randomNormal([m, k], mean: 0.2, using: &rng)
                let w = Int8Weights(quantizing: Tensor.randomNormal([n, k], using: &rng))
                let bias = withBias ? Tensor.randomNormal([n], using: &rng) : nil
                XCTAssertTrue(AMXMatmul.acceptsInt8(x.matrixView(transposed: false)))
                let y = x.matmulInt8(w, bias: bias)
                let qa = QuantizedActivations(quantizing: x)
                let xs = (0..<m).map { i in (0..<k).map { j in qa.scale * Float(Int32(qa.values[i * k + j]) - qa.zeroPoint) } }
                let ref = Self.reference(xs, Self.transpose(Self.rows(w.dequantized())), bias: bias?.scalars)
                assertClose(y, ref, tol: 1e-6, "AMX int8 \(m)x\(k)x\(n), \(threads) threads")
                let viaDNNL = outputs(m * n) { out in
                    qa.values.withUnsafeBufferPointer { a in
                        w.values.withUnsafeBufferPointer { b in
                            LowPrecision.gemmInt8(StridedMatrix(a.baseAddress!, rows: m, cols: k, rowStride: k), scale: qa.scale,
                                                  zeroPoint: qa.zeroPoint, StridedMatrix(b.baseAddress!, rows: n, cols: k, rowStride: k).transposed,
                                                  scales: w.scales, columnSums: w.columnSums, bias: bias?.scalars, into: out, ldc: n)
                        }
                    }
                }
                let worst = zip(y.scalars, viaDNNL).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-6, "AMX int8 against oneDNN on the same quantized values, \(m)x\(k)x\(n)")
            }
        }
    }

    /// The output of `body` into a fresh buffer of `count` floats.
    func outputs(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, n in
            body(buffer.baseAddress!)
            n = count
        }
    }

    // MARK: - batched bf16 products (attention)

    /// q·kᵀ·α and A·v on permuted [B, heads, T, d] views (attention's layout): forward and both gradients
    /// against fp64 of the bf16-rounded operands and of the rounded dC, as `batchedMatmulBF16` defines them.
    func testBatchedMatmulBF16ForwardAndGradientsMatchTheRoundedOperands() throws {
        try requireBF16()
        var rng = RandomGenerator(seed: 13)
        let (b, t, heads, d) = (2, 5, 3, 4)
        func heads4(_ p: Parameter) -> Tensor { p.tensor.reshaped([b, t, heads, d]).permuted([0, 2, 1, 3]) }
        for transposeB in [true, false] {
            let qp = Parameter(Tensor.randomNormal([b, t, heads * d], using: &rng), name: "q")
            let kp = Parameter(Tensor.randomNormal([b, t, heads * d], using: &rng), name: "k")
            let alpha: Float = 0.37
            let (y, q, key) = Autograd.withGrad { () -> (Tensor, Tensor, Tensor) in
                let q = heads4(qp), key = heads4(kp)
                return (q.batchedMatmulBF16(transposeB ? key : key.permuted([0, 1, 3, 2]), transposeB: transposeB, alpha: alpha), q, key)
            }
            XCTAssertEqual(y.shape, [b, heads, t, t])
            let g = Tensor.randomNormal(y.shape, using: &rng)
            (y * g).sum().backward()
            let dq = qp.grad!.reshaped([b, t, heads, d]).permuted([0, 2, 1, 3])
            let dk = kp.grad!.reshaped([b, t, heads, d]).permuted([0, 2, 1, 3])
            for i in 0..<b { for h in 0..<heads {
                func item(_ x: Tensor) -> Tensor { x.slice(axis: 0, i..<(i + 1)).slice(axis: 1, h..<(h + 1)).reshaped([x.shape[2], x.shape[3]]) }
                let qi = Self.rows(item(q), bf16: true), ki = Self.rows(item(key), bf16: true), gi = Self.rows(item(g), bf16: true)
                func scaled(_ r: (c: [[Double]], scale: [[Double]])) -> (c: [[Double]], scale: [[Double]]) {
                    (r.c.map { $0.map { $0 * Double(alpha) } }, r.scale.map { $0.map { $0 * Double(alpha) } })
                }
                let what = "item (\(i), \(h)), transposeB \(transposeB)"
                assertClose(item(y).contiguous(), scaled(Self.reference(qi, Self.transpose(ki), bias: nil)), tol: 1e-6, "C " + what)
                assertClose(item(dq).contiguous(), scaled(Self.reference(gi, ki, bias: nil)), tol: 1e-6, "dA " + what)
                assertClose(item(dk).contiguous(), scaled(Self.reference(Self.transpose(gi), qi, bias: nil)), tol: 1e-6, "dB " + what)
            } }
        }
    }

    // MARK: - int8 GEMM

    /// Random u8 activations (zero point 131) × s8 weights [n, k] (the `Linear` layout, a leading slice
    /// of a wider buffer) with per-channel scales and bias, against fp64 of the quantized operands.
    func testInt8GEMMMatchesReferenceOfQuantizedOperands() throws {
        try requireInt8()
        var rng = RandomGenerator(seed: 3)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2] {
            Engine.threads = threads
            for (m, k, n) in [(3, 5, 4), (260, 96, 130), (50, 200, 300)] {
                let ldb = k + 16  // weights as a leading slice of a [n, k + 16] buffer
                let ldc = n + 3   // C as a leading slice too: the padding must stay untouched
                let a = (0..<m * k).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let b = (0..<n * ldb).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
                let scales = (0..<n).map { _ in Float(0.001 + Double(rng.next() % 1000) * 1e-5) }
                let sums = (0..<n).map { j in (0..<k).reduce(Int32(0)) { $0 + Int32(b[j * ldb + $1]) } }
                let bias = (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) * 0.01 }
                let sA: Float = 0.02, z: Int32 = 131
                for withBias in [true, false] {
                    var c = [Float](repeating: .nan, count: m * ldc)
                    bias.withUnsafeBufferPointer { bp in
                        LowPrecision.gemmInt8(StridedMatrix(a, rows: m, cols: k, rowStride: k), scale: sA, zeroPoint: z,
                                              StridedMatrix(b, rows: n, cols: k, rowStride: ldb).transposed,
                                              scales: scales, columnSums: sums, bias: withBias ? bp.baseAddress : nil, into: &c, ldc: ldc)
                    }
                    var worst = 0.0
                    for i in 0..<m { for j in 0..<n {
                        var acc = 0, zsum = 0
                        for p in 0..<k { acc += Int(a[i * k + p]) * Int(b[j * ldb + p]); zsum += Int(z) * Int(b[j * ldb + p]) }
                        let s = Double(sA) * Double(scales[j]), beta = withBias ? Double(bias[j]) : 0
                        let ref = s * Double(acc - zsum) + beta
                        // The compensation is exact (int32); what remains is the fp32 conversion of acc − zA·Σb,
                        // the rescale and the bias addition: a few ulps of the terms.
                        let magnitude = s * Double(Swift.abs(acc - zsum)) + Swift.abs(beta) + 1e-30
                        worst = Swift.max(worst, Swift.abs(Double(c[i * ldc + j]) - ref) / magnitude)
                    } }
                    XCTAssertLessThanOrEqual(worst, 3e-7, "int8 \(m)x\(k)x\(n), bias \(withBias), \(threads) threads: worst relative error \(worst)")
                    XCTAssertTrue((0..<m).allSatisfy { i in (n..<ldc).allSatisfy { c[i * ldc + $0].isNaN } },
                                  "int8 \(m)x\(k)x\(n): the rescale wrote past C's columns")
                }
            }
        }
    }

    /// `matmulInt8` quantizes x dynamically and matches the fp64 product of the dequantized operands;
    /// it also stays close to the fp32 product (quantization error only).
    func testInt8TensorHelper() throws {
        try requireInt8()
        var rng = RandomGenerator(seed: 4)
        let parent = Tensor.randomNormal([100, 80], using: &rng)
        let w = parent.leading([64, 48])
        let x = Tensor.randomNormal([2, 33, 48], mean: 0.3, using: &rng), bias = Tensor.randomNormal([64], using: &rng)
        let q = Int8Weights(quantizing: w)
        let y = x.matmulInt8(q, bias: bias)
        XCTAssertEqual(y.shape, [2, 33, 64])
        let x2 = x.reshaped([66, 48])
        let qa = QuantizedActivations(quantizing: x2)
        let xs = (0..<66).map { i in (0..<48).map { j in qa.scale * Float(Int32(qa.values[i * 48 + j]) - qa.zeroPoint) } }
        let ref = Self.reference(xs, Self.transpose(Self.rows(q.dequantized())), bias: bias.scalars)
        assertClose(y.reshaped([66, 64]), ref, tol: 1e-6, "x·W_qᵀ + b")
        let fp32 = x2.matmul(w, transposeB: true) + bias
        func rms(_ v: [Float]) -> Float { (v.map { $0 * $0 }.reduce(0, +) / Float(v.count)).squareRoot() }
        let err = rms(zip(y.scalars, fp32.scalars).map { $0 - $1 }) / rms(fp32.scalars)
        XCTAssertLessThan(err, 0.03, "int8 against fp32: quantization error only (relative RMS)")
        XCTAssertGreaterThan(err, 0, "the int8 path really quantized")
        withExtendedLifetime(parent) {}
    }

    func testInt8WeightQuantization() {
        let w = Tensor(shape: [3, 4], scalars: [1, -2, 0.5, 0.25, 0, 0, 0, 0, 127, 63.5, -0.5, 1.5])
        let q = Int8Weights(quantizing: w)
        XCTAssertEqual(q.scales, [2.0 / 127, 1, 1])
        XCTAssertEqual(Array(q.values[0..<4]), [64, -127, 32, 16])  // 63.5 → 64 (ties to even)
        XCTAssertEqual(Array(q.values[4..<8]), [0, 0, 0, 0])
        XCTAssertEqual(Array(q.values[8..<12]), [127, 64, 0, 2])  // 63.5 → 64, −0.5 → −0, 1.5 → 2
        XCTAssertEqual(q.columnSums, [-15, 0, 193])
        let a = QuantizedActivations(quantizing: Tensor(shape: [1, 3], scalars: [-1, 0, 2.4]))
        XCTAssertEqual(a.scale, 3.4 / 255, accuracy: 1e-9)
        XCTAssertEqual(a.zeroPoint, 75)
        XCTAssertEqual(a.values, [0, 75, 255])
    }

    /// `nk_min_max` against a scalar reference: every length 1…80 (the 16-wide vector loop, its 8-lane reduction and
    /// the tail), contiguous and strided, NaNs skipped wherever they fall, an extreme in every lane position.
    func testMinMaxKernelAgainstAScalarReference() {
        var rng = RandomGenerator(seed: 11)
        for n in 1...80 {
            for stride in [1, 3] {
                var x = Tensor.randomNormal([n * stride], using: &rng).scalars
                x[Int(rng.next() % UInt64(n)) * stride] = 100     // the largest, at a random lane
                if n > 2 { x[Int(rng.next() % UInt64(n)) * stride] = .nan }
                let values = stride == 1 ? x : (0..<n).map { x[$0 * stride] }
                let real = values.filter { !$0.isNaN }
                var lo: Float = 0, hi: Float = 0
                nk_min_max(x, stride, n, &lo, &hi)
                XCTAssertEqual(lo, real.min() ?? .infinity, "n \(n) stride \(stride)")
                XCTAssertEqual(hi, real.max() ?? -.infinity, "n \(n) stride \(stride)")
            }
        }
    }

    /// Dynamic range on contiguous (vectorised, 8 lanes plus a tail) and strided (transposed) input.
    func testActivationRangeContiguousAndStrided() {
        var rng = RandomGenerator(seed: 6)
        let x = Tensor.randomNormal([37, 13], mean: 0.5, using: &rng)
        let v = x.scalars
        let lo = Swift.min(v.min()!, 0), hi = Swift.max(v.max()!, 0)
        let q = QuantizedActivations(quantizing: x)
        XCTAssertEqual(q.scale, (hi - lo) / 255)
        XCTAssertEqual(q.zeroPoint, Int32((-lo / q.scale).rounded(.toNearestOrEven)))
        for (i, x) in v.enumerated() {
            let expected = Swift.min(Swift.max((x / q.scale).rounded(.toNearestOrEven) + Float(q.zeroPoint), 0), 255)
            XCTAssertEqual(Float(q.values[i]), expected, accuracy: 1, "element \(i)")  // x·(1/s) vs x/s may differ at a tie
        }
        let t = x.transposed().contiguous().transposed()  // the same values, column-major strides
        let qt = QuantizedActivations(quantizing: t)
        XCTAssertEqual(qt.scale, q.scale)
        XCTAssertEqual(qt.zeroPoint, q.zeroPoint)
        XCTAssertEqual(qt.values, q.values)
    }

    // MARK: - caching

    /// The same shape twice: identical results, and the second call creates no primitive.
    func testPrimitiveCacheReuse() throws {
        try requireBF16()
        var rng = RandomGenerator(seed: 5)
        let a = Tensor.randomNormal([97, 61], using: &rng), b = Tensor.randomNormal([61, 43], using: &rng)
        let first = a.matmulBF16(b)
        let after = LowPrecision.cacheStatistics
        let second = a.matmulBF16(b)
        let again = LowPrecision.cacheStatistics
        XCTAssertEqual(first.scalars, second.scalars)
        XCTAssertEqual(again.misses, after.misses, "the second call must not create a primitive")
        XCTAssertGreaterThan(again.hits, after.hits)
        let impl = LowPrecision.implementationName(.bf16, m: 97, n: 43, k: 61)
        XCTAssertFalse(impl.hasPrefix("ref"), "bf16 runs on oneDNN's reference implementation: \(impl)")
    }

    func testAvailabilityFollowsISA() {
        XCTAssertFalse(LowPrecision.isaName.isEmpty)
        if LowPrecision.isAvailable(.bf16) { XCTAssertTrue(LowPrecision.isAvailable(.int8), "BF16-capable AVX-512 also has VNNI") }
        XCTAssertTrue(LowPrecision.fallbackNote(.int8).contains("running fp32"))
    }

    /// The mixed-precision Linear: forward and all three gradients equal the fp64 products of the
    /// bf16-rounded operands (fp32 accumulation), the bias gradient the fp32 row sum; on a leading slice.
    func testLinearBF16ForwardAndGradientsMatchTheRoundedOperands() throws {
        try requireBF16()
        var rng = RandomGenerator(seed: 8)
        let wp = Parameter(Tensor.randomNormal([40, 30], using: &rng), name: "w")
        let bp = Parameter(Tensor.randomNormal([40], using: &rng), name: "b")
        let xp = Parameter(Tensor.randomNormal([2, 5, 24], using: &rng), name: "x")
        let g = Tensor.randomNormal([2, 5, 32], using: &rng)
        let y = Autograd.withGrad { xp.tensor.linearBF16(wp.leading([32, 24]), bias: bp.leading([32])) }
        (y * g).sum().backward()
        let x2 = Self.rows(xp.value.reshaped([10, 24]), bf16: true), w = Self.rows(wp.value.leading([32, 24]).contiguous(), bf16: true)
        let g2 = Self.rows(g.reshaped([10, 32]), bf16: true)
        assertClose(y.reshaped([10, 32]), Self.reference(x2, Self.transpose(w), bias: Array(bp.value.scalars[..<32])), tol: 1e-6, "y")
        assertClose(xp.grad!.reshaped([10, 24]), Self.reference(g2, w, bias: nil), tol: 1e-6, "dx")
        assertClose(wp.grad!.leading([32, 24]).contiguous(), Self.reference(Self.transpose(g2), x2, bias: nil), tol: 1e-6, "dW")
        XCTAssertEqual(Array(wp.grad!.scalars[(32 * 30)...]), [Float](repeating: 0, count: 8 * 30), "rows outside the slice stay zero")
        let db = (0..<32).map { j in (0..<10).reduce(Float(0)) { $0 + g.reshaped([10, 32])[$1, j] } }
        for j in 0..<32 { XCTAssertEqual(bp.grad![j], db[j], accuracy: 1e-4) }
    }
}
