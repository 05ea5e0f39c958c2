// Test helpers for estimator tests (not linked into the tool).
#ifndef ADVLAB_ESTIMATORS_TESTING_H_
#define ADVLAB_ESTIMATORS_TESTING_H_

#include <vector>

#include "sim/batch.h"

namespace advlab::test_util {

// A batch whose groups hold the given rewards, one token per rollout; correct
// means reward > 0.
inline Batch MakeGroupBatch(const std::vector<std::vector<double>>& groups) {
  Batch b;
  b.Clear();
  for (size_t g = 0; g < groups.size(); ++g) {
    b.prompt.push_back(static_cast<int32_t>(g));
    for (double r : groups[g]) {
      b.reward.push_back(r);
      b.correct.push_back(r > 0.0 ? 1 : 0);
      b.truncated.push_back(0);
      b.token.push_back(0);
      b.state.push_back(0);
      b.logprob.push_back(0.0);
      b.token_begin.push_back(static_cast<int32_t>(b.token.size()));
    }
    b.group_begin.push_back(static_cast<int32_t>(b.reward.size()));
  }
  return b;
}

}  // namespace advlab::test_util

#endif  // ADVLAB_ESTIMATORS_TESTING_H_
