// The simulated compute cost of a step (docs/estimators.md, "Compute cost"):
//   inference  cost.infer_call per call + cost.infer_token per generated token;
//              one call per train.rollout_batch rollouts of each sampling round
//              (0: one per round, DASH's preemptive sampling); AAPO's reference
//              (cached: only a prompt's first draw) and ReMax's greedy rollouts
//              are calls and tokens too
//   training   cost.train_call per backward micro-batch (train.micro_batch kept
//              rollouts, every update) + cost.train_token per backward token:
//              every token of every rollout no filter removed (DASH removes;
//              a zero advantage does not), every update
#ifndef ADVLAB_SIM_COST_H_
#define ADVLAB_SIM_COST_H_

#include <cstdint>

#include "sim/run_config.h"
#include "sim/step_stats.h"

namespace advlab {

// Inference calls to generate `rollouts` rollouts in one round.
inline int64_t InferCalls(const RunConfig& rc, int64_t rollouts) {
  if (rollouts == 0) return 0;
  return rc.rollout_batch == 0 ? 1 : (rollouts + rc.rollout_batch - 1) / rc.rollout_batch;
}

// The cost of a step's sampling and updates.
inline double StepCost(const RunConfig& rc, const SamplingStats& sampling, const StepStats& ss) {
  return rc.cost_infer_call * static_cast<double>(sampling.infer_calls) +
         rc.cost_infer_token * static_cast<double>(sampling.generated_tokens) +
         rc.cost_train_call * static_cast<double>(ss.train_calls) +
         rc.cost_train_token * static_cast<double>(ss.backward_tokens);
}

}  // namespace advlab

#endif  // ADVLAB_SIM_COST_H_
