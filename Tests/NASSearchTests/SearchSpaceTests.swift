import Foundation
import XCTest
@testable import NASModels
@testable import NASSearch
import NASTensor

final class SearchSpaceTests: XCTestCase {
    let builtins = SearchSpace.builtinNames.map { SearchSpace.builtin($0)! }

    func testBuiltinSpacesAreValidAndDescribeThePapers() throws {
        for space in builtins { XCTAssertNoThrow(try space.validate(), space.name) }
        let atb = SearchSpace.autoTinyBERT
        XCTAssertEqual(atb.depth, Array(1...8))
        XCTAssertEqual(atb.hidden.first, 128); XCTAssertEqual(atb.hidden.last, 768); XCTAssertEqual(atb.hidden.count, 41)
        XCTAssertEqual(atb.ffn!.count, (3072 - 128) / 32 + 1)
        XCTAssertEqual(atb.qkv!.count, (768 - 180) / 12 + 1)
        XCTAssertEqual(atb.genes.count, 5, "homogeneous: depth, hidden and one shared set of heads, qkv, ffn")
        // W-PCA: 12 layers × 12 blocks; the largest is above the 15.7M budget, the smallest below.
        let w = SearchSpace.wPCA
        XCTAssertEqual(w.genes.count, 2 + 12)
        XCTAssertEqual(w.size, pow(12.0, 12), accuracy: 1)
        let largest = w.decode([0, 0] + Array(repeating: 5, count: 12)), smallest = w.decode([0, 0] + Array(repeating: 6, count: 12))
        XCTAssertEqual(largest.layers[0], Architecture.Layer(heads: 12, qkv: 528, ffn: 792))
        XCTAssertEqual(smallest.layers[0], Architecture.Layer(heads: 12, qkv: 132, ffn: 132, bottleneck: 132))
        XCTAssertEqual(largest.embeddingSize, 128)
        XCTAssertGreaterThan(largest.parameterCount, 15_700_000)
        XCTAssertLessThan(smallest.parameterCount, 15_700_000)
        // A bottleneck member's count is the model's.
        XCTAssertEqual(Transformer(smallest, seed: 1).parameterElementCount, smallest.parameterCount)
        // TangleNAS: per-layer heads and MLP ratio; FFN = ratio × embedding.
        let t = SearchSpace.tangleNASShakespeare
        let arch = t.decode([2, 1] + (0..<6).flatMap { [$0 % 3, 2 - $0 % 3] })
        XCTAssertEqual(arch.depth, 6); XCTAssertEqual(arch.hidden, 192)
        XCTAssertEqual(arch.layers.map(\.heads), [2, 4, 6, 2, 4, 6])
        XCTAssertEqual(arch.layers.map(\.ffn), [4, 3, 2, 4, 3, 2].map { $0 * 192 })
        XCTAssertEqual(arch.family, .decoder)
        // FlexiBERT: embeddings 128 projected only when hidden is 256, FFN repeated ffnCount times.
        let f = SearchSpace.flexiBERT
        let small = f.decode([0, 0] + Array(repeating: 0, count: 4 * 4))
        XCTAssertNil(small.embeddingSize)
        var g = [1, 1] + Array(repeating: 0, count: 4 * 4)
        g[2 + 0] = 4; g[2 + 3] = 1   // layer 0: conv5, ffnCount 3
        let big = f.decode(g)
        XCTAssertEqual(big.embeddingSize, 128)
        XCTAssertEqual(big.layers[0].operation, .dynamicConv(kernel: 5))
        XCTAssertEqual(big.layers[0].ffnStack, [512, 512])
    }

    /// Sample, mutate, step-mutate and crossover only ever give members of the space: valid genomes
    /// whose architectures validate, encode back to themselves, and respect heads | qkv.
    func testOperatorsStayInsideTheSpace() throws {
        var rng = RandomGenerator(seed: 7)
        for space in builtins {
            var pool = (0..<6).map { _ in space.sample(using: &rng) }
            for step in 0..<150 {
                let a = pool[Int(rng.next() % UInt64(pool.count))], b = pool[Int(rng.next() % UInt64(pool.count))]
                let child: Genome
                switch step % 3 {
                case 0: child = space.mutate(a, probability: 0.3, using: &rng)
                case 1: child = space.stepMutate(a, probability: 0.3, using: &rng)
                default: child = space.crossover(a, b, using: &rng)
                }
                XCTAssertTrue(space.contains(child), "\(space.name): \(child)")
                let arch = space.decode(child)
                XCTAssertNoThrow(try arch.validate(), space.name)
                for l in arch.layers { XCTAssertEqual(l.qkv % l.heads, 0, space.name) }
                let back = try XCTUnwrap(space.encode(arch), "\(space.name): encode(decode(g)) is nil")
                XCTAssertEqual(space.decode(back), arch, space.name)
                pool[step % pool.count] = child
            }
        }
        // AutoTinyBERT's ranges and steps.
        for _ in 0..<200 {
            let arch = SearchSpace.autoTinyBERT.decode(SearchSpace.autoTinyBERT.sample(using: &rng))
            XCTAssertTrue((1...8).contains(arch.depth))
            XCTAssertTrue(arch.hidden % 16 == 0 && (128...768).contains(arch.hidden))
            let l = arch.layers[0]
            XCTAssertTrue(l.ffn % 32 == 0 && (128...3072).contains(l.ffn))
            XCTAssertTrue((l.qkv - 180) % 12 == 0 && (180...768).contains(l.qkv))
            XCTAssertTrue((1...12).contains(l.heads))
            XCTAssertTrue(arch.layers.allSatisfy { $0 == l }, "homogeneous")
        }
    }

