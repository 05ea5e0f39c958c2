#!/usr/bin/env bash
# End-to-end CLI tests: bad input gives one line on stderr naming the key or file,
# exit status 2 and no output file; good input gives byte-identical files whatever
# --threads is.
set -u
ADVLAB=${1:?usage: cli_test.sh path/to/advlab}
. "$(dirname "$0")/cli_lib.sh"

# expect_error "pattern" args...: exit 2, exactly one stderr line matching pattern,
# and no $T/out.h5 (nor temp file) left behind.
expect_error() {
  local pattern=$1; shift
  rm -f "$T"/out.h5*
  "$ADVLAB" "$@" >"$T/stdout" 2>"$T/stderr"
  check_error $? "$pattern" -G "$*"
  ls "$T"/out.h5* >/dev/null 2>&1 && fail "output left behind: $*"
}

Q="--train.steps=20 --env.prompts=32"
# Unknown key, misspelt names: the closest is suggested.
expect_error "did you mean 'train.group_size'" run $Q --train.group_sise=4 --out "$T/out.h5"
expect_error "did you mean 'grpo'" run $Q --estimator.name=gpro --out "$T/out.h5"
expect_error "did you mean 'choice'" run $Q --env.name=choise --out "$T/out.h5"
expect_error "did you mean 'estimator.name'" sweep $Q --grid estimatr.name=grpo --seeds 2 --out "$T/out.h5"
expect_error "did you mean 'rloo'" sweep $Q --grid estimator.name=grpo,rlo --seeds 2 --out "$T/out.h5"
# Non-positive sizes.
for k in env.prompts env.answers train.batch_prompts train.group_size train.steps train.eval_every; do
  expect_error "key '$k'" run --$k=0 --out "$T/out.h5"
  expect_error "key '$k'" run --$k=-2 --out "$T/out.h5"
done
expect_error "--seeds" sweep $Q --seeds 0 --out "$T/out.h5"
expect_error "--threads" sweep $Q --seeds 2 --threads 0 --out "$T/out.h5"
# Learning rate <= 0 or NaN.
for v in 0 -1 nan inf; do expect_error "key 'optim.lr'" run $Q --optim.lr=$v --out "$T/out.h5"; done
# G = 1 with a group estimator.
for e in grpo dr_grpo rloo; do
  expect_error "train.group_size = 1" run $Q --estimator.name=$e --train.group_size=1 --out "$T/out.h5"
