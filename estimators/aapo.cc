#include "estimators/aapo.h"

#include <algorithm>
#include <memory>
#include <string>

#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

static constexpr EnumName<AapoOptions::Pairing> kAapoPairingNames[] = {
    {"pairwise", AapoOptions::Pairing::kPairwise},
    {"ref_mean", AapoOptions::Pairing::kRefMean},
};

ADVLAB_REGISTER_KEY(estimator_aapo_pairing,
                    KeySpec{.name = "estimator.aapo_pairing",
                            .type = KeyType::kString,
                            .default_value = "pairwise",
                            .help = "aapo: margin r_i - ref_i (pairwise, the released code) or r_i "
                                    "- mean(ref) over the group (ref_mean)",
                            .choices = EnumNames(kAapoPairingNames),
                            .used_by = UsedWithEstimator("aapo")});
ADVLAB_REGISTER_KEY(estimator_aapo_low,
                    KeySpec{.name = "estimator.aapo_low",
                            .type = KeyType::kFloat,
                            .default_value = "0.2",
                            .help = "aapo: the margin is clipped below at -low",
                            .min = 0.0,
                            .max = 10.0,
                            .used_by = UsedWithEstimator("aapo")});
ADVLAB_REGISTER_KEY(estimator_aapo_high,
                    KeySpec{.name = "estimator.aapo_high",
                            .type = KeyType::kFloat,
                            .default_value = "0.28",
                            .help = "aapo: the margin is clipped above at +high",
                            .min = 0.0,
                            .max = 10.0,
                            .used_by = UsedWithEstimator("aapo")});

void AapoModifier::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  const Config& c = *context.config;
  options_.pairing = EnumValue(kAapoPairingNames, c.Str("estimator.aapo_pairing"));
  options_.low = c.Float("estimator.aapo_low");
  options_.high = c.Float("estimator.aapo_high");
}

void AapoModifier::SampleExtra(Sampler* sampler, const Batch& batch) {
  sampler->ReferenceRewards(batch, &ref_reward_);
}

void AapoModifier::Apply(Batch* batch) {
  const int n = batch->num_rollouts();
  if (ref_reward_.size() != static_cast<size_t>(n)) {
    throw UserError(
        "aapo needs the reference policy's rewards (training supplies them; `advlab advantage` "
        "needs --reference FILE): got " + std::to_string(ref_reward_.size()) +
        " reference rewards for " + std::to_string(n) + " rollouts; allowed: one per rollout");
  }
  const bool tokens = !batch->token_advantage.empty();
  const bool filtered = !batch->kept.empty();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g], e = batch->group_begin[g + 1];
    double ref_mean = 0.0;
    if (options_.pairing == AapoOptions::Pairing::kRefMean) {
      for (int r = b; r < e; ++r) ref_mean += ref_reward_[r];  // fixed order: reproducible
      ref_mean /= e - b;
    }
    for (int r = b; r < e; ++r) {
      // A rollout a filter (dash) dropped is out of the update; it keeps A = 0.
      if (filtered && batch->kept[r] == 0) continue;
      const double ref =
          options_.pairing == AapoOptions::Pairing::kRefMean ? ref_mean : ref_reward_[r];
      const double margin = std::clamp(batch->reward[r] - ref, -options_.low, options_.high);
      batch->advantage[r] += margin;
      if (tokens) {
        for (int t = batch->token_begin[r]; t < batch->token_begin[r + 1]; ++t) {
          batch->token_advantage[t] += margin;
        }
      }
    }
  }
}

ADVLAB_REGISTER_MODIFIER(aapo, .name = "aapo",
                         .description = "AAPO: add the clipped margin over the frozen initial "
                                        "policy, clip(r_i - ref_i, -0.2, 0.28) "
                                        "(estimator.aapo_pairing, _low, _high; 2x sampling)",
                         .needs_groups = false,
                         .make = [] { return std::make_unique<AapoModifier>(); },
                         .needs_reference = true);

}  // namespace advlab
