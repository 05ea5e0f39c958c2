// pg: the REINFORCE / vanilla policy-gradient loss (Williams 1992; the
// on-policy case of estimators.md §3.1):
//   l_t = -A_t log pi(o_t | s_t)          dl_t / dlog pi_t = -A_t
// One on-policy update per sampled batch (train.epochs = train.minibatches = 1).
// A token with A = 0 gets coefficient exactly 0 (skipped in the gradient).
#ifndef ADVLAB_LOSSES_PG_H_
#define ADVLAB_LOSSES_PG_H_

#include "sim/policy_loss.h"

namespace advlab {

// coef[i] = -A_i w (exactly 0 where A_i = 0); host and device.
ADVLAB_HD inline void PgCoefficients(const LossRollout& r, double* coef) {
  for (int i = 0; i < r.len; ++i) coef[i] = MinusAdvantageCoefficient(r.Advantage(i), r.weight);
}

class PgLoss : public PolicyLoss {
 public:
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override;
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    (void)clipped;
    for (int i = 0; i < n; ++i) PgCoefficients(r[i], coef[i]);
  }
  double Value(const LossRollout& r) const override;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_PG_H_
