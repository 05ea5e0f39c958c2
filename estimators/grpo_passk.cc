#include "estimators/grpo_passk.h"

#include <memory>
#include <string>

#include "estimators/group_stats.h"
#include "estimators/passk_step.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_passk_norm_by_std,
                    KeySpec{.name = "estimator.passk_norm_by_std",
                            .type = KeyType::kBool,
                            .default_value = "true",
                            .help = "grpo_passk: divide the best response's margin by the group "
                                    "std + 1e-6 (verl norm_adv_by_std_in_grpo); passk: divide by "
                                    "sigma = sqrt(rho (1 - rho)) + 1e-6 (the paper's code)",
                            .used_by = UsedWithEstimators({"grpo_passk", "passk"})});

void GrpoPasskEstimator::Bind(const EstimatorContext& context) {
  if (context.config != nullptr) norm_by_std_ = context.config->Bool("estimator.passk_norm_by_std");
}

void GrpoPasskEstimator::Compute(Batch* batch) {
  const bool by_std = norm_by_std_;
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  double* baseline = batch->baseline.data();
  const int32_t* begin = batch->group_begin.data();
  ForEachGroup(batch, [&](int g, const double* reward, int n, double* adv) {
    const double r2 = GrpoPasskGroup(reward, n, by_std, adv);
    for (int i = 0; i < n; ++i) baseline[begin[g] + i] = r2;
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    grpo_passk, .name = "grpo_passk",
    .description = "verl grpo_passk: only the best response of a group gets r_max - r_second_max "
                   "(/ group std + 1e-6; estimator.passk_norm_by_std), the others 0",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoPasskEstimator>(); },
    .group_refusal = [](const Config*, int n) -> std::string {
      if (n >= 2) return "";
      return "estimator 'grpo_passk' compares the best response with the runner-up and needs at "
             "least 2 rollouts per group (verl raises), got " + std::to_string(n);
    });

}  // namespace advlab
