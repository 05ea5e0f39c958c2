// Tests of `advlab advantage`: the batch it builds from text, the advantages it
// prints (estimators.md §12.1 for grpo, §2.1 for gae), its JSON, and its error
// messages.
#include "experiments/advantage.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "estimators/gae.h"
#include "estimators/testing.h"
#include "sim/batch.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

// A test-only estimator that, like a whitening estimator, cannot run on a
// batch of fewer than 2 tokens (whitens_tokens): planning must refuse it before
// Compute, which does not throw.
class TwoTokensEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override {
    ADVLAB_CHECK_GE(batch->num_tokens(), 2);
    batch->advantage.assign(batch->reward.begin(), batch->reward.end());
  }
};

ADVLAB_REGISTER_ESTIMATOR(test_two_tokens, "test_two_tokens",
                          "test only: A = R, refuses a batch of fewer than 2 tokens", false,
                          [] { return std::make_unique<TwoTokensEstimator>(); }, false, false,
                          false, true);

struct Outcome {
  int status = -1;
  std::string out;
  std::string error;  // the UserError message, "" when none was thrown
};

Outcome RunCommand(const std::vector<std::string>& args, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  Outcome o;
  try {
    o.status = AdvantageCommand(args, in, out);
  } catch (const UserError& e) {
    o.error = e.what();
  }
  o.out = out.str();
  return o;
}

std::string ParseError(const std::string& input, const std::string& lengths_file = "",
                       int group_size = 0) {
  std::istringstream in(input);
  try {
    ParseRewardGroups(in, lengths_file, group_size);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream s(text);
  std::string line;
  while (std::getline(s, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream s(line);
  std::string w;
  while (s >> w) words.push_back(w);
  return words;
}

// The rows of the text output whose first word is `label`, as words.
std::vector<std::vector<std::string>> Rows(const std::string& text, const std::string& label) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : Lines(text)) {
    std::vector<std::string> w = Words(line);
    if (!w.empty() && w[0] == label && line.rfind("  ", 0) == 0) {
      rows.emplace_back(w.begin() + 1, w.end());
    }
  }
  return rows;
}

std::string WriteTempFile(const std::string& name, const std::string& text) {
  // The pid keeps concurrent test processes (ctest -j, the sanitizer build's
  // copy of this test) off each other's files.
  const std::string path =
      ::testing::TempDir() + "advantage_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream f(path);
  f << text;
  return path;
}

// A strict little reader for the one JSON shape the command writes:
//   {"estimator": S, "advantages": LISTS}  or  {..., "advantages": {S: LISTS, ...}}
// where LISTS is [[number|null, ...], ...]. Fails the test on anything else.
class AdvantageJson {
 public:
  explicit AdvantageJson(const std::string& text) : s_(text) {}

  bool Parse() {
    if (!Eat('{') || String() != "estimator" || !Eat(':')) return false;
    estimator = String();
    if (!Eat(',') || String() != "advantages" || !Eat(':')) return false;
    Ws();
    if (p_ < s_.size() && s_[p_] == '{') {
      ++p_;
      do {
        std::string name = String();
        if (!Eat(':')) return false;
        by_name.emplace_back(name, Lists());
      } while (Eat(','));
      if (!Eat('}')) return false;
    } else {
      by_name.emplace_back(estimator, Lists());
    }
    if (!Eat('}')) return false;
    Ws();
    return ok_ && p_ == s_.size();
  }

  std::string estimator;
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> by_name;

 private:
  void Ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n')) ++p_;
  }
  bool Eat(char c) {
    Ws();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  std::string String() {
    if (!Eat('"')) return ok_ = false, "";
    const size_t end = s_.find('"', p_);
    if (end == std::string::npos) return ok_ = false, "";
    std::string v = s_.substr(p_, end - p_);
    p_ = end + 1;
    return v;
  }
  double Number() {
    Ws();
    if (s_.compare(p_, 4, "null") == 0) {
      p_ += 4;
      return std::numeric_limits<double>::quiet_NaN();
    }
    const char* begin = s_.c_str() + p_;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) ok_ = false;
    p_ += static_cast<size_t>(end - begin);
    return v;
  }
  std::vector<std::vector<double>> Lists() {
    std::vector<std::vector<double>> lists;
    if (!Eat('[')) return ok_ = false, lists;
    do {
      if (!Eat('[')) return ok_ = false, lists;
      std::vector<double> row;
      do row.push_back(Number());
      while (ok_ && Eat(','));
      if (!Eat(']')) return ok_ = false, lists;
      lists.push_back(std::move(row));
    } while (Eat(','));
    if (!Eat(']')) ok_ = false;
    return lists;
  }

  const std::string& s_;
  size_t p_ = 0;
  bool ok_ = true;
};

// The advantages the registered estimator gives the batch of `input`, per group.
std::vector<std::vector<double>> Expected(const std::string& name, const std::string& input) {
  std::istringstream in(input);
  Batch b = ParseRewardGroups(in, "", 0);
  EstimatorRegistry::Get().Find(name)->make()->Compute(&b);
  std::vector<std::vector<double>> groups;
  for (int g = 0; g < b.num_groups(); ++g) {
    groups.emplace_back(b.advantage.begin() + b.group_begin[g],
                        b.advantage.begin() + b.group_begin[g + 1]);
  }
  return groups;
}

// Equal to 9 significant digits (the JSON promise) group by group.
void ExpectSame9(const std::vector<std::vector<double>>& got,
                 const std::vector<std::vector<double>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t g = 0; g < got.size(); ++g) {
    ASSERT_EQ(got[g].size(), want[g].size()) << what << " group " << g;
    for (size_t i = 0; i < got[g].size(); ++i) {
      EXPECT_NEAR(got[g][i], want[g][i], 1e-9 * std::max(1.0, std::fabs(want[g][i])))
          << what << " [" << g << "][" << i << "]";
    }
  }
}

constexpr char kS1[] = "1 0 0 1\n1 1 1 1\n0 0 0 1\n";  // estimators.md §12.1

// ---- the batch ----------------------------------------------------------------

TEST(ParseRewardGroups, LaysOutTheBatchLikeTraining) {
  std::istringstream in(kS1);
  const Batch got = ParseRewardGroups(in, "", 4);
  const Batch want = test_util::MakeGroupBatch({{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}});
  EXPECT_EQ(got.prompt, want.prompt);
  EXPECT_EQ(got.group_begin, want.group_begin);
  EXPECT_EQ(got.token_begin, want.token_begin);
  EXPECT_EQ(got.reward, want.reward);
  EXPECT_EQ(got.correct, want.correct);
  EXPECT_EQ(got.truncated, want.truncated);
  EXPECT_EQ(got.token, want.token);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.logprob, want.logprob);
  EXPECT_TRUE(got.advantage.empty());
}

