#include "estimators/remax.h"

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>

#include "sim/check.h"
#include "sim/error.h"

namespace advlab {

void RemaxEstimator::Compute(Batch* batch) {
  const int groups = batch->num_groups();
  if (greedy_reward_.size() != static_cast<size_t>(groups)) {
    throw UserError("estimator 'remax' needs the greedy responses' rewards, one per group (got " +
                    std::to_string(greedy_reward_.size()) + " for " + std::to_string(groups) +
                    " groups); in training the loop supplies them, in `advlab advantage` use "
                    "--greedy FILE");
  }
  for (int g = 0; g < groups; ++g) {
    if (std::isnan(greedy_reward_[g])) {
      throw UserError("estimator 'remax': the greedy reward of group " + std::to_string(g + 1) +
                      " is NaN (a task family without greedy decoding?)");
    }
  }
  const bool token_level = !batch->token_reward.empty();
  if (token_level) ADVLAB_CHECK_EQ(batch->token_reward.size(), batch->token.size());
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  if (token_level) {
    batch->token_advantage.resize(static_cast<size_t>(batch->num_tokens()));
  } else {
    batch->token_advantage.clear();  // a stale one would override advantage[r] in the loss
  }
  for (int g = 0; g < groups; ++g) {
    const double b = greedy_reward_[g];
    for (int r = batch->group_begin[g]; r < batch->group_begin[g + 1]; ++r) {
      const double reward = batch->reward[r];
      batch->advantage[r] = reward - b;  // = the first token's value when token-level
      if (!token_level) continue;
      // ret_t = R - (reward of the tokens before t): R holds every token's
      // reward and the outcome sits on the last one.
      double before = 0.0;
      for (int t = batch->token_begin[r]; t < batch->token_begin[r + 1]; ++t) {
        batch->token_advantage[t] = (reward - before) - b;
        before += batch->token_reward[t];
      }
    }
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
