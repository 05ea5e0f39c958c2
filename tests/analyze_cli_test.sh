#!/usr/bin/env bash
# `advlab analyze` and `advlab report` end to end: the output is byte-identical
# for a sweep run with --threads 1 and 2, the report matches its golden
# report.md and has every figure, and bad input is one line, exit 2, with no
# half-written report directory.
#   analyze_cli_test.sh ADVLAB GOLDEN_REPORT_MD [--regenerate]
set -u
ADVLAB=${1:?usage: analyze_cli_test.sh ADVLAB GOLDEN_REPORT_MD [--regenerate]}
GOLDEN=${2:?usage: analyze_cli_test.sh ADVLAB GOLDEN_REPORT_MD [--regenerate]}
. "$(dirname "$0")/cli_lib.sh"

expect_error() {
  local pattern=$1; shift
  "$ADVLAB" "$@" >"$T/stdout" 2>"$T/stderr"
  check_error $? "$pattern" -F "$*"
  ls -d "$T"/rep*.tmp-* "$T"/rep*.old-* >/dev/null 2>&1 && fail "temp report directory left behind: $*"
}

# The golden sweep: two estimators x two learning rates x 4 seeds on choice.
SWEEP="--train.steps=60 --train.eval_every=20 --env.prompts=32 --grid estimator.name=grpo,rloo
       --grid optim.lr=4,16 --seeds 4"
"$ADVLAB" sweep $SWEEP --threads 1 --out "$T/s1.h5" >/dev/null || fail "sweep --threads 1"
mkdir -p "$T/t2"  # same file name, so the reports may be compared byte for byte
"$ADVLAB" sweep $SWEEP --threads 2 --out "$T/t2/s1.h5" >/dev/null || fail "sweep --threads 2"
ln -s "$T/t2/s1.h5" "$T/s2.h5"

# Byte-identical analysis whatever --threads made the file, in every format and mode.
for args in "" "--format csv" "--format json" "--format md" "--measure steps_to:0.5" \
            "--compare estimator.name=rloo,grpo" "--by estimator.name --sensitivity optim.lr" \
            "--tune optim.lr --compare estimator.name=rloo,grpo --stat median" \
            "--metric response_length --goal min --measure auc"; do
  "$ADVLAB" analyze "$T/s1.h5" $args --resamples 500 >"$T/a1" 2>&1 || fail "analyze $args: $(cat "$T/a1")"
  "$ADVLAB" analyze "$T/s2.h5" $args --resamples 500 >"$T/a2" 2>&1 || fail "analyze (threads 2) $args"
  cmp -s "$T/a1" "$T/a2" || fail "analyze $args differs between --threads 1 and 2"
  [ -s "$T/a1" ] || fail "analyze $args printed nothing"
done
# JSON parses; CSV has one header and one line per configuration.
"$ADVLAB" analyze "$T/s1.h5" --format json --resamples 200 | $PY -c 'import json,sys; json.load(sys.stdin)' \
  || fail "analyze --format json is not JSON"
lines=$("$ADVLAB" analyze "$T/s1.h5" --csv --resamples 200 | wc -l)
[ "$lines" -eq 5 ] || fail "analyze --csv: $lines lines, want 5"

# The report: golden report.md, every figure as PNG and SVG.
if $PY -c 'import matplotlib, h5py' 2>/dev/null; then
  "$ADVLAB" report "$T/s1.h5" --out "$T/rep" --by estimator.name --resamples 500 \
    --band-resamples 200 >"$T/stdout" 2>"$T/stderr" || { fail "report: $(cat "$T/stderr")"; }
  if [ "${3:-}" = "--regenerate" ]; then
    cp "$T/rep/report.md" "$GOLDEN"
    echo "wrote $GOLDEN"
  fi
  cmp -s "$T/rep/report.md" "$GOLDEN" || { fail "report.md differs from $GOLDEN"; diff "$GOLDEN" "$T/rep/report.md" | head -20; }
  for f in curves_accuracy bins cost sensitivity poi profiles; do
    [ -s "$T/rep/$f.png" ] && [ -s "$T/rep/$f.svg" ] || fail "report lacks $f.png/.svg"
  done
  $PY - "$T/rep" <<'EOF' || fail "report figures"
