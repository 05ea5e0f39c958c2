// cispo: Clipped IS-weight Policy Optimization (MiniMax-M1, arXiv 2506.13585;
// verl `cispo`, estimators.md §3.8):
//   r   = exp(clamp(log pi - log pi_old, -20, 20))
//   l_t = -sg(clip(r_t, 1 - eps_low, 1 + eps_high)) A_t log pi_t
//   dl_t / dlog pi_t = -clip(r_t, 1 - eps_low, 1 + eps_high) A_t
// The clipped ratio is a stop-gradient weight: unlike ppo, a token outside the
// clip range keeps a (bounded) gradient. Keys train.clip_low / train.clip_high
// (the same meaning as ppo's; defaults 0.2 / 0.2 = verl's generic defaults).
// The paper and verl's examples/cispo_trainer leave the lower side open
// (verl: clip_ratio_low = 10): train.clip_low = 1 does the same here (the
// lower bound 0 never binds, r > 0). TRL's `cispo` differs: its epsilon_high
// is an absolute cap, w = sg(min(r, epsilon_high)), no lower clip (§8.2): TRL's
// cap c is train.clip_low = 1, train.clip_high = c - 1.
// Metric clip_frac: tokens whose weight was clipped (r != clip(r), verl's
// pg_clipfrac); their gradient is bounded, not zeroed.
// At r = 1 the weight is 1 and the coefficient is -A w: pg's, bit for bit.
#ifndef ADVLAB_LOSSES_CISPO_H_
#define ADVLAB_LOSSES_CISPO_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct CispoParams {
  double clip_low = 0.2;   // eps_low
  double clip_high = 0.2;  // eps_high
};

// sg(clip(r)) of a token with log-ratio log_ratio; *clipped: r != clip(r).
ADVLAB_HD inline double CispoWeight(const CispoParams& p, double log_ratio, bool* clipped) {
  const double d = log_ratio > 20.0 ? 20.0 : (log_ratio < -20.0 ? -20.0 : log_ratio);
  const double r = dm::Exp(d);
  const double lo = 1.0 - p.clip_low, hi = 1.0 + p.clip_high;
  const double c = r < lo ? lo : (r > hi ? hi : r);
  *clipped = c != r;
  return c;
}

ADVLAB_HD inline void CispoCoefficients(const CispoParams& p, const LossRollout& r, double* coef,
                                        int64_t* clipped) {
  for (int i = 0; i < r.len; ++i) {
    const double a = r.Advantage(i);
    bool clip = false;
    const double c = CispoWeight(p, r.logprob[i] - r.logprob_old[i], &clip);
    coef[i] = a == 0.0 ? 0.0 : -a * c * r.weight;
    *clipped += clip ? 1 : 0;
  }
}

class CispoLoss : public PolicyLoss {
 public:
  explicit CispoLoss(const CispoParams& p) : params_(p) {}
  explicit CispoLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    CispoCoefficients(params_, r, coef, clipped);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    for (int i = 0; i < n; ++i) CispoCoefficients(params_, r[i], coef[i], clipped);
  }
  // The forward value, sum_t w (-clip(r_t) A_t log pi_t).
  double Value(const LossRollout& r) const override { return SurrogateValue(r, r.logprob); }
  // The weight at sg_logprob, log pi at r.logprob.
  double SurrogateValue(const LossRollout& r, const double* sg_logprob) const override;

 private:
  CispoParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_CISPO_H_
