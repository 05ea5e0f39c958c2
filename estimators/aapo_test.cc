// AAPO on hand-derived groups: both pairings, both clip bounds, all-equal
// groups, composition with grpo and dash, a token-level base, config keys and the
// error without reference rewards.
#include "estimators/aapo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "estimators/testing.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

using test_util::ExpectNear6;

// Groups of rewards with their reference rewards (same shape), every advantage
// preset to `a0` so the added margin is directly visible.
test_util::HookedBatch WithReference(const std::vector<std::vector<double>>& rewards,
                                     const std::vector<std::vector<double>>& ref, double a0 = 0.0,
                                     const std::vector<std::vector<int>>& lengths = {}) {
  test_util::HookedBatch b;
  static_cast<Batch&>(b) = test_util::MakeGroupBatch(rewards, lengths);
  for (const auto& group : ref) {
    b.extra.reference.insert(b.extra.reference.end(), group.begin(), group.end());
  }
  EXPECT_EQ(b.extra.reference.size(), b.reward.size());
  b.advantage.assign(b.num_rollouts(), a0);
  return b;
}

AapoOptions Pairing(AapoOptions::Pairing p) {
  AapoOptions o;
  o.pairing = p;
  return o;
}

// Why planning refuses grpo+aapo on `b` ("" when it does not).
std::string PlanError(const test_util::HookedBatch& b) {
  return BareBatchRefusal(ParseEstimatorName("grpo+aapo"), b, b.extra);
}

TEST(AapoTest, RegisteredAsAReferenceModifier) {
  const ModifierEntry* m = ModifierRegistry::Get().Find("aapo");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->needs_reference);
  EXPECT_FALSE(m->needs_groups);  // pairwise works at G = 1
  EXPECT_FALSE(ParseEstimatorName("reinforce+aapo").needs_groups());
  for (const char* other : {"adora", "dash", "dapo"}) {
    EXPECT_FALSE(ModifierRegistry::Get().Find(other)->needs_reference) << other;
  }
}

// delta = r - ref: 1 - 0 = 1 > 0.28 clips to +0.28; 0 - 1 = -1 < -0.2 clips to
// -0.2; 0.5 - 0.375 and 0.25 - 0.375 (+-0.125, exact in binary) pass through.
TEST(AapoTest, PairwiseClipsAboveAndBelowAndPassesInside) {
  test_util::HookedBatch b = WithReference({{1, 0, 0.5, 0.25}}, {{0, 1, 0.375, 0.375}}, 1.0);
  test_util::ApplyWith(AapoModifier(), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{1 + 0.28, 1 - 0.2, 1.125, 0.875}));
}

TEST(AapoTest, PairwisePairsIndexByIndex) {
  // The same reference rewards in another order give other margins.
  test_util::HookedBatch a = WithReference({{1, 0, 0, 1}}, {{0, 0, 1, 1}});
  test_util::HookedBatch b = WithReference({{1, 0, 0, 1}}, {{1, 1, 0, 0}});
  test_util::ApplyWith(AapoModifier(), &a);
  test_util::ApplyWith(AapoModifier(), &b);
  EXPECT_EQ(a.advantage, (std::vector<double>{0.28, 0, -0.2, 0}));
  EXPECT_EQ(b.advantage, (std::vector<double>{0, -0.2, 0, 0.28}));
}

// ref_mean: delta = r - mean(ref of the group). Group 1: mean 0.5, deltas
// +-0.5 clip to 0.28 / -0.2. Group 2: mean 0.25; 1 -> 0.75 -> 0.28, 0 -> -0.25 ->
// -0.2, 0.375 -> 0.125 and 0.125 -> -0.125 inside.
TEST(AapoTest, RefMeanUsesTheGroupsReferenceMean) {
  test_util::HookedBatch b = WithReference({{1, 0, 0, 1}, {1, 0, 0.375, 0.125}},
                          {{0, 0, 1, 1}, {0, 0, 0, 1}});
  test_util::ApplyWith(AapoModifier(Pairing(AapoOptions::Pairing::kRefMean)), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{0.28, -0.2, -0.2, 0.28, 0.28, -0.2, 0.125, -0.125}));
}

