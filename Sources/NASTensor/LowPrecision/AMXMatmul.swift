import CDNNL
import CKernels
import Dispatch

/// The engine's own GEMMs on Intel AMX (`nk_amx_gemm_*`: 32×32 blocks of C in four tiles; bf16 with
/// `TDPBF16PS` and fp32 sums, int8 with `TDPBUSD` and int32 sums), which the products run in place of
/// oneDNN where they apply: the CPU has AMX (in oneDNN's effective ISA, so `DNNL_MAX_CPU_ISA` caps it
/// too), A's rows are contiguous and k is a multiple of a tile's depth (32 bf16, 64 int8). Debian's
/// oneDNN 2.6.3 reaches 200–350 bf16 GFLOP/s per thread on a transformer's shapes with AMX, the oneDNN
/// bundled with PyTorch 2.13 460–930 (measured on one thread, 4096×256…1024).
///
/// B (bf16) is packed once per product into 16-column blocks of k-pairs (`nk_amx_pack_bf16`, any strides,
/// so a transposed weight `W[:out, :in]ᵀ` is read in place). A in fp32 is rounded to bf16 (ties to even)
/// while the kernel packs it, so an activation is read once and never stored in bf16. Rows of C (or
/// columns, when n > m) are split over the engine's threads; every sum runs over k in the same order
/// whatever the split. `TDPBF16PS` reads bf16 denormals (|x| < 2⁻¹²⁶) as zero. The int8 product
/// quantizes fp32 activations to uint8 while it packs them (the rule of `QuantizedActivations`, so the
/// uint8 copy is never stored) and rescales the int32 sums as `LowPrecision.gemmInt8` does.
enum AMXMatmul {
    static let isAvailable: Bool = LowPrecision.has(dnnl_cpu_isa_avx512_core_amx) && nk_amx_enable() == 1

    /// A's element type: bf16 as it is, or fp32 rounded by the kernel.
    enum Operand {
        case bf16(StridedMatrix<UInt16>)
        case fp32(StridedMatrix<Float>)

        var rows: Int { switch self { case .bf16(let m): return m.rows; case .fp32(let m): return m.rows } }
        var cols: Int { switch self { case .bf16(let m): return m.cols; case .fp32(let m): return m.cols } }
        var strides: (row: Int, col: Int) {
            switch self { case .bf16(let m): return (m.rowStride, m.colStride); case .fp32(let m): return (m.rowStride, m.colStride) }
        }
    }

    /// Whether the AMX kernel computes A·B for this A (B may have any strides).
    static func accepts(_ a: Operand) -> Bool {
        isAvailable && a.cols > 0 && a.cols % 32 == 0 && a.strides.col == 1
    }

    /// C[m×n] (row stride `ldc`) = bf16(A)·B + bias; `accepts(a)` must hold.
    static func run(_ a: Operand, _ b: StridedMatrix<UInt16>, bias: UnsafePointer<Float>?,
                    into c: UnsafeMutablePointer<Float>, ldc: Int) {
        let m = a.rows, k = a.cols, n = b.cols
        precondition(accepts(a) && b.rows == k, "AMXMatmul: A \(m)×\(k) with strides \(a.strides), B \(b.rows)×\(n)")
        if m == 0 || n == 0 { return }
        let blocks = (n + 15) / 16, blockSize = 16 * k
        let raw = LargeBufferCache.allocate(blocks * blockSize * 2)
        defer { LargeBufferCache.release(raw, blocks * blockSize * 2) }
        let packed = raw.bindMemory(to: UInt16.self, capacity: blocks * blockSize)
        Engine.parallelFor(blocks, costPerItem: blockSize) { r in
            nk_amx_pack_bf16(b.base, b.rowStride, b.colStride, k, n, r.lowerBound, r.upperBound, packed)
        }
        let lda = m == 1 ? k : a.strides.row   // a single row's stride is arbitrary
        split(m: m, n: n, k: k, blocks: blocks) { r0, r1, j0, j1 in
            let c0 = j0 * 16, cols = Swift.min(n, j1 * 16) - c0, cp = c + r0 * ldc + c0, bp = bias.map { $0 + c0 }
            switch a {
            case .bf16(let a): nk_amx_gemm_bf16(a.base + r0 * lda, lda, packed + j0 * blockSize, r1 - r0, cols, k, bp, cp, ldc)
            case .fp32(let a): nk_amx_gemm_f32a(a.base + r0 * lda, lda, packed + j0 * blockSize, r1 - r0, cols, k, bp, cp, ldc)
            }
        }
    }

