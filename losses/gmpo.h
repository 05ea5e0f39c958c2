// gmpo: Geometric-Mean Policy Optimization (Zhao et al. 2025, arXiv
// 2507.20673; verl `geo_mean`, estimators.md §3.7): the geometric mean of the
// token ratios, clipped sign-aware in log space:
//   d_t  = log pi_t - log pi_old,t
//   d~_t = sgn(A_t) min(sgn(A_t) d_t, sgn(A_t) clip(d_t, -eps_low, eps_high))
//          (A > 0: d capped above at eps_high; A < 0: below at -eps_low;
//           A = 0: 0)
//   rho_i = exp((1 / L_i) sum_t d~_t)        A-bar_i = (1 / L_i) sum_t A_t
//   loss_i = -A-bar_i rho_i
//   dloss_i / dlog pi_t = -A-bar_i rho_i / L_i where d~_t = d_t, else 0
// In advlab's aggregation the response's loss sits on each of its tokens,
// l_t = loss_i, so its share is sum_t w l_t = L_i w loss_i and the coefficient
// of token t is -A-bar_i rho_i w (0 where the clip is active). Under
// seq-mean-token-mean (w = 1 / (R L_i)) that is verl's mean_i(-A-bar_i rho_i)
// exactly; verl ignores loss_agg_mode, advlab follows train.loss_agg. The
// clip range bounds the log-ratio: keys train.gmpo_clip_low / _high, default
// 0.4 / 0.4 (the GMPO paper and verl's examples/gmpo_trainer; verl's generic
// 0.2 would be read in log space too). verl divides by L_i + 1e-8 (1e-8 is
// lost in float32: exactly L_i); advlab divides by L_i. verl does not clamp
// the mean log-ratio; advlab clamps it to [-20, 20] (no gradient there), as
// ppo's ratio. With a sequence advantage A-bar is A itself (not a sum / L).
// At r = 1 with a sequence advantage the coefficient is -A w: pg's, bit for
// bit; with per-token advantages every token of a response gets -A-bar w.
// Metric clip_frac: tokens whose sign-aware clip is active (their gradient is
// 0); verl's pg_clipfrac counts |d| outside the range on either side.
#ifndef ADVLAB_LOSSES_GMPO_H_
#define ADVLAB_LOSSES_GMPO_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct GmpoParams {
  double clip_low = 0.4;   // eps_low, in log space
  double clip_high = 0.4;  // eps_high, in log space
};

// d~ of one token; *active: the clip changed it.
ADVLAB_HD inline double GmpoClippedLogRatio(const GmpoParams& p, double a, double d, bool* active) {
  *active = false;
  if (a > 0.0) {
    *active = d > p.clip_high;
    return *active ? p.clip_high : d;
  }
  if (a < 0.0) {
    *active = d < -p.clip_low;
    return *active ? -p.clip_low : d;
  }
  return 0.0;
}

struct GmpoSequence {
  double mean_adv = 0.0;  // A-bar
  double ratio = 1.0;     // rho
  bool saturated = false; // the mean log-ratio was clamped
};

ADVLAB_HD inline GmpoSequence GmpoRatio(const GmpoParams& p, const LossRollout& r,
                                        const double* logprob) {
  GmpoSequence out;
  const double len = r.len > 1 ? r.len : 1;
  double sum = 0.0, adv = 0.0;
  bool active = false;
  for (int i = 0; i < r.len; ++i) {
    sum += GmpoClippedLogRatio(p, r.Advantage(i), logprob[i] - r.logprob_old[i], &active);
    if (r.token_advantage) adv += r.token_advantage[i];
  }
  out.mean_adv = r.token_advantage ? adv / len : r.advantage;
  const double m = sum / len;
  out.saturated = m > 20.0 || m < -20.0;
  out.ratio = dm::Exp(m > 20.0 ? 20.0 : (m < -20.0 ? -20.0 : m));
  return out;
}

ADVLAB_HD inline void GmpoCoefficients(const GmpoParams& p, const LossRollout& r, double* coef,
                                       int64_t* clipped) {
  const GmpoSequence s = GmpoRatio(p, r, r.logprob);
  const double c = s.mean_adv == 0.0 || s.saturated ? 0.0 : -s.mean_adv * s.ratio;
  for (int i = 0; i < r.len; ++i) {
    bool active = false;
    GmpoClippedLogRatio(p, r.Advantage(i), r.logprob[i] - r.logprob_old[i], &active);
    const bool zero = active || r.Advantage(i) == 0.0;
    coef[i] = zero || c == 0.0 ? 0.0 : c * r.weight;
    *clipped += active ? 1 : 0;
  }
}

class GmpoLoss : public PolicyLoss {
 public:
  explicit GmpoLoss(const GmpoParams& p) : params_(p) {}
  explicit GmpoLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    GmpoCoefficients(params_, r, coef, clipped);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    for (int i = 0; i < n; ++i) GmpoCoefficients(params_, r[i], coef[i], clipped);
  }
  double Value(const LossRollout& r) const override;

 private:
  GmpoParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_GMPO_H_
