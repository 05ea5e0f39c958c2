// Host/device group statistics shared by every group estimator (grpo, dr_grpo,
// rloo, opo, gpg, reinforce_pp, ema_baseline) and by gae's token whitening.
//
// Plain data only: pointers and counts, no std::span, no allocation, no throw,
// ADVLAB_HD so that a CUDA kernel runs the same code. Every sum is a plain loop
// in index order, in double: results are bit-reproducible on any build that
// keeps IEEE semantics (no -ffast-math; -ffp-contract=off / --fmad=false, so no
// FMA contraction). Checks are ADVLAB_HD_CHECK: planning guarantees them (see
// each function).
#ifndef ADVLAB_ESTIMATORS_GROUP_KERNELS_H_
#define ADVLAB_ESTIMATORS_GROUP_KERNELS_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

// Sum of x[0..n) in index order. Deliberately a plain loop (not std::reduce,
// whose order is unspecified) so that the rounding is the same everywhere.
ADVLAB_HD inline double GroupSum(const double* x, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += x[i];
  return s;
}

// Arithmetic mean of x[0..n), sum/n. For 0/1 (or any small-integer) rewards the
// sum and the quotient are exact, so R_i - mean is exactly 0 in an all-equal
// group: the training loop relies on that to skip zero-signal groups.
// Requires n >= 1.
ADVLAB_HD inline double GroupMean(const double* x, int n) {
  ADVLAB_HD_CHECK(n >= 1);
  return GroupSum(x, n) / static_cast<double>(n);
}

// Unbiased (Bessel, n-1) standard deviation of x[0..n) around `mean`, as
// torch.std's default which verl uses. Two-pass (deviations from the given mean)
// rather than sum-of-squares, to avoid cancellation. Requires n >= 2.
ADVLAB_HD inline double GroupUnbiasedStd(const double* x, int n, double mean) {
  ADVLAB_HD_CHECK(n >= 2);
  double ss = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    ss += d * d;
  }
  return dm::Sqrt(ss / static_cast<double>(n - 1));  // IEEE sqrt, as std::sqrt
}

// A group's mean and standard deviation (reward units).
struct GroupMoments {
  double mean = 0.0;
  double stddev = 1.0;
};

// verl compute_grpo_outcome_advantage's group statistics of x[0..n): a
// singleton (or empty group) gets mean 0 and std 1 (torch.std of one element is
// NaN), so its raw reward passes through; otherwise the mean and the unbiased std.
ADVLAB_HD inline GroupMoments VerlGroupMoments(const double* x, int n) {
  if (n <= 1) return GroupMoments{0.0, 1.0};
  GroupMoments m;
  m.mean = GroupMean(x, n);
  m.stddev = GroupUnbiasedStd(x, n, m.mean);
  return m;
}

// verl masked_whiten's epsilon (inside the sqrt) and masked_mean's (added to n).
inline constexpr double kMaskedWhitenEpsilon = 1e-8;

// The statistics of a whitening (value units).
struct WhitenStats {
  double mean = 0.0;
  double stddev = 1.0;
};

// Weights for MaskedWhitenStats: every value one valid token (gae's per-token
// advantages). w * x and w * d^2 are then exact, so the result is the plain
// per-token sum.
struct UnitWeight {
  ADVLAB_HD double operator()(int) const { return 1.0; }
};

// Weights for MaskedWhitenStats: value r counts as many times as rollout r has
// tokens, token_begin[r + 1] - token_begin[r] (reinforce_pp's per-rollout values
// broadcast over their tokens). token_begin: [count + 1] token offsets.
struct RolloutLengthWeight {
  const int32_t* token_begin;
  ADVLAB_HD double operator()(int r) const {
    return static_cast<double>(token_begin[r + 1] - token_begin[r]);
  }
};

// The statistics of verl masked_whiten (torch_functional.py) over values x[i],
// i in [0, count), each counted weight(i) times, n = sum_i weight(i):
//   mean   = sum_i w_i x_i / (n + 1e-8)
//   stddev = sqrt([sum_i w_i (x_i - mean)^2 / (n + 1e-8)] * n / (n - 1) + 1e-8)
// Sums in index order. verl masked_var raises for n < 2; here n >= 2 is a
// checked precondition: `advlab advantage` refuses such a batch when it plans
// (EstimatorEntry::whitens_tokens), and training batches always hold >= 2 valid
// tokens or none (RunConfig refuses B x G < 2 for these estimators; an empty
// batch, DAPO having found no informative group, is never whitened).
template <class WeightFn>
ADVLAB_HD WhitenStats MaskedWhitenStats(const double* x, int count, WeightFn weight) {
  double n = 0.0, weighted = 0.0;
  for (int i = 0; i < count; ++i) {
    const double w = weight(i);
    n += w;
    weighted += w * x[i];
  }
  ADVLAB_HD_CHECK(n >= 2.0);
  WhitenStats s;
  s.mean = weighted / (n + kMaskedWhitenEpsilon);
  double ss = 0.0;
  for (int i = 0; i < count; ++i) {
    const double d = x[i] - s.mean;
    ss += weight(i) * (d * d);
  }
  const double var = ss / (n + kMaskedWhitenEpsilon) * (n / (n - 1.0));
  s.stddev = dm::Sqrt(var + kMaskedWhitenEpsilon);  // IEEE sqrt: correctly rounded
  return s;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GROUP_KERNELS_H_
