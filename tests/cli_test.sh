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
# A whitening estimator on batches of one rollout (one token): refused when
# planned, not at the first step.
for e in reinforce_pp gae; do
  expect_error "train.batch_prompts x train.group_size = 1" run $Q --estimator.name=$e --train.batch_prompts=1 --train.group_size=1 --out "$T/out.h5"
done
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
# Issue 11: the curriculum and reintroduce drift keys.
expect_error "needs env.prompts >= 2" run --env.prompts=1 --env.drift=reintroduce --out "$T/out.h5"
expect_error "key 'env.drift_threshold'" run --env.drift=accuracy --env.drift_threshold=1.5 --out "$T/out.h5"
expect_error "key 'env.drift_check_every'" run --env.drift=accuracy --env.drift_check_every=0 --out "$T/out.h5"
expect_error "read only when env.drift = reintroduce" run --env.drift=accuracy --env.drift_band=0.5 --out "$T/out.h5"
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
# Static ADORA labels are the difficulty criterion's (pi_0's exact success rate).
expect_error "estimator.adora_labels = static" run --estimator.name=grpo+adora --env.name=think \
  --estimator.adora_labels=static --estimator.adora_criterion=length --out "$T/out.h5"
expect_error "key 'estimator.adora_labels'" run --estimator.name=grpo+adora \
  --estimator.adora_labels=frozen --out "$T/out.h5"
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

# Issue 9: grid values equal once parsed would duplicate runs.
expect_error "--grid train.group_size: values '8' and '08'" sweep $Q --grid train.group_size=8,08 --out "$T/out.h5"
expect_error "--grid optim.lr: values '8' and '8.0'" sweep $Q --grid optim.lr=8,16,8.0 --out "$T/out.h5"
expect_error "values 'true' and '1'" sweep $Q --grid diagnostics.exact_gradient=true,1 --out "$T/out.h5"
printf '[sweep]\nseeds = 2\ngrid.optim.lr = 1e1, 10\n' >"$T/dupgrid.ini"
expect_error "dupgrid.ini:3: grid.optim.lr: values '1e1' and '10'" sweep $Q --config "$T/dupgrid.ini" --out "$T/out.h5"
# --config must name a readable regular text file.
expect_error "adir: cannot use as config file: a directory" run --config "$T/adir" --out "$T/out.h5"
expect_error "/dev/null: cannot use as config file: a character device" run --config /dev/null --out "$T/out.h5"
mkfifo "$T/fifo"
expect_error "fifo: cannot use as config file: a fifo" run --config "$T/fifo" --out "$T/out.h5"
printf 'seed = 1\0\n' >"$T/nul.ini"
expect_error "nul.ini:1: a NUL byte" run --config "$T/nul.ini" --out "$T/out.h5"
if [ "$(id -u)" != 0 ]; then  # root reads any file
  printf 'seed = 1\n' >"$T/locked.ini"; chmod 000 "$T/locked.ini"
  expect_error "locked.ini: cannot open config file: Permission denied" run --config "$T/locked.ini" --out "$T/out.h5"
fi
# The run columns of the results file are not grid keys.
expect_error "--grid seed: 'seed' is a run column.*--seeds" sweep $Q --grid seed=1,2 --out "$T/out.h5"
expect_error "--grid run_id: 'run_id' is a run column" sweep $Q --grid run_id=1,2 --out "$T/out.h5"
printf '[sweep]\ngrid.seed = 1, 2\n' >"$T/seedgrid.ini"
expect_error "seedgrid.ini:2: grid.seed: 'seed' is a run column" sweep $Q --config "$T/seedgrid.ini" --out "$T/out.h5"
# Sizes inside the ranges that cannot fit in memory: refused at planning with
# the keys and the estimate, or (the last resort) one out-of-memory line.
expect_error "memory: a run needs about .* TiB.*tabular policy's 10000000 states x 65536 actions.*env.answers = 65536, env.prompts = 10000000" \
  run --env.prompts=10000000 --env.answers=65536 --out "$T/out.h5"
