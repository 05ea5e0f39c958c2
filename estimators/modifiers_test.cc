// ADORA and DASH on hand-derived groups; composition by name.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "estimators/adora.h"
#include "estimators/dash.h"
#include "estimators/testing.h"
#include "sim/error.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

struct Rollout {
  double reward;
  int length;
  bool truncated = false;
};

// One group per inner vector; every advantage preset to 1 (a modifier's
// weight is then directly visible).
Batch Groups(const std::vector<std::vector<Rollout>>& groups) {
  std::vector<std::vector<double>> rewards;
  std::vector<std::vector<int>> lengths;
  for (const auto& group : groups) {
    rewards.emplace_back();
    lengths.emplace_back();
    for (const Rollout& r : group) {
      rewards.back().push_back(r.reward);
      lengths.back().push_back(r.length);
    }
  }
  Batch b = test_util::MakeGroupBatch(rewards, lengths);
  int r = 0;
  for (const auto& group : groups) {
    for (const Rollout& x : group) b.truncated[r++] = x.truncated;
  }
  b.advantage.assign(b.num_rollouts(), 1.0);
  return b;
}

std::vector<double> GroupWeights(const Batch& b) {
  std::vector<double> w;
  for (int g = 0; g < b.num_groups(); ++g) w.push_back(b.advantage[b.group_begin[g]]);
  return w;
}

AdoraOptions Opts(AdoraOptions::Criterion c, AdoraOptions::Mode m,
                  AdoraOptions::Variant v = AdoraOptions::Variant::kPaper) {
  AdoraOptions o;
  o.criterion = c;
  o.mode = m;
  o.variant = v;
  return o;
}

using C = AdoraOptions::Criterion;
using M = AdoraOptions::Mode;
using V = AdoraOptions::Variant;

TEST(AdoraTest, LengthCriterionAttenuates) {
  Batch b = Groups({
      {{1, 5}, {0, 3}, {1, 2}, {0, 3}},                // max correct 5 > mean wrong 3: TAS
      {{1, 2}, {0, 4}, {0, 6}, {0, 5}},                // 2 > 5: no, TDS
      {{1, 3}, {0, 9, true}, {0, 2}, {0, 2}},          // the truncated 9 is ignored: 3 > 2, TAS
      {{1, 4}, {0, 4}, {0, 4}, {1, 1}},                // 4 > 4: no (strict), TDS
      {{1, 2}, {1, 3}, {1, 1}, {1, 2}},                // no wrong rollout: TAS
      {{0, 2}, {0, 3}, {0, 1}, {0, 2}},                // no correct rollout: TAS (paper)
  });
  AdoraModifier m(Opts(C::kLength, M::kAttenuate));
  m.Apply(&b);
  EXPECT_EQ(GroupWeights(b), (std::vector<double>{1, 0.1, 1, 0.1, 1, 1}));
  StepStats stats;
  m.AddStats(&stats);
  EXPECT_EQ(stats.tas_groups, 4);
  EXPECT_EQ(stats.judged_groups, 6);
  EXPECT_DOUBLE_EQ(stats.weight_sum, 4 * 1.0 + 2 * 0.1);  // adora_weight 4.2 / 6
  EXPECT_EQ(stats.mixed_groups, 4);      // the all-correct and all-wrong groups are not
  EXPECT_EQ(stats.tas_mixed_groups, 2);  // groups 0 and 2 (tas_mixed_frac 1/2)
}

