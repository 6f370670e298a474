import Foundation
import NASTensor

/// A model folder whose Linear layers store low-precision weights (`swiftnas quantize apply`). Layout:
///
///     config.json        the source's, plus "swiftnas_quantization": {"format": 1, "weights": "int8" | "bf16",
///                        "activations": "dynamic-uint8" (int8) | "bf16" (bf16), "layers": <count>}
///     model.safetensors  for each quantized Linear (every Linear of the backbone):
///                          int8  <name>.weight        I8  [out, in]   q = round(w / s) in −127…127 (ties to even)
///                                <name>.weight_scale  F32 [out]       s = max|w[o, :]| / 127 (> 0)
///                          bf16  <name>.weight        BF16 [out, in]  round to nearest, ties to even
///                          b-bit <name>.weight        U8 [out, ⌈in·b/8⌉]  q ∈ ±L, L = 2^{b−1} − 1, packed b bits each (`PackedCodes`)
///                          (2…7) <name>.weight_scale  F32 [out]       s = max|w[o, :]| / L (FakeQuantization's grid: ties away from 0)
///                                <name>.weight_bits   U8 [1]          b
///                          power <name>.weight        U8 [out, ⌈in·b/8⌉]  c = sign(w)·round(|w/m|^α · L), packed as above
///                          grid  <name>.weight_scale  F32 [out]       m = max|w[o, :]| (the row's range, not a step)
///                          (2…8) <name>.weight_bits   U8 [1]          b
///                                <name>.weight_exponent F32 [1]       α > 0 (PowerQuant/NUPES); ŵ = sign(c)·m·(|c|/L)^{1/α}
///                        embedding tables, when quantized (with low-bit Linears):
///                                <name>               I8 [rows, d]    per row, s = max|t[r, :]| / 127, ties away from 0
///                                <name>_scale         F32 [rows]
///                        every other tensor (biases, LayerNorms, heads, unquantized tables) F32 as in any checkpoint
///     vocab.txt          copied
///
/// A b-bit Linear runs as int8 (its codes are int8 values), so it is as fast as int8 and as small on disk as b bits.
/// A power-grid Linear has no integer GEMM: it is read back as its decoded weights, which are the simulation's quantized
/// weights bit for bit, and runs them in fp32 with 8-bit asymmetric inputs (`Linear.Arithmetic.gridWeights`), so the
/// file computes what `evaluate --weight-grid power|nupes` simulated. A quantized embedding table is read back as its dequantized
/// fp32 values.
/// `Checkpoint.load` reads such a file transparently (`loadLinear`, `loadTable`): a Linear whose weight is stored
/// I8 (or packed) or BF16 gets that arithmetic and, as its fp32 weight, the dequantized values (so every reader of
/// weights sees what the layer computes with). At run time int8 activations are quantized per tensor to
/// uint8 with a zero point from their own range (dynamic), accumulated in int32 and rescaled in fp32.
public enum QuantizedCheckpoint {
    public static let key = "swiftnas_quantization"

    /// The name of a weight's per-output-channel (or a table's per-row) scales.
    public static func scaleName(_ weight: String) -> String { weight + "_scale" }
    /// The name of a packed weight's bit width.
    public static func bitsName(_ weight: String) -> String { weight + "_bits" }
    /// The name of a power-grid weight's exponent α.
    public static func exponentName(_ weight: String) -> String { weight + "_exponent" }
    /// The inputs of a power-grid Linear read from a file: 8 bits, asymmetric per tensor (the simulation's default).
    public static let powerGridInputs = FakeQuantization(bits: 8, perChannel: false, symmetric: false)

