#include "estimators/reinforce_pp.h"

#include <memory>
#include <span>
#include <vector>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {
namespace {

// verl masked_whiten of the per-rollout values in batch->advantage, each
// broadcast over its rollout's tokens (MaskedWhitenStats with weight L_r, shared
// with gae); in place. `name` prefixes the error.
void TokenWeightedWhitenInPlace(Batch* batch, const char* name) {
  const Batch& b = *batch;
  BatchArray<double>& c = batch->advantage;
  const int rollouts = b.num_rollouts();
  ADVLAB_CHECK_EQ(b.token_begin.size(), static_cast<size_t>(rollouts) + 1);
  ADVLAB_CHECK_EQ(c.size(), static_cast<size_t>(rollouts));

  const WhitenStats stats = MaskedWhitenStats(
      c.data(), rollouts, [&b](int r) { return static_cast<double>(b.length(r)); }, name);
  for (int r = 0; r < rollouts; ++r) {
    // verl multiplies by the mask: a rollout without tokens carries nothing.
    c[r] = b.length(r) > 0 ? (c[r] - stats.mean) / stats.stddev : 0.0;
  }
}

}  // namespace

void ReinforcePlusPlusEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  if (subtract_group_mean_) {
    ForEachGroup(batch, [](std::span<const double> rewards, double* adv) {
      const size_t n = rewards.size();
      const double mean = n > 1 ? GroupMean(rewards) : 0.0;  // verl: singleton mean 0
      for (size_t i = 0; i < n; ++i) adv[i] = rewards[i] - mean;
    });
    TokenWeightedWhitenInPlace(batch, "reinforce_pp_baseline");
  } else {
    batch->advantage.assign(batch->reward.begin(), batch->reward.end());
    TokenWeightedWhitenInPlace(batch, "reinforce_pp");
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    reinforce_pp, .name = "reinforce_pp",
    .description = "REINFORCE++ (gamma 1): A = R whitened over all valid tokens of the batch "
                   "(verl reinforce_plus_plus)",
    .make = [] { return std::make_unique<ReinforcePlusPlusEstimator>(false); });

ADVLAB_REGISTER_ESTIMATOR(
    reinforce_pp_baseline, .name = "reinforce_pp_baseline",
    .description = "REINFORCE++-baseline: A = (R - group mean) whitened over all valid tokens of "
                   "the batch (verl reinforce_plus_plus_baseline)",
    .needs_groups = true,
    .make = [] { return std::make_unique<ReinforcePlusPlusEstimator>(true); });

}  // namespace advlab
