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
//   abs |x|                                   d/dlog pi = sign(x) (0 at x = 0,
//                                             torch's subgradient)
//   k1+ value of k1, gradient of k2           d/dlog pi = x
//   k3+ value of k3 (clamps included),        d/dlog pi = x (no clamp: k2's
//       gradient of k2                        gradient is never clamped)
// As a loss on on-policy samples, k1 has zero expected gradient, k2 gives the
// reverse-KL gradient and k3 the forward-KL gradient (§5.1). The "+" variants
// are verl's straight-through estimators (kl_penalty: out = k2 - sg(k2) +
// sg(k1 or k3), "k2 gives the right gradient"): the value of k1 / k3 (so kl_ref
// and the reward shaping read the k1 / k3 value), the gradient of k2. verl's
// snapshot passes the unstripped name "k3+" to kl_penalty_forward, which raises
// NotImplementedError (estimators.md §5.1); advlab implements the intent.
// New estimators are appended (the enum's order is not a result, but keep it).
enum class KlEstimator { kK1, kK2, kK3, kAbs, kK1Plus, kK3Plus };

struct KlToken {
  double value = 0.0;
  double dlogp = 0.0;
};

// k3 (verl low_var_kl) with verl's clamps: u = clamp(-x, -20, 20), value
// e^u - u - 1 clamped to [-10, 10], d/dlog pi = 1 - e^u (0 where a clamp acts).
ADVLAB_HD inline KlToken KlK3(double x) {
  KlToken out;
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
  return out;
}

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
    case KlEstimator::kK3:
      out = KlK3(x);
      break;
    case KlEstimator::kAbs:
      out.value = x < 0.0 ? -x : x;
      out.dlogp = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
      break;
    case KlEstimator::kK1Plus:
      out.value = x;
      out.dlogp = x;
      break;
    case KlEstimator::kK3Plus:
      out.value = KlK3(x).value;
      out.dlogp = x;
      break;
  }
  return out;
}

// ---- Adaptive KL controller (estimators.md §5.3) ------------------------------
//
// Ziegler et al. 2019 (arXiv 1909.08593), verl AdaptiveKLController.update:
//   e = clip(kl / target - 1, -0.2, 0.2),  coef *= 1 + e n / horizon
// evaluated in verl's order ((e n) / horizon). kl: the measured KL, n: the
// samples it was measured on (verl: the batch size in sequences).
ADVLAB_HD inline double AdaptiveKlCoefficient(double coef, double kl, double target,
                                              double horizon, double n) {
  double e = kl / target - 1.0;
  e = e < -0.2 ? -0.2 : (e > 0.2 ? 0.2 : e);
  return coef * (1.0 + e * n / horizon);
}

}  // namespace advlab

#endif  // ADVLAB_SIM_LOSS_H_
