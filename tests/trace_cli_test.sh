#!/usr/bin/env bash
# End-to-end tests of `advlab trace`: one step of a run shown in full (text and
# --json); the same bytes every time; the traced numbers are the run's (the
# JSON's grad_cosine quantity equals the metric `advlab run` stores); bad input
# gives one stderr line and exit status 2.
set -u
ADVLAB=${1:?usage: trace_cli_test.sh path/to/advlab}
. "$(dirname "$0")/cli_lib.sh"

KEYS=(--env.name=choice --env.answers=4 --env.prompts=32 --train.batch_prompts=8 --train.group_size=4
      --train.steps=20 --train.eval_every=5)

run_ok() {
  "$ADVLAB" trace "$@" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  [ $rc -eq 0 ] || { fail "exit $rc (want 0): trace $*"; cat "$T/stderr"; }
  [ -s "$T/stderr" ] && { fail "stderr not empty: trace $*"; cat "$T/stderr"; }
  return 0
}
expect_error() {
  local pattern=$1; shift
  "$ADVLAB" trace "$@" >"$T/stdout" 2>"$T/stderr"
  check_error $? "$pattern" -F "trace $*"
  [ -s "$T/stdout" ] && fail "stdout not empty on error: trace $*"
  return 0
}

# Text: the sections a learner reads.
run_ok "${KEYS[@]}" --estimator.name=grpo --step 3 --estimator rloo,reinforce
for s in 'advlab trace: step 3 of train.steps = 20' 'group 0: prompt' 'group 3: prompt' \
         'grpo*' 'rloo' 'reinforce' 'cos(g_hat, grad J)' 'updates of the step' \
         'cos(dtheta of the whole step, grad J)'; do
  grep -qF -- "$s" "$T/stdout" || { fail "text lacks '$s'"; cat "$T/stdout"; }
done
grep -qF 'group 4: prompt' "$T/stdout" && fail "the default shows 4 groups, not 5"
cp "$T/stdout" "$T/first"
run_ok "${KEYS[@]}" --estimator.name=grpo --step 3 --estimator rloo,reinforce
cmp -s "$T/first" "$T/stdout" || fail "two traces of the same step differ"
run_ok "${KEYS[@]}" --step 3 --groups 5,7
grep -qF 'group 5: prompt' "$T/stdout" && grep -qF 'group 7: prompt' "$T/stdout" \
  || fail "--groups 5,7 not shown"

# Several updates a step: the table lists each, and the text says that update
# 1 is a minibatch while g_hat is the whole batch's.
run_ok --env.name=chain --env.prompts=32 --train.batch_prompts=4 --train.group_size=4 \
  --train.loss=ppo --train.epochs=2 --train.minibatches=2 --train.steps=20 --step 5
[ "$(grep -cE '^ +[1-4]  [02]-[13] ' "$T/stdout")" = 4 ] || { fail "ppo 2x2: not 4 updates"; cat "$T/stdout"; }
grep -qF '(update 1 is the minibatch of groups 0-1' "$T/stdout" || fail "minibatch note missing"

# --json: every group, and the traced step's cosine is the run's grad_cosine
# metric (diagnosed step 9, before the eval at 10).
run_ok "${KEYS[@]}" --diagnostics.exact_gradient=true --estimator.name=rloo --step 9 --json
cp "$T/stdout" "$T/trace.json"
"$ADVLAB" run "${KEYS[@]}" --diagnostics.exact_gradient=true --estimator.name=rloo \
  --out "$T/run.h5" >/dev/null 2>&1 || fail "advlab run failed"
$PY - "$T/trace.json" "$T/run.h5" <<'EOF' || fail "json trace does not match the run"
import json, sys
import h5py
t = json.load(open(sys.argv[1]))
assert t["step"] == 9 and len(t["groups"]) == 8, t["step"]
assert all(len(g["rollouts"]) == 4 for g in t["groups"])
assert t["estimators"][0]["name"] == "rloo" and t["estimators"][0]["run"]
with h5py.File(sys.argv[2], "r") as f:
    metric = f["metrics/grad_cosine"][0, 2]   # eval index 2 = step 10
assert t["step_cosine"] is not None, "the step did not move: pick a config that learns"
assert t["step_cosine"] == float(metric), (t["step_cosine"], metric)
# rloo: each group's advantages sum to 0
for g in t["groups"]:
    s = sum(r["advantage"][0] for r in g["rollouts"])
    assert abs(s) < 1e-12, s
EOF

# Bad input: one line, exit 2, nothing on stdout.
expect_error '--step 20 is beyond the run: train.steps = 20; allowed: 0 to 19' "${KEYS[@]}" --step 20
expect_error '--step T is required' "${KEYS[@]}"
expect_error "--step: invalid value 'x'" "${KEYS[@]}" --step x
expect_error '--groups 8: out of range' "${KEYS[@]}" --step 1 --groups 1,8
expect_error '--prompts and --groups: give one' "${KEYS[@]}" --step 1 --groups 1 --prompts 2
expect_error 'aapo samples reference rollouts' "${KEYS[@]}" --step 1 --estimator grpo+aapo
expect_error "unknown estimator 'rlooo'" "${KEYS[@]}" --step 1 --estimator rlooo
expect_error 'did you mean' "${KEYS[@]}" --step 1 --estimator rlooo
expect_error 'seed_grpo' --env.name=chain --train.steps=5 --step 1 --estimator grpo+seed_grpo
expect_error 'writes no file' "${KEYS[@]}" --step 1 --out "$T/x.h5"
expect_error "unknown key 'stepp'" "${KEYS[@]}" --stepp 1 --step 1
expect_error 'replays one run, not a grid' "${KEYS[@]}" --step 1 --config "$(dirname "$0")/../experiments/presets/flagship.ini"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "trace_cli_test: ok"
