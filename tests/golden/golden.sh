#!/usr/bin/env bash
# The golden matrix (issue 9; issue 14 appends its zoo): short runs over every family x {tabular, mlp} x
# every estimator and modifier x {pg, ppo} x {no KL, KL in the loss, KL in the
# reward}, with drift, verifier noise, micro-batches and the exact-gradient
# diagnostics each switched on somewhere. Prints one line per config:
#   DIGEST<TAB>ARGS      (DIGEST = `advlab digest`, or "refused" for exit 2)
# The contract: every line stays the same unless a commit moves a bit on
# purpose and regenerates the file:
#   tests/golden/golden.sh build/advlab > tests/golden/digests.txt
# tests/golden/golden_test.sh compares a build against that file.
set -eu
ADVLAB=${1:?usage: golden.sh ADVLAB [--list]}
MODE=${2:-run}

configs() {
  local i=0 fam pol est loss kl args
  for fam in choice chain think; do
    for pol in tabular mlp; do
      for est in reinforce rloo grpo dr_grpo opo gpg reinforce_pp reinforce_pp_baseline \
                 ema_baseline oracle remax gae grpo+adora grpo+dash grpo+dapo grpo+aapo \
                 rloo+adora+dash; do
        for loss in pg ppo; do
          for kl in none loss reward; do
            args="--env.name=$fam --policy.kind=$pol --estimator.name=$est --train.loss=$loss"
            args+=" --seed=$((i % 5)) --train.steps=12 --train.eval_every=4 --env.prompts=16"
            args+=" --train.batch_prompts=4 --train.group_size=4"
            case $fam in
              choice) args+=" --env.answers=4" ;;
              chain) args+=" --env.modulus=5 --env.chain_max_depth=3 --env.eval_prompts=8" ;;
              think) args+=" --env.max_length=6 --env.max_required=3" ;;
            esac
            [ "$pol" = mlp ] && args+=" --policy.hidden=8 --policy.out_init_scale=0.5"
            [ "$loss" = ppo ] && args+=" --train.epochs=2 --train.minibatches=2 --train.clip_high=0.28"
            case $kl in
              loss) args+=" --kl.coef=0.05 --kl.where=loss --kl.estimator=k$((i % 3 + 1))" ;;
              reward) args+=" --kl.coef=0.05 --kl.where=reward --kl.estimator=k$((i % 3 + 1))" ;;
            esac
            case $((i % 4)) in
              1) args+=" --env.drift=linear" ;;
              2) args+=" --env.drift=step --env.drift_stages=3" ;;
              3) args+=" --env.drift=random_walk --env.answer_rate=0.05" ;;
            esac
            [ $((i % 5)) = 0 ] && args+=" --env.false_positive=0.05 --env.false_negative=0.1"
            [ $((i % 3)) = 1 ] && args+=" --train.micro_batch=3"
            if [ $((i % 6)) = 2 ]; then
              args+=" --train.entropy_coef=0.01 --optim.name=adam --optim.lr=0.05"
            else
              args+=" --optim.lr=2"
            fi
            [ $((i % 7)) = 0 ] && args+=" --diagnostics.exact_gradient=true --diagnostics.samples=2"
            [ $((i % 11)) = 3 ] && args+=" --optim.max_grad_norm=0.5 --train.loss_agg=seq-mean-token-mean"
            echo "$args"
            i=$((i + 1))
          done
        done
      done
    done
  done
}

