import Foundation
import XCTest

/// Hostile inputs as a child process under a 1 GiB address-space limit: every case exits with an error
/// (1, or 64 for an option) and a message naming the file, field or option — never a trap, a signal or a
/// runaway allocation — and leaves the files it was given unchanged.
final class HostileInputCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ text: String, _ name: String) throws -> URL { try CLIProcess.write(text, name, in: folder) }

    /// A file of `bytes` zero bytes that takes no disk space (sparse).
    func sparse(_ name: String, bytes: Int) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(bytes))
        try handle.close()
        return url
    }

    /// Every file and folder under the test folder (files with their bytes), to check that a failed command
    /// changed nothing and left no (empty) output folder behind.
    func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else {
                files[url.path + "/"] = Data()
                continue
            }
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            // Sparse giants are compared by size only.
            files[url.path] = size > 1 << 24 ? Data("\(size)".utf8) : try Data(contentsOf: url)
        }
        return files
    }

    /// Runs `arguments` limited; expects an error exit whose output contains every string of `expected`,
    /// and no file of the test folder created, changed or removed.
    func assertRefused(_ arguments: [String], _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try snapshot()
        let (status, output) = try CLIProcess.runLimited(arguments)
        XCTAssertTrue(status == 1 || status == 64, "exit \(status) (a signal or trap?) for \(arguments):\n\(output)", file: file, line: line)
        for text in expected {
            XCTAssertTrue(output.contains(text), "expected “\(text)” in the output of \(arguments):\n\(output)", file: file, line: line)
        }
        XCTAssertFalse(output.contains("Fatal error") || output.contains("runtime failure"), output, file: file, line: line)
        let after = try snapshot()
        XCTAssertEqual(Set(after.keys), Set(before.keys), "files appeared or vanished", file: file, line: line)
        for (path, data) in before where after[path] != data { XCTFail("\(path) changed", file: file, line: line) }
    }

    func bertConfig(layers: String = "2", ffn: String = "32", vocab: String = "100") -> String {
        """
        {"model_type": "bert", "vocab_size": \(vocab), "hidden_size": 8, "num_hidden_layers": \(layers), "num_attention_heads": 2,
         "intermediate_size": \(ffn), "max_position_embeddings": 16, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
        """
    }

    func testOversizedConfigsAreRefusedByKey() throws {
        for (name, config, key) in [("layers", bertConfig(layers: "4611686018427387904"), "num_hidden_layers"),
                                    ("ffn", bertConfig(ffn: "1000000000000"), "intermediate_size"),
                                    ("vocab", bertConfig(vocab: "1000000000000000"), "vocab_size")] {
            let dir = folder.appendingPathComponent(name)
            _ = try write(config, "\(name)/config.json")
            _ = try write("not weights", "\(name)/model.safetensors")
            _ = try write("[PAD]\n", "\(name)/vocab.txt")
            try assertRefused(["model", "info", "--checkpoint", dir.path], ["config.json: key \"\(key)\"", "memory limit"])
            try assertRefused(["embed", "--checkpoint", dir.path, "hello"], ["key \"\(key)\"", "memory limit"])
        }
    }

    func testOversizedArchitecturesAreRefusedByField() throws {
        let corpus = try CLIProcess.corpus(in: folder)
        let huge = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 9223372036854775807,
             "layers": [{"heads": 1, "qkv": 8, "ffn": 8}]}
            """, "huge.json")
        try assertRefused(["model", "info", "--arch", huge.path], ["field 'hidden'", "too large"])
        let wide = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 8,
             "layers": [{"heads": 1, "qkv": 8, "ffn": 1000000000000}]}
            """, "wide.json")
        try assertRefused(["pretrain", "--arch", wide.path, "--corpus", corpus.path, "--tokenizer", "char",
                           "--out", folder.appendingPathComponent("run").path], ["field 'layers[0].ffn'", "too large"])
        // 10⁵ layers (a 3.4 MB file): within the default limit, but not within 256 MiB.
        let layer = #"{"heads": 2, "qkv": 16, "ffn": 32}"#
        let deep = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 16,
             "layers": [\(Array(repeating: layer, count: 100_000).joined(separator: ", "))]}
            """, "deep.json")
        try assertRefused(["pretrain", "--arch", deep.path, "--corpus", corpus.path, "--tokenizer", "char", "--max-memory", "256M",
                           "--out", folder.appendingPathComponent("run").path], ["field 'layers'", "100000", "256.0 MiB"])
        for eps in ["-1", "0"] {
            let bad = try write("""
                {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 8, "layerNormEps": \(eps),
                 "layers": [{"heads": 1, "qkv": 8, "ffn": 8}]}
                """, "eps\(eps).json")
            try assertRefused(["model", "info", "--arch", bad.path], ["layerNormEps", "positive"])
        }
        let small = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 8, "layers": [{"heads": 1, "qkv": 8, "ffn": 8}]}
            """, "small.json")
        try assertRefused(["model", "info", "--arch", small.path, "--seq", "99999999999999"], ["--seq 99999999999999", "too many"])
    }

    func testOversizedSpacesAreRefusedBeforeAStudyIsMade() throws {
        let study = folder.appendingPathComponent("s.db")
        let wide = try write("""
            {"name": "wide", "family": "encoder", "vocabSize": 100, "maxPositions": 64, "layers": "shared",
             "depth": [1, 2], "hidden": [1000000000], "heads": [1], "ffn": [8]}
            """, "wide.json")
        try assertRefused(["search", "--space", wide.path, "--trials", "3", "--study", study.path], ["field 'hidden'", "too large"])
        for range in [#"{"min": 1, "max": 1000000000}"#, #"{"min": 1, "max": 9223372036854775807}"#] {
            let space = try write("""
                {"name": "range", "family": "encoder", "vocabSize": 100, "maxPositions": 64, "layers": "shared",
                 "depth": [1, 2], "hidden": [8], "heads": [1], "ffn": \(range)}
                """, "range.json")
            try assertRefused(["search", "--space", space.path, "--trials", "3", "--study", study.path], ["field 'ffn'", "at most 4096"])
        }
        let deep = try write("""
            {"name": "deep", "family": "encoder", "vocabSize": 100, "maxPositions": 64, "layers": "shared",
             "depth": [1, 1000000000000], "hidden": [8], "heads": [1], "ffn": [8]}
            """, "deep.json")
        try assertRefused(["search", "--space", deep.path, "--trials", "3", "--study", study.path], ["field 'depth'", "too large"])
    }

    func testFilesOverTheMemoryLimitAreRefusedWithTheirSize() throws {
        let small = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 8, "layers": [{"heads": 1, "qkv": 8, "ffn": 8}]}
            """, "small.json")
        let corpus = try sparse("big.txt", bytes: 640 << 20)   // 10× the limit before any expansion
        try assertRefused(["pretrain", "--arch", small.path, "--corpus", corpus.path, "--tokenizer", "char", "--max-memory", "64M",
                           "--sequence-length", "32", "--out", folder.appendingPathComponent("run").path], ["big.txt: the corpus of 640.0 MiB", "64.0 MiB"])
        _ = try sparse("glue/train.tsv", bytes: 640 << 20)
        _ = try write("sentence\tlabel\nok\t1\n", "glue/dev.tsv")
        try assertRefused(["finetune", "--task", "sst2", "--data", folder.appendingPathComponent("glue").path, "--arch", small.path,
                           "--max-memory", "64M", "--out", folder.appendingPathComponent("ft").path],
                          ["train.tsv: the TSV file of 640.0 MiB"])
        let json = try sparse("space.json", bytes: 640 << 20)
        try assertRefused(["search", "--space", json.path, "--trials", "3", "--max-memory", "64M",
                           "--study", folder.appendingPathComponent("s.db").path], ["space.json: the JSON file of 640.0 MiB"])
    }

    func testNumericOptionsAreCheckedWhenParsed() throws {
        let small = try write("""
            {"family": "encoder", "vocabSize": 100, "maxPositions": 64, "hidden": 8, "layers": [{"heads": 1, "qkv": 8, "ffn": 8}]}
            """, "small.json")
        let finetune = ["finetune", "--task", "sst2", "--arch", small.path, "--out", folder.appendingPathComponent("ft").path]
        for (option, value, expected) in [("--lr", "nan", "positive finite"), ("--lr", "0", "positive finite"),
                                          ("--clip", "nan", "finite number ≥ 0"), ("--weight-decay", "nan", "finite number ≥ 0"),
                                          ("--weight-decay", "-1", "finite number ≥ 0"), ("--batch-size", "0", "positive integer"),
                                          ("--threads", "0", "thread count"), ("--threads", "-3", "thread count"),
                                          ("--threads", "1000", "thread count"), ("--dropout", "1", "[0, 1)"),
                                          ("--alpha", "inf", "[0, 1]"), ("--max-memory", "lots", "512M")] {
            try assertRefused(finetune + [option, value], ["'\(value)' is invalid for '\(option)", expected])
        }
        let pretrain = ["pretrain", "--arch", small.path, "--out", folder.appendingPathComponent("pt").path]
        try assertRefused(pretrain + ["--hidden-weight", "nan"], ["'nan' is invalid for '--hidden-weight", "finite"])
        try assertRefused(pretrain + ["--steps", "-5"], ["'-5' is invalid for '--steps", "positive integer"])
        let search = ["search", "--space", "autotinybert", "--study", folder.appendingPathComponent("s.db").path]
        try assertRefused(search + ["--trials", "-5"], ["'-5' is invalid for '--trials", "positive integer"])
        try assertRefused(search + ["--trials", "5", "--min-params", "5e6", "--max-params", "1e6"], ["--min-params 5000000 is above --max-params"])
        try assertRefused(search + ["--trials", "5", "--max-params", "nan"], ["'nan' is invalid for '--max-params"])
    }
}
