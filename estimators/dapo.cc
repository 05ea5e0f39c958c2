#include "estimators/dapo.h"

#include <memory>

#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_dapo_max_resample,
                    KeySpec{"estimator.dapo_max_resample", KeyType::kInt, "3",
                            "dapo: extra sampling rounds per step to replace all-equal groups", 0,
                            1000, false, {}, {}});

ADVLAB_REGISTER_MODIFIER(dapo, "dapo",
                         "DAPO dynamic sampling: replace all-equal groups by fresh prompts "
                         "(estimator.dapo_max_resample rounds)",
                         true, [] { return std::make_unique<DapoModifier>(); }, {}, true);

}  // namespace advlab