expect_error "memory: .*batch: train.batch_prompts x train.group_size" run --train.batch_prompts=10000000 --train.group_size=100 --out "$T/out.h5"
expect_error "memory: .*policy.hidden = 1000000" run --policy.kind=mlp --policy.hidden=1000000 --policy.layers=2 --out "$T/out.h5"
expect_error "memory: 1000000 runs" sweep --seeds 1000000 --train.steps=1000000 --train.eval_every=1 --out "$T/out.h5"
rm -f "$T"/out.h5*
( ulimit -v 3000000; exec "$ADVLAB" run --env.prompts=200000 --env.answers=1000 --train.steps=2 \
    --out "$T/out.h5" ) >"$T/stdout" 2>"$T/stderr"
check_error $? "memory" -F "ulimit -v: out of memory"
ls "$T"/out.h5* >/dev/null 2>&1 && fail "output left behind after running out of memory"
# --out replaces only a regular file, even with --force.
echo target >"$T/target"; ln -s "$T/target" "$T/link.h5"
expect_error "link.h5: is a symbolic link" run $Q --out "$T/link.h5" --force
grep -q target "$T/target" && [ -L "$T/link.h5" ] || fail "symlink or its target changed"
expect_error "/dev/null: is a character device" run $Q --out /dev/null --force
expect_error "fifo: is a fifo" run $Q --out "$T/fifo" --force
# INI files: a UTF-8 byte-order mark, ; comments (whole lines, with = or [ in
# them, and after values), # after values.
printf '\xef\xbb\xbf; made by an editor = with [brackets\nseed = 5 ; the seed\n[train]\n;steps = 99\nsteps = 20 # short\neval_every = 10\n[env]\nprompts = 32\n' >"$T/bom.ini"
"$ADVLAB" run --config "$T/bom.ini" --out "$T/bom.h5" >/dev/null 2>"$T/stderr" || { fail "bom/; ini"; cat "$T/stderr"; }
"$ADVLAB" run --seed=5 --train.steps=20 --train.eval_every=10 --env.prompts=32 --out "$T/bom_cli.h5" >/dev/null
[ "$("$ADVLAB" digest "$T/bom.h5" | cut -d' ' -f1)" = "$("$ADVLAB" digest "$T/bom_cli.h5" | cut -d' ' -f1)" ] ||
  fail "bom.ini differs from the same keys on the command line"
printf '[train]\nsteps = 0\n' >"$T/badvalue.ini"
expect_error "badvalue.ini:2: key 'train.steps'" run --config "$T/badvalue.ini" --out "$T/out.h5"
# Quoted input is cut short and non-printing bytes escaped.
long=$(printf 'x%.0s' $(seq 200))
expect_error "unknown command 'r\\\\x01${long:0:58}\.\.\.'" "$(printf 'r\001')$long"
printf 'seed = 1\nthis \033[31m line %s\n' "$long" >"$T/esc.ini"
expect_error "esc.ini:2: malformed line 'this \\\\x1b\[31m line x*\.\.\.'" run --config "$T/esc.ini" --out "$T/out.h5"
grep -q "$(printf '\033')" "$T/stderr" && fail "escape byte printed raw"
expect_error "analyze: unknown option '--${long:0:58}\.\.\.'" analyze "--$long"

# [sweep] sections: a file carries its grid and seeds; the command line overrides.
printf 'seed = 3\n[train]\nsteps = 20\neval_every = 10\n[env]\nprompts = 32\n[sweep]\nseeds = 2\ngrid.estimator.name = grpo, rloo\ngrid.optim.lr = 0.1, 0.3\n' >"$T/exp.ini"
"$ADVLAB" sweep --config "$T/exp.ini" --out "$T/exp.h5" >/dev/null || fail "[sweep] file"
"$ADVLAB" sweep --seed=3 --train.steps=20 --train.eval_every=10 --env.prompts=32 --seeds 2 \
  --grid estimator.name=grpo,rloo --grid optim.lr=0.1,0.3 --out "$T/exp_cli.h5" >/dev/null || fail "[sweep] cli"
[ "$("$ADVLAB" digest "$T/exp.h5" | cut -d' ' -f1)" = "$("$ADVLAB" digest "$T/exp_cli.h5" | cut -d' ' -f1)" ] ||
  fail "[sweep] file differs from the same grid on the command line"
# --grid on a gridded key replaces that axis in place; --key=value drops it; --seeds wins.
"$ADVLAB" sweep --config "$T/exp.ini" --grid estimator.name=dr_grpo --optim.lr=0.2 --seeds 3 \
  --out "$T/exp2.h5" >/dev/null || fail "[sweep] overrides"
