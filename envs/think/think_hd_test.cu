// Compile-only (tests/hd_compile_test.sh): every host/device function of
// envs/think/think_step.h called from a kernel, the templates instantiated
// with TabularRows — the answer, the prior, the features, the rollout (one
// group and a call's groups), the oracle, the gradient through a device sink,
// greedy decoding, the overthinking window, the sequence-level KL.
#include "envs/think/think_step.h"
#include "sim/batch.h"
#include "sim/term_sink.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"

namespace advlab {

__global__ void ThinkKernel(ThinkModel model, TabularRows rows, ThinkScratch scratch,
                            BatchView out, const int32_t* prompts, int32_t count,
                            TermArrays sink, double* result) {
  const Philox rng(model.pool.seed);
  const int64_t step = 3;
  const int32_t p = prompts[0];
  ThinkRollout(model, step, step, rng, rows, prompts, count, 4, scratch, &out);
  ThinkRolloutGroup(model, step, step, rng, rows, p, count, 4, scratch, &out);
  result[0] = ThinkSuccessProbability(model, step, rows, p);
  ThinkSuccessGradient(model, step, rows, p, 0.5, scratch.value, sink);
  int32_t length = 0;
  result[1] = ThinkGreedyReward(model, step, rows, p, &length);
  result[2] = length + ThinkAnswer(model, step, p) + ThinkDifficulty(model, p) +
              ThinkLastRight(model, p);
  result[2] += ThinkSequenceKL(model, rows, rows, p);
  ThinkInitialLogits(model, p * model.max_length, result + 3);
  ThinkFeatures(model, step, p * model.max_length, result + 3 + model.num_answers + 1);
}

}  // namespace advlab
