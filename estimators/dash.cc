#include "estimators/dash.h"

#include <memory>

#include "estimators/dash_step.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_dash_threshold,
                    KeySpec{.name = "estimator.dash_threshold",
                            .type = KeyType::kFloat,
                            .default_value = "0.1",
                            .help = "dash: drop rollouts with |A| <= threshold from the update",
                            .min = 0.0,
                            .max = 1e300,
                            .used_by = UsedWithEstimator("dash")});

void DashModifier::Bind(const EstimatorContext& context) {
  if (context.config != nullptr) threshold_ = context.config->Float("estimator.dash_threshold");
}

void DashModifier::Apply(Batch* batch) {
  const int n = batch->num_rollouts();
  if (batch->kept.empty()) batch->kept.assign(n, 1);
  DashFilter(threshold_, n, batch->advantage.data(), batch->kept.data());
}

ADVLAB_REGISTER_MODIFIER(
    dash, .name = "dash",
    .description = "DASH gradient filtering: drop rollouts with |A| <= threshold from the "
                   "update (estimator.dash_threshold)",
    .make = [] { return std::make_unique<DashModifier>(); });

}  // namespace advlab