TEST(ParseRewardGroups, SkipsBlankAndCommentLinesAndKeepsTyping) {
  std::istringstream in("# header\n\n  \t\n0.5 -1.25e0 +2\r\n  # indented comment\n.25\n");
  const RewardTable t = ParseRewardTable(in, "", 0);
  EXPECT_EQ(t.batch.num_groups(), 2);
  EXPECT_EQ(t.batch.reward, (std::vector<double>{0.5, -1.25, 2.0, 0.25}));
  EXPECT_EQ(t.batch.correct, (std::vector<uint8_t>{1, 0, 1, 1}));
  EXPECT_EQ(t.line, (std::vector<int>{4, 6}));
  EXPECT_EQ(t.typed[0], (std::vector<std::string>{"0.5", "-1.25e0", "+2"}));
  EXPECT_EQ(t.batch.prompt, (std::vector<int32_t>{0, 1}));
}

TEST(ParseRewardGroups, InlineLengthsSizeTheTokenArrays) {
  std::istringstream in("1:3 0 0:2\n1:1\n");
  const Batch b = ParseRewardGroups(in, "", 0);
  EXPECT_EQ(b.token_begin, (std::vector<int32_t>{0, 3, 4, 6, 7}));
  EXPECT_EQ(b.group_begin, (std::vector<int32_t>{0, 3, 4}));
  EXPECT_EQ(b.num_tokens(), 7);
  EXPECT_EQ(b.token, std::vector<int32_t>(7, 0));
  EXPECT_EQ(b.state, std::vector<int32_t>(7, 0));
  EXPECT_EQ(b.logprob, std::vector<double>(7, 0.0));
  EXPECT_EQ(b.reward, (std::vector<double>{1, 0, 0, 1}));
}

TEST(ParseRewardGroups, LengthsFileSetsTheLengths) {
  const std::string path = WriteTempFile("lengths_ok", "# lengths\n2 5 1\n\n4\n");
  std::istringstream in("1 0 0\n# skipped\n0.5:4\n");  // an inline length that agrees
  const Batch b = ParseRewardGroups(in, path, 0);
  EXPECT_EQ(b.token_begin, (std::vector<int32_t>{0, 2, 7, 8, 12}));
  EXPECT_EQ(b.num_tokens(), 12);
  std::remove(path.c_str());
}

// ---- the advantages -------------------------------------------------------------

TEST(AdvantageCommand, GrpoS1Text) {
  const Outcome o = RunCommand({"--estimator", "grpo", "--group-size", "4"}, kS1);
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(Lines(o.out)[0].rfind("estimator: grpo", 0), 0u) << o.out;
  using W = std::vector<std::string>;
  EXPECT_EQ(Rows(o.out, "reward"), (std::vector<W>{{"1", "0", "0", "1"},
                                                   {"1", "1", "1", "1"},
                                                   {"0", "0", "0", "1"}}));
  EXPECT_EQ(Rows(o.out, "grpo"),
            (std::vector<W>{{"0.866024", "-0.866024", "-0.866024", "0.866024"},
                            {"0.000000", "0.000000", "0.000000", "0.000000"},
                            {"-0.499999", "-0.499999", "-0.499999", "1.499997"}}));
  EXPECT_TRUE(Rows(o.out, "length").empty()) << "all lengths are 1";
}

TEST(AdvantageCommand, TextColumnsAreRightAligned) {
  const Outcome o = RunCommand({"--estimator", "grpo"}, "1 0 0 1\n0.25 1\n");
  ASSERT_EQ(o.error, "");
  // Every reward / advantage row ends its cells at the same columns: the rows of
  // a group have the same length, and each cell's last character lines up.
  const std::vector<std::string> lines = Lines(o.out);
  std::vector<std::string> rows;
  for (const auto& l : lines) {
    if (l.rfind("  reward", 0) == 0 || l.rfind("  grpo", 0) == 0) rows.push_back(l);
  }
  ASSERT_EQ(rows.size(), 4u) << o.out;
  EXPECT_EQ(rows[0].size(), rows[1].size()) << o.out;
  EXPECT_EQ(rows[2].size(), rows[3].size()) << o.out;
  for (const auto& r : rows) {
    // Past the labels ("  reward"), the cell ends of group 2 are cell ends of every row.
    for (size_t c = 8; c < std::min(r.size(), rows[2].size()); ++c) {
      if (rows[2][c] != ' ' && (c + 1 == rows[2].size() || rows[2][c + 1] == ' ')) {
        EXPECT_NE(r[c], ' ') << "column " << c << " of '" << r << "'\n" << o.out;
      }
    }
  }
}

TEST(AdvantageCommand, GrpoJsonRoundTrips) {
  const Outcome o = RunCommand({"--estimator", "grpo", "--json"}, kS1);
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  EXPECT_EQ(j.estimator, "grpo");
  ASSERT_EQ(j.by_name.size(), 1u);
  ExpectSame9(j.by_name[0].second, Expected("grpo", kS1), "grpo json");
  EXPECT_NEAR(j.by_name[0].second[0][0], 0.866024, 5e-7);
  EXPECT_NEAR(j.by_name[0].second[2][3], 1.499997, 5e-7);
  EXPECT_EQ(o.out.back(), '\n');
  EXPECT_EQ(Lines(o.out).size(), 1u) << "one JSON object on one line";
}

// The names `all` keeps for groups of these sizes: those whose group_refusal
// (grpo_passk: n >= 2; passk, pkpo: n >= k = 4) accepts every group.
std::vector<std::string> FitForGroups(const std::vector<std::string>& names,
                                      const std::vector<int>& sizes) {
  std::vector<std::string> fit;
  for (const std::string& name : names) {
    const EstimatorEntry* e = EstimatorRegistry::Get().Find(name);
    bool ok = true;
    for (int n : sizes) ok = ok && (!e->group_refusal || e->group_refusal(nullptr, n).empty());
    if (ok) fit.push_back(name);
  }
  return fit;
}

TEST(AdvantageCommand, AllLeavesOutEstimatorsThatRefuseTheGroupSizes) {
  const Outcome o = RunCommand({"--json", "--estimator=all"}, "1 0 1\n");
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  for (const auto& kv : j.by_name) EXPECT_NE(kv.first, "passk");
  const std::vector<std::string> fit = FitForGroups(BareRewardEstimatorNames(), {3});
  EXPECT_EQ(j.by_name.size(), fit.size());
  EXPECT_LT(fit.size(), BareRewardEstimatorNames().size());
}

