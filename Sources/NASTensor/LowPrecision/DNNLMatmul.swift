import CDNNL
import CKernels
import Dispatch
import Foundation

/// oneDNN matmul primitives, cached per (kind, shape, strides, bias, α), executed on the engine's threads.
///
/// A primitive computes C[m×n] (row stride ldc) = A[m×k] · B[k×n] with A and B in the kind's data
/// types and any strides (`dnnl_memory_desc_init_by_strides`): for bf16 an fp32 C (+ bias[n]); for int8
/// the plain int32 sums, rescaled to fp32 in place by the engine (`nk_rescale_s32`) block by block,
/// while each block is still in cache. oneDNN 2.6 runs int8 with runtime output scales only in its
/// older `gemm:jit` kernels, 3–10× slower than the AMX/VNNI `brg` kernels that an int32 output gets
/// (measured on a CPU with AMX). A batched bf16 primitive (`runBatched`, attention's products) computes
/// α·A·B for every index of leading batch dimensions, with a compile-time output scale α. The scratchpad
/// is user-managed, so parts of one call can run the same primitive concurrently.
enum DNNLMatmul {
    struct Key: Hashable {
        var kind: LowPrecision.Kind
        /// Leading batch dimensions, shared by A, B and C (empty: one product).
        var batch: [Int] = []
        var m: Int, n: Int, k: Int
        /// Element strides of A [batch…, m, k], B [batch…, k, n] and C [batch…, m, n].
        var aStrides: [Int], bStrides: [Int], cStrides: [Int]
        var bias: Bool
        /// A constant factor on the product (oneDNN's output scale; 1 for none).
        var alpha: Float = 1

        /// One product with row-major C of row stride `ldc`.
        init(kind: LowPrecision.Kind, m: Int, n: Int, k: Int, aStrides: (Int, Int), bStrides: (Int, Int), ldc: Int, bias: Bool) {
            self.kind = kind
            self.m = m; self.n = n; self.k = k
            self.aStrides = [aStrides.0, aStrides.1]
            self.bStrides = [bStrides.0, bStrides.1]
            cStrides = [ldc, 1]
            self.bias = bias
        }

        /// A batch of products (bf16), with α.
        init(batch: [Int], m: Int, n: Int, k: Int, aStrides: [Int], bStrides: [Int], cStrides: [Int], alpha: Float) {
            kind = .bf16
            self.batch = batch
            self.m = m; self.n = n; self.k = k
            self.aStrides = aStrides; self.bStrides = bStrides; self.cStrides = cStrides
            bias = false
            self.alpha = alpha
        }

        var types: (a: dnnl_data_type_t, b: dnnl_data_type_t, c: dnnl_data_type_t) {
            kind == .bf16 ? (dnnl_bf16, dnnl_bf16, dnnl_f32) : (dnnl_u8, dnnl_s8, dnnl_s32)
        }
        var a: dnnl_memory_desc_t { descriptor(batch + [m, k], types.a, aStrides) }
        var b: dnnl_memory_desc_t { descriptor(batch + [k, n], types.b, bStrides) }
        var c: dnnl_memory_desc_t { descriptor(batch + [m, n], types.c, cStrides) }
        var biasDescriptor: dnnl_memory_desc_t { descriptor([1, n], dnnl_f32, [n, 1]) }
    }

    final class Primitive {
        let primitive: dnnl_primitive_t
        let scratchpadBytes: Int
        let implementation: String
        init(primitive: dnnl_primitive_t, scratchpadBytes: Int, implementation: String) {
            self.primitive = primitive
            self.scratchpadBytes = scratchpadBytes
            self.implementation = implementation
        }
        deinit { dnnl_primitive_destroy(primitive) }
    }

