#!/usr/bin/env bash
# Shards and job arrays (docs/sweeps.md): `advlab sweep --shard I/N` and
# `--shard-from-env` (a Slurm and a Grid Engine array) write shard files;
# `advlab merge` in every order of its arguments writes the unsharded sweep's
# bytes, also after a shard was killed with SIGKILL and resumed; a missing,
# duplicate, foreign, damaged or truncated shard is refused in one line naming
# the file, and no output is written.
#   shard_cli_test.sh ADVLAB
set -u
ADVLAB=${1:?usage: shard_cli_test.sh ADVLAB}
. "$(dirname "$0")/cli_lib.sh"

# 2 arms x 2 learning rates x 6 seeds: 24 runs of a few ms each.
BASE=(sweep --env.name=choice --train.eval_every=50 --grid optim.lr=2,8
      --arm 'a:' --arm 'b: estimator.name=rloo' --seeds 6 --quiet)
SWEEP=("${BASE[@]}" --train.steps=200)
LONG=("${BASE[@]}" --train.steps=2000)
sweep() { "$ADVLAB" "${SWEEP[@]}" "$@" >"$T/stdout" 2>"$T/stderr"; }

sweep --threads 2 --out "$T/ref.h5" || fail "unsharded sweep: $(cat "$T/stderr")"

# Three shards, each with its own thread count.
for i in 0 1 2; do
  sweep --threads $((1 + i % 2)) --shard $i/3 --out "$T/s$i.h5" || fail "shard $i/3: $(cat "$T/stderr")"
  grep -q "^shard $i/3 of 24 runs" "$T/stdout" || fail "shard $i/3 does not say what it is: $(cat "$T/stdout")"
done
n=0
for order in "0 1 2" "0 2 1" "1 0 2" "1 2 0" "2 0 1" "2 1 0"; do
  files=()
  for i in $order; do files+=("$T/s$i.h5"); done
  rm -f "$T/m.h5"
  "$ADVLAB" merge "${files[@]}" --out "$T/m.h5" >"$T/stdout" 2>"$T/stderr" || fail "merge $order: $(cat "$T/stderr")"
  cmp -s "$T/m.h5" "$T/ref.h5" || fail "merge in the order $order differs from the unsharded file"
  n=$((n + 1))
done
grep -q "^merged 3 shards into $T/m.h5 (24 runs x 5 evals)$" "$T/stdout" || fail "merge says: $(cat "$T/stdout")"
echo "merged in $n orders: same bytes as the unsharded sweep"

# A shard killed with SIGKILL mid-way resumes from its journal.
"$ADVLAB" "${LONG[@]}" --threads 1 --shard 1/3 --out "$T/k1.h5" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
  [ -s "$T/k1.h5.journal" ] && [ "$(stat -c %s "$T/k1.h5.journal")" -gt 2000 ] && break
  sleep 0.02
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -e "$T/k1.h5.journal" ] || fail "a killed shard left no journal"
[ -e "$T/k1.h5" ] && fail "a killed shard left its file"
"$ADVLAB" "${LONG[@]}" --threads 2 --shard 1/3 --out "$T/k1_again.h5" >/dev/null 2>&1 || fail "shard 1/3 (2000 steps)"
"$ADVLAB" "${LONG[@]}" --threads 2 --shard 1/3 --out "$T/k1.h5" >"$T/stdout" 2>"$T/stderr" \
  || fail "resuming shard 1/3: $(cat "$T/stderr")"
cmp -s "$T/k1.h5" "$T/k1_again.h5" || fail "a resumed shard differs from one made in one go"
[ -e "$T/k1.h5.journal" ] && fail "the journal outlived the resumed shard"

# Job arrays: Slurm --array=4-6 and Grid Engine -t 1-5:2 cover the sweep.
for id in 4 5 6; do
  env SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_COUNT=3 \
    "$ADVLAB" "${SWEEP[@]}" --shard-from-env --out "$T/slurm_$id.h5" >/dev/null 2>"$T/stderr" \
    || fail "Slurm task $id: $(cat "$T/stderr")"
done
"$ADVLAB" merge "$T"/slurm_6.h5 "$T"/slurm_4.h5 "$T"/slurm_5.h5 --out "$T/slurm.h5" >/dev/null 2>"$T/stderr" \
  || fail "merge of the Slurm array: $(cat "$T/stderr")"
cmp -s "$T/slurm.h5" "$T/ref.h5" || fail "the Slurm array's merge differs from the unsharded file"
cmp -s "$T/slurm_5.h5" "$T/s1.h5" || fail "Slurm task 5 of 4-6 is not shard 1/3"
for id in 1 3 5; do
  env SGE_TASK_ID=$id SGE_TASK_FIRST=1 SGE_TASK_LAST=5 SGE_TASK_STEPSIZE=2 \
    "$ADVLAB" "${SWEEP[@]}" --shard-from-env --out "$T/sge_$id.h5" >/dev/null 2>"$T/stderr" \
    || fail "Grid Engine task $id: $(cat "$T/stderr")"
