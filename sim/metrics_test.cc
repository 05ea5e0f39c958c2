// The metric table is consistent with itself and the accumulator does what each
// kind promises.
#include "sim/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

namespace advlab {
namespace {

TEST(MetricsTest, TableIsConsistent) {
  std::set<std::string> names;
  for (const MetricSpec& m : Metrics()) {
    SCOPED_TRACE(m.name);
    EXPECT_TRUE(names.insert(m.name).second) << "duplicate name";
    for (const char* c = m.name; *c; ++c) {
      EXPECT_TRUE((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
    }
    EXPECT_GT(std::string(m.doc).size(), 10u);
    EXPECT_FALSE(std::string(m.unit).empty());
    switch (m.kind) {
      case MetricKind::kEval:
      case MetricKind::kDiagnostic:
      case MetricKind::kSchedule:
        EXPECT_NE(m.at_eval, nullptr);
        EXPECT_EQ(m.num, nullptr);
        EXPECT_EQ(m.den, nullptr);
        break;
      case MetricKind::kWindowMean:
      case MetricKind::kWindowRatio:
        EXPECT_NE(m.num, nullptr);
        EXPECT_NE(m.den, nullptr);
        EXPECT_EQ(m.at_eval, nullptr);
        break;
      case MetricKind::kCumulative:
        EXPECT_NE(m.num, nullptr);
        EXPECT_EQ(m.den, nullptr);
        EXPECT_EQ(m.at_eval, nullptr);
        break;
    }
  }
  ASSERT_EQ(MetricNames().size(), Metrics().size());
  for (size_t i = 0; i < Metrics().size(); ++i) EXPECT_EQ(MetricNames()[i], Metrics()[i].name);
}

size_t Index(const std::string& name) {
  const int i = MetricIndex(name);
  EXPECT_GE(i, 0) << name;
  return i < 0 ? 0 : static_cast<size_t>(i);
}

// Two steps of a hand-made batch: window metrics average over both, cumulative
// ones keep counting after the eval, and an empty window is NaN.
TEST(MetricsTest, AccumulatorFollowsEachKind) {
  Batch b;
  b.prompt = {0, 1};
  b.group_begin = {0, 2, 4};
  b.reward = {1, 0, 0, 0};
  StepStats s1, s2;
  s1.reward_sum = 1.0;
  s1.length_sum = 8;
  s1.backprop = 5;
  s1.correct = 1;
  s1.length_correct = 3;
  s2.reward_sum = 3.0;
  s2.length_sum = 12;
  s2.backprop = 7;
  SamplingStats sp;
  sp.rounds = 1;
  sp.generated_rollouts = 4;
  MetricAccumulator acc;
  acc.AddStep(StepView{b, s1, sp, 2.5});
  acc.AddStep(StepView{b, s2, sp, 1.5});
  std::vector<double> out(Metrics().size());
  EvalPoint e;
  e.accuracy = 0.75;
  acc.Finish(e, out.data());
  EXPECT_EQ(out[Index("accuracy")], 0.75);
  EXPECT_EQ(out[Index("train_reward")], 4.0 / 8);
  EXPECT_EQ(out[Index("response_length")], 20.0 / 8);
  EXPECT_EQ(out[Index("response_length_correct")], 3.0);
  EXPECT_EQ(out[Index("response_length_wrong")], 17.0 / 7);
  EXPECT_EQ(out[Index("tokens_backprop")], 12.0);
  EXPECT_EQ(out[Index("sim_cost")], 4.0);
  EXPECT_EQ(out[Index("sampling_rounds")], 1.0);
  EXPECT_EQ(out[Index("discarded_frac")], 0.0);
  EXPECT_TRUE(std::isnan(out[Index("kl_ref")]));     // ratio with no KL tokens
  EXPECT_TRUE(std::isnan(out[Index("clip_frac")]));  // no clipping loss
  EXPECT_TRUE(std::isnan(out[Index("tas_frac")]));   // no ADORA
  EXPECT_TRUE(std::isnan(out[Index("adora_weight")]));
  EXPECT_TRUE(std::isnan(out[Index("tas_mixed_frac")]));
  EXPECT_TRUE(std::isnan(out[Index("adora_flip_frac")]));  // no group re-judged
  // The next window is empty: window metrics NaN, cumulative ones kept.
  acc.Finish(e, out.data());
  EXPECT_TRUE(std::isnan(out[Index("train_reward")]));
  EXPECT_FALSE(std::signbit(out[Index("train_reward")]));
  EXPECT_EQ(out[Index("tokens_backprop")], 12.0);
  EXPECT_EQ(out[Index("sim_cost")], 4.0);
}

}  // namespace
}  // namespace advlab
