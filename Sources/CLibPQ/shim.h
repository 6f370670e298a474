#ifndef SWIFTNAS_CLIBPQ_SHIM_H
#define SWIFTNAS_CLIBPQ_SHIM_H
/* PostgreSQL's C client library (Debian libpq-dev): studies shared by many workers (NASSearch/Study). */
#include <libpq-fe.h>
#endif
