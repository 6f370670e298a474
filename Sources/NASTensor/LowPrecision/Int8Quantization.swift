import CKernels

/// Weights quantized to int8, symmetric per output channel: W[o, i] ≈ scales[o] · values[o, i] with
/// values in −127…127 and scales[o] = max|W[o, :]| / 127 (round to nearest, ties to even). Stored as
/// `Linear` stores its weight, [out, in] row-major, with each channel's sum Σᵢ values[o, i] for the
/// activation zero-point compensation of `LowPrecision.gemmInt8`.
///
/// Fewer bits b < 8 (`init(quantizing:bits:)`) keep the values in ±(2^{b−1} − 1) with scales[o] = max|W[o, :]| /
/// (2^{b−1} − 1): the round-to-nearest grid of `FakeQuantization` (ties away from zero, as there), so a mixed-precision
/// configuration chosen in simulation runs on the int8 GEMM with the same weights.
public final class Int8Weights {
    public let outFeatures: Int, inFeatures: Int
    /// The bit width of the values: 8, or 2…7 for a low-bit grid inside int8.
    public let bits: Int
    /// [outFeatures, inFeatures] row-major.
    public let values: [Int8]
    public let scales: [Float]
    public let columnSums: [Int32]

    /// Quantizes a 2-D weight [out, in] (any strides: e.g. a leading slice `W[:out, :in]`).
    public init(quantizing w: Tensor) {
        precondition(w.rank == 2, "Int8Weights: needs a 2-D weight [out, in], got shape \(w.shape)")
        let out = w.shape[0], inF = w.shape[1], rs = w.strides[0], cs = w.strides[1], base = w.basePointer
        var values = [Int8](repeating: 0, count: out * inF)
        var scales = [Float](repeating: 1, count: out), sums = [Int32](repeating: 0, count: out)
        values.withUnsafeMutableBufferPointer { v in
            let pv = v.baseAddress!
            scales.withUnsafeMutableBufferPointer { s in
                sums.withUnsafeMutableBufferPointer { cs8 in
                    let ps = s.baseAddress!, psum = cs8.baseAddress!
                    Engine.parallelFor(out, costPerItem: 2 * inF) { r in
                        for o in r {
                            var lo: Float = 0, hi: Float = 0
                            if inF > 0 { nk_min_max(base + o * rs, cs, inF, &lo, &hi) }
                            let amax = Swift.max(-lo, hi)
                            precondition(amax.isFinite, "Int8Weights: output channel \(o) holds a non-finite value")
                            let scale: Float = amax > 0 ? amax / 127 : 1  // an all-zero channel: any scale
                            ps[o] = scale
                            psum[o] = nk_quantize_s8(base + o * rs, cs, 1 / scale, pv + o * inF, inF)
                        }
                    }
                }
            }
        }
        withExtendedLifetime(w) {}
        self.outFeatures = out
        self.inFeatures = inF
        self.bits = 8
        self.values = values
        self.scales = scales
        self.columnSums = sums
    }

    /// Quantizes a 2-D weight [out, in] to `bits` (2…8) per value on `FakeQuantization`'s symmetric per-channel grid:
    /// scales[o] = max|W[o, :]| / L, values = clamp(round(W / scales[o]), ±L), L = 2^{b−1} − 1, ties away from zero.
    public convenience init(quantizing w: Tensor, bits: Int) {
        precondition(w.rank == 2, "Int8Weights: needs a 2-D weight [out, in], got shape \(w.shape)")
        precondition((2...8).contains(bits), "Int8Weights: bits must be 2…8, got \(bits)")
        let (out, inF) = (w.shape[0], w.shape[1]), levels = Float((1 << (bits - 1)) - 1), v = w.contiguous().scalars
        var values = [Int8](repeating: 0, count: out * inF), scales = [Float](repeating: 1, count: out)
        for o in 0..<out {
            let row = v[(o * inF)..<((o + 1) * inF)], m = row.reduce(Float(0)) { Swift.max($0, Swift.abs($1)) }
            precondition(m.isFinite, "Int8Weights: output channel \(o) holds a non-finite value")
            guard m > 0 else { continue }   // an all-zero channel: any scale
            scales[o] = m / levels
            for (i, x) in row.enumerated() { values[o * inF + i] = Int8(Swift.min(levels, Swift.max(-levels, (x / scales[o]).rounded()))) }
        }
        self.init(values: values, scales: scales, outFeatures: out, inFeatures: inF, bits: bits)
    }

