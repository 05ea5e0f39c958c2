// Compiled as sim/ compiles (tests/layering_compile_test.sh): must not build,
// not even through the full path of the header.
#include <hdf5/serial/hdf5.h>
