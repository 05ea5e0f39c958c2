// The history-dependent drift schedules (env.drift = accuracy, reintroduce) and
// the bins' entry steps (metrics entry_step_bin0..3), through the training loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "envs/pool.h"
#include "sim/error.h"
#include "sim/loop.h"
#include "sim/task.h"

namespace advlab {
namespace {

std::string Exact(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}

RunConfig Rc(std::map<std::string, std::string> keys) {
  return RunConfig::FromConfig(Config::Resolve(keys));
}

PoolTask& Pool(RunState& st) { return dynamic_cast<PoolTask&>(*st.task); }

// A curriculum on choice: 4 stages of 16 prompts each (bins 0..3 exactly),
// checked every 5 steps.
std::map<std::string, std::string> CurriculumKeys(const std::string& threshold) {
  return {{"env.prompts", "64"},         {"env.drift", "accuracy"},
          {"env.drift_stages", "4"},     {"env.drift_check_every", "5"},
          {"env.drift_threshold", threshold}, {"train.steps", "200"},
          {"train.batch_prompts", "16"}, {"train.group_size", "4"},
          {"optim.lr", "20"}};
}

// Before each step, the exact accuracy on the current window (computed here by
// hand from the oracle) predicts the stage the step trains on: up by one at a
// check step iff the accuracy is >= the threshold, unchanged otherwise.
TEST(DriftTest, CurriculumMovesExactlyWhenTheAccuracyPassesTheThreshold) {
  const RunConfig rc = Rc(CurriculumKeys("0.6"));
  RunState st;
  InitRun(rc, &st);
  PoolTask& pool = Pool(st);
  int moved = 0, stayed = 0;
  int64_t stage = 0;
  for (int64_t t = 0; t < 200; ++t) {
    bool move = false;
    if (t > 0 && t % 5 == 0 && stage < 3) {
      // The window the check sees: the current stage's (answers are fixed).
      ASSERT_EQ(pool.window_start(), 16 * stage);
      double acc = 0.0;
      for (int32_t p = 16 * stage; p < 16 * stage + 16; ++p) {
        acc += (1.0 / 16) * pool.SuccessProbability(st.policy.get(), p);
      }
      move = acc >= 0.6;
      (move ? moved : stayed) += 1;
    }
    Step(rc, &st);
    stage += move;
    ASSERT_EQ(pool.drift_stage(), stage) << "step " << t;
    ASSERT_EQ(pool.window_start(), 16 * stage) << "step " << t;
  }
  EXPECT_EQ(stage, 3);
  EXPECT_GE(moved, 3);
  EXPECT_GE(stayed, 3);  // some checks fell short
}

// At the boundary: with the threshold set to the exact accuracy of the first
// check the window moves at step 5; one ulp above, it does not.
TEST(DriftTest, CurriculumThresholdIsInclusive) {
  const RunConfig never = Rc(CurriculumKeys("1"));
  RunState st;
  InitRun(never, &st);
  for (int t = 0; t < 5; ++t) Step(never, &st);
  st.task->Advance(5);
  const double acc = Pool(st).TrainAccuracy(st.policy.get());
  ASSERT_GT(acc, 0.0);
  ASSERT_LT(acc, 1.0);
  for (const auto& [threshold, stage] :
       {std::pair{acc, int64_t{1}}, std::pair{std::nextafter(acc, 2.0), int64_t{0}}}) {
    const RunConfig rc = Rc(CurriculumKeys(Exact(threshold)));
    ASSERT_EQ(rc.config.Float("env.drift_threshold"), threshold);
    RunState run;
    InitRun(rc, &run);
    for (int t = 0; t < 6; ++t) Step(rc, &run);
    EXPECT_EQ(Pool(run).drift_stage(), stage) << Exact(threshold);
    std::vector<double> m(MetricNames().size());
    Evaluate(rc, &run, m.data());
    // Bin 1 (prompts 16..31) entered with the move at step 5.
    const double entry1 = m[MetricIndex("entry_step_bin1")];
    if (stage == 1) {
      EXPECT_EQ(entry1, 5.0);
    } else {
      EXPECT_TRUE(std::isnan(entry1));
    }
  }
}

// Evals do not change the curriculum: the decision at step t is taken by the
// first AdvanceTraining at t, with the same policy whether an eval comes first.
TEST(DriftTest, CurriculumDoesNotDependOnTheEvalSchedule) {
  std::map<std::string, std::string> keys = CurriculumKeys("0.6");
  keys["train.eval_every"] = "1";
  const RunRecord every = TrainRun(Rc(keys));
  keys["train.eval_every"] = "25";
  const RunRecord sparse = TrainRun(Rc(keys));
  const size_t E1 = 201, E25 = 9;  // evals at 0, 1, ..., 200 and 0, 25, ..., 200
  ASSERT_EQ(every.values.size(), MetricNames().size() * E1);
  ASSERT_EQ(sparse.values.size(), MetricNames().size() * E25);
  for (const char* name : {"accuracy", "train_accuracy", "entry_step_bin1", "entry_step_bin3"}) {
    const int i = MetricIndex(name);
    for (size_t e = 0; e < E25; ++e) {
      const double a = every.values[i * E1 + 25 * e], b = sparse.values[i * E25 + e];
      EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << name << " at eval " << e;
    }
  }
}

// Reintroduce on choice, P = 40, band 10: during steps [20, 35) the drawn
// prompts are all >= 10 and the window is [10, 40); outside it is the whole
// pool, and the draws reach below 10. Bin 0 is prompts [0, 10): it entered at
// step 0 and re-enters at 35 (kept at 0 while out).
TEST(DriftTest, ReintroduceRemovesAndRestoresTheEasyBand) {
  const RunConfig rc = Rc({{"env.prompts", "40"}, {"env.drift", "reintroduce"},
                           {"env.drift_band", "0.25"}, {"env.drift_remove_at", "20"},
                           {"env.drift_remove_for", "15"}, {"train.steps", "60"}});
  RunState st;
  InitRun(rc, &st);
  PoolTask& pool = Pool(st);
  int32_t prompts[64];
  std::vector<int32_t> dist;
  std::vector<double> weights;
  double entry[4];
  for (int64_t t = 0; t < 60; ++t) {
    pool.AdvanceTraining(t, st.policy.get());
    const bool out = t >= 20 && t < 35;
    pool.DrawPrompts(t, st.rng, 64, prompts);
    int32_t lo = 40;
    for (int32_t p : prompts) lo = std::min(lo, p);
    if (out) {
      EXPECT_GE(lo, 10) << "step " << t;
    } else {
      EXPECT_LT(lo, 10) << "step " << t;
    }
    pool.TrainingDistribution(&dist, &weights);
    ASSERT_EQ(dist.size(), out ? 30u : 40u) << "step " << t;
    EXPECT_EQ(dist.front(), out ? 10 : 0);
    EXPECT_EQ(weights.front(), out ? 1.0 / 30 : 1.0 / 40);
    pool.BinEntrySteps(entry);
    EXPECT_EQ(entry[0], t < 35 ? 0.0 : 35.0) << "step " << t;
    for (int k = 1; k < 4; ++k) EXPECT_EQ(entry[k], 0.0);
  }
}

// Entry steps of linear and step drift on choice, P = 64 (bin k = prompts
// [16k, 16k + 16)), W = 16, 200 steps, evals every 20 steps.
//   linear: start(t) = floor(48 t / 199); bin k >= 1 enters at the first t with
//           start(t) + 16 > 16k, i.e. 48 t >= (16k - 15) 199: t = 5, 71, 137.
//   step:   stage = floor(4 t / 200), start = 16 stage: bin k enters at 50k.
TEST(DriftTest, EntryStepsOfLinearAndStepDriftAreTheHandComputedOnes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [drift, want] :
       {std::pair{std::string("linear"), std::vector<double>{0, 5, 71, 137}},
        std::pair{std::string("step"), std::vector<double>{0, 50, 100, 150}}}) {
    SCOPED_TRACE(drift);
    const RunRecord r = TrainRun(Rc({{"env.prompts", "64"}, {"env.drift", drift},
                                     {"train.steps", "200"}, {"train.eval_every", "20"},
                                     {"train.batch_prompts", "8"}}));
    const size_t E = 11;
    for (int k = 0; k < 4; ++k) {
      const int i = MetricIndex("entry_step_bin" + std::to_string(k));
      ASSERT_GE(i, 0);
      for (size_t e = 0; e < E; ++e) {
        // An eval at step t sees step t's window: entered iff entry <= t.
        const double expect = want[k] <= 20.0 * e ? want[k] : nan;
        const double got = r.values[i * E + e];
        EXPECT_TRUE(got == expect || (std::isnan(got) && std::isnan(expect)))
            << "bin " << k << " eval " << e << ": " << got;
      }
    }
  }
}

// No drift: every populated bin is in from step 0.
TEST(DriftTest, WithoutDriftEveryBinEntersAtStepZero) {
  const RunRecord r = TrainRun(Rc({{"env.prompts", "64"}, {"train.steps", "20"},
                                   {"train.eval_every", "10"}}));
  for (int k = 0; k < 4; ++k) {
    const int i = MetricIndex("entry_step_bin" + std::to_string(k));
    for (size_t e = 0; e < 3; ++e) EXPECT_EQ(r.values[i * 3 + e], 0.0);
  }
}

// The band must leave a prompt in training: refused when the task is built
// (at planning).
TEST(DriftTest, ReintroduceNeedsAPromptLeft) {
  const Config c = Config::Resolve({{"env.prompts", "1"}, {"env.drift", "reintroduce"}});
  EXPECT_THROW(TaskRegistry::Get().Find("choice")->make(c, 1), UserError);
}

}  // namespace
}  // namespace advlab
