#include "estimators/dapo.h"

#include <memory>
#include <utility>

#include "estimators/dapo_step.h"
#include "sim/config.h"

namespace advlab {

// Read by the loop (RunConfig::FromConfig) and used only under dynamic sampling,
// which only the dapo modifier turns on.
ADVLAB_REGISTER_KEY(estimator_dapo_max_resample,
                    KeySpec{.name = "estimator.dapo_max_resample",
                            .type = KeyType::kInt,
                            .default_value = "3",
                            .help = "dapo: extra sampling rounds per step to replace all-equal "
                                    "groups",
                            .min = 0,
                            .max = 1000,
                            .used_by = UsedWithEstimator("dapo")});

void DapoModifier::Bind(const EstimatorContext& context) {
  if (context.config != nullptr) {
    max_resample_ = static_cast<int>(context.config->Int("estimator.dapo_max_resample"));
  }
}

namespace {

// The step's judgement (dapo_step.h) on group g of a batch.
bool GroupIsZeroVariance(const Batch& batch, int g) {
  const int b = batch.group_begin[g];
  return ZeroVarianceGroup(batch.reward.data() + b, batch.group_begin[g + 1] - b);
}

}  // namespace

void DapoModifier::Resample(Sampler* sampler, Batch* batch) {
  const int want = batch->num_groups();  // B
  out_.Clear();
  for (int g = 0; g < batch->num_groups() && out_.num_groups() < want; ++g) {
    if (!GroupIsZeroVariance(*batch, g)) out_.AppendGroup(*batch, g);
  }
  for (int k = 0; k < max_resample_ && out_.num_groups() < want; ++k) {
    if (!sampler->Round(k, &round_)) break;  // bare rewards: nothing to draw
    for (int g = 0; g < round_.num_groups() && out_.num_groups() < want; ++g) {
      if (!GroupIsZeroVariance(round_, g)) out_.AppendGroup(round_, g);
    }
  }
  std::swap(*batch, out_);
}

ADVLAB_REGISTER_MODIFIER(dapo, .name = "dapo",
                         .description = "DAPO dynamic sampling: replace all-equal groups by "
                                        "fresh prompts (estimator.dapo_max_resample rounds)",
                         .needs_groups = true,
                         .make = [] { return std::make_unique<DapoModifier>(); },
                         .scratch_batches = 2,
                         .resamples = true);

}  // namespace advlab
