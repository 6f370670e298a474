import Foundation
import XCTest
import NASModels
@testable import NASSearch
import NASTensor
import NASTrain

/// AutoDistil's parts: the partition of a space into K compact sub-spaces (automatic and from a file, with
/// errors that name the field), and the distillation objective — zero for the teacher's own weights, equal to
/// the relation KL of the extracted model, each member scored by its own sub-space's supernet.
final class AutoDistilTests: XCTestCase {
    /// AutoTinyBERT restricted to the MiniLM-L6 teacher's size: ≤ 6 layers, hidden and qkv ≤ 384, FFN ≤ 1536.
    static let teacherSized = SearchSpace(
        name: "autotinybert-minilm", family: .encoder, vocabSize: 30522, maxPositions: 512, depth: Array(1...6),
        hidden: Array(stride(from: 128, through: 384, by: 16)), layers: .shared, heads: Array(1...12),
        qkv: Array(stride(from: 180, through: 384, by: 12)), ffn: Array(stride(from: 128, through: 1536, by: 32)))

    static func cut(_ arch: Architecture, depth: Int) -> Architecture {
        var a = arch
        a.layers = Array(a.layers.prefix(depth))
        return a
    }

    func testAutomaticPartitionCutsEverySizeGeneIntoContiguousRuns() throws {
        let space = Self.teacherSized
        let partition = try SubspacePartition.partition(space, into: 3)
        XCTAssertEqual(partition.subspaces.count, 3)
        let parts = partition.subspaces
        // Hidden sizes: disjoint runs that cover the space's 17 sizes (5 + 6 + 6: run i is [⌊i·n/k⌋, ⌊(i+1)·n/k⌋)).
        XCTAssertEqual(parts.map(\.hidden.count), [5, 6, 6])
        XCTAssertEqual(parts.flatMap(\.hidden), space.hidden)
        XCTAssertEqual(parts.map(\.depth), [[1, 2], [3, 4], [5, 6]])
        for (a, b) in zip(parts, parts.dropFirst()) {
            XCTAssertLessThan(a.hidden.max()!, b.hidden.min()!)
            XCTAssertLessThan(a.qkv!.max()!, b.qkv!.min()!)
            XCTAssertLessThan(a.ffn!.max()!, b.ffn!.min()!)
            XCTAssertLessThan(a.largest.parameterCount, b.smallest.parameterCount, "small with small: the sizes do not overlap")
        }
        XCTAssertEqual(parts[0].heads, space.heads)
        // Every sampled member of sub-space i belongs to it alone, and to the whole space.
        var rng = RandomGenerator(seed: 5)
        for (i, part) in parts.enumerated() {
            for _ in 0..<20 {
                let arch = part.decode(part.sample(using: &rng))
                XCTAssertEqual(partition.subspace(holding: arch), i)
                XCTAssertNotNil(space.encode(arch))
            }
        }
        XCTAssertNil(partition.subspace(holding: Self.cut(space.largest, depth: 1)), "6 × 384 cut to one layer belongs to no sub-space")
        // A gene with fewer choices than sub-spaces: neighbours share a choice; too few hidden sizes: refused.
        let two = try SubspacePartition.partition(SupernetTests.encoderSpace, into: 2)
        XCTAssertEqual(two.subspaces.map(\.depth), [[1], [2]])
        XCTAssertThrowsError(try SubspacePartition.partition(SupernetTests.encoderSpace, into: 3)) { error in
            XCTAssertEqual((error as? SearchSpaceError)?.field, "hidden")
        }
        XCTAssertEqual(try SubspacePartition.partition(space, into: 1).subspaces.first?.hidden, space.hidden)
    }

