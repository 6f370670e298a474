import Foundation
import XCTest
import NASTensor

/// Runs the built `swiftnas` executable (in the build products folder that holds the test bundle).
enum CLIProcess {
    struct NotBuilt: Error { let searched: [String] }

    static var executable: URL {
        get throws {
            let bundle = Bundle(for: SearchCLITests.self).bundleURL
            let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("swiftnas") }
            guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw NotBuilt(searched: candidates.map(\.path))
            }
            return url
        }
    }

    /// Starts `swiftnas arguments…` with standard output and error on one pipe; `environment` adds to
    /// (or overrides) this process's environment.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = try executable
        p.arguments = arguments
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        return (p, pipe)
    }

    /// Runs to the end: (exit status, output).
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let (p, pipe) = try start(arguments, environment: environment)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `swiftnas arguments…` to the end under an address-space limit (`RLIMIT_AS`, set by the shell's
    /// `ulimit -v`), as a hostile input would meet a small machine: a runaway allocation fails instead of
    /// swapping. A generous hang guard kills the child after `hangGuard` seconds (a failure, not a timing
    /// assertion). Returns (exit status, output).
    /// Under AddressSanitizer (a `swift test --sanitize=address` build, whose executable reserves terabytes
    /// of shadow address space) the limit is left off: ASan then guards the allocations itself.
    static func runLimited(_ arguments: [String], addressSpace: Int = 1 << 30, hangGuard: Double = 300) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let limit = dlsym(nil, "__asan_init") == nil ? "ulimit -v \(addressSpace >> 10) && " : ""
        p.arguments = ["-c", limit + "exec \"$0\" \"$@\"", try executable.path] + arguments
        return try runToEnd(p, hangGuard: hangGuard)
    }

    /// Runs `p` to the end with its output and errors in one pipe, killing it after `hangGuard` seconds.
    static func runToEnd(_ p: Process, hangGuard: Double) throws -> (Int32, String) {
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let guardTimer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + hangGuard, execute: guardTimer)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guardTimer.cancel()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Open MPI's launcher on PATH (nil when it is not installed).
    static var mpirun: URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `mpirun -np ranks swiftnas arguments…` to the end, on loopback only (shared memory and TCP
    /// over `lo`), allowed to run as root the way Open MPI documents (OMPI_ALLOW_RUN_AS_ROOT and its
    /// confirmation), without the single-copy mechanism a sandbox may forbid, and with as many ranks as
    /// asked whatever the cores. A hang guard kills it after `hangGuard` seconds (a failure, not a timing
    /// assertion). Returns (exit status, output of every rank).
    static func runMPI(ranks: Int, _ arguments: [String], hangGuard: Double = 300) throws -> (Int32, String) {
        guard let mpirun else { throw XCTSkip("mpirun is not installed (`make mpi` installs Open MPI): the MPI tests are skipped") }
        let p = Process()
        p.executableURL = mpirun
        p.arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader,tcp",
                       "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", try executable.path] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging([
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]) { $1 }
        return try runToEnd(p, hangGuard: hangGuard)
    }

    /// Writes `text` to `name` (which may name a subfolder) inside `folder`.
    /// A small encoder (2 layers, width 16, 2 heads, FFN 32) fine-tuned on a toy sentiment task in `folder`: the checkpoint
    /// folder and the task folder (train.tsv, dev.tsv) it was trained on.
    static func fineTunedModel(in folder: URL) throws -> (checkpoint: String, task: String) {
        let words = ["good", "bad", "film", "a", "very", "dull", "great", "plot", "not", "fun"]
        let vocab = try write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n") + "\n", "vocab.txt", in: folder)
        let arch = try write(#"{"family": "encoder", "vocabSize": 15, "maxPositions": 32, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}, {"heads": 2, "qkv": 16, "ffn": 32}]}"#,
                             "arch.json", in: folder)
        let positive = ["good", "great", "fun"], negative = ["bad", "dull", "not"]
        func sentences(_ n: Int, offset: Int) -> String {
            "sentence\tlabel\n" + (0..<n).map { i -> String in
                let label = (i + offset) % 2, w = label == 1 ? positive : negative
                return "a \(w[i % 3]) \(["film", "plot"][i % 2]) \(w[(i + 1) % 3])\t\(label)"
            }.joined(separator: "\n") + "\n"
        }
        _ = try write(sentences(40, offset: 0), "task/train.tsv", in: folder)
        _ = try write(sentences(24, offset: 1), "task/dev.tsv", in: folder)
        let task = folder.appendingPathComponent("task").path, ft = folder.appendingPathComponent("ft").path
        let (status, output) = try run(["finetune", "--arch", arch.path, "--task", "sst-2", "--data", task, "--tokenizer", vocab.path,
                                        "--out", ft, "--epochs", "3", "--batch-size", "8", "--max-length", "16", "--lr", "1e-3"])
        guard status == 0 else { throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "finetune failed: \(output)"]) }
        return (ft, task)
    }

    static func write(_ text: String, _ name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// `corpus.txt` in `folder`: seeded text over 13 words (22 characters).
    static func corpus(in folder: URL) throws -> URL {
        let words = ["the", "king", "speaks", "to", "a", "quiet", "river", "and", "night", "falls", "over", "old", "town"]
        var rng = RandomGenerator(seed: 3)
        var text = ""
        for _ in 0..<800 { text += (0..<6).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") + ".\n" }
        return try write(text, "corpus.txt", in: folder)
    }
}