$PY - "$T/exp2.h5" <<'PY' || fail "[sweep] overrides not applied"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert sorted(f["runs"]) == ["estimator.name", "run_id", "seed"], list(f["runs"])
assert [x.decode() for x in f["runs/estimator.name"][...]] == ["dr_grpo"] * 3
assert list(f["runs/seed"][...]) == [3, 4, 5]
cfg = f.attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
assert "lr = 0.2" in cfg, cfg
PY
"$ADVLAB" sweep --config "$T/exp.ini" --grid optim.lr=0.5 --grid train.group_size=4,6 --seeds 1 \
  --out "$T/exp3.h5" >/dev/null || fail "[sweep] axis order"
$PY - "$T/exp3.h5" <<'PY' || fail "[sweep] axis order: file axes first, replaced in place"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
est = [x.decode() for x in f["runs/estimator.name"][...]]
assert est == ["grpo"] * 2 + ["rloo"] * 2, est
assert list(f["runs/optim.lr"][...]) == [0.5] * 4
assert list(f["runs/train.group_size"][...]) == [4, 6, 4, 6]
PY
# run: a file's grid is refused unless every gridded key is given one value.
expect_error "exp.ini:9: grid.estimator.name: \`advlab run\` makes one run.*advlab sweep --config" run --config "$T/exp.ini" --out "$T/out.h5"
expect_error "exp.ini:10: grid.optim.lr: \`advlab run\`" run --config "$T/exp.ini" --estimator.name=grpo --out "$T/out.h5"
"$ADVLAB" run --config "$T/exp.ini" --estimator.name=grpo --optim.lr=0.1 --out "$T/one.h5" >/dev/null || fail "run of a [sweep] file, axes overridden"
printf '[sweep]\nseed = 2\n' >"$T/sw1.ini"
expect_error "sw1.ini:2: unknown \[sweep\] key 'seed' (did you mean 'seeds'?)" sweep --config "$T/sw1.ini" --out "$T/out.h5"
printf '[sweep]\nseeds = 0\n' >"$T/sw2.ini"
expect_error "sw2.ini:2: seeds: invalid value '0'" sweep --config "$T/sw2.ini" --out "$T/out.h5"
printf '[optim]\nlr = 2\n[sweep]\ngrid.optim.lr = 1, 2\n' >"$T/sw3.ini"
expect_error "sw3.ini:4: grid.optim.lr: 'optim.lr' is also set on line 2" sweep --config "$T/sw3.ini" --out "$T/out.h5"
printf '[sweep]\ngrid.optim.lr = 1,,2\n' >"$T/sw4.ini"
expect_error "sw4.ini:2: grid.optim.lr: empty value" sweep --config "$T/sw4.ini" --out "$T/out.h5"
printf '[sweep]\ngrid.estimatr.name = grpo\n' >"$T/sw5.ini"
expect_error "sw5.ini:2: grid.estimatr.name: unknown key.*did you mean 'estimator.name'" sweep --config "$T/sw5.ini" --out "$T/out.h5"

# Help: every command of `advlab help` answers --help and -h on stdout, exit 0.
for c in $("$ADVLAB" help | sed -n 's/^  advlab \([a-z]*\).*/\1/p'); do
  for h in --help -h; do
    "$ADVLAB" $c $h >"$T/stdout" 2>"$T/stderr" || fail "$c $h: exit $?"
    grep -q "usage: advlab $c" "$T/stdout" || fail "$c $h: no usage on stdout"
    [ -s "$T/stderr" ] && fail "$c $h: wrote to stderr"
  done
done
[ "$("$ADVLAB" help | grep -c '^  advlab ')" -ge 8 ] || fail "help lists fewer commands than expected"
expect_error "unknown command 'swep' (did you mean 'sweep'?)" swep
# Presets: one line each, the file's first comment line as description.
"$ADVLAB" list presets >"$T/stdout" || fail "list presets"
grep -q '^flagship.ini *The flagship demo' "$T/stdout" || { fail "list presets lacks flagship.ini"; cat "$T/stdout"; }

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

# A key that no run of the command reads is refused at planning (KeySpec::used_by),
# a grid over one too; a grid that makes it apply to some runs accepts it, and a
# key at its default passes (a resolved config can be run again).
expect_error "key 'env.chain_min_depth' is read only when env.name = chain" \
  run $Q --env.chain_min_depth=2 --out "$T/out.h5"
