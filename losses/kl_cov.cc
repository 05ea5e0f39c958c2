#include "losses/kl_cov.h"

#include <algorithm>
#include <vector>

#include "losses/covariance.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_kl_cov_ratio,
                    KeySpec{.name = "train.kl_cov_ratio", .type = KeyType::kFloat,
                            .default_value = "0.0002",
                            .help = "kl_cov: share of the minibatch's tokens (top covariance) "
                                    "given the |log r| penalty, at least one (verl: 2e-4)",
                            .min = 0.0, .max = 1.0, .min_exclusive = true,
                            .used_by = UsedWithLoss("kl_cov")});
ADVLAB_REGISTER_KEY(train_kl_cov_coef,
                    KeySpec{.name = "train.kl_cov_coef", .type = KeyType::kFloat,
                            .default_value = "0.1",
                            .help = "kl_cov: weight of |log r| on the top-covariance tokens "
                                    "(verl ppo_kl_coef: 0.1)",
                            .min = 0.0, .max = 1e6, .used_by = UsedWithLoss("kl_cov")});

KlCovLoss::KlCovLoss(const Config& config)
    : KlCovLoss(KlCovParams{config.Float("train.kl_cov_ratio"),
                            config.Float("train.kl_cov_coef")}) {}

double KlCovLoss::Value(const LossRollout& r) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) {
    const bool marked = r.mark != nullptr && r.mark[i] != 0;
    v += r.weight *
         KlCovTokenLoss(params_.coef, r.Advantage(i), r.logprob[i] - r.logprob_old[i], marked)
             .loss;
  }
  return v;
}

void KlCovLoss::Prepass(const LossBatch& b) const {
  ClearMarks(b);
  std::vector<CovToken> tokens;
  const int64_t n = TokenCovariances(b, &tokens);
  if (n == 0) return;
  const int64_t k = std::min<int64_t>(CovTokenCount(params_.ratio, n), n);
  // The k largest covariances; ties: the lower token index (a total order).
  std::partial_sort(tokens.begin(), tokens.begin() + k, tokens.end(),
                    [](const CovToken& x, const CovToken& y) {
                      return x.cov != y.cov ? x.cov > y.cov : x.token < y.token;
                    });
  for (int64_t j = 0; j < k; ++j) b.mark[tokens[j].rollout][tokens[j].index] = 1;
}

ADVLAB_REGISTER_LOSS(kl_cov, .name = "kl_cov",
                             .description = "-A r (no clip), plus kl_cov_coef |log r| on the "
                                            "top kl_cov_ratio of the tokens by covariance (A, "
                                            "log pi) (KL-Cov, arXiv 2505.22617; verl kl_cov)",
                             .make = [](const Config& c) { return std::make_unique<KlCovLoss>(c); },
                             .needs_ratio = true,
                             .off_policy = true,
                             .reports_clipping = false,
                             .minus_advantage = false,
                             .batch_prepass = true);

}  // namespace advlab
