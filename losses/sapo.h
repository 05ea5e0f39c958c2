// sapo: Soft Adaptive Policy Optimization (Gao et al. 2025, arXiv 2511.20347;
// verl `sapo`, TRL `sapo`, estimators.md §3.3): a soft sigmoid gate in place of
// the hard clip,
//   r   = exp(clamp(log pi - log pi_old, -20, 20))
//   tau = tau_pos if A_t > 0, else tau_neg            (A = 0 takes tau_neg)
//   f(r) = sigmoid(tau (r - 1)) 4 / tau               f(1) = 2 / tau, f'(1) = 1
//   l_t = -f(r_t) A_t
//   dl_t / dlog pi_t = -A_t f'(r_t) r_t = -A_t 4 sigma (1 - sigma) r_t,
//                      sigma = sigmoid(tau (r_t - 1))
// The gate's weight 4 sigma (1 - sigma) r is 1 at r = 1 (so on-policy sapo is
// pg, bit for bit: the coefficient is -A w) and decays smoothly on both sides,
// faster for negative advantages (tau_neg = 1.05 > tau_pos = 1.0: the paper's
// and verl's defaults, keys train.sapo_tau_pos / train.sapo_tau_neg). No token
// is hard-clipped, so clip_frac is not reported (verl reports 0). verl forces
// seq-mean-token-mean; advlab follows train.loss_agg. verl builds tau in the
// advantages' dtype (float32: tau_neg = 1.04999995), advlab in double.
#ifndef ADVLAB_LOSSES_SAPO_H_
#define ADVLAB_LOSSES_SAPO_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct SapoParams {
  double tau_pos = 1.0;
  double tau_neg = 1.05;
};

struct SapoToken {
  double loss = 0.0;   // l = -f(r) A
  double dlogp = 0.0;  // dl / dlog pi
};

ADVLAB_HD inline SapoToken SapoTokenLoss(const SapoParams& p, double a, double log_ratio) {
  SapoToken out;
  const bool saturated = log_ratio > 20.0 || log_ratio < -20.0;
  const double d = log_ratio > 20.0 ? 20.0 : (log_ratio < -20.0 ? -20.0 : log_ratio);
  const double r = dm::Exp(d);
  const double tau = a > 0.0 ? p.tau_pos : p.tau_neg;
  // x >= -tau (r > 0): e^{-x} <= e^{tau} stays finite.
  const double e = dm::Exp(-(tau * (r - 1.0)));
  const double sigma = 1.0 / (1.0 + e), one_minus = e / (1.0 + e);
  out.loss = -(sigma * (4.0 / tau)) * a;
  const double gate = 4.0 * sigma * one_minus * r;
  out.dlogp = saturated || a == 0.0 ? 0.0 : -a * gate;
  return out;
}

ADVLAB_HD inline void SapoCoefficients(const SapoParams& p, const LossRollout& r, double* coef) {
  for (int i = 0; i < r.len; ++i) {
    const SapoToken t = SapoTokenLoss(p, r.Advantage(i), r.logprob[i] - r.logprob_old[i]);
    coef[i] = t.dlogp == 0.0 ? 0.0 : t.dlogp * r.weight;
  }
}

class SapoLoss : public PolicyLoss {
 public:
  explicit SapoLoss(const SapoParams& p) : params_(p) {}
  explicit SapoLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    (void)clipped;
    SapoCoefficients(params_, r, coef);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    (void)clipped;
    for (int i = 0; i < n; ++i) SapoCoefficients(params_, r[i], coef[i]);
  }
  double Value(const LossRollout& r) const override;

 private:
  SapoParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_SAPO_H_
