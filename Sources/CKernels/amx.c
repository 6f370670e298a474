#include "CKernels.h"
#include "bf16.h"
#include <string.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------
 * bf16 and int8 GEMMs on Intel AMX (Advanced Matrix Extensions, Sapphire Rapids and later): eight tile
 * registers of up to 16 rows × 64 bytes; TDPBF16PS multiplies a 16×32 bf16 tile of A by a 32×16 bf16
 * tile of B stored as 16 rows of k-pairs ("VNNI" layout) and accumulates a 16×16 fp32 tile of C:
 *     C[i][j] += Σ_p A[i][2p]·B[2p][j] + A[i][2p+1]·B[2p+1][j]
 * and TDPBUSD a 16×64 uint8 tile of A by a 64×16 int8 tile of B in groups of four k, into int32:
 *     C[i][j] += Σ_g Σ_{t<4} A[i][4g+t]·B[4g+t][j]
 * (Intel 64 and IA-32 Architectures Software Developer's Manual, vol. 2, TDPBF16PS, TDPBUSD; products of
 * bf16 are exact in fp32, the sums are fp32; int8 sums are exact). Each 32×32 block of C lives in four
 * tiles. A's 32 rows of a block are packed tile by tile (fp32 rows rounded to bf16 or quantized to uint8 on
 * the way); B is packed once per call into column blocks of 16 in k-pair or k-quad order, zero-padded.
 * ---------------------------------------------------------------------------------------------- */

#define NK_AMX __attribute__((target("amx-tile,amx-bf16,amx-int8,avx512f,avx512bw,avx512vl")))

int nk_amx_enable(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned amx = (1u << 22) | (1u << 24) | (1u << 25);     /* AMX-BF16, AMX-TILE, AMX-INT8 */
    if ((d & amx) != amx) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;                  /* XTILECFG, XTILEDATA enabled */
    /* Linux grants the tile data state per process on request (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). */
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}

void nk_amx_pack_bf16(const uint16_t *b, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t k, ptrdiff_t n,
                      ptrdiff_t first_block, ptrdiff_t end_block, uint16_t *packed) {
    const ptrdiff_t pairs = k / 2;
    for (ptrdiff_t blk = first_block; blk < end_block; blk++) {
        uint16_t *out = packed + blk * pairs * 32;
        for (ptrdiff_t col = 0; col < 16; col++) {
            const ptrdiff_t j = blk * 16 + col;
            const uint16_t *src = b + j * cs;
            for (ptrdiff_t p = 0; p < pairs; p++) {
                out[p * 32 + 2 * col] = j < n ? src[(2 * p) * rs] : 0;
                out[p * 32 + 2 * col + 1] = j < n ? src[(2 * p + 1) * rs] : 0;
            }
        }
    }
}

/* 32 fp32 values rounded to bf16, ties to even, with nk_f32_to_bf16's rule (NaN stays a quiet NaN). */
NK_AMX static inline void nk_amx_round32(const float *x, uint16_t *y) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF), quiet = _mm512_set1_epi32(0x40);
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
    for (int h = 0; h < 2; h++) {
        __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x + 16 * h));
        __m512i high = _mm512_srli_epi32(u, 16);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), _mm512_and_si512(high, one)), 16);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, magnitude), inf);
        r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(high, quiet));
        _mm256_storeu_si256((__m256i *)(y + 16 * h), _mm512_cvtepi32_epi16(r));
    }
}

struct nk_tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/* One 32×32 block of C: 32 rows of A packed as k/step pairs of 16-row tiles (`apack`, 1 KB each, so every
 * tile load is 1 KB in sequence), columns from the packed B blocks `b0` and `b1` (the second only if `two`);
 * the four 16×16 accumulator tiles (fp32 or int32) are stored to `tmp` [32][32]. */
