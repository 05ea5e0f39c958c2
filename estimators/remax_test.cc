// remax: the estimators.md §12.1 vector, the token-level reward-to-go with a KL
// reward (§2.9), the all-correct / all-wrong cases and the refusals.
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/testing.h"

#include "estimators/remax.h"
#include "sim/batch.h"
#include "sim/error.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

using test_util::ExpectNear6;
using test_util::MakeGroupBatch;
using test_util::RegisteredAdvantages;

using Groups = std::vector<std::vector<double>>;

const Groups kS = {{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}};

test_util::HookedBatch WithGreedy(Batch batch, std::vector<double> greedy) {
  test_util::HookedBatch b;
  static_cast<Batch&>(b) = std::move(batch);
  b.extra.greedy = std::move(greedy);
  return b;
}

TEST(RemaxTest, EntryIsRegisteredAsAGreedyNonGroupEstimator) {
  const EstimatorEntry* e = EstimatorRegistry::Get().Find("remax");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->needs_groups);
  EXPECT_FALSE(e->needs_task);
  EXPECT_TRUE(e->needs_greedy);
}

// §12.1, last row: greedy baselines A = 1, B = 1, C = 0. Exact: R - b of 0/1.
TEST(RemaxTest, ReproducesTheS1Vector) {
  const std::vector<double> a =
      RegisteredAdvantages("remax", WithGreedy(MakeGroupBatch(kS), {1, 1, 0}));
  const std::vector<double> want = {0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  ExpectNear6(a, want, "remax S1");
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(a[i], want[i]) << i;
}

// Sequence-level with lengths (S2): no token rewards, so the advantage is one
// value per rollout and token_advantage stays empty (even if stale).
TEST(RemaxTest, LengthsDoNotMatterWithoutTokenRewards) {
  test_util::HookedBatch b = WithGreedy(MakeGroupBatch(kS, {{2, 3, 4, 1}, {3, 3, 2, 4}, {1, 2, 3, 4}}), {1, 1, 0});
  b.token_advantage.assign(5, 9.0);
  test_util::ComputeWith(RemaxEstimator(), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_TRUE(b.token_advantage.empty());
}

// The documented all-equal behaviour: zero only when the greedy response agrees.
TEST(RemaxTest, AllEqualGroupsFollowTheGreedyResponse) {
  const std::vector<double> a = RegisteredAdvantages(
      "remax", WithGreedy(MakeGroupBatch({{1, 1, 1}, {1, 1, 1}, {0, 0}, {0, 0}}), {1, 0, 0, 1}));
  EXPECT_EQ(a, (std::vector<double>{0, 0, 0, 1, 1, 1, 0, 0, -1, -1}));
}

// Non-binary rewards and a singleton: plain R - b, no normalisation.
TEST(RemaxTest, IsRewardMinusBaselineWithoutNormalisation) {
  const std::vector<double> a = RegisteredAdvantages(
      "remax", WithGreedy(MakeGroupBatch({{0.7}, {-1, 2.5, 0.25}}), {0.5, 0.25}));
  EXPECT_EQ(a, (std::vector<double>{0.7 - 0.5, -1.25, 2.25, 0.0}));
}

// Token-level with a KL reward. Group 0 (b = 1): rollout 0 has 3 tokens with
// token rewards k = [-0.25, -0.125, -0.5] and R = 1 + sum k = 0.125; rollout 1
// has 1 token, k = [-0.0625], R = -0.0625. Group 1 (b = 0): rollout 2 has 2
// tokens, k = [-0.5, 0.25], R = 1 - 0.25 = 0.75. All dyadic, so exact.
//   ret(rollout 0) = [0.125, 0.375, 0.5]   (the last token: 1 + k_2 = 0.5)
//   ret(rollout 1) = [-0.0625]
//   ret(rollout 2) = [0.75, 1.25]          (1 + k_1 = 1.25)
TEST(RemaxTest, TokenLevelRewardToGoWithAKlReward) {
  test_util::HookedBatch b = WithGreedy(MakeGroupBatch({{0.125, -0.0625}, {0.75}}, {{3, 1}, {2}}), {1, 0});
  b.token_reward = {-0.25, -0.125, -0.5, -0.0625, -0.5, 0.25};
  test_util::ComputeWith(RemaxEstimator(), &b);
  EXPECT_EQ(b.token_advantage,
            (std::vector<double>{0.125 - 1, 0.375 - 1, 0.5 - 1, -0.0625 - 1, 0.75, 1.25}));
  // advantage[r] is the first token's value: R - b.
  EXPECT_EQ(b.advantage, (std::vector<double>{-0.875, -1.0625, 0.75}));
  // The last token carries outcome + its own KL term: 1 + k = ret_last.
  EXPECT_EQ(b.token_advantage[2] + 1, 1 + b.token_reward[2]);
}

// Zero token rewards: the token-level values equal the sequence-level ones.
TEST(RemaxTest, ZeroTokenRewardsGiveTheSequenceAdvantageOnEveryToken) {
  const std::vector<std::vector<int>> lengths = {{2, 3, 4, 1}, {3, 3, 2, 4}, {1, 2, 3, 4}};
  test_util::HookedBatch b = WithGreedy(MakeGroupBatch(kS, lengths), {1, 1, 0});
  b.token_reward.assign(static_cast<size_t>(b.num_tokens()), 0.0);
  test_util::ComputeWith(RemaxEstimator(), &b);
  ASSERT_EQ(b.token_advantage.size(), 32u);
  for (int r = 0; r < b.num_rollouts(); ++r) {
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      EXPECT_EQ(b.token_advantage[t], b.advantage[r]) << "rollout " << r << " token " << t;
    }
  }
}

// Compute does not throw: planning (BareBatchRefusal, `advlab advantage`)
// refuses missing or NaN greedy rewards.
TEST(RemaxTest, MissingGreedyRewardsAreRefusedWhenPlanning) {
  const EstimatorSpec spec = ParseEstimatorName("remax");
  for (const std::vector<double>& greedy : {std::vector<double>{}, std::vector<double>{1, 0}}) {
    const test_util::HookedBatch b = WithGreedy(MakeGroupBatch(kS), greedy);
    const std::string msg = BareBatchRefusal(spec, b, b.extra);
    EXPECT_NE(msg.find("greedy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--greedy"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  const test_util::HookedBatch ok = WithGreedy(MakeGroupBatch(kS), {1, 0, 0});
  EXPECT_EQ(BareBatchRefusal(spec, ok, ok.extra), "");
}

TEST(RemaxTest, NanGreedyRewardIsRefusedWhenPlanning) {
  const test_util::HookedBatch b = WithGreedy(MakeGroupBatch(kS), {1, std::nan(""), 0});
  EXPECT_EQ(BareBatchRefusal(ParseEstimatorName("remax"), b, b.extra),
            "estimator 'remax': the greedy reward of group 2 is NaN (a task family without "
            "greedy decoding?)");
}

// In training the greedy rewards come from the task: every registered family
// decodes greedily, so none is NaN (what lets the step only check it).
TEST(RemaxTest, EveryTaskFamilyDecodesGreedily) {
  for (const std::string& env : TaskRegistry::Get().Names()) {
    const Config config = Config::Resolve({{"env.name", env}});
    std::unique_ptr<Task> task = TaskRegistry::Get().Find(env)->make(config, 1);
    std::unique_ptr<Policy> policy = PolicyRegistry::Get().Find("tabular")->make(config, *task);
    int32_t length = 0;
    const double r = task->GreedyReward(policy.get(), 0, &length);
    EXPECT_FALSE(std::isnan(r)) << env;
    EXPECT_GE(length, 1) << env;
  }
}

}  // namespace
}  // namespace advlab
