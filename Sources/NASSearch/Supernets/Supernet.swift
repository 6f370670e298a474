import Foundation
import NASModels
import NASTensor

/// Why a supernet cannot be built, loaded or used; names the file (when there is one) and the field.
public struct SupernetError: Error, CustomStringConvertible {
    public var path: String?
    public var field: String
    public var message: String
    public init(path: String? = nil, field: String, message: String) {
        self.path = path; self.field = field; self.message = message
    }
    public var description: String { (path.map { "\($0): " } ?? "") + "\(field): \(message)" }
}

/// A weight-entangled supernet of a search space (one-shot NAS): one `Transformer` built at the space's
/// largest member, and its language-model head (masked LM for encoder spaces; decoders use the tied
/// embedding). Every member of the space runs as the leading slices of these weights — the first
/// layers, the first heads, the leading hidden/qkv/FFN units — so training any sub-network trains the
/// shared blocks of all, and a sub-network is scored with its inherited weights without retraining
/// (AutoTinyBERT's SuperPLM, Yin et al., ACL 2021; BigNAS, Yu et al., ECCV 2020). When the space's
/// layers choose among operations (FlexiBERT), every layer holds one mixer per operation, sharing
/// nothing across operations (`OperationChoices`); the FFN, LayerNorms and embeddings stay shared.
///
/// A Mixture-of-Supernets supernet (`ExpertRouting`: m FFN experts per layer, mixed by an architecture
/// router) trains the same way; `extract` collapses its experts, so what ships is a plain transformer.
///
/// Checkpoints are training checkpoints (`TrainingCheckpoint`) whose config.json `swiftnas_task` is
/// `{"kind": "supernet", "objective": "mlm"|"causal", "space": {…}, "rule": NAME, "ruleState": {…}}`,
/// plus `"routing": {"experts": m, "granularity": "layer"|"neuron", "hidden": H}` for a routed one.
public final class Supernet {
    public let space: SearchSpace
    public let model: Transformer
    /// The masked-LM head (encoder spaces); nil for decoders.
    public let head: MaskedLMHead?

    /// Modules trained and checkpointed with the backbone.
    public var modules: [Module] { head.map { [$0] } ?? [] }
    public var largest: Architecture { model.maxArchitecture }
    public var objectiveName: String { space.family == .encoder ? "mlm" : "causal" }

    /// A fresh supernet of `space`, initialised from `rng`. Fails when some member of the space cannot be
    /// a leading slice of the largest (W-PCA's block choices share no weights here).
    public init(space: SearchSpace, routing: ExpertRouting? = nil, rng: inout RandomGenerator) throws {
        try Self.checkCoverage(space)
        self.space = space
        model = Transformer(space.largest, choices: space.operationChoices, routing: routing, rng: &rng)
        head = space.family == .encoder ? MaskedLMHead(space.largest, rng: &rng) : nil
    }

    init(space: SearchSpace, model: Transformer, head: MaskedLMHead?) {
        self.space = space; self.model = model; self.head = head
    }

    /// Every member must fit in the largest: each head count that some width of the space admits must not
    /// exceed the largest's (the largest's heads may be repaired down), and the smallest and 256 seeded
    /// samples are checked whole (operations and block kinds).
    public static func checkCoverage(_ space: SearchSpace) throws {
        let largest = space.largest
        if let heads = space.heads {
            let widths = space.qkv ?? space.hidden
            let most = largest.layers.map(\.heads).min() ?? 0
            if let h = heads.filter({ h in widths.contains { $0 % h == 0 } }).max(), h > most {
                throw SupernetError(field: "space \(space.name)", message: "members may have \(h) heads, but the largest member's widths "
                    + "admit only \(most); make the largest width divisible by the largest head count")
            }
        }
        var rng = RandomGenerator(seed: 0xC0FE)
        let members = [space.smallest] + (0..<256).map { _ in space.decode(space.sample(using: &rng)) }
        for arch in members where !arch.fits(in: largest, choices: space.operationChoices) {
            let ops = Set(arch.layers.map(\.operation.description)).sorted().joined(separator: ", ")
            throw SupernetError(field: "space \(space.name)", message: "the member with \(arch.depth) layers, hidden \(arch.hidden) "
                + "(operations \(ops)) is not a leading slice of the largest member; SwiftNAS supernets entangle widths, "
                + "heads and depth and hold each operation choice apart, so every layer choice must keep one block kind, "
                + "within the largest's sizes")
        }
    }

    /// The LM logits [N, V] of a forward pass of `arch` and their labels: encoders at the masked positions
    /// (`targets` ≠ −100), decoders at every position (next token; −100 at each window's end).
    public func logits(_ out: Transformer.Output, architecture arch: Architecture, input: TokenBatch,
                       targets: [Int32]?) -> (logits: Tensor, labels: [Int32]) {
        let hidden = out.hidden.reshaped([-1, out.hidden.shape.last!])
        if let head {
            guard let targets else { preconditionFailure("Supernet: masked-LM logits need targets") }
            let rows = targets.indices.filter { targets[$0] != -100 }
            let picked = hidden.gather(rows: rows.map { Int32($0) })
            return (head(picked, embeddings: model.wordEmbeddings, embeddingWidth: arch.embeddingWidth), rows.map { targets[$0] })
        }
        return (CausalLMHead.logits(hidden, embeddings: model.wordEmbeddings), CausalLMHead.targets(input))
    }

    /// The LM loss of `arch` with inherited weights on a batch (eval mode, no graph): the mean
    /// cross-entropy of the masked positions (encoders) or of the next tokens (decoders).
    public func loss(of arch: Architecture, input: TokenBatch, targets: [Int32]?) throws -> Double {
        try evaluation(of: arch, input: input, targets: targets).loss
    }

