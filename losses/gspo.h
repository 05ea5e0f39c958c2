// gspo: Group Sequence Policy Optimization (Zheng et al. 2025, arXiv
// 2507.18071; verl `gspo`, estimators.md §3.2), in verl's "GSPO-token" form:
//   log s_i   = (1 / L_i) sum_t (log pi_t - log pi_old,t)   (L_i >= 1 tokens)
//   log s_i,t = min(sg[log s_i] + log pi_t - sg[log pi_t], 10)   (value s_i)
//   l_t       = max(-A_t s_i,t, -A_t clip(s_i,t, 1 - eps_low, 1 + eps_high))
//   dl_t / dlog pi_t = -A_t s_i where the first branch is taken, else 0
// Every token of a response carries its sequence ratio s_i; the stop-gradient
// routes token t's gradient through log pi_t alone. With a sequence advantage
// every token of a response takes the same branch, and sum_t w l_t (w per
// rollout) has exactly these coefficients as its derivative: GSPO's sequence
// gradient -A s_i (1/L_i) sum_t grad log pi_t under seq-mean-token-mean.
// With per-token advantages (gae, ...) it is the GSPO-token gradient, which
// is not the derivative of sum_t w l_t (PolicyLoss::SurrogateValue is).
// Defaults: eps_low = 3e-4, eps_high = 4e-4 (the paper's §5.1, verl's
// examples/gspo_trainer; verl's generic clip_ratio default 0.2 is PPO's), keys
// train.gspo_clip_low / train.gspo_clip_high. No dual clip, no -20 clamp:
// only verl's max 10 (no gradient there). verl forces seq-mean-token-mean;
// advlab follows train.loss_agg (set it to seq-mean-token-mean for verl's).
// One-token responses: s = r, and gspo is ppo with the same clip range and
// the dual clip off (train.clip_c = 0), bit for bit while |log r| < 10.
// At r = 1 (first minibatch of the first epoch) the coefficient is -A w: pg's.
#ifndef ADVLAB_LOSSES_GSPO_H_
#define ADVLAB_LOSSES_GSPO_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct GspoParams {
  double clip_low = 3e-4;   // eps_low
  double clip_high = 4e-4;  // eps_high
};

// log s_i: the mean log-ratio over the rollout's tokens, summed in index order.
ADVLAB_HD inline double GspoLogRatio(const LossRollout& r, const double* logprob) {
  double sum = 0.0;
  for (int i = 0; i < r.len; ++i) sum += logprob[i] - r.logprob_old[i];
  return sum / (r.len > 1 ? r.len : 1);
}

// The token loss at sequence ratio s (already clamped) and advantage a.
ADVLAB_HD inline double GspoTokenLoss(const GspoParams& p, double a, double s, bool* clipped) {
  const double lo = 1.0 - p.clip_low, hi = 1.0 + p.clip_high;
  const double l1 = -a * s;
  const double l2 = -a * (s < lo ? lo : (s > hi ? hi : s));
  *clipped = l2 > l1;
  return *clipped ? l2 : l1;
}

ADVLAB_HD inline void GspoCoefficients(const GspoParams& p, const LossRollout& r, double* coef,
                                       int64_t* clipped) {
  const double ls = GspoLogRatio(r, r.logprob);
  const bool saturated = ls > 10.0;
  const double s = dm::Exp(saturated ? 10.0 : ls);
  for (int i = 0; i < r.len; ++i) {
    const double a = r.Advantage(i);
    bool clip = false;
    GspoTokenLoss(p, a, s, &clip);
    const double dlogp = clip || saturated ? 0.0 : -a * s;
    coef[i] = dlogp == 0.0 ? 0.0 : dlogp * r.weight;
    *clipped += clip ? 1 : 0;
  }
}

class GspoLoss : public PolicyLoss {
 public:
  explicit GspoLoss(const GspoParams& p) : params_(p) {}
  explicit GspoLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    GspoCoefficients(params_, r, coef, clipped);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    for (int i = 0; i < n; ++i) GspoCoefficients(params_, r[i], coef[i], clipped);
  }
  // sum_t w l_t with s_i a function of every token (no stop-gradient).
  double Value(const LossRollout& r) const override;
  // verl's combined ratio: log s_i,t = min(sg log s_i + log pi_t - sg log pi_t, 10).
  double SurrogateValue(const LossRollout& r, const double* sg_logprob) const override;

 private:
  GspoParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_GSPO_H_
