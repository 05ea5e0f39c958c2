// Compile-only (tests/hd_compile_test.sh): the losses' coefficient functions
// called from a kernel.
#include "losses/cispo.h"
#include "losses/clip_cov.h"
#include "losses/gmpo.h"
#include "losses/gspo.h"
#include "losses/kl_cov.h"
#include "losses/pg.h"
#include "losses/ppo.h"
#include "losses/sapo.h"
#include "sim/loss.h"

namespace advlab {

__global__ void LossKernel(const double* adv, const double* lp_old, const double* lp,
                           const uint8_t* mark, double* coef, long long* clipped) {
  LossRollout r;
  r.len = 4;
  r.weight = 0.25;
  r.token_advantage = adv;
  r.logprob_old = lp_old;
  r.logprob = lp;
  PgCoefficients(r, coef);
  int64_t n = 0;
  PpoCoefficients(PpoParams{0.2, 0.28, 3.0, 2.0}, r, coef + 4, &n);
  GspoCoefficients(GspoParams{}, r, coef + 8, &n);
  GmpoCoefficients(GmpoParams{}, r, coef + 12, &n);
  CispoCoefficients(CispoParams{}, r, coef + 16, &n);
  SapoCoefficients(SapoParams{}, r, coef + 20);
  r.mark = mark;
  ClipCovCoefficients(ClipCovParams{}, r, coef + 24, &n);
  KlCovCoefficients(KlCovParams{}, r, coef + 28);
  coef[32] = KlPenalty(KlEstimator::kK3Plus, lp[0] - lp_old[0]).dlogp +
             KlPenalty(KlEstimator::kAbs, lp[1]).value +
             AdaptiveKlCoefficient(0.1, lp[2], 0.5, 1e4, 64.0);
  *clipped = n;
}

}  // namespace advlab
