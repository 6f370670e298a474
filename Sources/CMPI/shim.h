#ifndef SWIFTNAS_CMPI_SHIM_H
#define SWIFTNAS_CMPI_SHIM_H
/* Open MPI's C API (Debian libopenmpi-dev, pkg-config ompi-c): the collectives of data-parallel training
   (NASTensor/Distributed). */
#include <mpi.h>

/* Open MPI's predefined handles are macros over global objects, which Swift cannot import: one function each. */
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_max(void) { return MPI_MAX; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
#endif
