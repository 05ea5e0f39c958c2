// passk: the analytical pass@k advantage (Pass@k Training).
//
//   per group of n rollouts, c = #{R_i == 1}, k = estimator.passk_k:
//     rho   = 1 - C(n-c, k) / C(n, k)          (the unbiased pass@k estimate of the group)
//     sigma = sqrt(rho (1 - rho))
//     A(R_i == 1) = (1 - rho) / (sigma + 1e-6)
//     A(R_i == 0) = (1 - rho - C(n-c-1, k-1) / C(n-1, k-1)) / (sigma + 1e-6)
//   estimator.passk_norm_by_std = false: no division (and no epsilon).
//
// Citation: Chen et al. (2025), "Pass@k Training for Adaptively Balancing
// Exploration and Exploitation of Large Reasoning Models", arXiv 2508.10751;
// code RUCAIBox/Passk_Training code/passk_adv.py (calc_adv). It is the
// expectation, over the size-k subsets of the group, of GRPO's advantage with
// the subset's max reward as the reward (the paper's "analytical derivation").
//
// k: estimator.passk_k (default 4, shared with pkpo; the paper sweeps k, we
// take its commonest k = 4 and say so — not pinned against a config file). It
// must not exceed the group size: planning refuses it (train.group_size, or
// each group of `advlab advantage`); the step clamps k to n for a stray
// smaller group (conformance batches) so nothing turns NaN.
//
// Quirks of the reference code, kept: c counts rewards EXACTLY equal to 1,
// rewards exactly 0 get A(wrong), and any other reward (noisy or KL-shaped)
// passes through UNCHANGED as its own advantage (np.where chain); sigma gets
// + 1e-6, so rho in {0, 1} gives 0 / 1e-6 = 0. Binomial ratios are exact
// products here (scipy divides two comb values): the last bits may differ.
//
// Expected update: (sigma A) = (n/k) r_pkpo - rho, where r_pkpo is PKPO's
// unbiased transformation (estimators/pkpo.h) and rho is itself an unbiased
// estimate of pass@k, so E[sum_i sigma A_i grad log pi(y_i)] = (n/k - 1)
// grad pass@k EXACTLY (passk_test.cc): without the std division passk points
// along the pass@k gradient, with weight (n - k)/k (none at k = n). The
// division by the data-dependent sigma breaks that proportionality across
// prompts (passk_test.cc measures by how much).
//
// All-correct groups: rho = 1, sigma = 0, A = 0 exactly; all-wrong: rho = 0,
// the ratio is 1, A = 0 exactly; groups with fewer than k wrong rollouts: rho
// = 1, A = 0. Singletons (k = 1 after the clamp): A = 0 for 0/1 rewards.
// No baseline is written (batch->baseline empty): the advantage is a reward
// transformation, not R minus one value.
#ifndef ADVLAB_ESTIMATORS_PASSK_H_
#define ADVLAB_ESTIMATORS_PASSK_H_

#include <string>

#include "sim/estimator.h"

namespace advlab {

class PasskEstimator : public Estimator {
 public:
  static constexpr int kDefaultK = 4;
  explicit PasskEstimator(int k = kDefaultK, bool norm_by_std = true)
      : k_(k), norm_by_std_(norm_by_std) {}
  void Bind(const EstimatorContext& context) override;
  void Compute(Batch* batch) override;

 private:
  int k_;
  bool norm_by_std_;
};

// The refusal of passk and pkpo for groups of n rollouts: k > n (names the key).
std::string PasskGroupRefusal(const std::string& estimator, const Config* config, int n);

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_PASSK_H_
