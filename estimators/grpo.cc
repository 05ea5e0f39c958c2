#include "estimators/grpo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/grpo_step.h"
#include "sim/config.h"

namespace advlab {

static constexpr EnumName<MeanScope> kMeanScopeNames[] = {
    {"group", MeanScope::kGroup},
    {"batch", MeanScope::kBatch},
};
static constexpr EnumName<StdScope> kStdScopeNames[] = {
    {"group", StdScope::kGroup},
    {"batch", StdScope::kBatch},
    {"none", StdScope::kNone},
};

ADVLAB_REGISTER_KEY(estimator_mean_scope,
                    KeySpec{.name = "estimator.mean_scope",
                            .type = KeyType::kString,
                            .default_value = "group",
                            .help = "grpo, dr_grpo: the baseline is the group's mean reward "
                                    "(group) or the batch's (batch)",
                            .choices = EnumNames(kMeanScopeNames),
                            .used_by = UsedWithEstimators({"grpo", "dr_grpo"})});
ADVLAB_REGISTER_KEY(estimator_scale_rewards,
                    KeySpec{.name = "estimator.scale_rewards",
                            .type = KeyType::kString,
                            .default_value = "group",
                            .help = "grpo: divide by the group's reward std (group), the batch's "
                                    "(batch) or not at all (none), as TRL's scale_rewards",
                            .choices = EnumNames(kStdScopeNames),
                            .used_by = UsedWithEstimator("grpo")});
ADVLAB_REGISTER_KEY(estimator_std_epsilon,
                    KeySpec{.name = "estimator.std_epsilon",
                            .type = KeyType::kFloat,
                            .default_value = "1e-06",
                            .help = "grpo: epsilon added to the reward std (verl 1e-6, TRL 1e-4, "
                                    "OpenRLHF 1e-9), in (0, 1]",
                            .min = 0.0,
                            .max = 1.0,
                            .min_exclusive = true,
                            .used_by = UsedWithEstimator("grpo")});

void GrpoEstimator::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  norm_.mean = EnumValue(kMeanScopeNames, context.config->Str("estimator.mean_scope"));
  if (normalize_by_std_) {
    norm_.std = EnumValue(kStdScopeNames, context.config->Str("estimator.scale_rewards"));
    norm_.epsilon = context.config->Float("estimator.std_epsilon");
  }
}

void GrpoEstimator::Compute(Batch* batch) {
  const GrpoNorm norm = norm_;
  if (norm.mean == MeanScope::kGroup && norm.std != StdScope::kBatch) {
    // Per-group statistics only: the verl formulas (grpo_step.h); the baseline
    // (the group mean) stored in the same pass when the batch asks for it.
    double* const baseline = StartBaseline(batch);
    const int32_t* const group_begin = batch->group_begin.data();
    ForEachGroup(batch, [norm, baseline, group_begin](int g, const double* reward, int n,
                                                      double* adv) {
      const double mean = norm.std == StdScope::kNone
                              ? GrpoGroup(reward, n, false, adv)
                              : GrpoGroupEpsilon(reward, n, norm.epsilon, adv);
      if (baseline == nullptr) return;
      for (int i = 0; i < n; ++i) baseline[group_begin[g] + i] = mean;
    });
    return;
  }
  // A batch statistic: the batch mean and/or the batch std over every reward,
  // in index order (an empty batch has none to compute).
  const int rollouts = batch->num_rollouts();
  double batch_mean = 0.0, batch_std = 1.0;
  if (rollouts > 0) batch_mean = GroupMean(batch->reward.data(), rollouts);
  if (rollouts > 1) batch_std = GroupUnbiasedStd(batch->reward.data(), rollouts, batch_mean);
  ForEachGroup(batch, [norm, batch_mean, batch_std](int, const double* reward, int n,
                                                    double* adv) {
    const GroupMoments m = VerlGroupMoments(reward, n);
    const double mu = norm.mean == MeanScope::kBatch ? batch_mean : m.mean;
    const double denom = norm.std == StdScope::kNone
                             ? 1.0
                             : (norm.std == StdScope::kBatch ? batch_std : m.stddev) + norm.epsilon;
    for (int i = 0; i < n; ++i) adv[i] = (reward[i] - mu) / denom;
  });
  if (norm.mean == MeanScope::kGroup) {
    FillGroupMeanBaseline(batch);
  } else if (double* const baseline = StartBaseline(batch)) {
    for (int r = 0; r < rollouts; ++r) baseline[r] = batch_mean;
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    grpo, .name = "grpo",
    .description = "GRPO: A = (R - group mean) / (unbiased group std + 1e-6) (verl grpo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoEstimator>(true); });

ADVLAB_REGISTER_ESTIMATOR(
    dr_grpo, .name = "dr_grpo",
    .description = "Dr. GRPO: A = R - group mean, no std division (verl grpo, "
                   "norm_adv_by_std_in_grpo=False)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoEstimator>(false); });

}  // namespace advlab
