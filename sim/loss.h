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

#include "sim/dmath.h"
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

// ---- KL to the reference (initial) policy (estimators.md §5.1) -------------
//
// x = log pi - log pi_ref per sampled token:
//   k1  x                                     d/dlog pi = 1
//   k2  x^2 / 2                               d/dlog pi = x
//   k3  e^u - u - 1, u = clamp(-x, -20, 20),  d/dlog pi = 1 - e^u (0 where
//       the value clamped to [-10, 10]        a clamp is active), verl's
//                                             low_var_kl
// As a loss on on-policy samples, k1 has zero expected gradient, k2 gives the
// reverse-KL gradient and k3 the forward-KL gradient (§5.1).
enum class KlEstimator { kK1, kK2, kK3 };

struct KlToken {
  double value = 0.0;
  double dlogp = 0.0;
};

ADVLAB_HD inline KlToken KlPenalty(KlEstimator k, double x) {
  KlToken out;
  switch (k) {
    case KlEstimator::kK1:
      out.value = x;
      out.dlogp = 1.0;
      break;
    case KlEstimator::kK2:
      out.value = 0.5 * x * x;
      out.dlogp = x;
      break;
    case KlEstimator::kK3: {
      const double u0 = -x;
      const bool saturated = u0 > 20.0 || u0 < -20.0;
      const double u = u0 > 20.0 ? 20.0 : (u0 < -20.0 ? -20.0 : u0);
      const double e = dm::Exp(u);
      out.value = e - u - 1.0;
      out.dlogp = saturated ? 0.0 : 1.0 - e;
      if (out.value > 10.0) {
        out.value = 10.0;
        out.dlogp = 0.0;
      }
      break;
    }
  }
  return out;
}

}  // namespace advlab

#endif  // ADVLAB_SIM_LOSS_H_
