#!/usr/bin/env bash
# The bottom layer's compile flags hide the heavy dependencies
# (cmake/layers.cmake): each tests/layering/sim_probe_*.cc is an OBJECT target
# compiled exactly as sim/ is (tests/CMakeLists.txt). The control (sim headers
# and the standard library) must build; every other probe includes a Boost,
# HDF5 or Eigen header and must fail, for that reason: the header is not found
# or a poisoned identifier (cmake/bottom_layer_guard.h) stops it.
#   layering_compile_test.sh BUILD_DIR
set -u
BUILD=${1:?build dir}
fail=0
build() { cmake --build "$BUILD" --target "layering_probe_$1" 2>&1; }
if ! out=$(build control); then
  echo "$out" | tail -20
  echo "FAIL: control: the sim/ probe with sim/ and standard headers does not build"
  exit 1
fi
echo "control: builds"
for p in boost hdf5 hdf5_path eigen eigen_path; do
  if out=$(build "$p"); then
    echo "FAIL: $p: tests/layering/sim_probe_$p.cc compiles with sim/'s flags"
    fail=1
  elif echo "$out" | grep -q -e 'poisoned' -e 'No such file' -e 'file not found'; then
    echo "$p: rejected: $(echo "$out" | grep -m1 -e 'poisoned' -e 'No such file' -e 'file not found')"
  else
    echo "$out" | tail -20
    echo "FAIL: $p: failed for another reason than the layering"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "layering_compile_test: passed"
exit "$fail"
