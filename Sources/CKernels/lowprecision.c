#include "CKernels.h"
#include "wide.h"
#include "bf16.h"
#include <math.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * Low-precision operands for the oneDNN GEMMs. Plain branch-free loops that the compiler vectorises
 * (AVX2: 8 lanes of integer add/shift/blend, vroundps for rint).
 * ---------------------------------------------------------------------------------------------- */

NK_WIDE void nk_f32_to_bf16(const float *x, ptrdiff_t sx, uint16_t *y, ptrdiff_t n) {
    if (sx == 1) {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_bf16_rne(x[i]);
    } else {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_bf16_rne(x[i * sx]);
    }
}

void nk_bf16_to_f32(const uint16_t *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)x[i] << 16;
        memcpy(&y[i], &u, sizeof u);
    }
}

void nk_min_max(const float *x, ptrdiff_t sx, ptrdiff_t n, float *lo, float *hi) {
    float a = INFINITY, b = -INFINITY;
    ptrdiff_t i = 0;
#if defined(__AVX__)
    /* vminps/vmaxps return their second operand when the first is NaN, so x's NaNs are skipped (the plain
     * `v < a ? v : a` loop has the same meaning, but the compiler vectorised it into permutes and blends). */
    if (sx == 1 && n >= 16) {
        __m256 a0 = _mm256_set1_ps(INFINITY), b0 = _mm256_set1_ps(-INFINITY), a1 = a0, b1 = b0;
        for (; i + 16 <= n; i += 16) {
            __m256 v = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
            a0 = _mm256_min_ps(v, a0); b0 = _mm256_max_ps(v, b0);
            a1 = _mm256_min_ps(w, a1); b1 = _mm256_max_ps(w, b1);
        }
        float la[8], lb[8];
        _mm256_storeu_ps(la, _mm256_min_ps(a0, a1));
        _mm256_storeu_ps(lb, _mm256_max_ps(b0, b1));
        for (int l = 0; l < 8; l++) { a = la[l] < a ? la[l] : a; b = lb[l] > b ? lb[l] : b; }
    }
#endif
    for (; i < n; i++) {
        float v = x[i * sx];
        a = v < a ? v : a;   /* a NaN compares false and is skipped */
        b = v > b ? v : b;
    }
    *lo = a;
    *hi = b;
}

void nk_fake_quantize(float *x, ptrdiff_t n, int bits, int symmetric) {
    if (n <= 0) return;
    float lo, hi;
    nk_min_max(x, 1, n, &lo, &hi);
    if (symmetric) {
        const float levels = (float)((1 << (bits - 1)) - 1);
        const float m = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
        if (!(m > 0.0f) || !isfinite(m)) return;
        const float s = m / levels;
        for (ptrdiff_t i = 0; i < n; i++) {
            float q = roundf(x[i] / s);
            q = q < -levels ? -levels : q;
            q = q > levels ? levels : q;
            x[i] = s * q;
        }
    } else {
        const float top = (float)((1 << bits) - 1);
        if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) return;
        const float s = (hi - lo) / top, z = roundf(-lo / s);
        for (ptrdiff_t i = 0; i < n; i++) {
            float q = roundf(x[i] / s) + z;
            q = q < 0.0f ? 0.0f : q;
            q = q > top ? top : q;
            x[i] = s * (q - z);
        }
    }
}

static inline uint8_t nk_u8(float v, float inv_scale, float z) {
    float q = rintf(v * inv_scale) + z;
    q = q < 0.0f ? 0.0f : q;
    q = q > 255.0f ? 255.0f : q;
    return (uint8_t)(int32_t)q;
}

NK_WIDE void nk_quantize_u8(const float *x, ptrdiff_t sx, float inv_scale, int32_t zero, uint8_t *y, ptrdiff_t n) {
    float z = (float)zero;
    if (sx == 1) {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_u8(x[i], inv_scale, z);
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        float q = rintf(x[i * sx] * inv_scale) + z;
        q = q < 0.0f ? 0.0f : q;
        q = q > 255.0f ? 255.0f : q;
        y[i] = (uint8_t)(int32_t)q;
    }
}

int32_t nk_quantize_s8(const float *x, ptrdiff_t sx, float inv_scale, int8_t *y, ptrdiff_t n) {
    int32_t sum = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        float q = rintf(x[i * sx] * inv_scale);
        q = q < -127.0f ? -127.0f : q;
        q = q > 127.0f ? 127.0f : q;
        int32_t v = (int32_t)q;
        y[i] = (int8_t)v;
        sum += v;
    }
    return sum;
}

NK_WIDE void nk_rescale_s32(void *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t cols, const int32_t *offset, const float *scale,
                    const float *bias) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        /* the same 4 bytes are read as int32 and written as fp32: memcpy keeps that within C's aliasing rules
           (the compiler turns it into plain vector loads and stores) */
        char *row = (char *)c + 4 * i * ldc;
        for (ptrdiff_t j = 0; j < cols; j++) {
            int32_t acc;
            memcpy(&acc, row + 4 * j, 4);
            float v = scale[j] * (float)(acc - offset[j]) + (bias ? bias[j] : 0.0f);
            memcpy(row + 4 * j, &v, 4);
        }
    }
}
