#include "estimators/qae.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/passk_step.h"
#include "sim/check.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_qae_quantile,
                    KeySpec{.name = "estimator.qae_quantile",
                            .type = KeyType::kFloat,
                            .default_value = "0.4",
                            .help = "qae: the quantile K of the group's rewards used as the "
                                    "baseline, in (0, 1) (the paper's runs: 0.4)",
                            .min = 0.0,
                            .max = 1.0,
                            .min_exclusive = true,
                            .max_exclusive = true,
                            .used_by = UsedWithEstimator("qae")});
ADVLAB_REGISTER_KEY(estimator_qae_norm_by_std,
                    KeySpec{.name = "estimator.qae_norm_by_std",
                            .type = KeyType::kBool,
                            .default_value = "true",
                            .help = "qae: divide R - quantile by the group std + 1e-6 (the "
                                    "released code, verl GRPO); false: A = R - quantile (the "
                                    "paper's formula)",
                            .used_by = UsedWithEstimator("qae")});

void QaeEstimator::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  quantile_ = context.config->Float("estimator.qae_quantile");
  ADVLAB_CHECK(quantile_ > 0.0 && quantile_ < 1.0);  // the key's range
  norm_by_std_ = context.config->Bool("estimator.qae_norm_by_std");
}

void QaeEstimator::Compute(Batch* batch) {
  int largest = 0;
  for (int g = 0; g < batch->num_groups(); ++g) {
    if (batch->group_size(g) > largest) largest = batch->group_size(g);
  }
  if (sorted_.size() < static_cast<size_t>(largest)) sorted_.resize(static_cast<size_t>(largest));
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  double* baseline = batch->baseline.data();
  double* sorted = sorted_.data();
  const int32_t* begin = batch->group_begin.data();
  const double q = quantile_;
  const bool by_std = norm_by_std_;
  ForEachGroup(batch, [&](int g, const double* reward, int n, double* adv) {
    const double b = QaeGroup(reward, n, q, by_std, sorted, adv);
    for (int i = 0; i < n; ++i) baseline[begin[g] + i] = b;
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    qae, .name = "qae",
    .description = "QAE (arXiv 2509.22611): A = (R - group K-quantile) / (group std + 1e-6) "
                   "(estimator.qae_quantile, estimator.qae_norm_by_std)",
    .needs_groups = true,
    .make = [] { return std::make_unique<QaeEstimator>(); });

}  // namespace advlab
