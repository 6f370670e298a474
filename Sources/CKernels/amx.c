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
 * bf16 GEMM on Intel AMX (Advanced Matrix Extensions, Sapphire Rapids and later): eight tile
 * registers of up to 16 rows × 64 bytes; TDPBF16PS multiplies a 16×32 bf16 tile of A by a 32×16 bf16
 * tile of B stored as 16 rows of k-pairs ("VNNI" layout) and accumulates a 16×16 fp32 tile of C:
 *     C[i][j] += Σ_p A[i][2p]·B[2p][j] + A[i][2p+1]·B[2p+1][j]
 * (Intel 64 and IA-32 Architectures Software Developer's Manual, vol. 2, TDPBF16PS; products of bf16
 * are exact in fp32, the sums are fp32). Each 32×32 block of C lives in four tiles; A's rows are read in
 * place, B is packed once per call into column blocks of 16 in k-pair order, zero-padded.
 * ---------------------------------------------------------------------------------------------- */

#define NK_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))

int nk_amx_enable(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return 0;          /* AMX-BF16, AMX-TILE */
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

/* One 32×32 block of C: 32 rows of A packed as k/32 pairs of 16×32 tiles (`apack`, 1 KB each, so every
 * tile load is 1 KB in sequence), columns from packed B blocks blk and blk+1 (the second only if `two`);
 * the tiles are stored to `tmp` [32][32]. */
NK_AMX static inline void nk_amx_block(const uint16_t *apack, const uint16_t *packed, ptrdiff_t pairs,
                                       ptrdiff_t blk, int two, ptrdiff_t k, float *tmp) {
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    const uint16_t *b0 = packed + blk * pairs * 32, *b1 = b0 + pairs * 32;
    if (two) {
        for (ptrdiff_t kk = 0; kk < k; kk += 32) {
            const uint16_t *at = apack + kk * 32;
            _tile_loadd(4, at, 64);
            _tile_loadd(6, b0 + kk * 16, 64);
            _tile_loadd(7, b1 + kk * 16, 64);
            _tile_loadd(5, at + 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    } else {
        for (ptrdiff_t kk = 0; kk < k; kk += 32) {
            const uint16_t *at = apack + kk * 32;
            _tile_loadd(4, at, 64);
            _tile_loadd(6, b0 + kk * 16, 64);
            _tile_loadd(5, at + 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(2, 5, 6);
        }
    }
    _tile_stored(0, tmp, 128);
    _tile_stored(2, tmp + 16 * 32, 128);
    if (two) { _tile_stored(1, tmp + 16, 128); _tile_stored(3, tmp + 16 * 32 + 16, 128); }
}

/* The kernel for A in bf16 (a) or in fp32 (a_f32, rounded while it is packed): exactly one is non-NULL. */
NK_AMX static void nk_amx_gemm(const uint16_t *a, const float *a_f32, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m,
                               ptrdiff_t n, ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {
    struct nk_tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);

    const ptrdiff_t pairs = k / 2, blocks = (n + 15) / 16;
    /* Columns in chunks whose packed B (k × 16·chunk bf16) stays in L2 while every row block passes. */
    ptrdiff_t chunk = (1024 * 1024) / (k * 2 * 16);
    chunk = chunk < 2 ? 2 : chunk & ~(ptrdiff_t)1;
    float tmp[32 * 32] __attribute__((aligned(64)));
    uint16_t *apack = aligned_alloc(64, (size_t)(32 * k * 2 + 64));
    for (ptrdiff_t b0 = 0; b0 < blocks; b0 += chunk) {
        const ptrdiff_t b1 = b0 + chunk < blocks ? b0 + chunk : blocks;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += 32) {
            const ptrdiff_t rows = m - i0 < 32 ? m - i0 : 32;
            /* A's 32 rows as tiles: tile t = k-slice t/2, row half t%2; missing rows are zero. fp32 rows are
             * rounded here (ties to even), so an fp32 operand is read once and never stored in bf16. */
            for (ptrdiff_t kk = 0; kk < k; kk += 32) {
                for (ptrdiff_t r = 0; r < 32; r++) {
                    uint16_t *dst = apack + kk * 32 + r * 32;
                    if (r >= rows) memset(dst, 0, 64);
                    else if (a_f32) nk_amx_round32(a_f32 + (i0 + r) * lda + kk, dst);
                    else memcpy(dst, a + (i0 + r) * lda + kk, 64);
                }
            }
            for (ptrdiff_t blk = b0; blk < b1; blk += 2) {
                const int two = blk + 1 < b1;
                nk_amx_block(apack, packed, pairs, blk, two, k, tmp);
                const ptrdiff_t j0 = blk * 16, cols = (two ? 32 : 16) < n - j0 ? (two ? 32 : 16) : n - j0;
                for (ptrdiff_t r = 0; r < rows; r++) {
                    float *dst = c + (i0 + r) * ldc + j0;
                    const float *src = tmp + r * 32;
                    if (bias) { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = src[j] + bias[j0 + j]; }
                    else { for (ptrdiff_t j = 0; j < cols; j++) dst[j] = src[j]; }
                }
            }
        }
    }
    free(apack);
    _tile_release();
}

void nk_amx_gemm_bf16(const uint16_t *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {
    nk_amx_gemm(a, NULL, lda, packed, m, n, k, bias, c, ldc);
}

void nk_amx_gemm_f32a(const float *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {
    nk_amx_gemm(NULL, a, lda, packed, m, n, k, bias, c, ldc);
}

#else
int nk_amx_enable(void) { return 0; }
void nk_amx_pack_bf16(const uint16_t *b, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t k, ptrdiff_t n,
                      ptrdiff_t first_block, ptrdiff_t end_block, uint16_t *packed) {}
void nk_amx_gemm_bf16(const uint16_t *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {}
void nk_amx_gemm_f32a(const float *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc) {}
#endif
