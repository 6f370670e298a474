#ifndef SWIFTNAS_COPENBLAS_SHIM_H
#define SWIFTNAS_COPENBLAS_SHIM_H
#include <cblas.h>
#include <stdlib.h>
#include <strings.h>

/* LAPACK symmetric eigensolver (divide and conquer), Fortran calling convention; libopenblas carries it. */
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU's family and model when it loads. A release older than
   the CPU (Debian 12's 0.3.21 on an Emerald Rapids Xeon, family 6 model 0xCF) does not know the model and falls
   back to its Prescott (SSE3) kernels: sgemm then runs at a fifth of the speed (23 against 106-122 GFLOP/s on one
   core, 512^3, measured here). Unless the user chose a core (OPENBLAS_CORETYPE), after that fallback this picks
   the kernel set the CPU's features support (Cooperlake with AVX-512 BF16, SkylakeX with AVX-512, Haswell with
   AVX2 + FMA) and re-initialises OpenBLAS. It must run before the first BLAS call. The two entry points exist only
   in DYNAMIC_ARCH builds, hence weak: a build for one target keeps its own kernels. Returns the core in use. */
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

static inline const char *swiftnas_openblas_select_core(void) {
    if (getenv("OPENBLAS_CORETYPE") || !gotoblas_dynamic_init || !gotoblas_dynamic_quit
        || strcasecmp(openblas_get_corename(), "prescott") != 0)
        return openblas_get_corename();
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *core = 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq"))
        core = __builtin_cpu_supports("avx512bf16") ? "COOPERLAKE" : "SKYLAKEX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        core = "HASWELL";
    if (core) {
        /* Exported, so that child processes (workers, MPI ranks) start with the same kernels. */
        setenv("OPENBLAS_CORETYPE", core, 0);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
    }
#endif
    return openblas_get_corename();
}
#endif