// Under any group estimator all-equal groups have A = 0; AAPO's term is not zero
// unless policy and reference agree.
TEST(AapoTest, AllCorrectAndAllWrongGroupsGetTheMargin) {
  test_util::HookedBatch b = WithReference({{1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}},
                          {{0, 0, 0, 0}, {1, 0, 1, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}});
  test_util::ComputeWith(*MakeEstimator("grpo+aapo"), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{0.28, 0.28, 0.28, 0.28,   // reference fails
                                              0, 0.28, 0, 0.28,         // pairwise
                                              -0.2, -0.2, 0, 0,         // reference succeeds
                                              0, 0, 0, 0,               // both fail
                                              0, 0, 0, 0}));            // both succeed
  // ref_mean: the all-correct group's reference mean 0.5 gives +0.28 on all four.
  test_util::HookedBatch c = WithReference({{1, 1, 1, 1}, {0, 0, 0, 0}}, {{1, 0, 1, 0}, {1, 1, 0, 0}});
  test_util::ComputeWith(*MakeEstimator("grpo"), &c);
  test_util::ApplyWith(AapoModifier(Pairing(AapoOptions::Pairing::kRefMean)), &c);
  EXPECT_EQ(c.advantage, (std::vector<double>{0.28, 0.28, 0.28, 0.28, -0.2, -0.2, -0.2, -0.2}));
}

// papers.md §2.7: with binary rewards and the pairwise margin, a correct
// rollout's margin averages 0.28 (1 - p_ref), a wrong one's -0.2 p_ref.
TEST(AapoTest, PairwiseMarginMeansFollowTheExpectedValueAnalysis) {
  // Every reference outcome pattern of one success in four (p_ref = 1/4).
  test_util::HookedBatch b = WithReference({{1, 1, 1, 1}, {0, 0, 0, 0}}, {{1, 0, 0, 0}, {0, 1, 0, 0}});
  test_util::ApplyWith(AapoModifier(), &b);
  double correct = 0, wrong = 0;
  for (int r = 0; r < 4; ++r) correct += b.advantage[r] / 4;
  for (int r = 4; r < 8; ++r) wrong += b.advantage[r] / 4;
  EXPECT_NEAR(correct, 0.28 * (1 - 0.25), 1e-15);
  EXPECT_NEAR(wrong, -0.2 * 0.25, 1e-15);
}

// grpo on [1,0,0,1] (A = +-0.866024, estimators.md §12.1) plus the pairwise margin
// against [0,0,1,1]: +0.28 on rollout 0, -0.2 on rollout 2.
TEST(AapoTest, ComposesAfterGrpo) {
  test_util::HookedBatch b = WithReference({{1, 0, 0, 1}, {0, 0, 0, 1}}, {{0, 0, 1, 1}, {0, 0, 0, 0}});
  std::unique_ptr<Estimator> e = MakeEstimator("grpo+aapo");
  e->Bind(EstimatorContext{});  // unbound: the defaults
  test_util::ComputeWith(*e, &b);
  ExpectNear6(b.advantage,
              {1.146024, -0.866024, -1.066024, 0.866024, -0.499999, -0.499999, -0.499999, 1.779997},
              "grpo+aapo");
  // The same as grpo's advantages plus the margins, bit for bit.
  test_util::HookedBatch g = WithReference({{1, 0, 0, 1}, {0, 0, 0, 1}}, {{0, 0, 1, 1}, {0, 0, 0, 0}});
  test_util::ComputeWith(*MakeEstimator("grpo"), &g);
  const std::vector<double> margin = {0.28, 0, -0.2, 0, 0, 0, 0, 0.28};
  for (int r = 0; r < 8; ++r) EXPECT_EQ(b.advantage[r], g.advantage[r] + margin[r]) << r;
}

TEST(AapoTest, DashBeforeAapoKeepsDroppedRolloutsAtZero) {
  // grpo+dash drops the all-correct group (A = 0); aapo leaves it out.
  test_util::HookedBatch b = WithReference({{1, 0, 0, 1}, {1, 1, 1, 1}}, {{0, 0, 0, 0}, {0, 0, 0, 0}});
  test_util::ComputeWith(*MakeEstimator("grpo+dash+aapo"), &b);
  EXPECT_EQ(b.kept, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));
  for (int r = 4; r < 8; ++r) EXPECT_EQ(b.advantage[r], 0.0) << r;
  EXPECT_NEAR(b.advantage[0], 0.866024 + 0.28, 1e-6);
  // aapo before dash: the all-correct group's +0.28 survives the 0.1 threshold.
  test_util::HookedBatch c = WithReference({{1, 0, 0, 1}, {1, 1, 1, 1}}, {{0, 0, 0, 0}, {0, 0, 0, 0}});
  test_util::ComputeWith(*MakeEstimator("grpo+aapo+dash"), &c);
  EXPECT_EQ(c.kept, (std::vector<uint8_t>(8, 1)));
  for (int r = 4; r < 8; ++r) EXPECT_EQ(c.advantage[r], 0.28) << r;
}

