// Test helpers for estimator tests (not linked into the tool).
#ifndef ADVLAB_ESTIMATORS_TESTING_H_
#define ADVLAB_ESTIMATORS_TESTING_H_

#include <string>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab::test_util {

// A batch whose groups hold the given rewards; correct means reward > 0. Rollout
// (g, i) has lengths[g][i] tokens (all zeros: token, state, log-prob), or one
// token when `lengths` is empty. Prompt ids are the group indices unless
// `prompts` is given.
inline Batch MakeGroupBatch(const std::vector<std::vector<double>>& groups,
                            const std::vector<std::vector<int>>& lengths = {},
                            const std::vector<int32_t>& prompts = {}) {
  if (!lengths.empty()) {
    EXPECT_EQ(groups.size(), lengths.size());
  }
  Batch b;
  b.Clear();
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!lengths.empty()) {
      EXPECT_EQ(groups[g].size(), lengths[g].size()) << "group " << g;
    }
    b.prompt.push_back(prompts.empty() ? static_cast<int32_t>(g) : prompts[g]);
    for (size_t i = 0; i < groups[g].size(); ++i) {
      const double r = groups[g][i];
      b.reward.push_back(r);
      b.correct.push_back(r > 0.0 ? 1 : 0);
      b.truncated.push_back(0);
      b.ResizeTokens(b.num_tokens() + (lengths.empty() ? 1 : lengths[g][i]));
      b.token_begin.push_back(static_cast<int32_t>(b.token.size()));
    }
    b.group_begin.push_back(static_cast<int32_t>(b.reward.size()));
  }
  return b;
}

// Half a unit in the 6th decimal: the precision of the reference vectors.
inline constexpr double k6dp = 5e-7;

// Advantages of a fresh instance of the registered estimator `name` on `batch`.
// A batch with what the estimators' sampling hooks read beside it (remax's
// greedy rewards, aapo's reference rewards), served by ComputeWith / ApplyWith
// as the loop's sampler serves them in training.
struct HookedBatch : Batch {
  FixedSampler extra;
};
template <class E>
void ComputeWith(E&& estimator, HookedBatch* b) {
  estimator.SampleExtra(&b->extra, *b);
  estimator.Compute(b);
}
template <class M>
void ApplyWith(M&& modifier, HookedBatch* b) {
  modifier.SampleExtra(&b->extra, *b);
  modifier.Apply(b);
}

inline std::vector<double> RegisteredAdvantages(const std::string& name, HookedBatch batch) {
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find(name);
  EXPECT_NE(entry, nullptr) << name;
  if (entry == nullptr) return {};
  ComputeWith(*entry->make(), &batch);
  EXPECT_EQ(batch.advantage.size(), batch.reward.size());
  return ToVector(batch.advantage);
}

inline std::vector<double> RegisteredAdvantages(const std::string& name, Batch batch) {
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find(name);
  EXPECT_NE(entry, nullptr) << name;
  if (entry == nullptr) return {};
  entry->make()->Compute(&batch);
  EXPECT_EQ(batch.advantage.size(), batch.reward.size());
  return ToVector(batch.advantage);
}

// got == want to 6 decimals, element by element.
inline void ExpectNear6(std::span<const double> got, const std::vector<double>& want,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], k6dp) << what << " [" << i << "]";
  }
}

}  // namespace advlab::test_util

#endif  // ADVLAB_ESTIMATORS_TESTING_H_