    func testPartitionFilesRoundTripAndErrorsNameTheField() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("autodistil-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let partition = try SubspacePartition.partition(Self.teacherSized, into: 3)
        let file = folder.appendingPathComponent("p.json")
        try Data(try partition.json.serialized(pretty: true).utf8).write(to: file)
        XCTAssertEqual(try SubspacePartition.load(from: file), partition)

        func failure(_ text: String) -> SearchSpaceError? {
            try? Data(text.utf8).write(to: file)
            do { _ = try SubspacePartition.load(from: file); return nil } catch { return error as? SearchSpaceError }
        }
        let a = #"{"name": "a", "family": "encoder", "vocabSize": 10, "maxPositions": 8, "depth": [1], "hidden": [8, 16], "layers": "shared", "heads": [2], "ffn": [8]}"#
        let b = #"{"name": "b", "family": "encoder", "vocabSize": 10, "maxPositions": 8, "depth": [2], "hidden": [16, 24], "layers": "shared", "heads": [2], "ffn": [8]}"#
        let badHeads = #"{"name": "c", "family": "encoder", "vocabSize": 10, "maxPositions": 8, "depth": [2], "hidden": [24], "layers": "shared", "heads": [5], "ffn": [8]}"#
        let decoder = #"{"name": "d", "family": "decoder", "vocabSize": 10, "maxPositions": 8, "depth": [2], "hidden": [24], "layers": "shared", "heads": [2], "ffn": [8]}"#
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": [\#(a), \#(b)]}"#)?.field, "subspaces[1].hidden", "hidden 16 in both")
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": [\#(a), \#(badHeads)]}"#)?.field, "subspaces[1].hidden")
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": [\#(a), \#(decoder)]}"#)?.field, "subspaces[1]")
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": []}"#)?.field, "subspaces")
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": [\#(a)], "k": 3}"#)?.field, "k")
        XCTAssertEqual(failure(#"{"name": "p", "subspaces": [{"name": "x"}]}"#)?.field, "subspaces[0].family")
        XCTAssertNil(try SubspacePartition.partitionJSON(at: { try? Data(a.utf8).write(to: file); return file }()), "a plain space file")
    }

    // MARK: - The distillation objective

    /// A teacher with the largest member's own weights: the largest scores 0, every smaller member more; each
    /// score equals the relation KL of the member's extracted standalone model.
    func testDistillationObjectiveIsTheExtractedModelsRelationKL() throws {
        var rng = RandomGenerator(seed: 3)
        let space = SupernetTests.encoderSpace
        let net = try Supernet(space: space, rng: &rng)
        // Weights 20 times their initial scale: peaked attention, so that members' relations differ.
        for p in net.model.parameters { p.value = p.value * 20 }
        let teacher = net.model.extract(space.largest)
        let (input, _) = SupernetTests.encoderBatch()
        let objective = try DistillationObjective(supernets: [net], teacher: teacher, relationHeads: 2, input: input)
        XCTAssertEqual(objective.spec.name, "distillation")
        XCTAssertFalse(objective.spec.maximize)
        XCTAssertEqual(try objective.evaluate(space.largest), 0, accuracy: 1e-6)
        let t = teacher(input).layers.last!.attention!
        var scored = 0
        for genome in (0..<16).map({ i in (0..<4).map { (i >> $0) & 1 } }) {
            let arch = space.decode(space.repaired(genome))
            guard arch != space.largest else { continue }
            let s = net.extract(arch).model(input).layers.last!.attention!
            let reference = Double(Distillation.attentionRelationKL(student: (s.q, s.k, s.v), teacher: (t.q, t.k, t.v), relationHeads: 2,
                                                                    mask: input.attentionMask).item())
            let value = try objective.evaluate(arch)
            XCTAssertEqual(value, reference, accuracy: 1e-5 * max(1, reference))
            XCTAssertGreaterThan(value, 1e-4, "\(arch) differs from the teacher")
            scored += 1
        }
        XCTAssertGreaterThan(scored, 5)
        // Not a member: an error naming the supernet's space.
        XCTAssertThrowsError(try objective.evaluate({ var a = space.largest; a.hidden = 20; return a }())) { error in
            XCTAssertTrue("\(error)".contains("tiny-encoder"), "\(error)")
        }
    }

    /// Sub-space supernets: each member is scored by the supernet of its own sub-space (the same value as that
    /// supernet alone gives), and a member of no sub-space fails.
    func testEachMemberIsScoredByItsSubspacesSupernet() throws {
        let partition = try SubspacePartition.partition(SupernetTests.encoderSpace, into: 2)
        var rng = RandomGenerator(seed: 4)
        let nets = try partition.subspaces.map { try Supernet(space: $0, rng: &rng) }
        let teacher = nets[1].model.extract(nets[1].largest)
        let (input, _) = SupernetTests.encoderBatch()
        let both = try DistillationObjective(supernets: nets, teacher: teacher, relationHeads: 2, input: input)
        for (i, part) in partition.subspaces.enumerated() {
            let alone = try DistillationObjective(supernets: [nets[i]], teacher: teacher, relationHeads: 2, input: input)
            for arch in [part.smallest, part.largest] {
                XCTAssertTrue(try both.supernet(for: arch) === nets[i])
                XCTAssertEqual(try both.evaluate(arch), try alone.evaluate(arch))
            }
        }
        XCTAssertEqual(try both.evaluate(nets[1].largest), 0, accuracy: 1e-6)
        // Depth 1 at hidden 12 is in sub-space 2's supernet's reach, but in neither sub-space.
        let outside = Self.cut(partition.subspaces[1].smallest, depth: 1)
        XCTAssertNil(partition.subspace(holding: outside))
        XCTAssertThrowsError(try both.evaluate(outside))
        // A relation-head count that does not divide the teacher's last qkv is refused.
        XCTAssertThrowsError(try DistillationObjective(supernets: nets, teacher: teacher, relationHeads: 5, input: input))
    }
}
