// qae: Quantile Advantage Estimation — the group's K-quantile as the baseline.
//
//   per group of n >= 2 rollouts, K = estimator.qae_quantile (default 0.4):
//     b   = torch.quantile(R, K)   (linear interpolation at position K (n - 1))
//     A_i = (R_i - b) / (unbiased std(R) + 1e-6)     (estimator.qae_norm_by_std, default)
//     A_i =  R_i - b                                  (estimator.qae_norm_by_std = false)
//
// Citation: Wu et al. (2025), "Quantile Advantage Estimation for Entropy-Safe
// Reasoning", arXiv 2509.22611; code junkangwu/QAE, a one-line change to
// verl's compute_grpo_outcome_advantage: id2mean = torch.quantile(scores,
// quantile_k) when 0 < quantile_k < 1, run with ++algorithm.quantile_k=0.4 in
// the DAPO recipe. The std division is that recipe's (verl GRPO with
// norm_adv_by_std_in_grpo = True): the paper writes A = R - b, its code divides
// by the group std; estimator.qae_norm_by_std = false gives the paper's form.
//
// Behaviour (0/1 rewards, p = the group's success rate): with the quantile in
// the zeros (hard prompts, p <= 1 - K roughly) b = 0 and only the rare
// successes get a (positive) advantage, the failures exactly 0; with it in the
// ones (easy prompts) b = 1 and only the remaining failures are pushed down.
// Between, torch's interpolation gives a b strictly inside (0, 1) (e.g. n = 8,
// K = 0.4, three wrong: position 2.8, b = 0.8) and both sides move. The paper
// reports that with a tuned K about 80% of responses get zero advantage; the
// asymmetry is the point: hard prompts are never pushed down (no entropy
// explosion from negative advantages), easy ones never pushed up (no
// collapse).
//
// All-equal groups: b = R, A = 0 exactly. Singletons: verl's rule, b = 0 and
// std 1 (A = R / (1 + 1e-6), or R). Shift-invariant up to rounding. The
// baseline b (reward units) is written to batch->baseline. We compute in
// double (torch in the rewards' float32, position too).
#ifndef ADVLAB_ESTIMATORS_QAE_H_
#define ADVLAB_ESTIMATORS_QAE_H_

#include <vector>

#include "sim/estimator.h"

namespace advlab {

class QaeEstimator : public Estimator {
 public:
  static constexpr double kDefaultQuantile = 0.4;
  explicit QaeEstimator(double quantile = kDefaultQuantile, bool norm_by_std = true)
      : quantile_(quantile), norm_by_std_(norm_by_std) {}
  void Bind(const EstimatorContext& context) override;
  void Compute(Batch* batch) override;

 private:
  double quantile_;
  bool norm_by_std_;
  std::vector<double> sorted_;  // scratch, grown to the largest group
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_QAE_H_
