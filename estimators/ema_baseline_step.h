// Host/device step of ema_baseline (formula and citation:
// estimators/ema_baseline.h): one group's advantages against its prompt's
// running baseline, and the baseline's update, on plain state.
#ifndef ADVLAB_ESTIMATORS_EMA_BASELINE_STEP_H_
#define ADVLAB_ESTIMATORS_EMA_BASELINE_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// The running baselines as plain data: slot s (the prompt id in scope prompt,
// 0 in scope global) holds baseline[s] (reward units) once seen[s] == 1.
// Arrays of `slots` entries, owned by the host estimator (grown there).
struct EmaState {
  double* baseline = nullptr;  // [slots] b_p
  uint8_t* seen = nullptr;     // [slots] 1 once b_p exists
  int64_t slots = 0;
};

// One group of n rollouts of the prompt in `slot`: A_i = R_i - b (b before the
// update; a first observation sets b = the group mean), then
// b <- beta b + (1 - beta) mean. An empty group observes nothing (no update).
// Groups must be visited in batch order (a prompt twice in a batch sees its
// first group's update). beta in [0, 1).
ADVLAB_HD inline void EmaBaselineGroup(const double* reward, int n, double beta, EmaState state,
                                       int64_t slot, double* adv) {
  if (n == 0) return;  // no rollouts: nothing observed, no update
  ADVLAB_HD_CHECK(slot >= 0 && slot < state.slots);
  const double mean = GroupMean(reward, n);
  if (state.seen[slot] == 0) {
    state.seen[slot] = 1;
    state.baseline[slot] = mean;  // first observation: the group's own mean
  }
  const double baseline = state.baseline[slot];
  for (int i = 0; i < n; ++i) adv[i] = reward[i] - baseline;
  state.baseline[slot] = beta * baseline + (1.0 - beta) * mean;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_EMA_BASELINE_STEP_H_
