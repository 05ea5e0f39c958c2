// Host/device steps of the pass@k and quantile estimators (formulas and
// citations: estimators/grpo_passk.h, passk.h, pkpo.h, qae.h): one group's
// advantages from its rewards, plain arrays, no allocation, sums in index order.
#ifndef ADVLAB_ESTIMATORS_PASSK_STEP_H_
#define ADVLAB_ESTIMATORS_PASSK_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

// verl's grpo epsilon, added to the std (grpo_passk, qae), and the Pass@k
// Training code's, added to sigma (passk).
inline constexpr double kPasskEpsilon = 1e-6;

// C(a, k) / C(b, k) for integers 0 <= a <= b, k >= 0, as the product
// prod_{i<k} (a - i) / (b - i) in index order: exactly 0 when a < k, exactly 1
// when a == b, and no overflow for any group size. (The reference code divides
// two scipy.special.comb values; the last bits may differ.) Requires k <= b.
ADVLAB_HD inline double BinomialRatio(int a, int b, int k) {
  double r = 1.0;
  for (int i = 0; i < k; ++i) {
    if (a - i <= 0) return 0.0;
    r *= static_cast<double>(a - i) / static_cast<double>(b - i);
  }
  return r;
}

// C(n, k) in double by the multiplicative formula (exact while the partial
// products stay below 2^53: every group size advlab plans with k <= 30 or n <= 60).
ADVLAB_HD inline double Binomial(int n, int k) {
  if (k < 0 || k > n) return 0.0;
  if (k > n - k) k = n - k;
  double c = 1.0;
  for (int i = 1; i <= k; ++i) c = c * static_cast<double>(n - k + i) / static_cast<double>(i);
  return c;
}

// ---- grpo_passk ---------------------------------------------------------------
// Only the best rollout gets r_max - r_second_max (by_std: divided by the
// unbiased group std + 1e-6); every other rollout 0. The best is the lowest
// index among the maxima (a tie for the maximum gives 0 to everyone anyway).
// n < 2 (verl raises; planning refuses it): all 0. Returns r_second_max (the
// value the best rollout was compared with), 0 for n < 2.
ADVLAB_HD inline double GrpoPasskGroup(const double* reward, int n, bool by_std, double* adv) {
  if (n < 2) {
    for (int i = 0; i < n; ++i) adv[i] = 0.0;
    return 0.0;
  }
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (reward[i] > reward[best]) best = i;
  int second = best == 0 ? 1 : 0;
  for (int i = 0; i < n; ++i)
    if (i != best && reward[i] > reward[second]) second = i;
  const double r_max = reward[best], r_second = reward[second];
  double a = r_max - r_second;
  if (by_std) {
    const double mean = GroupMean(reward, n);
    a = a / (GroupUnbiasedStd(reward, n, mean) + kPasskEpsilon);
  }
  for (int i = 0; i < n; ++i) adv[i] = 0.0;
  adv[best] = a;
  return r_second;
}

// ---- passk (analytical pass@k advantage) --------------------------------------
// c = #{R_i == 1}, k_eff = min(k, n) (planning refuses k > n; the clamp keeps a
// stray small group finite), rho = 1 - C(n-c, k)/C(n, k),
// sigma = sqrt(rho (1 - rho)) (by_std; else 1 and no epsilon):
//   R_i == 1:  (1 - rho) / (sigma + 1e-6)
//   R_i == 0:  (1 - rho - C(n-c-1, k-1)/C(n-1, k-1)) / (sigma + 1e-6)
//   otherwise: R_i unchanged (the reference code's np.where passes it through).
// adv may not alias reward.
ADVLAB_HD inline void PasskGroup(const double* reward, int n, int k, bool by_std, double* adv) {
  if (n <= 0) return;
  const int kk = k < n ? k : n;
  int c = 0;
  for (int i = 0; i < n; ++i) c += reward[i] == 1.0 ? 1 : 0;
  const double rho = 1.0 - BinomialRatio(n - c, n, kk);
  const double denom = by_std ? dm::Sqrt(rho * (1.0 - rho)) + kPasskEpsilon : 1.0;
  const double adv_pos = (1.0 - rho) / denom;
  // C(n-c-1, k-1)/C(n-1, k-1); n - c - 1 < 0 (all correct) gives 0, as scipy's comb.
  const double ratio = n - c - 1 >= 0 ? BinomialRatio(n - c - 1, n - 1, kk - 1) : 0.0;
  const double adv_neg = (1.0 - rho - ratio) / denom;
  for (int i = 0; i < n; ++i) {
    const double r = reward[i];
    adv[i] = r == 1.0 ? adv_pos : (r == 0.0 ? adv_neg : r);
  }
}

