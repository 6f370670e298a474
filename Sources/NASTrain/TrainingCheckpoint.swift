import Foundation
import NASModels
import NASTensor

/// A training run's checkpoint: everything the next step depends on, so that a resumed run continues
/// bit for bit. A run folder holds:
///
///     RUN/checkpoint-<step>/config.json        HF-style config, exact architecture, `swiftnas_task`
///     RUN/checkpoint-<step>/model.safetensors  backbone, heads and projections by name
///     RUN/checkpoint-<step>/vocab.txt          the WordPiece vocabulary (or char-tokenizer.json)
///     RUN/checkpoint-<step>/optimizer.safetensors  moment buffers, `<index>.<buffer>` per parameter
///     RUN/checkpoint-<step>/trainer.json       step, RNG state, optimizer scalars, options
///     RUN/latest                               the name of the newest complete checkpoint folder
///
/// A checkpoint folder appears whole or not at all (assembled under a temporary name and renamed), and
/// `latest` is replaced atomically after it, so a run killed at any moment resumes from a complete
/// checkpoint. Older checkpoint folders are removed once `latest` names the new one.
public enum TrainingCheckpoint {
    public static let format = "swiftnas-training/1"

    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    /// What trainer.json holds besides the optimizer.
    public struct State: Codable, Equatable, Sendable {
        public var format: String
        public var step: Int
        public var rng: RandomGenerator
        public var options: TrainingOptions
        public var optimizer: OptimizerScalars
    }

    /// OptimizerState without its buffers (those go to optimizer.safetensors).
    public struct OptimizerScalars: Codable, Equatable, Sendable {
        public var kind: String
        public var step: Int
        public var learningRate: Float
        public var hyperparameters: [String: Float]
        public var parameters: [ParameterScalars]
        public struct ParameterScalars: Codable, Equatable, Sendable {
            public var name: String
            public var shape: [Int]
            public var step: Int
            public var buffers: [String]
        }
    }

    /// The folder `latest` names inside `run`, or nil when the run has no checkpoint yet.
    public static func latest(in run: URL) throws -> URL? {
        let pointer = run.appendingPathComponent("latest")
        guard FileManager.default.fileExists(atPath: pointer.path) else { return nil }
        guard let name = try? String(contentsOf: pointer, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              name.hasPrefix("checkpoint-"), !name.contains("/") else {
            throw Failure(path: pointer.path, message: "expected the name of a checkpoint folder (checkpoint-<step>)")
        }
        let folder = run.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("trainer.json").path) else {
            throw Failure(path: folder.path, message: "the checkpoint named by 'latest' is missing or incomplete (no trainer.json)")
        }
        return folder
    }

    /// Writes a checkpoint of `step` and points `latest` at it.
    public static func save(run: URL, step: Int, model: Transformer, extra: [Module], optimizer: Optimizer, rng: RandomGenerator,
                            options: TrainingOptions, vocabulary: URL?, task: JSONValue?, files: [URL] = []) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: run, withIntermediateDirectories: true)
        let name = "checkpoint-\(step)"
        let folder = run.appendingPathComponent(name)
        let staging = run.appendingPathComponent(".\(name).tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        defer { try? fm.removeItem(at: staging) }
        try Checkpoint.save(model, extra: extra, vocabulary: vocabulary, to: staging)
        if let task { try addToConfig(staging.appendingPathComponent("config.json"), key: "swiftnas_task", value: task) }
        for file in files { try fm.copyItem(at: file, to: staging.appendingPathComponent(file.lastPathComponent)) }
        let state = optimizer.stateDict()
        var buffers: [(name: String, tensor: Tensor)] = []
        for (i, p) in state.parameters.enumerated() {
            for (key, values) in p.buffers.sorted(by: { $0.key < $1.key }) {
                buffers.append(("\(i).\(key)", Tensor(shape: p.shape, scalars: values)))
            }
        }
        try SafeTensorsFile.write(buffers, to: staging.appendingPathComponent("optimizer.safetensors"))
        let scalars = OptimizerScalars(kind: state.kind, step: state.step, learningRate: state.learningRate,
                                       hyperparameters: state.hyperparameters,
                                       parameters: state.parameters.map { .init(name: $0.name, shape: $0.shape, step: $0.step,
                                                                                buffers: $0.buffers.keys.sorted()) })
        let trainer = State(format: format, step: step, rng: rng, options: options, optimizer: scalars)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(trainer), to: staging.appendingPathComponent("trainer.json"))
        // A folder of the same step (from a run that died before `latest` moved) is set aside, not deleted,
        // until the new one is in place.
        let aside = run.appendingPathComponent(".\(name).old-\(getpid())")
        if fm.fileExists(atPath: folder.path) { try fm.moveItem(at: folder, to: aside) }
        defer { try? fm.removeItem(at: aside) }
        guard rename(staging.path, folder.path) == 0 else {
            throw Failure(path: folder.path, message: "cannot rename the checkpoint into place: \(String(cString: strerror(errno)))")
        }
        try AtomicFile.write(Data((name + "\n").utf8), to: run.appendingPathComponent("latest"))
        // Older checkpoints go once `latest` names the new one.
        for item in (try? fm.contentsOfDirectory(atPath: run.path)) ?? [] where item.hasPrefix("checkpoint-") && item != name {
            try? fm.removeItem(at: run.appendingPathComponent(item))
        }
    }

    /// Restores weights, optimizer state and returns the saved state (step, RNG, options).
    public static func restore(from folder: URL, model: Transformer, extra: [Module], optimizer: inout any Optimizer) throws -> State {
        let trainerURL = folder.appendingPathComponent("trainer.json")
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: Data(contentsOf: trainerURL))
        } catch {
            throw Failure(path: trainerURL.path, message: "cannot read the trainer state: \(error)")
        }
        guard state.format == format else {
            throw Failure(path: trainerURL.path, message: "field 'format' is \(state.format), expected \(format)")
        }
        let weights = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        _ = try Checkpoint.load(model, from: weights)
        for module in extra { _ = try Checkpoint.load(module, from: weights) }
        let buffers = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("optimizer.safetensors"))
        var parameters: [OptimizerState.ParameterState] = []
        for (i, p) in state.optimizer.parameters.enumerated() {
            var values: [String: [Float]] = [:]
            for key in p.buffers { values[key] = try buffers.tensor("\(i).\(key)").scalars }
            parameters.append(.init(name: p.name, shape: p.shape, step: p.step, buffers: values))
        }
        try optimizer.load(state: OptimizerState(kind: state.optimizer.kind, step: state.optimizer.step,
                                                 learningRate: state.optimizer.learningRate,
                                                 hyperparameters: state.optimizer.hyperparameters, parameters: parameters))
        return state
    }

    /// Adds a top-level key to a config.json (atomically).
    public static func addToConfig(_ url: URL, key: String, value: JSONValue) throws {
        guard case .object(var members) = try JSONValue(parsing: try Data(contentsOf: url)) else {
            throw Failure(path: url.path, message: "expected a JSON object")
        }
        members[key] = value
        try AtomicFile.write(Data((try JSONValue.object(members).serialized(pretty: true) + "\n").utf8), to: url)
    }
}
