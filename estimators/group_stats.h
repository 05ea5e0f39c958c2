// Host-side frame of the group estimators: checks a Batch's group layout, sizes
// its advantages and hands each group's plain arrays to the estimator's
// host/device step function (estimators/*_step.h, statistics in
// estimators/group_kernels.h). No allocation once the batch has its capacity.
#ifndef ADVLAB_ESTIMATORS_GROUP_STATS_H_
#define ADVLAB_ESTIMATORS_GROUP_STATS_H_

#include <cstddef>

#include "estimators/group_kernels.h"
#include "sim/batch.h"
#include "sim/check.h"

namespace advlab {

// Cheap layout check (O(1)): group_begin must frame exactly the rollouts.
inline void CheckGroupLayout(const Batch& batch) {
  ADVLAB_CHECK_EQ(batch.group_begin.size(), batch.prompt.size() + 1);
  ADVLAB_CHECK_EQ(batch.group_begin.front(), 0);
  ADVLAB_CHECK_EQ(batch.group_begin.back(), batch.num_rollouts());
}

// The frame of every group estimator: checks the layout, sizes the advantages,
// then calls fn(g, reward, n, adv) for each group g in order, where reward
// points at the group's n rewards and adv at its first advantage.
template <class Fn>
void ForEachGroup(Batch* batch, Fn&& fn) {
  ADVLAB_CHECK(batch != nullptr);
  CheckGroupLayout(*batch);
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  const double* reward = batch->reward.data();
  const int32_t* group_begin = batch->group_begin.data();
  double* adv = batch->advantage.data();
  const int groups = batch->num_groups();
  for (int g = 0; g < groups; ++g) {
    const int first = group_begin[g];
    fn(g, reward + first, group_begin[g + 1] - first, adv + first);
  }
}

// Sizes Batch::baseline to the rollouts and returns it to be filled, or empties
// it and returns nullptr when the batch does not ask for baselines
// (Batch::want_baseline: the loop asks only on the step it measures).
inline double* StartBaseline(Batch* batch) {
  if (!batch->want_baseline) {
    batch->baseline.clear();
    return nullptr;
  }
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  return batch->baseline.data();
}

// Batch::baseline for the group-mean family: every rollout of group g gets the
// group's mean reward (verl's singleton convention: 0 for n <= 1). Called after
// the advantages, so it never changes them.
inline void FillGroupMeanBaseline(Batch* batch) {
  double* const b = StartBaseline(batch);
  if (b == nullptr) return;
  const double* reward = batch->reward.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = batch->group_begin[g], n = batch->group_begin[g + 1] - first;
    const double mean = n > 1 ? GroupMean(reward + first, n) : 0.0;
    for (int i = 0; i < n; ++i) b[first + i] = mean;
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GROUP_STATS_H_
