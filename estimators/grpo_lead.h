// grpo_lead: GRPO-LEAD's difficulty-aware advantage reweighting (Zhang & Zuo,
// arXiv 2504.09696; zoo.md "Weights"), a modifier:
//
//   w(x) = 0.4 + 1.1 / (1 + e^{10 (x - 0.75)})    (logistic from 1.5 down to 0.4)
//   A_i <- w(rho) A_i     if A_i > 0,   rho = the group's accuracy
//   A_i <- w(1 - rho) A_i if A_i < 0
//
// rho = #{R_i > 0.5} / G, the accuracy the trainer observes (verifier noise
// included, as adora's "correct"). Hard prompts (low rho) amplify their rare
// correct answers (w(rho) -> 1.5) and damp the penalties of their wrong ones
// (w(1 - rho) -> 0.4); easy prompts the reverse. The paper writes the weight
// with A = 0.4, B = 1.5, k = 10, rho_0 = 0.75 and applies it by the sign of the
// normalised advantage as above (zoo.md; the paper's other parts — the
// length-dependent accuracy reward and the explicit penalty on wrong answers —
// are rewards, not advantages, and are not here). A == 0 stays 0, so
// all-equal binary groups stay exactly 0 under a group base. Token-level
// advantages (gae) are scaled by their own sign. needs_groups = true.
// Stateless.
#ifndef ADVLAB_ESTIMATORS_GRPO_LEAD_H_
#define ADVLAB_ESTIMATORS_GRPO_LEAD_H_

#include "sim/estimator.h"

namespace advlab {

class GrpoLeadModifier : public Modifier {
 public:
  void Apply(Batch* batch) override;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GRPO_LEAD_H_
