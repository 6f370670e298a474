import Foundation
import XCTest
import NASTensor
@testable import NASModels

/// Quantized checkpoints: written and read back to the same arithmetic and outputs; damaged files refused
/// naming the tensor; the real teacher's embeddings kept.
final class QuantizedCheckpointTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("quantized-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static let arch = Architecture.uniform(.encoder, vocabSize: 60, maxPositions: 16, hidden: 32, depth: 2, heads: 2, ffn: 64)
    let batch = TokenBatch(ids: [5, 9, 1, 33, 7, 2, 48, 5, 6, 11, 59, 0], batchSize: 2, length: 6)

    func testQuantizedModelsRoundTripToTheSameArithmeticAndOutputs() throws {
        for format in WeightQuantization.allCases {
            let model = Transformer(Self.arch, seed: 4)
            let exact = model(batch).hidden.scalars
            XCTAssertEqual(model.quantize(format), 2 * 6)
            let quantized = model(batch).hidden.scalars
            let drift = zip(quantized, exact).map { Swift.abs($0 - $1) }.max()!
            XCTAssertGreaterThan(drift, 0, "\(format) changed nothing")
            XCTAssertLessThan(drift, 0.1, "\(format) drifted too far")
            let dir = folder.appendingPathComponent(format.rawValue)
            try Checkpoint.save(model, to: dir)
            let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
            let q = "encoder.layer.0.attention.self.query.weight"
            XCTAssertEqual(file.info(q)?.dtype, format == .int8 ? .i8 : .bf16)
            XCTAssertEqual(file.info("encoder.layer.0.attention.self.query.bias")?.dtype, .f32)
            XCTAssertEqual(file.contains(QuantizedCheckpoint.scaleName(q)), format == .int8)
            let (loaded, _, unused) = try Checkpoint.loadTransformer(from: dir)
            XCTAssertEqual(unused, [])
            XCTAssertTrue(loaded.linears().allSatisfy { !$0.linear.arithmetic.isTrainable })
            XCTAssertEqual(loaded(batch).hidden.scalars, quantized, "\(format): the loaded model computes what was saved")
        }
    }

    /// A one-Linear file with the given entries, loaded into a fresh Linear.
    func load(_ entries: [SafeTensorsFile.Entry]) throws {
        let url = folder.appendingPathComponent("bad.safetensors")
        try SafeTensorsFile.write(entries, to: url)
        var rng = RandomGenerator(seed: 0)
        try Checkpoint.load(Linear(3, 2, name: "l", rng: &rng), from: try SafeTensorsFile(contentsOf: url))
    }

    func testDamagedQuantizedFilesAreRefusedNamingTheTensor() throws {
        let bias = SafeTensorsFile.Entry.f32("l.bias", Tensor(zeros: [2]))
        let values: [Int8] = [1, -2, 3, 127, 0, -127]
        XCTAssertNoThrow(try load([.i8("l.weight", values, shape: [2, 3]), .f32("l.weight_scale", Tensor(shape: [2], scalars: [0.1, 0.2])), bias]))
        let cases: [([SafeTensorsFile.Entry], String)] = [
            ([.i8("l.weight", values, shape: [2, 3]), bias], "'l.weight_scale' is missing"),
            ([.i8("l.weight", values, shape: [2, 3]), .f32("l.weight_scale", Tensor(shape: [3], scalars: [1, 1, 1])), bias],
             "'l.weight_scale' is F32 [3], expected F32 [2]"),
            ([.i8("l.weight", values, shape: [2, 3]), .i8("l.weight_scale", [1, 1], shape: [2]), bias], "'l.weight_scale' is I8"),
            ([.i8("l.weight", values, shape: [2, 3]), .f32("l.weight_scale", Tensor(shape: [2], scalars: [0.1, 0])), bias],
             "'l.weight_scale'[1] is 0.0, expected a positive finite scale"),
            ([.i8("l.weight", values, shape: [2, 3]), .f32("l.weight_scale", Tensor(shape: [2], scalars: [.nan, 1])), bias],
             "'l.weight_scale'[0] is nan"),
            ([.i8("l.weight", [-128, 0, 0, 0, 0, 0], shape: [2, 3]), .f32("l.weight_scale", Tensor(shape: [2], scalars: [1, 1])), bias],
             "'l.weight' holds −128"),
            ([.i8("l.weight", [1, 2, 3], shape: [1, 3]), .f32("l.weight_scale", Tensor(shape: [1], scalars: [1])), bias],
             "tensor 'l.weight' has shape [1, 3], expected [2, 3]"),
        ]
        for (entries, message) in cases {
            XCTAssertThrowsError(try load(entries), message) { XCTAssertTrue("\($0)".contains(message), "\($0) does not say \(message)") }
        }
    }

    /// b-bit codes pack into ⌈cols·b/8⌉ bytes per row and unpack to themselves; a hand-packed row checks the bit order.
    func testPackedCodesRoundTripAtEveryWidth() throws {
        var rng = RandomGenerator(seed: 3)
        for bits in 2...8 {
            let levels = (1 << (bits - 1)) - 1
            for cols in [1, 3, 7, 13] {
                let values = (0..<(4 * cols)).map { _ in Int8(Int(rng.next() % UInt64(2 * levels + 1)) - levels) }
                let packed = PackedCodes.pack(values, rows: 4, cols: cols, bits: bits)
                XCTAssertEqual(packed.count, 4 * ((cols * bits + 7) / 8))
                let back = packed.withUnsafeBytes { PackedCodes.unpack($0, rows: 4, cols: cols, bits: bits) }
                XCTAssertEqual(try back.get(), values, "\(bits) bits, \(cols) columns")
            }
        }
        // 3 bits: codes −3, 0, 3 are the fields 0, 3, 6 → bits 3, 4 (field 1) and 7, 8 (field 2): bytes 0b1001_1000, 0b1.
        XCTAssertEqual(PackedCodes.pack([-3, 0, 3], rows: 1, cols: 3, bits: 3), [0b1001_1000, 0b1])
        // Field 7 (0b111) is no 3-bit code.
        let bad = [UInt8]([0b0011_1000, 0]).withUnsafeBytes { PackedCodes.unpack($0, rows: 1, cols: 3, bits: 3) }
        guard case .failure(let failure) = bad else { return XCTFail("field 7 accepted") }
        XCTAssertEqual([failure.index, failure.field], [1, 7])
    }

    /// Low-bit Linears (and int8 tables) in a file: the weights are exactly `FakeQuantization`'s round-to-nearest grid,
    /// packed b bits each, and the loaded model computes what was saved, on the int8 path.
    func testLowBitWeightsAreTheSimulatedGridPackedAndReadBack() throws {
        let model = Transformer(Self.arch, seed: 5)
        let tables = model.modules().compactMap { ($0.module as? Embedding)?.weight }
        XCTAssertEqual(tables.count, 3)
        let bits = [2, 3, 4, 5, 6, 7, 8, 3, 4, 2, 7, 5]
        for ((_, linear), b) in zip(model.linears(), bits) {
            let w = linear.weight.value, q = Int8Weights(quantizing: w, bits: b)
            XCTAssertEqual(q.dequantized().scalars, w.fakeQuantized(FakeQuantization(bits: b, perChannel: true)).scalars, "\(b) bits")
            XCTAssertEqual(q.values.map { abs(Int($0)) }.max(), (1 << (b - 1)) - 1, "the largest weight of a row takes the top code")
            linear.arithmetic = .int8(q)
        }
        for t in tables { t.value = t.value.fakeQuantized(FakeQuantization(bits: 8, perChannel: true)) }
        model.useBF16AttentionProducts()   // as `quantize` and a loaded int8 file run
        let expected = model(batch).hidden.scalars
        let url = folder.appendingPathComponent("low-bit.safetensors")
        try SafeTensorsFile.write(QuantizedCheckpoint.entries(of: model.parameters, linears: model.linears().map(\.linear), tables: tables), to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        let q = "encoder.layer.0.attention.self.query.weight"
        XCTAssertEqual(file.info(q)?.dtype, .u8)
        XCTAssertEqual(file.info(q)?.shape, [32, 32 * 2 / 8])
        XCTAssertEqual(file.info("embeddings.word_embeddings.weight")?.dtype, .i8)
        let loaded = Transformer(Self.arch, seed: 9)
        XCTAssertEqual(try Checkpoint.load(loaded, from: file), [])
        for (((_, linear), (_, original)), b) in zip(zip(loaded.linears(), model.linears()), bits) {
            guard case .int8(let w) = linear.arithmetic, case .int8(let o) = original.arithmetic else { return XCTFail("not int8") }
            XCTAssertEqual(w.bits, b)
            XCTAssertEqual(w.values, o.values)
            XCTAssertEqual(w.scales, o.scales)
        }
        for (a, b) in zip(loaded.modules().compactMap { ($0.module as? Embedding)?.weight }, tables) { XCTAssertEqual(a.value.scalars, b.value.scalars) }
        XCTAssertEqual(loaded(batch).hidden.scalars, expected)
    }

    /// Power-grid Linears in a file: the codes decode to `FakeQuantization`'s power-grid weights bit for bit, and the
    /// loaded model (those weights as they are, 8-bit inputs) computes exactly what the simulated model computed.
    func testPowerGridWeightsAreStoredAsCodesAndReproduceTheSimulation() throws {
        let model = Transformer(Self.arch, seed: 6)
        let inputs = QuantizedCheckpoint.powerGridInputs
        for (i, (_, linear)) in model.linears().enumerated() {
            linear.arithmetic = .fakeQuantized(FakeQuantization(bits: 3 + i % 4, perChannel: true, powerExponent: 0.45 + 0.05 * Float(i)), activations: inputs)
        }
        let expected = model(batch).hidden.scalars
        let url = folder.appendingPathComponent("power.safetensors")
        let linears = model.linears().map(\.linear)
        try SafeTensorsFile.write(QuantizedCheckpoint.entries(of: model.parameters, linears: linears, powerGrid: linears), to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.info("encoder.layer.0.attention.self.query.weight")?.shape, [32, 32 * 3 / 8])
        let loaded = Transformer(Self.arch, seed: 9)
        XCTAssertEqual(try Checkpoint.load(loaded, from: file), [])
        for ((_, linear), original) in zip(loaded.linears(), linears) {
            guard case .gridWeights(let a) = linear.arithmetic, case .fakeQuantized(let q0, _) = original.arithmetic else { return XCTFail("\(linear.arithmetic)") }
            XCTAssertEqual(a, inputs)
            XCTAssertEqual(linear.weight.value.scalars, original.weight.value.fakeQuantized(q0).scalars, "decoded = the simulated weights")
        }
        XCTAssertEqual(loaded(batch).hidden.scalars, expected)
        // A missing or bad exponent is refused, naming it.
        var entries = QuantizedCheckpoint.entries(of: model.parameters, linears: linears, powerGrid: linears)
        entries.removeAll { $0.name == "encoder.layer.1.output.dense.weight_exponent" }
        entries.append(.f32("encoder.layer.1.output.dense.weight_exponent", Tensor(shape: [1], scalars: [-1])))
        try SafeTensorsFile.write(entries, to: url)
        XCTAssertThrowsError(try Checkpoint.load(Transformer(Self.arch, seed: 9), from: try SafeTensorsFile(contentsOf: url))) {
            XCTAssertTrue("\($0)".contains("'encoder.layer.1.output.dense.weight_exponent' is not F32 [1] holding a positive finite exponent"), "\($0)")
        }
    }

    func testDamagedPackedWeightsAreRefusedNamingTheTensor() throws {
        let bias = SafeTensorsFile.Entry.f32("l.bias", Tensor(zeros: [2])), scale = SafeTensorsFile.Entry.f32("l.weight_scale", Tensor(shape: [2], scalars: [0.1, 0.2]))
        let packed = SafeTensorsFile.Entry.u8("l.weight", PackedCodes.pack([1, -2, 3, 0, 0, -3], rows: 2, cols: 3, bits: 3), shape: [2, 2])
        let three = SafeTensorsFile.Entry.u8("l.weight_bits", [3], shape: [1])
        XCTAssertNoThrow(try load([packed, scale, three, bias]))
        let cases: [([SafeTensorsFile.Entry], String)] = [
            ([packed, scale, bias], "'l.weight_bits' is missing"),
            ([packed, scale, .u8("l.weight_bits", [8], shape: [1]), bias], "'l.weight_bits' is U8 [1] holding 8, expected U8 [1] holding a bit width 2…7"),
            ([packed, scale, .i8("l.weight_bits", [3], shape: [1]), bias], "'l.weight_bits' is I8 [1], expected"),
            ([packed, three, bias], "'l.weight_scale' is missing"),
            ([.u8("l.weight", [0, 0, 0, 0, 0, 0], shape: [2, 3]), scale, three, bias], "tensor 'l.weight' has shape [2, 3], expected [2, 2]"),
            ([.u8("l.weight", [0b0011_1000, 0, 0, 0], shape: [2, 2]), scale, three, bias], "'l.weight' packs the field 7 at element 1"),
        ]
        for (entries, message) in cases {
            XCTAssertThrowsError(try load(entries), message) { XCTAssertTrue("\($0)".contains(message), "\($0) does not say \(message)") }
        }
    }

    func testQuantizedTeacherKeepsItsSentenceSimilarity() throws {
        guard let teacher = SafeTensorsTests.teacherDirectory() else {
            throw XCTSkip("MiniLM teacher not installed (set SWIFTNAS_TEACHER_DIR or run `make teacher`)")
        }
        // "A man is playing a guitar." and "Someone is playing an instrument." (BERT uncased ids), mean-pooled.
        let ids: [[Int32]] = [[101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102], [101, 2619, 2003, 2652, 2019, 6602, 1012, 102]]
        func similarity(_ model: Transformer) -> Float {
            let e = ids.map { row -> [Float] in
                let h = model(TokenBatch(ids: row, batchSize: 1, length: row.count)).hidden.mean(axes: [1]).scalars
                let n = h.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return h.map { $0 / n }
            }
            return zip(e[0], e[1]).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let (model, _, _) = try Checkpoint.loadTransformer(from: teacher)
        XCTAssertEqual(similarity(model), 0.6752, accuracy: 1e-3)
        for format in WeightQuantization.allCases {
            let (copy, _, _) = try Checkpoint.loadTransformer(from: teacher)
            copy.quantize(format)
            let dir = folder.appendingPathComponent("teacher-\(format.rawValue)")
            try Checkpoint.save(copy, to: dir)
            XCTAssertEqual(similarity(try Checkpoint.loadTransformer(from: dir).model), 0.6752, accuracy: 0.01, "\(format)")
        }
    }
}