TEST(AdvantageCommand, AllJsonHasEveryEstimatorInRegistryOrder) {
  const std::string input = "1 0 0 1\n0.3 0.7 0.2\n";
  const Outcome o = RunCommand({"--json", "--estimator=all"}, input);
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  EXPECT_EQ(j.estimator, "all");
  const std::vector<std::string> names = FitForGroups(BareRewardEstimatorNames(), {4, 3});
  ASSERT_EQ(j.by_name.size(), names.size());
  for (size_t e = 0; e < names.size(); ++e) {
    EXPECT_EQ(j.by_name[e].first, names[e]);
    ExpectSame9(j.by_name[e].second, Expected(names[e], input), names[e]);
  }
}

TEST(AdvantageCommand, AllTextPrintsEveryRegisteredEstimator) {
  const Outcome o = RunCommand({"--estimator", "all"}, kS1);
  ASSERT_EQ(o.error, "");
  for (const EstimatorEntry* e : EstimatorRegistry::Get().All()) {
    // oracle needs a task (TaskEstimatorsAreLeftOut), remax --greedy (GreedyJoinsAll),
    // gae --values (ValuesJoinAll).
    if (e->needs_task || e->needs_greedy || e->needs_values) continue;
    const auto rows = Rows(o.out, e->name);
    ASSERT_EQ(rows.size(), 3u) << e->name << "\n" << o.out;
    EXPECT_EQ(rows[0].size(), 4u) << e->name;
    EXPECT_NE(Lines(o.out)[0].find(e->name), std::string::npos) << "header names " << e->name;
  }
  EXPECT_EQ(Rows(o.out, "grpo")[0][0], "0.866024");
  EXPECT_EQ(Rows(o.out, "rloo")[0][0], "0.666667");
  EXPECT_EQ(Rows(o.out, "reinforce")[1][0], "1.000000");
}

TEST(AdvantageCommand, TaskEstimatorsAreLeftOut) {
  if (EstimatorRegistry::Get().Find("oracle") == nullptr) GTEST_SKIP() << "no oracle registered";
  for (const auto& n : BareRewardEstimatorNames()) EXPECT_NE(n, "oracle");
  const Outcome o = RunCommand({"--estimator", "oracle"}, kS1);
  EXPECT_NE(o.error.find("'oracle' needs a task's exact oracle"), std::string::npos) << o.error;
}

TEST(AdvantageCommand, SingletonGroupsFollowVerl) {
  const Outcome o = RunCommand({"--estimator", "grpo"}, "1\n0.7\n");
  ASSERT_EQ(o.error, "");
  using W = std::vector<std::string>;
  EXPECT_EQ(Rows(o.out, "grpo"), (std::vector<W>{{"0.999999"}, {"0.699999"}}));
}

TEST(AdvantageCommand, LengthsShowAndReachTheEstimator) {
  const Outcome shown = RunCommand({"--estimator", "reinforce"}, "1:3 0\n");
  ASSERT_EQ(shown.error, "");
  EXPECT_EQ(Rows(shown.out, "length"), (std::vector<std::vector<std::string>>{{"3", "1"}}));
  EXPECT_EQ(Rows(shown.out, "reward"), (std::vector<std::vector<std::string>>{{"1", "0"}}));

  // opo's baseline is the length-weighted mean (verl compute_opo_outcome_advantage):
  // [1 (1 token), 0 (3 tokens)] -> b = 1/4 -> A = [0.75, -0.25].
  if (EstimatorRegistry::Get().Find("opo") == nullptr) GTEST_SKIP() << "no opo registered";
  const std::string path = WriteTempFile("lengths_opo", "1 3\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--estimator", "opo", "--json"},
           {"--estimator", "opo", "--json", "--lengths", path}}) {
    const Outcome o = RunCommand(args, args.size() == 3 ? "1:1 0:3\n" : "1 0\n");
    ASSERT_EQ(o.error, "");
    AdvantageJson j(o.out);
    ASSERT_TRUE(j.Parse()) << o.out;
    ExpectSame9(j.by_name[0].second, {{0.75, -0.25}}, "opo with lengths");
  }
  const Outcome unit = RunCommand({"--estimator", "opo", "--json"}, "1 0\n");
  AdvantageJson j(unit.out);
  ASSERT_TRUE(j.Parse()) << unit.out;
  ExpectSame9(j.by_name[0].second, {{0.5, -0.5}}, "opo, unit lengths");
  std::remove(path.c_str());
}

TEST(AdvantageCommand, PlanningRefusesBeforeAnyCompute) {
  EXPECT_EQ(RunCommand({"--estimator", "test_two_tokens"}, "1\n").error,
            "test_two_tokens: the batch has a single valid token; whitening needs at least 2");
  EXPECT_EQ(RunCommand({"--estimator", "test_two_tokens"}, "1:2\n").error, "");
  // With `all`, the first estimator (registry order) that refuses names itself.
  std::string first_error;
  for (const auto& n : FitForGroups(BareRewardEstimatorNames(), {1})) {
    const std::string e = RunCommand({"--estimator", n}, "1\n").error;
    if (!e.empty()) {
      first_error = "estimator '" + n + "': " + e;
      break;
    }
  }
  EXPECT_EQ(RunCommand({"--estimator", "all"}, "1\n").error, first_error);
  EXPECT_NE(first_error, "");
}

TEST(AdvantageCommand, WhiteningEstimatorRefusesOneToken) {
  if (EstimatorRegistry::Get().Find("reinforce_pp") == nullptr) {
    GTEST_SKIP() << "no reinforce_pp registered";
  }
  // The message is planning's (BareBatchRefusal), before any Compute.
  const std::string want = "reinforce_pp: the batch has a single valid token; whitening needs at "
                           "least 2";
  EXPECT_EQ(RunCommand({"--estimator", "reinforce_pp"}, "1\n").error, want);
  EXPECT_EQ(RunCommand({"--estimator", "reinforce_pp"}, "1:2\n").error, "");
  // PlanEstimators directly, on the parsed table.
  std::istringstream in("1\n");
  const RewardTable table = ParseRewardTable(in, RewardFiles{}, 0);
  try {
    PlanEstimators("reinforce_pp", {"reinforce_pp"}, table);
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), want);
  }
  EXPECT_NO_THROW(PlanEstimators("grpo", {"grpo"}, table));
}

TEST(AdvantageCommand, Help) {
  const Outcome o = RunCommand({"--help"}, "");
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("usage: advlab advantage --estimator"), std::string::npos);
}

// ---- errors ---------------------------------------------------------------------

