#include "CKernels.h"
#include "wide.h"
#include <math.h>
#include <string.h>
#include <malloc.h>

/* ------------------------------------------------------------------------------------------------
 * Branch-free float approximations that the compiler vectorises (AVX2/FMA).
 * exp: Cody-Waite range reduction x = n ln2 + r, degree-6 minimax polynomial (Cephes expf
 * coefficients), scale by 2^n through the exponent bits; relative error about 1e-7.
 * Inputs below -87.33 give exactly 0 (so an additive -inf or -1e9 mask gives exact zeros).
 * ---------------------------------------------------------------------------------------------- */
static inline float nk_expf(float x) {
    float xc = x > 88.37f ? 88.37f : x;
    xc = xc < -87.33f ? -87.33f : xc;
    float n = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float out = p * scale;
    return x < -87.33f ? 0.0f : out;
}

/* tanh: odd polynomial (Cephes tanhf) for |x| < 0.625, else 1 - 2/(exp(2|x|)+1) with the sign. */
static inline float nk_tanhf(float x) {
    float ax = fabsf(x);
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                    + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float e = nk_expf(2.0f * (ax > 9.0f ? 9.0f : ax));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = copysignf(big, x);
    return ax < 0.625f ? small : big;
}

/* erf: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), odd extension. */
static inline float nk_erff(float x) {
    float ax = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t
                  + 0.254829592f) * t;
    float y = 1.0f - poly * nk_expf(-ax * ax);
    return copysignf(y, x);
}

static inline float nk_sigmoidf(float x) { return 1.0f / (1.0f + nk_expf(-x)); }

/* Row reductions (sums, max) may be reordered so that they vectorise; the order is fixed by the
   compiler, so results stay deterministic. */
#define NK_REASSOCIATE _Pragma("clang fp reassociate(on)")

#define NK_SQRT1_2 0.70710678118654752f
#define NK_INV_SQRT_2PI 0.39894228040143268f
#define NK_SQRT_2_PI 0.79788456080286536f
#define NK_GELU_C 0.044715f

/* ---------------------------------------------------------------------------------------------- */

NK_WIDE void nk_binary(nk_binop op, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t sb, float *c, ptrdiff_t n) {
#define NK_LOOP(EXPR)                                                                             \
    if (sa == 1 && sb == 1) { for (ptrdiff_t i = 0; i < n; i++) { float x = a[i], y = b[i]; c[i] = EXPR; } } \
    else if (sa == 1 && sb == 0) { float y = b[0]; for (ptrdiff_t i = 0; i < n; i++) { float x = a[i]; c[i] = EXPR; } } \
    else if (sa == 0 && sb == 1) { float x = a[0]; for (ptrdiff_t i = 0; i < n; i++) { float y = b[i]; c[i] = EXPR; } } \
    else { for (ptrdiff_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; c[i] = EXPR; } }
    switch (op) {
    case NK_ADD: NK_LOOP(x + y); break;
    case NK_SUB: NK_LOOP(x - y); break;
    case NK_MUL: NK_LOOP(x * y); break;
    case NK_DIV: NK_LOOP(x / y); break;
    }
#undef NK_LOOP
}

void nk_copy(const float *x, ptrdiff_t sx, float *y, ptrdiff_t sy, ptrdiff_t n) {
    if (sx == 1 && sy == 1) { memcpy(y, x, (size_t)n * sizeof(float)); return; }
    if (sy == 1) { for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i * sx]; return; }
    for (ptrdiff_t i = 0; i < n; i++) y[i * sy] = x[i * sx];
}

void nk_accumulate(const float *x, ptrdiff_t sx, float *y, ptrdiff_t sy, ptrdiff_t n) {
    if (sx == 1 && sy == 1) { for (ptrdiff_t i = 0; i < n; i++) y[i] += x[i]; return; }
    for (ptrdiff_t i = 0; i < n; i++) y[i * sy] += x[i * sx];
}

