import Foundation
import NASModels
import NASTensor
import NASTrain

/// ENAS's alternation on shared weights (Pham et al., ICML 2018): every weight step trains one child the
/// controller samples (through the superposition's one-hot path, which is the plain sub-network), and
/// every `controllerEvery` steps a controller phase draws `controllerSteps` children, scores each on a
/// batch of the α split by ENAS's reward c / ppl = c·exp(−loss) (c = 80) and tells the controller
/// (`ENASController`: REINFORCE, optionally with its memory buffer). Children outside `maxParams` are not
/// drawn. The controller's history — every ask, and the fitness of every told child — travels in the
/// checkpoint and is replayed through a fresh controller on resume, so a resumed run continues bit for bit.
public final class ENASTraining {
    public let search: GradientSearch
    public let controller: ENASController
    public let controllerEvery: Int, controllerSteps: Int
    public let maxParams: Double?
    /// Asks (fitness nil: a weight step's child) and asks followed by a tell, in order.
    struct Event: Codable, Equatable {
        var genome: Genome
        var fitness: Double?
    }
    var events: [Event] = []

    public init(search: GradientSearch, controller: ENASController, controllerEvery: Int = 50, controllerSteps: Int = 20,
                maxParams: Double? = nil) {
        self.search = search; self.controller = controller
        self.controllerEvery = controllerEvery; self.controllerSteps = controllerSteps; self.maxParams = maxParams
        controller.reward = { 80 * Foundation.exp($0) }
        search.trainsAlpha = false
        search.attachment = (save: { [unowned self] in (try? JSONValue(encoding: self.events)) ?? .null },
                             restore: { [unowned self] in try self.replay($0) })
    }

    var space: SearchSpace { search.parameters.space }

    /// Whether the controller may propose `genome`: expressible by the superposition, inside the budget.
    func accept(_ genome: Genome) -> Bool {
        let arch = space.decode(genome)
        return search.parameters.choices(of: arch) != nil && Double(arch.parameterCount) <= (maxParams ?? .infinity)
    }

    /// The one-hot weights of `genome`'s architecture.
    func weights(_ genome: Genome) -> MixingWeights { .oneHot(search.parameters, search.parameters.choices(of: space.decode(genome))!) }

    /// The loss of `genome` on the α-split batch `key`, without graph or dropout.
    func alphaLoss(_ genome: Genome, key: Int) -> Double {
        var rng = RandomGenerator(seed: 0)
        return Double(Autograd.noGrad { search.superposition.loss(search.alphaBatch(step: key), weights: weights(genome), rng: &rng).item() })
    }

    /// One weight step (after a controller phase when one is due), for `Trainer.train`.
    public func step(_ step: Int, input: TokenBatch, tokens: Int, rng: inout RandomGenerator) throws -> Trainer.StepResult {
        var metrics: [String: Double] = [:]
        if step > 0 && step % controllerEvery == 0 {
            var losses: [Double] = []
            for i in 0..<controllerSteps {
                let genome = try controller.ask(accept: accept)
                let loss = alphaLoss(genome, key: (1 << 24) + step * controllerSteps + i)
                controller.tell(genome, fitness: [-loss])
                events.append(Event(genome: genome, fitness: -loss))
                losses.append(loss)
            }
            metrics["controller_loss"] = losses.reduce(0, +) / Double(losses.count)
            metrics["controller_baseline"] = controller.baseline ?? .nan
        }
        let child = try controller.ask(accept: accept)
        events.append(Event(genome: child, fitness: nil))
        search.fixed = search.parameters.choices(of: space.decode(child)).map { pick in
            Dictionary(uniqueKeysWithValues: search.parameters.dimensions.map { ($0, pick($0)) })
        }!
        var result = search.step(step, input: input, tokens: tokens, rng: &rng)
        result.metrics.merge(metrics) { a, _ in a }
        result.metrics["child_params"] = Double(space.decode(child).parameterCount)
        return result
    }

    /// Replays a checkpoint's history through this (fresh) controller.
    func replay(_ json: JSONValue) throws {
        let history: [Event]
        do { history = try json.decode([Event].self) } catch {
            throw SupernetError(field: "search state.attachment", message: "cannot read the controller's history: \(error)")
        }
        for event in history {
            let asked = try controller.ask(accept: accept)
            guard asked == event.genome else {
                throw SupernetError(field: "search state.attachment", message: "the controller's replay diverged; resume with the same options")
            }
            if let fitness = event.fitness { controller.tell(asked, fitness: [fitness]) }
        }
        events = history
    }

    /// ENAS's derivation: `samples` children of the trained controller, the best by `loss` (held-out).
    public func derive(samples: Int, loss: (MixingWeights) -> Double) throws -> (genome: Genome, loss: Double) {
        var best: (genome: Genome, loss: Double)?
        for _ in 0..<samples {
            let genome = try controller.ask(accept: accept), value = loss(weights(genome))
            if best == nil || value < best!.loss { best = (genome, value) }
        }
        return best!
    }
}
