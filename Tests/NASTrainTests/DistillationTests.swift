import XCTest
@testable import NASModels
@testable import NASTrain
import NASTensor

final class DistillationTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor.randomNormal(shape, using: &rng) * scale
    }

    /// Central finite differences of a scalar loss with respect to one leaf.
    func checkGradient(_ x: Tensor, tolerance: Float = 2e-2, _ f: (Tensor) -> Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let leaf = Parameter(x, name: "x")
        f(leaf.tensor).backward()
        let analytic = leaf.grad!.scalars
        let eps: Float = 1e-2
        for i in stride(from: 0, to: x.count, by: max(1, x.count / 12)) {
            var plus = x.scalars, minus = x.scalars
            plus[i] += eps; minus[i] -= eps
            let numeric = Autograd.noGrad { (f(Tensor(shape: x.shape, scalars: plus)).item() - f(Tensor(shape: x.shape, scalars: minus)).item()) / (2 * eps) }
            XCTAssertEqual(analytic[i], numeric, accuracy: tolerance * max(1, abs(numeric)), "element \(i)", file: file, line: line)
        }
    }

    func testLossesAreZeroWhenTheStudentIsTheTeacher() {
        let h = random([2, 5, 8], seed: 1)
        XCTAssertEqual(Distillation.hiddenMSE(student: h, teacher: h, projection: nil).item(), 0)
        let q = random([2, 4, 5, 6], seed: 2), k = random([2, 4, 5, 6], seed: 3), v = random([2, 4, 5, 6], seed: 4)
        let mask: [Float] = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]
        XCTAssertEqual(Distillation.attentionRelationKL(student: (q, k, v), teacher: (q, k, v), relationHeads: 3, mask: mask).item(),
                       0, accuracy: 1e-6)
        let logits = random([4, 3], seed: 5)
        XCTAssertEqual(Distillation.softLabelLoss(student: logits, teacher: logits, temperature: 2).item(), 0, accuracy: 1e-6)
        // Different students: positive.
        XCTAssertGreaterThan(Distillation.hiddenMSE(student: h * 1.1, teacher: h, projection: nil).item(), 0)
        XCTAssertGreaterThan(Distillation.attentionRelationKL(student: (k, q, v), teacher: (q, k, v), relationHeads: 3).item(), 1e-3)
    }

    /// The distiller's teacher is a constant: its losses back-propagate into the student (and the projection) only,
    /// and equal the losses computed from a direct teacher pass; a second batch gets its own teacher pass.
    func testDistillerSendsNoGradientIntoTheTeacher() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("distiller-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        var rng = RandomGenerator(seed: 7)
        let teacherArch = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12, layers: [.init(heads: 2, qkv: 12, ffn: 16)])
        try Checkpoint.save(Transformer(teacherArch, rng: &rng), to: folder)
        let studentArch = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8, layers: [.init(heads: 2, qkv: 8, ffn: 8)])
        let student = Transformer(studentArch, rng: &rng)
        let distiller = try Distiller(teacher: folder.path, student: studentArch, vocabulary: folder.appendingPathComponent("vocab.txt"),
                                      relationHeads: nil, rng: &rng)
        let first: [Int32] = (0..<16).map { Int32($0 % 13) }, second: [Int32] = (0..<16).map { Int32((3 * $0 + 1) % 13) }
        for (n, ids) in [first, second].enumerated() {
            let input = TokenBatch(ids: ids, batchSize: 2, length: 8)
            let (hidden, relations) = distiller.losses(student: student(input, training: false, rng: &rng), input: input)
            let total: Tensor = hidden + relations
            total.backward()
            XCTAssertTrue(distiller.teacher.parameters.allSatisfy { $0.grad == nil }, "batch \(n): a gradient reached the teacher")
            XCTAssertTrue(distiller.projection!.weight.grad != nil && student.parameters.contains { $0.grad != nil })
            let t = Autograd.noGrad { distiller.teacher(input) }, out = student(input)
            let a = out.layers.last!.attention!, b = t.layers.last!.attention!
            XCTAssertEqual(relations.item(), Distillation.attentionRelationKL(student: (a.q, a.k, a.v), teacher: (b.q, b.k, b.v),
                                                                              relationHeads: 2, mask: nil).item(), accuracy: 1e-6)
            XCTAssertEqual(hidden.item(), Distillation.hiddenMSE(student: out.hidden, teacher: t.hidden, projection: distiller.projection).item(),
                           accuracy: 1e-6)
            for p in student.parameters + distiller.projection!.parameters { p.zeroGrad() }
        }
    }

    /// By hand: teacher logits (0, 0), student (ln 3, 0), T = 1 → p_T = (½, ½), p_S = (¾, ¼),
    /// KL = ½ ln(½/¾) + ½ ln(½/¼) = 0.1438410; with T = 2 the logits halve: p_S ∝ (√3, 1) and the loss is
    /// 4 · [½ ln(½ / (√3/(1+√3))) + ½ ln(½ / (1/(1+√3)))] = 4 · 0.0358983 = 0.1435932.
    func testSoftLabelLossByHand() {
        let teacher = Tensor(shape: [1, 2], scalars: [0, 0]), student = Tensor(shape: [1, 2], scalars: [Float(Foundation.log(3.0)), 0])
        XCTAssertEqual(Distillation.softLabelLoss(student: student, teacher: teacher).item(), 0.1438410, accuracy: 1e-6)
        let s3 = 3.0.squareRoot(), pS = [s3 / (1 + s3), 1 / (1 + s3)]
        let expected = 4 * (0.5 * Foundation.log(0.5 / pS[0]) + 0.5 * Foundation.log(0.5 / pS[1]))
        XCTAssertEqual(Double(Distillation.softLabelLoss(student: student, teacher: teacher, temperature: 2).item()), expected, accuracy: 1e-6)
        // Regression heads: the mean squared difference.
        XCTAssertEqual(Distillation.softLabelLoss(student: Tensor(shape: [2, 1], scalars: [1, 3]),
                                                  teacher: Tensor(shape: [2, 1], scalars: [0, 1])).item(), 2.5)
    }

    /// Re-splitting heads: [B, 2 heads, T, 2] → 1 relation head of 4 is the heads side by side; the
    /// relation of one row by hand.
    func testRelationHeadsResplitAndRelationByHand() {
        let x = Tensor(shape: [1, 2, 2, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8])   // head 0 rows (1,2),(3,4); head 1 (5,6),(7,8)
        XCTAssertEqual(Distillation.resplit(x, heads: 1).contiguous().scalars, [1, 2, 5, 6, 3, 4, 7, 8])
        // Row 0 of the relation: scores (a0·a0, a0·a1)/√4 with a0 = (1,2,5,6), a1 = (3,4,7,8): (66, 94)/2.
        let log = Distillation.logRelations(x, heads: 1, mask: nil)
        let a = 33.0, b = 47.0, lse = b + Foundation.log(1 + Foundation.exp(a - b))
        XCTAssertEqual(Double(log.scalars[0]), a - lse, accuracy: 1e-4)
        XCTAssertEqual(Double(log.scalars[1]), b - lse, accuracy: 1e-4)
    }

    func testGradientsByFiniteDifferences() {
        let t = random([2, 4, 8], seed: 6)
        var rng = RandomGenerator(seed: 7)
        let projection = Linear(6, 8, name: "p", rng: &rng)
        checkGradient(random([2, 4, 6], seed: 8)) { Distillation.hiddenMSE(student: $0, teacher: t, projection: projection, mask: [1, 1, 1, 0, 1, 1, 0, 0]) }
        let q = random([1, 2, 4, 6], seed: 9), k = random([1, 2, 4, 6], seed: 10), v = random([1, 2, 4, 6], seed: 11)
        checkGradient(random([1, 3, 4, 4], seed: 12)) { sq in
            Distillation.attentionRelationKL(student: (sq, k, v), teacher: (q, k, v), relationHeads: 2, mask: [1, 1, 1, 0])
        }
        let teacher = random([3, 4], seed: 13)
        checkGradient(random([3, 4], seed: 14)) { Distillation.softLabelLoss(student: $0, teacher: teacher, temperature: 2) }
    }
}
