#!/usr/bin/env bash
# End-to-end tests of `advlab advantage`: rewards on stdin, advantages on stdout
# (text or JSON); bad input gives one stderr line naming stdin:LINE:COLUMN (or the
# option) and exit status 2.
set -u
ADVLAB=${1:?usage: advantage_cli_test.sh path/to/advlab}
. "$(dirname "$0")/cli_lib.sh"

# run_ok "input" args...: exit 0, nothing on stderr; stdout in $T/stdout.
run_ok() {
  local input=$1; shift
  printf '%b' "$input" | "$ADVLAB" advantage "$@" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  [ $rc -eq 0 ] || { fail "exit $rc (want 0): advantage $*"; cat "$T/stderr"; }
  [ -s "$T/stderr" ] && { fail "stderr not empty: advantage $*"; cat "$T/stderr"; }
  return 0
}

# expect_error "pattern" "input" args...: exit 2, exactly one stderr line, it
# starts with "advlab: error: " and matches pattern (a fixed string).
expect_error() {
  local pattern=$1 input=$2; shift 2
  printf '%b' "$input" | "$ADVLAB" advantage "$@" >"$T/stdout" 2>"$T/stderr"
  check_error $? "$pattern" -F "advantage $* <<< '$input'"
}

# Text: estimators.md §12.1 values for grpo.
run_ok '1 0 0 1\n0 0 0 1\n' --estimator grpo --group-size 4
for v in 0.866024 -0.866024 -0.499999 1.499997; do
  grep -qF -- "$v" "$T/stdout" || { fail "grpo text lacks $v"; cat "$T/stdout"; }
done
head -1 "$T/stdout" | grep -q 'grpo' || fail "no header naming grpo"

# JSON: one valid object; the numbers are the same advantages to 9+ digits.
run_ok '1 0 0 1\n1 1 1 1\n0 0 0 1\n' --estimator grpo --json
$PY -c 'import json,sys; json.load(sys.stdin)' <"$T/stdout" || { fail "grpo --json is not JSON"; cat "$T/stdout"; }
$PY - "$T/stdout" <<'PY' || fail "grpo --json values"
import json, math, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["estimator"] == "grpo", d
want = []
for g in [[1, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 1]]:
    mu, sd = statistics.mean(g), statistics.stdev(g)
    want.append([(r - mu) / (sd + 1e-6) for r in g])
got = d["advantages"]
assert len(got) == 3 and all(len(x) == 4 for x in got), got
for a, b in zip(sum(got, []), sum(want, [])):
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (a, b)
PY

# --estimator all --json: an object of estimator -> one list per line.
run_ok '1 0 0 1\n0:3 1\n' --estimator all --json
$PY -c 'import json,sys; json.load(sys.stdin)' <"$T/stdout" || { fail "all --json is not JSON"; cat "$T/stdout"; }
$PY - "$T/stdout" <<'PY' || fail "all --json layout"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["estimator"] == "all", d
adv = d["advantages"]
for name in ["reinforce", "grpo", "dr_grpo", "rloo"]:
    assert name in adv, (name, list(adv))
    assert [len(x) for x in adv[name]] == [4, 2], (name, adv[name])
assert list(adv) == sorted(adv), list(adv)  # registry order
PY

# Lengths: inline reward:length, a --lengths file, comments and blank lines.
run_ok '# two groups\n1:3 0\n\n0.5 0.25:2\n' --estimator dr_grpo
grep -q '^  length' "$T/stdout" || { fail "lengths row missing"; cat "$T/stdout"; }
printf '3 1\n# c\n1 2\n' >"$T/lengths.txt"
run_ok '1 0\n0.5 0.25\n' --estimator rloo --lengths "$T/lengths.txt" --json
$PY -c 'import json,sys; json.load(sys.stdin)' <"$T/stdout" || fail "--lengths --json is not JSON"

# Help.
"$ADVLAB" advantage --help >"$T/stdout" 2>&1 || fail "--help exit"
grep -q 'usage: advlab advantage' "$T/stdout" || fail "--help text"
for opt in --reference --greedy --values; do
  grep -q -e "$opt FILE" "$T/stdout" || fail "--help lacks $opt"
