// Host/device steps of spo (formula and citation: estimators/spo.h): the
// forgetting rate from the policy's move, one group's raw advantages against
// its prompt's Beta tracker and the tracker's update, and the batch z-score.
// Plain arrays, no allocation.
#ifndef ADVLAB_ESTIMATORS_SPO_STEP_H_
#define ADVLAB_ESTIMATORS_SPO_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

inline constexpr double kSpoRhoMax = 0.96;      // the paper's upper clip of rho
inline constexpr double kSpoEpsilon = 1e-6;     // added to the batch std (verl's grpo epsilon)
inline constexpr double kSpoLn2 = 0x1.62e42fefa39efp-1;  // ln 2, correctly rounded

// The per-prompt trackers as plain data: slot s (the prompt id) holds (alpha,
// beta) once seen[s] == 1. Arrays of `slots` entries owned by the host.
struct SpoState {
  double* alpha = nullptr;  // [slots]
  double* beta = nullptr;   // [slots]
  uint8_t* seen = nullptr;  // [slots]
  int64_t slots = 0;
};

// D = sum_a pi_now(a) |log pi_now(a) - log pi_then(a)| over the k actions of a
// decision, in index order (a zero-probability action contributes 0).
ADVLAB_HD inline double SpoPolicyDistance(const double* p_now, const double* lp_now,
                                          const double* lp_then, int k) {
  double d = 0.0;
  for (int a = 0; a < k; ++a) {
    if (p_now[a] == 0.0) continue;
    const double diff = lp_now[a] - lp_then[a];
    d += p_now[a] * (diff < 0.0 ? -diff : diff);
  }
  return d;
}

// rho = 2^(-D / d_half) clipped to [rho_min, rho_max]; d_half > 0.
ADVLAB_HD inline double SpoRho(double d, double d_half, double rho_min, double rho_max) {
  const double rho = dm::Exp(-(d / d_half) * kSpoLn2);
  return rho < rho_min ? rho_min : (rho > rho_max ? rho_max : rho);
}

// One group of n rollouts of the prompt in `slot`.
//   never seen: p = mean(R_g); alpha = n0 p, beta = n0 (1 - p) (the group is the
//     prior, counted n0 times, and is not added again); A_i = R_i - p.
//   seen: p = alpha / (alpha + beta) BEFORE the update; A_i = R_i - p; then for
//     i = 0..n-1 in index order alpha <- rho_i alpha + R_i, beta <- rho_i beta +
//     (1 - R_i), rho_0 = rho_first (the policy's move since the last visit),
//     rho_i = rho_max for i > 0 (the policy has not moved since rollout i-1).
// adv[i] gets the raw (un-normalised) advantage, baseline[i] = p.
ADVLAB_HD inline void SpoGroup(const double* reward, int n, double rho_first, double rho_max,
                               double n0, SpoState state, int64_t slot, double* adv,
                               double* baseline) {
  if (n == 0) return;  // nothing observed, no update
  ADVLAB_HD_CHECK(slot >= 0 && slot < state.slots);
  if (state.seen[slot] == 0) {
    const double p = GroupMean(reward, n);
    state.seen[slot] = 1;
    state.alpha[slot] = n0 * p;
    state.beta[slot] = n0 * (1.0 - p);
    for (int i = 0; i < n; ++i) {
      adv[i] = reward[i] - p;
      baseline[i] = p;
    }
    return;
  }
  double alpha = state.alpha[slot], beta = state.beta[slot];
  const double p = alpha / (alpha + beta);
  for (int i = 0; i < n; ++i) {
    adv[i] = reward[i] - p;
    baseline[i] = p;
  }
  for (int i = 0; i < n; ++i) {
    const double rho = i == 0 ? rho_first : rho_max;
    alpha = rho * alpha + reward[i];
    beta = rho * beta + (1.0 - reward[i]);
  }
  state.alpha[slot] = alpha;
  state.beta[slot] = beta;
}

// The batch z-score of the n raw advantages, in place: mean and unbiased (n-1)
// std over all of them (VerlGroupMoments: n <= 1 gives mean 0, std 1), then
// A <- (A - mean) / (std + 1e-6).
ADVLAB_HD inline void SpoNormalize(double* adv, int n) {
  const GroupMoments m = VerlGroupMoments(adv, n);
  const double denom = m.stddev + kSpoEpsilon;
  for (int i = 0; i < n; ++i) adv[i] = (adv[i] - m.mean) / denom;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_SPO_STEP_H_