import sys, glob, xml.etree.ElementTree as ET
import matplotlib.image as mpimg
d = sys.argv[1]
for p in sorted(glob.glob(d + "/*.png")):
    img = mpimg.imread(p)
    assert img.shape[:2] == (625, 1000), (p, img.shape)
    assert img[..., :3].var() > 1e-3, ("blank", p)
for p in sorted(glob.glob(d + "/*.svg")):
    ET.parse(p)
EOF
  # Same file, same report bytes.
  "$ADVLAB" report "$T/t2/s1.h5" --out "$T/rep2" --by estimator.name --resamples 500 \
    --band-resamples 200 >/dev/null 2>&1 || fail "report (threads 2)"
  cmp -s "$T/rep/report.md" "$T/rep2/report.md" || fail "report.md differs between --threads 1 and 2"
  # analysis.json names the file by its absolute path: compare the rest.
  cmp -s <(grep -v '"file":' "$T/rep/analysis.json") <(grep -v '"file":' "$T/rep2/analysis.json") \
    || fail "analysis.json differs between --threads 1 and 2"
  # An existing directory is kept without --force, replaced with it.
  expect_error "exists; give --force" report "$T/s1.h5" --out "$T/rep2"
  [ -s "$T/rep2/report.md" ] || fail "existing report directory damaged"
  "$ADVLAB" report "$T/s1.h5" --out "$T/rep2" --force --resamples 100 --band-resamples 50 \
    >/dev/null 2>&1 || fail "report --force"
  rm -rf "$T/rep" "$T/rep2"
  # A failing figure script leaves nothing behind.
  ADVLAB_PYTHON=/bin/false expect_error "figure script" report "$T/s1.h5" --out "$T/rep" --resamples 50
  [ -e "$T/rep" ] && fail "failed report left a directory"
else
  echo "SKIP report checks: /usr/bin/python3 lacks matplotlib or h5py"
fi

# Time to threshold on a bin from the step it entered training (since_entry:T
# reads entry_step_binK) on a curriculum-drifted sweep: runs, the same bytes
# whatever --threads made the file, some runs reach it, and the NaN of a bin not
# yet entered is no divergence.
DRIFT="--train.steps=200 --train.eval_every=10 --env.prompts=64 --train.batch_prompts=16
       --train.group_size=4 --optim.lr=20 --env.drift=accuracy --env.drift_check_every=5
       --env.drift_threshold=0.6 --grid estimator.name=grpo,rloo --seeds 3"
"$ADVLAB" sweep $DRIFT --threads 1 --out "$T/d1.h5" >/dev/null || fail "drifted sweep"
"$ADVLAB" sweep $DRIFT --threads 2 --out "$T/d2.h5" >/dev/null || fail "drifted sweep --threads 2"
for f in d1 d2; do
  "$ADVLAB" analyze "$T/$f.h5" --metric accuracy_bin3 --measure since_entry:0.5 --csv \
    --resamples 200 >"$T/$f.csv" 2>&1 || fail "analyze since_entry: $(cat "$T/$f.csv")"
done
cmp -s "$T/d1.csv" "$T/d2.csv" || fail "since_entry differs between --threads 1 and 2"
# columns: ... reached (14), runs (15), diverged (16)
awk -F, 'NR > 1 { r += $14; d += $16 } END { exit !(NR == 3 && r > 0 && d == 0) }' "$T/d1.csv" \
  || fail "since_entry: want 2 rows, some runs reached, none diverged: $(cat "$T/d1.csv")"