done

# --reference: the reference policy's rewards for +aapo, index-paired with stdin's.
# grpo [1,0,0,1] = +-0.866024, plus clip(r - ref, -0.2, 0.28) against [0,0,1,1];
# the all-wrong group against an all-correct reference gets -0.2 everywhere.
printf '# reference\n0 0 1 1\n\n1 1 1 1\n' >"$T/ref.txt"
run_ok '1 0 0 1\n0 0 0 0\n' --estimator grpo+aapo --reference "$T/ref.txt"
for v in 1.146024 -1.066024 -0.200000; do
  grep -qF -- "$v" "$T/stdout" || { fail "grpo+aapo text lacks $v"; cat "$T/stdout"; }
done
grep -q '^  reference ' "$T/stdout" || { fail "no reference row"; cat "$T/stdout"; }
run_ok '1 0 0 1\n0 0 0 0\n' --estimator grpo+aapo --reference="$T/ref.txt" --json
$PY - "$T/stdout" <<'PY' || fail "grpo+aapo --json values"
import json, math, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["estimator"] == "grpo+aapo", d
want = []
for g, ref in [([1, 0, 0, 1], [0, 0, 1, 1]), ([0, 0, 0, 0], [1, 1, 1, 1])]:
    mu, sd = statistics.mean(g), statistics.stdev(g)
    want.append([(r - mu) / (sd + 1e-6) + min(max(r - q, -0.2), 0.28) for r, q in zip(g, ref)])
for a, b in zip(sum(d["advantages"], []), sum(want, [])):
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (a, b)
PY
expect_error "--estimator grpo+aapo: aapo needs the reference policy's rewards; give --reference FILE" \
  '1 0 0 1\n' --estimator grpo+aapo
expect_error "--reference: estimator 'grpo' reads no reference rewards; allowed only with a modifier that does (aapo)" \
  '1 0 0 1\n0 0 0 0\n' --estimator grpo --reference "$T/ref.txt"
expect_error "--reference: estimator 'all' reads no reference rewards" \
  '1 0 0 1\n0 0 0 0\n' --estimator all --reference "$T/ref.txt"
expect_error "ref.txt:4:5: missing reference reward: 4 reference rewards for 5 rewards on stdin:2" \
  '1 0 0 1\n0 0 0 0 1\n' --estimator grpo+aapo --reference "$T/ref.txt"
expect_error "ref.txt: ends after 2 lines of reference rewards, but stdin has 3 groups; missing the line for stdin:3" \
  '1 0 0 1\n0 0 0 0\n1 1\n' --estimator grpo+aapo --reference "$T/ref.txt"
expect_error "ref.txt:4:1: extra line of reference rewards: stdin has 1 group" \
  '1 0 0 1\n' --estimator grpo+aapo --reference "$T/ref.txt"
printf '0 0\n0 x\n' >"$T/bad_ref.txt"
expect_error "bad_ref.txt:2:2: 'x' is not a number; allowed: finite decimals" \
  '1 0\n1 0\n' --estimator rloo+aapo --reference "$T/bad_ref.txt"
expect_error "nope.txt: cannot open (--reference)" '1 0\n' --estimator grpo+aapo --reference "$T/nope.txt"

# --greedy: one greedy reward per group, for estimators that read it (remax).
printf '1\n# c\n0.5\n' >"$T/greedy.txt"
expect_error "--greedy: estimator 'grpo' reads no greedy rewards" \
  '1 0 0 1\n1 1 1 0\n' --estimator grpo --greedy "$T/greedy.txt"
run_ok '1 0 0 1\n1 1 1 0\n' --estimator all
grep -q '^  remax ' "$T/stdout" && fail "all without --greedy shows remax"
if "$ADVLAB" list estimators | grep -q '^remax '; then
  run_ok '1 0 0 1\n1 1 1 0\n' --estimator remax --greedy "$T/greedy.txt" --json
  $PY - "$T/stdout" <<'PY' || fail "remax --json values"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["advantages"] == [[0, -1, -1, 0], [0.5, 0.5, 0.5, -0.5]], d
