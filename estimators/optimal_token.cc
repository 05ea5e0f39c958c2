#include "estimators/optimal_token.h"

#include <memory>

#include "estimators/optimal_baseline_step.h"
#include "sim/check.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {

void OptimalTokenEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(context_.task != nullptr && context_.policy != nullptr);
  Batch& b = *batch;
  const int rollouts = b.num_rollouts(), tokens = b.num_tokens();
  const bool token_rewards = !b.token_reward.empty();
  if (token_rewards) ADVLAB_CHECK_EQ(b.token_reward.size(), static_cast<size_t>(tokens));
  if (returns_.size() < static_cast<size_t>(tokens)) {
    returns_.resize(static_cast<size_t>(tokens));
    weights_.resize(static_cast<size_t>(tokens));
  }
  Policy* policy = context_.policy;
  const int32_t k = policy->num_actions();
  for (int r = 0; r < rollouts; ++r) {
    const int begin = b.token_begin[r], last = b.token_begin[r + 1] - 1;
    if (last < begin) continue;
    // Rewards per token (gae's split): KL rewards before the last token, the
    // rest of reward[r] on the last; then the reward-to-go, backwards.
    double kl_sum = 0.0;
    for (int t = begin; t < last; ++t) kl_sum += token_rewards ? b.token_reward[t] : 0.0;
    double g = token_rewards ? b.reward[r] - kl_sum : b.reward[r];
    returns_[last] = g;
    for (int t = last - 1; t >= begin; --t) {
      g += token_rewards ? b.token_reward[t] : 0.0;
      returns_[t] = g;
    }
    double w = 0.0;
    for (int t = begin; t <= last; ++t) {
      const double* pi = policy->Probs(b.state[t]);
      w += 1.0 - 2.0 * pi[b.token[t]] + SumOfSquares(pi, k);
      weights_[t] = w;
    }
  }
  b.token_advantage.resize(static_cast<size_t>(tokens));
  b.advantage.resize(static_cast<size_t>(rollouts));
  b.baseline.resize(static_cast<size_t>(rollouts));
  for (int grp = 0; grp < b.num_groups(); ++grp) {
    const int first = b.group_begin[grp], n = b.group_size(grp);
    const double b0 = OptimalTokenGroup(returns_.data(), weights_.data(),
                                        b.token_begin.data() + first, n,
                                        b.token_advantage.data());
    for (int i = 0; i < n; ++i) b.baseline[first + i] = b0;
  }
  for (int r = 0; r < rollouts; ++r) {
    b.advantage[r] = b.length(r) > 0 ? b.token_advantage[b.token_begin[r]] : 0.0;
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    optimal_token, .name = "optimal_token",
    .description = "verl optimal_token_baseline: per-token B_t = sum G_t W_t / sum W_t over the "
                   "group, W_t the cumulative 1 - 2 pi + sum pi^2 (needs the policy)",
    .needs_groups = true,
    .make = [] { return std::make_unique<OptimalTokenEstimator>(); },
    .needs_task = true);

}  // namespace advlab
