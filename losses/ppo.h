// ppo: the clipped surrogate (Schulman et al. 2017, arXiv 1707.06347; verl
// `vanilla`, estimators.md §3.1), with clip-higher and the dual clip:
//   r = exp(clamp(log pi - log pi_old, -20, 20))
//   l = max(-A r, -A clip(r, 1 - eps_low, 1 + eps_high))
//   l = min(l, -A c)  when A < 0 and c > 0  (dual clip, Ye et al. 2019,
//                                            arXiv 1912.09729; c > 1)
// Clip-higher (DAPO, arXiv 2503.14476) is eps_high = 0.28 > eps_low = 0.2.
// Two-sided clip (TRL `delta`, INTELLECT-2 arXiv 2505.07291; train.clip_delta
// = delta > 1, 0: off): the unclipped branch's ratio is capped at delta,
//   l = max(-A min(r, delta), -A clip(r, 1 - eps_low, 1 + eps_high)),
// for every token, as TRL's grpo loss (coef_1 = clamp(coef_1, max=delta)
// before -min(coef_1 A, coef_2 A)). Only A < 0 tokens with r > delta feel it
// while delta >= 1 + eps_high: their loss stops at -A delta, no gradient (the
// dual clip's effect with c = delta); with delta < 1 + eps_high an A > 0 token
// is capped at delta too. TRL has no dual clip; here both may be on.
// dl/dlog pi = -A r where no clip is active, else 0. At r = 1 exactly (the
// first minibatch of the first epoch) the coefficient is -A, bit for bit pg's.
// Keys: train.clip_low (eps_low), train.clip_high (eps_high), train.clip_c (c),
// train.clip_delta (delta).
#ifndef ADVLAB_LOSSES_PPO_H_
#define ADVLAB_LOSSES_PPO_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct PpoToken {
  double loss = 0.0;       // l
  double dlogp = 0.0;      // dl / d log pi (0 where a clip is active)
  bool clipped = false;    // the clipped branch is the larger (pg_clipfrac)
  bool dual_clipped = false;  // the dual clip bounds the loss (pg_clipfrac_lower)
  bool delta_clipped = false; // the two-sided clip (delta) zeroed the gradient
};

ADVLAB_HD inline PpoToken PpoTokenLoss(double adv, double log_ratio, double clip_low,
                                       double clip_high, double clip_c, double ratio_cap = 0.0) {
  PpoToken out;
  const bool saturated = log_ratio > 20.0 || log_ratio < -20.0;  // clamp: no gradient
  const double delta = log_ratio > 20.0 ? 20.0 : (log_ratio < -20.0 ? -20.0 : log_ratio);
  const double r = dm::Exp(delta);
  const double lo = 1.0 - clip_low, hi = 1.0 + clip_high;
  // TRL's two-sided clip: min(r, ratio_cap) on the unclipped branch (off at 0).
  const bool capped = ratio_cap > 0.0 && r > ratio_cap;
  const double l1 = -adv * (capped ? ratio_cap : r);
  const double l2 = -adv * (r < lo ? lo : (r > hi ? hi : r));
  out.clipped = l2 > l1;
  out.delta_clipped = capped && !out.clipped;
  out.loss = out.clipped ? l2 : l1;
  out.dlogp = out.clipped || saturated || capped ? 0.0 : -adv * r;
  if (clip_c > 0.0 && adv < 0.0) {
    const double l3 = -adv * clip_c;
    if (out.loss > l3) {
      out.loss = l3;
      out.dlogp = 0.0;
      out.dual_clipped = true;
    }
  }
  return out;
}

// The clip parameters (train.clip_low, train.clip_high, train.clip_c).
struct PpoParams {
  double clip_low = 0.2;   // eps_low
  double clip_high = 0.2;  // eps_high
  double clip_c = 3.0;     // dual clip c (0: off)
  double clip_delta = 0.0; // TRL's two-sided clip delta (0: off)
};

// coef[i] = w dl_i/dlog pi_i for one rollout (exactly 0 where a clip is
// active); adds the clipped or dual-clipped tokens to *clipped. Host and device.
ADVLAB_HD inline void PpoCoefficients(const PpoParams& p, const LossRollout& r, double* coef,
                                      int64_t* clipped) {
  for (int i = 0; i < r.len; ++i) {
    const PpoToken t = PpoTokenLoss(r.Advantage(i), r.logprob[i] - r.logprob_old[i], p.clip_low,
                                    p.clip_high, p.clip_c, p.clip_delta);
    coef[i] = t.dlogp == 0.0 ? 0.0 : t.dlogp * r.weight;
    *clipped += t.clipped || t.dual_clipped || t.delta_clipped ? 1 : 0;
  }
}

class PpoLoss : public PolicyLoss {
 public:
  PpoLoss(double clip_low, double clip_high, double clip_c, double clip_delta = 0.0)
      : params_{clip_low, clip_high, clip_c, clip_delta} {}
  explicit PpoLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override;
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    for (int i = 0; i < n; ++i) PpoCoefficients(params_, r[i], coef[i], clipped);
  }
  double Value(const LossRollout& r) const override;

 private:
  PpoParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_PPO_H_
