// Host/device steps of optimal and optimal_token (formulas and citations:
// estimators/optimal_baseline.h, estimators/optimal_token.h): plain arrays, no
// allocation, sums in index order.
#ifndef ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_STEP_H_
#define ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_STEP_H_

#include <cstdint>

#include "sim/features.h"

namespace advlab {

// optimal: A_i = R_i - b*, b* the prompt's exact variance-optimal baseline (an
// input: Task::OptimalBaseline computes it).
ADVLAB_HD inline void OptimalGroup(const double* reward, int n, double baseline, double* adv) {
  for (int i = 0; i < n; ++i) adv[i] = reward[i] - baseline;
}

// verl optimal_token_baseline's epsilon, added to the denominator sum W.
inline constexpr double kOptimalTokenEpsilon = 1e-8;

// optimal_token, one group of n rollouts; rollout i owns tokens
// [token_begin[i], token_begin[i+1]) (offsets into the arrays below, which
// start at the group's first token), G[t] its reward-to-go and W[t] its
// cumulative weight sum_{j <= t} (1 - 2 pi_j + sum pi^2). Per position t
// (0-based within a rollout): B_t = sum_i G_i,t W_i,t / (sum_i W_i,t + 1e-8)
// over the rollouts that reach t (verl: a masked sum over the group), except
// that a position where every rollout's G is the same value v gets B_t = v
// exactly (verl's epsilon would leave v eps / sum W). n == 1: B = 0 (verl).
// adv[t] = G[t] - B_t. Returns B_0 (the first token's baseline; 0 when no
// rollout has a token).
ADVLAB_HD inline double OptimalTokenGroup(const double* ret, const double* w,
                                          const int32_t* token_begin, int n, double* adv) {
  int longest = 0;
  for (int i = 0; i < n; ++i) {
    const int len = token_begin[i + 1] - token_begin[i];
    if (len > longest) longest = len;
  }
  double first = 0.0;
  for (int t = 0; t < longest; ++t) {
    double num = 0.0, den = 0.0, value = 0.0;
    bool have = false, equal = true;
    for (int i = 0; i < n; ++i) {
      if (token_begin[i] + t >= token_begin[i + 1]) continue;
      const int j = token_begin[i] + t;
      num += ret[j] * w[j];
      den += w[j];
      if (!have) {
        value = ret[j];
        have = true;
      } else if (ret[j] != value) {
        equal = false;
      }
    }
    const double b = n == 1 ? 0.0 : (equal ? value : num / (den + kOptimalTokenEpsilon));
    if (t == 0) first = b;
    for (int i = 0; i < n; ++i) {
      if (token_begin[i] + t >= token_begin[i + 1]) continue;
      const int j = token_begin[i] + t;
      adv[j] = ret[j] - b;
    }
  }
  return first;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_STEP_H_
