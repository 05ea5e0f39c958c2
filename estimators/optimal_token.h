// optimal_token: verl's Optimal Token Baseline (OTB), a per-token baseline.
//
//   per group (the G rollouts of one prompt) and token position t (0-based
//   from the start of the response), over the rollouts i that reach t:
//     w_i,j = 1 - 2 pi(a_j | s_j) + sum_a pi(a | s_j)^2     (|grad_logits log pi(a_j)|^2)
//     W_i,t = sum_{j <= t} w_i,j                            (cumulative "realized energy")
//     B_t   = sum_i G_i,t W_i,t / (sum_i W_i,t + 1e-8)
//     A_i,t = G_i,t - B_t            -> batch->token_advantage
//   G_i,t the reward-to-go (the outcome, plus the per-token KL rewards after t
//   when kl.where = reward, as gae splits them).
//
// Citation: verl core_algos.py compute_optimal_token_baseline_advantage at
// b178a3cd (docs/algo/otb.md; arXiv 2602.07078). verl groups by
// non_tensor_batch["uid"], one uid per prompt, so a group is the G responses
// of a prompt, and sums position by position with the response mask (a
// rollout shorter than t takes no part in B_t). pi_j there is
// exp(old_log_probs) and sum pi^2 comes from the actor's logits; here both
// come from the bound sampling policy's distribution at the token's state
// (the same numbers, no exp). No rollout importance weights (advlab samples
// on-policy), no handle_zero_tail (verl's default False).
//
// B_t is the per-token version of the optimal baseline (estimators/
// optimal_baseline.h) estimated from the batch, with the path weight W_t
// standing for |grad log pi(prefix)|^2 (exact for a tabular policy whose
// prefix states are distinct: think, choice; chain may revisit a state).
//
// Deviation from verl: a position where every reaching rollout has the same
// G gets B_t = G exactly (verl's epsilon leaves G eps / sum W, ~1e-9), so an
// all-equal group has advantage exactly 0 like every group estimator here.
// Not shift-invariant to 1e-12 elsewhere (the epsilon). Singletons: B = 0,
// A = G (verl). needs_task = true: it reads the policy's distributions (so it
// does not run on bare rewards). batch->advantage[r] = the first token's
// advantage; batch->baseline[r] = B_0 of its group (reward units).
#ifndef ADVLAB_ESTIMATORS_OPTIMAL_TOKEN_H_
#define ADVLAB_ESTIMATORS_OPTIMAL_TOKEN_H_

#include <vector>

#include "sim/estimator.h"

namespace advlab {

class OptimalTokenEstimator : public Estimator {
 public:
  void Bind(const EstimatorContext& context) override { context_ = context; }
  void Compute(Batch* batch) override;

 private:
  EstimatorContext context_;
  std::vector<double> returns_;  // [tokens] scratch
  std::vector<double> weights_;  // [tokens] scratch
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_OPTIMAL_TOKEN_H_
