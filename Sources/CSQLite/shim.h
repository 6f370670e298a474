#ifndef SWIFTNAS_CSQLITE_SHIM_H
#define SWIFTNAS_CSQLITE_SHIM_H
/* SQLite's C API (Debian libsqlite3-dev): the storage of studies (NASSearch/Study). */
#include <sqlite3.h>
#endif