PY
  run_ok '1 0 0 1\n1 1 1 0\n' --estimator all --greedy "$T/greedy.txt"
  grep -q '^  remax ' "$T/stdout" || { fail "all --greedy lacks remax"; cat "$T/stdout"; }
  grep -qF '(group 2, G = 4, greedy reward 0.5)' "$T/stdout" || { fail "no greedy reward shown"; cat "$T/stdout"; }
  expect_error "--estimator remax: remax needs the greedy response's reward of each group; give --greedy FILE" \
    '1 0 0 1\n' --estimator remax
  expect_error "greedy.txt:3:1: extra greedy reward: stdin has 1 group" \
    '1 0 0 1\n' --estimator remax --greedy "$T/greedy.txt"
  expect_error "greedy.txt: ends after 2 greedy rewards, but stdin has 3 groups; missing the one for stdin:3" \
    '1 0\n1 0\n1 0\n' --estimator remax --greedy "$T/greedy.txt"
  printf '1 0.5\n' >"$T/bad_greedy.txt"
  expect_error "bad_greedy.txt:1:2: extra value '0.5'; allowed: one greedy reward per line" \
    '1 0\n' --estimator remax --greedy "$T/bad_greedy.txt"
  printf '1\nnan\n' >"$T/bad_greedy.txt"
  expect_error "bad_greedy.txt:2:1: 'nan' is not a finite number" \
    '1 0\n1 0\n' --estimator remax --greedy "$T/bad_greedy.txt"
fi

# --values: the critic's value of every token, for gae (one line per group, one
# item per rollout, its values separated by commas, one per token).
if "$ADVLAB" list estimators | grep -q '^gae '; then
  # estimators.md §2.1: one rollout of 3 tokens, outcome 1, V = [0.5, 0.6, 0.7]:
  # raw A = [0.5, 0.4, 0.3], whitened over the tokens (verl masked_whiten); the
  # rollout's advantage is its first token's.
  printf '# critic\n0.5,0.6,0.7\n' >"$T/values1.txt"
  run_ok '1:3\n' --estimator gae --values "$T/values1.txt" --json
  $PY - "$T/stdout" <<'PY' || { fail "gae --json values"; cat "$T/stdout"; }
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["estimator"] == "gae", d
a, n = [0.5, 0.4, 0.3], 3
m = sum(a) / (n + 1e-8)
var = sum((x - m) ** 2 for x in a) / (n + 1e-8) * n / (n - 1)
want = (a[0] - m) / math.sqrt(var + 1e-8)
got = d["advantages"]
assert len(got) == 1 and len(got[0]) == 1, got
assert math.isclose(got[0][0], want, rel_tol=1e-12), (got, want)
assert abs(got[0][0] - 0.9999995150003652) < 1e-15, got
PY
  printf '0.5,0.6,0.7 0.2,0.4\n' >"$T/values.txt"
  run_ok '1:3 0:2\n' --estimator gae --values="$T/values.txt"
  for v in 0.959033 -0.807607; do
    grep -qF -- "$v" "$T/stdout" || { fail "gae text lacks $v"; cat "$T/stdout"; }
  done
  run_ok '1:3 0:2\n' --estimator all
  grep -q '^  gae ' "$T/stdout" && fail "all without --values shows gae"
  run_ok '1:3 0:2\n' --estimator all --values "$T/values.txt"
  grep -q '^  gae ' "$T/stdout" || { fail "all --values lacks gae"; cat "$T/stdout"; }
  expect_error "--estimator gae: gae needs the critic's value of every token; give --values FILE" \
    '1:3 0:2\n' --estimator gae
  expect_error "--values: estimator 'grpo' reads no critic values; allowed only with an estimator that does (gae)" \
    '1:3 0:2\n' --estimator grpo --values "$T/values.txt"
  expect_error "values.txt:1:1: '0.5,0.6,0.7': 3 values for a rollout of 2 tokens (stdin:1:1)" \
    '1:2 0:2\n' --estimator gae --values "$T/values.txt"
  expect_error "values.txt:1:3: missing item: 2 items of values for 3 rewards on stdin:1" \
    '1:3 0:2 1\n' --estimator gae --values "$T/values.txt"
  expect_error "values.txt: ends after 1 line of values, but stdin has 2 groups; missing the line for stdin:2" \
    '1:3 0:2\n1 0\n' --estimator gae --values "$T/values.txt"
  printf '0.5,0.6,0.7\n\n1\n' >"$T/values2.txt"
  expect_error "values2.txt:3:1: extra line of values: stdin has 1 group" \
    '1:3\n' --estimator gae --values "$T/values2.txt"
  printf '0.5,x\n' >"$T/bad_values.txt"
  expect_error "bad_values.txt:1:1: '0.5,x': 'x' is not a number; allowed: finite decimals" \
    '1:2\n' --estimator gae --values "$T/bad_values.txt"
  printf 'nan 0\n' >"$T/bad_values.txt"
  expect_error "bad_values.txt:1:1: 'nan' is not a finite number" \
    '1 0\n' --estimator gae --values "$T/bad_values.txt"
  expect_error "nope_values.txt: cannot open (--values)" '1\n' --estimator gae --values "$T/nope_values.txt"
  expect_error "--values needs a value" '1\n' --estimator gae --values=
  printf '0.5\n' >"$T/one_value.txt"
  expect_error "gae: the batch has a single valid token; whitening needs at least 2" \
    '1\n' --estimator gae --values "$T/one_value.txt"