done
expect_error "train.group_size = 1" sweep $Q --train.group_size=1 --grid estimator.name=reinforce,grpo --seeds 2 --out "$T/out.h5"
# Output paths: existing without --force, missing directory, a directory.
echo keep >"$T/existing.h5"
"$ADVLAB" run $Q --out "$T/existing.h5" >/dev/null 2>"$T/stderr"; rc=$?
[ $rc -eq 2 ] && grep -q "exists" "$T/stderr" && grep -q keep "$T/existing.h5" || fail "existing output not protected"
expect_error "$T/nodir/out.h5" run $Q --out "$T/nodir/out.h5"
mkdir -p "$T/adir"
expect_error "adir" run $Q --out "$T/adir"
expect_error "--out" run $Q
# Malformed INI lines name FILE:LINE.
printf 'seed = 3\n[train]\nsteps = 10\nthis line is wrong\n' >"$T/bad.ini"
expect_error "bad.ini:4: malformed line" run --config "$T/bad.ini" --out "$T/out.h5"
printf '[train\nsteps = 10\n' >"$T/bad2.ini"
expect_error "bad2.ini:1: malformed section" run --config "$T/bad2.ini" --out "$T/out.h5"
printf '[train]\ngroup_sise = 4\n' >"$T/bad3.ini"
expect_error "bad3.ini:2: unknown key 'train.group_size'\|bad3.ini:2: unknown key 'train.group_sise'" run --config "$T/bad3.ini" --out "$T/out.h5"
expect_error "missing.ini: cannot open" run --config "$T/missing.ini" --out "$T/out.h5"
# Issue 3: impossible family parameters and noise rates.
expect_error "env.max_length" run --env.name=think --env.max_length=4 --env.max_required=6 --out "$T/out.h5"
expect_error "key 'env.modulus'" run --env.name=chain --env.modulus=1 --out "$T/out.h5"
expect_error "key 'env.chain_min_depth'" run --env.name=chain --env.chain_min_depth=0 --out "$T/out.h5"
expect_error "env.chain_min_depth" run --env.name=chain --env.chain_min_depth=5 --env.chain_max_depth=3 --out "$T/out.h5"
expect_error "key 'env.false_positive'" run --env.false_positive=1 --out "$T/out.h5"
expect_error "key 'env.false_negative'" run --env.false_negative=-0.1 --out "$T/out.h5"
expect_error "env.false_positive + env.false_negative" run --env.false_positive=0.5 --env.false_negative=0.5 --out "$T/out.h5"
expect_error "did you mean 'random_walk'" run --env.drift=random_wlk --out "$T/out.h5"
expect_error "env.max_length" sweep --env.name=think --grid env.max_required=2,20 --seeds 1 --out "$T/out.h5"
# Issue 4: MLP keys.
expect_error "key 'policy.hidden'" run --policy.kind=mlp --policy.hidden=0 --out "$T/out.h5"
expect_error "key 'policy.layers'" run --policy.kind=mlp --policy.layers=3 --out "$T/out.h5"
expect_error "key 'policy.activation'" run --policy.kind=mlp --policy.activation=sigmoid --out "$T/out.h5"
expect_error "did you mean 'mlp'" run --policy.kind=mpl --out "$T/out.h5"
expect_error "key 'optim.max_grad_norm'" run --optim.max_grad_norm=-1 --out "$T/out.h5"
# Issue 5: estimators and modifiers.
expect_error "did you mean 'adora'" run --estimator.name=grpo+adorra --out "$T/out.h5"
expect_error "given twice" run --estimator.name=grpo+dash+dash --out "$T/out.h5"
expect_error "estimator.adora_criterion = length" run --estimator.name=grpo+adora --estimator.adora_criterion=length --out "$T/out.h5"
expect_error "key 'estimator.dash_threshold'" run --estimator.name=grpo+dash --estimator.dash_threshold=-0.1 --out "$T/out.h5"
expect_error "key 'estimator.adora_tau'" run --estimator.name=grpo+adora --estimator.adora_tau=1.5 --out "$T/out.h5"
expect_error "train.group_size = 1" run --estimator.name=reinforce+adora --train.group_size=1 --out "$T/out.h5"
expect_error "key 'estimator.dapo_max_resample'" run --estimator.name=grpo+dapo --estimator.dapo_max_resample=-1 --out "$T/out.h5"
expect_error "key 'train.micro_batch'" run --train.micro_batch=-4 --out "$T/out.h5"
expect_error "key 'estimator.ema_beta'" run --estimator.name=ema_baseline --estimator.ema_beta=1 --out "$T/out.h5"
# Policy losses and regularisers.
expect_error "train.loss = ppo" run --train.epochs=2 --out "$T/out.h5"
expect_error "train.loss = ppo" run --train.minibatches=4 --out "$T/out.h5"
expect_error "key 'train.minibatches'" run --train.loss=ppo --train.minibatches=0 --out "$T/out.h5"
expect_error "train.minibatches = 80" run --train.loss=ppo --train.minibatches=80 --out "$T/out.h5"
expect_error "key 'train.clip_c'" run --train.loss=ppo --train.clip_c=0.5 --out "$T/out.h5"
expect_error "key 'train.clip_low'" run --train.loss=ppo --train.clip_low=1.5 --out "$T/out.h5"
expect_error "key 'train.clip_high'" run --train.loss=ppo --train.clip_high=-0.1 --out "$T/out.h5"
expect_error "did you mean 'ppo'" run --train.loss=pop --out "$T/out.h5"
expect_error "key 'kl.coef'" run --kl.coef=-1 --out "$T/out.h5"
expect_error "allowed: k1, k2, k3" run --kl.estimator=k4 --out "$T/out.h5"
expect_error "key 'kl.where'" run --kl.where=advantage --out "$T/out.h5"
expect_error "key 'train.rollout_batch'" run --train.rollout_batch=-1 --out "$T/out.h5"
expect_error "key 'estimator.aapo_high'" run --estimator.name=grpo+aapo --estimator.aapo_high=-0.2 --out "$T/out.h5"
expect_error "key 'estimator.aapo_pairing'" run --estimator.name=grpo+aapo --estimator.aapo_pairing=index --out "$T/out.h5"
expect_error "unknown command" rnu
expect_error "unknown topic" list estimaters
expect_error "nothere.h5: cannot open" digest "$T/nothere.h5"

# A good INI file works and command-line keys override it.
printf '# demo\nseed = 5\n[train]\nsteps = 30\neval_every = 10\n[env]\nprompts = 32\n' >"$T/good.ini"
"$ADVLAB" run --config "$T/good.ini" --train.steps=20 --out "$T/ini.h5" >/dev/null || fail "good ini"
$PY - "$T/ini.h5" <<'PY' || fail "ini values not applied"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
cfg = f.attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
assert "seed = 5" in cfg and "steps = 20" in cfg and "prompts = 32" in cfg, cfg
assert list(f["steps"][...]) == [0, 10, 20], f["steps"][...]
PY

# Same command, any --threads: byte-identical files.
for t in 1 2 7; do
  "$ADVLAB" sweep $Q --grid estimator.name=grpo,rloo --grid optim.lr=0.1,0.3 --seeds 3 \
    --threads $t --out "$T/t$t.h5" >/dev/null || fail "sweep threads=$t"
done
cmp -s "$T/t1.h5" "$T/t2.h5" || fail "threads 1 vs 2 differ"
cmp -s "$T/t1.h5" "$T/t7.h5" || fail "threads 1 vs 7 differ"
# The run table holds the swept values.
$PY - "$T/t1.h5" <<'PY' || fail "run table"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
est = [x.decode() if isinstance(x, bytes) else x for x in f["runs/estimator.name"][...]]
assert est == ["grpo"] * 6 + ["rloo"] * 6, est
assert list(f["runs/optim.lr"][...]) == [0.1] * 3 + [0.3] * 3 + [0.1] * 3 + [0.3] * 3
assert list(f["runs/seed"][...]) == [0, 1, 2] * 4
assert f["metrics/accuracy"].shape == (12, 2)
PY

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "cli_test: all passed"
