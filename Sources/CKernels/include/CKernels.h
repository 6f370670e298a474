#ifndef SWIFTNAS_CKERNELS_H
#define SWIFTNAS_CKERNELS_H
/*
 * Elementwise, row-wise and random kernels of the SwiftNAS engine.
 * Each works on one contiguous range (or one row); the Swift side splits large ranges across threads,
 * so every kernel here is single-threaded and deterministic.
 */
#include <stdint.h>
#include <stddef.h>

/* ---- binary ops on strided vectors: c[i] = a[i*sa] (op) b[i*sb]; stride 0 broadcasts ---- */
typedef enum { NK_ADD = 0, NK_SUB = 1, NK_MUL = 2, NK_DIV = 3 } nk_binop;
void nk_binary(nk_binop op, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t sb, float *c, ptrdiff_t n);
/* y[i*sy] = x[i*sx] (strided copy) */
void nk_copy(const float *x, ptrdiff_t sx, float *y, ptrdiff_t sy, ptrdiff_t n);
/* y[i] += x[i*sx] */
void nk_accumulate(const float *x, ptrdiff_t sx, float *y, ptrdiff_t sy, ptrdiff_t n);
/* y[i] = a * x[i] + b */
void nk_affine(const float *x, float a, float b, float *y, ptrdiff_t n);
void nk_fill(float *y, float v, ptrdiff_t n);

/* ---- unary ops ---- */
typedef enum {
    NK_EXP = 0, NK_LOG, NK_SQRT, NK_ABS, NK_RELU, NK_TANH, NK_SIGMOID, NK_GELU_ERF, NK_GELU_TANH,
    NK_NEG, NK_SQUARE, NK_RECIP
} nk_unop;
void nk_unary(nk_unop op, const float *x, float *y, ptrdiff_t n);
/* dx[i] = dy[i] * f'(x[i]); y is the forward output (used where cheaper, e.g. exp, tanh, sigmoid). */
void nk_unary_backward(nk_unop op, const float *x, const float *y, const float *dy, float *dx, ptrdiff_t n);
/* y = x^p, dx = dy * p * x^(p-1) */
void nk_pow(const float *x, float p, float *y, ptrdiff_t n);
void nk_pow_backward(const float *x, float p, const float *dy, float *dx, ptrdiff_t n);

/* ---- reductions ---- */
/* sum of n contiguous values, accumulated in double (order fixed) */
double nk_sum(const float *x, ptrdiff_t n);
/* max and its first index */
float nk_max(const float *x, ptrdiff_t sx, ptrdiff_t n, ptrdiff_t *argmax);

/* ---- row kernels (one row of length n) ---- */
/* y = softmax(x + mask); mask may be NULL. A row holding NaN gives NaN; a row masked everywhere (all -inf) gives zeros */
void nk_softmax_row(const float *x, const float *mask, float *y, ptrdiff_t n);
/* dx = y * (dy - <dy, y>) */
void nk_softmax_backward_row(const float *y, const float *dy, float *dx, ptrdiff_t n);
/* y = x - logsumexp(x) */
void nk_log_softmax_row(const float *x, float *y, ptrdiff_t n);
/* dx = dy - softmax(x) * sum(dy), with y = log_softmax(x) */
void nk_log_softmax_backward_row(const float *y, const float *dy, float *dx, ptrdiff_t n);
/* cross entropy of one row: returns -log softmax(x)[target]; writes softmax(x) into p (may be NULL) */
float nk_cross_entropy_row(const float *x, int32_t target, float *p, ptrdiff_t n);
/* layer norm forward of one row: y = (x - mu) * rstd * g + b; returns mu and rstd */
void nk_layer_norm_row(const float *x, const float *g, const float *b, float eps, float *y, ptrdiff_t n,
                       float *mu, float *rstd);
/* layer norm backward of one row: dx; accumulates dg += dy * xhat, db += dy (either may be NULL) */
void nk_layer_norm_backward_row(const float *x, const float *g, const float *dy, float mu, float rstd,
                                float *dx, float *dg, float *db, ptrdiff_t n);

/* ---- counter-based random numbers (SplitMix64 of key and counter: independent of threading) ---- */
uint64_t nk_random_u64(uint64_t key, uint64_t counter);
/* u[i] uniform in [0, 1) from counters counter .. counter+n-1 */
void nk_fill_uniform(float *u, ptrdiff_t n, uint64_t key, uint64_t counter, float lo, float hi);
/* normal(mean, std) by Box-Muller; uses counters counter .. counter+n-1 (one per value) */
void nk_fill_normal(float *u, ptrdiff_t n, uint64_t key, uint64_t counter, float mean, float std);
/* inverted dropout in one pass: keep with probability 1-p; keep[i] = 1 or 0; y = x * keep / (1-p) */
void nk_dropout(const float *x, float *y, uint8_t *keep, ptrdiff_t n, float p, uint64_t key, uint64_t counter);
/* dx = dy * keep / (1-p) */
void nk_dropout_backward(const float *dy, const uint8_t *keep, float *dx, ptrdiff_t n, float p);

/* ---- process set-up ---- */
/* Keeps freed memory in the heap (glibc mallopt: no mmap per large buffer, no trimming), so that
   activations of the same size are reused without fresh page faults. */
void nk_configure_heap(void);

