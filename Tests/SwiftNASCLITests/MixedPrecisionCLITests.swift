import Foundation
import XCTest
import NASModels

/// `quantize benchmark` → `proxy evolve` → `quantize search` as processes on a small fine-tuned model: the benchmark
/// resumes and refuses another setting, the evolved proxy allocates bits inside the budget, and wrong models, tasks
/// and damaged files are refused with the file and field named.
final class MixedPrecisionCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mixed-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testBenchmarkEvolveAndSearch() throws {
        let (ft, task) = try CLIProcess.fineTunedModel(in: folder)
        var (status, output): (Int32, String)
        let bench = folder.appendingPathComponent("bench.json").path
        let benchmark = ["quantize", "benchmark", "--checkpoint", ft, "--data", task, "--max-length", "16", "--out", bench]
        (status, output) = try CLIProcess.run(benchmark + ["--configurations", "20"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("12 units") && output.contains("20 configurations"), output)
        (status, output) = try CLIProcess.run(benchmark + ["--configurations", "22"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("resuming") && output.contains("20 configurations measured") && output.contains("22 configurations"), output)
        guard case .object(let b) = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: bench))), case .array(let configs)? = b["configurations"],
              case .string(let hash)? = b["sha256"] else { return XCTFail("benchmark file") }
        XCTAssertEqual(configs.count, 22)
        XCTAssertEqual(hash.count, 64)
        (status, output) = try CLIProcess.run(benchmark + ["--bits", "3,4"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("another setting"), output)

        // A model this small keeps one accuracy under every configuration (nothing to rank: refused); the file's accuracies
        // are then replaced by a made-up function of the bits, enough for the commands' plumbing (the evolution itself is
        // tested on planted proxies in ProxyEvolutionTests).
        func setAccuracies(_ f: (Int, [Int]) -> Double) throws {
            guard case .object(var b) = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: bench))),
                  case .array(let configs)? = b["configurations"] else { return XCTFail("benchmark file") }
            b["configurations"] = .array(configs.map { c in
                guard case .object(var o) = c, case .int(let id)? = o["id"], case .array(let bits)? = o["bits"] else { return c }
                o["accuracy"] = .double(f(id, bits.compactMap { if case .int(let v) = $0 { return v } else { return nil } }))
                return .object(o)
            })
            try Data(try JSONValue.object(b).serialized(pretty: true).utf8).write(to: URL(fileURLWithPath: bench))
        }
        let proxy = folder.appendingPathComponent("proxy.json").path
        let evolve = ["proxy", "evolve", "--benchmark", bench, "--data", task, "--calibration-examples", "4", "--probes", "2",
                      "--population", "8", "--iterations", "30", "--out", proxy]
        try setAccuracies { _, _ in 0.7 }
        (status, output) = try CLIProcess.run(evolve)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("nothing to rank"), output)
        try setAccuracies { id, bits in 0.5 + 0.1 * Double(bits[0] + bits[5] + bits[11]) / 12 + Double(id % 7) / 1000 }
        (status, output) = try CLIProcess.run(evolve)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("evolved proxy:") && output.contains("hawq") && output.contains("best hand-made"), output)
        let search = ["quantize", "search", "--checkpoint", ft, "--data", task, "--max-length", "16", "--max-bits-per-weight", "3",
                      "--calibration-examples", "4", "--probes", "2"]
        for p in [proxy, "hawq", "uniform"] {
            let json = folder.appendingPathComponent("search.json")
            (status, output) = try CLIProcess.run(search + ["--proxy", p, "--json", json.path])
            XCTAssertEqual(status, 0, output)
            guard case .object(let s) = try JSONValue(parsing: Data(contentsOf: json)), case .double(let bpw)? = s["bits_per_weight"],
                  case .array(let bits)? = s["bits"] else { return XCTFail(output) }
            XCTAssertLessThanOrEqual(bpw, 3 + 1e-9)
            XCTAssertEqual(bits.count, 12)
            if p == "uniform" { XCTAssertEqual(bits, Array(repeating: .int(3), count: 12)) }
        }
        (status, output) = try CLIProcess.run(search + ["--task", "rte"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not rte"), output)
        (status, output) = try CLIProcess.run(search + ["--proxy", "magic"])
        XCTAssertEqual(status, 64, output)

        // Another model's weights do not match the benchmark's hash.
        let other = folder.appendingPathComponent("ft2").path
        (status, output) = try CLIProcess.run(["finetune", "--arch", folder.appendingPathComponent("arch.json").path, "--task", "sst-2", "--data", task,
                                               "--tokenizer", folder.appendingPathComponent("vocab.txt").path, "--out", other, "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--seed", "5"])
        XCTAssertEqual(status, 0, output)
        (status, output) = try CLIProcess.run(["proxy", "evolve", "--benchmark", bench, "--checkpoint", other, "--data", task, "--out", proxy])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("SHA-256"), output)
        // A damaged benchmark names the field.
        let text = try String(contentsOfFile: bench, encoding: .utf8)
        try text.replacingOccurrences(of: "\"bitChoices\": [\n    2,", with: "\"bitChoices\": [\n    9,").write(toFile: bench, atomically: true, encoding: .utf8)
        (status, output) = try CLIProcess.run(["proxy", "evolve", "--benchmark", bench, "--data", task, "--out", proxy])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("bitChoices") && output.contains(bench), output)
    }

    /// An evolved architecture proxy is a proxy name (`evolved:FILE`) for `rank` and an objective for `search`; a missing
    /// or damaged file is named.
    func testEvolvedProxyIsANamedProxy() throws {
        let missing = folder.appendingPathComponent("missing.json").path
        var (status, output) = try CLIProcess.run(["rank", "--proxies", "evolved:" + missing, "--limit", "2"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains(missing) && output.contains("cannot be read"), output)
        (status, output) = try CLIProcess.run(["search", "--objective", "evolved", "--trials", "1"])
        XCTAssertEqual(status, 64, output)
        (status, output) = try CLIProcess.run(["search", "--space", "flexibert-true-size", "--objective", "evolved:" + missing, "--trials", "1",
                                               "--study", folder.appendingPathComponent("s.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains(missing) && output.contains("cannot be read"), "the name parses; the file is what fails: \(output)")
    }
}
