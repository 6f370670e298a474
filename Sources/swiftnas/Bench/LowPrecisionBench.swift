import CDNNL
import Foundation
import NASTensor

/// The low-precision rows of `swiftnas bench engine`: bf16 (the engine's AMX kernel where the CPU has
/// AMX) and int8 matmul through the engine against oneDNN called raw (same operands, pre-converted, with its own OpenMP threading on the same thread
/// count; goal ≥ 0.95) and against the fp32 `Tensor.matmul` of the same shape, plus the thread check:
/// does an OpenMP team left behind by a oneDNN call slow the engine's next elementwise kernel?
///
/// Shapes are M×K×N with the weight in `Linear`'s layout W [N, K] (B = Wᵀ).
extension EngineBench {
    static let lowPrecisionShapes = [(1024, 1024, 1024), (4096, 256, 1024), (4096, 1024, 256)]

    /// Names of every low-precision row (for `--filter`).
    static var lowPrecisionNames: [String] {
        lowPrecisionShapes.flatMap { m, k, n -> [String] in
            ["bf16", "int8"].flatMap { kind in
                ["\(kind) matmul \(m)x\(k)x\(n) engine API vs raw oneDNN",
                 "\(kind) matmul \(m)x\(k)x\(n) Tensor (fp32 x) vs raw oneDNN",
                 "\(kind) matmul \(m)x\(k)x\(n) Tensor (fp32 x) vs fp32 matmul"]
            }
        } + threadCheckNames
    }

    static let threadCheckNames = [
        "bf16 threads: gelu fwd 4096x1024 right after raw oneDNN (OpenMP team) vs after fp32 matmul",
        "bf16 threads: gelu fwd 4096x1024 right after engine bf16 matmul vs after fp32 matmul",
        "bf16 threads: CPU ms burnt in 100 ms idle after raw oneDNN (OpenMP team)",
        "bf16 threads: CPU ms burnt in 100 ms idle after engine bf16 matmul",
    ]

