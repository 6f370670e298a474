import ArgumentParser
import Foundation
import NASModels
import NASTensor
import NASTrain

/// `swiftnas bench data-parallel`: the BERT-tiny MLM training step of `bench model` (32 × 128, AdamW)
/// on one process with 2 engine threads against `mpirun -np 2` ranks of 1 thread each on 16 rows apiece
/// (sharded dropout, the MLM share, a barrier that times the wait for the slower rank apart, one gradient
/// all-reduce, the update), and the all-reduce of that
/// gradient (every parameter, fp32) alone. Started without `mpirun`, it measures the one-process step,
/// then runs itself under `mpirun -np 2` (loopback, shared memory) for the rest and reads rank 0's figures.
struct DataParallelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel",
        abstract: "BERT-tiny step: 1 rank × 2 threads vs 2 MPI ranks × 1 thread; the gradient all-reduce per step.")

    @OptionGroup var options: BenchOptions

    @Option(parsing: .unconditional, help: "Ranks of the data-parallel job.", transform: NumberArgument.positive)
    var ranks = 2

    @Option(help: ArgumentHelp("Where the ranks write rank 0's figures (set by the driver).", visibility: .hidden))
    var rankFigures: String?

    mutating func validate() throws {
        guard ranks >= 2 && ranks <= ModelBench.batch else { throw ValidationError("--ranks must be 2 … \(ModelBench.batch) (the batch's rows)") }
    }

    /// One rank's timed figures (seconds, medians).
    struct Figures: Codable {
        var step: Double, wait: Double, allReduceInStep: Double, allReduce: Double, gradientFloats: Int, ranks: Int, runs: Int
    }

    func run() throws {
        let world = Communicator.world
        if world.isDistributed {
            let figures = try measureRank(world)
            if world.isRoot, let rankFigures { try AtomicFile.write(try JSONEncoder().encode(figures), to: URL(fileURLWithPath: rankFigures)) }
            return
        }
        // The driver: one process × 2 threads, then the job.
        Engine.threads = 2
        let single = measureStep(shard: nil, communicator: world).step
        guard let mpirun = Self.mpirun else {
            print("data-parallel bench: mpirun is not installed (`make mpi`); only the one-process step was measured")
            print(BenchReport.table([BenchResult("train step, 1 rank × 2 threads (32 × 128 MLM)", value: single, unit: "s")]))
            return
        }
        let figuresFile = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-dp-bench-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: figuresFile) }
        let p = Process()
        p.executableURL = mpirun
        p.arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader,tcp",
                       "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
                       URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, "bench", "data-parallel",
                       "--threads", "1", "--runs", "\(options.runs)", "--rank-figures", figuresFile.path] + (options.quick ? ["--quick"] : [])
        p.environment = ProcessInfo.processInfo.environment.merging([
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]) { given, _ in given }   // a value set by the user wins
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("mpirun -np \(ranks) swiftnas bench data-parallel failed (exit \(p.terminationStatus))") }
        let f = try JSONDecoder().decode(Figures.self, from: Data(contentsOf: figuresFile))
        let bytes = Double(f.gradientFloats * 4)
        let results = [
            BenchResult("train step, 1 rank × 2 threads (32 × 128 MLM)", value: single, unit: "s"),
            BenchResult("train step, \(f.ranks) ranks × 1 thread vs 1 rank × 2 threads", value: f.step, unit: "s", reference: single),
            BenchResult("wait for the slower rank before the all-reduce (the longer-waiting rank's median)", value: f.wait * 1000, unit: "ms"),
            BenchResult("gradient all-reduce inside the step vs the step", value: f.allReduceInStep * 1000, unit: "ms",
                        reference: f.step * 1000),
            BenchResult(String(format: "all-reduce alone, %.1fM floats (%.0f MB), %d ranks", Double(f.gradientFloats) / 1e6, bytes / 1e6, f.ranks),
                        value: f.allReduce * 1000, unit: "ms"),
            // Bus bandwidth as NCCL's tests define it: the bytes a ring moves per rank, 2(K−1)/K · S, over the time.
            BenchResult("all-reduce bus bandwidth, 2(K−1)/K · bytes / time", value: 2 * Double(f.ranks - 1) / Double(f.ranks) * bytes / f.allReduce / 1e9,
                        unit: "GB/s"),
        ]
        print("data-parallel bench: BERT-tiny of `bench model` (\(String(format: "%.1fM", Double(f.gradientFloats) / 1e6)) parameters), "
              + "batch 32 × 128, median of \(f.runs) steps; \(f.ranks) ranks on this machine's \(ProcessInfo.processInfo.activeProcessorCount) cores, "
              + "Open MPI over shared memory (vader, single copy off)")
        print(BenchReport.table(results))
        if let json = options.json { try BenchReport.writeJSON(results, to: json) }
    }

    static var mpirun: URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// A rank of the job: its median step and all-reduce times (every rank runs the same collectives).
    func measureRank(_ world: Communicator) throws -> Figures {
        Engine.threads = options.threads ?? 1
        let shard = BatchShard(total: ModelBench.batch, rank: world.rank, ranks: world.size)
        let stepFigures = measureStep(shard: shard, communicator: world)
        // The all-reduce alone on a gradient of the same size.
        let parameters = stepFigures.parameters
        for p in parameters { p.setGrad(Tensor(repeating: 1e-3, shape: p.shape)) }
        let allReduce = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns) { world.allReduceGradients(parameters) }
        // The wait of the rank that waited longest (the faster one waits for the slower).
        var wait = [stepFigures.wait]
        world.allReduceMax(&wait)
        return Figures(step: stepFigures.step, wait: wait[0], allReduceInStep: stepFigures.allReduce, allReduce: allReduce,
                       gradientFloats: parameters.reduce(0) { $0 + $1.value.count }, ranks: world.size, runs: options.timedRuns)
    }

    /// The median step on `shard`'s rows of the bench batch (nil: all of them, no all-reduce), with the
    /// medians of its wait for the slowest rank (a barrier before the all-reduce, in this bench only) and
    /// of its gradient all-reduce.
    func measureStep(shard: BatchShard?, communicator: Communicator) -> (step: Double, wait: Double, allReduce: Double,
                                                                           parameters: [Parameter]) {
        let arch = ModelBench.architecture
        let (model, head, optimizer) = ModelBench.makeModel()
        let parameters = optimizer.parameters
        let (batch, positions, labels) = ModelBench.makeBatch()
        let length = ModelBench.length
        let rows = shard?.rows ?? 0..<batch.batchSize
        let input = batch.rows(rows)
        let mine = positions.indices.filter { rows.contains(Int(positions[$0]) / length) }
        let localPositions = mine.map { positions[$0] - Int32(rows.lowerBound * length) }, localLabels = mine.map { labels[$0] }
        let dataParallel = shard.map { _ in try! DataParallel(batchSize: batch.batchSize, communicator: communicator) }
        var dropout = RandomGenerator(seed: 7)
        var waits: [Double] = [], allReduceTimes: [Double] = []
        func step() {
            dropout.batchShard = shard
            let out = model(input, training: true, rng: &dropout)
            let picked = out.hidden.reshaped([input.batchSize * length, arch.hidden]).gather(rows: localPositions)
            let total = dataParallel?.globalCount(localLabels.count) ?? localLabels.count
            DataParallel.share(head(picked, embeddings: model.wordEmbeddings).crossEntropy(targets: localLabels),
                               count: localLabels.count, of: total)?.backward()
            let t0 = Measure.now()
            communicator.barrier()
            let t1 = Measure.now()
            communicator.allReduceGradients(parameters)
            waits.append(Double(t1 - t0) / 1e9)
            allReduceTimes.append(Double(Measure.now() - t1) / 1e9)
            optimizer.step()
            optimizer.zeroGrad()
        }
        let seconds = Measure.seconds(warmup: options.warmupRuns, runs: options.timedRuns, step)
        return (seconds, Measure.median(Array(waits.suffix(options.timedRuns))), Measure.median(Array(allReduceTimes.suffix(options.timedRuns))),
                parameters)
    }
}
