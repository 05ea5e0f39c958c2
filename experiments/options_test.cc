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

class IniTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
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
  auto message = [&](const std::string& text) -> std::string {
    try {
      ReadIniFile(Write(text));
    } catch (const UserError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message("[train]\nsteps = 0\n").rfind(path_ + ":2: key 'train.steps'", 0), 0u);
  EXPECT_EQ(message("[sweep]\nseeds = 2\nseeds = 3\n").rfind(path_ + ":3: [sweep] 'seeds' set twice", 0), 0u);
  EXPECT_NE(message("[sweep]\ngrid.seed = 1, 2\n").find(":2: grid.seed: 'seed' is a run column"),
            std::string::npos);
  EXPECT_NE(message("seed = 1\n[sweep]\ngrid.seed = 1\n").find("run column"), std::string::npos);
  EXPECT_NE(message("[env]\nprompts = 8\n[sweep]\ngrid.env.prompts = 4, 8\n")
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

}  // namespace
}  // namespace advlab
