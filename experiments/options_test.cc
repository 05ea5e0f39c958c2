#include "experiments/options.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "sim/error.h"

namespace advlab {
namespace {

TEST(QuoteInputTest, EscapesNonPrintingBytesAndCuts) {
  EXPECT_EQ(QuoteInput("grpo"), "'grpo'");
  EXPECT_EQ(QuoteInput("a\nb\x1b[0m\x7f"), "'a\\x0ab\\x1b[0m\\x7f'");
  EXPECT_EQ(QuoteInput(std::string(61, 'x')), "'" + std::string(60, 'x') + "...'");
  EXPECT_EQ(QuoteInput(std::string(60, 'x')), "'" + std::string(60, 'x') + "'");
  // Valid UTF-8 stays (one character each); stray bytes are escaped.
  EXPECT_EQ(QuoteInput("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(QuoteInput("\xc3\xa9\xc3\xa9", 1), "'\xc3\xa9...'");
  EXPECT_EQ(QuoteInput("x\xc3"), "'x\\xc3'");
  EXPECT_EQ(QuoteInput("\xff\xfe"), "'\\xff\\xfe'");
  EXPECT_EQ(QuoteInput(std::string("a\0b", 3)), "'a\\x00b'");
  EXPECT_EQ(PrintableInput("abc", 2), "ab...");
}

std::string ParseArmTwice() {
  try {
    ParseCommandLine({"--arm", "x: optim.lr=1", "--arm", "x: optim.lr=2"}, true);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

class IniTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }
  // The message ReadIniFile refuses `text` with ("" when it reads it).
  std::string Message(const std::string& text) {
    try {
      ReadIniFile(Write(text));
    } catch (const UserError& e) {
      return e.what();
    }
    return "";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "options_test_" + std::to_string(getpid()) + ".ini";
};

TEST_F(IniTest, ReadsSectionsCommentsBomAndSweep) {
  IniFile ini = ReadIniFile(Write(
      "\xEF\xBB\xBF# preset\r\nseed = 3 ; first\n; a comment = [with] anything\n[train]\n"
      "steps = 20 # inline\n[sweep]\nseeds = 4\nthreads = 2\n"
      "grid.estimator.name = grpo , rloo\ngrid.optim.lr=1,2\n"));
  EXPECT_EQ(ini.keys.at("seed"), "3");
  EXPECT_EQ(ini.keys.at("train.steps"), "20");
  EXPECT_EQ(ini.lines.at("train.steps"), 5);
  EXPECT_EQ(ini.seeds, 4);
  EXPECT_EQ(ini.threads, 2);
  ASSERT_EQ(ini.grid.size(), 2u);
  EXPECT_EQ(ini.grid[0].key, "estimator.name");
  EXPECT_EQ(ini.grid[0].values, (std::vector<std::string>{"grpo", "rloo"}));
  EXPECT_EQ(ini.grid[0].origin, path_ + ":9: grid.estimator.name");
  EXPECT_EQ(ini.grid[1].values, (std::vector<std::string>{"1", "2"}));
}

TEST_F(IniTest, RefusesWithFileAndLine) {
  EXPECT_EQ(Message("[train]\nsteps = 0\n").rfind(path_ + ":2: key 'train.steps'", 0), 0u);
  EXPECT_EQ(Message("[sweep]\nseeds = 2\nseeds = 3\n").rfind(path_ + ":3: [sweep] 'seeds' set twice", 0), 0u);
  EXPECT_NE(Message("[sweep]\ngrid.seed = 1, 2\n").find(":2: grid.seed: 'seed' is a run column"),
            std::string::npos);
  EXPECT_NE(Message("seed = 1\n[sweep]\ngrid.seed = 1\n").find("run column"), std::string::npos);
  EXPECT_NE(Message("[env]\nprompts = 8\n[sweep]\ngrid.env.prompts = 4, 8\n")
                .find(":4: grid.env.prompts: 'env.prompts' is also set on line 2"),
            std::string::npos);
}

TEST(MergeExperimentTest, CommandLineOverridesTheFile) {
  const std::string path =
      ::testing::TempDir() + "options_merge_" + std::to_string(getpid()) + ".ini";
  std::ofstream(path) << "[sweep]\nseeds = 4\ngrid.estimator.name = grpo, rloo\n"
                         "grid.optim.lr = 1, 2\ngrid.train.group_size = 4, 8\n";
  CommandLine cl = ParseCommandLine(
      {"--config", path, "--grid", "optim.lr=3,4,5", "--grid", "env.prompts=8,16",
       "--train.group_size=6", "--seeds", "2"},
      true);
  Experiment e = MergeExperiment(cl);
  std::remove(path.c_str());
  EXPECT_EQ(e.seeds, 2);
  EXPECT_EQ(e.threads, 1);
  EXPECT_EQ(e.keys.at("train.group_size"), "6");
  ASSERT_EQ(e.grid.size(), 3u);  // group_size dropped, lr replaced in place, prompts after
  EXPECT_EQ(e.grid[0].key, "estimator.name");
  EXPECT_EQ(e.grid[1].key, "optim.lr");
  EXPECT_EQ(e.grid[1].values, (std::vector<std::string>{"3", "4", "5"}));
  EXPECT_EQ(e.grid[1].origin, "--grid optim.lr");
  EXPECT_EQ(e.grid[2].key, "env.prompts");
}


// Arms: --arm 'NAME: k=v, ...' and [arm.NAME] sections.
std::string ArmError(const std::string& text) {
  try {
    ParseArm(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(ArmTest, ParsesNameAndKeysInOrder) {
  Arm a = ParseArm(" aapo_g4 : estimator.name=grpo+aapo ,train.group_size = 4");
  EXPECT_EQ(a.name, "aapo_g4");
  EXPECT_EQ(a.origin, "--arm aapo_g4");
  ASSERT_EQ(a.keys.size(), 2u);
  EXPECT_EQ(a.keys[0], (std::pair<std::string, std::string>{"estimator.name", "grpo+aapo"}));
  EXPECT_EQ(a.keys[1], (std::pair<std::string, std::string>{"train.group_size", "4"}));
  // No key: the base config, named.
  EXPECT_TRUE(ParseArm("base:").keys.empty());
  EXPECT_EQ(ParseArm("A-1.b:").name, "A-1.b");
}

TEST(ArmTest, RefusesBadSyntaxNamesAndKeys) {
  EXPECT_NE(ArmError("estimator.name=grpo").find("expected 'NAME: key=value, key=value'"),
            std::string::npos);
  EXPECT_NE(ArmError("a b: optim.lr=1").find("invalid arm name 'a b'"), std::string::npos);
  EXPECT_NE(ArmError(": optim.lr=1").find("invalid arm name ''"), std::string::npos);
  EXPECT_NE(ArmError("x: optim.lr").find("--arm x: expected key=value, got 'optim.lr'"),
            std::string::npos);
  EXPECT_NE(ArmError("x: optim.lr=1,").find("expected key=value, got ''"), std::string::npos);
  EXPECT_NE(ArmError("x: estimatr.name=grpo").find("unknown key 'estimatr.name' (did you mean "
                                                   "'estimator.name'?)"),
            std::string::npos);
  EXPECT_NE(ArmError("x: optim.lr=1, optim.lr=2").find("'optim.lr' set twice"), std::string::npos);
  EXPECT_NE(ArmError("x: seed=3").find("'seed' is a run column"), std::string::npos);
  EXPECT_NE(ArmError("x: train.group_size=zero").find("--arm x: train.group_size"),
            std::string::npos);
  EXPECT_NE(ParseArmTwice().find("arm 'x' given twice"), std::string::npos);
}

TEST_F(IniTest, ReadsArmSections) {
  IniFile ini = ReadIniFile(Write("seed = 2\n[arm.grpo_g8]\n[arm.aapo_g4]\n"
                                  "estimator.name = grpo+aapo # AAPO\ntrain.group_size = 4\n"
                                  "[train]\nsteps = 20\n"));
  EXPECT_EQ(ini.keys.at("train.steps"), "20");  // a section after the arms is a plain one
  ASSERT_EQ(ini.arms.size(), 2u);
  EXPECT_EQ(ini.arms[0].name, "grpo_g8");
  EXPECT_TRUE(ini.arms[0].keys.empty());
  EXPECT_EQ(ini.arms[1].origin, path_ + ":3: [arm.aapo_g4]");
  ASSERT_EQ(ini.arms[1].keys.size(), 2u);
  EXPECT_EQ(ini.arms[1].keys[0].first, "estimator.name");
  EXPECT_EQ(ini.arms[1].keys[0].second, "grpo+aapo");
  EXPECT_EQ(ini.arms[1].keys[1].first, "train.group_size");
}

TEST_F(IniTest, RefusesBadArmSections) {
  EXPECT_EQ(Message("[arm.a]\n[arm.a]\n").rfind(path_ + ":2: [arm.a] given twice (first on line 1)", 0),
            0u);
  EXPECT_NE(Message("[arm]\n").find(":1: [arm]: invalid arm name ''"), std::string::npos);
  EXPECT_NE(Message("[arm.a/b]\n").find("invalid arm name 'a/b'"), std::string::npos);
  EXPECT_NE(Message("[arm.a]\ngroup_size = 4\n")
                .find(":2: [arm.a] group_size: unknown key 'group_size' (did you mean "
                      "'train.group_size'? an arm takes full dotted keys)"),
            std::string::npos);
  EXPECT_NE(Message("[arm.a]\nseed = 4\n").find("run column"), std::string::npos);
}

TEST_F(IniTest, CommentsNeedASpaceBeforeThemInsideALine) {
  IniFile ini = ReadIniFile(Write("[claim]\nstatement = same mean;lower variance ; a comment\n"
                                  "source = x#1 # another\n; whole line\n"));
  ASSERT_EQ(ini.claim.size(), 2u);
  EXPECT_EQ(ini.claim[0].value, "same mean;lower variance");
  EXPECT_EQ(ini.claim[1].value, "x#1");
  // "20;" is no number: refused, not silently cut to 20.
  EXPECT_THROW(ReadIniFile(Write("[train]\nsteps = 20;x\n")), UserError);
}

TEST_F(IniTest, ReadsAnalysisSectionInOrderAndRefusesBadKeys) {
  IniFile ini = ReadIniFile(Write("[analysis]\nmeasure = auc\ntune_seeds = 3 # lowest\n"
                                  "compare = arm=a,b\n[train]\nsteps = 20\n"));
  EXPECT_EQ(ini.keys.at("train.steps"), "20");
  ASSERT_EQ(ini.analysis.size(), 3u);
  EXPECT_EQ(ini.analysis[1].key, "tune_seeds");
  EXPECT_EQ(ini.analysis[1].value, "3");
  EXPECT_EQ(ini.analysis[2].value, "arm=a,b");
  EXPECT_EQ(ini.analysis[2].origin, path_ + ":4: [analysis] compare");
  EXPECT_NE(Message("[analysis]\ntune-seeds = 3\n").find(":2: unknown [analysis] key 'tune-seeds' "
                                                         "(did you mean 'tune_seeds'?)"),
            std::string::npos);
  EXPECT_NE(Message("[analysis]\ntune = a\ntune = b\n").find(":3: [analysis] 'tune' set twice"),
            std::string::npos);
  EXPECT_NE(Message("[analysis]\nformat = csv\n").find("unknown [analysis] key"), std::string::npos);
}

TEST(MergeExperimentTest, CommandLineArmsReplaceSameNamesAndFollowTheFile) {
  const std::string path =
      ::testing::TempDir() + "options_arms_" + std::to_string(getpid()) + ".ini";
  std::ofstream(path) << "[arm.a]\noptim.lr = 1\n[arm.b]\noptim.lr = 2\n";
  CommandLine cl = ParseCommandLine(
      {"--config", path, "--arm", "c: optim.lr=3", "--arm", "a: train.group_size=4"}, true);
  Experiment e = MergeExperiment(cl);
  ASSERT_EQ(e.arms.size(), 3u);
  EXPECT_EQ(e.arms[0].name, "a");  // replaced in place
  ASSERT_EQ(e.arms[0].keys.size(), 1u);
  EXPECT_EQ(e.arms[0].keys[0].first, "train.group_size");
  EXPECT_EQ(e.arms[0].origin, "--arm a");
  EXPECT_EQ(e.arms[1].name, "b");
  EXPECT_EQ(e.arms[2].name, "c");
  // A --KEY=VALUE that every arm sets would reach no run.
  std::string error;
  try {
    MergeExperiment(ParseCommandLine({"--config", path, "--optim.lr=5"}, true));
  } catch (const UserError& e) {
    error = e.what();
  }
  std::remove(path.c_str());
  EXPECT_NE(error.find("--optim.lr: every arm sets 'optim.lr'"), std::string::npos) << error;
  // --arm is a sweep option.
  EXPECT_THROW(ParseCommandLine({"--arm", "a:"}, false), UserError);
}

}  // namespace
}  // namespace advlab
