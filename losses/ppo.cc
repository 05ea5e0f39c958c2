#include "losses/ppo.h"

#include <string>

#include "sim/error.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_clip_low,
                    KeySpec{.name = "train.clip_low", .type = KeyType::kFloat,
                            .default_value = "0.2",
                            .help = "ppo, cispo, clip_cov: ratio clipped below at 1 - clip_low "
                                    "(1: no lower clip, as verl's cispo example's 10)",
                            .min = 0.0, .max = 1.0,
                            .used_by = UsedWhen("train.loss", {"ppo", "cispo", "clip_cov"})});
ADVLAB_REGISTER_KEY(train_clip_high,
                    KeySpec{.name = "train.clip_high", .type = KeyType::kFloat,
                            .default_value = "0.2",
                            .help = "ppo, cispo, clip_cov: ratio clipped above at 1 + clip_high "
                                    "(DAPO clip-higher: 0.28)",
                            .min = 0.0, .max = 1e6,
                            .used_by = UsedWhen("train.loss", {"ppo", "cispo", "clip_cov"})});
ADVLAB_REGISTER_KEY(train_clip_c,
                    KeySpec{.name = "train.clip_c", .type = KeyType::kFloat,
                            .default_value = "3",
                            .help = "ppo dual clip: the loss of a negative-advantage token is "
                                    "at most c |A| (c > 1; 0: off)",
                            .min = 0.0, .max = 1e6,
                            .validate =
                                [](const std::string& v) {
                                  const double c = std::stod(v);
                                  if (c != 0.0 && c <= 1.0) {
                                    throw UserError("key 'train.clip_c': " + v +
                                                    " is not allowed; allowed: 0 (off) or a "
                                                    "value above 1");
                                  }
                                },
                            .used_by = UsedWithLoss("ppo")});

ADVLAB_REGISTER_KEY(train_clip_delta,
                    KeySpec{.name = "train.clip_delta", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "ppo two-sided clip (TRL delta, INTELLECT-2): the unclipped "
                                    "branch's ratio capped at delta (> 1, TRL recommends > 1 + "
                                    "clip_high; 0: off)",
                            .min = 0.0, .max = 1e6,
                            .validate =
                                [](const std::string& v) {
                                  const double d = std::stod(v);
                                  if (d != 0.0 && d <= 1.0) {
                                    throw UserError("key 'train.clip_delta': " + v +
                                                    " is not allowed; allowed: 0 (off) or a "
                                                    "value above 1");
                                  }
                                },
                            .used_by = UsedWithLoss("ppo")});

PpoLoss::PpoLoss(const Config& config)
    : PpoLoss(config.Float("train.clip_low"), config.Float("train.clip_high"),
              config.Float("train.clip_c"), config.Float("train.clip_delta")) {}

void PpoLoss::Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const {
  PpoCoefficients(params_, r, coef, clipped);
}

double PpoLoss::Value(const LossRollout& r) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) {
    v += r.weight * PpoTokenLoss(r.Advantage(i), r.logprob[i] - r.logprob_old[i],
                                 params_.clip_low, params_.clip_high, params_.clip_c,
                                 params_.clip_delta)
                        .loss;
  }
  return v;
}

ADVLAB_REGISTER_LOSS(ppo, .name = "ppo",
                           .description = "clipped surrogate with clip-higher and dual clip; "
                                          "train.epochs x train.minibatches updates per batch "
                                          "(PPO, arXiv 1707.06347)",
                           .make = [](const Config& c) { return std::make_unique<PpoLoss>(c); },
                           .needs_ratio = true,
                           .off_policy = true,
                           .reports_clipping = true,
                           .minus_advantage = false);

}  // namespace advlab