    /// The safetensors entries of `parameters`: the weights of `linears` whose arithmetic is `bf16Weights`
    /// or `int8` in their stored form (with their scales; b < 8 bits packed), the `powerGrid` Linears (fake-quantized on a
    /// power grid) as their packed codes, the `tables` as int8 per row, everything else F32.
    public static func entries(of parameters: [Parameter], linears: [Linear], tables: [Parameter] = [], powerGrid: [Linear] = [])
        -> [SafeTensorsFile.Entry] {
        let quantized = Dictionary(linears.map { (ObjectIdentifier($0.weight), $0) }, uniquingKeysWith: { a, _ in a })
        let quantizedTables = Set(tables.map(ObjectIdentifier.init))
        var power: [ObjectIdentifier: FakeQuantization] = [:]
        for linear in powerGrid {
            guard case .fakeQuantized(let q, _) = linear.arithmetic, q.powerExponent != nil else {
                preconditionFailure("QuantizedCheckpoint: \(linear.weight.name) is not fake-quantized on a power grid")
            }
            power[ObjectIdentifier(linear.weight)] = q
        }
        var entries: [SafeTensorsFile.Entry] = []
        for p in parameters {
            if let q = power[ObjectIdentifier(p)], let alpha = q.powerExponent {
                let (codes, ranges) = powerCodes(p.value, bits: q.bits, alpha: alpha)
                let (out, inF) = (p.shape[0], p.shape[1])
                entries.append(.u8(p.name, PackedCodes.pack(codes, rows: out, cols: inF, bits: q.bits),
                                   shape: [out, PackedCodes.bytesPerRow(cols: inF, bits: q.bits)]))
                entries.append(.f32(scaleName(p.name), Tensor(shape: [out], scalars: ranges)))
                entries.append(.u8(bitsName(p.name), [UInt8(q.bits)], shape: [1]))
                entries.append(.f32(exponentName(p.name), Tensor(shape: [1], scalars: [alpha])))
                continue
            }
            if quantizedTables.contains(ObjectIdentifier(p)), p.shape.count == 2 {
                let t = Int8Weights(quantizing: p.value, bits: 8)
                entries.append(.i8(p.name, t.values, shape: p.shape))
                entries.append(.f32(scaleName(p.name), Tensor(shape: [t.outFeatures], scalars: t.scales)))
                continue
            }
            switch quantized[ObjectIdentifier(p)]?.arithmetic {
            case .int8(let w)? where w.bits < 8:
                let packed = PackedCodes.pack(w.values, rows: w.outFeatures, cols: w.inFeatures, bits: w.bits)
                entries.append(.u8(p.name, packed, shape: [w.outFeatures, PackedCodes.bytesPerRow(cols: w.inFeatures, bits: w.bits)]))
                entries.append(.f32(scaleName(p.name), Tensor(shape: [w.outFeatures], scalars: w.scales)))
                entries.append(.u8(bitsName(p.name), [UInt8(w.bits)], shape: [1]))
            case .int8(let w)?:
                entries.append(.i8(p.name, w.values, shape: p.shape))
                entries.append(.f32(scaleName(p.name), Tensor(shape: [w.outFeatures], scalars: w.scales)))
            case .bf16Weights(let w)?:
                entries.append(.bf16(p.name, UnsafeBufferPointer(start: w.storage, count: w.rows * w.cols), shape: p.shape, owner: w))
            default:
                entries.append(.f32(p.name, p.value))
            }
        }
        return entries
    }

    /// Loads `linear`'s weight from `file` when it is stored I8 (with its scales) or BF16: sets the
    /// arithmetic and the dequantized fp32 weight and returns the names it read; nil for an F32 weight.
    /// Errors name the tensor: a wrong shape, missing or invalid scales.
    static func loadLinear(_ linear: Linear, from file: SafeTensorsFile, name: String) throws -> [String]? {
        guard let info = file.info(name), [.i8, .bf16, .u8].contains(info.dtype) else { return nil }
        let path = file.url.path, shape = linear.weight.shape
        if info.dtype == .u8 { return try loadPacked(linear, from: file, name: name) }
        guard info.shape == shape else {
            throw Checkpoint.Failure.shapeMismatch(file: path, tensor: name, expected: shape, found: info.shape)
        }
        let (out, inF) = (shape[0], shape[1])
        if info.dtype == .bf16 {
            // bf16 → fp32 is exact (checked finite), and rounding those values back gives the stored bits.
            let values = try Checkpoint.finiteTensor(name, in: file)
            linear.weight.value = values
            linear.arithmetic = .bf16Weights(BF16Matrix(rounding: values))
            return [name]
        }
        let scales = try self.scales(of: name, count: out, in: file)
        let values = try symmetricInt8(name, count: out * inF, in: file)
        let weights = Int8Weights(values: values, scales: scales, outFeatures: out, inFeatures: inF)
        linear.weight.value = weights.dequantized()
        linear.arithmetic = .int8(weights)
        return [name, scaleName(name)]
    }

