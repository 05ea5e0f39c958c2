// optimal: the variance-minimising per-prompt baseline, exact from the oracle.
//
//   A_i = R_i - b*(q),   b*(q) = E[R |g(y)|^2] / E[|g(y)|^2],   y ~ pi(.|q)
//
// g(y) = grad log pi(y|q) with respect to the per-state logits (a tabular
// policy's parameters), R's expectation given y = fp + (1 - fp - fn)
// correct(y) (verifier noise). For one softmax decision |grad_z log pi(a)|^2 =
// 1 - 2 pi_a + sum_b pi_b^2. Among constant baselines b* minimises the second
// moment E[(R - b)^2 |g|^2] of the single-rollout estimate (R - b) g(y), hence
// its variance (E[(R - b) g] does not depend on b). It weights the rewards
// by how loud each response's score is: responses with large |g|^2 (unlikely
// ones) pull b* towards their reward. With equal score norms it is the oracle
// baseline E[R] (estimators/oracle.h).
//
// Citations: Greensmith, Bartlett & Baxter (2004), "Variance reduction
// techniques for gradient estimates in RL", JMLR 5 (the optimal constant
// baseline); Weaver & Tao (2001); the per-token version in verl is
// optimal_token (estimators/optimal_token.h, arXiv 2602.07078).
//
// Exact per family (Task::OptimalBaseline, brute-force checked in
// tests/optimal_baseline_test.cc): choice (one decision, closed form); think (a
// response's states (p, 0..t) are distinct, O(L K)); chain: a response's
// states (op_t, v_{t-1}) CAN repeat (an operation used twice with equal
// previous values), the pairs' cross terms are kept (DPs over values,
// O(n^2 m^3) per prompt). For the MLP policy the same quantity is the
// logit-gradient proxy (verl's), not the parameter-gradient norm. A
// deterministic policy (E|g|^2 = 0) falls back to the expected reward.
//
// needs_task = true (the oracle; refused on bare rewards at planning).
// All-correct / all-wrong groups: not zero (A = 1 - b* or -b*), as oracle.
// Singletons: fine. Writes b* to batch->baseline.
#ifndef ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_H_
#define ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_H_

#include "sim/estimator.h"

namespace advlab {

class OptimalBaselineEstimator : public Estimator {
 public:
  void Bind(const EstimatorContext& context) override { context_ = context; }
  void Compute(Batch* batch) override;

 private:
  EstimatorContext context_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_OPTIMAL_BASELINE_H_