    /// Cached primitives at most (each holds JIT-compiled code); a full cache is emptied, since a
    /// supernet visiting many sub-network shapes would otherwise grow it without bound.
    static let capacity = 1024

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN: \(what()) failed with status \(status.rawValue)")
    }

    static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        return e!
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Key: Primitive] = [:]
    nonisolated(unsafe) private static var hits = 0, misses = 0
    /// One stream and one scratchpad per part (calls are serialised by `runLock`).
    nonisolated(unsafe) private static var streams: [dnnl_stream_t] = []
    nonisolated(unsafe) private static var scratchpads: [(UnsafeMutableRawPointer, Int)] = []
    private static let runLock = NSLock()

    static var statistics: (hits: Int, misses: Int) {
        lock.lock(); defer { lock.unlock() }
        return (hits, misses)
    }

    /// A memory descriptor of a `dims` tensor of `type` with element `strides`.
    static func descriptor(_ dims: [Int], _ type: dnnl_data_type_t, _ strides: [Int]) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }, s = strides.map { dnnl_dim_t($0) }
        check(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), d, type, s), "a \(dims) memory descriptor with strides \(strides)")
        return md
    }

    /// The cached primitive for `key`, created (for one OpenMP thread) on a miss.
    static func primitive(for key: Key) -> Primitive {
        lock.lock(); defer { lock.unlock() }
        if let p = cache[key] { hits += 1; return p }
        misses += 1
        if cache.count >= capacity { cache.removeAll() }  // parts running hold their own references
        var a = key.a, b = key.b, c = key.c, bias = key.biasDescriptor
        var desc = dnnl_matmul_desc_t()
        let status = key.bias ? dnnl_matmul_desc_init(&desc, &a, &b, &bias, &c) : dnnl_matmul_desc_init(&desc, &a, &b, nil, &c)
        check(status, "matmul descriptor for \(key)")
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "primitive attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "user scratchpad mode")
        if key.alpha != 1 {
            var alpha = key.alpha
            check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "the output scale \(key.alpha)")
        }
        // The primitive's internal thread count is the creating thread's OpenMP thread count.
        omp_set_num_threads(1)
        var pd: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil), "matmul primitive descriptor for \(key)")
        defer { dnnl_primitive_desc_destroy(pd) }
        var impl: UnsafePointer<CChar>?
        _ = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)
        let scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)
        let bytes = scratch.map { dnnl_memory_desc_get_size($0) } ?? 0
        var prim: dnnl_primitive_t?
        check(dnnl_primitive_create(&prim, pd), "matmul primitive for \(key)")
        let p = Primitive(primitive: prim!, scratchpadBytes: bytes, implementation: impl.map { String(cString: $0) } ?? "?")
        cache[key] = p
        return p
    }

    /// A oneDNN memory object over `handle` (not owned).
    static func memory(_ md: dnnl_memory_desc_t, _ handle: UnsafeRawPointer?) -> dnnl_memory_t {
        var md = md
        var mem: dnnl_memory_t?
        check(dnnl_memory_create(&mem, &md, engine, UnsafeMutableRawPointer(mutating: handle)), "a memory object")
        return mem!
    }

    /// One part: executes the primitive for `key` on one OpenMP thread in the calling thread.
    static func execute(_ key: Key, _ p: Primitive, part: Int, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>,
                        bias: UnsafePointer<Float>?) {
        omp_set_num_threads(1)
        var mems: [dnnl_memory_t] = []
        var args: [dnnl_exec_arg_t] = []
        func arg(_ index: Int32, _ md: dnnl_memory_desc_t, _ handle: UnsafeRawPointer?) {
            let mem = memory(md, handle)
            mems.append(mem)
            args.append(dnnl_exec_arg_t(arg: index, memory: mem))
        }
        arg(DNNL_ARG_SRC, key.a, a)
        arg(DNNL_ARG_WEIGHTS, key.b, b)
        arg(DNNL_ARG_DST, key.c, c)
        if key.bias { arg(DNNL_ARG_BIAS, key.biasDescriptor, bias) }
        if p.scratchpadBytes > 0 {
            arg(DNNL_ARG_SCRATCHPAD, descriptor([p.scratchpadBytes], dnnl_u8, [1]), UnsafeRawPointer(scratchpad(part, bytes: p.scratchpadBytes)))
        }
        check(dnnl_primitive_execute(p.primitive, streams[part], Int32(args.count), args), "executing the \(key.kind) matmul")
        for mem in mems { dnnl_memory_destroy(mem) }
    }

    /// One stream and scratchpad per part, created on first use (call with `runLock` held).
    private static func prepareStreams(_ parts: Int) {
        while streams.count < parts {
            var s: dnnl_stream_t?
            check(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "a CPU stream")
            streams.append(s!)
            scratchpads.append((UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64), 64))
        }
    }

    /// The scratchpad of `part`, grown to at least `bytes`.
    private static func scratchpad(_ part: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if scratchpads[part].1 < bytes {
            scratchpads[part].0.deallocate()
            scratchpads[part] = (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        }
        return scratchpads[part].0
    }

    /// The int8 epilogue: C[i,j] = scales[j] · (Σₖ A[i,k]·B[k,j] − offsets[j]) + bias[j].
    struct Rescale {
        var scales: UnsafePointer<Float>
        var offsets: UnsafePointer<Int32>
    }

    /// The int8 output block rescaled at once: small enough to stay in L2 between the GEMM and the rescale.
    static let rescaleBlockBytes = 1 << 19

    /// C = A · B (+ bias), split over the engine's threads; int8 needs `rescale`. `elementSizes` are the
    /// byte sizes of A's and B's elements.
    static func run(_ kind: LowPrecision.Kind, m: Int, n: Int, k: Int,
                    a: UnsafeRawPointer, aStrides: (Int, Int), b: UnsafeRawPointer, bStrides: (Int, Int), elementSizes: (Int, Int),
                    c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, rescale: Rescale? = nil) {
        precondition((kind == .int8) == (rescale != nil), "LowPrecision: an int8 matmul, and only one, needs its rescale")
        if m == 0 || n == 0 { return }
        precondition(k > 0, "LowPrecision: \(kind) matmul with an empty inner dimension (k = 0)")
        let parts = Swift.max(1, Swift.min(Engine.threads, m * n * k >= (1 << 20) ? Swift.max(m, n) / 64 : 1))
        let splitRows = m >= n
        var keys: [(Key, Int)] = []  // (key, first row or column) per part
        for p in 0..<parts {
            let total = splitRows ? m : n, lo = total * p / parts, hi = total * (p + 1) / parts
            keys.append((Key(kind: kind, m: splitRows ? hi - lo : m, n: splitRows ? n : hi - lo, k: k,
                             aStrides: aStrides, bStrides: bStrides, ldc: ldc, bias: kind == .bf16 && bias != nil), lo))
        }
        runLock.lock(); defer { runLock.unlock() }
        prepareStreams(parts)
        // Each part runs as row blocks (first row, key, primitive): one block for bf16; for int8 blocks of
        // about `rescaleBlockBytes` of C, each rescaled while it is still in cache. Primitives are looked up
        // here, so parts never wait on each other.
        let blocks: [[(Int, Key, Primitive)]] = keys.map { key, _ in
            let rows = rescale == nil ? key.m : Swift.max(16, rescaleBlockBytes / (4 * key.n))
            return stride(from: 0, to: key.m, by: rows).map { first in
                var block = key
                block.m = Swift.min(rows, key.m - first)
                return (first, block, primitive(for: block))
            }
        }
        let one = { (p: Int) in
            let lo = keys[p].1
            let (ap, bp, cp, col) = splitRows ? (a + lo * aStrides.0 * elementSizes.0, b, c + lo * ldc, 0)
                                              : (a, b + lo * bStrides.1 * elementSizes.1, c + lo, lo)
            for (first, key, prim) in blocks[p] {
                let c = cp + first * ldc
                execute(key, prim, part: p, a: ap + first * aStrides.0 * elementSizes.0, b: bp, c: c, bias: bias.map { $0 + col })
                if let rescale {
                    nk_rescale_s32(c, ldc, key.m, key.n, rescale.offsets + col, rescale.scales + col, bias.map { $0 + col })
                }
            }
        }
        if parts == 1 { one(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: one) }
    }

    /// C = α · A · B for a batch of bf16 products, A [batch…, m, k], B [batch…, k, n] and C [batch…, m, n]
    /// (fp32) at any element strides (a transposed operand or a permuted C is a stride), split over the
    /// engine's threads along the first batch dimension.
    static func runBatched(batch: [Int], m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, aStrides: [Int],
                           b: UnsafePointer<UInt16>, bStrides: [Int], c: UnsafeMutablePointer<Float>, cStrides: [Int], alpha: Float) {
        precondition(!batch.isEmpty && [aStrides, bStrides, cStrides].allSatisfy { $0.count == batch.count + 2 },
                     "DNNLMatmul.runBatched: strides must cover the batch dimensions \(batch) and two matrix axes")
        if m == 0 || n == 0 || batch.contains(0) { return }
        precondition(k > 0, "LowPrecision: batched bf16 matmul with an empty inner dimension (k = 0)")
        let total = batch[0], work = batch.reduce(1, *) * m * n * k
        let parts = Swift.max(1, Swift.min(Engine.threads, total, work >= (1 << 20) ? total : 1))
        let blocks: [(Int, Key, Primitive)] = (0..<parts).map { p in
            let lo = total * p / parts, hi = total * (p + 1) / parts
            var batch = batch
            batch[0] = hi - lo
            let key = Key(batch: batch, m: m, n: n, k: k, aStrides: aStrides, bStrides: bStrides, cStrides: cStrides, alpha: alpha)
            return (lo, key, primitive(for: key))
        }
        runLock.lock(); defer { runLock.unlock() }
        prepareStreams(parts)
        let one = { (p: Int) in
            let (lo, key, prim) = blocks[p]
            execute(key, prim, part: p, a: a + lo * aStrides[0], b: b + lo * bStrides[0], c: c + lo * cStrides[0], bias: nil)
        }
        if parts == 1 { one(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: one) }
    }
}
