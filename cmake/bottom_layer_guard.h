// Forced into every translation unit of sim/ (the bottom layer, which uses the
// standard library and Random123 only) by advlab::bottom_layer_guard, see
// cmake/deps.cmake. Boost's headers sit in /usr/include, on every compile's
// search path, and HDF5's and Eigen's are reachable by a full path
// (<hdf5/serial/hdf5.h>, <eigen3/Eigen/Core>): poisoning identifiers that each
// of them declares makes such an include in sim/ a compile error
// ("attempt to use poisoned"). Comments and strings may still name them.
#ifndef ADVLAB_CMAKE_BOTTOM_LAYER_GUARD_H_
#define ADVLAB_CMAKE_BOTTOM_LAYER_GUARD_H_
#pragma GCC poison boost Eigen hid_t herr_t
#endif  // ADVLAB_CMAKE_BOTTOM_LAYER_GUARD_H_
