#!/usr/bin/env bash
# The unit tests (every advlab_test() binary: ctest -L unit) pass under
# AddressSanitizer and UndefinedBehaviorSanitizer, every finding fatal. Builds
# them in its own build directory (-O1 -g); the shell tests, the cross builds
# and the golden matrix are left out (slow under ASan; numerics are the golden
# test's business).
#   sanitizer_test.sh SRC SCRATCH_DIR
set -eu
SRC=${1:?source dir}; B=${2:?scratch build dir}
JOBS=$(nproc)
FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
t0=$(date +%s)
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Asan -DCMAKE_CXX_FLAGS_ASAN="$FLAGS" \
  -DCMAKE_C_FLAGS_ASAN="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS_ASAN="-fsanitize=address,undefined" \
  >"$B.configure.log" 2>&1 || { cat "$B.configure.log"; echo "FAIL: configure"; exit 1; }
if ! cmake --build "$B" --target advlab_unit_tests -j "$JOBS" >"$B.build.log" 2>&1; then
  grep -E -B2 -A12 'error|Error' "$B.build.log" | head -80
  echo "FAIL: the sanitizer build of the unit tests (log: $B.build.log)"
  exit 1
fi
t1=$(date +%s)
export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
ctest --test-dir "$B" -L unit -j "$JOBS" --output-on-failure || status=$?
t2=$(date +%s)
echo "sanitizer_test: build $((t1 - t0)) s, unit tests $((t2 - t1)) s"
[ "$status" = 0 ] || { echo "FAIL: unit tests under ASan+UBSan"; exit 1; }
echo "sanitizer_test (address,undefined): passed"