expect_error "needs --metric accuracy_binK" analyze "$T/d1.h5" --measure since_entry:0.5

# A preset's [analysis] section: checked before any run, stored in the file, the
# defaults of analyze (the same output as the options typed, plus one header
# line), replaced option by option on the command line, dropped with
# --no-file-options.
cat >"$T/pre.ini" <<'EOF'
[env]
prompts = 32
[train]
steps = 60
eval_every = 20
[sweep]
seeds = 4
grid.optim.lr = 4, 16
[arm.g]
estimator.name = grpo
[arm.r]
estimator.name = rloo
[analysis]
measure = auc
tune = optim.lr
compare = arm=g,r
resamples = 300
EOF
"$ADVLAB" sweep --config "$T/pre.ini" --out "$T/pre.h5" >"$T/stdout" 2>&1 || fail "sweep with [analysis]: $(cat "$T/stdout")"
grep -q "advlab analyze $T/pre.h5" "$T/stdout" || fail "sweep with [analysis] does not say how to analyze"
"$ADVLAB" analyze "$T/pre.h5" >"$T/a1" 2>&1 || fail "analyze with file options: $(cat "$T/a1")"
"$ADVLAB" analyze "$T/pre.h5" --no-file-options --measure auc --tune optim.lr --compare arm=g,r \
  --resamples 300 >"$T/a2" 2>&1 || fail "analyze with the same options typed"
grep -q "options from the sweep's \[analysis\] section: --measure=auc --tune=optim.lr --compare=arm=g,r --resamples=300" "$T/a1" \
  || fail "analyze does not name the file's options: $(head -3 "$T/a1")"
cmp -s <(grep -v "^# options from" "$T/a1") "$T/a2" || fail "file options give another analysis than typed ones"
"$ADVLAB" analyze "$T/pre.h5" --measure final >"$T/a3" 2>&1 || fail "analyze overriding --measure"
grep -q "^# measure: final accuracy" "$T/a3" && grep -q "section: --tune=optim.lr --compare=arm=g,r --resamples=300 " "$T/a3" \
  || fail "a command-line --measure does not replace the file's: $(head -3 "$T/a3")"
"$ADVLAB" analyze "$T/pre.h5" --no-file-options >"$T/a4" 2>&1 || fail "analyze --no-file-options"
grep -q "options from\|tuned per arm" "$T/a4" && fail "--no-file-options kept the file's options"
for bad in "s/compare = arm=g,r/compare = arm=g,x/:[analysis] compare: --compare arm: no run has the value 'x'" \
           "s/tune = optim.lr/tune = optim.lrr/:[analysis] tune: --tune: 'optim.lrr' is not a swept key" \
           "s/measure = auc/measure = aucc/:[analysis] measure: --measure: unknown measure" \
           "s/measure = auc/mesure = auc/:unknown [analysis] key 'mesure' (did you mean 'measure'?)" \
           "s/seeds = 4/seeds = 1/:--tune-seeds: 0 tuning seeds of 1"; do
  sed "${bad%%:*}" "$T/pre.ini" >"$T/bad.ini"
  expect_error "${bad#*:}" sweep --config "$T/bad.ini" --out "$T/bad.h5"
  [ -e "$T/bad.h5" ] && fail "refused [analysis] left $T/bad.h5"
done

