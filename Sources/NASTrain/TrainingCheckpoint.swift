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
///     RUN/checkpoint-<step>/trainer.json       step, RNG state, optimizer scalars, options, training seconds
///     RUN/latest                               the name of the newest complete checkpoint folder
///
/// The rules that keep checkpoints from being lost:
///
/// - A checkpoint folder appears whole or not at all: it is assembled under `.checkpoint-<step>.tmp-<pid>`
///   and renamed into place, then `latest` is replaced atomically, so a run killed at any moment leaves a
///   complete checkpoint. *Complete* means config.json, model.safetensors, optimizer.safetensors and a
///   readable trainer.json of the folder's step.
/// - A resumed run continues from the checkpoint `latest` names; when `latest` is missing or broken
///   (unreadable, or naming a missing or incomplete folder), from the newest complete `checkpoint-<step>`,
///   with a note saying so (`resumePoint(in:)`), and `latest` is rewritten to name it (`Trainer.prepare`).
///   A complete folder newer than `latest`'s (a run stopped
///   between the rename and `latest`) is preferred, also with a note. An incomplete folder newer than the
///   resume point is refused rather than written over later.
/// - A run that does not resume refuses a folder holding `latest` or any checkpoint folder (`holdsRun`).
/// - Saving removes only the checkpoint folders the run itself wrote or resumed from (`owned`), once
///   `latest` names the new one; a folder of the new step that the run does not own is never replaced.
/// - Leftovers of interrupted saves are tidied on the next start (`tidy`): `.checkpoint-<step>.tmp-<pid>`
///   is removed, and `.checkpoint-<step>.old-<pid>` (the folder set aside while its step was rewritten)
///   is renamed back when `checkpoint-<step>` is missing, else removed, both only when <pid> is no longer
///   a live process, so a concurrent writer is never harmed.
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
        /// Wall-clock seconds spent training up to this step, summed over resumes (nil in checkpoints
        /// written before it was recorded: counted as 0), so that a time budget spans resumes.
        public var seconds: Double?
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

    /// The folder `latest` names inside `run`, or nil when the run has no `latest` yet. Throws when
    /// `latest` is unreadable or names a missing or incomplete folder (see `resumePoint(in:)` for the
    /// lenient reading a resumed run uses).
    public static func latest(in run: URL) throws -> URL? {
        switch pointer(in: run) {
        case .missing: return nil
        case .valid(let folder): return folder
        case .broken(let path, let message): throw Failure(path: path, message: message)
        }
    }

    /// What `latest` says.
    enum Pointer {
        case missing
        case valid(URL)
        case broken(path: String, message: String)
    }

    static func pointer(in run: URL) -> Pointer {
        let pointer = run.appendingPathComponent("latest")
        guard FileManager.default.fileExists(atPath: pointer.path) else { return .missing }
        guard let name = try? String(contentsOf: pointer, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              let step = Self.step(ofFolder: name) else {
            return .broken(path: pointer.path, message: "expected the name of a checkpoint folder (checkpoint-<step>)")
        }
        let folder = run.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: folder.path) else {
            return .broken(path: folder.path, message: "the checkpoint named by 'latest' is missing")
        }
        if let missing = incompleteness(of: folder, step: step) {
            return .broken(path: folder.path, message: "the checkpoint named by 'latest' is incomplete (\(missing))")
        }
        return .valid(folder)
    }

    /// The step of a folder named `checkpoint-<step>`, else nil.
    static func step(ofFolder name: String) -> Int? {
        guard name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)), step >= 0,
              name == "checkpoint-\(step)" else { return nil }
        return step
    }

    /// The checkpoint folders in `run` (complete or not), by step.
    public static func folders(in run: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
        return names.compactMap { name in
            var isFolder: ObjCBool = false
            let url = run.appendingPathComponent(name)
            guard let step = Self.step(ofFolder: name), FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder),
                  isFolder.boolValue else { return nil }
            return (step, url)
        }.sorted { $0.step < $1.step }
    }

    /// Why `folder` is not a complete checkpoint of `step` (e.g. "no trainer.json"), or nil when it is.
    public static func incompleteness(of folder: URL, step: Int) -> String? {
        for file in ["config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"]
        where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
            return "no \(file)"
        }
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("trainer.json")),
              let state = try? JSONDecoder().decode(State.self, from: data) else { return "trainer.json cannot be read" }
        guard state.step == step else { return "trainer.json is of step \(state.step)" }
        return nil
    }

    /// Whether `run` holds a training run: a `latest` file (readable or not) or any checkpoint folder. A
    /// run that does not resume refuses such a folder.
    public static func holdsRun(_ run: URL) -> Bool {
        FileManager.default.fileExists(atPath: run.appendingPathComponent("latest").path) || !folders(in: run).isEmpty
    }

    /// Where a resumed run continues from, and the notes to show (one line each).
    public struct ResumePoint {
        public var folder: URL
        public var step: Int
        public var notes: [String]
    }

    /// The checkpoint a resumed run continues from (after `tidy`): the one `latest` names, or, when
    /// `latest` is missing or broken, the newest complete checkpoint folder, with a note saying so; nil
    /// when the folder holds no run at all (a fresh start). Throws when the folder holds a run but no
    /// complete checkpoint, or an incomplete checkpoint folder newer than the resume point (the run would
    /// write over it).
    public static func resumePoint(in run: URL) throws -> ResumePoint? {
        var notes = tidy(run)
        let all = folders(in: run)
        let complete = all.filter { incompleteness(of: $0.url, step: $0.step) == nil }
        let chosen: (step: Int, url: URL)
        let runName = run.relativePath
        switch pointer(in: run) {
        case .missing where all.isEmpty:
            return nil
        case .valid(let folder):
            let step = Self.step(ofFolder: folder.lastPathComponent)!
            if let newest = complete.last, newest.step > step {
                notes.append("note: \(newest.url.relativePath) is complete and newer than \(folder.lastPathComponent), which "
                             + "\(runName)/latest names (a run stopped while saving); resuming from \(newest.url.lastPathComponent)")
                chosen = newest
            } else {
                chosen = (step, folder)
            }
        case .missing, .broken:
            let problem: String
            if case .broken(let path, let message) = pointer(in: run) {
                problem = path.hasSuffix("/latest") ? "\(runName)/latest is unreadable (\(message))" : "\(path): \(message)"
            } else {
                problem = "\(runName)/latest is missing"
            }
            guard let newest = complete.last else {
                throw Failure(path: run.path, message: "\(problem), and no checkpoint folder here is complete (config.json, "
                              + "model.safetensors, optimizer.safetensors, trainer.json); there is nothing to resume from")
            }
            notes.append("note: \(problem); resuming from \(newest.url.lastPathComponent), the newest complete checkpoint")
            chosen = newest
        }
        if let newer = all.first(where: { $0.step > chosen.step }) {
            let why = incompleteness(of: newer.url, step: newer.step) ?? "complete"
            throw Failure(path: newer.url.path, message: "incomplete (\(why)) and newer than \(chosen.url.lastPathComponent), the "
                          + "checkpoint the run resumes from; the run would write over it at step \(newer.step): move it away first")
        }
        return ResumePoint(folder: chosen.url, step: chosen.step, notes: notes)
    }

    /// Removes (or restores) what interrupted saves left in `run`, when the process that wrote them is no
    /// longer alive: `.checkpoint-<step>.tmp-<pid>` folders are removed; `.checkpoint-<step>.old-<pid>`
    /// is renamed back to `checkpoint-<step>` when that is missing, else removed. Returns a line per
    /// restored folder.
    @discardableResult
    public static func tidy(_ run: URL) -> [String] {
        let fm = FileManager.default
        var notes: [String] = []
        for name in ((try? fm.contentsOfDirectory(atPath: run.path)) ?? []).sorted() where name.hasPrefix(".checkpoint-") {
            let isStaging = name.contains(".tmp-"), isAside = name.contains(".old-")
            guard isStaging || isAside, let dash = name.lastIndex(of: "-"), let pid = Int32(name[name.index(after: dash)...]),
                  !isAlive(pid) else { continue }
            let url = run.appendingPathComponent(name)
            let base = String(name.dropFirst().prefix(upTo: name.range(of: isStaging ? ".tmp-" : ".old-")!.lowerBound))
            let target = run.appendingPathComponent(base)
            if isAside, Self.step(ofFolder: base) != nil, !fm.fileExists(atPath: target.path), rename(url.path, target.path) == 0 {
                notes.append("note: restored \(target.relativePath) from \(name), left by a run stopped while saving")
            } else {
                try? fm.removeItem(at: url)
            }
        }
        return notes
    }

    /// Whether process `pid` exists (a process of another user counts).
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Writes a checkpoint of `step` and points `latest` at it. `owned` names the checkpoint folders the
    /// run wrote or resumed from: they are removed once `latest` names the new one, and only they may be
    /// replaced by it; a folder of this step that the run does not own is refused, never overwritten.
    public static func save(run: URL, step: Int, model: Transformer, extra: [Module], optimizer: Optimizer, rng: RandomGenerator,
                            options: TrainingOptions, vocabulary: URL?, task: JSONValue?, files: [URL] = [],
                            owned: Set<String> = [], seconds: Double? = nil) throws {
        let fm = FileManager.default
        try OutputFolder.create(run)
        let name = "checkpoint-\(step)"
        let folder = run.appendingPathComponent(name)
        if fm.fileExists(atPath: folder.path), !owned.contains(name) {
            throw Failure(path: folder.path, message: "exists but was not written by this run (nor resumed from); "
                          + "it is kept: move it away, or resume from it with --resume")
        }
        let staging = run.appendingPathComponent(".\(name).tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        defer { try? fm.removeItem(at: staging) }
        try Checkpoint.save(model, extra: extra, vocabulary: vocabulary, to: staging)
        if let task { try addToConfig(staging.appendingPathComponent("config.json"), key: "swiftnas_task", value: task) }
        for file in files {
            do { try fm.copyItem(at: file, to: staging.appendingPathComponent(file.lastPathComponent)) } catch {
                throw Failure(path: staging.appendingPathComponent(file.lastPathComponent).path,
                              message: "cannot copy \(file.path) into the checkpoint: \(OutputFolder.describe(error))")
            }
        }
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
        let trainer = State(format: format, step: step, rng: rng, options: options, optimizer: scalars, seconds: seconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(trainer), to: staging.appendingPathComponent("trainer.json"))
        // A folder of the same step that the run owns is set aside, not deleted, until the new one is in
        // place (and renamed back if it cannot be; `tidy` does the same after a kill in between).
        let aside = run.appendingPathComponent(".\(name).old-\(getpid())")
        let setAside = fm.fileExists(atPath: folder.path)
        if setAside {
            guard rename(folder.path, aside.path) == 0 else {
                throw Failure(path: folder.path, message: "cannot set the folder aside to replace it: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(staging.path, folder.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if setAside { _ = rename(aside.path, folder.path) }
            throw Failure(path: folder.path, message: "cannot rename the checkpoint into place: \(reason)")
        }
        if setAside { try? fm.removeItem(at: aside) }
        try AtomicFile.write(Data((name + "\n").utf8), to: run.appendingPathComponent("latest"))
        // The run's older checkpoints go once `latest` names the new one; others' are kept.
        for item in owned.sorted() where item != name && Self.step(ofFolder: item) != nil {
            try? fm.removeItem(at: run.appendingPathComponent(item))
        }
    }

    /// Restores weights, optimizer state and returns the saved state (step, RNG, options). `check` sees the
    /// state before any weight is read (e.g. to refuse other options with a message naming the option,
    /// rather than a missing tensor).
    public static func restore(from folder: URL, model: Transformer, extra: [Module], optimizer: inout any Optimizer,
                               check: (State) throws -> Void = { _ in }) throws -> State {
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
        try check(state)
        let weights = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        _ = try Checkpoint.load(model, from: weights)
        for module in extra { _ = try Checkpoint.load(module, from: weights) }
        let buffers = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("optimizer.safetensors"))
        var parameters: [OptimizerState.ParameterState] = []
        for (i, p) in state.optimizer.parameters.enumerated() {
            var values: [String: [Float]] = [:]
            for key in p.buffers { values[key] = try Checkpoint.finiteTensor("\(i).\(key)", in: buffers).scalars }
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
