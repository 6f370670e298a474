#ifndef SWIFTNAS_CDNNL_SHIM_H
#define SWIFTNAS_CDNNL_SHIM_H
/* oneDNN's C API (Debian libdnnl-dev 2.6, built with the GNU OpenMP runtime; no pkg-config file). */
#include <oneapi/dnnl/dnnl.h>

/* The two OpenMP runtime calls the engine needs (libgomp; omp.h lives in GCC's private include folder,
   so they are declared here). The thread count is per calling thread (the nthreads-var ICV). */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
#endif
