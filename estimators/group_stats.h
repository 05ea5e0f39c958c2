// Per-group statistics shared by every group estimator (grpo, dr_grpo, rloo, ...).
//
// Written once so that every estimator sums in the same fixed order (index order,
// left to right, in double): results are then bit-reproducible on any build that
// keeps IEEE semantics (no -ffast-math; -ffp-contract=off so no FMA contraction).
// Everything works on spans into the batch: no allocation.
#ifndef ADVLAB_ESTIMATORS_GROUP_STATS_H_
#define ADVLAB_ESTIMATORS_GROUP_STATS_H_

#include <cmath>
#include <cstddef>
#include <span>

#include "sim/batch.h"
#include "sim/check.h"

namespace advlab {

// The rewards of group g, [group_begin[g], group_begin[g + 1]).
inline std::span<const double> GroupRewards(const Batch& batch, int g) {
  return std::span<const double>(batch.reward).subspan(
      static_cast<size_t>(batch.group_begin[g]), static_cast<size_t>(batch.group_size(g)));
}

// Cheap layout check (O(1)): group_begin must frame exactly the rollouts.
inline void CheckGroupLayout(const Batch& batch) {
  ADVLAB_CHECK_EQ(batch.group_begin.size(), batch.prompt.size() + 1);
  ADVLAB_CHECK_EQ(batch.group_begin.front(), 0);
  ADVLAB_CHECK_EQ(batch.group_begin.back(), batch.num_rollouts());
}

// Sum in index order. Deliberately a plain loop (not std::reduce, whose order is
// unspecified) so that the rounding is the same everywhere.
inline double GroupSum(std::span<const double> x) {
  double s = 0.0;
  for (double v : x) s += v;
  return s;
}

// Arithmetic mean, sum/n. For 0/1 (or any small-integer) rewards the sum and the
// quotient are exact, so R_i - mean is exactly 0 in an all-equal group: the
// training loop relies on that to skip zero-signal groups. Requires n >= 1.
inline double GroupMean(std::span<const double> x) {
  ADVLAB_CHECK_GE(x.size(), size_t{1});
  return GroupSum(x) / static_cast<double>(x.size());
}

// Unbiased (Bessel, n-1) standard deviation around `mean`, as torch.std's default
// which verl uses. Two-pass (deviations from the given mean) rather than
// sum-of-squares, to avoid cancellation. Requires n >= 2.
inline double GroupUnbiasedStd(std::span<const double> x, double mean) {
  ADVLAB_CHECK_GE(x.size(), size_t{2});
  double ss = 0.0;
  for (double v : x) {
    const double d = v - mean;
    ss += d * d;
  }
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

struct GroupMoments {
  double mean = 0.0;
  double stddev = 1.0;
};

// verl compute_grpo_outcome_advantage's group statistics: a singleton gets
// mean 0 and std 1 (torch.std of one element is NaN), so its raw reward passes
// through; otherwise the mean and the unbiased std.
inline GroupMoments VerlGroupMoments(std::span<const double> x) {
  if (x.size() <= 1) return GroupMoments{0.0, 1.0};
  GroupMoments m;
  m.mean = GroupMean(x);
  m.stddev = GroupUnbiasedStd(x, m.mean);
  return m;
}

// The frame of every group estimator: checks the layout, sizes the advantages,
// then calls fn(rewards, adv) for each group in order, where rewards is the
// group's span and adv points at the group's first advantage.
template <class Fn>
void ForEachGroup(Batch* batch, Fn&& fn) {
  ADVLAB_CHECK(batch != nullptr);
  CheckGroupLayout(*batch);
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  for (int g = 0; g < batch->num_groups(); ++g) {
    fn(GroupRewards(*batch, g), batch->advantage.data() + batch->group_begin[g]);
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GROUP_STATS_H_