TEST(AdvantageErrors, BadTokensNameLineAndColumn) {
  EXPECT_EQ(ParseError("1 0 0 1\n1 abc 0 1\n"), "stdin:2:2: 'abc' is not a number");
  EXPECT_EQ(ParseError("1 0 0 1\n\n# c\n1 0 abc\n"), "stdin:4:3: 'abc' is not a number");
  EXPECT_EQ(ParseError("1 0 nan\n"),
            "stdin:1:3: 'nan' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ParseError("-inf\n"),
            "stdin:1:1: '-inf' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ParseError("1 1e999\n"),
            "stdin:1:2: '1e999' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ParseError("0x1\n"), "stdin:1:1: '0x1' is not a number");
  EXPECT_EQ(ParseError("1,0\n"), "stdin:1:1: '1,0' is not a number");
  EXPECT_EQ(ParseError("++1\n"), "stdin:1:1: '++1' is not a number");
  EXPECT_EQ(ParseError("1 x:2\n"), "stdin:1:2: 'x:2': 'x' is not a number");
  EXPECT_EQ(ParseError("1:0 1\n"), "stdin:1:1: '1:0': length '0' is not an integer >= 1");
  EXPECT_EQ(ParseError("1 1:2.5\n"), "stdin:1:2: '1:2.5': length '2.5' is not an integer >= 1");
  EXPECT_EQ(ParseError("1 1:-2\n"), "stdin:1:2: '1:-2': length '-2' is not an integer >= 1");
  EXPECT_EQ(ParseError("1 1:\n"), "stdin:1:2: '1:': length '' is not an integer >= 1");
  EXPECT_EQ(ParseError("1:99999999999999999999\n"),
            "stdin:1:1: '1:99999999999999999999': length '99999999999999999999' is above the "
            "limit 1000000");
  EXPECT_EQ(ParseError("1e-999 1\n"), "");  // underflows to 0: finite
}

TEST(AdvantageErrors, GroupSizeMismatchNamesTheLine) {
  EXPECT_EQ(ParseError("1 0 0 1\n1 0 0\n", "", 4), "stdin:2:4: line has 3 rewards; --group-size is 4");
  EXPECT_EQ(ParseError("1 0 0 1 1\n", "", 4), "stdin:1:5: line has 5 rewards; --group-size is 4");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--group-size", "2"}, "1\n").error,
            "stdin:1:2: line has 1 reward; --group-size is 2");
}

TEST(AdvantageErrors, EmptyInput) {
  EXPECT_EQ(ParseError(""), "stdin: no rewards");
  EXPECT_EQ(ParseError("# nothing\n\n   \n"), "stdin: no rewards");
  EXPECT_EQ(RunCommand({"--estimator", "grpo"}, "").error, "stdin: no rewards");
}

TEST(AdvantageErrors, LengthsFileLayout) {
  const std::string bad = WriteTempFile("lengths_bad", "2 x\n");
  EXPECT_EQ(ParseError("1 0\n", bad), bad + ":1:2: 'x' is not a length; allowed: an integer >= 1");
  const std::string zero = WriteTempFile("lengths_zero", "# c\n2 0\n");
  EXPECT_EQ(ParseError("1 0\n", zero),
            zero + ":2:2: '0' is not a length; allowed: an integer >= 1");
  const std::string two = WriteTempFile("lengths_two", "2 3\n4 5 6\n");
  EXPECT_EQ(ParseError("1 0\n1 0\n", two),
            two + ":2:3: extra length: 3 lengths for 2 rewards on stdin:2");
  EXPECT_EQ(ParseError("1 0\n1 0 1 1\n", two),
            two + ":2:4: missing length: 3 lengths for 4 rewards on stdin:2");
  EXPECT_EQ(ParseError("1 0\n1 0 1\n\n1\n", two),
            "stdin:4:1: no line of lengths for this group in " + two +
                " (it has 2 lines of lengths, stdin has 3 groups)");
  EXPECT_EQ(ParseError("1 0\n", two), two + ":2:1: extra line of lengths: stdin has 1 group");
  EXPECT_EQ(ParseError("1 0:7\n1 0 1\n", two),
            "stdin:1:2: '0:7' gives length 7 but " + two + ":1:2 gives 3");
  EXPECT_EQ(ParseError("1\n", ::testing::TempDir() + "advantage_test_missing"),
            ::testing::TempDir() + "advantage_test_missing: cannot open (--lengths)");
  for (const auto& p : {bad, zero, two}) std::remove(p.c_str());
}

// ---- --reference and --greedy ----------------------------------------------------

// A `--reference` file for the estimators.md example: three groups of S1.
constexpr char kS1Reference[] = "# reference policy\n0 0 1 1\n0 0 0 0\n\n1 1 0 0\n";

std::string ReferenceError(const std::string& input, const std::string& ref_text) {
  const std::string path = WriteTempFile("ref_error", ref_text);
  std::string e = RunCommand({"--estimator", "grpo+aapo", "--reference", path}, input).error;
  std::remove(path.c_str());
  // Name the file FILE in the expectations.
  for (size_t at; (at = e.find(path)) != std::string::npos;) e.replace(at, path.size(), "FILE");
  return e;
}

std::string GreedyError(const std::string& input, const std::string& greedy_text) {
  const std::string path = WriteTempFile("greedy_error", greedy_text);
  std::string e = RunCommand({"--estimator", "all", "--greedy", path}, input).error;
  std::remove(path.c_str());
  for (size_t at; (at = e.find(path)) != std::string::npos;) e.replace(at, path.size(), "FILE");
  return e;
}

