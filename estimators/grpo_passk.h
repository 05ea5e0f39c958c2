// grpo_passk: only the best response of each group learns.
//
//   per group of n >= 2 rollouts: i* = argmax_i R_i (the lowest index among
//   the maxima), r_max = R_i*, r_2 = the largest R_j over j != i*
//     A_i* = (r_max - r_2) / (unbiased std(R) + 1e-6)   (norm_by_std, default)
//     A_i* =  r_max - r_2                               (estimator.passk_norm_by_std = false)
//     A_i  = 0 for every i != i*
//
// Citations: verl core_algos.py compute_grpo_passk_outcome_advantage at
// b178a3cd ("Implemented as described in arXiv 2503.19595"); the std switch is
// verl's norm_adv_by_std_in_grpo (default True), here estimator.passk_norm_by_std
// (default true), shared with `passk`. The idea: with pass@k as the target only
// the best of the group matters, so only it is pushed, by its margin over the
// runner-up.
//
// Quirks of the reference: verl takes torch.topk(rewards, 2), whose order among
// ties is unspecified; the winner of a tie for the maximum gets r_max - r_2 = 0,
// so every rollout gets 0 and the tie-break cannot change a value (we take the
// lowest index). With 0/1 rewards a group has signal only when EXACTLY ONE
// rollout is right: two or more correct give r_max = r_2 = 1 and all zeros, so
// easy prompts stop learning early. verl raises ValueError for a group of one;
// here training refuses train.group_size < 2 (needs_groups) and `advlab
// advantage` refuses a singleton group at planning (group_refusal). We compute
// in double (verl in float32).
//
// All-equal groups: r_max = r_2, A = 0 exactly. Baseline written to
// batch->baseline: r_2 for every rollout of the group (the value the best one
// was compared with; the others get 0 by rule, not by comparison).
#ifndef ADVLAB_ESTIMATORS_GRPO_PASSK_H_
#define ADVLAB_ESTIMATORS_GRPO_PASSK_H_

#include "sim/estimator.h"

namespace advlab {

class GrpoPasskEstimator : public Estimator {
 public:
  explicit GrpoPasskEstimator(bool norm_by_std = true) : norm_by_std_(norm_by_std) {}
  void Bind(const EstimatorContext& context) override;
  void Compute(Batch* batch) override;

 private:
  bool norm_by_std_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GRPO_PASSK_H_
