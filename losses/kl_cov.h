// kl_cov: KL-Cov (Cui et al. 2025, "The Entropy Mechanism of Reinforcement
// Learning for Reasoning Language Models", arXiv 2505.22617; verl `kl_cov`,
// estimators.md §3.6): the unclipped importance-weighted loss, plus a
// |log r| penalty on the top-k covariance tokens.
//   d   = log pi - log pi_old,  r = exp(clamp(d, -20, 20))
//   cov_t = (A_t - mean A)(log pi_t - mean log pi) over the minibatch
//           (losses/covariance.h; every token, none left out)
//   top k = max(1, floor(ratio N)) tokens by cov_t (train.kl_cov_ratio 2e-4;
//           ties: the lower token index of the step's batch)
//   l_t = -A_t r_t + coef |d_t|   on the top k      (train.kl_cov_coef 0.1)
//   l_t = -A_t r_t                elsewhere           (no clipping at all)
//   dl_t / dlog pi_t = -A_t r_t (+ coef sign(d_t) on the top k; 0 at d = 0)
// coef is verl's ppo_kl_coef: config default 0.1 (the code's fallback when it
// is None is 1.0). The batch is the minibatch (verl: the micro-batch). verl
// does not clamp d; advlab clamps the ratio's d to +-20 as ppo (no gradient
// there). Without a prepass (LossRollout::mark null) no token is penalised;
// at r = 1 (d = 0) the penalty's subgradient is 0 and the coefficients are
// pg's, bit for bit. clip_frac is not reported (nothing is clipped).
#ifndef ADVLAB_LOSSES_KL_COV_H_
#define ADVLAB_LOSSES_KL_COV_H_

#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy_loss.h"

namespace advlab {

struct KlCovParams {
  double ratio = 2e-4;  // share of the tokens penalised (at least one)
  double coef = 0.1;    // weight of |log r| on them
};

struct KlCovToken {
  double loss = 0.0;
  double dlogp = 0.0;
};

ADVLAB_HD inline KlCovToken KlCovTokenLoss(double coef, double a, double d, bool marked) {
  KlCovToken out;
  const bool saturated = d > 20.0 || d < -20.0;
  const double r = dm::Exp(d > 20.0 ? 20.0 : (d < -20.0 ? -20.0 : d));
  out.loss = -a * r;
  out.dlogp = saturated || a == 0.0 ? 0.0 : -a * r;
  if (marked) {
    out.loss += coef * (d < 0.0 ? -d : d);
    if (d != 0.0) out.dlogp += d > 0.0 ? coef : -coef;
  }
  return out;
}

ADVLAB_HD inline void KlCovCoefficients(const KlCovParams& p, const LossRollout& r,
                                        double* coef) {
  for (int i = 0; i < r.len; ++i) {
    const bool marked = r.mark != nullptr && r.mark[i] != 0;
    const KlCovToken t =
        KlCovTokenLoss(p.coef, r.Advantage(i), r.logprob[i] - r.logprob_old[i], marked);
    coef[i] = t.dlogp == 0.0 ? 0.0 : t.dlogp * r.weight;
  }
}

class KlCovLoss : public PolicyLoss {
 public:
  explicit KlCovLoss(const KlCovParams& p) : params_(p) {}
  explicit KlCovLoss(const Config& config);
  void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const override {
    (void)clipped;
    KlCovCoefficients(params_, r, coef);
  }
  void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                         int64_t* clipped) const override {
    (void)clipped;
    for (int i = 0; i < n; ++i) KlCovCoefficients(params_, r[i], coef[i]);
  }
  double Value(const LossRollout& r) const override;
  void Prepass(const LossBatch& b) const override;

 private:
  KlCovParams params_;
};

}  // namespace advlab

#endif  // ADVLAB_LOSSES_KL_COV_H_