# Bad input: one line, exit 2.
expect_error "did you mean 'accuracy'" analyze "$T/s1.h5" --metric acuracy
expect_error "did you mean \"steps_to:T\"" analyze "$T/s1.h5" --measure stepsto:0.5
expect_error "--by: 'estimator' is not a swept key" analyze "$T/s1.h5" --by estimator
expect_error "outside the range of accuracy [0, 1]" analyze "$T/s1.h5" --measure steps_to:1.5
expect_error "no run has the value 'rlo'" analyze "$T/s1.h5" --compare estimator.name=grpo,rlo
expect_error "--format: invalid value 'xml'" analyze "$T/s1.h5" --format xml
expect_error "--measure steps_to:T" analyze "$T/s1.h5" --threshold 0.8
expect_error "--tune-seeds" analyze "$T/s1.h5" --tune optim.lr --tune-seeds 4
expect_error "--out DIR is required" report "$T/s1.h5"
expect_error "--metric: 'acuracy'" report "$T/s1.h5" --out "$T/rep" --metric acuracy
[ -e "$T/rep" ] && fail "refused report left a directory"
# Configurations that share no seeds: two sweeps with different base seeds, merged
# by hand into one file is not possible from the CLI; the comparison check is in
# analyze_test.cc. Files that are not advlab results:
echo "not hdf5" >"$T/text.h5"
expect_error "text.h5" analyze "$T/text.h5"
$PY - "$T/other.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("x", data=[1, 2, 3])
EOF
expect_error "other.h5" analyze "$T/other.h5"
$PY - "$T/s1.h5" "$T/v2.h5" <<'EOF'
import sys, shutil, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    f.attrs["format_version"] = 99
EOF
expect_error "format" analyze "$T/v2.h5"
# Valid HDF5 files with a wrong shape or type (written by h5py, as another tool
# would): one line naming the file, the dataset and what was expected.
while IFS='|' read -r name edit message; do
  $PY - "$T/s1.h5" "$T/$name.h5" "$edit" <<'EOF2' || fail "h5py could not write $name.h5"
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    runs, evals = f["metrics/accuracy"].shape
    def put(name, data):
        del f[name]
        f[name] = data
    exec(sys.argv[3])
EOF2
  expect_error "$name.h5: $message" analyze "$T/$name.h5"
  expect_error "$name.h5: $message" digest "$T/$name.h5"
done <<'EOF'
rows|put("metrics/accuracy", np.zeros((runs + 1, evals)))|/metrics/accuracy has shape [17, 4], expected [runs, evals] = [16, 4]
rank3|put("metrics/accuracy", np.zeros((runs, evals, 2)))|/metrics/accuracy has rank 3, expected 2-D float64 [runs, evals]
col2d|put("runs/seed", np.zeros((runs, 2), dtype="i8"))|/runs/seed has rank 2, expected a 1-D column [runs]
steps|put("steps", np.arange(evals, dtype="f8"))|/steps has type float64, expected int64 [evals]
strcol|put("runs/estimator.name", np.zeros(runs, dtype=bool))|/runs/estimator.name has type enum, expected int64, float64 or string [runs]
short|put("runs/optim.lr", np.zeros(runs - 1))|/runs/optim.lr has 15 rows, expected 16 as /runs/run_id has
empty|[f.__delitem__(k) for k in list(f.keys())]|missing dataset /steps
attr|f.attrs["format_version"] = "1"|attribute format_version of / has type string, expected int64
huge|del f["steps"]; f.create_dataset("steps", shape=(2**40,), dtype="i8", chunks=(1024,))|/steps has shape [1099511627776] but the file stores 0 bytes of it
EOF
# One seed per configuration: CIs undefined, not a crash.
"$ADVLAB" sweep --train.steps=20 --env.prompts=32 --grid estimator.name=grpo,rloo --seeds 1 \
  --out "$T/one.h5" >/dev/null || fail "one-seed sweep"
"$ADVLAB" analyze "$T/one.h5" >"$T/stdout" 2>&1 || fail "analyze of a one-seed file: $(cat "$T/stdout")"
grep -q "undefined" "$T/stdout" || fail "one seed: CI not reported as undefined"
"$ADVLAB" analyze "$T/one.h5" --compare estimator.name=grpo,rloo >"$T/stdout" 2>&1 || fail "compare one seed"
grep -q "insufficient data" "$T/stdout" || fail "one seed: comparison not 'insufficient data'"

[ $fails -eq 0 ] && echo "analyze_cli_test: all passed"
exit $((fails > 0))
