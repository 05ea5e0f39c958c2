// clip_cov: Clip-Cov (Cui et al. 2025, "The Entropy Mechanism of Reinforcement
// Learning for Reasoning Language Models", arXiv 2505.22617; verl `clip_cov`,
// estimators.md §3.5): PPO's clipped surrogate, plus the gradient of a few
// random high-covariance tokens stopped.
//   r    = exp(clamp(log pi - log pi_old, -20, 20))
//   l_t  = max(-A r, -A clip(r, 1 - eps_low, 1 + eps_high))    (no dual clip)
//   cov_t = (A_t - mean A)(log pi_t - mean log pi)  over the minibatch
//           (losses/covariance.h; tokens PPO already clips are left out)
//   candidates: lb < cov_t < ub           (train.clip_cov_lb 1, _ub 5)
//   pick k = max(1, floor(ratio N)) of them uniformly at random
//           (train.clip_cov_ratio 2e-4, N = the minibatch's tokens)
//   picked tokens: l_t = 0, no gradient; others ppo's l_t
// The pick is verl's torch.randperm, made deterministic: each candidate gets
// the Philox word keyed by (run seed; step, its token index in the step's
// batch, the optimizer update; Purpose::kLossSelect), and the k candidates
// with the smallest words (ties: lower token index) are picked: a uniform
// k-subset, fresh each epoch and minibatch, whatever the thread or sweep.
// Keys train.clip_low / train.clip_high as ppo (defaults 0.2 / 0.2, verl's).
// The batch is the minibatch (verl: the micro-batch; the same with one
// micro-batch per minibatch). verl does not clamp log r; advlab clamps it to
// +-20 as ppo. Metric clip_frac: tokens PPO clips plus the picked ones (verl's
// pg_clipfrac counts only the picked ones). Without a prepass (a lone
// rollout, LossRollout::mark null) nothing is picked and clip_cov is ppo
// with train.clip_c = 0; at r = 1 its coefficients are pg's.
#ifndef ADVLAB_LOSSES_CLIP_COV_H_
#define ADVLAB_LOSSES_CLIP_COV_H_

#include "losses/ppo.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct ClipCovParams {
  double clip_low = 0.2;
  double clip_high = 0.2;
  double ratio = 2e-4;  // share of the tokens picked (at least one)
  double lb = 1.0;      // covariance window (lb, ub)
  double ub = 5.0;
};

ADVLAB_HD inline void ClipCovCoefficients(const ClipCovParams& p, const LossRollout& r,
                                          double* coef, int64_t* clipped) {
  for (int i = 0; i < r.len; ++i) {
    const PpoToken t = PpoTokenLoss(r.Advantage(i), r.logprob[i] - r.logprob_old[i], p.clip_low,
                                    p.clip_high, 0.0);
    const bool picked = r.mark != nullptr && r.mark[i] != 0;
    coef[i] = t.dlogp == 0.0 || picked ? 0.0 : t.dlogp * r.weight;
    *clipped += t.clipped || picked ? 1 : 0;
  }
}

class ClipCovLoss : public PolicyLoss {
 public:
  explicit ClipCovLoss(const ClipCovParams& p) : params_(p) {}
  explicit ClipCovLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    ClipCovCoefficients(params_, r, coef, clipped);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    for (int i = 0; i < n; ++i) ClipCovCoefficients(params_, r[i], coef[i], clipped);
  }
  double Value(const LossRollout& r) const override;
  void Prepass(const LossBatch& b) const override;

 private:
  ClipCovParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_CLIP_COV_H_
