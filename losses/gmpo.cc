#include "losses/gmpo.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_gmpo_clip_low,
                    KeySpec{.name = "train.gmpo_clip_low", .type = KeyType::kFloat,
                            .default_value = "0.4",
                            .help = "gmpo: log-ratio of A < 0 tokens clipped below at "
                                    "-gmpo_clip_low (GMPO paper, verl's examples: 0.4)",
                            .min = 0.0, .max = 1e6, .used_by = UsedWithLoss("gmpo")});
ADVLAB_REGISTER_KEY(train_gmpo_clip_high,
                    KeySpec{.name = "train.gmpo_clip_high", .type = KeyType::kFloat,
                            .default_value = "0.4",
                            .help = "gmpo: log-ratio of A > 0 tokens clipped above at "
                                    "gmpo_clip_high (GMPO paper, verl's examples: 0.4)",
                            .min = 0.0, .max = 1e6, .used_by = UsedWithLoss("gmpo")});

GmpoLoss::GmpoLoss(const Config& config)
    : GmpoLoss(GmpoParams{config.Float("train.gmpo_clip_low"),
                          config.Float("train.gmpo_clip_high")}) {}

double GmpoLoss::Value(const LossRollout& r) const {
  const GmpoSequence s = GmpoRatio(params_, r, r.logprob);
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) v += r.weight * (-s.mean_adv * s.ratio);
  return v;
}

ADVLAB_REGISTER_LOSS(gmpo, .name = "gmpo",
                           .description = "-mean(A) exp(mean of sign-aware clipped log r): the "
                                          "geometric mean of the token ratios, clip 0.4 in log "
                                          "space (GMPO, arXiv 2507.20673; verl geo_mean)",
                           .make = [](const Config& c) { return std::make_unique<GmpoLoss>(c); },
                           .needs_ratio = true,
                           .off_policy = true,
                           .reports_clipping = true,
                           .minus_advantage = false);

}  // namespace advlab