    /// A b-bit packed weight (U8, with its scales and bit width): runs as int8 with values in ±(2^{b−1} − 1).
    private static func loadPacked(_ linear: Linear, from file: SafeTensorsFile, name: String) throws -> [String] {
        let path = file.url.path, (out, inF) = (linear.weight.shape[0], linear.weight.shape[1]), bitsName = bitsName(name)
        guard let bitsInfo = file.info(bitsName) else { throw Checkpoint.Failure.missingTensor(file: path, tensor: bitsName) }
        let bits = bitsInfo.dtype == .u8 && bitsInfo.shape == [1] ? try file.withRawBytes(bitsName) { Int($0[0]) } : 0
        let exponentName = exponentName(name), power = file.contains(exponentName)
        guard (2...(power ? 8 : 7)).contains(bits) else {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(bitsName)' is \(bitsInfo.dtype.rawValue) "
                + "\(bitsInfo.shape)\(bits > 0 ? " holding \(bits)" : ""), expected U8 [1] holding a bit width 2…\(power ? 8 : 7) "
                + "(the packed weight '\(name)')")
        }
        let packedShape = [out, PackedCodes.bytesPerRow(cols: inF, bits: bits)]
        guard file.info(name)?.shape == packedShape else {
            throw Checkpoint.Failure.shapeMismatch(file: path, tensor: name, expected: packedShape, found: file.info(name)?.shape ?? [])
        }
        let scales = try self.scales(of: name, count: out, in: file)
        let unpacked = try file.withRawBytes(name) { PackedCodes.unpack($0, rows: out, cols: inF, bits: bits) }
        let values: [Int8]
        switch unpacked {
        case .success(let v): values = v
        case .failure(let bad):
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(name)' packs the field \(bad.field) at element "
                + "\(bad.index), expected \(bits)-bit fields 0…\((1 << bits) - 2) (codes ±\((1 << (bits - 1)) - 1))")
        }
        if power {
            guard let info = file.info(exponentName), info.dtype == .f32, info.shape == [1],
                  let alpha = try file.tensor(exponentName).scalars.first, alpha.isFinite, alpha > 0 else {
                throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(exponentName)' is not F32 [1] holding a "
                    + "positive finite exponent (the power grid of '\(name)')")
            }
            linear.weight.value = decodePower(values, ranges: scales, cols: inF, bits: bits, alpha: alpha)
            linear.arithmetic = .gridWeights(inputs: powerGridInputs)
            return [name, scaleName(name), bitsName, exponentName]
        }
        let weights = Int8Weights(values: values, scales: scales, outFeatures: out, inFeatures: inF, bits: bits)
        linear.weight.value = weights.dequantized()
        linear.arithmetic = .int8(weights)
        return [name, scaleName(name), bitsName]
    }

    /// The codes c = sign(w)·round(|w/m|^α · L) of each row of `w` [out, in] and the rows' ranges m = max|w[o, :]|:
    /// `FakeQuantization`'s power grid, operation for operation (ties away from zero; an all-zero row gets m = 1; α = 1 is
    /// its uniform grid, round(w / (m/L))).
    static func powerCodes(_ w: Tensor, bits: Int, alpha: Float) -> (codes: [Int8], ranges: [Float]) {
        let (out, inF) = (w.shape[0], w.shape[1]), levels = Float((1 << (bits - 1)) - 1), v = w.contiguous().scalars
        var codes = [Int8](repeating: 0, count: out * inF), ranges = [Float](repeating: 1, count: out)
        for o in 0..<out {
            let row = v[(o * inF)..<((o + 1) * inF)], m = row.reduce(Float(0)) { Swift.max($0, Swift.abs($1)) }
            guard m > 0, m.isFinite else { continue }
            ranges[o] = m
            for (i, x) in row.enumerated() {
                // α = 1 is FakeQuantization's uniform grid, whose step is m / L.
                let c = alpha == 1 ? Swift.abs(x / (m / levels)).rounded(.toNearestOrAwayFromZero)
                                   : (Foundation.pow(Swift.abs(x) / m, alpha) * levels).rounded(.toNearestOrAwayFromZero)
                codes[o * inF + i] = Int8(x < 0 ? -Swift.min(c, levels) : Swift.min(c, levels))
            }
        }
        return (codes, ranges)
    }

    /// ŵ = sign(c)·m·(|c|/L)^{1/α}, as `FakeQuantization` dequantizes its power grid.
    static func decodePower(_ codes: [Int8], ranges: [Float], cols: Int, bits: Int, alpha: Float) -> Tensor {
        let levels = Float((1 << (bits - 1)) - 1)
        let values = codes.enumerated().map { i, c -> Float in
            let m = ranges[i / cols], q = Float(Swift.abs(Int(c))) / levels
            if alpha == 1 { return m / levels * Float(c) }
            return (c < 0 ? -m : m) * Foundation.pow(q, 1 / alpha)
        }
        return Tensor(shape: [ranges.count, cols], scalars: values)
    }

    /// Loads parameter `p` (a table [rows, d]) from tensor `name` when it is stored I8 with per-row scales: its value becomes
    /// the dequantized table. Returns the names it read; nil for any other dtype.
    static func loadTable(_ p: Parameter, from file: SafeTensorsFile, name: String) throws -> [String]? {
        guard let info = file.info(name), info.dtype == .i8, p.shape.count == 2 else { return nil }
        guard info.shape == p.shape else {
            throw Checkpoint.Failure.shapeMismatch(file: file.url.path, tensor: name, expected: p.shape, found: info.shape)
        }
        let (rows, d) = (p.shape[0], p.shape[1]), scales = try self.scales(of: name, count: rows, in: file)
        let values = try symmetricInt8(name, count: rows * d, in: file)
        p.value = Int8Weights(values: values, scales: scales, outFeatures: rows, inFeatures: d).dequantized()
        return [name, scaleName(name)]
    }

    /// The `count` I8 values of tensor `name`, refusing −128 (the grid is symmetric, −127…127).
    private static func symmetricInt8(_ name: String, count: Int, in file: SafeTensorsFile) throws -> [Int8] {
        let values = try file.withRawBytes(name) { raw in (0..<count).map { raw.load(fromByteOffset: $0, as: Int8.self) } }
        if let i = values.firstIndex(of: -128) {
            throw Checkpoint.Failure.invalidArchitecture(file: file.url.path, reason: "tensor '\(name)' holds −128 at element \(i), "
                + "expected symmetric int8 values in −127…127")
        }
        return values
    }

    /// The `count` positive finite F32 scales of tensor `name` (per output channel or row); errors name the tensor.
    private static func scales(of name: String, count: Int, in file: SafeTensorsFile) throws -> [Float] {
        let path = file.url.path, scaleName = scaleName(name)
        guard let scaleInfo = file.info(scaleName) else { throw Checkpoint.Failure.missingTensor(file: path, tensor: scaleName) }
        guard scaleInfo.dtype == .f32, scaleInfo.shape == [count] else {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(scaleName)' is \(scaleInfo.dtype.rawValue) "
                + "\(scaleInfo.shape), expected F32 [\(count)] (one scale per output channel or row of '\(name)')")
        }
        let scales = try file.tensor(scaleName).scalars
        if let o = scales.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(scaleName)'[\(o)] is \(scales[o]), "
                + "expected a positive finite scale")
        }
        return scales
    }

    /// The `swiftnas_quantization` object of a config.json; `packed` describes low-bit Linears (with int8 tables).
    public static func description(_ format: WeightQuantization, layers: Int, packed: String? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["format": .int(1), "weights": .string(packed ?? format.rawValue), "layers": .int(layers),
                                           "activations": .string(format == .int8 ? "dynamic-uint8" : "bf16")]
        if packed != nil { fields["embeddings"] = .string("int8 per row") }
        return .object(fields)
    }
}
