#include "estimators/aapo.h"

#include <memory>

#include "sim/check.h"
#include "sim/config.h"

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
  // Planning guarantees one reference reward per rollout (see aapo.h).
  ADVLAB_CHECK_EQ(ref_reward_.size(), static_cast<size_t>(batch->num_rollouts()));
  const double* reward = batch->reward.data();
  const double* ref = ref_reward_.data();
  const uint8_t* kept = batch->kept.empty() ? nullptr : batch->kept.data();
  double* token_adv = batch->token_advantage.empty() ? nullptr : batch->token_advantage.data();
  double* adv = batch->advantage.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g];
    AapoGroup(options_, reward + b, ref + b, batch->group_begin[g + 1] - b,
              kept == nullptr ? nullptr : kept + b, batch->token_begin.data() + b, adv + b,
              token_adv);
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
