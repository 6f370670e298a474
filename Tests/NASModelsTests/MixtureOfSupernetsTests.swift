import XCTest
@testable import NASModels
import NASTensor

/// Mixture-of-Supernets (`ExpertRouting`, `ArchitectureRouter`, routed `Linear`s): one expert is the plain
/// supernet, a one-hot router picks one expert exactly, collapsing equals routing, gradients reach the router.
final class MixtureOfSupernetsTests: XCTestCase {
    static let largest = Architecture(family: .decoder, vocabSize: 30, maxPositions: 8, hidden: 12,
                                      layers: [.init(heads: 3, qkv: 12, ffn: 24), .init(heads: 3, qkv: 12, ffn: 24)])
    static let member = Architecture(family: .decoder, vocabSize: 30, maxPositions: 8, hidden: 8,
                                     layers: [.init(heads: 2, qkv: 8, ffn: 16)])
    static let encoderLargest = Architecture.uniform(.encoder, vocabSize: 30, maxPositions: 8, hidden: 12, depth: 2, heads: 3, ffn: 24)
    static let encoderMember = Architecture.uniform(.encoder, vocabSize: 30, maxPositions: 8, hidden: 8, depth: 1, heads: 2, ffn: 12)

    /// Router weights scaled up so that α is far from uniform (a fresh router gives α ≈ 1/m), and experts
    /// made to differ (they start as copies of expert 0).
    func sharpen(_ model: Transformer, routerScale: Float = 40, seed: UInt64 = 21) {
        var rng = RandomGenerator(seed: seed)
        for block in model.blocks {
            for p in block.routers.flatMap(\.parameters) { p.value = p.value * routerScale }
            for p in (block.intermediate.experts + block.output.experts).flatMap(\.parameters) {
                p.value = Tensor.randomNormal(p.shape, std: 0.3, using: &rng)
            }
        }
    }

    /// Experts start as copies of the layer, so a fresh routed supernet computes what the plain one does.
    func testExpertsStartAsCopiesSoARoutedSupernetStartsAsThePlainOne() {
        let routed = Transformer(Self.largest, routing: ExpertRouting(experts: 3, granularity: .neuron), seed: 4)
        let block = routed.blocks[1]
        XCTAssertEqual(block.intermediate.experts.map(\.weight.name), ["h.1.mlp.c_fc.experts.1.weight", "h.1.mlp.c_fc.experts.2.weight"])
        for e in block.intermediate.experts { XCTAssertEqual(e.weight.value.scalars, block.intermediate.weight.value.scalars) }
        let plain = Transformer(Self.largest, seed: 1)
        let weights = routed.namedParameters
        for p in plain.parameters { p.value = weights[p.name]!.value }
        let x = batch(2, 6, vocab: 30, padLast: false)
        let a = routed(x, architecture: Self.member).hidden.scalars, b = plain(x, architecture: Self.member).hidden.scalars
        for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }

    func testOneExpertIsThePlainSupernet() {
        let plain = Transformer(Self.largest, seed: 4)
        let one = Transformer(Self.largest, routing: ExpertRouting(experts: 1), seed: 4)
        XCTAssertNil(one.routing)
        XCTAssertEqual(one.parameters.map(\.name), plain.parameters.map(\.name))
        let x = batch(2, 6, vocab: 30, padLast: false)
        for arch in [Self.largest, Self.member] {
            XCTAssertEqual(one(x, architecture: arch).hidden.scalars, plain(x, architecture: arch).hidden.scalars)
        }
    }

    /// With the router's last bias at ±60 the softmax is exactly (1, 0), so W = 1·E₀ + 0·E₁ = E₀ bit for bit,
    /// and the routed supernet runs exactly as a plain one holding E₀ (both granularities).
    func testAOneHotRouterReproducesThePlainSupernetBitForBit() throws {
        for granularity in ExpertRouting.Granularity.allCases {
            let routed = Transformer(Self.largest, routing: ExpertRouting(experts: 2, granularity: granularity, hidden: 5), seed: 8)
            sharpen(routed)
            for block in routed.blocks {
                for router in block.routers {
                    router.second.weight.value = Tensor(zeros: router.second.weight.shape)
                    let bias: [Float] = (0..<router.rows).flatMap { _ -> [Float] in [60, -60] }
                    router.second.bias!.value = Tensor(shape: [bias.count], scalars: bias)
                }
            }
            let plain = Transformer(Self.largest, seed: 1)
            let weights = routed.namedParameters
            for p in plain.parameters { p.value = try XCTUnwrap(weights[p.name], p.name).value }
            let x = batch(2, 6, vocab: 30, padLast: false)
            for arch in [Self.largest, Self.member] {
                XCTAssertEqual(routed(x, architecture: arch).hidden.scalars, plain(x, architecture: arch).hidden.scalars, "\(granularity)")
            }
        }
    }

