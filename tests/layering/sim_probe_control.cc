// Compiled as sim/ compiles (tests/layering_compile_test.sh): must build.
#include <vector>

#include "sim/loop.h"
#include "sim/rng.h"

int LayeringProbeControl() { return static_cast<int>(std::vector<int>(3).size()); }
