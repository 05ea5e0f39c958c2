// bnpo: Beta Normalization Policy Optimization (Xiao et al., arXiv 2506.02864;
// code changyi7231/BNPO, recipe/bnpo/src/bnpo_ray_trainer.py
// compute_bnpo_outcome_advantage, read at a9c51b9).
//
//   per group g: p_g = mean(R_g) (0 for a singleton)
//   over the batch's group means: mu = mean(p), var = unbiased var(p)
//     (one group: mu = 0, var = 1)
//   a = (mu (1 - mu) / var - 1) mu,   b = (mu (1 - mu) / var - 1) (1 - mu)
//   alpha = max(1, 1 + a/3),          beta = max(1, 1 + b/3)
//   A_i = w_g (R_i - p_g),  w_g = min(1 / Beta_pdf(p_g; alpha, beta), 1e6)
//
// Verified in the released code (zoo.md marked the fit unchecked): the shape
// parameters are the method-of-moments Beta fit of the group means (a, b),
// shrunk as 1 + a/3 and floored at 1; the normaliser is the density itself,
// torch.distributions.Beta(alpha, beta).log_prob(p).exp(), inverted and clamped
// to [0, 1e6]; the group statistics are per uid (one entry per GROUP, so a
// prompt twice in a batch counts twice); rewards are first mapped by (R - min)
// / (max - min) with min = 0, max = 1 (the identity; not exposed here); the
// code asserts 0 <= p <= 1. Quirks kept: a singleton's p is 0, so its weight is
// 1/pdf(0) = 1e6 whenever alpha > 1 (A = 1e6 R); any p in {0, 1} with the
// matching shape > 1 has pdf 0 and weight 1e6, harmless for binary rewards
// (R - p = 0 there). Deviations: p outside [0, 1] (non-binary rewards on bare
// input) gets pdf 0, weight 1e6, instead of the code's assertion; all group
// means equal (var = 0, where torch gives NaN) gives alpha = beta = 1 (weight 1,
// Dr. GRPO). The Beta function is an in-house deterministic log-gamma
// (bnpo_step.h), never std::lgamma.
//
// All-correct / all-wrong groups: R - p = 0 exactly for 0/1 rewards, so A = 0
// (the weight is finite, <= 1e6). Singletons: see above. needs_groups = true.
// Not shift-invariant: the fit and the density read the group means'
// absolute values. batch->baseline[r] = p_g. Stateless (scratch: the group
// means, kept in the object so a warm step allocates nothing).
#ifndef ADVLAB_ESTIMATORS_BNPO_H_
#define ADVLAB_ESTIMATORS_BNPO_H_

#include <vector>

#include "estimators/bnpo_step.h"
#include "sim/estimator.h"

namespace advlab {

class BnpoEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override;

 private:
  std::vector<double> p_;  // [groups] scratch: the group means
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_BNPO_H_
