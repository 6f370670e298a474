import ArgumentParser
import COpenBLAS
import Foundation
import NASModels
import NASTensor

/// `swiftnas bench model`: the BERT-tiny MLM training step and encoder inference, against the
/// matmul floor (counted FLOPs / raw sgemm rate of this run) and the PyTorch twin when it imports.
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "BERT-tiny MLM training step and inference vs the matmul floor and PyTorch.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Python with torch for the PyTorch twin (default: .deps/torch-venv/bin/python, then python3).")
    var python: String?

    @Option(help: "The PyTorch twin script.")
    var twin = "Benchmarks/torch_bert_tiny.py"

    /// A workload run alone and repeatedly, for a profiler.
    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case step, stepBF16 = "step-bf16", inference, inferenceBF16 = "inference-bf16", inferenceInt8 = "inference-int8"
    }

    @Option(help: ArgumentHelp("Only run this workload repeatedly, for a profiler.", visibility: .hidden))
    var profile: Workload?

    static let batch = 32, length = 128, maskRate = 0.15

    static var architecture: Architecture {
        .uniform(.encoder, vocabSize: 30522, maxPositions: 512, hidden: 256, depth: 4, heads: 4, ffn: 1024)
    }

    /// The fixed synthetic batch: random ids, ~15 % masked positions with their labels.
    static func makeBatch() -> (TokenBatch, [Int32], [Int32]) {
        var rng = RandomGenerator(seed: 2024)
        let n = batch * length
        let ids = (0..<n).map { _ in Int32(rng.next() % 30522) }
        var positions: [Int32] = [], labels: [Int32] = []
        for i in 0..<n where Double(rng.uniform()) < maskRate {
            positions.append(Int32(i))
            labels.append(ids[i])
        }
        return (TokenBatch(ids: ids, batchSize: batch, length: length), positions, labels)
    }

    /// The bench model (seed 1), its masked-LM head and the AdamW of the twin over both.
    static func makeModel() -> (model: Transformer, head: MaskedLMHead, optimizer: AdamW) {
        var rng = RandomGenerator(seed: 1)
        let model = Transformer(architecture, rng: &rng)
        let head = MaskedLMHead(architecture, rng: &rng)
        return (model, head, AdamW(parameters: model.parameters + head.parameters, learningRate: 1e-4, weightDecay: 0.01))
    }

    func run() throws {
        Engine.threads = options.threadCount
        let arch = Self.architecture
        let (model, head, optimizer) = Self.makeModel()
        let (input, positions, labels) = Self.makeBatch()
        var dropoutRNG = RandomGenerator(seed: 7)

        func step() {
            let out = model(input, training: true, rng: &dropoutRNG)
            let rows = out.hidden.reshaped([Self.batch * Self.length, arch.hidden]).gather(rows: positions)
            let loss = head(rows, embeddings: model.wordEmbeddings).crossEntropy(targets: labels)
            loss.backward()
            optimizer.step()
            optimizer.zeroGrad()
        }
        func infer() { _ = Autograd.noGrad { model(input) } }
        if let profile {
            switch profile {
            case .step, .inference: break
            case .stepBF16: for m in [model, head] as [any Module] { m.use(.bf16) }
            case .inferenceBF16: model.quantize(.bf16)
            case .inferenceInt8: model.quantize(.int8)
            }
            let body = [.step, .stepBF16].contains(profile) ? step : infer
            for i in 0..<options.timedRuns {
                let t0 = Measure.now(); body()
                print("\(profile.rawValue) \(i): \(Double(Measure.now() - t0) * 1e-6) ms, live tensors \(TensorStorage.liveBytes >> 20) MB")
            }
            return
        }

        // FLOPs actually executed by one step and one inference (counted in the engine's matmuls).
        Engine.resetFLOPs(); step()
        let stepFLOPs = Double(Engine.countedFLOPs)
        Engine.resetFLOPs(); infer()
        let inferFLOPs = Double(Engine.countedFLOPs)

        let sgemm = rawSGEMMRate()
        let stepTime = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, step)
        let inferTime = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, infer)
        let peakMB = Double(peakResidentKB()) / 1024
        // Low precision (when the CPU has it): the same step in bf16 mixed precision; inference with
        // bf16 and with int8 weights.
        var low: (step: Double, bf16: Double, int8: Double)?
        if LowPrecision.isAvailable(.bf16) && LowPrecision.isAvailable(.int8) {
            for m in [model, head] as [any Module] { m.use(.bf16) }
            let step16 = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, step)
            model.quantize(.bf16)
            let infer16 = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, infer)
            model.quantize(.int8)
            let infer8 = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, infer)
            model.use(.fp32)
            low = (step16, infer16, infer8)
        } else {
            print(LowPrecision.fallbackNote(LowPrecision.isAvailable(.bf16) ? .int8 : .bf16) + "; no low-precision rows")
        }

        var results = [
            BenchResult("raw sgemm 1024³ (rate for the floor)", value: sgemm / 1e9, unit: "GFLOP/s"),
            BenchResult("train step FLOPs (counted)", value: stepFLOPs / 1e9, unit: "GFLOP"),
            BenchResult("train step vs matmul floor", value: stepTime, unit: "s", reference: stepFLOPs / sgemm,
                        goal: .atMost(1.35)),
            BenchResult("inference vs matmul floor", value: inferTime * 1000, unit: "ms",
                        reference: inferFLOPs / sgemm * 1000, goal: .atMost(1.35)),
            BenchResult("peak resident memory", value: peakMB, unit: "MB"),
        ]
        if let low {
            results += [
                BenchResult("train step bf16 vs fp32", value: low.step, unit: "s", reference: stepTime),
                BenchResult("inference bf16 vs fp32", value: low.bf16 * 1000, unit: "ms", reference: inferTime * 1000),
                BenchResult("inference int8 vs fp32", value: low.int8 * 1000, unit: "ms", reference: inferTime * 1000),
            ]
        }
        if let torch = try runTwin() {
            results += [
                BenchResult("train step vs PyTorch", value: stepTime, unit: "s", reference: torch.step, goal: .atMost(1 / 1.5)),
                BenchResult("inference vs PyTorch", value: inferTime * 1000, unit: "ms", reference: torch.infer * 1000,
                            goal: .atMost(1)),
                BenchResult("peak memory vs PyTorch", value: peakMB, unit: "MB", reference: torch.peakMB, goal: .atMost(1)),
                BenchResult("train step fp32 vs PyTorch autocast (bf16)", value: stepTime, unit: "s", reference: torch.stepAutocast),
            ]
            if let low {
                results += [
                    BenchResult("train step bf16 vs PyTorch autocast (bf16)", value: low.step, unit: "s",
                                reference: torch.stepAutocast, goal: .atMost(1 / 1.3)),
                    BenchResult("inference bf16 vs PyTorch autocast (bf16)", value: low.bf16 * 1000, unit: "ms",
                                reference: torch.inferAutocast * 1000, goal: .atMost(1)),
                    BenchResult("inference int8 vs PyTorch quantize_dynamic (int8)", value: low.int8 * 1000, unit: "ms",
                                reference: torch.inferQuantizeDynamic * 1000, goal: .atMost(0.6)),
                ]
            }
        } else {
            print("PyTorch twin: torch does not import here; skipped (make bench installs it into .deps/torch-venv).")
        }
        print("BERT-tiny MLM (4 layers, hidden 256, 4 heads, FFN 1024, seq \(Self.length), batch \(Self.batch), vocab 30522, "
              + "\(positions.count) masked positions, dropout 0.1, AdamW), \(Engine.threads) threads, OpenBLAS kernels \(Engine.blasCore), median of \(options.timedRuns)")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }

    /// Raw cblas_sgemm rate on 1024³ in this run (median of runs), OpenBLAS on the engine's thread count.
    func rawSGEMMRate() -> Double {
        openblas_set_num_threads(Int32(Engine.threads))
        defer { openblas_set_num_threads(1) }
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let t = Measure.seconds(warmup: 2, runs: options.timedRuns) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        }
        return 2 * Double(n * n * n) / t
    }

    /// Peak resident set size of this process (VmHWM), in kB.
    func peakResidentKB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    struct TwinResult: Decodable {
        var step: Double, infer: Double, peakMB: Double
        var stepAutocast: Double, inferAutocast: Double, inferQuantizeDynamic: Double
        enum CodingKeys: String, CodingKey {
            case step, infer, peakMB, stepAutocast = "step_autocast", inferAutocast = "infer_autocast"
            case inferQuantizeDynamic = "infer_quantize_dynamic"
        }
    }

    /// Runs the PyTorch twin in a child process (its own memory peak), or nil when torch is absent.
    func runTwin() throws -> TwinResult? {
        let candidates = [python, ".deps/torch-venv/bin/python", "python3"].compactMap { $0 }
        guard let py = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) || $0 == "python3" }),
              FileManager.default.fileExists(atPath: twin) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [py, twin, "--threads", "\(Engine.threads)", "--runs", "\(options.timedRuns)",
                             "--warmup", "\(options.warmupRuns)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = String(data: data, encoding: .utf8)?
            .split(separator: "\n").last(where: { $0.hasPrefix("{") }) else { return nil }
        return try JSONDecoder().decode(TwinResult.self, from: Data(line.utf8))
    }
}
