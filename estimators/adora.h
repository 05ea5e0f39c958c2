// adora: Advantage Dynamics via Online Rollout Adaptation (Ren et al., arXiv
// 2602.10019; blog Mar 2025; code ShadeCloak/ADORA). papers.md §1.
//
// A per-prompt weight, recomputed from each step's fresh rollouts, multiplies the
// base estimator's advantages of the group: A_i <- w_s A_i. A prompt is a
// temporarily advantageous sample (TAS) or a disadvantageous one (TDS):
//   length criterion      TAS iff max_{i correct} L_i > mean_{j wrong, not truncated} L_j
//   difficulty criterion  TAS iff (1/G) sum_i c_i <= tau            (tau = 0.5)
//   both                  TAS iff both hold
// and the weight is, by mode:
//   attenuate  w = 1 (TAS), lambda (TDS)     (lambda = 0.1; the VLM / blog version)
//   amplify    w = weight (TAS), 1 (TDS)     (weight = 2.0; the paper's LLM version)
// Keys: estimator.adora_criterion (length | difficulty | both, default
// difficulty), estimator.adora_mode (attenuate | amplify, default amplify),
// estimator.adora_tau, estimator.adora_lambda, estimator.adora_weight,
// estimator.adora_variant (paper | code).
//
// "Correct" is what the trainer sees: observed reward > 0.5 (with verifier noise,
// not the truth). Empty sets under the length criterion:
//   paper variant: no correct rollout -> TAS (weight unchanged; with binary
//     rewards such a group has zero advantage anyway); no wrong non-truncated
//     rollout -> TAS.
//   code variant (ADORA/verl core_algos.py compute_grpo_outcome_advantage_ADORA):
//     an empty set is -inf, so no correct rollout -> TDS (attenuated) and no wrong
//     one -> TAS. It matters when rewards carry partial credit or noise.
// A weight constant within a group keeps its advantages' sum, so a group-mean
// baseline stays valid: the update is the gradient of the reweighted objective
// sum_s w_s J_s. Under Adam a uniform rescaling does nothing; only the relative
// weighting of TAS and TDS prompts matters (papers.md §1.6). The share of TAS
// prompts is logged (metric tas_frac), with the mean weight applied
// (adora_weight) and the share of mixed groups — some rollout correct, some
// wrong, as ADORA sees them — judged TAS (tas_mixed_frac): a group with no
// correct rollout is TAS under the paper variant whatever its lengths, so
// tas_frac counts the uninformative all-wrong groups too.
#ifndef ADVLAB_ESTIMATORS_ADORA_H_
#define ADVLAB_ESTIMATORS_ADORA_H_

#include "estimators/adora_step.h"
#include "sim/estimator.h"

namespace advlab {

class AdoraModifier : public Modifier {
 public:
  AdoraModifier() = default;
  explicit AdoraModifier(const AdoraOptions& options) : options_(options) {}
  // Reads the estimator.adora_* keys when a config is bound.
  void Bind(const EstimatorContext& context) override;
  void Apply(Batch* batch) override;
  // The groups the last Apply judged, how many of them TAS (tas_frac), the
  // weights applied (adora_weight) and the mixed groups (tas_mixed_frac).
  void AddStats(StepStats* stats) const override;
  // Whether group g of the batch is temporarily advantageous.
  bool IsTas(const Batch& batch, int g) const;

 private:
  AdoraOptions options_;
  int64_t tas_groups_ = 0, judged_groups_ = 0;  // of the last Apply
  double weight_sum_ = 0.0;                      // sum over its groups of w_s
  int64_t mixed_groups_ = 0, tas_mixed_groups_ = 0;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_ADORA_H_
