// pkpo: Pass-at-k Policy Optimization's unbiased reward transformation.
//
//   per group of n rollouts, k = estimator.passk_k, over the C(n, k) size-k
//   subsets S of the group (max over the empty set = 0):
//     none:          A_i = (1/C(n,k)) sum_{S containing i} max_{j in S} R_j
//     loo_minus_one: A_i = (1/C(n,k)) sum_{S containing i} (max_S R - max_{S \ i} R)
//   (estimator.pkpo_baseline, default loo_minus_one). For 0/1 rewards, c right:
//     none:          A = k/n if right, (k/n) (1 - C(n-c-1, k-1)/C(n-1, k-1)) if wrong
//     loo_minus_one: A = C(n-c, k-1)/C(n, k) if right, 0 if wrong
//
// Citation: Walder & Karkhanis (2025), "Pass@K Policy Optimization: Solving
// Harder Reinforcement Learning Problems", arXiv 2505.15201: the binary
// estimator (r_i = k/n, (k/n) rho(n-1, c, k-1)) and the continuous maxg@k one
// (s_i, their Eq. 19) are the `none` variant; the variance-reduced s^(loo-1)
// (their Eq. 33, a leave-one-out baseline built from the k-1 OTHER members
// of each subset, the paper's recommended estimator) is `loo_minus_one`. Read
// from the paper's summaries and a public re-implementation (pkpo_weights /
// sloo_weights by subset enumeration, PACEvolve++); no official code was found.
// We evaluate the subset sums in closed form by ranks (O(n^2) per group,
// estimators/passk_step.h) and test them against enumeration.
//
// Both variants are UNBIASED: E[sum_i A_i grad log pi(y_i)] = grad pass@k
// (maxg@k for real rewards) exactly, because each subset contributes the
// score-function estimator of grad E[max_S R] and max_{S \ i} does not depend
// on y_i (passk_test.cc checks it by exact enumeration). The subsets make the
// k-1 other rollouts the "competition": a right answer is worth most when few
// others are right; with loo_minus_one a wrong answer is never pushed down.
//
// k must not exceed the group size (planning refuses; the step clamps k to n
// for a stray smaller group). Shift: `none` is not shift-invariant (a shift c
// adds c k/n to every A); loo_minus_one is, for k >= 2. All-equal groups:
// loo_minus_one gives 0 exactly; `none` gives R k/n (0 for all-wrong 0/1
// groups, k/n for all-right ones). Singletons: k = 1, A = R (none) or R
// (loo_minus_one with max of the empty set = 0). No baseline is written.
#ifndef ADVLAB_ESTIMATORS_PKPO_H_
#define ADVLAB_ESTIMATORS_PKPO_H_

#include <cstdint>
#include <vector>

#include "sim/estimator.h"

namespace advlab {

class PkpoEstimator : public Estimator {
 public:
  explicit PkpoEstimator(int k = 4, bool loo_minus_one = true)
      : k_(k), loo_minus_one_(loo_minus_one) {}
  void Bind(const EstimatorContext& context) override;
  void Compute(Batch* batch) override;

 private:
  int k_;
  bool loo_minus_one_;
  std::vector<int32_t> rank_;  // scratch, grown to the largest group
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_PKPO_H_
