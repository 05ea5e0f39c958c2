// opo: On-Policy RL with Optimal reward baseline, a length-weighted group mean.
//
//   per group g of size G, with L_j the length of rollout j in tokens:
//     G  > 1:  b_g = sum_{j in g} L_j R_j / sum_{j in g} L_j
//     G == 1:  b_g = 0
//   A_i = R_i - b_g                       (no std normalisation, no epsilon)
//
// Citation: Hao et al. (2025), "On-Policy RL with Optimal Reward Baseline",
// arXiv 2505.23585. Code: verl core_algos.py compute_opo_outcome_advantage at
// b178a3cd; estimators.md §2.6. Why length-weighted: the variance-minimising
// constant baseline is b* = E[R ||s||^2] / E[||s||^2] (s = grad log pi(y)); if
// per-token scores are roughly orthogonal with similar norms, ||s||^2 ~ |y|, so
// b* ~ E[R |y|] / E[|y|] (§11.4).
//
// Sums in index order, in double: sum L_j R_j and sum L_j, then one division.
// With equal lengths it is Dr. GRPO (sum L R / sum L = L sum R / (G L); the
// rounding can differ from sum R / G by an ulp for non-dyadic rewards).
//
// All-correct / all-wrong groups: b = sum L_j c / sum L_j = c exactly for 0/1
// rewards (sum L_j is an exact integer and sum L_j * 1 is the same integer), so
// A = 0.0 exactly, with no special case. Singletons: b = 0, the raw reward passes
// through (as verl grpo / rloo). Known biases: the baseline includes the sample
// itself (the §11.1 kind of shrinkage, here weighted by L_i / sum L), and b*
// minimises variance only under the ||s||^2 ~ |y| assumption; a leave-one-out
// weighted baseline would be unbiased. needs_groups = true.
#ifndef ADVLAB_ESTIMATORS_OPO_H_
#define ADVLAB_ESTIMATORS_OPO_H_

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class OpoEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_OPO_H_
