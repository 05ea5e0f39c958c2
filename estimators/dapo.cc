#include "estimators/dapo.h"

#include <memory>

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

ADVLAB_REGISTER_MODIFIER(dapo, "dapo",
                         "DAPO dynamic sampling: replace all-equal groups by fresh prompts "
                         "(estimator.dapo_max_resample rounds)",
                         true, [] { return std::make_unique<DapoModifier>(); }, {}, true);

}  // namespace advlab
