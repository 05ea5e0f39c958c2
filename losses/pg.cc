#include "losses/pg.h"

namespace advlab {

void PgLoss::Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const {
  (void)clipped;
  PgCoefficients(r, coef);
}

double PgLoss::Value(const LossRollout& r) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) v += r.weight * (-r.Advantage(i) * r.logprob[i]);
  return v;
}

ADVLAB_REGISTER_LOSS(pg, .name = "pg",
                          .description = "-A log pi: one on-policy update per batch "
                                         "(REINFORCE; estimators.md §3.1)",
                          .make = [](const Config&) { return std::make_unique<PgLoss>(); },
                          .needs_ratio = false,
                          .off_policy = false,
                          .reports_clipping = false,
                          .minus_advantage = true);

}  // namespace advlab