fi

# Bad input: one line naming stdin:LINE:COLUMN.
expect_error "stdin:2:3: 'abc' is not a number" '1 0 0 1\n1 0 abc 1\n' --estimator grpo
expect_error "stdin:3:1: 'nan' is not a finite number" '1 0\n# c\nnan 1\n' --estimator grpo
expect_error "stdin:1:2: 'inf' is not a finite number" '1 inf\n' --estimator grpo
expect_error "stdin:1:2: '1:0': length '0' is not an integer >= 1" '1 1:0\n' --estimator grpo
expect_error "stdin:1:1: '1:2.5': length '2.5' is not an integer >= 1" '1:2.5 0\n' --estimator grpo
expect_error "stdin:2:4: line has 3 rewards; --group-size is 4" '1 0 0 1\n0 0 1\n' --estimator grpo --group-size 4
expect_error "stdin: no rewards" '' --estimator grpo
expect_error "stdin: no rewards" '# nothing\n\n' --estimator grpo
printf '1 2 3\n' >"$T/bad_lengths.txt"
expect_error "bad_lengths.txt:1:3: extra length" '1 0\n' --estimator grpo --lengths "$T/bad_lengths.txt"
expect_error "missing.txt: cannot open" '1 0\n' --estimator grpo --lengths "$T/missing.txt"
# Options.
expect_error "did you mean 'grpo'" '1 0\n' --estimator grpoo
expect_error "allowed: all, " '1 0\n' --estimator nothing_like_it
expect_error "--estimator NAME is required" '1 0\n'
expect_error "--group-size: invalid value '0'" '1 0\n' --estimator grpo --group-size 0
expect_error "did you mean '--json'" '1 0\n' --estimator grpo --jsno
# --estimator.KEY: validated, and refused when no listed estimator reads it.
expect_error "key 'estimator.scale_rewards' is read only when" '1 0\n' --estimator rloo --estimator.scale_rewards=batch
expect_error "unknown value 'bat'" '1 0\n' --estimator grpo --estimator.scale_rewards=bat
expect_error "unknown key 'estimator.foo'" '1 0\n' --estimator grpo --estimator.foo=1
expect_error "use --estimator NAME" '1 0\n' --estimator grpo --estimator.name=rloo
# ... and reaches the estimator: dr_grpo's batch mean is R - 0.5 here.
run_ok '1 0 0 0\n1 1 0 1\n' --estimator dr_grpo --estimator.mean_scope=batch --json
$PY -c 'import json,sys; a=json.load(sys.stdin)["advantages"]; assert a == [[0.5,-0.5,-0.5,-0.5],[0.5,0.5,-0.5,0.5]], a' <"$T/stdout" || fail "mean_scope=batch"
# With --estimator all the key needs one reader (grpo reads scale_rewards).
run_ok '1 0 0 1\n' --estimator all --estimator.scale_rewards=none

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "advantage_cli_test: all passed"