    static func lowPrecision(options: BenchOptions, warmup: Int, runs: Int, using rng: inout RandomGenerator,
                             report: (BenchResult) -> Void) {
        for kind in LowPrecision.Kind.allCases where !LowPrecision.isAvailable(kind) {
            if lowPrecisionNames.contains(where: { $0.hasPrefix(kind.rawValue) && options.selects($0) }) {
                print("  " + LowPrecision.fallbackNote(kind) + " (the \(kind.rawValue) rows are skipped)")
            }
        }
        for (m, k, n) in lowPrecisionShapes {
            for kind in LowPrecision.Kind.allCases where LowPrecision.isAvailable(kind)
                && lowPrecisionNames.contains(where: { $0.hasPrefix("\(kind.rawValue) matmul \(m)x\(k)x\(n)") && options.selects($0) }) {
                let engine = kind == .bf16 && LowPrecision.hasAMXKernel && k % 32 == 0 ? "the engine runs its AMX kernel; " : ""
                print("  \(kind.rawValue) \(m)x\(k)x\(n): \(engine)oneDNN runs "
                      + "\(LowPrecision.implementationName(kind, m: m, n: n, k: k, transposeB: true)) (W [n, k] read transposed), "
                      + "\(LowPrecision.implementationName(kind, m: m, n: n, k: k)) (B [k, n] row-major)")
            }
            let names = lowPrecisionNames.filter { $0.contains(" \(m)x\(k)x\(n) ") }
            guard names.contains(where: options.selects) else { continue }
            let x = Tensor.randomNormal([m, k], using: &rng), w = Tensor.randomNormal([n, k], using: &rng)
            let bias = Tensor.randomNormal([n], using: &rng)
            let flops = 2 * Double(m * k * n)
            let c = outputBuffer(m * n)
            // The fp32 row of the same run, shared by both kinds.
            var fp32Seconds: Double?
            func fp32() -> Double {
                if let s = fp32Seconds { return s }
                let s = Measure.seconds(warmup: warmup, runs: runs) { Autograd.noGrad { _ = x.matmul(w, transposeB: true) + bias } }
                fp32Seconds = s
                return s
            }
            func rows(_ kind: String, engine: () -> Void, raw: RawMatmul, tensor: () -> Void) {
                let prefix = "\(kind) matmul \(m)x\(k)x\(n) "
                if options.selects(prefix + "engine API vs raw oneDNN") {
                    let (te, tr) = Measure.blocks(warmup: warmup, runs: runs, engine, raw.run) { usleep(300_000) }
                    report(BenchResult(prefix + "engine API vs raw oneDNN", value: flops / te * 1e-9, unit: "GFLOP/s",
                                       reference: flops / tr * 1e-9, goal: .atLeast(0.95)))
                }
                if options.selects(prefix + "Tensor (fp32 x) vs raw oneDNN") {
                    let (te, tr) = Measure.blocks(warmup: warmup, runs: runs, tensor, raw.run) { usleep(300_000) }
                    report(BenchResult(prefix + "Tensor (fp32 x) vs raw oneDNN", value: flops / te * 1e-9, unit: "GFLOP/s",
                                       reference: flops / tr * 1e-9))
                }
                if options.selects(prefix + "Tensor (fp32 x) vs fp32 matmul") {
                    usleep(300_000)  // no OpenMP worker of the raw runs left spinning
                    let t32 = fp32()
                    let te = Measure.seconds(warmup: warmup, runs: runs, tensor)
                    report(BenchResult(prefix + "Tensor (fp32 x) vs fp32 matmul", value: flops / te * 1e-9, unit: "GFLOP/s",
                                       reference: flops / t32 * 1e-9))
                }
            }
            if LowPrecision.isAvailable(.bf16) {
                let xb = BF16Matrix(rounding: x), wb = BF16Matrix(rounding: w)
                let bv = bias.scalars
                let raw = RawMatmul(.bf16, m: m, n: n, k: k, a: UnsafeRawPointer(xb.storage), b: UnsafeRawPointer(wb.storage),
                                    bias: bv, c: c)
                rows("bf16", engine: {
                    LowPrecision.gemmBF16(xb.matrix, wb.matrix.transposed, bias: bv, into: c, ldc: n)
                }, raw: raw, tensor: { _ = x.matmulBF16(wb, transposeB: true, bias: bias) })
                withExtendedLifetime((xb, wb)) {}
            }
            if LowPrecision.isAvailable(.int8) {
                let wq = Int8Weights(quantizing: w), xq = QuantizedActivations(quantizing: x)
                let bv = bias.scalars
                // The raw call is oneDNN's fastest int8 product, u8·s8 → s32 alone; the engine's row adds
                // its rescale to fp32 (scales, zero-point compensation, bias) on top.
                let raw = xq.values.withUnsafeBufferPointer { a in
                    wq.values.withUnsafeBufferPointer { b in
                        RawMatmul(.int8, m: m, n: n, k: k, a: UnsafeRawPointer(a.baseAddress!), b: UnsafeRawPointer(b.baseAddress!),
                                  bias: nil, c: c)
                    }
                }
                rows("int8", engine: {
                    xq.values.withUnsafeBufferPointer { a in
                        wq.values.withUnsafeBufferPointer { b in
                            LowPrecision.gemmInt8(StridedMatrix(a.baseAddress!, rows: m, cols: k, rowStride: k), scale: xq.scale,
                                                  zeroPoint: xq.zeroPoint, StridedMatrix(b.baseAddress!, rows: n, cols: k, rowStride: k).transposed,
                                                  scales: wq.scales, columnSums: wq.columnSums, bias: bv, into: c, ldc: n)
                        }
                    }
                }, raw: raw, tensor: { _ = x.matmulInt8(wq, bias: bias) })
                withExtendedLifetime((wq, xq)) {}
            }
        }
        threadCheck(options: options, warmup: warmup, runs: runs, using: &rng, report: report)
    }