TEST(ParseRewardGroups, ReferenceAndGreedyFilesFillTheBatch) {
  const std::string ref = WriteTempFile("ref_ok", kS1Reference);
  const std::string greedy = WriteTempFile("greedy_ok", "1\n# c\n0.5\n\n-1e0\n");
  RewardFiles files;
  files.reference = ref;
  files.greedy = greedy;
  std::istringstream in(kS1);
  const RewardTable t = ParseRewardTable(in, files, 4);
  EXPECT_EQ(t.extra.reference, (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(t.extra.greedy, (std::vector<double>{1, 0.5, -1}));
  EXPECT_EQ(t.ref_typed[2], (std::vector<std::string>{"1", "1", "0", "0"}));
  EXPECT_EQ(t.greedy_typed, (std::vector<std::string>{"1", "0.5", "-1e0"}));
  // Without the files both stay empty (training's "not sampled").
  std::istringstream plain(kS1);
  const RewardTable p = ParseRewardTable(plain, RewardFiles{}, 4);
  EXPECT_TRUE(p.extra.reference.empty());
  EXPECT_TRUE(p.extra.greedy.empty());
  EXPECT_TRUE(p.ref_typed.empty());
  std::remove(ref.c_str());
  std::remove(greedy.c_str());
}

// grpo on S1 plus clip(r_i - ref_i, -0.2, 0.28): +0.28 where the policy wins, -0.2
// where it loses; the all-correct group B gets +0.28 on every rollout.
TEST(AdvantageCommand, AapoWithReferenceText) {
  const std::string ref = WriteTempFile("ref_text", kS1Reference);
  const Outcome o = RunCommand({"--estimator", "grpo+aapo", "--reference", ref}, kS1);
  ASSERT_EQ(o.error, "");
  using W = std::vector<std::string>;
  EXPECT_EQ(Rows(o.out, "reference"),
            (std::vector<W>{{"0", "0", "1", "1"}, {"0", "0", "0", "0"}, {"1", "1", "0", "0"}}));
  EXPECT_EQ(Rows(o.out, "grpo+aapo"),
            (std::vector<W>{{"1.146024", "-0.866024", "-1.066024", "0.866024"},
                            {"0.280000", "0.280000", "0.280000", "0.280000"},
                            {"-0.699999", "-0.699999", "-0.499999", "1.779997"}}));
  EXPECT_NE(o.out.find("the reference rewards (--reference)"), std::string::npos) << o.out;
  // Without --reference the text has no reference row.
  EXPECT_TRUE(Rows(RunCommand({"--estimator", "grpo"}, kS1).out, "reference").empty());
  std::remove(ref.c_str());
}

// The same code path as training: MakeEstimator, Bind, Compute on the same batch.
TEST(AdvantageCommand, AapoJsonMatchesTheEstimatorOnTheBatch) {
  const std::string ref = WriteTempFile("ref_json", kS1Reference);
  for (const std::string name :
       {"grpo+aapo", "rloo+aapo", "dr_grpo+dash+aapo", "grpo+aapo+adora"}) {
    const Outcome o = RunCommand({"--estimator", name, "--reference", ref, "--json"}, kS1);
    ASSERT_EQ(o.error, "") << name;
    AdvantageJson j(o.out);
    ASSERT_TRUE(j.Parse()) << o.out;
    RewardFiles files;
    files.reference = ref;
    std::istringstream in(kS1);
    RewardTable t = ParseRewardTable(in, files, 0);
    Batch& b = t.batch;
    std::unique_ptr<Estimator> e = MakeEstimator(name);
    e->Bind(EstimatorContext{});
    e->SampleExtra(&t.extra, b);  // the reference rewards, as the loop's sampler would
    e->Compute(&b);
    std::vector<std::vector<double>> want;
    for (int g = 0; g < b.num_groups(); ++g) {
      want.emplace_back(b.advantage.begin() + b.group_begin[g],
                        b.advantage.begin() + b.group_begin[g + 1]);
    }
    ExpectSame9(j.by_name[0].second, want, name);
  }
  std::remove(ref.c_str());
}

TEST(AdvantageCommand, RemaxReadsTheGreedyRewards) {
  const EstimatorEntry* remax = EstimatorRegistry::Get().Find("remax");
  if (remax == nullptr) GTEST_SKIP() << "no remax registered";
  EXPECT_TRUE(remax->needs_greedy);
  const std::string greedy = WriteTempFile("greedy_remax", "1\n0.5\n0\n");
  const Outcome o = RunCommand({"--estimator", "remax", "--greedy", greedy}, kS1);
  ASSERT_EQ(o.error, "");
  using W = std::vector<std::string>;
  // Without a KL reward ReMax is A = R - greedy reward.
  EXPECT_EQ(Rows(o.out, "remax"),
            (std::vector<W>{{"0.000000", "-1.000000", "-1.000000", "0.000000"},
                            {"0.500000", "0.500000", "0.500000", "0.500000"},
                            {"0.000000", "0.000000", "0.000000", "1.000000"}}));
  EXPECT_NE(o.out.find("(group 2, G = 4, greedy reward 0.5)"), std::string::npos) << o.out;
  std::remove(greedy.c_str());
}

// `all` shows estimators that read a greedy reward only when --greedy gives one.
TEST(AdvantageCommand, GreedyJoinsAll) {
  const std::vector<std::string> bare = BareRewardEstimatorNames();
  const std::vector<std::string> with = BareRewardEstimatorNames(true);
  for (const EstimatorEntry* e : EstimatorRegistry::Get().All()) {
    if (e->needs_task || e->needs_values) continue;  // values: ValuesJoinAll
    const bool in_bare = std::find(bare.begin(), bare.end(), e->name) != bare.end();
    const bool in_with = std::find(with.begin(), with.end(), e->name) != with.end();
    EXPECT_EQ(in_bare, !e->needs_greedy) << e->name;
    EXPECT_TRUE(in_with) << e->name;
  }
  if (EstimatorRegistry::Get().Find("remax") == nullptr) GTEST_SKIP() << "no remax registered";
  EXPECT_TRUE(Rows(RunCommand({"--estimator", "all"}, kS1).out, "remax").empty());
  const std::string greedy = WriteTempFile("greedy_all", "1\n1\n1\n");
  const Outcome o = RunCommand({"--estimator", "all", "--greedy", greedy, "--json"}, kS1);
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  ASSERT_EQ(j.by_name.size(), with.size());
  for (size_t e = 0; e < with.size(); ++e) EXPECT_EQ(j.by_name[e].first, with[e]);
  std::remove(greedy.c_str());
}

TEST(AdvantageErrors, ReferenceAndGreedyAreRequiredOrRefused) {
  const std::string ref = WriteTempFile("ref_opts", kS1Reference);
  EXPECT_EQ(RunCommand({"--estimator", "grpo+aapo"}, kS1).error,
            "--estimator grpo+aapo: aapo needs the reference policy's rewards; give --reference "
            "FILE (one line per group, as many rewards as the group's line on stdin)");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--reference", ref}, kS1).error,
            "--reference: estimator 'grpo' reads no reference rewards; allowed only with a "
            "modifier that does (aapo), e.g. --estimator grpo+aapo");
  EXPECT_EQ(RunCommand({"--estimator", "all", "--reference", ref}, kS1).error,
            "--reference: estimator 'all' reads no reference rewards; allowed only with a "
            "modifier that does (aapo), e.g. --estimator grpo+aapo");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--greedy", ref}, kS1)
                .error.rfind("--greedy: estimator 'grpo' reads no greedy rewards; allowed only "
                             "with an estimator that does (",
                             0),
            0u);
  if (EstimatorRegistry::Get().Find("remax") != nullptr) {
    EXPECT_EQ(RunCommand({"--estimator", "remax"}, kS1).error,
              "--estimator remax: remax needs the greedy response's reward of each group; give "
              "--greedy FILE (one number per line, one line per group)");
    EXPECT_EQ(RunCommand({"--estimator", "remax+aapo", "--greedy", ref}, kS1).error,
              "--estimator remax+aapo: aapo needs the reference policy's rewards; give "
              "--reference FILE (one line per group, as many rewards as the group's line on "
              "stdin)");
  }
  // Option errors come before reading stdin.
  EXPECT_EQ(RunCommand({"--estimator", "grpo+aapo"}, "abc\n").error.rfind("--estimator grpo+aapo: "
                                                                         "aapo needs",
                                                                         0),
            0u);
  EXPECT_EQ(RunCommand({"--estimator", "grpo+aapo", "--reference",
                        ::testing::TempDir() + "advantage_test_no_ref"},
                       kS1)
                .error,
            ::testing::TempDir() + "advantage_test_no_ref: cannot open (--reference)");
  std::remove(ref.c_str());
}