void nk_affine(const float *x, float a, float b, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

void nk_fill(float *y, float v, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = v;
}

NK_WIDE void nk_unary(nk_unop op, const float *x, float *y, ptrdiff_t n) {
    switch (op) {
    case NK_EXP: for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_expf(x[i]); break;
    case NK_LOG: for (ptrdiff_t i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case NK_SQRT: for (ptrdiff_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case NK_ABS: for (ptrdiff_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case NK_RELU: for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case NK_TANH: for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_tanhf(x[i]); break;
    case NK_SIGMOID: for (ptrdiff_t i = 0; i < n; i++) y[i] = nk_sigmoidf(x[i]); break;
    case NK_GELU_ERF:
        for (ptrdiff_t i = 0; i < n; i++) { float v = x[i]; y[i] = 0.5f * v * (1.0f + nk_erff(v * NK_SQRT1_2)); }
        break;
    case NK_GELU_TANH:
        for (ptrdiff_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + nk_tanhf(NK_SQRT_2_PI * (v + NK_GELU_C * v * v * v)));
        }
        break;
    case NK_NEG: for (ptrdiff_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case NK_SQUARE: for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case NK_RECIP: for (ptrdiff_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    }
}

NK_WIDE void nk_unary_backward(nk_unop op, const float *x, const float *y, const float *dy, float *dx, ptrdiff_t n) {
    switch (op) {
    case NK_EXP: for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] * y[i]; break;
    case NK_LOG: for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] / x[i]; break;
    case NK_SQRT: for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] * 0.5f / y[i]; break;
    case NK_ABS:
        for (ptrdiff_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : (x[i] < 0.0f ? -dy[i] : 0.0f);
        break;
    case NK_RELU: for (ptrdiff_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f; break;
    case NK_TANH: for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]); break;
    case NK_SIGMOID: for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]); break;
    case NK_GELU_ERF:
        /* Φ'(x)·x + Φ(x) with erf(x/√2) = 1 − poly(t)·e^{−x²/2}: the one exponential serves both terms. */
        for (ptrdiff_t i = 0; i < n; i++) {
            float v = x[i];
            float ax = fabsf(v) * NK_SQRT1_2;
            float t = 1.0f / (1.0f + 0.3275911f * ax);
            float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t
                          + 0.254829592f) * t;
            float e = nk_expf(-0.5f * v * v);
            float erf = copysignf(1.0f - poly * e, v);
            dx[i] = dy[i] * (0.5f * (1.0f + erf) + v * NK_INV_SQRT_2PI * e);
        }
        break;
    case NK_GELU_TANH:
        for (ptrdiff_t i = 0; i < n; i++) {
            float v = x[i];
            float t = nk_tanhf(NK_SQRT_2_PI * (v + NK_GELU_C * v * v * v));
            float dinner = NK_SQRT_2_PI * (1.0f + 3.0f * NK_GELU_C * v * v);
            dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * dinner);
        }
        break;
    case NK_NEG: for (ptrdiff_t i = 0; i < n; i++) dx[i] = -dy[i]; break;
    case NK_SQUARE: for (ptrdiff_t i = 0; i < n; i++) dx[i] = 2.0f * x[i] * dy[i]; break;
    case NK_RECIP: for (ptrdiff_t i = 0; i < n; i++) dx[i] = -dy[i] * y[i] * y[i]; break;
    }
}

void nk_pow(const float *x, float p, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = powf(x[i], p);
}

void nk_pow_backward(const float *x, float p, const float *dy, float *dx, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] * p * powf(x[i], p - 1.0f);
}

double nk_sum(const float *x, ptrdiff_t n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
    double s = 0;
    for (; i < n; i++) s += x[i];
    for (int k = 0; k < 8; k++) s += acc[k];
    return s;
}

float nk_max(const float *x, ptrdiff_t sx, ptrdiff_t n, ptrdiff_t *argmax) {
    float m = x[0];
    ptrdiff_t at = 0;
    for (ptrdiff_t i = 1; i < n; i++) {
        float v = x[i * sx];
        if (v > m || (v != v && m == m)) { m = v; at = i; }
    }
    if (argmax) *argmax = at;
    return m;
}

/* ---------------------------------------------------------------------------------------------- */