    /// Already-quantized weights (e.g. read from a file) of `bits` per value; the column sums are computed here.
    public init(values: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int, bits: Int = 8) {
        precondition(values.count == outFeatures * inFeatures,
                     "Int8Weights: \(values.count) values for [\(outFeatures), \(inFeatures)]")
        precondition(scales.count == outFeatures, "Int8Weights: \(scales.count) scales for \(outFeatures) output channels")
        for (o, s) in scales.enumerated() {
            precondition(s.isFinite && s > 0, "Int8Weights: scale \(s) of output channel \(o) must be positive and finite")
        }
        precondition((2...8).contains(bits), "Int8Weights: bits must be 2…8, got \(bits)")
        let levels = Int8((1 << (bits - 1)) - 1)
        precondition(values.allSatisfy { $0 >= -levels && $0 <= levels }, "Int8Weights: values outside ±\(levels) for \(bits) bits")
        self.bits = bits
        self.values = values
        self.scales = scales
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        columnSums = (0..<outFeatures).map { o in values[o * inFeatures..<(o + 1) * inFeatures].reduce(0) { $0 + Int32($1) } }
    }

    /// The dequantized weight scales[o] · values[o, i], [out, in].
    public func dequantized() -> Tensor {
        var out = [Float](repeating: 0, count: values.count)
        for o in 0..<outFeatures { for i in 0..<inFeatures { out[o * inFeatures + i] = scales[o] * Float(values[o * inFeatures + i]) } }
        return Tensor(shape: [outFeatures, inFeatures], scalars: out)
    }
}

/// Activations quantized to uint8, asymmetric per tensor: x ≈ scale · (values − zeroPoint), with the
/// range [min(x, 0), max(x, 0)] mapped onto 0…255 (so 0 is exact), scale = range / 255,
/// zeroPoint = round(−min / scale) (round to nearest, ties to even).
public struct QuantizedActivations {
    public let rows: Int, cols: Int
    /// [rows, cols] row-major.
    public var values: [UInt8]
    public let scale: Float
    public let zeroPoint: Int32

    /// Quantizes a 2-D tensor with its own (dynamic) range.
    public init(quantizing x: Tensor) {
        let (scale, zeroPoint) = Self.dynamicRange(of: x)
        self.init(quantizing: x, scale: scale, zeroPoint: zeroPoint)
    }

    /// The scale and zero point of a 2-D tensor's own range [min(x, 0), max(x, 0)].
    public static func dynamicRange(of x: Tensor) -> (scale: Float, zeroPoint: Int32) {
        precondition(x.rank == 2, "QuantizedActivations: needs a 2-D tensor, got shape \(x.shape)")
        let rows = x.shape[0], cols = x.shape[1], rs = x.strides[0], cs = x.strides[1], base = x.basePointer
        // Range: per-chunk min/max on the engine's threads, combined in chunk order.
        let chunks = Swift.max(1, Swift.min(Engine.threads, rows * cols / Engine.parallelThreshold))
        var ranges = [(Float, Float)](repeating: (0, 0), count: chunks)
        ranges.withUnsafeMutableBufferPointer { rp in
            let out = rp.baseAddress!
            Engine.parallelFor(chunks, costPerItem: Engine.parallelThreshold) { r in
                for c in r {
                    var lo: Float = 0, hi: Float = 0
                    for i in rows * c / chunks..<rows * (c + 1) / chunks where cols > 0 {
                        var a: Float = 0, b: Float = 0
                        nk_min_max(base + i * rs, cs, cols, &a, &b)
                        lo = Swift.min(lo, a); hi = Swift.max(hi, b)
                    }
                    out[c] = (lo, hi)
                }
            }
        }
        let lo = ranges.map(\.0).min() ?? 0, hi = ranges.map(\.1).max() ?? 0
        precondition(lo.isFinite && hi.isFinite, "QuantizedActivations: the tensor holds a non-finite value")
        let scale: Float = hi > lo ? (hi - lo) / 255 : 1
        withExtendedLifetime(x) {}
        return (scale, Int32((-lo / scale).rounded(.toNearestOrEven)))
    }

    /// Quantizes a 2-D tensor with a given (calibrated) scale and zero point; values outside the range
    /// saturate at 0 and 255.
    public init(quantizing x: Tensor, scale: Float, zeroPoint: Int32) {
        precondition(x.rank == 2, "QuantizedActivations: needs a 2-D tensor, got shape \(x.shape)")
        precondition(scale.isFinite && scale > 0, "QuantizedActivations: scale must be positive and finite, got \(scale)")
        precondition((0...255).contains(zeroPoint), "QuantizedActivations: zero point \(zeroPoint) is outside 0...255")
        let rows = x.shape[0], cols = x.shape[1], rs = x.strides[0], cs = x.strides[1], base = x.basePointer
        let values = [UInt8](unsafeUninitializedCapacity: rows * cols) { v, initialized in
            let pv = v.baseAddress!
            Engine.parallelFor(rows, costPerItem: cols) { r in
                for i in r { nk_quantize_u8(base + i * rs, cs, 1 / scale, zeroPoint, pv + i * cols, cols) }
            }
            initialized = rows * cols
        }
        withExtendedLifetime(x) {}
        self.rows = rows
        self.cols = cols
        self.values = values
        self.scale = scale
        self.zeroPoint = zeroPoint
    }
}
