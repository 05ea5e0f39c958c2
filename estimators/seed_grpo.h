// seed_grpo: Semantic-Entropy-EnhanceD GRPO's advantage modulation (Chen et
// al., arXiv 2505.12346; zoo.md "Weights"), a modifier:
//
//   A_i <- A_i * f(alpha * SE(q) / SE_max(q)),   f(x) = 1 - x (the linear f)
//
// SE(q) is the semantic entropy of the prompt's answers. The paper estimates it
// from the group's G responses clustered by meaning; here it is EXACT: the
// entropy of the final answer's distribution under the current (sampling)
// policy, Task::AnswerEntropy (choice: the one decision; think: the answer
// marginalised over the thinking lengths, "no answer" for a truncated response
// one more class), and SE_max = log(num_actions()) (the number of answer
// classes: choice K, think K + 1) — the paper's SE_max is log G, the most a
// group of G can show; with the exact distribution the number of classes is
// the bound. alpha = estimator.seed_grpo_alpha, default 0.02 — UNVERIFIED
// against the paper (its text was not reachable from this machine; the linear
// f is the paper's main choice as summarised in public reviews). High
// uncertainty -> smaller updates; SE = 0 leaves A unchanged.
//
// chain is refused (its response is a whole token sequence; AnswerEntropy is
// NaN there). Needs the task and the policy: `advlab advantage` refuses it
// (ModifierEntry::needs_task). All-equal groups and singletons: whatever the
// base gave, scaled. Token-level advantages (gae) are scaled too.
// Stateless across steps.
#ifndef ADVLAB_ESTIMATORS_SEED_GRPO_H_
#define ADVLAB_ESTIMATORS_SEED_GRPO_H_

#include "sim/estimator.h"

namespace advlab {

class SeedGrpoModifier : public Modifier {
 public:
  static constexpr double kDefaultAlpha = 0.02;
  SeedGrpoModifier() = default;
  explicit SeedGrpoModifier(double alpha) : alpha_(alpha) {}
  void Bind(const EstimatorContext& context) override;
  void Apply(Batch* batch) override;

 private:
  double alpha_ = kDefaultAlpha;
  EstimatorContext context_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_SEED_GRPO_H_
