// Compile-only (tests/hd_compile_test.sh): the losses' coefficient functions
// called from a kernel.
#include "losses/pg.h"
#include "losses/ppo.h"

namespace advlab {

__global__ void LossKernel(const double* adv, const double* lp_old, const double* lp, double* coef,
                           long long* clipped) {
  LossRollout r;
  r.len = 4;
  r.weight = 0.25;
  r.token_advantage = adv;
  r.logprob_old = lp_old;
  r.logprob = lp;
  PgCoefficients(r, coef);
  int64_t n = 0;
  PpoCoefficients(PpoParams{0.2, 0.28, 3.0}, r, coef + 4, &n);
  *clipped = n;
}

}  // namespace advlab
