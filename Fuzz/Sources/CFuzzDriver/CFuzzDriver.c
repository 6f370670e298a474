// Declarations only (CFuzzDriver.h); libFuzzer provides the definition.
#include "CFuzzDriver.h"