#define NK_AMX_BLOCK(NAME, DP)                                                                            \
    NK_AMX static inline void NAME(const uint8_t *apack, const uint8_t *b0, const uint8_t *b1, int two,      \
                                   ptrdiff_t tiles, void *tmp) {                                             \
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);                                          \
        for (ptrdiff_t t = 0; t < tiles; t++) {                                                              \
            _tile_loadd(4, apack + t * 2048, 64);                                                           \
            _tile_loadd(6, b0 + t * 1024, 64);                                                              \
            if (two) _tile_loadd(7, b1 + t * 1024, 64);                                                     \
            _tile_loadd(5, apack + t * 2048 + 1024, 64);                                                    \
            DP(0, 4, 6);                                                                                     \
            if (two) DP(1, 4, 7);                                                                            \
            DP(2, 5, 6);                                                                                     \
            if (two) DP(3, 5, 7);                                                                            \
        }                                                                                                    \
        char *out = tmp;                                                                                     \
        _tile_stored(0, out, 128);                                                                           \
        _tile_stored(2, out + 16 * 128, 128);                                                                \
        if (two) { _tile_stored(1, out + 64, 128); _tile_stored(3, out + 16 * 128 + 64, 128); }              \
    }
NK_AMX_BLOCK(nk_amx_block_bf16, _tile_dpbf16ps)
NK_AMX_BLOCK(nk_amx_block_u8s8, _tile_dpbusd)

/* 64 fp32 values quantized to uint8 as nk_quantize_u8 does: clamp(rint(x·inv_scale) + zero, 0, 255). */
NK_AMX static inline void nk_amx_quantize64(const float *x, float inv_scale, float zero, uint8_t *y) {
    const __m512 s = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps(zero);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
    for (int h = 0; h < 4; h++) {
        __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * h), s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, z), lo), hi);
        _mm_storeu_si128((__m128i *)(y + 16 * h), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q)));
    }
}

/* What one call multiplies: A in bf16, in fp32 rounded to bf16, or in fp32 quantized to uint8 (int8 kind:
 * B is int8, the sums int32, rescaled to fp32 in the epilogue). */
struct nk_amx_call {
    int int8;
    const uint16_t *a_bf16;
    const float *a_f32;
    ptrdiff_t lda;
    float inv_scale, zero;
    const uint8_t *packed;
    const float *bias;
    const int32_t *offset;
    const float *scale;
};

NK_AMX static void nk_amx_run(const struct nk_amx_call *op, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float *c, ptrdiff_t ldc) {
    struct nk_tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);

    const ptrdiff_t step = op->int8 ? 64 : 32, tiles = k / step, block_bytes = tiles * 1024, blocks = (n + 15) / 16;
    /* Columns in chunks whose packed B stays in L2 while every row block passes. */
    ptrdiff_t chunk = (1024 * 1024) / block_bytes;
    chunk = chunk < 2 ? 2 : chunk & ~(ptrdiff_t)1;
    int32_t tmp[32 * 32] __attribute__((aligned(64)));
    uint8_t *apack = aligned_alloc(64, (size_t)(tiles * 2048 + 64));
    for (ptrdiff_t b0 = 0; b0 < blocks; b0 += chunk) {
        const ptrdiff_t b1 = b0 + chunk < blocks ? b0 + chunk : blocks;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += 32) {
            const ptrdiff_t rows = m - i0 < 32 ? m - i0 : 32;
            /* A's 32 rows as tiles of 64 bytes per row: rows 0–15 then 16–31 of each k-slice; missing rows are
             * zero. fp32 rows are rounded or quantized here, so they are read once and never stored. */
            for (ptrdiff_t t = 0; t < tiles; t++) {
                for (ptrdiff_t r = 0; r < 32; r++) {
                    uint8_t *dst = apack + t * 2048 + r * 64;
                    const ptrdiff_t row = (i0 + r) * op->lda + t * step;
                    if (r >= rows) memset(dst, 0, 64);
                    else if (op->int8) nk_amx_quantize64(op->a_f32 + row, op->inv_scale, op->zero, dst);
                    else if (op->a_f32) nk_amx_round32(op->a_f32 + row, (uint16_t *)dst);
                    else memcpy(dst, op->a_bf16 + row, 64);
                }
            }
            for (ptrdiff_t blk = b0; blk < b1; blk += 2) {
                const int two = blk + 1 < b1;
                const uint8_t *p0 = op->packed + blk * block_bytes;
                if (op->int8) nk_amx_block_u8s8(apack, p0, p0 + block_bytes, two, tiles, tmp);
                else nk_amx_block_bf16(apack, p0, p0 + block_bytes, two, tiles, tmp);
                const ptrdiff_t j0 = blk * 16, cols = (two ? 32 : 16) < n - j0 ? (two ? 32 : 16) : n - j0;
                for (ptrdiff_t r = 0; r < rows; r++) {
                    float *dst = c + (i0 + r) * ldc + j0;
                    if (op->int8) {
                        const int32_t *acc = tmp + r * 32, *off = op->offset + j0;
                        const float *sc = op->scale + j0;
                        if (op->bias) { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = sc[j] * (float)(acc[j] - off[j]) + op->bias[j0 + j]; }
                        else { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = sc[j] * (float)(acc[j] - off[j]); }
                    } else {
                        const float *src = (const float *)tmp + r * 32;
                        if (op->bias) { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = src[j] + op->bias[j0 + j]; }
                        else { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = src[j]; }
                    }
                }
            }
        }
    }
    free(apack);
    _tile_release();
}