TEST(AdoraTest, CodeVariantAttenuatesGroupsWithoutACorrectRollout) {
  const std::vector<std::vector<Rollout>> groups = {
      {{0, 2}, {0, 3}, {0, 1}, {0, 2}},          // no correct rollout: -inf > x is false
      {{1, 2}, {1, 3}, {1, 1}, {1, 2}},          // no wrong rollout: x > -inf
      {{0, 2}, {0, 3, true}, {0, 1, true}, {0, 2}}};
  Batch paper = Groups(groups), code = Groups(groups);
  AdoraModifier(Opts(C::kLength, M::kAttenuate, V::kPaper)).Apply(&paper);
  AdoraModifier(Opts(C::kLength, M::kAttenuate, V::kCode)).Apply(&code);
  EXPECT_EQ(GroupWeights(paper), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(GroupWeights(code), (std::vector<double>{0.1, 1, 0.1}));
}

TEST(AdoraTest, DifficultyCriterionAmplifies) {
  Batch b = Groups({
      {{1, 1}, {0, 1}, {0, 1}, {0, 1}},  // 0.25 <= 0.5: TAS, x2
      {{1, 1}, {1, 1}, {0, 1}, {0, 1}},  // 0.5 <= 0.5: TAS
      {{1, 1}, {1, 1}, {1, 1}, {0, 1}},  // 0.75: TDS, x1
      {{0, 1}, {0, 1}, {0, 1}, {0, 1}},  // 0: TAS (its advantages are 0 anyway)
  });
  AdoraModifier m(Opts(C::kDifficulty, M::kAmplify));
  m.Apply(&b);
  EXPECT_EQ(GroupWeights(b), (std::vector<double>{2, 2, 1, 2}));
  StepStats stats;
  m.AddStats(&stats);
  EXPECT_EQ(stats.tas_groups, 3);
  EXPECT_EQ(stats.weight_sum, 7.0);  // 2 + 2 + 1 + 2
  EXPECT_EQ(stats.mixed_groups, 3);
  EXPECT_EQ(stats.tas_mixed_groups, 2);
  // tau moves the boundary.
  AdoraOptions o = Opts(C::kDifficulty, M::kAmplify);
  o.tau = 0.3;
  o.weight = 3;
  Batch c = Groups({{{1, 1}, {0, 1}, {0, 1}, {0, 1}}, {{1, 1}, {1, 1}, {0, 1}, {0, 1}}});
  AdoraModifier(o).Apply(&c);
  EXPECT_EQ(GroupWeights(c), (std::vector<double>{3, 1}));
}

// Token-level bases (gae, remax with a KL reward): every token of a group gets
// the group's weight, not only the sequence advantage.
TEST(AdoraTest, WeighsTokenLevelAdvantagesToo) {
  Batch b = Groups({
      {{1, 2}, {0, 3}, {0, 1}, {0, 1}},  // TAS (0.25): x2
      {{1, 2}, {1, 1}, {1, 1}, {0, 3}},  // TDS (0.75): x1
  });
  b.token_advantage.resize(b.num_tokens());
  for (int t = 0; t < b.num_tokens(); ++t) b.token_advantage[t] = 0.5 + t;
  const std::vector<double> before = ToVector(b.token_advantage);
  AdoraModifier(Opts(C::kDifficulty, M::kAmplify)).Apply(&b);
  for (int r = 0; r < b.num_rollouts(); ++r) {
    const double w = r < 4 ? 2.0 : 1.0;
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      EXPECT_EQ(b.token_advantage[t], w * before[t]) << t;
    }
  }
}

TEST(AdoraTest, BothCriteriaMustHold) {
  Batch b = Groups({
      {{1, 5}, {0, 3}, {0, 3}, {0, 3}},  // length TAS, rate 0.25: TAS
      {{1, 5}, {1, 3}, {1, 3}, {0, 3}},  // length TAS, rate 0.75: TDS
      {{1, 1}, {0, 3}, {0, 3}, {0, 3}},  // length TDS, rate 0.25: TDS
  });
  AdoraModifier(Opts(C::kBoth, M::kAttenuate)).Apply(&b);
  EXPECT_EQ(GroupWeights(b), (std::vector<double>{1, 0.1, 0.1}));
}

TEST(AdoraTest, ObservedRewardNotTruthDecides) {
  // A noisy verifier flipped rollout 0 to 0: the trainer sees 1 success of 4.
  Batch b = Groups({{{0, 1}, {1, 1}, {0, 1}, {0, 1}}});
  b.correct[0] = 1;  // the truth, invisible to ADORA
  AdoraModifier(Opts(C::kDifficulty, M::kAmplify)).Apply(&b);
  EXPECT_EQ(GroupWeights(b), (std::vector<double>{2}));
}