    /// α is a distribution per row (neuron-wise: R rows of m), and differs between architectures.
    func testRouterGivesADistributionPerRowThatDependsOnTheArchitecture() {
        var rng = RandomGenerator(seed: 2)
        let router = ArchitectureRouter(experts: 3, rows: 5, hidden: 7, name: "r", rng: &rng)
        for p in router.parameters { p.value = p.value * 40 }
        let a = Autograd.noGrad { router(ExpertRouting.input(Self.largest, layer: 0, largest: Self.largest)) }
        let b = Autograd.noGrad { router(ExpertRouting.input(Self.member, layer: 0, largest: Self.largest)) }
        XCTAssertEqual(a.shape, [5, 3])
        for r in 0..<5 { XCTAssertEqual(a.scalars[(3 * r)..<(3 * r + 3)].reduce(0, +), 1, accuracy: 1e-6) }
        XCTAssertNotEqual(a.scalars, b.scalars)
        XCTAssertEqual(ExpertRouting.input(Self.member, layer: 0, largest: Self.largest), [8.0 / 12, 2.0 / 3, 16.0 / 24, 1.0 / 2])
    }

    /// The routed weight is Σ_k α_k ⊙ E_k[:o, :i] computed by hand, layer-wise and neuron-wise.
    func testRoutedWeightIsTheMixtureOfTheSlices() {
        var rng = RandomGenerator(seed: 5)
        let linear = Linear(4, 3, name: "l", rng: &rng)
        linear.addExperts(2)
        linear.experts[0].weight.value = Tensor.randomNormal([3, 4], using: &rng)
        linear.bias!.value = Tensor(shape: [3], scalars: [0.1, 0.2, 0.3])
        linear.experts[0].bias!.value = Tensor(shape: [3], scalars: [1, 2, 3])
        let e0 = linear.weight.value.scalars, e1 = linear.experts[0].weight.value.scalars
        let (o, i) = (2, 3)
        let layerWise = Tensor(shape: [1, 2], scalars: [0.25, 0.75])
        let neuronWise = Tensor(shape: [3, 2], scalars: [0.1, 0.9, 0.6, 0.4, 0.5, 0.5])
        for (routing, alpha) in [(layerWise, { (_: Int) in (Float(0.25), Float(0.75)) }),
                                 (neuronWise, { (r: Int) in (neuronWise.scalars[2 * r], neuronWise.scalars[2 * r + 1]) })] {
            let (w, b) = Autograd.noGrad { linear.routed(routing, out: o, in: i) }
            XCTAssertEqual(w.shape, [o, i])
            for r in 0..<o {
                let (a0, a1) = alpha(r)
                for c in 0..<i { XCTAssertEqual(w.scalars[r * i + c], a0 * e0[r * 4 + c] + a1 * e1[r * 4 + c], accuracy: 1e-7) }
                XCTAssertEqual(b!.scalars[r], a0 * [0.1, 0.2, 0.3][r] + a1 * [1, 2, 3][r], accuracy: 1e-7)
            }
        }
    }

    /// `extract` collapses the experts for the architecture: the plain model it returns computes what the
    /// routed supernet computes for that architecture (decoder and encoder, both granularities).
    func testCollapseThenRunEqualsRunWithTheRouter() {
        let cases = [(Self.largest, Self.member), (Self.encoderLargest, Self.encoderMember)]
        for (largest, member) in cases {
            for granularity in ExpertRouting.Granularity.allCases {
                let routed = Transformer(largest, routing: ExpertRouting(experts: 3, granularity: granularity, hidden: 6), seed: 11)
                sharpen(routed)
                let x = batch(2, 6, vocab: 30, padLast: largest.family == .encoder)
                for arch in [largest, member] {
                    let collapsed = routed.extract(arch)
                    XCTAssertNil(collapsed.routing)
                    XCTAssertTrue(collapsed.blocks.allSatisfy { $0.routers.isEmpty && $0.intermediate.experts.isEmpty })
                    let a = routed(x, architecture: arch).hidden.scalars, b = collapsed(x).hidden.scalars
                    XCTAssertEqual(a.count, b.count)
                    for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5, "\(largest.family) \(granularity)") }
                }
                // The collapse depends on the architecture: routed weights are not the plain expert 0.
                let w = routed.extract(largest).blocks[0].intermediate.weight.value.scalars
                XCTAssertNotEqual(w, routed.blocks[0].intermediate.weight.value.scalars)
            }
        }
    }

    /// Gradients reach every expert and the router, and match finite differences (neuron-wise, decoder).
    func testGradientsReachTheRouterAndMatchFiniteDifferences() {
        for granularity in ExpertRouting.Granularity.allCases {
            var rng = RandomGenerator(seed: 13)
            let model = Transformer(Self.largest, routing: ExpertRouting(experts: 2, granularity: granularity, hidden: 4), rng: &rng)
            for p in model.parameters where p.value.rank == 2 { p.value = p.value * 10 }
            sharpen(model, routerScale: 1)
            let y = batch(2, 6, vocab: 30, padLast: false)
            func loss() -> Tensor {
                var r = RandomGenerator(seed: 1)
                let h = model(y, architecture: Self.member, training: false, rng: &r).hidden
                return CausalLMHead.loss(h, batch: y, embeddings: model.wordEmbeddings)
            }
            model.zeroGrad()
            loss().backward()
            let block = model.blocks[0]
            for p in block.routers.flatMap(\.parameters) + block.intermediate.experts[0].parameters {
                XCTAssertTrue(p.grad.map { $0.scalars.contains { $0 != 0 } } ?? false, "\(p.name) gets no gradient")
            }
            checkModuleGradients(model) { loss() }
        }
    }
}
