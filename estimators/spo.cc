#include "estimators/spo.h"

#include <algorithm>
#include <memory>

#include "estimators/group_stats.h"
#include "estimators/spo_step.h"
#include "sim/check.h"
#include "sim/config.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_spo_rho_min,
                    KeySpec{.name = "estimator.spo_rho_min",
                            .type = KeyType::kFloat,
                            .default_value = "0.5",
                            .help = "spo: lower clip of the forgetting rate rho = 2^(-D/d_half), "
                                    "in (0, 0.96]",
                            .min = 0.0,
                            .max = kSpoRhoMax,
                            .min_exclusive = true,
                            .used_by = UsedWithEstimator("spo")});
ADVLAB_REGISTER_KEY(estimator_spo_d_half,
                    KeySpec{.name = "estimator.spo_d_half",
                            .type = KeyType::kFloat,
                            .default_value = "0.06",
                            .help = "spo: policy move D (first decision, exact) at which the "
                                    "tracker's memory halves, > 0",
                            .min = 0.0,
                            .max = 1e6,
                            .min_exclusive = true,
                            .used_by = UsedWithEstimator("spo")});
ADVLAB_REGISTER_KEY(estimator_spo_n0,
                    KeySpec{.name = "estimator.spo_n0",
                            .type = KeyType::kFloat,
                            .default_value = "8",
                            .help = "spo: prior count of a prompt's first group (alpha = n0 p, "
                                    "beta = n0 (1 - p)), > 0",
                            .min = 0.0,
                            .max = 1e6,
                            .min_exclusive = true,
                            .used_by = UsedWithEstimator("spo")});

void SpoEstimator::Bind(const EstimatorContext& context) {
  ADVLAB_CHECK(seen_.empty());  // before any Compute
  context_ = context;
  if (context.config != nullptr) {
    options_.rho_min = context.config->Float("estimator.spo_rho_min");
    options_.d_half = context.config->Float("estimator.spo_d_half");
    options_.n0 = context.config->Float("estimator.spo_n0");
  }
  if (context.task != nullptr && context.policy != nullptr) {
    num_actions_ = context.task->num_actions();
    Grow(context.task->num_prompts() - 1);  // the pool, up front
  } else {
    context_.task = nullptr;
    context_.policy = nullptr;
  }
}

void SpoEstimator::Grow(int32_t prompt) {
  ADVLAB_CHECK_GE(prompt, 0);
  const size_t s = static_cast<size_t>(prompt);
  if (s < seen_.size()) return;
  // Geometric growth: O(log prompts) allocations in a run.
  const size_t size = std::max(s + 1, 2 * seen_.size());
  seen_.resize(size, 0);
  alpha_.resize(size, 0.0);
  beta_.resize(size, 0.0);
  logprob_.resize(size * static_cast<size_t>(num_actions_), 0.0);
}

double SpoEstimator::Estimate(int32_t prompt) const {
  const size_t s = static_cast<size_t>(prompt);
  if (prompt < 0 || s >= seen_.size() || seen_[s] == 0) return __builtin_nan("");
  return alpha_[s] / (alpha_[s] + beta_[s]);
}

void SpoEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  CheckGroupLayout(*batch);
  const int rollouts = batch->num_rollouts();
  batch->advantage.resize(static_cast<size_t>(rollouts));
  batch->baseline.resize(static_cast<size_t>(rollouts));
  const double* reward = batch->reward.data();
  double* adv = batch->advantage.data();
  double* base = batch->baseline.data();
  const int k = num_actions_;
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = batch->group_begin[g];
    const int n = batch->group_begin[g + 1] - first;
    if (n == 0) continue;
    const int32_t prompt = batch->prompt[g];
    Grow(prompt);
    const size_t s = static_cast<size_t>(prompt);
    double rho_first = kSpoRhoMax;  // unbound: no policy, the upper clip
    if (context_.policy != nullptr) {
      const int32_t state = context_.task->FirstState(prompt);
      const double* lp_now = context_.policy->LogProbs(state);
      const double* p_now = context_.policy->Probs(state);
      double* lp_then = logprob_.data() + s * static_cast<size_t>(k);
      if (seen_[s] != 0) {
        const double d = SpoPolicyDistance(p_now, lp_now, lp_then, k);
        rho_first = SpoRho(d, options_.d_half, options_.rho_min, kSpoRhoMax);
      }
      for (int a = 0; a < k; ++a) lp_then[a] = lp_now[a];
    }
    const SpoState st{alpha_.data(), beta_.data(), seen_.data(),
                      static_cast<int64_t>(seen_.size())};
    SpoGroup(reward + first, n, rho_first, kSpoRhoMax, options_.n0, st, prompt, adv + first,
             base + first);
  }
  SpoNormalize(adv, rollouts);
}

ADVLAB_REGISTER_ESTIMATOR(
    spo, .name = "spo",
    .description = "SPO: A = R - p_hat of a per-prompt Beta tracker forgetting at rho = "
                   "2^(-D/0.06) (D: the policy's exact move), z-scored over the batch (stateful)",
    .make = [] { return std::make_unique<SpoEstimator>(); });

}  // namespace advlab
