#ifndef NK_WIDE_H
#define NK_WIDE_H
/* The package compiles for x86-64-v3 (AVX2, FMA). An element-wise kernel marked NK_WIDE is also compiled
 * for AVX-512 and the loader picks that copy on CPUs that have it (an ifunc). Only kernels whose lanes are
 * independent are marked: both copies give bit-identical results, so a run does not depend on the CPU's
 * vector width. Reductions (softmax, LayerNorm) stay single-copy. */
#if defined(__x86_64__) && defined(__linux__)
#define NK_WIDE __attribute__((target_clones("avx512f", "default")))
#else
#define NK_WIDE
#endif
#endif
