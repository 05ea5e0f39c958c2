// rloo: REINFORCE Leave-One-Out, the mean of the OTHER rollouts as the baseline.
//
//   per group g of size G:  G > 1:  A_i = R_i - (1/(G-1)) sum_{j != i} R_j
//                                       = G/(G-1) * (R_i - mean(R_g))
//                           G == 1: A_i = R_i   (raw reward passes through)
//
// Citations: Kool, van Hoof & Welling (2019), "Buy 4 REINFORCE Samples, Get a
// Baseline for Free!" (ICLR DeepRL workshop); Ahmadian et al. (2024), "Back to
// Basics: Revisiting REINFORCE Style Optimization for Learning from Human
// Feedback in LLMs", arXiv 2402.14740. Code: verl core_algos.py
// compute_rloo_outcome_advantage (`rloo`, NOT `rloo_vectorized`, which zeroes
// singletons) at b178a3cd; estimators.md §2.5.
//
// Formula as computed: A_i = (R_i - mean) * (G/(G-1)), one rounding of the
// Dr. GRPO value. verl writes R_i*G/(G-1) - mean*G/(G-1); the leave-one-out form
// and both scaled forms agree to ~3e-16 on rewards in [0,1] and all reproduce
// §12.1/§12.5 to 6 d.p. This one was picked because A_i is 0.0 exactly iff
// R_i == mean (the same zero set and signs as grpo/dr_grpo), the §11.1 identity
// A_drgrpo = (G-1)/G * A_rloo then holds to an ulp, and group [1,0,0,1] gives
// exactly symmetric +-2/3 (the literal leave-one-out form does not).
//
// All-correct / all-wrong groups: R_i == mean exactly for 0/1 rewards, so A = 0.0
// exactly, with no special case. Singletons: A = R (verl `rloo`), so a lone
// rollout gets a baseline-free REINFORCE push. No std normalisation and no
// epsilon. Unbiased (the baseline is independent of y_i, §11.1), and = G/(G-1)
// times dr_grpo. needs_groups = true.
#ifndef ADVLAB_ESTIMATORS_RLOO_H_
#define ADVLAB_ESTIMATORS_RLOO_H_

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class RlooEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_RLOO_H_