    /// Whether OpenMP workers left by a oneDNN call slow the engine: a GELU forward (4096×1024, the
    /// engine's threads) timed right after a 1024³ bf16 matmul, raw (an OpenMP team of `Engine.threads`)
    /// or through the engine (one OpenMP thread per engine thread), against the GELU right after the
    /// engine's fp32 matmul of the same size (OpenBLAS single-threaded, split by the engine: no worker
    /// left behind, and the same cache and clock-frequency aftermath of a large GEMM); and the process
    /// CPU time burnt during 100 ms of sleep right after each call (threads left spinning).
    static func threadCheck(options: BenchOptions, warmup: Int, runs: Int, using rng: inout RandomGenerator,
                            report: (BenchResult) -> Void) {
        guard LowPrecision.isAvailable(.bf16), threadCheckNames.contains(where: options.selects) else { return }
        let s = 1024
        let a = BF16Matrix(rounding: Tensor.randomNormal([s, s], using: &rng))
        let b = BF16Matrix(rounding: Tensor.randomNormal([s, s], using: &rng))
        let c = outputBuffer(s * s)
        let raw = RawMatmul(.bf16, m: s, n: s, k: s, a: UnsafeRawPointer(a.storage), b: UnsafeRawPointer(b.storage),
                            bias: nil, c: c, plain: true)
        let engine = { LowPrecision.gemmBF16(a.matrix, b.matrix, into: c, ldc: s) }
        let x = Tensor.randomNormal([4096, 1024], using: &rng)
        let gelu = { Autograd.noGrad { _ = x.gelu() } }
        let fa = Tensor.randomNormal([s, s], using: &rng), fb = Tensor.randomNormal([s, s], using: &rng)
        let fp32 = { Autograd.noGrad { _ = fa.matmul(fb) } }
        // The three cases in rotation (fp32, raw, engine; then raw, engine, fp32; …), so interference from
        // other processes hits all alike; a raw call's spinning workers are gone (~5 ms) long before the
        // next case's 1024³ matmul ends.
        let cases: [() -> Void] = [fp32, raw.run, engine]
        var samples: [[Double]] = [[], [], []]
        for _ in 0..<warmup { for c in cases { c(); gelu() } }
        for i in 0..<Swift.max(runs, 3 * ((runs + 2) / 3)) {
            for j in 0..<3 {
                let c = (i + j) % 3
                cases[c]()
                let t0 = Measure.now()
                gelu()
                samples[c].append(Double(Measure.now() - t0) * 1e-9)
            }
        }
        let baseline = Measure.median(samples[0])
        for (name, c) in [(threadCheckNames[0], 1), (threadCheckNames[1], 2)] where options.selects(name) {
            report(BenchResult(name, value: Measure.median(samples[c]) * 1e3, unit: "ms", reference: baseline * 1e3, goal: .atMost(1.1)))
        }
        for (name, call) in [(threadCheckNames[2], raw.run), (threadCheckNames[3], engine)] where options.selects(name) {
            usleep(300_000)
            var burnt: [Double] = []
            for _ in 0..<Swift.max(3, runs / 2) {
                call()
                let t0 = cpuSeconds()
                usleep(100_000)
                burnt.append((cpuSeconds() - t0) * 1e3)
            }
            report(BenchResult(name, value: Measure.median(burnt), unit: "ms CPU"))
        }
        withExtendedLifetime((a, b)) {}
    }

    /// User + system CPU time of the whole process (all threads), seconds.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }

