#!/usr/bin/env bash
# `advlab reproduce` end to end on small claim presets made here: the output is
# byte-identical for --threads 1 and 2; verdicts are computed from the data (a
# clear effect holds and its label swap does not; an A/A comparison never
# holds; a tampered copy of the sweep, decided again with --from, moves the
# verdict with the data); every shipped claim preset plans and checks; bad input
# is one line, exit 2, nothing written.
#   reproduce_cli_test.sh ADVLAB
set -u
ADVLAB=${1:?usage: reproduce_cli_test.sh ADVLAB}
. "$(dirname "$0")/cli_lib.sh"

expect_error() {
  local pattern=$1; shift
  "$ADVLAB" "$@" >"$T/stdout" 2>"$T/stderr"
  check_error $? "$pattern" -F "$*"
  ls -d "$T"/out*.tmp-* >/dev/null 2>&1 && fail "temp directory left behind: $*"
}

# verdict OUT NAME: the fair verdict printed for claim NAME.
verdict() { sed -n "s/^$2: \([a-z ]*\)[;(].*/\1/p" "$1" | sed 's/ *$//'; }

# A claim with a clear effect: 32 prompts per step against 4 learn faster.
cat >"$T/big.ini" <<'EOF'
# A test claim: a larger batch learns faster per step.
[env]
prompts = 32
[train]
steps = 80
eval_every = 20
group_size = 4
[sweep]
seeds = 8
grid.optim.lr = 4, 16
[arm.small]
train.batch_prompts = 4
[arm.medium]
train.batch_prompts = 16
[arm.large]
train.batch_prompts = 32
[claim]
statement = a larger batch learns faster per step
source = test
measure = auc
treatment = large
control = small
naive_control = medium
claimed = better
threshold = 0.01
[quick]
seeds = 6
EOF
"$ADVLAB" reproduce "$T/big.ini" --threads 1 --out "$T/out1" >"$T/o1" 2>"$T/e1" || fail "reproduce: $(cat "$T/e1")"
"$ADVLAB" reproduce "$T/big.ini" --threads 2 --out "$T/out2" >"$T/o2" 2>/dev/null || fail "reproduce --threads 2"
sed "s#$T/out1#OUT#" "$T/o1" >"$T/o1n"; sed "s#$T/out2#OUT#" "$T/o2" >"$T/o2n"
cmp -s "$T/o1n" "$T/o2n" || fail "reproduce output differs between --threads 1 and 2"
for f in claims.md big/report.md; do
  cmp -s "$T/out1/$f" "$T/out2/$f" || fail "$f differs between --threads 1 and 2"
done
[ "$("$ADVLAB" digest "$T/out1/big/sweep.h5" | cut -d' ' -f1)" = \
  "$("$ADVLAB" digest "$T/out2/big/sweep.h5" | cut -d' ' -f1)" ] || fail "sweep digests differ"
[ "$(verdict "$T/o1" big)" = "holds" ] || fail "a clear effect does not hold: $(cat "$T/o1")"
grep -q "^# Claim big: holds" "$T/out1/big/report.md" || fail "report.md lacks the verdict"
grep -q "naive (large vs medium)" "$T/o1" || fail "no naive comparison: $(cat "$T/o1")"
[ -s "$T/out1/big/curves_accuracy.png" ] || fail "no figure"

# The labels swapped: the claim no longer holds.
sed -e 's/^treatment = large/treatment = small/' -e 's/^control = small/control = large/' \
  "$T/big.ini" >"$T/swap.ini"
"$ADVLAB" reproduce "$T/swap.ini" --out "$T/out3" >"$T/o3" 2>/dev/null || fail "reproduce swapped"
v=$(verdict "$T/o3" swap)
[ "$v" = "does not hold" ] || [ "$v" = "inconclusive" ] || fail "swapped labels: '$v'"

# A/A: two arms that differ only in eval.pass_k, which accuracy does not read.
sed -e 's/^train.batch_prompts = 4/eval.pass_k = 1/' -e 's/^train.batch_prompts = 32/eval.pass_k = 2/' \
  -e 's/^train.batch_prompts = 16/eval.pass_k = 3/' "$T/big.ini" >"$T/aa.ini"