TEST(DashTest, DropsSmallAdvantagesAndMarksThem) {
  Batch b = Groups({{{1, 1}, {0, 1}, {0, 1}, {1, 1}}});
  b.advantage = {0.5, -0.05, 0.1, -0.3};
  DashModifier(0.1).Apply(&b);
  EXPECT_EQ(b.kept, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(b.advantage, (std::vector<double>{0.5, 0.0, 0.0, -0.3}));
}

// With binary rewards and grpo, |A| >= 1/sqrt(G) in every mixed group, so the
// default threshold drops exactly the all-equal groups (papers.md §3.2).
TEST(DashTest, OnGrpoDropsExactlyTheZeroVarianceGroups) {
  Batch b = Groups({{{1, 1}, {0, 1}, {0, 1}, {0, 1}},
                    {{1, 1}, {1, 1}, {1, 1}, {1, 1}},
                    {{1, 1}, {1, 1}, {1, 1}, {0, 1}},
                    {{0, 1}, {0, 1}, {0, 1}, {0, 1}}});
  std::unique_ptr<Estimator> e = MakeEstimator("grpo+dash");
  e->Compute(&b);
  EXPECT_EQ(b.kept, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}));
}

TEST(CompositionTest, NamesParseAndApplyInOrder) {
  EstimatorSpec s = ParseEstimatorName("rloo+adora+dash");
  EXPECT_EQ(s.base->name, "rloo");
  ASSERT_EQ(s.modifiers.size(), 2u);
  EXPECT_EQ(s.modifiers[0]->name, "adora");
  EXPECT_EQ(s.modifiers[1]->name, "dash");
  EXPECT_TRUE(s.needs_groups());
  EXPECT_FALSE(ParseEstimatorName("reinforce+dash").needs_groups());
  EXPECT_TRUE(ParseEstimatorName("reinforce+adora").needs_groups());  // success rates per group
  // grpo then adora (amplify x2 on a TAS group) then dash.
  Batch b = Groups({{{1, 1}, {0, 1}, {0, 1}, {0, 1}}});
  MakeEstimator("grpo+adora+dash")->Compute(&b);
  EXPECT_NEAR(b.advantage[0], 2 * 1.499997, 1e-5);
  EXPECT_NEAR(b.advantage[1], 2 * -0.499999, 1e-5);
}

// A stateful base with stateless modifiers (ema_baseline+adora+dash): the
// clone copies the base's state and shares the modifiers; it computes what the
// original would, and leaves the original's state alone.
TEST(CompositionTest, StatefulCompositesClone) {
  EXPECT_EQ(MakeEstimator("grpo+adora+dash")->Clone(), nullptr);  // nothing to copy
  std::unique_ptr<Estimator> original = MakeEstimator("ema_baseline+adora+dash");
  original->Bind(EstimatorContext{});
  Batch warm = Groups({{{1, 1}, {0, 1}, {0, 1}, {1, 1}}});
  original->Compute(&warm);  // the running baseline moves
  std::unique_ptr<Estimator> copy = original->Clone();
  ASSERT_NE(copy, nullptr);
  Batch a = Groups({{{1, 1}, {0, 1}, {0, 1}, {0, 1}}}), b = a, c = a;
  copy->Compute(&a);
  copy->Compute(&c);      // the copy advanced twice
  original->Compute(&b);  // the original once, from where it was
  EXPECT_EQ(a.advantage, b.advantage);
  EXPECT_NE(c.advantage, b.advantage);
}

TEST(CompositionTest, BadNamesAreRefusedWithSuggestions) {
  auto error = [](const std::string& name) {
    try {
      ParseEstimatorName(name);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("grpo+adorra").find("did you mean 'adora'"), std::string::npos);
  EXPECT_NE(error("gpx+adora").find("unknown estimator"), std::string::npos);
  EXPECT_NE(error("grpo+dash+dash").find("given twice"), std::string::npos);
  EXPECT_NE(error("grpo+").find("unknown modifier ''"), std::string::npos);
  EXPECT_EQ(error("grpo+adora"), "");
}

}  // namespace
}  // namespace advlab