/* max of x[i] (+ mask[i]) with 8 running maxima, so that the loop vectorises (a compare-and-select
   max is not a reduction the compiler reorders by itself); the order is fixed, so is the result. */
static inline float nk_row_max(const float *x, const float *mask, ptrdiff_t n) {
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    ptrdiff_t i = 0;
    if (mask) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) { float v = x[i + k] + mask[i + k]; m[k] = v > m[k] ? v : m[k]; }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) { float v = x[i + k]; m[k] = v > m[k] ? v : m[k]; }
    }
    float r = -INFINITY;
    for (; i < n; i++) { float v = mask ? x[i] + mask[i] : x[i]; r = v > r ? v : r; }
    for (int k = 0; k < 8; k++) r = m[k] > r ? m[k] : r;
    return r;
}

void nk_softmax_row(const float *x, const float *mask, float *y, ptrdiff_t n) {
    NK_REASSOCIATE
    float m = nk_row_max(x, mask, n);
    if (m == -INFINITY) {
        /* The max skips NaN, so a row of NaN (or NaN beside masked positions) lands here too: such a row
           gives NaN, so that a fault upstream shows; a row whose every position is masked by design
           (all -inf) gives zeros rather than NaN. */
        float fill = 0.0f;
        for (ptrdiff_t i = 0; i < n; i++) {
            float v = mask ? x[i] + mask[i] : x[i];
            if (v != v) { fill = NAN; break; }
        }
        for (ptrdiff_t i = 0; i < n; i++) y[i] = fill;
        return;
    }
    float s = 0.0f;
    if (mask) {
        for (ptrdiff_t i = 0; i < n; i++) { float e = nk_expf(x[i] + mask[i] - m); y[i] = e; s += e; }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) { float e = nk_expf(x[i] - m); y[i] = e; s += e; }
    }
    float inv = 1.0f / s;
    for (ptrdiff_t i = 0; i < n; i++) y[i] *= inv;
}

void nk_softmax_backward_row(const float *y, const float *dy, float *dx, ptrdiff_t n) {
    NK_REASSOCIATE
    float dot = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) dot += dy[i] * y[i];
    for (ptrdiff_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

static float nk_logsumexp(const float *x, ptrdiff_t n) {
    NK_REASSOCIATE
    float m = nk_row_max(x, NULL, n);
    float s = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) s += nk_expf(x[i] - m);
    return m + logf(s);
}

void nk_log_softmax_row(const float *x, float *y, ptrdiff_t n) {
    float lse = nk_logsumexp(x, n);
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] - lse;
}

void nk_log_softmax_backward_row(const float *y, const float *dy, float *dx, ptrdiff_t n) {
    NK_REASSOCIATE
    float s = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) s += dy[i];
    for (ptrdiff_t i = 0; i < n; i++) dx[i] = dy[i] - nk_expf(y[i]) * s;
}

float nk_cross_entropy_row(const float *x, int32_t target, float *p, ptrdiff_t n) {
    NK_REASSOCIATE
    float m = nk_row_max(x, NULL, n);
    float s = 0.0f;
    if (p) {
        for (ptrdiff_t i = 0; i < n; i++) { float e = nk_expf(x[i] - m); p[i] = e; s += e; }
        float inv = 1.0f / s;
        for (ptrdiff_t i = 0; i < n; i++) p[i] *= inv;
    } else {
        for (ptrdiff_t i = 0; i < n; i++) s += nk_expf(x[i] - m);
    }
    return m + logf(s) - x[target];
}

void nk_layer_norm_row(const float *x, const float *g, const float *b, float eps, float *y, ptrdiff_t n,
                       float *mu, float *rstd) {
    NK_REASSOCIATE
    float s = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) s += x[i];
    float mean = s / (float)n;
    float v = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) { float d = x[i] - mean; v += d * d; }
    float r = 1.0f / sqrtf(v / (float)n + eps);
    if (g && b) {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = (x[i] - mean) * r * g[i] + b[i];
    } else {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = (x[i] - mean) * r;
    }
    *mu = mean;
    *rstd = r;
}

