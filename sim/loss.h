// Loss aggregation (estimators.md §4): the policy loss is L = sum_t w_t * l_t over
// the valid tokens t of a batch, where every token of rollout r gets the weight
//   token-mean                1 / T                   (DAPO; T = tokens in the batch)
//   seq-mean-token-sum        1 / R                   (R = rollouts)
//   seq-mean-token-mean       1 / (R * L_r)           (original GRPO; length-biased)
//   seq-mean-token-sum-norm   1 / (R * C)             (Dr. GRPO, C a constant)
// seq-mean-token-sum-norm follows the Dr. GRPO paper, its reference code (oat)
// and TRL `dr_grpo`: divide by R * C. verl's mode of the same name omits the 1/R
// (its value is R times ours; estimators.md §13.4). C = train.loss_scale, or the
// task's max length when that is 0 (never the padded length of a micro-batch,
// which would make C depend on the batch).
#ifndef ADVLAB_SIM_LOSS_H_
#define ADVLAB_SIM_LOSS_H_

#include "sim/features.h"

namespace advlab {

enum class LossAgg { kTokenMean, kSeqMeanTokenSum, kSeqMeanTokenMean, kSeqMeanTokenSumNorm };

// Weight of each token of a rollout of length `len` in a batch of `rollouts`
// rollouts and `tokens` tokens; `scale` is C for seq-mean-token-sum-norm.
ADVLAB_HD inline double TokenWeight(LossAgg agg, int len, int rollouts, int tokens, double scale) {
  switch (agg) {
    case LossAgg::kTokenMean: return 1.0 / tokens;
    case LossAgg::kSeqMeanTokenSum: return 1.0 / rollouts;
    case LossAgg::kSeqMeanTokenMean: return 1.0 / (static_cast<double>(rollouts) * len);
    case LossAgg::kSeqMeanTokenSumNorm: return 1.0 / (static_cast<double>(rollouts) * scale);
  }
  return 0.0;
}

}  // namespace advlab

#endif  // ADVLAB_SIM_LOSS_H_