expect_error "key 'env.chain_min_depth' is read only when env.name = chain" \
  sweep $Q --grid env.chain_min_depth=1,2 --out "$T/out.h5"
expect_error "key 'train.clip_high' is read only when train.loss = ppo" \
  run $Q --train.clip_high=0.28 --out "$T/out.h5"
expect_error "key 'estimator.adora_tau' is read only when estimator.name has adora" \
  sweep $Q --estimator.adora_tau=0.3 --grid estimator.name=grpo,rloo --out "$T/out.h5"
expect_error "key 'policy.layers' is read only when policy.kind = mlp" \
  run $Q --policy.layers=2 --out "$T/out.h5"
expect_error "key 'kl.estimator' is read only when kl.coef != 0" \
  run $Q --kl.estimator=k1 --out "$T/out.h5"
"$ADVLAB" sweep $Q --grid train.loss=pg,ppo --train.clip_high=0.28 --out "$T/used.h5" >/dev/null 2>&1 \
  || fail "a ppo key with a grid over train.loss=pg,ppo was refused"
"$ADVLAB" sweep $Q --estimator.adora_tau=0.3 --grid estimator.name=grpo,grpo+adora \
  --out "$T/used2.h5" >/dev/null 2>&1 || fail "adora_tau with grpo+adora in the grid was refused"
"$ADVLAB" run $Q --env.chain_min_depth=1 --out "$T/default.h5" >/dev/null 2>&1 \
  || fail "a chain key at its default on choice was refused"

# Arms (issue 11): named configs crossed with the grid, the same seeds in each.
A1="grpo_g8: estimator.name=grpo, train.group_size=8"
A2="aapo_g4: estimator.name=grpo+aapo, train.group_size=4"
expect_error "--arm 'grpo train.group_size=8': expected 'NAME: key=value, key=value'" \
  sweep $Q --arm 'grpo train.group_size=8' --out "$T/out.h5"
expect_error "--arm x: expected key=value, got 'train.group_size 8'" \
  sweep $Q --arm 'x: train.group_size 8' --out "$T/out.h5"
expect_error "invalid arm name 'a b'" sweep $Q --arm 'a b: optim.lr=1' --out "$T/out.h5"
expect_error "--arm x: train.grup_size: unknown key 'train.grup_size' (did you mean 'train.group_size'?)" \
  sweep $Q --arm 'x: train.grup_size=4' --out "$T/out.h5"
expect_error "--arm grpo_g8: arm 'grpo_g8' given twice" \
  sweep $Q --arm "$A1" --arm "grpo_g8: optim.lr=2" --out "$T/out.h5"
expect_error "--arm aapo_g4: key 'train.group_size' is also swept by --grid train.group_size; an arm may not set a grid key" \
  sweep $Q --arm "$A2" --grid train.group_size=4,8 --out "$T/out.h5"
expect_error "--arm x: seed: 'seed' is a run column" sweep $Q --arm 'x: seed=3' --out "$T/out.h5"
expect_error "--arm a: key 'estimator.adora_tau' is read only when estimator.name has adora" \
  sweep $Q --arm 'a: estimator.adora_tau=0.3' --arm 'b: estimator.name=grpo+adora' --out "$T/out.h5"
expect_error "unknown key 'arm'" run $Q --arm "$A1" --out "$T/out.h5"
printf '[arm.grpo_g8]\nestimator.name = grpo\n[arm.grpo_g8]\n' >"$T/arm1.ini"
expect_error "arm1.ini:3: \[arm.grpo_g8\] given twice (first on line 1)" sweep --config "$T/arm1.ini" --out "$T/out.h5"
printf '[arm.a]\ngroup_size = 4\n' >"$T/arm2.ini"
expect_error "arm2.ini:2: \[arm.a\] group_size: unknown key 'group_size' (did you mean 'train.group_size'?" \
  sweep --config "$T/arm2.ini" --out "$T/out.h5"
printf '[arm.a]\ntrain.group_size = 4\n[sweep]\ngrid.train.group_size = 4, 8\n' >"$T/arm3.ini"
expect_error "arm3.ini:1: \[arm.a\]: key 'train.group_size' is also swept by .*arm3.ini:4: grid.train.group_size" \
  sweep --config "$T/arm3.ini" --out "$T/out.h5"