    /// `loss(of:input:targets:)` with the number of tokens it averages over (to pool several batches).
    public func evaluation(of arch: Architecture, input: TokenBatch, targets: [Int32]?) throws -> (loss: Double, tokens: Int) {
        guard model.holds(arch) else {
            throw SupernetError(field: "architecture", message: "\(arch.depth) layers, hidden \(arch.hidden) is not a sub-network of the supernet "
                + "(largest: \(largest.depth) layers, hidden \(largest.hidden))")
        }
        return Autograd.noGrad {
            let (logits, labels) = self.logits(model(input, architecture: arch), architecture: arch, input: input, targets: targets)
            return (Double(logits.crossEntropy(targets: labels).item()), labels.filter { $0 != -100 }.count)
        }
    }

    /// A standalone model of `arch` with copies of its inherited weights (and head), equal to the slice.
    public func extract(_ arch: Architecture) -> (model: Transformer, head: MaskedLMHead?) {
        let model = self.model.extract(arch)
        let head = self.head.map { h -> MaskedLMHead in
            var rng = RandomGenerator(seed: 0)
            let small = MaskedLMHead(arch, rng: &rng)
            small.loadLeadingSlices(from: h)
            return small
        }
        return (model, head)
    }

    // MARK: - Checkpoints

    /// The `swiftnas_task` of a checkpoint of this supernet trained by `rule`.
    public func task(rule: SamplingRule) -> JSONValue {
        var task: [String: JSONValue] = ["kind": .string("supernet"), "objective": .string(objectiveName), "space": space.json,
                                         "rule": .string(rule.name), "ruleState": rule.state]
        if let routing = model.routing { task["routing"] = try? JSONValue(encoding: routing) }
        return .object(task)
    }

    /// What a supernet checkpoint's config.json says of it.
    public struct Stored {
        public var space: SearchSpace
        /// The sampling rule that trained it; nil for a supernet trained by gradient search (`search`).
        public var rule: SamplingRuleKind?
        public var ruleState: JSONValue
        /// A gradient search's sampler and state (`GradientSearch.task`).
        public var search: JSONValue?
        /// The FFN expert routing of a Mixture-of-Supernets supernet (nil: plain).
        public var routing: ExpertRouting?
    }

    /// Reads `swiftnas_task` of a supernet checkpoint folder.
    public static func stored(in folder: URL) throws -> Stored {
        let url = folder.appendingPathComponent("config.json")
        let path = url.path
        let json: JSONValue
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        do { json = try JSONValue(parsing: try Data(contentsOf: url)) } catch {
            throw SupernetError(path: path, field: "config.json", message: "cannot read it (\(error))")
        }
        guard case .object(let config) = json, case .object(let task)? = config["swiftnas_task"],
              case .string("supernet")? = task["kind"] else {
            throw SupernetError(path: path, field: "swiftnas_task.kind", message: "expected \"supernet\": this is not a supernet checkpoint "
                + "(train one with `swiftnas supernet train`)")
        }
        guard let spaceJSON = task["space"] else { throw SupernetError(path: path, field: "swiftnas_task.space", message: "missing") }
        let space = try SearchSpace(json: spaceJSON, path: path + " (swiftnas_task.space)")
        if let search = task["search"] { return Stored(space: space, rule: nil, ruleState: .object([:]), search: search) }
        var routing: ExpertRouting?
        if let json = task["routing"] {
            do { routing = try json.decode(ExpertRouting.self) } catch {
                throw SupernetError(path: path, field: "swiftnas_task.routing",
                                    message: "expected {\"experts\": m ≥ 2, \"granularity\": \"layer\"|\"neuron\", \"hidden\": H} (\(error))")
            }
            guard let r = routing, r.experts >= 2, r.hidden >= 1 else {
                throw SupernetError(path: path, field: "swiftnas_task.routing", message: "expected at least 2 experts and a positive hidden width")
            }
        }
        guard case .string(let ruleName)? = task["rule"], let rule = SamplingRuleKind(rawValue: ruleName) else {
            throw SupernetError(path: path, field: "swiftnas_task.rule",
                                message: "expected one of \(SamplingRuleKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Stored(space: space, rule: rule, ruleState: task["ruleState"] ?? .object([:]), search: nil, routing: routing)
    }

    /// Loads a supernet checkpoint folder (weights, head and space).
    public static func load(from folder: URL) throws -> Supernet {
        let stored = try stored(in: folder)
        let (model, _, _) = try Checkpoint.loadTransformer(from: folder, choices: stored.space.operationChoices, routing: stored.routing)
        guard model.maxArchitecture == stored.space.largest else {
            throw SupernetError(path: folder.appendingPathComponent("config.json").path, field: "swiftnas_architecture",
                                message: "the weights' architecture is not the largest member of the stored space")
        }
        var head: MaskedLMHead?
        if stored.space.family == .encoder {
            var rng = RandomGenerator(seed: 0)
            let h = MaskedLMHead(model.maxArchitecture, rng: &rng)
            let weights = folder.appendingPathComponent("model.safetensors")
            let file = try SafeTensorsFile(contentsOf: weights)
            let missing = Set(h.parameters.map(\.name)).subtracting(file.names)
            guard missing.isEmpty else {
                throw SupernetError(path: weights.path, field: missing.sorted()[0], message: "missing: an encoder supernet stores its masked-LM head")
            }
            _ = try Checkpoint.load(h, from: file)
            head = h
        }
        return Supernet(space: stored.space, model: model, head: head)
    }
}
