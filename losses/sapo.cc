#include "losses/sapo.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_sapo_tau_pos,
                    KeySpec{.name = "train.sapo_tau_pos", .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "sapo: gate temperature of tokens with A > 0 (paper, verl: "
                                    "1.0)",
                            .min = 0.0, .max = 1e6, .min_exclusive = true,
                            .used_by = UsedWithLoss("sapo")});
ADVLAB_REGISTER_KEY(train_sapo_tau_neg,
                    KeySpec{.name = "train.sapo_tau_neg", .type = KeyType::kFloat,
                            .default_value = "1.05",
                            .help = "sapo: gate temperature of tokens with A <= 0 (paper, verl: "
                                    "1.05)",
                            .min = 0.0, .max = 1e6, .min_exclusive = true,
                            .used_by = UsedWithLoss("sapo")});

SapoLoss::SapoLoss(const Config& config)
    : SapoLoss(SapoParams{config.Float("train.sapo_tau_pos"),
                          config.Float("train.sapo_tau_neg")}) {}

double SapoLoss::Value(const LossRollout& r) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) {
    v += r.weight * SapoTokenLoss(params_, r.Advantage(i), r.logprob[i] - r.logprob_old[i]).loss;
  }
  return v;
}

ADVLAB_REGISTER_LOSS(sapo, .name = "sapo",
                           .description = "-sigmoid(tau (r - 1)) 4 / tau A: a soft gate instead "
                                          "of the clip, tau 1.0 / 1.05 for A > 0 / A <= 0 (SAPO, "
                                          "arXiv 2511.20347; verl sapo)",
                           .make = [](const Config& c) { return std::make_unique<SapoLoss>(c); },
                           .needs_ratio = true,
                           .off_policy = true,
                           .reports_clipping = false,
                           .minus_advantage = false);

}  // namespace advlab
