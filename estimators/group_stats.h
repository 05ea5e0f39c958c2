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
#include <string>

#include "sim/batch.h"
#include "sim/check.h"
#include "sim/error.h"

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

// verl masked_whiten's epsilon (inside the sqrt) and masked_mean's (added to n).
inline constexpr double kMaskedWhitenEpsilon = 1e-8;

struct WhitenStats {
  double mean = 0.0;
  double stddev = 1.0;
};

// The statistics of verl masked_whiten (torch_functional.py) over values x[i],
// i in [0, count), each counted weight(i) times (its number of valid tokens;
// 1.0 for per-token values, where w * x and w * d^2 are then exact, so the
// result is the plain per-token sum), n = sum_i weight(i):
//   mean   = sum_i w_i x_i / (n + 1e-8)
//   stddev = sqrt([sum_i w_i (x_i - mean)^2 / (n + 1e-8)] * n / (n - 1) + 1e-8)
// Sums in index order. verl masked_var raises for n < 2: UserError, prefixed by
// `name` (the estimator). Shared by reinforce_pp (per-rollout values, w = L_r)
// and gae (per-token values).
template <class WeightFn>
WhitenStats MaskedWhitenStats(const double* x, int count, WeightFn&& weight, const char* name) {
  double n = 0.0, weighted = 0.0;
  for (int i = 0; i < count; ++i) {
    const double w = weight(i);
    n += w;
    weighted += w * x[i];
  }
  if (n < 2.0) {
    throw UserError(std::string(name) +
                    (n == 1.0 ? ": the batch has a single valid token"
                              : ": the batch has no valid token") +
                    "; whitening needs at least 2");
  }
  WhitenStats s;
  s.mean = weighted / (n + kMaskedWhitenEpsilon);
  double ss = 0.0;
  for (int i = 0; i < count; ++i) {
    const double d = x[i] - s.mean;
    ss += weight(i) * (d * d);
  }
  const double var = ss / (n + kMaskedWhitenEpsilon) * (n / (n - 1.0));
  s.stddev = std::sqrt(var + kMaskedWhitenEpsilon);  // IEEE sqrt: correctly rounded
  return s;
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
