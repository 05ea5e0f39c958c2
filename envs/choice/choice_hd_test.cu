// Compile-only (tests/hd_compile_test.sh): choice's host/device step functions
// (envs/choice/choice_step.h) instantiated with TabularRows inside kernels.
#include "envs/choice/choice_step.h"
#include "sim/batch.h"
#include "sim/term_sink.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"

namespace advlab {

// One thread rolls out the batch (the CDF row in shared memory), the others
// evaluate the oracle, its gradient and greedy decoding for one prompt each.
__global__ void ChoiceKernel(ChoiceModel m, TabularRows rows, int64_t step, uint64_t seed,
                             const int32_t* prompts, int count, int group_size, BatchView out,
                             TermArrays sink, double* value, int32_t* answer) {
  __shared__ double cdf[1024];
  const Philox rng(seed);
  const int32_t p = static_cast<int32_t>(threadIdx.x) % m.pool.num_prompts;
  if (threadIdx.x == 0) {
    ChoiceRollout(m, rows, step, step, rng, prompts, count, group_size, cdf, &out);
    ChoiceSuccessGradientTerms(m, rows, step, p, 0.5, sink);
  }
  int32_t length = 0;
  value[threadIdx.x] = ChoiceSuccessProbability(m, rows, step, p) +
                       ChoiceGreedyReward(m, rows, step, p, &length) + length;
  answer[threadIdx.x] = ChoiceAnswer(m, step, p);
}

}  // namespace advlab
