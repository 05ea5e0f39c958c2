#include "estimators/dash.h"

#include <cmath>
#include <memory>

#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_dash_threshold,
                    KeySpec{"estimator.dash_threshold", KeyType::kFloat, "0.1",
                            "dash: drop rollouts with |A| <= threshold from the update", 0.0,
                            1e300, false, {}, {}});

void DashModifier::Bind(const EstimatorContext& context) {
  if (context.config != nullptr) threshold_ = context.config->Float("estimator.dash_threshold");
}

void DashModifier::Apply(Batch* batch) {
  const int n = batch->num_rollouts();
  if (batch->kept.empty()) batch->kept.assign(n, 1);
  for (int r = 0; r < n; ++r) {
    if (std::fabs(batch->advantage[r]) <= threshold_) {
      batch->kept[r] = 0;
      batch->advantage[r] = 0.0;
    }
  }
}

ADVLAB_REGISTER_MODIFIER(dash, "dash",
                         "DASH gradient filtering: drop rollouts with |A| <= threshold from the "
                         "update (estimator.dash_threshold)",
                         false, [] { return std::make_unique<DashModifier>(); }, {});

}  // namespace advlab