    /// Whether the int8 kernel computes x·Wᵀ for this fp32 x.
    static func acceptsInt8(_ x: StridedMatrix<Float>) -> Bool {
        isAvailable && x.cols > 0 && x.cols % 64 == 0 && x.colStride == 1
    }

    /// C[m×n] = s·sW[j]·(Σₖ q(x)[i,k]·W[j,k] − z·Σₖ W[j,k]) + bias[j] with q(x) = clamp(rint(x/s) + z, 0, 255)
    /// (`QuantizedActivations`' rule): `LowPrecision.gemmInt8` of the quantized x, without storing it.
    static func runInt8(_ x: StridedMatrix<Float>, scale: Float, zeroPoint: Int32, _ w: Int8Weights,
                        bias: UnsafePointer<Float>?, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        let m = x.rows, k = x.cols, n = w.outFeatures
        precondition(acceptsInt8(x) && w.inFeatures == k, "AMXMatmul: int8 x \(m)×\(k) against weights \(n)×\(w.inFeatures)")
        if m == 0 || n == 0 { return }
        let outScales = w.scales.map { scale * $0 }, offsets = w.columnSums.map { zeroPoint * $0 }
        let blocks = (n + 15) / 16, blockSize = 16 * k
        let raw = LargeBufferCache.allocate(blocks * blockSize)
        defer { LargeBufferCache.release(raw, blocks * blockSize) }
        let packed = raw.bindMemory(to: Int8.self, capacity: blocks * blockSize)
        w.values.withUnsafeBufferPointer { v in
            Engine.parallelFor(blocks, costPerItem: blockSize) { r in
                nk_amx_pack_s8(v.baseAddress!, k, k, n, r.lowerBound, r.upperBound, packed)
            }
        }
        let lda = m == 1 ? k : x.rowStride
        outScales.withUnsafeBufferPointer { sp in
            offsets.withUnsafeBufferPointer { op in
                let (ps, po) = (sp.baseAddress!, op.baseAddress!)
                split(m: m, n: n, k: k, blocks: blocks) { r0, r1, j0, j1 in
                    let c0 = j0 * 16, cols = Swift.min(n, j1 * 16) - c0
                    nk_amx_gemm_u8s8(x.base + r0 * lda, lda, 1 / scale, zeroPoint, packed + j0 * blockSize, r1 - r0, cols, k,
                                     po + c0, ps + c0, bias.map { $0 + c0 }, c + r0 * ldc + c0, ldc)
                }
            }
        }
    }

    /// Runs `kernel(firstRow, endRow, firstBlock, endBlock)` over parts of C: rows in multiples of 32 (or
    /// 16-column blocks, when n > m) split over the engine's threads.
    private static func split(m: Int, n: Int, k: Int, blocks: Int, _ kernel: (Int, Int, Int, Int) -> Void) {
        let splitRows = m >= n, units = splitRows ? (m + 31) / 32 : blocks
        let parts = Swift.max(1, Swift.min(Engine.threads, units, m * n * k >= (1 << 20) ? units : 1))
        func one(_ p: Int) {
            let lo = units * p / parts, hi = units * (p + 1) / parts
            if splitRows { kernel(lo * 32, Swift.min(m, hi * 32), 0, blocks) } else { kernel(0, m, lo, hi) }
        }
        if parts == 1 { one(0) } else { DispatchQueue.concurrentPerform(iterations: parts) { one($0) } }
    }
}
