#!/bin/sh
# Compiles every host/device step function for the GPU: each *_hd_test.cu of
# the tree instantiates its folder's ADVLAB_HD functions inside __global__
# kernels, and nvcc (device code for sm_90, --fmad=false, no fast-math) must
# accept them. A compile-only check: it needs nvcc, not a GPU. Skips (exit 77)
# where nvcc is absent.
#   tests/hd_compile_test.sh SOURCE_DIR [NVCC]
set -eu
src=$1
nvcc=${2:-/usr/local/cuda/bin/nvcc}
if ! [ -x "$nvcc" ]; then
  echo "hd_compile_test: no nvcc at $nvcc; skipped"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
for f in $(cd "$src" && find sim envs policies estimators losses -name '*_hd_test.cu' | sort); do
  "$nvcc" -std=c++20 --fmad=false --expt-relaxed-constexpr -arch=sm_90 -Xcompiler -ffp-contract=off -Werror all-warnings \
    -I "$src" -c "$src/$f" -o "$out/$(basename "$f").o"
  echo "ok $f"
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "hd_compile_test: no *_hd_test.cu found under $src" >&2
  exit 1
fi
echo "hd_compile_test: $n translation units compiled for the device"