TEST(AdvantageErrors, ReferenceFileLayout) {
  EXPECT_EQ(ReferenceError("1 0\n1 0\n", "0 1\n# c\n1 abc\n"),
            "FILE:3:2: 'abc' is not a number; allowed: finite decimals");
  EXPECT_EQ(ReferenceError("1 0\n", "nan 1\n"),
            "FILE:1:1: 'nan' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ReferenceError("1 0\n", "0 1:3\n"),
            "FILE:1:2: '1:3' is not a number; allowed: finite decimals (no reward:length in "
            "--reference)");
  EXPECT_EQ(ReferenceError("1 0 0 1\n1 0\n", "0 0 1 1\n0 0 1\n"),
            "FILE:2:3: extra reference reward: 3 reference rewards for 2 rewards on stdin:2");
  EXPECT_EQ(ReferenceError("1 0 0 1\n", "\n0 0 1\n"),
            "FILE:2:4: missing reference reward: 3 reference rewards for 4 rewards on stdin:1");
  EXPECT_EQ(ReferenceError("1 0\n# c\n1 0\n\n1 1\n", "0 0\n1 1\n"),
            "FILE: ends after 2 lines of reference rewards, but stdin has 3 groups; missing the "
            "line for stdin:5 (group 3)");
  EXPECT_EQ(ReferenceError("1 0\n", ""),
            "FILE: ends after 0 lines of reference rewards, but stdin has 1 group; missing the "
            "line for stdin:1 (group 1)");
  EXPECT_EQ(ReferenceError("1 0\n", "0 0\n# c\n1 1\n"),
            "FILE:3:1: extra line of reference rewards: stdin has 1 group");
  // stdin's own errors still name stdin.
  EXPECT_EQ(ReferenceError("1 x\n", "0 0\n"), "stdin:1:2: 'x' is not a number");
}

TEST(AdvantageErrors, GreedyFileLayout) {
  if (BareRewardEstimatorNames(true) == BareRewardEstimatorNames()) {
    GTEST_SKIP() << "no estimator reads greedy rewards";
  }
  EXPECT_EQ(GreedyError("1 0\n1 0\n", "1\n# c\nabc\n"),
            "FILE:3:1: 'abc' is not a number; allowed: finite decimals");
  EXPECT_EQ(GreedyError("1 0\n", "inf\n"),
            "FILE:1:1: 'inf' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(GreedyError("1 0\n1 0\n", "1\n0.5 1\n"),
            "FILE:2:2: extra value '1'; allowed: one greedy reward per line, one line per group");
  EXPECT_EQ(GreedyError("1 0\n\n1 0\n", "1\n"),
            "FILE: ends after 1 greedy reward, but stdin has 2 groups; missing the one for "
            "stdin:3 (group 2)");
  EXPECT_EQ(GreedyError("1 0\n", "1\n\n0\n"),
            "FILE:3:1: extra greedy reward: stdin has 1 group; allowed: one line per group");
}

// ---- --values (gae) ---------------------------------------------------------------

// The critic values of estimators.md §2.1 (one rollout of 3 tokens, outcome 1) and
// a second rollout of 2 tokens.
constexpr char kValuesInput[] = "1:3 0:2\n";
constexpr char kValues[] = "# critic\n0.5,0.6,0.7 0.2,0.4\n";

std::string ValuesError(const std::string& input, const std::string& values_text,
                        const std::string& estimator = "gae") {
  const std::string path = WriteTempFile("values_error", values_text);
  std::string e = RunCommand({"--estimator", estimator, "--values", path}, input).error;
  std::remove(path.c_str());
  for (size_t at; (at = e.find(path)) != std::string::npos;) e.replace(at, path.size(), "FILE");
  return e;
}

// The registry's gae, unbound as here, on the batch of `input` with `values_path`.
Batch GaeOnTheBatch(const std::string& name, const std::string& input,
                    const std::string& values_path) {
  RewardFiles files;
  files.values = values_path;
  std::istringstream in(input);
  Batch b = ParseRewardTable(in, files, 0).batch;
  std::unique_ptr<Estimator> e = MakeEstimator(name);
  e->Bind(EstimatorContext{});
  e->Compute(&b);
  return b;
}

TEST(ParseRewardGroups, ValuesFileFillsTheBatchInTokenOrder) {
  const std::string path =
      WriteTempFile("values_ok", "# values\n0.5,0.6,0.7  +2e-1,.4\n\n  # c\n-1\n");
  RewardFiles files;
  files.values = path;
  std::istringstream in("1:3 0:2\n# skipped\n0.5\n");
  const RewardTable t = ParseRewardTable(in, files, 0);
  EXPECT_EQ(t.batch.value, (std::vector<double>{0.5, 0.6, 0.7, 0.2, 0.4, -1.0}));
  EXPECT_EQ(t.batch.value.size(), static_cast<size_t>(t.batch.num_tokens()));
  // With --lengths instead of inline lengths: the same layout.
  const std::string lengths = WriteTempFile("values_lengths", "3 2\n1\n");
  files.lengths = lengths;
  std::istringstream plain_lengths("1 0\n0.5\n");
  EXPECT_EQ(ParseRewardTable(plain_lengths, files, 0).batch.value, t.batch.value);
  // Without the file the values stay empty (training: gae's own critic).
  std::istringstream plain(kValuesInput);
  EXPECT_TRUE(ParseRewardTable(plain, RewardFiles{}, 0).batch.value.empty());
  std::remove(path.c_str());
  std::remove(lengths.c_str());
}