    func testMutationAndCrossoverSemantics() {
        let space = SearchSpace.wPCA   // no repair: genes are independent
        var rng = RandomGenerator(seed: 3)
        let a = space.sample(using: &rng), b = space.sample(using: &rng)
        XCTAssertEqual(space.mutate(a, probability: 0, using: &rng), a)
        let all = space.mutate(a, probability: 1, using: &rng)
        for k in 2..<a.count { XCTAssertNotEqual(all[k], a[k], "p = 1 resamples every multi-choice gene to another choice") }
        XCTAssertEqual(Array(all[0..<2]), [0, 0], "single-choice genes cannot change")
        for _ in 0..<20 {
            let s = space.stepMutate(a, probability: 0.5, using: &rng)
            for k in a.indices { XCTAssertLessThanOrEqual(abs(s[k] - a[k]), 1) }
            let c = space.crossover(a, b, using: &rng)
            for k in a.indices { XCTAssertTrue(c[k] == a[k] || c[k] == b[k]) }
        }
        // Repair: 8 heads do not divide qkv 180; of the choices that do (… 5, 6, 9, 10, 12) the nearest by
        // index is 9 (distance 1; 7 does not divide 180).
        let atb = SearchSpace.autoTinyBERT
        let repaired = atb.repaired([0, 0, 7, 0, 0])   // heads index 7 = 8 heads, qkv index 0 = 180
        XCTAssertEqual(atb.heads![repaired[2]], 9)
        XCTAssertEqual(atb.repaired([0, 0, 5, 0, 0]), [0, 0, 5, 0, 0], "6 heads divide 180")
    }

    func testEncodeRefusesArchitecturesOutsideTheSpace() {
        let atb = SearchSpace.autoTinyBERT
        let inside = Architecture.uniform(.encoder, vocabSize: 30522, hidden: 256, depth: 4, heads: 4, qkv: 264, ffn: 1024)
        XCTAssertNotNil(atb.encode(inside))
        XCTAssertNil(atb.encode(Architecture.uniform(.encoder, vocabSize: 30522, hidden: 250, depth: 4, heads: 4, qkv: 264, ffn: 1024)))
        XCTAssertNil(atb.encode(Architecture.uniform(.encoder, vocabSize: 30522, hidden: 256, depth: 9, heads: 4, qkv: 264, ffn: 1024)))
        var mixed = inside
        mixed.layers[1].ffn = 512
        XCTAssertNil(atb.encode(mixed), "a shared-genes space holds homogeneous networks only")
        XCTAssertNil(atb.encode(Architecture.uniform(.decoder, vocabSize: 30522, hidden: 256, depth: 4, heads: 4, qkv: 264, ffn: 1024)))
    }

    // MARK: - Files

    func testJSONRoundTripOfEveryBuiltin() throws {
        for space in builtins {
            XCTAssertEqual(try SearchSpace(json: space.json, path: "x"), space, space.name)
        }
    }

