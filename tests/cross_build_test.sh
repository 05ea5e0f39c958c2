#!/usr/bin/env bash
# Another build of advlab (a different build type, instruction set or compiler)
# gives the same result datasets as the Release build under test, compared by
# `advlab digest` (which leaves out build provenance).
#   cross_build_test.sh SRC SCRATCH_DIR RELEASE_BIN BUILD_TYPE "EXTRA_CMAKE_ARGS" [CXX CC]
set -eu
SRC=${1:?source dir}; XBUILD=${2:?scratch build dir}; RELEASE_BIN=${3:?release advlab}
BUILD_TYPE=${4:?build type}; EXTRA=${5:-}; XCXX=${6:-}; XCC=${7:-}
if [ -n "$XCXX" ]; then
  command -v "$XCXX" >/dev/null || { echo "FAIL: compiler $XCXX not installed"; exit 1; }
  export CXX="$XCXX" CC="$XCC"
fi
# shellcheck disable=SC2086
cmake -S "$SRC" -B "$XBUILD" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" $EXTRA >/dev/null
cmake --build "$XBUILD" --target advlab -j "$(nproc)" >/dev/null
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
compare() {  # name args...
  local name=$1; shift
  "$RELEASE_BIN" "$@" --out "$T/a.h5" --force >/dev/null
  "$XBUILD/advlab" "$@" --out "$T/b.h5" --force >/dev/null
  local a b
  a=$("$RELEASE_BIN" digest "$T/a.h5" | cut -d' ' -f1)
  b=$("$XBUILD/advlab" digest "$T/b.h5" | cut -d' ' -f1)
  echo "$name: release $a"
  echo "$name: other   $b"
  [ "$a" = "$b" ] || { echo "FAIL: $name: results differ between builds"; exit 1; }
}
compare estimators sweep --env.prompts=64 --train.steps=200 --env.drift=linear --optim.lr=20 \
  --grid estimator.name=reinforce,rloo,grpo,dr_grpo --grid optim.name=sgd,adam --seeds 2 --threads 2
# Multi-token families, noise, drift, clipping and the exact-gradient diagnostics.
compare families sweep --env.prompts=32 --train.steps=80 --train.eval_every=20 --env.drift=random_walk \
  --env.false_positive=0.05 --env.false_negative=0.1 --env.answer_rate=0.02 --optim.lr=4 \
  --optim.max_grad_norm=0.5 --env.modulus=5 --env.chain_max_depth=4 --env.max_length=8 \
  --env.max_required=4 --diagnostics.exact_gradient=true --diagnostics.samples=3 \
  --grid env.name=choice,chain,think --grid optim.name=sgd,adam --seeds 2 --threads 2
# Estimators beyond grpo: stateful, oracle, whitening, and modifiers.
compare estimators2 sweep --env.prompts=32 --train.steps=80 --train.eval_every=20 --optim.lr=4 \
  --env.name=think --env.max_length=8 --env.max_required=4 --estimator.adora_criterion=both \
  --grid estimator.name=ema_baseline,oracle,opo,gpg,reinforce_pp,reinforce_pp_baseline,grpo+adora,rloo+adora+dash,grpo+dapo \
  --seeds 1 --threads 2
# The MLP policy (both activations, 1 and 2 layers) on every family.
compare mlp sweep --env.prompts=32 --train.steps=60 --train.eval_every=20 --optim.lr=2 \
  --policy.kind=mlp --policy.hidden=16 --policy.out_init_scale=0.5 --optim.max_grad_norm=1 \
  --env.modulus=5 --env.chain_max_depth=4 --env.max_length=8 --env.max_required=4 \
  --diagnostics.exact_gradient=true --diagnostics.samples=3 \
  --grid env.name=choice,chain,think --grid policy.activation=tanh,relu --grid policy.layers=1,2 \
  --seeds 1 --threads 2
# Issue 5's losses and estimators: ppo (epochs, minibatches, clips), KL in the
# loss and in the reward, the entropy bonus, micro-batches; remax, gae (tabular
# and MLP critics), aapo's reference rollouts.
compare losses sweep --env.name=chain --env.prompts=32 --train.steps=60 --train.eval_every=20 \
  --env.modulus=5 --env.chain_max_depth=4 --optim.lr=4 --train.loss=ppo --train.epochs=2 \
  --train.minibatches=2 --train.clip_high=0.28 --train.entropy_coef=0.01 --kl.coef=0.05 \
  --train.micro_batch=5 --grid kl.where=loss,reward --grid kl.estimator=k1,k2,k3 \
  --grid policy.kind=tabular,mlp --seeds 1 --threads 2
compare estimators3 sweep --env.prompts=32 --train.steps=60 --train.eval_every=20 --optim.lr=4 \
  --env.name=think --env.max_length=8 --env.max_required=4 --kl.coef=0.02 --kl.where=reward \
  --grid estimator.name=remax,gae,grpo+aapo,rloo+aapo,remax+adora --grid policy.kind=tabular,mlp \
  --policy.hidden=16 --estimator.aapo_pairing=ref_mean --seeds 1 --threads 2
# Issue 14's zoo: trackers, oracle baselines (and the optimal reference pass of
# the diagnostics), pass@k, the answer-entropy modifier, the new losses, the KL
# variants and the adaptive controller.
compare zoo sweep --env.prompts=32 --train.steps=60 --train.eval_every=20 --optim.lr=4 \
  --env.name=think --env.max_length=8 --env.max_required=4 --kl.coef=0.05 --kl.where=loss \
  --kl.estimator=k3+ --kl.target=0.01 --kl.horizon=1000 --train.epochs=2 --train.minibatches=2 \
  --diagnostics.exact_gradient=true --diagnostics.samples=3 --policy.hidden=16 \
  --grid estimator.name=spo,krpo,krpo_persistent,bnpo,passk,pkpo,qae,optimal,optimal_token,grpo+seed_grpo,grpo+grpo_lead \
  --grid train.loss=gspo,gmpo,cispo,sapo,clip_cov,kl_cov --grid policy.kind=tabular,mlp \
  --seeds 1 --threads 2
# `advlab trace` (issue 16): the JSON of one traced step, every digit, the same
# bytes from both builds (MLP, ADORA's and DASH's columns, the exact gradient).
for policy in tabular mlp; do
  args=(trace --env.name=think --env.answers=4 --env.prompts=32 --env.max_length=8
        --env.max_required=4 --train.batch_prompts=8 --train.group_size=4 --optim.lr=4
        --policy.kind=$policy --estimator.name=grpo+adora+dash --train.steps=20 --step 12
        --estimator rloo,reinforce --json)
  "$RELEASE_BIN" "${args[@]}" >"$T/a.json"
  "$XBUILD/advlab" "${args[@]}" >"$T/b.json"
  echo "trace $policy: release $(sha256sum <"$T/a.json" | cut -c1-16)"
  echo "trace $policy: other   $(sha256sum <"$T/b.json" | cut -c1-16)"
  cmp -s "$T/a.json" "$T/b.json" || { echo "FAIL: trace $policy differs between builds"; exit 1; }
done
# The builds really differ (otherwise the test would prove nothing).
"$XBUILD/advlab" version
echo "cross_build_test ($BUILD_TYPE $EXTRA ${XCXX:-default compiler}): passed"
