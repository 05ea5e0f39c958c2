// Compiled as sim/ compiles (tests/layering_compile_test.sh): must not build,
// not even through the full path of the header.
#include <eigen3/Eigen/Core>