# Issue 14 (the second-generation zoo), appended so that every line above keeps
# its place: each new estimator and modifier on every family x policy, under pg
# without KL and under ppo with KL in the loss; grpo's normalisation switches;
# every new loss and KL variant; the adaptive KL controller. Same short runs.
zoo_configs() {
  local i=612 fam pol est loss args v
  zoo_base() {  # FAM POL: the common part of a zoo line
    local a="--env.name=$1 --policy.kind=$2 --seed=$((i % 5)) --train.steps=12 --train.eval_every=4"
    a+=" --env.prompts=16 --train.batch_prompts=4 --train.group_size=4"
    case $1 in
      choice) a+=" --env.answers=4" ;;
      chain) a+=" --env.modulus=5 --env.chain_max_depth=3 --env.eval_prompts=8" ;;
      think) a+=" --env.max_length=6 --env.max_required=3" ;;
    esac
    [ "$2" = mlp ] && a+=" --policy.hidden=8 --policy.out_init_scale=0.5"
    case $((i % 4)) in
      1) a+=" --env.drift=linear" ;;
      2) a+=" --env.drift=step --env.drift_stages=3" ;;
      3) a+=" --env.drift=random_walk --env.answer_rate=0.05" ;;
    esac
    [ $((i % 5)) = 0 ] && a+=" --env.false_positive=0.05 --env.false_negative=0.1"
    [ $((i % 7)) = 0 ] && a+=" --diagnostics.exact_gradient=true --diagnostics.samples=2"
    a+=" --optim.lr=2"
    echo "$a"
  }
  for fam in choice chain think; do
    for pol in tabular mlp; do
      for est in spo krpo krpo_persistent bnpo grpo_passk passk pkpo qae optimal optimal_token \
                 grpo+seed_grpo grpo+grpo_lead; do
        for v in 0 1; do
          args="$(zoo_base $fam $pol) --estimator.name=$est"
          if [ $v = 1 ]; then
            args+=" --train.loss=ppo --train.epochs=2 --train.minibatches=2 --train.clip_high=0.28"
            args+=" --kl.coef=0.05 --kl.where=loss --kl.estimator=k$((i % 3 + 1))"
          fi
          echo "$args"
          i=$((i + 1))
        done
      done
      for v in "grpo:--estimator.scale_rewards=batch;--estimator.std_epsilon=1e-4" \
               "grpo:--estimator.scale_rewards=none" "grpo:--estimator.mean_scope=batch" \
               "dr_grpo:--estimator.mean_scope=batch" "qae:--estimator.qae_norm_by_std=false" \
               "pkpo:--estimator.pkpo_baseline=none" "spo:--estimator.spo_n0=2"; do
        echo "$(zoo_base $fam $pol) --estimator.name=${v%%:*} ${v#*:}" | tr ';' ' '
        i=$((i + 1))
      done
      for loss in gspo gmpo cispo sapo clip_cov kl_cov "ppo;--train.clip_delta=2"; do
        echo "$(zoo_base $fam $pol) --estimator.name=grpo --train.loss=$loss --train.epochs=2 --train.minibatches=2" | tr ';' ' '
        i=$((i + 1))
      done
      for v in "--kl.where=loss;--kl.estimator=abs" "--kl.where=reward;--kl.estimator=abs" \
               "--kl.where=loss;--kl.estimator=k1+" "--kl.where=loss;--kl.estimator=k3+" \
               "--kl.where=reward;--kl.estimator=k3+" "--kl.where=reward;--kl.target=0.01;--kl.horizon=1000" \
               "--kl.where=loss;--kl.target=0.01;--kl.horizon=1000"; do
        echo "$(zoo_base $fam $pol) --estimator.name=grpo --kl.coef=0.05 $v" | tr ';' ' '
        i=$((i + 1))
      done
    done
  done
}

all_configs() { configs; zoo_configs; }

if [ "$MODE" = --list ]; then all_configs; exit 0; fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
one() {  # ADVLAB T N ARGS...
  local bin=$1 dir=$2 n=$3; shift 3
  local out="$dir/$n.h5" d rc=0
  "$bin" run "$@" --out "$out" >/dev/null 2>"$dir/$n.err" || rc=$?
  if [ $rc = 0 ]; then
    d=$("$bin" digest "$out" | cut -d' ' -f1)
    rm -f "$out"
  elif [ $rc = 2 ]; then
    d=refused
  else
    d="crashed($rc)"
  fi
  printf '%s\t%s\n' "$d" "$*" > "$dir/$n.line"
}
export -f one
all_configs | awk '{print NR-1 " " $0}' |
  xargs -P "$(nproc)" -L 1 bash -c 'one "$@"' _ "$ADVLAB" "$T"
n=$(all_configs | wc -l)
for ((k = 0; k < n; k++)); do cat "$T/$k.line"; done
