// Compiled as sim/ compiles (tests/layering_compile_test.sh): must not build,
// Eigen is not visible to the bottom layer.
#include <Eigen/Core>
