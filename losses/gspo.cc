#include "losses/gspo.h"

namespace advlab {

ADVLAB_REGISTER_KEY(train_gspo_clip_low,
                    KeySpec{.name = "train.gspo_clip_low", .type = KeyType::kFloat,
                            .default_value = "0.0003",
                            .help = "gspo: sequence ratio clipped below at 1 - gspo_clip_low "
                                    "(GSPO paper, verl's gspo examples: 3e-4)",
                            .min = 0.0, .max = 1.0, .used_by = UsedWithLoss("gspo")});
ADVLAB_REGISTER_KEY(train_gspo_clip_high,
                    KeySpec{.name = "train.gspo_clip_high", .type = KeyType::kFloat,
                            .default_value = "0.0004",
                            .help = "gspo: sequence ratio clipped above at 1 + gspo_clip_high "
                                    "(GSPO paper, verl's gspo examples: 4e-4)",
                            .min = 0.0, .max = 1e6, .used_by = UsedWithLoss("gspo")});

GspoLoss::GspoLoss(const Config& config)
    : GspoLoss(GspoParams{config.Float("train.gspo_clip_low"),
                          config.Float("train.gspo_clip_high")}) {}

double GspoLoss::Value(const LossRollout& r) const {
  const double ls = GspoLogRatio(r, r.logprob);
  const double s = dm::Exp(ls > 10.0 ? 10.0 : ls);
  double v = 0.0;
  bool clip = false;
  for (int i = 0; i < r.len; ++i) v += r.weight * GspoTokenLoss(params_, r.Advantage(i), s, &clip);
  return v;
}

double GspoLoss::SurrogateValue(const LossRollout& r, const double* sg_logprob) const {
  const double sg = GspoLogRatio(r, sg_logprob);
  double v = 0.0;
  bool clip = false;
  for (int i = 0; i < r.len; ++i) {
    const double ls = sg + r.logprob[i] - sg_logprob[i];
    const double s = dm::Exp(ls > 10.0 ? 10.0 : ls);
    v += r.weight * GspoTokenLoss(params_, r.Advantage(i), s, &clip);
  }
  return v;
}

ADVLAB_REGISTER_LOSS(gspo, .name = "gspo",
                           .description = "sequence ratio s = exp(mean log r) on every token, "
                                          "clipped at 1 -/+ 3e-4/4e-4 (GSPO, arXiv 2507.18071; "
                                          "verl gspo)",
                           .make = [](const Config& c) { return std::make_unique<GspoLoss>(c); },
                           .needs_ratio = true,
                           .off_policy = true,
                           .reports_clipping = true,
                           .minus_advantage = false);

}  // namespace advlab
