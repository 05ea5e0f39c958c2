#include "losses/clip_cov.h"

#include <algorithm>
#include <vector>

#include "losses/covariance.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_clip_cov_ratio,
                    KeySpec{.name = "train.clip_cov_ratio", .type = KeyType::kFloat,
                            .default_value = "0.0002",
                            .help = "clip_cov: share of the minibatch's tokens whose gradient is "
                                    "stopped, at least one (verl: 2e-4)",
                            .min = 0.0, .max = 1.0, .min_exclusive = true,
                            .used_by = UsedWithLoss("clip_cov")});
ADVLAB_REGISTER_KEY(train_clip_cov_lb,
                    KeySpec{.name = "train.clip_cov_lb", .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "clip_cov: candidates have a covariance above this (verl: 1)",
                            .min = -1e12, .max = 1e12, .used_by = UsedWithLoss("clip_cov")});
ADVLAB_REGISTER_KEY(train_clip_cov_ub,
                    KeySpec{.name = "train.clip_cov_ub", .type = KeyType::kFloat,
                            .default_value = "5",
                            .help = "clip_cov: candidates have a covariance below this (verl: 5)",
                            .min = -1e12, .max = 1e12, .used_by = UsedWithLoss("clip_cov")});

ClipCovLoss::ClipCovLoss(const Config& config)
    : ClipCovLoss(ClipCovParams{config.Float("train.clip_low"), config.Float("train.clip_high"),
                                config.Float("train.clip_cov_ratio"),
                                config.Float("train.clip_cov_lb"),
                                config.Float("train.clip_cov_ub")}) {}

double ClipCovLoss::Value(const LossRollout& r) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) {
    if (r.mark != nullptr && r.mark[i] != 0) continue;
    v += r.weight * PpoTokenLoss(r.Advantage(i), r.logprob[i] - r.logprob_old[i],
                                 params_.clip_low, params_.clip_high, 0.0)
                        .loss;
  }
  return v;
}

void ClipCovLoss::Prepass(const LossBatch& b) const {
  ClearMarks(b);
  std::vector<CovToken> tokens;
  const int64_t n = TokenCovariances(b, &tokens);
  if (n == 0) return;
  // Candidates: inside (lb, ub), not already clipped by PPO; each with its
  // counter-based uniform word.
  struct Candidate {
    uint32_t u;
    int32_t token;
    int rollout, index;
  };
  std::vector<Candidate> cand;
  for (const CovToken& c : tokens) {
    const LossRollout& r = b.rollouts[c.rollout];
    const bool ppo_clipped =
        PpoTokenLoss(r.Advantage(c.index), r.logprob[c.index] - r.logprob_old[c.index],
                     params_.clip_low, params_.clip_high, 0.0)
            .clipped;
    if (ppo_clipped || !(c.cov > params_.lb && c.cov < params_.ub)) continue;
    const uint32_t g = static_cast<uint32_t>(c.token);
    const Words4 w = b.rng.Draw(Purpose::kLossSelect, b.step, g / 4, b.update);
    cand.push_back(Candidate{w.w[g % 4], c.token, c.rollout, c.index});
  }
  const int64_t k = std::min<int64_t>(CovTokenCount(params_.ratio, n),
                                      static_cast<int64_t>(cand.size()));
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(),
                    [](const Candidate& x, const Candidate& y) {
                      return x.u != y.u ? x.u < y.u : x.token < y.token;
                    });
  for (int64_t j = 0; j < k; ++j) b.mark[cand[j].rollout][cand[j].index] = 1;
}

ADVLAB_REGISTER_LOSS(clip_cov, .name = "clip_cov",
                               .description = "ppo clip, plus the gradient of a random "
                                              "clip_cov_ratio of the tokens with covariance "
                                              "(A, log pi) in (1, 5) stopped (Clip-Cov, arXiv "
                                              "2505.22617; verl clip_cov)",
                               .make = [](const Config& c) {
                                 return std::make_unique<ClipCovLoss>(c);
                               },
                               .needs_ratio = true,
                               .off_policy = true,
                               .reports_clipping = true,
                               .minus_advantage = false,
                               .batch_prepass = true);

}  // namespace advlab
