#!/usr/bin/env bash
# A Debug build and the Release build under test give identical result datasets
# (compared by `advlab digest`, which leaves out build provenance).
set -eu
SRC=${1:?source dir}; XBUILD=${2:?scratch build dir}; RELEASE_BIN=${3:?release advlab}
cmake -S "$SRC" -B "$XBUILD" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$XBUILD" --target advlab -j "$(nproc)" >/dev/null
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ARGS=(sweep --env.prompts=64 --train.steps=200 --env.drift=linear --optim.lr=20
      --grid estimator.name=reinforce,rloo,grpo,dr_grpo --grid optim.name=sgd,adam --seeds 2 --threads 2)
"$RELEASE_BIN" "${ARGS[@]}" --out "$T/release.h5" >/dev/null
"$XBUILD/advlab" "${ARGS[@]}" --out "$T/debug.h5" >/dev/null
a=$("$RELEASE_BIN" digest "$T/release.h5" | cut -d' ' -f1)
b=$("$XBUILD/advlab" digest "$T/debug.h5" | cut -d' ' -f1)
echo "release $a"; echo "debug   $b"
[ "$a" = "$b" ] || { echo "FAIL: Debug and Release results differ"; exit 1; }
# Multi-token families, noise, drift and the exact-gradient diagnostics.
ARGS2=(sweep --env.prompts=32 --train.steps=80 --train.eval_every=20 --env.drift=random_walk
       --env.false_positive=0.05 --env.false_negative=0.1 --env.answer_rate=0.02 --optim.lr=4
       --env.modulus=5 --env.chain_max_depth=4 --env.max_length=8 --env.max_required=4
       --diagnostics.exact_gradient=true --diagnostics.samples=3
       --grid env.name=choice,chain,think --grid optim.name=sgd,adam --seeds 2 --threads 2)
"$RELEASE_BIN" "${ARGS2[@]}" --out "$T/release2.h5" >/dev/null
"$XBUILD/advlab" "${ARGS2[@]}" --out "$T/debug2.h5" >/dev/null
a=$("$RELEASE_BIN" digest "$T/release2.h5" | cut -d' ' -f1)
b=$("$XBUILD/advlab" digest "$T/debug2.h5" | cut -d' ' -f1)
echo "release $a (families)"; echo "debug   $b (families)"
[ "$a" = "$b" ] || { echo "FAIL: Debug and Release results differ (families)"; exit 1; }
# The builds really differ (otherwise the test would prove nothing).
"$XBUILD/advlab" version | grep -q "build_type: Debug"
"$RELEASE_BIN" version | grep -q "build_type: Release"
echo "cross_build_test: passed"
