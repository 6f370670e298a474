import ArgumentParser
import COpenBLAS
import Foundation
import NASTensor

/// `swiftnas bench engine`: the tensor engine against its hardware references.
///
/// 1. matmul GFLOP/s of `Tensor.matmul` (result allocation included) against raw `cblas_sgemm` on the
///    same shapes and memory, with OpenBLAS's own threading on the same thread count (goal: ratio ≥ 0.95).
/// 2. bf16 and int8 matmul through oneDNN against oneDNN called raw and against fp32, and whether
///    oneDNN leaves OpenMP workers spinning against the engine (`LowPrecisionBench.swift`).
/// 3. layer norm, softmax and GELU on a 4096×1024 tensor, forward+backward and forward-only, against
///    the memory-traffic floor: bytes the op must move / measured copy bandwidth (goal: ratio ≤ 2).
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Engine matmul vs raw sgemm and raw oneDNN (bf16, int8), elementwise ops vs the memory-bandwidth floor.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        Engine.threads = options.threadCount
        let warmup = options.warmupRuns, runs = options.timedRuns
        print("swiftnas bench engine: \(Engine.threads) thread(s), OpenBLAS kernels \(Engine.blasCore), \(warmup) warm-up + median of \(runs) runs"
              + (options.quick ? " (quick smoke run: not for reporting)" : ""))
        var results: [BenchResult] = []
        func report(_ r: BenchResult) {
            results.append(r)
            print("  \(r.name): \(BenchReport.format(r.value)) \(r.unit)"
                  + (r.reference.map { " (reference \(BenchReport.format($0)), ratio \(BenchReport.format(r.ratio)))" } ?? ""))
        }

        var rng = RandomGenerator(seed: 0xBE7C)
        for c in Self.matmulCases(using: &rng) where options.selects(c.name) {
            let err = c.check()
            if err > 1e-4 { print("  warning: \(c.name): engine and sgemm results differ (max relative error \(err))") }
            // Blocks, not run-by-run alternation: after a multi-threaded sgemm the OpenBLAS workers
            // busy-wait ~0.1 s and would steal a core from the engine's next run.
            let (te, tr) = Measure.blocks(warmup: warmup, runs: runs, c.engine, c.raw) { usleep(300_000) }
            report(BenchResult(c.name, value: c.flops / te * 1e-9, unit: "GFLOP/s",
                               reference: c.flops / tr * 1e-9, goal: .atLeast(0.95)))
        }

        Self.lowPrecision(options: options, warmup: warmup, runs: runs, using: &rng, report: report)

        // The floors of the elementwise rows need the copy bandwidth, so it is measured whenever any runs.
        let elementwise = Self.elementwiseNames.filter(options.selects)
        if !elementwise.isEmpty || options.selects("copy bandwidth") {
            let copy = CopyProbe(bytes: 64 << 20)
            for t in Engine.threads > 1 ? [1, Engine.threads] : [1] {
                let s = Measure.seconds(warmup: warmup, runs: runs) { copy.run(threads: t) }
                report(BenchResult("copy bandwidth memcpy 64MB, \(t) thread\(t == 1 ? "" : "s") (read+write)",
                                   value: copy.trafficBytes / s * 1e-9, unit: "GB/s"))
            }
            Self.elementwise(copy: copy, warmup: warmup, runs: runs, selected: Set(elementwise),
                             using: &rng, report: report)
        }

        print("")
        print(BenchReport.table(results))
        print("""

        matmul reference: cblas_sgemm into a preallocated C with OpenBLAS on \(Engine.threads) thread(s) \
        (batched: a loop of 128 calls), timed in blocks engine/raw/raw/engine.
        fwd+bwd rows run p.tensor.op() then y.backward(dy) on a Parameter leaf, so they include the \
        engine's accumulation of dx into p.grad (zero-filled allocation + add: ~4 extra N-float passes); \
        the "leaf grad accumulate" row measures that part alone. Floors: fwd+bwd 5·N·4 bytes, fwd 2·N·4, \
        leaf accumulate 2·N·4 (one copy), at the \(Engine.threads)-thread memcpy bandwidth measured in \
        alternation with each row (op, copy, op, copy, …: both see the same interference, and the copy \
        evicts the op's tensors from the cache between runs).
        """)
        if let path = options.json {
            try BenchReport.writeJSON(results, to: path)
            print("wrote \(results.count) results to \(path)")
        }
    }

    // MARK: - matmul

    struct GemmCase {
        var name: String
        var flops: Double
        var engine: () -> Void
        var raw: () -> Void
        /// Max relative difference between the engine's and the raw result.
        var check: () -> Float
    }

    /// Runs `body` with OpenBLAS on `Engine.threads` threads (the raw reference: the engine itself keeps
    /// OpenBLAS single-threaded and splits GEMMs over its own threads), then restores the setting.
    @inline(__always)
    static func withBLASThreads(_ body: () -> Void) {
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(Int32(Engine.threads))
        body()
        openblas_set_num_threads(saved)
    }

    /// Row-major C[m×n] (ldc) = op(A)·op(B) through cblas_sgemm.
    @inline(__always)
    static func sgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int,
                      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// A preallocated, touched output buffer for the raw reference (freed with the process).
    static func outputBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    static func maxRelativeError(_ engine: Tensor, _ raw: UnsafeMutablePointer<Float>) -> Float {
        let e = engine.scalars
        var diff: Float = 0, scale: Float = 0
        for i in e.indices {
            diff = Swift.max(diff, Swift.abs(e[i] - raw[i]))
            scale = Swift.max(scale, Swift.abs(raw[i]))
        }
        return diff / Swift.max(scale, 1e-30)
    }

    static func matmulCases(using rng: inout RandomGenerator) -> [GemmCase] {
        var cases: [GemmCase] = []

        // Plain [m,k]·[k,n].
        for (m, k, n) in [(1024, 1024, 1024), (4096, 256, 256), (4096, 1024, 256), (4096, 256, 1024)] {
            let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
            let c = outputBuffer(m * n)
            let raw = { withBLASThreads { sgemm(false, false, m, n, k, a.basePointer, k, b.basePointer, n, c, n) } }
            cases.append(GemmCase(
                name: "matmul \(m)x\(k)x\(n)", flops: 2 * Double(m * k * n),
                engine: { Autograd.noGrad { _ = a.matmul(b) } }, raw: raw,
                check: { raw(); return maxRelativeError(Autograd.noGrad { a.matmul(b) }, c) }))
        }

        // Attention products: 32·4 = 128 batches; the raw reference is a loop of 128 sgemm calls.
        for (m, k, n) in [(128, 64, 128), (128, 128, 64)] {
            let batches = 32 * 4
            let a = Tensor.randomNormal([32, 4, m, k], using: &rng), b = Tensor.randomNormal([32, 4, k, n], using: &rng)
            let c = outputBuffer(batches * m * n)
            let raw = {
                let pa = a.basePointer, pb = b.basePointer
                withBLASThreads {
                    for i in 0..<batches {
                        sgemm(false, false, m, n, k, pa + i * m * k, k, pb + i * k * n, n, c + i * m * n, n)
                    }
                }
            }
            cases.append(GemmCase(
                name: "matmul batched 128x[\(m)x\(k)]x[\(k)x\(n)]", flops: 2 * Double(batches * m * k * n),
                engine: { Autograd.noGrad { _ = a.matmul(b) } }, raw: raw,
                check: { raw(); return maxRelativeError(Autograd.noGrad { a.matmul(b) }, c) }))
        }

        // Leading slice W[:768, :512] of a [1024, 1024] weight: a strided view, ldb = 1024, no copy.
        do {
            let m = 4096, k = 768, n = 512
            let w = Tensor.randomNormal([1024, 1024], using: &rng), x = Tensor.randomNormal([m, k], using: &rng)
            let ws = w.leading([k, n])
            let c = outputBuffer(m * n)
            let raw = { withBLASThreads { sgemm(false, false, m, n, k, x.basePointer, k, w.basePointer, 1024, c, n) } }
            cases.append(GemmCase(
                name: "matmul leading slice \(m)x\(k)x\(n) (W[:\(k),:\(n)] of 1024x1024)", flops: 2 * Double(m * k * n),
                engine: { Autograd.noGrad { _ = x.matmul(ws) } }, raw: raw,
                check: { raw(); return maxRelativeError(Autograd.noGrad { x.matmul(ws) }, c) }))
        }

        // Linear pattern: x[4096, 256] · Wᵀ with W [1024, 256] (out × in).
        do {
            let m = 4096, k = 256, n = 1024
            let x = Tensor.randomNormal([m, k], using: &rng), w = Tensor.randomNormal([n, k], using: &rng)
            let c = outputBuffer(m * n)
            let raw = { withBLASThreads { sgemm(false, true, m, n, k, x.basePointer, k, w.basePointer, k, c, n) } }
            cases.append(GemmCase(
                name: "matmul transposeB \(m)x\(k)x\(n) (x·Wt)", flops: 2 * Double(m * k * n),
                engine: { Autograd.noGrad { _ = x.matmul(w, transposeB: true) } }, raw: raw,
                check: { raw(); return maxRelativeError(Autograd.noGrad { x.matmul(w, transposeB: true) }, c) }))
        }
        return cases
    }

    // MARK: - memory bandwidth and elementwise ops

    /// memcpy of a buffer (64 MB: far beyond the caches), on one thread or split into `threads`
    /// contiguous parts copied concurrently. Bandwidth counts bytes read + bytes written.
    final class CopyProbe {
        let bytes: Int
        let src: UnsafeMutableRawPointer, dst: UnsafeMutableRawPointer

        init(bytes: Int) {
            self.bytes = bytes
            src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            memset(src, 1, bytes)
            memset(dst, 0, bytes)
        }

        deinit { src.deallocate(); dst.deallocate() }

        var trafficBytes: Double { 2 * Double(bytes) }

        func run(threads t: Int) {
            if t == 1 { memcpy(dst, src, bytes); return }
            let bytes = bytes, src = src, dst = dst
            DispatchQueue.concurrentPerform(iterations: t) { i in
                let lo = bytes * i / t & ~63, hi = i == t - 1 ? bytes : bytes * (i + 1) / t & ~63
                memcpy(dst + lo, src + lo, hi - lo)
            }
        }
    }

    static let elementwiseRows = 4096, elementwiseWidth = 1024
    static let elementwiseOps = ["gelu(erf)", "softmax", "layernorm"]
    static var elementwiseLabel: String { "\(elementwiseRows)x\(elementwiseWidth)" }
    static var elementwiseNames: [String] {
        elementwiseOps.map { "\($0) fwd+bwd \(elementwiseLabel) (+grad acc.)" }
            + elementwiseOps.map { "\($0) fwd \(elementwiseLabel)" }
            + ["leaf grad accumulate \(elementwiseLabel)"]
    }

    /// Forward+backward, forward-only and the leaf-accumulation part, each against its traffic floor at
    /// the copy bandwidth measured in alternation with it.
    static func elementwise(copy: CopyProbe, warmup: Int, runs: Int, selected: Set<String>,
                            using rng: inout RandomGenerator, report: (BenchResult) -> Void) {
        let rows = elementwiseRows, d = elementwiseWidth, n = rows * d
        let shape = [rows, d], label = elementwiseLabel
        let x = Tensor.randomNormal(shape, using: &rng)
        let dy = Tensor.randomNormal(shape, using: &rng)
        let gamma = Parameter(Tensor.randomNormal([d], mean: 1, std: 0.1, using: &rng), name: "gamma")
        let beta = Parameter(Tensor.randomNormal([d], std: 0.1, using: &rng), name: "beta")
        let p = Parameter(x, name: "x")
        func zero() { p.zeroGrad(); gamma.zeroGrad(); beta.zeroGrad() }
        let threads = Engine.threads

        /// Times `body` alternately with the copy; reports ms against `passes` N-float passes.
        func measure(_ name: String, passes: Int, goal: BenchResult.Goal?, prepare: () -> Void = {}, _ body: () -> Void) {
            guard selected.contains(name) else { return }
            let (t, tc) = Measure.interleaved(warmup: warmup, runs: runs, prepare: prepare, body) { copy.run(threads: threads) }
            let floor = Double(passes * n * 4) / (copy.trafficBytes / tc)
            report(BenchResult(name, value: t * 1e3, unit: "ms", reference: floor * 1e3, goal: goal))
        }

        let ops: [(String, (Tensor) -> Tensor, () -> Tensor)] = [
            ("gelu(erf)", { $0.gelu() }, { x.gelu() }),
            ("softmax", { $0.softmax() }, { x.softmax() }),
            ("layernorm", { $0.layerNorm(gamma: gamma.tensor, beta: beta.tensor) },
             { x.layerNorm(gamma: gamma.value, beta: beta.value) }),
        ]
        for (op, recorded, _) in ops {
            measure("\(op) fwd+bwd \(label) (+grad acc.)", passes: 5, goal: .atMost(2), prepare: zero) {
                recorded(p.tensor).backward(dy)
            }
        }
        for (op, _, forward) in ops {
            measure("\(op) fwd \(label)", passes: 2, goal: .atMost(2)) { Autograd.noGrad { _ = forward() } }
        }
        // The part of every fwd+bwd row that is autograd bookkeeping: dx lands in a fresh zeroed p.grad.
        measure("leaf grad accumulate \(label)", passes: 2, goal: nil, prepare: zero) { p.tensor.backward(dy) }
    }
}