void nk_amx_gemm_bf16(const uint16_t *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {
    struct nk_amx_call op = { .a_bf16 = a, .lda = lda, .packed = (const uint8_t *)packed, .bias = bias };
    nk_amx_run(&op, m, n, k, c, ldc);
}

void nk_amx_gemm_f32a(const float *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {
    struct nk_amx_call op = { .a_f32 = a, .lda = lda, .packed = (const uint8_t *)packed, .bias = bias };
    nk_amx_run(&op, m, n, k, c, ldc);
}

void nk_amx_pack_s8(const int8_t *w, ptrdiff_t ldw, ptrdiff_t k, ptrdiff_t n, ptrdiff_t first_block, ptrdiff_t end_block,
                    int8_t *packed) {
    const ptrdiff_t groups = k / 4;
    for (ptrdiff_t blk = first_block; blk < end_block; blk++) {
        int8_t *out = packed + blk * groups * 64;
        for (ptrdiff_t col = 0; col < 16; col++) {
            const ptrdiff_t j = blk * 16 + col;
            for (ptrdiff_t g = 0; g < groups; g++) {
                if (j < n) memcpy(out + g * 64 + col * 4, w + j * ldw + 4 * g, 4);
                else memset(out + g * 64 + col * 4, 0, 4);
            }
        }
    }
}

void nk_amx_gemm_u8s8(const float *a, ptrdiff_t lda, float inv_scale, int32_t zero, const int8_t *packed, ptrdiff_t m,
                      ptrdiff_t n, ptrdiff_t k, const int32_t *offset, const float *scale, const float *bias, float *c,
                      ptrdiff_t ldc) {
    struct nk_amx_call op = { .int8 = 1, .a_f32 = a, .lda = lda, .inv_scale = inv_scale, .zero = (float)zero,
                              .packed = (const uint8_t *)packed, .bias = bias, .offset = offset, .scale = scale };
    nk_amx_run(&op, m, n, k, c, ldc);
}

#else
int nk_amx_enable(void) { return 0; }
void nk_amx_pack_bf16(const uint16_t *b, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t k, ptrdiff_t n,
                      ptrdiff_t first_block, ptrdiff_t end_block, uint16_t *packed) {}
void nk_amx_gemm_bf16(const uint16_t *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {}
void nk_amx_gemm_f32a(const float *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {}
void nk_amx_pack_s8(const int8_t *w, ptrdiff_t ldw, ptrdiff_t k, ptrdiff_t n, ptrdiff_t first_block, ptrdiff_t end_block,
                    int8_t *packed) {}
void nk_amx_gemm_u8s8(const float *a, ptrdiff_t lda, float inv_scale, int32_t zero, const int8_t *packed, ptrdiff_t m,
                      ptrdiff_t n, ptrdiff_t k, const int32_t *offset, const float *scale, const float *bias, float *c,
                      ptrdiff_t ldc) {}
#endif
