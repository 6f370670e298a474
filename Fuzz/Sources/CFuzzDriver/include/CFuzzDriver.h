#ifndef SWIFTNAS_CFUZZDRIVER_H
#define SWIFTNAS_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in libclang_rt.fuzzer, linked by `-sanitize=fuzzer`): parses libFuzzer's
/// command-line flags and runs the fuzzing loop over `callback`. The fuzz targets call it from their
/// own `main`, because SwiftPM names an executable's entry point itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
