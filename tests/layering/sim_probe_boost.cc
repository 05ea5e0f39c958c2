// Compiled as sim/ compiles (tests/layering_compile_test.sh): must not build,
// Boost is not visible to the bottom layer.
#include <boost/program_options.hpp>
