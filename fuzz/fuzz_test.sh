#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/CMakeLists.txt) with clang and runs each one
# briefly from its seed corpus (fuzz/corpus/TARGET, read only: new inputs go to
# a temp dir). Every seed runs first, so the corpus doubles as a regression
# test; then FUZZ_SECONDS (default 4) of fuzzing per target (results_fuzz:
# the seeds only). A crash, sanitizer
# report, leak, timeout or any exception other than a one-line UserError fails.
#   fuzz_test.sh SRC SCRATCH_BUILD_DIR OBJECTS_FILE [TARGET...]
# Exit 77 (skipped) where clang is missing.
set -eu
SRC=${1:?source dir}; B=${2:?scratch build dir}; OBJS=${3:?fuzz_objects.txt}; shift 3
TARGETS=${*:-ini cli advantage results results_layout journal shard}
SECONDS_EACH=${FUZZ_SECONDS:-4}
command -v clang++ >/dev/null || { echo "SKIP: clang++ not installed (cmake/install-deps.sh)"; exit 77; }
t0=$(date +%s)
CXX=clang++ CC=clang cmake -S "$SRC/fuzz" -B "$B" -DCMAKE_BUILD_TYPE=Fuzz \
  -DADVLAB_OBJECTS_FILE="$OBJS" >"$B.configure.log" 2>&1 ||
  { cat "$B.configure.log"; echo "FAIL: configure"; exit 1; }
targets=""
for t in $TARGETS; do targets="$targets ${t}_fuzz"; done
# shellcheck disable=SC2086
if ! cmake --build "$B" --target $targets -j "$(nproc)" >"$B.build.log" 2>&1; then
  grep -E -B2 -A12 'error|Error' "$B.build.log" | head -80
  echo "FAIL: the fuzz build (log: $B.build.log)"
  exit 1
fi
t1=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export TMPDIR=$T ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in $TARGETS; do
  mkdir -p "$T/new-$t"
  # results_fuzz hands raw bytes to libhdf5, whose own parser crashes on some
  # damaged files (fuzz/README.md): here it replays its seeds only.
  limit=-max_total_time=$SECONDS_EACH
  [ "$t" = results ] && limit=-runs=0
  if "$B/${t}_fuzz" "$limit" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$T/" "$T/new-$t" "$SRC/fuzz/corpus/$t" \
       >"$T/$t.log" 2>&1; then
    echo "$t: $(grep -E 'stat::number_of_executed_units' "$T/$t.log" | awk '{print $2}') inputs," \
         "$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$T/$t.log" | tail -1 | grep -oE 'cov: [0-9]+')"
  else
    status=1
    tail -60 "$T/$t.log"
    for a in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do
      [ -e "$a" ] || continue
      mkdir -p "$B/artifacts"; cp "$a" "$B/artifacts/$t-$(basename "$a")"
      echo "artifact: $B/artifacts/$t-$(basename "$a")"
    done
    rm -f "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*
    echo "FAIL: ${t}_fuzz found a problem (log above)"
  fi
done
t2=$(date +%s)
echo "fuzz_test: build $((t1 - t0)) s, fuzzing $((t2 - t1)) s"
[ "$status" = 0 ] || { echo "FAIL: fuzz_test"; exit 1; }
echo "fuzz_test ($TARGETS): passed"