    /// oneDNN's matmul called directly: one primitive for the whole product, created and run with an
    /// OpenMP team of `Engine.threads` (oneDNN's own threading, as a user of the library would run it).
    /// A is [m, k] row-major; B is W [n, k] read transposed (or [k, n] row-major when `plain`).
    final class RawMatmul {
        let primitive: dnnl_primitive_t
        let stream: dnnl_stream_t
        var memories: [dnnl_memory_t] = []
        var args: [dnnl_exec_arg_t] = []
        let scratch: UnsafeMutableRawPointer?
        let biasCopy: [Float]?

        init(_ kind: LowPrecision.Kind, m: Int, n: Int, k: Int, a: UnsafeRawPointer, b: UnsafeRawPointer,
             bias: [Float]?, c: UnsafeMutablePointer<Float>, plain: Bool = false) {
            func ok(_ s: dnnl_status_t, _ what: String) { precondition(s == dnnl_success, "raw oneDNN: \(what) failed (\(s.rawValue))") }
            func md(_ dims: [Int], _ t: dnnl_data_type_t, _ strides: [Int]) -> dnnl_memory_desc_t {
                var d = dnnl_memory_desc_t()
                ok(dnnl_memory_desc_init_by_strides(&d, Int32(dims.count), dims.map { dnnl_dim_t($0) }, t, strides.map { dnnl_dim_t($0) }), "descriptor")
                return d
            }
            var engine: dnnl_engine_t?
            ok(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine")
            var s: dnnl_stream_t?
            ok(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
            stream = s!
            let (ta, tb) = kind == .bf16 ? (dnnl_bf16, dnnl_bf16) : (dnnl_u8, dnnl_s8)
            var amd = md([m, k], ta, [k, 1]), bmd = md([k, n], tb, plain ? [n, 1] : [1, k]), cmd = md([m, n], kind == .bf16 ? dnnl_f32 : dnnl_s32, [n, 1])
            var biasmd = md([1, n], dnnl_f32, [n, 1])
            var desc = dnnl_matmul_desc_t()
            ok(bias != nil ? dnnl_matmul_desc_init(&desc, &amd, &bmd, &biasmd, &cmd) : dnnl_matmul_desc_init(&desc, &amd, &bmd, nil, &cmd), "desc")
            var attr: dnnl_primitive_attr_t?
            ok(dnnl_primitive_attr_create(&attr), "attr")
            ok(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
            omp_set_num_threads(Int32(Engine.threads))
            var pd: dnnl_primitive_desc_t?
            ok(dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil), "primitive descriptor")
            dnnl_primitive_attr_destroy(attr)
            var p: dnnl_primitive_t?
            ok(dnnl_primitive_create(&p, pd), "primitive")
            primitive = p!
            let bytes = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0).map { dnnl_memory_desc_get_size($0) } ?? 0
            dnnl_primitive_desc_destroy(pd)
            scratch = bytes > 0 ? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) : nil
            biasCopy = bias
            func arg(_ index: Int32, _ d: dnnl_memory_desc_t, _ handle: UnsafeRawPointer?) {
                var d = d
                var mem: dnnl_memory_t?
                ok(dnnl_memory_create(&mem, &d, engine, UnsafeMutableRawPointer(mutating: handle)), "memory")
                memories.append(mem!)
                args.append(dnnl_exec_arg_t(arg: index, memory: mem))
            }
            arg(DNNL_ARG_SRC, amd, a)
            arg(DNNL_ARG_WEIGHTS, bmd, b)
            arg(DNNL_ARG_DST, cmd, c)
            if let biasCopy { biasCopy.withUnsafeBufferPointer { arg(DNNL_ARG_BIAS, biasmd, $0.baseAddress) } }
            if let scratch { arg(DNNL_ARG_SCRATCHPAD, md([bytes], dnnl_u8, [1]), scratch) }
        }

        func run() {
            omp_set_num_threads(Int32(Engine.threads))
            let status = dnnl_primitive_execute(primitive, stream, Int32(args.count), args)
            precondition(status == dnnl_success, "raw oneDNN: execute failed (\(status.rawValue))")
        }
    }
}
