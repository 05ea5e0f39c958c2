#include "sim/config.h"

#include <gtest/gtest.h>

#include <limits>

#include "sim/error.h"
#include "sim/loop.h"

namespace advlab {
namespace {

std::string ErrorOf(const std::map<std::string, std::string>& keys) {
  try {
    RunConfig::FromConfig(Config::Resolve(keys));
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, DefaultsResolveAndRoundTripThroughIni) {
  Config c = Config::Resolve({});
  EXPECT_EQ(c.Str("env.name"), "choice");
  EXPECT_EQ(c.Int("train.group_size"), 8);
  std::string ini = c.ToIni();
  EXPECT_EQ(ini.find("seed = 0\n"), 0u) << ini;  // top-level keys before sections
  EXPECT_NE(ini.find("[train]\n"), std::string::npos);
  EXPECT_NE(ini.find("group_size = 8\n"), std::string::npos);
}

TEST(ConfigTest, UnknownKeySuggestsClosest) {
  std::string e = ErrorOf({{"train.group_sise", "4"}});
  EXPECT_NE(e.find("unknown key 'train.group_sise'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'train.group_size'"), std::string::npos) << e;
}

TEST(ConfigTest, MisspeltNameSuggestsClosest) {
  std::string e = ErrorOf({{"estimator.name", "gpro"}});
  EXPECT_NE(e.find("estimator.name"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'grpo'"), std::string::npos) << e;
  EXPECT_NE(e.find("allowed:"), std::string::npos) << e;
}

TEST(ConfigTest, SizesMustBePositive) {
  for (const char* key : {"env.prompts", "train.batch_prompts", "train.group_size", "train.steps",
                          "train.eval_every", "env.answers"}) {
    for (const char* v : {"0", "-3"}) {
      std::string e = ErrorOf({{key, v}});
      EXPECT_NE(e.find(std::string("key '") + key + "'"), std::string::npos) << key << "=" << v << ": " << e;
      EXPECT_NE(e.find("allowed: an integer"), std::string::npos) << e;
    }
  }
  EXPECT_NE(ErrorOf({{"train.group_size", "4.5"}}).find("an integer"), std::string::npos);
}

TEST(ConfigTest, LearningRateMustBePositiveAndFinite) {
  for (const char* v : {"0", "-0.1", "nan", "NaN", "inf", "", "abc", "0.1x"}) {
    std::string e = ErrorOf({{"optim.lr", v}});
    EXPECT_NE(e.find("key 'optim.lr'"), std::string::npos) << v << ": " << e;
    EXPECT_NE(e.find("(0, "), std::string::npos) << v << ": " << e;
  }
  EXPECT_EQ(ErrorOf({{"optim.lr", "1e-3"}}), "");
}

TEST(ConfigTest, GroupEstimatorWithSingletonGroupsIsRefused) {
  for (const char* est : {"grpo", "dr_grpo", "rloo"}) {
    std::string e = ErrorOf({{"estimator.name", est}, {"train.group_size", "1"}});
    EXPECT_NE(e.find("train.group_size = 1"), std::string::npos) << e;
    EXPECT_NE(e.find(est), std::string::npos) << e;
  }
  EXPECT_EQ(ErrorOf({{"estimator.name", "reinforce"}, {"train.group_size", "1"}}), "");
}

TEST(ConfigTest, BoolsAndChoices) {
  EXPECT_NE(ErrorOf({{"env.drift", "linaer"}}).find("did you mean 'linear'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"train.loss_agg", "mean"}}).find("allowed: token-mean"), std::string::npos);
}

}  // namespace
}  // namespace advlab