done
"$ADVLAB" merge "$T"/sge_*.h5 --out "$T/sge.h5" >/dev/null 2>"$T/stderr" || fail "merge of the SGE array"
cmp -s "$T/sge.h5" "$T/ref.h5" || fail "the Grid Engine array's merge differs from the unsharded file"

# Refusals: one line naming the file, exit 2, no output (nor a temp file).
refused() {  # refused PATTERN DESCRIPTION -- ARGS...
  local pattern=$1 what=$2
  shift 3
  rm -f "$T/out.h5"
  "$ADVLAB" "$@" >/dev/null 2>"$T/stderr"
  check_error $? "$pattern" -F "$what"
  [ -e "$T/out.h5" ] && fail "$what: wrote the output"
  ls "$T"/out.h5.tmp.* >/dev/null 2>&1 && fail "$what: left a temp file"
}
refused "merge: shard 2/3 is missing: 2 of 3 shards given" "a missing shard" -- \
  merge "$T/s0.h5" "$T/s1.h5" --out "$T/out.h5"
cp "$T/s1.h5" "$T/s1_copy.h5"
refused "$T/s1.h5: shard 1/3 again ($T/s1_copy.h5 is shard 1/3 too)" "a duplicate shard" -- \
  merge "$T/s0.h5" "$T/s1_copy.h5" "$T/s1.h5" "$T/s2.h5" --out "$T/out.h5"
refused "$T/k1.h5: a shard of another sweep than $T/s0.h5: steps = 0,50,100," \
  "a shard of another sweep" -- merge "$T/s0.h5" "$T/k1.h5" "$T/s2.h5" --out "$T/out.h5"
sweep --shard 0/2 --out "$T/half0.h5" || fail "shard 0/2"
refused "$T/half0.h5: shard 0/2, but $T/s1.h5 is shard 1/3: the shard counts differ" \
  "another shard count" -- merge "$T/s1.h5" "$T/half0.h5" --out "$T/out.h5"
refused "$T/ref.h5: not a shard file (no group /shard)" "a whole sweep's file" -- \
  merge "$T/s0.h5" "$T/ref.h5" --out "$T/out.h5"
cp "$T/s1.h5" "$T/damaged.h5"
$PY -c "
import h5py
with h5py.File('$T/damaged.h5', 'r+') as f:
    d = f['metrics/accuracy']; d[1, 2] = d[1, 2] + 2.0**-40
" || fail "h5py could not edit the shard"
refused "$T/damaged.h5: damaged: its content does not match its checksum (/shard/sha256)" \
  "a damaged value" -- merge "$T/s0.h5" "$T/damaged.h5" "$T/s2.h5" --out "$T/out.h5"
head -c 6000 "$T/s2.h5" >"$T/truncated.h5"
refused "$T/truncated.h5: " "a truncated shard" -- \
  merge "$T/s0.h5" "$T/s1.h5" "$T/truncated.h5" --out "$T/out.h5"
printf 'not hdf5' >"$T/junk.h5"
refused "$T/junk.h5: " "a file that is not HDF5" -- merge "$T/junk.h5" --out "$T/out.h5"
refused "merge: no shard files given" "no shards" -- merge --out "$T/out.h5"
refused "merge: --out FILE.h5 is required" "no --out" -- merge "$T/s0.h5"
refused "merge: unknown option '--threads'" "an unknown option" -- \
  merge "$T/s0.h5" --threads 2 --out "$T/out.h5"
refused "$T/ref.h5: output file exists; pass --force to overwrite" "an existing output" -- \
  merge "$T/s0.h5" "$T/s1.h5" "$T/s2.h5" --out "$T/ref.h5"
refused "--shard '3/3': I must be 0..2 (shards are counted from 0)" "shard index out of range" -- \
  "${SWEEP[@]}" --shard 3/3 --out "$T/out.h5"
refused "--shard and --shard-from-env: give one" "both shard options" -- \
  "${SWEEP[@]}" --shard 0/3 --shard-from-env --out "$T/out.h5"
refused "--shard-from-env: no job array in the environment" "no job array" -- \
  "${SWEEP[@]}" --shard-from-env --out "$T/out.h5"
refused "$T/s0.h5: shard 0/3 of a sweep, not the whole sweep; merge its shards first" \
  "analyze of a shard" -- analyze "$T/s0.h5"

[ "$fails" -eq 0 ] && echo "shard_cli_test: passed" && exit 0
echo "shard_cli_test: $fails failure(s)"
exit 1
