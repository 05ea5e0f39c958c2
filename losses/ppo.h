// ppo: the clipped surrogate (Schulman et al. 2017, arXiv 1707.06347; verl
// `vanilla`, estimators.md §3.1), with clip-higher and the dual clip:
//   r = exp(clamp(log pi - log pi_old, -20, 20))
//   l = max(-A r, -A clip(r, 1 - eps_low, 1 + eps_high))
//   l = min(l, -A c)  when A < 0 and c > 0  (dual clip, Ye et al. 2019,
//                                            arXiv 1912.09729; c > 1)
// Clip-higher (DAPO, arXiv 2503.14476) is eps_high = 0.28 > eps_low = 0.2.
// dl/dlog pi = -A r where no clip is active, else 0. At r = 1 exactly (the
// first minibatch of the first epoch) the coefficient is -A, bit for bit pg's.
// Keys: train.clip_low (eps_low), train.clip_high (eps_high), train.clip_c (c).
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
};

ADVLAB_HD inline PpoToken PpoTokenLoss(double adv, double log_ratio, double clip_low,
                                       double clip_high, double clip_c) {
  PpoToken out;
  const bool saturated = log_ratio > 20.0 || log_ratio < -20.0;  // clamp: no gradient
  const double delta = log_ratio > 20.0 ? 20.0 : (log_ratio < -20.0 ? -20.0 : log_ratio);
  const double r = dm::Exp(delta);
  const double lo = 1.0 - clip_low, hi = 1.0 + clip_high;
  const double l1 = -adv * r;
  const double l2 = -adv * (r < lo ? lo : (r > hi ? hi : r));
  out.clipped = l2 > l1;
  out.loss = out.clipped ? l2 : l1;
  out.dlogp = out.clipped || saturated ? 0.0 : -adv * r;
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
};

// coef[i] = w dl_i/dlog pi_i for one rollout (exactly 0 where a clip is
// active); adds the clipped or dual-clipped tokens to *clipped. Host and device.
ADVLAB_HD inline void PpoCoefficients(const PpoParams& p, const LossRollout& r, double* coef,
                                      int64_t* clipped) {
  for (int i = 0; i < r.len; ++i) {
    const PpoToken t = PpoTokenLoss(r.Advantage(i), r.logprob[i] - r.logprob_old[i], p.clip_low,
                                    p.clip_high, p.clip_c);
    coef[i] = t.dlogp == 0.0 ? 0.0 : t.dlogp * r.weight;
    *clipped += t.clipped || t.dual_clipped ? 1 : 0;
  }
}

class PpoLoss : public PolicyLoss {
 public:
  PpoLoss(double clip_low, double clip_high, double clip_c)
      : params_{clip_low, clip_high, clip_c} {}
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
