// PlanSweep and RunSweep with arms: the run order (arm-major, the same seeds in
// every arm), the /runs columns, and the planning errors.
#include "experiments/sweep.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/error.h"

namespace advlab {
namespace {

std::map<std::string, std::string> SmallKeys() {
  return {{"env.prompts", "16"},        {"train.steps", "4"},      {"train.eval_every", "2"},
          {"train.batch_prompts", "4"}, {"train.group_size", "8"}, {"seed", "5"}};
}

std::vector<Arm> Arms() {
  return {{"grpo_g8", {}, "--arm grpo_g8"},
          {"aapo_g4",
           {{"estimator.name", "grpo+aapo"}, {"train.group_size", "04"}, {"estimator.aapo_low", "0.1"}},
           "--arm aapo_g4"},
          {"rloo", {{"estimator.name", "rloo"}}, "--arm rloo"}};
}

std::string PlanError(const std::vector<GridAxis>& grid, const std::vector<Arm>& arms,
                      std::map<std::string, std::string> keys = SmallKeys()) {
  try {
    PlanSweep(keys, grid, 2, 1, arms);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepArmsTest, RunsAreArmsByGridBySeedsWithTheSameSeedsInEveryArm) {
  SweepPlan plan = PlanSweep(SmallKeys(), {{"optim.lr", {"1", "2"}}}, 3, 1, Arms());
  ASSERT_EQ(plan.num_runs(), 3u * 2u * 3u);
  EXPECT_EQ(plan.arm_keys,
            (std::vector<std::string>{"estimator.name", "train.group_size", "estimator.aapo_low"}));
  EXPECT_EQ(plan.arms[1].keys[1].second, "4");  // canonicalised
  for (size_t k = 0; k < plan.num_runs(); ++k) {
    const size_t arm = k / 6, point = (k / 3) % 2, s = k % 3;
    EXPECT_EQ(plan.ArmOf(k), arm) << k;
    EXPECT_EQ(plan.SeedOf(k), 5u + s) << k;
    const Config c = plan.RunKeys(k);
    EXPECT_EQ(c.Str("optim.lr"), point == 0 ? "1" : "2") << k;
    EXPECT_EQ(plan.Swept(k), (std::vector<std::string>{point == 0 ? "1" : "2"}));
    EXPECT_EQ(c.Str("estimator.name"), arm == 0 ? "grpo" : arm == 1 ? "grpo+aapo" : "rloo") << k;
    EXPECT_EQ(c.Int("train.group_size"), arm == 1 ? 4 : 8) << k;
    EXPECT_EQ(c.Str("estimator.aapo_low"), arm == 1 ? "0.1" : "0.2") << k;
  }
}

TEST(SweepArmsTest, ColumnsNameTheArmAndTheKeysArmsSet) {
  SweepPlan plan = PlanSweep(SmallKeys(), {{"optim.lr", {"1", "2"}}}, 2, 1, Arms());
  Results r = RunSweep(plan, 2);
  std::vector<std::string> names;
  for (const Column& c : r.runs) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"run_id", "seed", "arm", "estimator.name",
                                             "train.group_size", "estimator.aapo_low",
                                             "optim.lr"}));
  const Column* arm = r.FindColumn("arm");
  ASSERT_EQ(arm->kind, Column::Kind::kString);
  EXPECT_EQ(arm->strings, (std::vector<std::string>{"grpo_g8", "grpo_g8", "grpo_g8", "grpo_g8",
                                                    "aapo_g4", "aapo_g4", "aapo_g4", "aapo_g4",
                                                    "rloo", "rloo", "rloo", "rloo"}));
  EXPECT_EQ(r.FindColumn("train.group_size")->ints,
            (std::vector<int64_t>{8, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8}));
  EXPECT_EQ(r.FindColumn("estimator.aapo_low")->floats[0], 0.2);  // the base value
  EXPECT_EQ(r.FindColumn("estimator.aapo_low")->floats[4], 0.1);
  EXPECT_EQ(r.FindColumn("seed")->ints, (std::vector<int64_t>{5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6}));
  EXPECT_NE(r.config_ini.find("; arm grpo_g8:\n; arm aapo_g4: estimator.name=grpo+aapo, "
                              "train.group_size=4, estimator.aapo_low=0.1\n; arm rloo: "
                              "estimator.name=rloo\n; grid optim.lr = 1,2\n"),
            std::string::npos)
      << r.config_ini;
}

TEST(SweepArmsTest, WithoutArmsThereIsNoArmColumn) {
  SweepPlan plan = PlanSweep(SmallKeys(), {{"optim.lr", {"1", "2"}}}, 1);
  EXPECT_TRUE(plan.arms.empty());
  EXPECT_EQ(plan.arm_configs.size(), 1u);
  Results r = RunSweep(plan, 1);
  EXPECT_EQ(r.FindColumn("arm"), nullptr);
  EXPECT_EQ(r.config_ini.find("; arm"), std::string::npos);
}

TEST(SweepArmsTest, RefusesConflictsAtPlanning) {
  EXPECT_EQ(PlanError({{"train.group_size", {"4", "8"}, "x.ini:7: grid.train.group_size"}}, Arms()),
            "--arm aapo_g4: key 'train.group_size' is also swept by x.ini:7: "
            "grid.train.group_size; an arm may not set a grid key: keep one");
  EXPECT_NE(PlanError({}, {{"a", {}, ""}, {"a", {{"optim.lr", "2"}}, ""}}).find("arm 'a' given twice"),
            std::string::npos);
  EXPECT_EQ(PlanError({}, {{"a", {{"optim.lr", "8"}}, ""}, {"b", {{"optim.lr", "8.0"}}, ""}}),
            "--arm b: arms 'a' and 'b' are the same config, so their runs would be the same; "
            "make them differ or give one");
  // An arm's key no run of the arm reads, though another arm's runs would.
  EXPECT_NE(PlanError({}, {{"a", {{"estimator.adora_tau", "0.3"}}, "--arm a"},
                           {"b", {{"estimator.name", "grpo+adora"}}, "--arm b"}})
                .find("--arm a: key 'estimator.adora_tau' is read only when"),
            std::string::npos);
  EXPECT_NE(PlanError({}, {{"a", {}, "--arm a"}, {"b", {{"train.steps", "6"}}, "--arm b"}})
                .find("--arm b: every run of a sweep must have the same eval steps"),
            std::string::npos);
  EXPECT_NE(PlanError({}, {{"a", {{"optim.lr", "-1"}}, "--arm a"}}).find("--arm a: "),
            std::string::npos);
}

}  // namespace
}  // namespace advlab
