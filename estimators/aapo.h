// aapo: Advantage-Augmented Policy Optimization (Xiong et al., arXiv 2505.14264,
// "advantage momentum" v1/v2, "advantage margin" v3 / ACL 2026; code
// JianxXiong/AAPO AAPOTrainer.py). papers.md §2.
//
// Besides the G policy rollouts, SampleExtra asks the sampler for G rollouts per
// prompt from the frozen initial policy (the reference) and keeps their observed
// rewards r~_i, index-aligned with the policy's (in training the loop draws
// them; `advlab advantage` reads them from --reference). Then
//   A_i <- A_i + clip(delta_i, -low, +high)
//   pairwise  delta_i = r_i - r~_i               (the released code's elementwise
//                                                 pairing; the default)
//   ref_mean  delta_i = r_i - mean_j r~_j        (the group's reference mean: the
//                                                 other reading of v3's "margin")
// low = 0.2, high = 0.28 (the code's torch.clamp(., -0.2, 0.28), DAPO's clip-higher
// values reused on a reward gap). Keys: estimator.aapo_pairing (pairwise |
// ref_mean), estimator.aapo_low, estimator.aapo_high (each in [0, 10]; 10 is "no
// clip" for rewards in [0, 1], the paper's ablation). The term is added to every
// token of a rollout as well when the base estimator is token-level
// (batch->token_advantage). Rollouts a filter dropped before (kept = 0) keep A = 0.
//
// All-equal groups are not zero: an all-correct group whose reference fails
// gets +0.28 on every rollout, an all-wrong group whose reference succeeds gets
// -0.2; only when policy and reference agree is the term 0.
//
// Bias (papers.md §2.7, binary rewards, reference success rate p_ref):
//   E[m_i | r_i = 1] = 0.28 (1 - p_ref),  E[m_i | r_i = 0] = -0.2 p_ref, so
//   m_i ~ a r_i + b with a = 0.28 (1 - p_ref) + 0.2 p_ref in [0.2, 0.28], b = -0.2 p_ref:
// AAPO ~ base + 0.2-0.28 x un-normalised REINFORCE (b multiplies grad log pi,
// zero in expectation), plus the variance of the random pairing. ref_mean has
// no pairing noise and the same mean only without clipping (bounds >= 1): with
// the defaults its margin saturates, min(0.28, 1 - p^_ref) on correct and
// -min(0.2, p^_ref) on wrong rollouts (p^_ref the group's reference success
// rate), i.e. a = 0.48 for p^_ref in [0.2, 0.72]. It sharpens all-correct
// groups (entropy falls) and pushes failures down where the reference succeeds
// (anti-forgetting); it cannot help on prompts neither policy solves.
// Cost: 2x sampling per step (the reference rollouts count in sim_cost); compare
// with grpo at 2G for equal compute. estimator.aapo_reference = cached
// (sim/sample_batch.cc) draws a prompt's reference rollouts once, keyed by the
// prompt, reuses the tokens (re-scored under the current answers) and charges
// them once.
// Not reproduced: the open-rs trainer's bug that scores the prompt slice
// (prompt_ref_completion_ids[:, :prompt_length]) as the reference completion,
// and its vLLM path that samples the "reference" from the current policy.
// needs_groups = false (pairwise works at G = 1); needs_reference = true.
#ifndef ADVLAB_ESTIMATORS_AAPO_H_
#define ADVLAB_ESTIMATORS_AAPO_H_

#include <vector>

#include "estimators/aapo_step.h"
#include "sim/estimator.h"

namespace advlab {

class AapoModifier : public Modifier {
 public:
  AapoModifier() = default;
  explicit AapoModifier(const AapoOptions& options) : options_(options) {}
  // Reads the estimator.aapo_* keys when a config is bound.
  void Bind(const EstimatorContext& context) override;
  // Draws the reference rewards of `batch` (one per rollout).
  void SampleExtra(Sampler* sampler, const Batch& batch) override;
  // The reference rewards must be one per rollout: planning guarantees it (the
  // loop draws G per prompt; `advlab advantage` requires --reference with the
  // stdin's layout); checked. The step: AapoGroup (estimators/aapo_step.h).
  void Apply(Batch* batch) override;

 private:
  AapoOptions options_;
  std::vector<double> ref_reward_;  // [rollouts] of the last SampleExtra
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_AAPO_H_