for claimed in better worse; do
  sed "s/^claimed = better/claimed = $claimed/" "$T/aa.ini" >"$T/aa_$claimed.ini"
  "$ADVLAB" reproduce "$T/aa_$claimed.ini" --out "$T/out_$claimed" >"$T/o_$claimed" 2>/dev/null \
    || fail "reproduce A/A $claimed"
  v=$(verdict "$T/o_$claimed" "aa_$claimed")
  [ -n "$v" ] && [ "$v" != "holds" ] || fail "A/A, claimed $claimed: '$v'"
done

# Tampered data: the A/A sweep with arm large's accuracy raised by 0.2 at every
# eval after the first; decided again with --from, the claim now holds.
mkdir -p "$T/tampered/aa_better"
$PY - "$T/out_better/aa_better/sweep.h5" "$T/tampered/aa_better/sweep.h5" <<'EOF' || fail "tampering"
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    arm = np.array([a.decode() if isinstance(a, bytes) else a for a in f["runs/arm"][()]])
    acc = f["metrics/accuracy"][()]
    acc[arm == "large", 1:] = np.minimum(acc[arm == "large", 1:] + 0.2, 1.0)
    f["metrics/accuracy"][...] = acc
EOF
"$ADVLAB" reproduce "$T/aa_better.ini" --from "$T/tampered" --out "$T/out4" >"$T/o4" 2>&1 \
  || fail "reproduce --from: $(cat "$T/o4")"
[ "$(verdict "$T/o4" aa_better)" = "holds" ] || fail "tampered data: verdict did not follow: $(cat "$T/o4")"
cmp -s "$T/tampered/aa_better/sweep.h5" "$T/out4/aa_better/sweep.h5" || fail "--from did not keep the sweep"

# Every shipped claim preset plans and checks, full and --quick.
"$ADVLAB" reproduce all --dry-run >"$T/dry" 2>&1 || fail "reproduce all --dry-run: $(cat "$T/dry")"
"$ADVLAB" reproduce all --quick --dry-run >"$T/dryq" 2>&1 || fail "reproduce all --quick --dry-run: $(cat "$T/dryq")"
[ "$(wc -l <"$T/dry")" -eq "$("$ADVLAB" list claims | wc -l)" ] || fail "dry run does not list every claim"

# Bad input: one line, exit 2, nothing written.
expect_error "did you mean 'aapo_b5_equal_samples'" reproduce aapo_b5_equal_sample --out "$T/out5"
[ -e "$T/out5" ] && fail "refused reproduce left $T/out5"
expect_error "exists; give --force" reproduce "$T/big.ini" --out "$T/out1"
[ -s "$T/out1/claims.md" ] || fail "existing output damaged"
sed 's/^train.batch_prompts = 4/train.batch_prompt = 4/' "$T/big.ini" >"$T/badkey.ini"
expect_error "unknown key 'train.batch_prompt'" reproduce "$T/badkey.ini" --out "$T/out6"
[ -e "$T/out6" ] && fail "refused reproduce left $T/out6"
sed 's/^treatment = large/treatment = larg/' "$T/big.ini" >"$T/badarm.ini"
expect_error "no run has arm = 'larg' (did you mean 'large'?)" reproduce "$T/badarm.ini" --out "$T/out7"
sed 's/^threshold = 0.01/threshold = -1/' "$T/big.ini" >"$T/badt.ini"
expect_error "must be > 0" reproduce "$T/badt.ini" --out "$T/out7"
expect_error "not a sweep of this preset" reproduce "$T/big.ini" --quick --from "$T/out1" --out "$T/out7"
expect_error "big/sweep.h5" reproduce "$T/big.ini" --from "$T/nowhere" --out "$T/out7"
expect_error "--out DIR is required" reproduce "$T/big.ini"
expect_error "unknown option '--quik'" reproduce "$T/big.ini" --quik --out "$T/out7"
[ -e "$T/out7" ] && fail "refused reproduce left $T/out7"

[ $fails -eq 0 ] && echo "reproduce_cli_test: all passed"
exit $((fails > 0))
