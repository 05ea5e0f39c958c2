// Compiled as sim/ compiles (tests/layering_compile_test.sh): must not build,
// HDF5 is not visible to the bottom layer.
#include <hdf5.h>