/* ---- optimizer steps (in place on one contiguous range) ---- */
/* Adam / AdamW: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m/bc1) / (sqrt(v/bc2) + eps) + lr*wd*p */
void nk_adam(float *p, const float *g, float *m, float *v, ptrdiff_t n, float lr, float b1, float b2,
             float eps, float bc1, float bc2, float decoupled_wd);
/* SGD with momentum (PyTorch form): g' = g + wd p; buf = mu buf + g' (buf = g' on the first step); p -= lr buf */
void nk_sgd(float *p, const float *g, float *buf, ptrdiff_t n, float lr, float momentum, float wd, int first);
/* ---- low-precision operands (lowprecision.c): bf16 rounding, int8 quantization ---- */
/* y[i] = bf16(x[i*sx]) with round-to-nearest-even on the upper 16 bits; NaN stays a quiet NaN, ±inf stays ±inf */
void nk_f32_to_bf16(const float *x, ptrdiff_t sx, uint16_t *y, ptrdiff_t n);
/* y[i] = float(x[i]) (exact: bf16 is the upper half of an fp32) */
void nk_bf16_to_f32(const uint16_t *x, float *y, ptrdiff_t n);
/* smallest and largest of x[i*sx] (NaN ignored; n > 0) */
void nk_min_max(const float *x, ptrdiff_t sx, ptrdiff_t n, float *lo, float *hi);
/* Quantize-dequantize x[0..n) in place on the uniform b-bit grid with one range (FakeQuantization's uniform
 * paths): symmetric  s = max|x|/(2^(b-1)-1),  x = s*clamp(round(x/s), +-(2^(b-1)-1));  asymmetric  s = (max-min)/(2^b-1),
 * z = round(-min/s),  x = s*(clamp(round(x/s)+z, 0, 2^b-1) - z). round: to nearest, ties away from zero. A range
 * that is zero or not finite leaves x as it is. */
void nk_fake_quantize(float *x, ptrdiff_t n, int bits, int symmetric);
/* y[i] = clamp(rint(x[i*sx] * inv_scale) + zero, 0, 255)  (asymmetric uint8, ties to even) */
void nk_quantize_u8(const float *x, ptrdiff_t sx, float inv_scale, int32_t zero, uint8_t *y, ptrdiff_t n);
/* y[i] = clamp(rint(x[i*sx] * inv_scale), -127, 127)  (symmetric int8, ties to even); returns sum of y */
int32_t nk_quantize_s8(const float *x, ptrdiff_t sx, float inv_scale, int8_t *y, ptrdiff_t n);
/* The int8 GEMM's epilogue, in place over a rows x cols block of row stride ldc that holds int32 sums:
 * c[i,j] = scale[j] * (float)(acc[i,j] - offset[j]) + (bias ? bias[j] : 0), written as fp32 over the int32 */
void nk_rescale_s32(void *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t cols, const int32_t *offset, const float *scale,
                    const float *bias);
/* ---- bf16 and int8 GEMMs on Intel AMX (amx.c) ---- */
/* 1 when the CPU has AMX-TILE, AMX-BF16 and AMX-INT8, the OS enables the tile state and grants it to this process */
int nk_amx_enable(void);
/* B [k x n] (bf16, element (i, j) at b[i*rs + j*cs]; k a multiple of 32) packed for the kernels below: column
 * blocks of 16 (zero-padded past n), each k/2 rows of 16 (k, k+1) pairs; writes blocks [first, end) */
void nk_amx_pack_bf16(const uint16_t *b, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t k, ptrdiff_t n,
                      ptrdiff_t first_block, ptrdiff_t end_block, uint16_t *packed);
/* C [m x n] (fp32, row stride ldc) = A [m x k] . B (packed) + bias[n] (bias may be NULL), fp32
 * accumulation (TDPBF16PS). A in bf16 (row stride lda), or in fp32 (_f32a), rounded like nk_f32_to_bf16 as it
 * is packed. Needs nk_amx_enable() == 1 and k a multiple of 32. */
void nk_amx_gemm_bf16(const uint16_t *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc);
void nk_amx_gemm_f32a(const float *a, ptrdiff_t lda, const uint16_t *packed, ptrdiff_t m, ptrdiff_t n,
                      ptrdiff_t k, const float *bias, float *c, ptrdiff_t ldc);
/* int8 weights W [n x k] (row stride ldw; k a multiple of 64) packed for nk_amx_gemm_u8s8: column blocks of 16
 * (zero-padded past n), each k/4 rows of 16 groups of 4 consecutive k; writes blocks [first, end) */
void nk_amx_pack_s8(const int8_t *w, ptrdiff_t ldw, ptrdiff_t k, ptrdiff_t n, ptrdiff_t first_block, ptrdiff_t end_block,
                    int8_t *packed);
/* C [m x n] (fp32) = scale[j] * (sum_k q(A)[i,k] * W[j,k] - offset[j]) + bias[j] with A fp32 (row stride lda)
 * quantized as it is packed exactly as nk_quantize_u8 (inv_scale, zero), int32 sums (TDPBUSD), the epilogue of
 * nk_rescale_s32 (bias may be NULL). Needs nk_amx_enable() == 1 and k a multiple of 64. */
void nk_amx_gemm_u8s8(const float *a, ptrdiff_t lda, float inv_scale, int32_t zero, const int8_t *packed, ptrdiff_t m,
                      ptrdiff_t n, ptrdiff_t k, const int32_t *offset, const float *scale, const float *bias, float *c,
                      ptrdiff_t ldc);
#endif
