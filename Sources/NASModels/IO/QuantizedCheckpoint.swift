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
///                        every other tensor (biases, embeddings, LayerNorms, heads) F32 as in any checkpoint
///     vocab.txt          copied
///
/// `Checkpoint.load` reads such a file transparently (`loadLinear`): a Linear whose weight is stored
/// I8 or BF16 gets that arithmetic and, as its fp32 weight, the dequantized values (so every reader of
/// weights sees what the layer computes with). At run time int8 activations are quantized per tensor to
/// uint8 with a zero point from their own range (dynamic), accumulated in int32 and rescaled in fp32.
public enum QuantizedCheckpoint {
    public static let key = "swiftnas_quantization"

    /// The name of a weight's per-output-channel scales.
    public static func scaleName(_ weight: String) -> String { weight + "_scale" }

    /// The safetensors entries of `parameters`: the weights of `linears` whose arithmetic is `bf16Weights`
    /// or `int8` in their stored form (with their scales), everything else F32.
    public static func entries(of parameters: [Parameter], linears: [Linear]) -> [SafeTensorsFile.Entry] {
        let quantized = Dictionary(linears.map { (ObjectIdentifier($0.weight), $0) }, uniquingKeysWith: { a, _ in a })
        var entries: [SafeTensorsFile.Entry] = []
        for p in parameters {
            switch quantized[ObjectIdentifier(p)]?.arithmetic {
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
        guard let info = file.info(name), info.dtype == .i8 || info.dtype == .bf16 else { return nil }
        let path = file.url.path, shape = linear.weight.shape
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
        let scaleName = scaleName(name)
        guard let scaleInfo = file.info(scaleName) else { throw Checkpoint.Failure.missingTensor(file: path, tensor: scaleName) }
        guard scaleInfo.dtype == .f32, scaleInfo.shape == [out] else {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(scaleName)' is \(scaleInfo.dtype.rawValue) "
                + "\(scaleInfo.shape), expected F32 [\(out)] (one scale per output channel of '\(name)')")
        }
        let scales = try file.tensor(scaleName).scalars
        if let o = scales.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(scaleName)'[\(o)] is \(scales[o]), "
                + "expected a positive finite scale")
        }
        let values = try file.withRawBytes(name) { raw in (0..<(out * inF)).map { raw.load(fromByteOffset: $0, as: Int8.self) } }
        if let i = values.firstIndex(of: -128) {
            throw Checkpoint.Failure.invalidArchitecture(file: path, reason: "tensor '\(name)' holds −128 at element \(i), "
                + "expected symmetric int8 values in −127…127")
        }
        let weights = Int8Weights(values: values, scales: scales, outFeatures: out, inFeatures: inF)
        linear.weight.value = weights.dequantized()
        linear.arithmetic = .int8(weights)
        return [name, scaleName]
    }

    /// The `swiftnas_quantization` object of a config.json.
    public static func description(_ format: WeightQuantization, layers: Int) -> JSONValue {
        .object(["format": .int(1), "weights": .string(format.rawValue), "layers": .int(layers),
                 "activations": .string(format == .int8 ? "dynamic-uint8" : "bf16")])
    }
}
