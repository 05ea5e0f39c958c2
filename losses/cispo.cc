#include "losses/cispo.h"

namespace advlab {

CispoLoss::CispoLoss(const Config& config)
    : CispoLoss(CispoParams{config.Float("train.clip_low"), config.Float("train.clip_high")}) {}

double CispoLoss::SurrogateValue(const LossRollout& r, const double* sg_logprob) const {
  double v = 0.0;
  for (int i = 0; i < r.len; ++i) {
    bool clip = false;
    const double c = CispoWeight(params_, sg_logprob[i] - r.logprob_old[i], &clip);
    v += r.weight * (-c * r.Advantage(i) * r.logprob[i]);
  }
  return v;
}

ADVLAB_REGISTER_LOSS(cispo, .name = "cispo",
                            .description = "-sg(clip(r, 1 - clip_low, 1 + clip_high)) A log pi: "
                                           "clipped tokens keep a gradient (CISPO, MiniMax-M1, "
                                           "arXiv 2506.13585; verl cispo)",
                            .make = [](const Config& c) { return std::make_unique<CispoLoss>(c); },
                            .needs_ratio = true,
                            .off_policy = true,
                            .reports_clipping = true,
                            .minus_advantage = false);

}  // namespace advlab
