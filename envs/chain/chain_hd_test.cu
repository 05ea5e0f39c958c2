// Compile-only (tests/hd_compile_test.sh): every host/device function of
// envs/chain/chain_step.h called from a kernel with TabularRows — rule
// advance, correct results, the rollout (group and call), the exact oracle,
// the exact gradient through a device sink, greedy decoding, the
// sequence-level KL.
#include "envs/chain/chain_oracle.h"
#include "envs/chain/chain_step.h"
#include "sim/batch.h"
#include "sim/term_sink.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"

namespace advlab {

__global__ void ChainKernel(ChainModel model, ChainData data, TabularRows rows,
                            ChainRolloutScratch rollout, ChainOracleScratch oracle,
                            BatchView view, TermArrays sink, const int32_t* prompts,
                            double* out) {
  const Philox rng(model.seed);
  ChainAdvance(model, data, 12);
  ChainSetRule(model, data, 0, ChainRuleVersion(model, 0, 12));
  out[0] = ChainDrawB(model, 0, 3);
  ChainCorrectResults(model, data, prompts[0], oracle.correct);
  ChainRollout(model, data, rows, rng, 12, prompts, 2, 5, rollout, view);
  ChainBeginRollout(model, rollout);
  ChainRolloutGroup(model, data, rows, rng, 13, 0, prompts[1], 3, rollout, view);
  out[1] = ChainSuccessProbability(model, data, rows, prompts[0], oracle);
  ChainSuccessGradientTerms(model, data, rows, prompts[0], 0.5, oracle, sink);
  int32_t length = 0;
  out[2] = ChainGreedyReward(model, data, rows, prompts[1], &length) + length;
  out[3] = ChainForward(model, rows, prompts[0], oracle.correct, oracle.mu) +
           ChainDepth(model, prompts[0]) + ChainOps(model, prompts[0])[0] +
           ChainState(model, 1, 2) + sink.count +
           ChainSequenceKL(model, rows, rows, prompts[0], oracle.mu);
}

}  // namespace advlab
