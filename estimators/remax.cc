#include "estimators/remax.h"

#include <cstddef>
#include <memory>

#include "estimators/remax_step.h"
#include "sim/check.h"

namespace advlab {

void RemaxEstimator::Compute(Batch* batch) {
  const int groups = batch->num_groups();
  // Planning guarantees one finite greedy reward per group: the loop's sampler
  // decodes one per group (every registered task family decodes greedily;
  // remax_test checks them all), `advlab advantage` requires --greedy and reads
  // one finite value per group. RemaxGroup checks each is not NaN.
  ADVLAB_CHECK_EQ(greedy_reward_.size(), static_cast<size_t>(groups));
  const bool token_level = !batch->token_reward.empty();
  if (token_level) ADVLAB_CHECK_EQ(batch->token_reward.size(), batch->token.size());
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  if (token_level) {
    batch->token_advantage.resize(static_cast<size_t>(batch->num_tokens()));
  } else {
    batch->token_advantage.clear();  // a stale one would override advantage[r] in the loss
  }
  const double* reward = batch->reward.data();
  const double* token_reward = token_level ? batch->token_reward.data() : nullptr;
  double* token_adv = token_level ? batch->token_advantage.data() : nullptr;
  double* adv = batch->advantage.data();
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  for (int g = 0; g < groups; ++g) {
    const int first = batch->group_begin[g];
    for (int r = first; r < batch->group_begin[g + 1]; ++r) batch->baseline[r] = greedy_reward_[g];
    RemaxGroup(reward + first, batch->group_begin[g + 1] - first, greedy_reward_[g],
               batch->token_begin.data() + first, token_reward, adv + first, token_adv);
  }
}

ADVLAB_REGISTER_ESTIMATOR(remax, .name = "remax",
                          .description = "ReMax: A = R - reward of the prompt's greedy response "
                                         "(token-level reward-to-go with a KL reward; needs the "
                                         "greedy rewards)",
                          .needs_groups = false,
                          .make = [] { return std::make_unique<RemaxEstimator>(); },
                          .needs_task = false,
                          .needs_greedy = true);

}  // namespace advlab
