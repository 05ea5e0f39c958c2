#include "estimators/aapo.h"

#include <algorithm>
#include <memory>
#include <string>

#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_aapo_pairing,
                    KeySpec{"estimator.aapo_pairing", KeyType::kString, "pairwise",
                            "aapo: margin r_i - ref_i (pairwise, the released code) or r_i - "
                            "mean(ref) over the group (ref_mean)",
                            -1e300, 1e300, false, {"pairwise", "ref_mean"}, {}});
ADVLAB_REGISTER_KEY(estimator_aapo_low,
                    KeySpec{"estimator.aapo_low", KeyType::kFloat, "0.2",
                            "aapo: the margin is clipped below at -low", 0.0, 10.0, false, {}, {}});
ADVLAB_REGISTER_KEY(estimator_aapo_high,
                    KeySpec{"estimator.aapo_high", KeyType::kFloat, "0.28",
                            "aapo: the margin is clipped above at +high", 0.0, 10.0, false, {},
                            {}});

void AapoModifier::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  const Config& c = *context.config;
  options_.pairing = c.Str("estimator.aapo_pairing") == "ref_mean"
                         ? AapoOptions::Pairing::kRefMean
                         : AapoOptions::Pairing::kPairwise;
  options_.low = c.Float("estimator.aapo_low");
  options_.high = c.Float("estimator.aapo_high");
}

void AapoModifier::Apply(Batch* batch) {
  const int n = batch->num_rollouts();
  if (batch->ref_reward.size() != static_cast<size_t>(n)) {
    throw UserError(
        "aapo needs the reference policy's rewards (training supplies them; `advlab advantage` "
        "needs --reference FILE): got " + std::to_string(batch->ref_reward.size()) +
        " reference rewards for " + std::to_string(n) + " rollouts; allowed: one per rollout");
  }
  const bool tokens = !batch->token_advantage.empty();
  const bool filtered = !batch->kept.empty();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g], e = batch->group_begin[g + 1];
    double ref_mean = 0.0;
    if (options_.pairing == AapoOptions::Pairing::kRefMean) {
      for (int r = b; r < e; ++r) ref_mean += batch->ref_reward[r];  // fixed order: reproducible
      ref_mean /= e - b;
    }
    for (int r = b; r < e; ++r) {
      // A rollout a filter (dash) dropped is out of the update; it keeps A = 0.
      if (filtered && batch->kept[r] == 0) continue;
      const double ref =
          options_.pairing == AapoOptions::Pairing::kRefMean ? ref_mean : batch->ref_reward[r];
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

ADVLAB_REGISTER_MODIFIER(
    aapo, "aapo",
    "AAPO: add the clipped margin over the frozen initial policy, clip(r_i - ref_i, -0.2, 0.28) "
    "(estimator.aapo_pairing, _low, _high; 2x sampling)",
    false, [] { return std::make_unique<AapoModifier>(); }, {}, false, true);

}  // namespace advlab