void nk_layer_norm_backward_row(const float *x, const float *g, const float *dy, float mu, float rstd,
                                float *dx, float *dg, float *db, ptrdiff_t n) {
    NK_REASSOCIATE
    float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
    for (ptrdiff_t i = 0; i < n; i++) {
        float xhat = (x[i] - mu) * rstd;
        float dxhat = g ? dy[i] * g[i] : dy[i];
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * xhat;
    }
    float inv_n = 1.0f / (float)n;
    float a = sum_dxhat * inv_n, c = sum_dxhat_xhat * inv_n;
    for (ptrdiff_t i = 0; i < n; i++) {
        float xhat = (x[i] - mu) * rstd;
        float dxhat = g ? dy[i] * g[i] : dy[i];
        dx[i] = rstd * (dxhat - a - xhat * c);
    }
    if (dg) for (ptrdiff_t i = 0; i < n; i++) dg[i] += dy[i] * (x[i] - mu) * rstd;
    if (db) for (ptrdiff_t i = 0; i < n; i++) db[i] += dy[i];
}

/* ---------------------------------------------------------------------------------------------- */

static inline uint64_t nk_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t nk_random_u64(uint64_t key, uint64_t counter) {
    return nk_mix(key + (counter + 1) * 0x9E3779B97F4A7C15ULL);
}

void nk_fill_uniform(float *u, ptrdiff_t n, uint64_t key, uint64_t counter, float lo, float hi) {
    float w = hi - lo;
    for (ptrdiff_t i = 0; i < n; i++) {
        uint64_t z = nk_random_u64(key, counter + (uint64_t)i);
        u[i] = lo + w * (float)(z >> 40) * 0x1.0p-24f;
    }
}

void nk_fill_normal(float *u, ptrdiff_t n, uint64_t key, uint64_t counter, float mean, float std) {
    for (ptrdiff_t i = 0; i < n; i += 2) {
        uint64_t z = nk_random_u64(key, counter + (uint64_t)i);
        double u1 = ((double)(z >> 11) + 1.0) * 0x1.0p-53;           /* (0, 1] */
        double u2 = (double)(nk_mix(z) >> 11) * 0x1.0p-53;            /* [0, 1) */
        double r = sqrt(-2.0 * log(u1));
        u[i] = (float)(mean + std * r * cos(6.283185307179586 * u2));
        if (i + 1 < n) u[i + 1] = (float)(mean + std * r * sin(6.283185307179586 * u2));
    }
}

NK_WIDE void nk_dropout(const float *x, float *y, uint8_t *keep, ptrdiff_t n, float p, uint64_t key, uint64_t counter) {
    float scale = 1.0f / (1.0f - p);
    uint32_t threshold = (uint32_t)((double)p * 16777216.0);
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(nk_random_u64(key, counter + (uint64_t)i) >> 40);
        uint8_t k = r >= threshold;
        keep[i] = k;
        y[i] = k ? x[i] * scale : 0.0f;
    }
}

NK_WIDE void nk_dropout_backward(const float *dy, const uint8_t *keep, float *dx, ptrdiff_t n, float p) {
    float scale = 1.0f / (1.0f - p);
    for (ptrdiff_t i = 0; i < n; i++) dx[i] = keep[i] ? dy[i] * scale : 0.0f;
}

NK_WIDE void nk_adam(float *p, const float *g, float *m, float *v, ptrdiff_t n, float lr, float b1, float b2,
             float eps, float bc1, float bc2, float decoupled_wd) {
    float ib1 = 1.0f - b1, ib2 = 1.0f - b2;
    float step = lr / bc1, ibc2 = 1.0f / bc2, decay = 1.0f - lr * decoupled_wd;
    for (ptrdiff_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + ib1 * gi;
        float vi = b2 * v[i] + ib2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrtf(vi * ibc2) + eps);
    }
}

void nk_sgd(float *p, const float *g, float *buf, ptrdiff_t n, float lr, float momentum, float wd, int first) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        float b = (buf == NULL) ? gi : (first ? gi : momentum * buf[i] + gi);
        if (buf) buf[i] = b;
        p[i] -= lr * b;
    }
}

void nk_configure_heap(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}
