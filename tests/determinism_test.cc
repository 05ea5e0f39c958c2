// The determinism contract (DESIGN §3, docs/determinism.md): results are a pure
// function of the config, whatever the thread count, and a run of a sweep is the
// same run as its config alone.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "experiments/h5io.h"
#include "experiments/sweep.h"

namespace advlab {
namespace {

std::map<std::string, std::string> BaseKeys() {
  return {{"env.prompts", "64"},   {"train.steps", "120"}, {"train.eval_every", "40"},
          {"env.drift", "cyclic"}, {"env.drift_period", "50"}, {"optim.lr", "20"},
          {"train.batch_prompts", "16"}, {"train.group_size", "4"}};
}

std::vector<GridAxis> Grid() {
  return {{"estimator.name", {"reinforce", "rloo", "grpo", "dr_grpo"}},
          {"optim.name", {"sgd", "adam"}}};
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DeterminismTest, SweepBytesDoNotDependOnThreads) {
  SweepPlan plan = PlanSweep(BaseKeys(), Grid(), 3);
  ASSERT_EQ(plan.runs.size(), 24u);
  const std::string dir = ::testing::TempDir();
  std::string reference;
  for (int threads : {1, 2, 7}) {
    Results r = RunSweep(plan, threads);
    const std::string path = dir + "/det_threads_" + std::to_string(threads) + ".h5";
    WriteResultsFile(r, path);
    std::string bytes = FileBytes(path);
    ASSERT_FALSE(bytes.empty());
    if (reference.empty()) {
      reference = bytes;
    } else {
      EXPECT_TRUE(bytes == reference) << "threads=" << threads << " changed the file bytes";
    }
    std::remove(path.c_str());
  }
}

TEST(DeterminismTest, RunOfASweepEqualsTheSameConfigAlone) {
  SweepPlan plan = PlanSweep(BaseKeys(), Grid(), 3);
  Results sweep = RunSweep(plan, 2);
  const size_t E = sweep.steps.size();
  for (size_t k : {0u, 5u, 13u, 23u}) {
    // The same config, given as plain keys, run alone.
    std::map<std::string, std::string> keys = BaseKeys();
    keys["estimator.name"] = plan.swept[k][0];
    keys["optim.name"] = plan.swept[k][1];
    keys["seed"] = std::to_string(plan.runs[k].seed);
    Results alone = RunSweep(PlanSweep(keys, {}, 1), 1);
    ASSERT_EQ(alone.steps, sweep.steps);
    for (size_t i = 0; i < sweep.metrics.size(); ++i) {
      std::vector<double> row(sweep.metrics[i].values.begin() + k * E,
                              sweep.metrics[i].values.begin() + (k + 1) * E);
      EXPECT_TRUE(SameBits(row, alone.metrics[i].values))
          << "run " << k << " metric " << sweep.metrics[i].name;
    }
  }
}

TEST(DeterminismTest, SeedsAndConfigsChangeResults) {
  // Guards against a contract met trivially (e.g. randomness ignored).
  auto acc = [](std::map<std::string, std::string> keys) {
    return RunSweep(PlanSweep(keys, {}, 1), 1).FindMetric("train_reward")->values;
  };
  auto a = BaseKeys();
  auto b = a;
  b["seed"] = "1";
  auto c = a;
  c["estimator.name"] = "rloo";
  EXPECT_FALSE(SameBits(acc(a), acc(b)));
  EXPECT_FALSE(SameBits(acc(a), acc(c)));
  EXPECT_TRUE(SameBits(acc(a), acc(a)));
}

}  // namespace
}  // namespace advlab
