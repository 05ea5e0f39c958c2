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
// estimator.adora_variant (paper | code), estimator.adora_labels (dynamic |
// static).
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
//
// Labels (papers.md §4.1 A4, the "temporarily" claim): dynamic (the default)
// judges each group from its own rollouts as above. static fixes each prompt's
// label once, at Bind (the policy is pi_0, the task at step 0): with the
// difficulty criterion, TAS iff the initial policy's expected observed success
// rate q0 = fp + (1 - fp - fn) p0 <= tau, p0 the task oracle's exact success
// probability (q0 = p0 without verifier noise). It is an idealised static
// labelling -- the limit of judging each prompt once with infinitely many
// rollouts at initialisation, charged no rollouts -- so an upper bound on what
// a sampled static labelling could do. Labels stay what they were at step 0
// through drift (answer re-randomisation, a curriculum): that is the point.
// The length criterion has no such exact cheap analogue: static with criterion
// length or both is refused at planning.
//
// Label flips (metric adora_flip_frac): the modifier remembers, per prompt id,
// the label it last gave the prompt; a group whose prompt was judged before
// is re-judged, and flipped when its label differs from that one (groups in
// batch order, so a prompt twice in a batch is compared with its earlier
// group). Static labels never flip (0 by construction). The memory is state
// across steps: Clone copies it. Unbound (no task: `advlab advantage`) nothing
// is remembered and Clone returns nullptr, as before.
#ifndef ADVLAB_ESTIMATORS_ADORA_H_
#define ADVLAB_ESTIMATORS_ADORA_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "estimators/adora_step.h"
#include "sim/estimator.h"

namespace advlab {

class AdoraModifier : public Modifier {
 public:
  AdoraModifier() = default;
  explicit AdoraModifier(const AdoraOptions& options) : options_(options) {}
  // Remembers labels of prompt ids [0, num_prompts) (tests; training sizes the
  // memory from the task at Bind). With options.labels = static, `static_tas`
  // gives each prompt's fixed label (num_prompts of them).
  AdoraModifier(const AdoraOptions& options, int32_t num_prompts,
                std::vector<uint8_t> static_tas = {});
  // Reads the estimator.adora_* keys when a config is bound; with a task, sizes
  // the label memory and, under labels = static, computes the fixed labels
  // from the bound (initial) policy.
  void Bind(const EstimatorContext& context) override;
  void Apply(Batch* batch) override;
  // The groups the last Apply judged, how many of them TAS (tas_frac), the
  // weights applied (adora_weight), the mixed groups (tas_mixed_frac) and the
  // re-judged and flipped ones (adora_flip_frac).
  void AddStats(StepStats* stats) const override;
  // A copy with the label memory; nullptr when nothing is remembered (unbound).
  std::unique_ptr<Modifier> Clone() const override;
  // Whether group g of the batch is temporarily advantageous (its own
  // rollouts' judgement, whatever options.labels says).
  bool IsTas(const Batch& batch, int g) const;
  // The label prompt p was last given: -1 never judged, 0 TDS, 1 TAS.
  int LastLabel(int32_t prompt) const { return last_label_[prompt]; }
  // labels = static: the fixed labels (1 TAS), by prompt id; empty otherwise.
  const std::vector<uint8_t>& static_labels() const { return static_tas_; }

 private:
  AdoraOptions options_;
  std::vector<int8_t> last_label_;   // [num_prompts], -1 never judged
  std::vector<uint8_t> static_tas_;  // [num_prompts] under labels = static
  int64_t rejudged_groups_ = 0, flipped_groups_ = 0;  // of the last Apply
  int64_t tas_groups_ = 0, judged_groups_ = 0;  // of the last Apply
  double weight_sum_ = 0.0;                      // sum over its groups of w_s
  int64_t mixed_groups_ = 0, tas_mixed_groups_ = 0;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_ADORA_H_
