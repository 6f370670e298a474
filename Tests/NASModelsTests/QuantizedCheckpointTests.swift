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