    func testSpaceFileWithRangesLoads() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("space-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("""
            {"name": "mine", "family": "decoder", "vocabSize": 100, "maxPositions": 64,
             "depth": {"min": 2, "max": 6, "step": 2}, "hidden": [32, 64], "layers": "per-layer",
             "heads": [2, 4], "ffnRatio": [2, 4], "operation": ["sdp", "wma"]}
            """.utf8).write(to: url)
        let space = try SearchSpace.load(from: url)
        XCTAssertEqual(space.depth, [2, 4, 6])
        XCTAssertEqual(space.genes.count, 2 + 6 * 3)
        var rng = RandomGenerator(seed: 1)
        let arch = space.decode(space.sample(using: &rng))
        XCTAssertEqual(arch.family, .decoder)
        XCTAssertNoThrow(try arch.validate())
    }

    /// Fuzz finding (fuzz-space, timeout): a range was expanded before its size was known, so a depth of
    /// up to 84294967296 spun (and would have allocated) for ever. Now refused with the field named.
    func testHugeRangeIsRefusedBeforeItIsExpanded() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("space-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("""
            {"name": "my-space", "family": "encoder", "vocabSize": 30522, "maxPositions": 512,
             "depth": {"min": 1, "max": 84294967296}, "hidden": {"min": 128, "max": 768, "ste[": 16},
             "layers": "shared", "heads": [0, 2, 4, 8], "qkv": {"min": 128, "max": 512, "step": 64},
             "ffn": {"min": 256, "max": 2048, ".step": 128}}
            """.utf8).write(to: url)
        XCTAssertThrowsError(try SearchSpace.load(from: url)) { error in
            let e = error as? SearchSpaceError
            XCTAssertEqual(e?.field, "depth", "\(error)")
            XCTAssertTrue("\(error)".contains("84294967296 choices, expected at most 4096"), "\(error)")
        }
        let ok = #"{"name": "s", "family": "encoder", "vocabSize": 100, "maxPositions": 64, "depth": [1], "layers": "shared", "#
            + #""heads": [1], "ffn": [64], "hidden": {"min": 1, "max": 4096}}"#
        XCTAssertEqual(try SearchSpace(json: try JSONValue(parsing: ok), path: "x").hidden.count, 4096)
        let tooMany = ok.replacingOccurrences(of: "4096", with: "4097")
        XCTAssertThrowsError(try SearchSpace(json: try JSONValue(parsing: tooMany), path: "x")) {
            XCTAssertEqual(($0 as? SearchSpaceError)?.field, "hidden", "\($0)")
        }
        let stepped = tooMany.replacingOccurrences(of: "4097}", with: "8000, \"step\": 2}")
        XCTAssertNoThrow(try SearchSpace(json: try JSONValue(parsing: stepped), path: "x"))
    }

    func testBadSpaceFilesNameTheFieldAndTheAllowedValues() {
        let base = """
            "name": "s", "family": "encoder", "vocabSize": 100, "maxPositions": 64, "depth": [1, 2], "hidden": [32], "layers": "shared"
            """
        func error(_ body: String) -> String {
            do {
                _ = try SearchSpace(json: try JSONValue(parsing: "{" + body + "}"), path: "my.json")
                return "no error"
            } catch { return "\(error)" }
        }
        func check(_ body: String, _ parts: [String], line: UInt = #line) {
            let e = error(body)
            for p in parts { XCTAssertTrue(e.contains(p), "'\(p)' not in: \(e)", line: line) }
        }
        check(base + #", "heads": [4], "ffn": [64], "colour": 1"#, ["my.json", "'colour'", "unknown field", "allowed:"])
        check(base + #", "heads": [5], "ffn": [64]"#, ["'hidden'", "32 is divisible by no choice of heads [5]"])
        check(base + #", "heads": [4], "qkv": [30, 32], "ffn": [64]"#, ["'qkv'", "30 is divisible by no choice"])
        check(base + #", "heads": [4], "ffn": {"min": 64, "max": 32}"#, ["'ffn'", "min 64 is larger than max 32"])
        check(base + #", "heads": [4], "ffn": [64, 0]"#, ["'ffn[1]'", "positive integer"])
        check(base + #", "heads": [4]"#, ["'ffn'", "missing"])
        check(base + #", "heads": [4], "ffn": [64], "ffnRatio": [2]"#, ["'ffnRatio'", "either"])
        check(base + #", "heads": [4], "ffn": [64], "operation": ["sdp", "lstm"]"#, ["'operation[1]'", "\"sdp\", \"wma\""])
        check(base.replacingOccurrences(of: "\"encoder\"", with: "\"decoder\"") + #", "heads": [4], "ffn": [64], "operation": ["dft"]"#,
              ["'operation[0]'", "decoders take"])
        check(base.replacingOccurrences(of: "\"shared\"", with: "\"mixed\"") + #", "heads": [4], "ffn": [64]"#,
              ["'layers'", "\"shared\", \"per-layer\""])
        check(base + #", "blocks": [{"heads": 4, "ffn": 64}], "heads": [4]"#, ["'heads'", "cannot be combined with \"blocks\""])
        check(base + #", "blocks": [{"heads": 4, "ffn": 64, "width": 3}]"#, ["'blocks[0].width'", "allowed: heads, qkv"])
        check(#""name": "s", "family": "encoder", "layers": "shared", "depth": [1], "hidden": [32]"#, ["'vocabSize'", "missing"])
        check(base.replacingOccurrences(of: "\"hidden\": [32]", with: "\"hidden\": [36, 32]") + #", "blocks": [{"heads": 12, "ffn": 64}]"#,
              ["'blocks[0]'", "hidden 32", "not divisible by heads = 12"])
        check(#""name": "s", "family": "encoder""#, ["'layers'", "missing"])
        XCTAssertThrowsError(try SearchSpace.load(from: URL(fileURLWithPath: "/nonexistent/space.json"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/space.json"))
        }
    }
}