// estimators.md §2.1 through the command: rewards [0, 0, 1] on the last token,
// V = [0.5, 0.6, 0.7], gamma = lambda = 1: raw A = [0.5, 0.4, 0.3], whitened
// over the 3 tokens; the rollout's advantage is its first token's, the same
// bits as GaeAdvantages + WhitenTokens (gae_test.cc, GaeKernel.Section2_1).
// §12.7 needs gamma = 0.99, lambda = 0.95, which `advlab advantage` does not
// set (it runs with the defaults 1, 1): gae_test.cc checks it unbound.
TEST(AdvantageCommand, GaeReproducesSection2_1) {
  const std::string path = WriteTempFile("values_2_1", "0.5,0.6,0.7\n");
  const Outcome o = RunCommand({"--estimator", "gae", "--values", path, "--json"}, "1:3\n");
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  ASSERT_EQ(j.by_name.size(), 1u);
  ASSERT_EQ(j.by_name[0].second.size(), 1u);
  ASSERT_EQ(j.by_name[0].second[0].size(), 1u);
  const double rewards[] = {0, 0, 1}, values[] = {0.5, 0.6, 0.7};
  const int32_t token_begin[] = {0, 3};
  double adv[3], ret[3];
  GaeAdvantages(rewards, values, token_begin, 1, 1.0, 1.0, adv, ret);
  WhitenTokens(adv, 3);
  // %.17g round-trips a double: the same bits.
  EXPECT_EQ(std::bit_cast<uint64_t>(j.by_name[0].second[0][0]), std::bit_cast<uint64_t>(adv[0]))
      << j.by_name[0].second[0][0] << " vs " << adv[0];
  EXPECT_NEAR(j.by_name[0].second[0][0], 0.9999995150003652, 1e-15);
  // The text prints the same number to 6 decimals, under the length row.
  const Outcome text = RunCommand({"--estimator", "gae", "--values", path}, "1:3\n");
  ASSERT_EQ(text.error, "");
  using W = std::vector<std::string>;
  EXPECT_EQ(Rows(text.out, "gae"), (std::vector<W>{{"1.000000"}}));
  EXPECT_EQ(Rows(text.out, "length"), (std::vector<W>{{"3"}}));
  std::remove(path.c_str());
}

TEST(AdvantageCommand, GaeText) {
  const std::string path = WriteTempFile("values_text", kValues);
  const Outcome o = RunCommand({"--estimator", "gae", "--values", path}, kValuesInput);
  ASSERT_EQ(o.error, "");
  using W = std::vector<std::string>;
  // Raw A = [0.5, 0.4, 0.3 | -0.2, -0.4], whitened over the 5 tokens (mean 0.12,
  // std sqrt(0.157)): first tokens 0.38 / 0.3962 and -0.32 / 0.3962.
  EXPECT_EQ(Rows(o.out, "gae"), (std::vector<W>{{"0.959033", "-0.807607"}}));
  EXPECT_EQ(Rows(o.out, "reward"), (std::vector<W>{{"1", "0"}}));
  // The format is the usual one: no row of values.
  EXPECT_EQ(Lines(o.out)[0], "estimator: gae  (1 group, 2 rollouts, 5 tokens)");
  EXPECT_EQ(Lines(o.out).size(), 7u) << o.out;
  std::remove(path.c_str());
}

// The same code path as training: MakeEstimator, Bind (unbound, as here),
// Compute on the batch with its values; modifiers compose as with any base.
TEST(AdvantageCommand, GaeJsonMatchesTheEstimatorOnTheBatch) {
  const std::string path = WriteTempFile("values_json", "0.5,0.6,0.7 0.2,0.4 0.9\n0 0.25,0.5\n");
  const std::string input = "1:3 0:2 1\n0 1:2\n";
  for (const std::string name : {"gae", "gae+dash", "gae+adora"}) {
    const Outcome o = RunCommand({"--estimator", name, "--values", path, "--json"}, input);
    ASSERT_EQ(o.error, "") << name;
    AdvantageJson j(o.out);
    ASSERT_TRUE(j.Parse()) << o.out;
    const Batch b = GaeOnTheBatch(name, input, path);
    ASSERT_EQ(j.by_name[0].second.size(), 2u) << name;
    size_t r = 0;
    for (const auto& group : j.by_name[0].second) {
      for (double a : group) {
        EXPECT_EQ(std::bit_cast<uint64_t>(a), std::bit_cast<uint64_t>(b.advantage[r]))
            << name << " rollout " << r;
        ++r;
      }
    }
    EXPECT_EQ(r, b.advantage.size()) << name;
  }
  std::remove(path.c_str());
}

// `all` shows estimators that read critic values only when --values gives them;
// the values change nothing for the others.
TEST(AdvantageCommand, ValuesJoinAll) {
  const std::vector<std::string> bare = BareRewardEstimatorNames();
  const std::vector<std::string> with = BareRewardEstimatorNames(false, true);
  for (const EstimatorEntry* e : EstimatorRegistry::Get().All()) {
    if (e->needs_task || e->needs_greedy) continue;
    const bool in_bare = std::find(bare.begin(), bare.end(), e->name) != bare.end();
    const bool in_with = std::find(with.begin(), with.end(), e->name) != with.end();
    EXPECT_EQ(in_bare, !e->needs_values) << e->name;
    EXPECT_TRUE(in_with) << e->name;
  }
  const EstimatorEntry* gae = EstimatorRegistry::Get().Find("gae");
  if (gae == nullptr) GTEST_SKIP() << "no gae registered";
  EXPECT_TRUE(gae->needs_values);
  EXPECT_FALSE(gae->needs_task);
  EXPECT_TRUE(Rows(RunCommand({"--estimator", "all"}, kValuesInput).out, "gae").empty());
  const std::string path = WriteTempFile("values_all", kValues);
  const Outcome o = RunCommand({"--estimator", "all", "--values", path, "--json"}, kValuesInput);
  ASSERT_EQ(o.error, "");
  AdvantageJson j(o.out);
  ASSERT_TRUE(j.Parse()) << o.out;
  const std::vector<std::string> fit = FitForGroups(with, {2});  // `all` on a group of 2
  ASSERT_EQ(j.by_name.size(), fit.size());
  for (size_t e = 0; e < fit.size(); ++e) {
    EXPECT_EQ(j.by_name[e].first, fit[e]);
    if (fit[e] != "gae") ExpectSame9(j.by_name[e].second, Expected(fit[e], kValuesInput), fit[e]);
  }
  // --greedy and --values together: both kinds join.
  const std::string greedy = WriteTempFile("values_all_greedy", "1\n");
  const Outcome both =
      RunCommand({"--estimator", "all", "--values", path, "--greedy", greedy}, kValuesInput);
  ASSERT_EQ(both.error, "");
  EXPECT_EQ(Rows(both.out, "gae").size(), 1u) << both.out;
  if (EstimatorRegistry::Get().Find("remax") != nullptr) {
    EXPECT_EQ(Rows(both.out, "remax").size(), 1u) << both.out;
  }
  std::remove(path.c_str());
  std::remove(greedy.c_str());
}