// ---- pkpo ------------------------------------------------------------------------
// Walder & Karkhanis's unbiased maxg@k reward transformation over all C(n, k)
// size-k subsets S of the group (k_eff = min(k, n)):
//   plain:   s_i = (1 / C(n,k)) sum_{S containing i} max_{j in S} R_j
//   loo-1:   s_i = (1 / C(n,k)) sum_{S containing i} (max_S R - max_{S \ i} R)
// (max over the empty set = 0, only reached with k = 1). With a total order
// (value, then index) and L_m = #rollouts below m: the subsets containing i
// whose maximum is m number C(L_i, k-1) for m = i and C(L_m - 1, k-2) for m
// above i; those of the k-1 others of S containing i whose maximum is m
// number C(L'_m, k-2), L'_m = L_m - [i below m]. O(n^2) per group; `rank`
// holds n ints of scratch.
ADVLAB_HD inline void PkpoGroup(const double* reward, int n, int k, bool loo_minus_one,
                                int32_t* rank, double* adv) {
  if (n <= 0) return;
  const int kk = k < n ? k : n;
  for (int m = 0; m < n; ++m) {
    int below = 0;
    for (int j = 0; j < n; ++j)
      below += (reward[j] < reward[m] || (reward[j] == reward[m] && j < m)) ? 1 : 0;
    rank[m] = below;
  }
  const double subsets = Binomial(n, kk);
  for (int i = 0; i < n; ++i) {
    double s = reward[i] * Binomial(rank[i], kk - 1);
    for (int m = 0; m < n; ++m) {
      if (m == i || rank[m] < rank[i]) continue;
      s += reward[m] * Binomial(rank[m] - 1, kk - 2);
    }
    if (loo_minus_one && kk >= 2) {
      double b = 0.0;
      for (int m = 0; m < n; ++m) {
        if (m == i) continue;
        const int r = rank[m] - (rank[i] < rank[m] ? 1 : 0);
        b += reward[m] * Binomial(r, kk - 2);
      }
      s -= b;
    }
    adv[i] = s / subsets;
  }
}

// ---- qae -------------------------------------------------------------------------
// The K-quantile of the group's rewards as torch.quantile (interpolation
// "linear"): sorted ascending, position K (n - 1), lerp between the neighbours
// with torch's formula (w < 0.5: lo + w (hi - lo); else hi - (hi - lo)(1 - w)).
// `sorted` holds n doubles of scratch (insertion sort: groups are small).
ADVLAB_HD inline double GroupQuantile(const double* x, int n, double q, double* sorted) {
  for (int i = 0; i < n; ++i) {
    const double v = x[i];
    int j = i;
    while (j > 0 && sorted[j - 1] > v) {
      sorted[j] = sorted[j - 1];
      --j;
    }
    sorted[j] = v;
  }
  const double pos = q * static_cast<double>(n - 1);
  int lo = static_cast<int>(pos);
  if (lo > n - 1) lo = n - 1;
  const int hi = lo + 1 < n ? lo + 1 : n - 1;
  const double w = pos - static_cast<double>(lo);
  const double a = sorted[lo], b = sorted[hi];
  return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
}

// One group: b = the K-quantile (n <= 1: b = 0 and std 1, verl's singleton
// rule), A_i = (R_i - b) / (unbiased std + 1e-6) with by_std, else R_i - b.
// Returns b. adv may not alias reward; `sorted` as GroupQuantile.
ADVLAB_HD inline double QaeGroup(const double* reward, int n, double q, bool by_std,
                                 double* sorted, double* adv) {
  if (n <= 0) return 0.0;
  double b = 0.0, denom = 1.0;
  if (n > 1) {
    b = GroupQuantile(reward, n, q, sorted);
    if (by_std) denom = GroupUnbiasedStd(reward, n, GroupMean(reward, n)) + kPasskEpsilon;
  } else if (by_std) {
    denom = 1.0 + kPasskEpsilon;
  }
  for (int i = 0; i < n; ++i) adv[i] = by_std ? (reward[i] - b) / denom : reward[i] - b;
  return b;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_PASSK_STEP_H_