// A token-level base (token_advantage non-empty): every token of a rollout gets
// its rollout's margin, as well as the sequence advantage.
TEST(AapoTest, TokenLevelBaseGetsTheMarginOnEveryToken) {
  test_util::HookedBatch b = WithReference({{1, 0}}, {{0, 1}}, 0.5, {{2, 3}});
  b.token_advantage = {0.1, 0.2, -0.1, -0.2, -0.3};
  test_util::ApplyWith(AapoModifier(), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{0.5 + 0.28, 0.5 - 0.2}));
  EXPECT_EQ(b.token_advantage,
            (std::vector<double>{0.1 + 0.28, 0.2 + 0.28, -0.1 - 0.2, -0.2 - 0.2, -0.3 - 0.2}));
  // Without token advantages none are created.
  test_util::HookedBatch c = WithReference({{1, 0}}, {{0, 1}}, 0.5, {{2, 3}});
  test_util::ApplyWith(AapoModifier(), &c);
  EXPECT_TRUE(c.token_advantage.empty());
}

TEST(AapoTest, SingletonGroupsWorkPairwise) {
  test_util::HookedBatch b = WithReference({{1}, {0}, {1}}, {{0}, {1}, {1}});
  test_util::ComputeWith(*MakeEstimator("reinforce+aapo"), &b);
  EXPECT_EQ(b.advantage, (std::vector<double>{1 + 0.28, -0.2, 1}));
}

// Apply does not throw: planning (BareBatchRefusal, `advlab advantage`)
// refuses a batch without one reference reward per rollout.
TEST(AapoTest, RefusesABatchWithoutReferenceRewardsWhenPlanning) {
  test_util::HookedBatch b;
  static_cast<Batch&>(b) = test_util::MakeGroupBatch({{1, 0, 0, 1}});
  b.advantage.assign(4, 0.0);
  const std::string e = PlanError(b);
  EXPECT_NE(e.find("aapo needs the reference policy's rewards"), std::string::npos) << e;
  EXPECT_NE(e.find("--reference FILE"), std::string::npos) << e;
  EXPECT_NE(e.find("got 0 reference rewards for 4 rollouts"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  b.extra.reference = {0, 1, 0};  // one short
  EXPECT_NE(PlanError(b).find("got 3 reference rewards for 4 rollouts"), std::string::npos);
  b.extra.reference = {0, 1, 0, 1};
  EXPECT_EQ(PlanError(b), "");
}

TEST(AapoTest, KeysBindFromTheConfig) {
  const Config config = Config::Resolve({{"estimator.aapo_pairing", "ref_mean"},
                                         {"estimator.aapo_low", "0.5"},
                                         {"estimator.aapo_high", "1"}});
  // ref mean 0.25: 1 -> 0.75 (inside [-0.5, 1]), 0 -> -0.25, 0.5 -> 0.25.
  test_util::HookedBatch b = WithReference({{1, 0, 0.5, 0}}, {{0, 1, 0, 0}});
  std::unique_ptr<Estimator> e = MakeEstimator("dr_grpo+aapo");
  e->Bind(EstimatorContext{&config});
  test_util::ComputeWith(*e, &b);
  // dr_grpo: r - 0.375.
  EXPECT_EQ(b.advantage, (std::vector<double>{0.625 + 0.75, -0.375 - 0.25, 0.125 + 0.25,
                                              -0.375 - 0.25}));
  // Bounds of 0 turn the term off; pairwise is the default pairing.
  const Config off =
      Config::Resolve({{"estimator.aapo_low", "0"}, {"estimator.aapo_high", "0"}});
  test_util::HookedBatch c = WithReference({{1, 0}}, {{0, 1}}, 0.5);
  AapoModifier m;
  m.Bind(EstimatorContext{&off});
  test_util::ApplyWith(m, &c);
  EXPECT_EQ(c.advantage, (std::vector<double>{0.5, 0.5}));
  // The defaults as keys.
  const Config defaults = Config::Resolve({});
  EXPECT_EQ(defaults.Str("estimator.aapo_pairing"), "pairwise");
  EXPECT_EQ(defaults.Float("estimator.aapo_low"), 0.2);
  EXPECT_EQ(defaults.Float("estimator.aapo_high"), 0.28);
}

TEST(AapoTest, BadKeyValuesNameTheKey) {
  auto error = [](const std::string& key, const std::string& value) {
    try {
      Config::Resolve({{key, value}});
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"estimator.aapo_low", "-0.1"},
           {"estimator.aapo_high", "11"},
           {"estimator.aapo_high", "nan"},
           {"estimator.aapo_pairing", "mean"}}) {
    const std::string e = error(key, value);
    EXPECT_NE(e.find(key), std::string::npos) << key << "=" << value << ": " << e;
  }
  EXPECT_NE(error("estimator.aapo_pairing", "mean").find("ref_mean"), std::string::npos);
  EXPECT_EQ(error("estimator.aapo_high", "10"), "");
}

}  // namespace
}  // namespace advlab
