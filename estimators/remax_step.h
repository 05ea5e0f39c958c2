// Host/device step of remax (formula and citation: estimators/remax.h): one
// group's advantages against its greedy response's reward (an input: the loop's
// sampler decodes it, `advlab advantage` reads --greedy), plain arrays.
#ifndef ADVLAB_ESTIMATORS_REMAX_STEP_H_
#define ADVLAB_ESTIMATORS_REMAX_STEP_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/features.h"

namespace advlab {

// One group of n rollouts whose greedy response scored `greedy` (reward units;
// never NaN: planning reads finite --greedy values, and every registered task
// family decodes greedily): adv[i] = R_i - greedy. With token_reward non-null
// (a KL reward), token_adv gets the reward-to-go minus the baseline,
// (R_i - sum of the earlier tokens' rewards) - greedy, at the absolute token
// indices token_begin[i] .. token_begin[i + 1] - 1 (token_begin points at the
// group's first rollout's offset; token_reward and token_adv at token 0).
ADVLAB_HD inline void RemaxGroup(const double* reward, int n, double greedy,
                                 const int32_t* token_begin, const double* token_reward,
                                 double* adv, double* token_adv) {
  ADVLAB_HD_CHECK(greedy == greedy);  // not NaN
  for (int i = 0; i < n; ++i) {
    const double r = reward[i];
    adv[i] = r - greedy;  // = the first token's value when token-level
    if (token_reward == nullptr) continue;
    // ret_t = R - (reward of the tokens before t): R holds every token's
    // reward and the outcome sits on the last one.
    double before = 0.0;
    for (int t = token_begin[i]; t < token_begin[i + 1]; ++t) {
      token_adv[t] = (r - before) - greedy;
      before += token_reward[t];
    }
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REMAX_STEP_H_