printf '[arm.a]\noptim.lr = 2\n' >"$T/arm4.ini"
expect_error "arm4.ini:1: \[arm.a\]: \`advlab run\` makes one run, not arms" \
  run --config "$T/arm4.ini" --out "$T/out.h5"
expect_error "--optim.lr: every arm sets 'optim.lr'.*so the value would reach no run" \
  sweep --config "$T/arm4.ini" --optim.lr=3 --out "$T/out.h5"
# The file's arms and the same arms on the command line: the same bytes; any
# --threads: the same bytes.
printf 'seed = 3\n[train]\nsteps = 20\neval_every = 10\n[env]\nprompts = 32\n[sweep]\nseeds = 2\ngrid.optim.lr = 0.1, 0.3\n[arm.grpo_g8]\nestimator.name = grpo\ntrain.group_size = 8\n[arm.aapo_g4]\nestimator.name = grpo+aapo\ntrain.group_size = 4\n' >"$T/arms.ini"
"$ADVLAB" sweep --config "$T/arms.ini" --out "$T/arms.h5" >/dev/null || fail "[arm.NAME] file"
"$ADVLAB" sweep --seed=3 --train.steps=20 --train.eval_every=10 --env.prompts=32 --seeds 2 \
  --grid optim.lr=0.1,0.3 --arm "$A1" --arm "$A2" --threads 2 --out "$T/arms_cli.h5" >/dev/null \
  || fail "--arm sweep"
cmp -s "$T/arms.h5" "$T/arms_cli.h5" || fail "[arm.NAME] file differs from the same --arm on the command line (threads 1 vs 2)"
$PY - "$T/arms.h5" <<'PY' || fail "arm columns"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = lambda d: [x.decode() if isinstance(x, bytes) else x for x in d[...]]
assert list(f["runs"].keys()) == ["run_id", "seed", "arm", "estimator.name", "train.group_size", "optim.lr"], list(f["runs"].keys())
assert s(f["runs/arm"]) == ["grpo_g8"] * 4 + ["aapo_g4"] * 4, s(f["runs/arm"])
assert s(f["runs/estimator.name"]) == ["grpo"] * 4 + ["grpo+aapo"] * 4
assert list(f["runs/train.group_size"][...]) == [8] * 4 + [4] * 4
assert list(f["runs/optim.lr"][...]) == [0.1, 0.1, 0.3, 0.3] * 2
assert list(f["runs/seed"][...]) == [3, 4] * 4
PY
# A run of an arm is the same config run alone (run 5: aapo_g4, lr 0.1, seed 4).
"$ADVLAB" run --seed=4 --train.steps=20 --train.eval_every=10 --env.prompts=32 --optim.lr=0.1 \
  --estimator.name=grpo+aapo --train.group_size=4 --out "$T/arm_alone.h5" >/dev/null || fail "arm alone"
$PY - "$T/arms.h5" "$T/arm_alone.h5" <<'PY' || fail "a run of an arm differs from its config alone"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert sorted(a["metrics"].keys()) == sorted(b["metrics"].keys())
for m in a["metrics"]:
    assert np.array_equal(a["metrics"][m][5], b["metrics"][m][0], equal_nan=True), m
PY
# --arm replaces the file's arm of that name; `analyze --compare arm=` pairs arms by seed.
"$ADVLAB" sweep --config "$T/arms.ini" --arm 'grpo_g8: estimator.name=rloo' --out "$T/arms2.h5" >/dev/null \
  || fail "--arm replacing a file arm"
$PY - "$T/arms2.h5" <<'PY' || fail "--arm did not replace the file's arm in place"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = lambda d: [x.decode() if isinstance(x, bytes) else x for x in d[...]]
assert s(f["runs/arm"]) == ["grpo_g8"] * 4 + ["aapo_g4"] * 4
assert s(f["runs/estimator.name"]) == ["rloo"] * 4 + ["grpo+aapo"] * 4
assert list(f["runs/train.group_size"][...]) == [8] * 4 + [4] * 4  # the base value for grpo_g8 now
PY
"$ADVLAB" analyze "$T/arms.h5" --compare arm=grpo_g8,aapo_g4 >"$T/cmp.txt" || fail "analyze --compare arm="
grep -q "^0.1 *aapo_g4 *grpo_g8 *2 " "$T/cmp.txt" || { fail "--compare arm= did not pair the arms by seed"; cat "$T/cmp.txt"; }

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "cli_test: all passed"
