// oracle: the lowest-variance state baseline, from the exact oracle.
//
//   A_i = R_i - b(q),   b(q) = E[R | q] = fp + (1 - fp - fn) * p(q)
//
// where p(q) is the exact success probability of prompt q under the current
// (sampling) policy (Task::SuccessProbability) and fp / fn are the verifier's
// noise rates, so b(q) is the exact expected observed reward. It is the value
// function V(q) that every group baseline (mean, leave-one-out) estimates from
// G samples: the estimator is unbiased (b does not depend on the sampled
// responses) and isolates the variance that comes from estimating the baseline.
// Greensmith, Bartlett & Baxter (2004), "Variance reduction techniques for
// gradient estimates in RL", JMLR 5; estimators.md §11.4 (for binary rewards
// with equal score norms the variance-optimal constant baseline is p).
//
// All-correct / all-wrong groups: not zero (A = 1 - b or -b): unlike group
// baselines, the oracle still pushes up a prompt's correct answers when all
// samples were right, in proportion to 1 - b. Singletons: fine (no group
// statistics). Only where the task has an exact oracle (every family here);
// `advlab advantage` refuses it when it plans (needs_task: no task). The step
// (estimators/oracle_step.h) takes p(q) as an input.
#ifndef ADVLAB_ESTIMATORS_ORACLE_H_
#define ADVLAB_ESTIMATORS_ORACLE_H_

#include "sim/estimator.h"

namespace advlab {

class OracleEstimator : public Estimator {
 public:
  void Bind(const EstimatorContext& context) override { context_ = context; }
  void Compute(Batch* batch) override;

 private:
  EstimatorContext context_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_ORACLE_H_