TEST(AdvantageErrors, ValuesAreRequiredOrRefused) {
  const std::string path = WriteTempFile("values_opts", kValues);
  EXPECT_EQ(RunCommand({"--estimator", "gae"}, kValuesInput).error,
            "--estimator gae: gae needs the critic's value of every token; give --values FILE "
            "(one line per group, one item per rollout: its values separated by commas, one per "
            "token)");
  EXPECT_EQ(RunCommand({"--estimator", "gae+dash"}, kValuesInput).error.rfind(
                "--estimator gae+dash: gae needs the critic's value of every token", 0),
            0u);
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--values", path}, kValuesInput).error,
            "--values: estimator 'grpo' reads no critic values; allowed only with an estimator "
            "that does (gae), or with `all`");
  EXPECT_EQ(RunCommand({"--estimator", "gae+aapo", "--values", path}, kValuesInput).error,
            "--estimator gae+aapo: aapo needs the reference policy's rewards; give --reference "
            "FILE (one line per group, as many rewards as the group's line on stdin)");
  // Option errors come before reading stdin.
  EXPECT_EQ(RunCommand({"--estimator", "gae"}, "abc\n").error.rfind("--estimator gae: ", 0), 0u);
  EXPECT_EQ(RunCommand({"--estimator", "gae", "--values",
                        ::testing::TempDir() + "advantage_test_no_values_" +
                            std::to_string(getpid())},
                       kValuesInput)
                .error,
            ::testing::TempDir() + "advantage_test_no_values_" + std::to_string(getpid()) +
                ": cannot open (--values)");
  // One token cannot be whitened: gae's own error, as in training.
  EXPECT_EQ(ValuesError("1\n", "0.5\n"),
            "gae: the batch has a single valid token; whitening needs at least 2");
  std::remove(path.c_str());
}

TEST(AdvantageErrors, ValuesFileLayout) {
  EXPECT_EQ(ValuesError("1:3 0:2\n", "0.5,0.6 0.2,0.4\n"),
            "FILE:1:1: '0.5,0.6': 2 values for a rollout of 3 tokens (stdin:1:1); allowed: one "
            "value per token, separated by commas");
  EXPECT_EQ(ValuesError("1 0\n", "0.5 0.2,0.1\n"),
            "FILE:1:2: '0.2,0.1': 2 values for a rollout of 1 token (stdin:1:2); allowed: one "
            "value per token, separated by commas");
  EXPECT_EQ(ValuesError("1 0\n# c\n1:2 0\n", "0.5 0.1\n0.5 0.2\n"),
            "FILE:2:1: '0.5': 1 value for a rollout of 2 tokens (stdin:3:1); allowed: one value "
            "per token, separated by commas");
  EXPECT_EQ(ValuesError("1:2 0\n", "0.5,x 0\n"),
            "FILE:1:1: '0.5,x': 'x' is not a number; allowed: finite decimals");
  EXPECT_EQ(ValuesError("1:2 0\n", "0.5, 0\n"),
            "FILE:1:1: '0.5,': '' is not a number; allowed: finite decimals");
  EXPECT_EQ(ValuesError("1 0\n", "0 abc\n"),
            "FILE:1:2: 'abc' is not a number; allowed: finite decimals");
  EXPECT_EQ(ValuesError("1:2 0\n", "0.5,inf 0\n"),
            "FILE:1:1: '0.5,inf': 'inf' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ValuesError("1 0\n", "nan 0\n"),
            "FILE:1:1: 'nan' is not a finite number; allowed: finite decimals");
  EXPECT_EQ(ValuesError("1 0\n", "0.5:3 0\n"),
            "FILE:1:1: '0.5:3' is not a number; allowed: finite decimals (no reward:length in "
            "--values)");
  EXPECT_EQ(ValuesError("1 0 1\n", "0.5 0.2\n"),
            "FILE:1:3: missing item: 2 items of values for 3 rewards on stdin:1; allowed: one item "
            "per rollout, its values separated by commas");
  EXPECT_EQ(ValuesError("1\n0 1\n", "0.5\n0.5 0.2 0.1\n"),
            "FILE:2:3: extra item: 3 items of values for 2 rewards on stdin:2; allowed: one item "
            "per rollout, its values separated by commas");
  EXPECT_EQ(ValuesError("1 0\n# c\n1 0\n\n1 1\n", "0 0\n1 1\n"),
            "FILE: ends after 2 lines of values, but stdin has 3 groups; missing the line for "
            "stdin:5 (group 3)");
  EXPECT_EQ(ValuesError("1 0\n", ""),
            "FILE: ends after 0 lines of values, but stdin has 1 group; missing the line for "
            "stdin:1 (group 1)");
  EXPECT_EQ(ValuesError("1 0\n", "0 0\n# c\n1 1\n"),
            "FILE:3:1: extra line of values: stdin has 1 group");
  // stdin's own errors still name stdin.
  EXPECT_EQ(ValuesError("1 x\n", "0 0\n"), "stdin:1:2: 'x' is not a number");
}

TEST(AdvantageErrors, UnknownEstimatorSuggests) {
  const std::string e = RunCommand({"--estimator", "grpoo"}, kS1).error;
  EXPECT_EQ(e.rfind("--estimator: unknown estimator 'grpoo' (did you mean 'grpo'?); allowed: all, ",
                    0),
            0u)
      << e;
  for (const auto& n : BareRewardEstimatorNames()) EXPECT_NE(e.find(n), std::string::npos) << n;
  EXPECT_EQ(RunCommand({"--estimator", "zzzzzzzzzz"}, kS1).error.find("did you mean"), std::string::npos);
}

TEST(AdvantageErrors, Options) {
  EXPECT_EQ(RunCommand({}, kS1).error.rfind("advantage: --estimator NAME is required; allowed: all, ", 0),
            0u);
  EXPECT_EQ(RunCommand({"--estimator"}, kS1).error, "--estimator needs a value");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--group-size", "0"}, kS1).error,
            "--group-size: invalid value '0'; allowed: an integer from 1 to 1000000");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--group-size=x"}, kS1).error,
            "--group-size: invalid value 'x'; allowed: an integer from 1 to 1000000");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--jsno"}, kS1).error,
            "advantage: unknown option '--jsno' (did you mean '--json'?); allowed: --estimator, "
            "--group-size, --lengths, --reference, --greedy, --values, --json, --help");
  EXPECT_EQ(RunCommand({"--estimator", "grpo+aapo", "--reference"}, kS1).error,
            "--reference needs a value");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "--greedy="}, kS1).error, "--greedy needs a value");
  EXPECT_EQ(RunCommand({"--estimator", "gae", "--values="}, kS1).error, "--values needs a value");
  EXPECT_EQ(RunCommand({"--estimator", "gae", "--values"}, kS1).error, "--values needs a value");
  EXPECT_EQ(RunCommand({"--estimator", "grpo", "rewards.txt"}, kS1).error,
            "advantage: unexpected argument 'rewards.txt'; rewards are read from stdin, one group "
            "per line");
}

}  // namespace
}  // namespace advlab
