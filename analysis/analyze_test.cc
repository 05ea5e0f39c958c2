// Tests of `advlab analyze`'s analysis on hand-made results: grouping and
// strata, pairing, tuning on held-out seeds, sensitivity and its ranking, the
// formats, and the bad-input checks.
#include "analysis/analyze.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/report.h"
#include "analysis/sensitivity.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/error.h"
#include "sim/results.h"

namespace advlab {
namespace {

// One eval point per run (step 100) unless `curves` gives more; runs listed as
// (estimator, lr, seed, final accuracy).
struct RunSpec {
  std::string estimator;
  double lr;
  int64_t seed;
  double accuracy;
};

Results MakeResults(const std::vector<RunSpec>& specs) {
  Results r;
  r.num_runs = static_cast<int64_t>(specs.size());
  r.steps = {0, 100};
  Column id{"run_id", Column::Kind::kInt, {}, {}, {}};
  Column seed{"seed", Column::Kind::kInt, {}, {}, {}};
  Column est{"estimator.name", Column::Kind::kString, {}, {}, {}};
  Column lr{"optim.lr", Column::Kind::kFloat, {}, {}, {}};
  Metric acc{"accuracy", {}};
  for (size_t i = 0; i < specs.size(); ++i) {
    id.ints.push_back(static_cast<int64_t>(i));
    seed.ints.push_back(specs[i].seed);
    est.strings.push_back(specs[i].estimator);
    lr.floats.push_back(specs[i].lr);
    acc.values.push_back(0.1);
    acc.values.push_back(specs[i].accuracy);
  }
  r.runs = {id, seed, est, lr};
  r.metrics = {acc};
  return r;
}

const Table& Find(const Analysis& a, const std::string& name) {
  for (const auto& t : a.tables)
    if (t.name == name) return t;
  ADD_FAILURE() << "no table " << name;
  return a.tables.front();
}

double Num(const Table& t, size_t row, const std::string& field) {
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (size_t k = 0; k < t.columns[c].fields.size(); ++k)
      if (t.columns[c].fields[k] == field) {
        const Field& f = t.rows[row][c].fields[k];
        return f.kind == Field::Kind::kInt ? static_cast<double>(f.integer) : f.number;
      }
  ADD_FAILURE() << "no field " << field;
  return 0;
}

std::string Text(const Table& t, size_t row, const std::string& field) {
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (size_t k = 0; k < t.columns[c].fields.size(); ++k)
      if (t.columns[c].fields[k] == field) return t.rows[row][c].fields[k].text;
  ADD_FAILURE() << "no field " << field;
  return "";
}

AnalyzeOptions Fast() {
  AnalyzeOptions o;
  o.resamples = 400;
  return o;
}

TEST(Analyze, SummaryPerConfigurationWithTInterval) {
  const Results r = MakeResults({{"grpo", 1, 1, 0.5}, {"grpo", 1, 2, 0.6}, {"grpo", 1, 3, 0.7},
                                 {"rloo", 1, 1, 0.2}, {"rloo", 1, 2, 0.3}, {"rloo", 1, 3, 0.4}});
  const Analysis a = Analyze(r, Fast());
  const Table& t = Find(a, "summary");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(Text(t, 0, "estimator.name"), "grpo");
  EXPECT_EQ(Num(t, 0, "n"), 3);
  EXPECT_NEAR(Num(t, 0, "mean"), 0.6, 1e-15);
  // t interval by hand: s = 0.1, t_{2,0.975} = 4.302652729911275.
  EXPECT_NEAR(Num(t, 0, "mean_t_lo"), 0.6 - 4.302652729911275 * 0.1 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(Num(t, 1, "median"), 0.3, 1e-15);
  // The bootstrap interval lies within the sample's range.
  EXPECT_GE(Num(t, 0, "mean_lo"), 0.5);
  EXPECT_LE(Num(t, 0, "mean_hi"), 0.7);
  // Same inputs, same bytes, in every format.
  for (const char* f : {"table", "csv", "json", "md"})
    EXPECT_EQ(FormatAnalysis(a, f), FormatAnalysis(Analyze(r, Fast()), f)) << f;
}

// The analysis resamples seeds, never evals: 16 seeds whose curves are flat
// (evals nearly equal within a run) but differ between seeds. The summary's
// bootstrap interval must be about as wide as the seeds' t interval; one built by
// resampling evals (of one run, or of the pooled eval matrix) would be far
// narrower or centred elsewhere.
TEST(Analyze, BootstrapIsOverSeedsNotEvals) {
  constexpr int kSeeds = 16, kEvals = 30;
  Results r;
  r.num_runs = kSeeds;
  for (int e = 0; e < kEvals; ++e) r.steps.push_back(10 * e);
  Column id{"run_id", Column::Kind::kInt, {}, {}, {}};
  Column seed{"seed", Column::Kind::kInt, {}, {}, {}};
  Column est{"estimator.name", Column::Kind::kString, {}, {}, {}};
  Metric acc{"accuracy", {}};
  for (int s = 0; s < kSeeds; ++s) {
    id.ints.push_back(s);
    seed.ints.push_back(s);
    est.strings.push_back("grpo");
    const double base = 0.5 + 0.2 * ((s % 2 == 0 ? 1 : -1) * (0.25 + 0.05 * (s / 2)));
    for (int e = 0; e < kEvals; ++e) acc.values.push_back(base + 1e-6 * (e % 3));
  }
  r.runs = {id, seed, est};
  r.metrics = {acc};
  for (const char* m : {"final", "auc", "best"}) {
    AnalyzeOptions o = Fast();
    o.measure = ParseMeasure(m);
    const Analysis a = Analyze(r, o);
    const Table& t = Find(a, "summary");
    const double boot = Num(t, 0, "mean_hi") - Num(t, 0, "mean_lo");
    const double tw = Num(t, 0, "mean_t_hi") - Num(t, 0, "mean_t_lo");
    EXPECT_GT(boot, 0.5 * tw) << m;
    EXPECT_LT(boot, 1.5 * tw) << m;
    EXPECT_LT(Num(t, 0, "mean_lo"), 0.5) << m;
    EXPECT_GT(Num(t, 0, "mean_hi"), 0.5) << m;
  }
}

TEST(Analyze, FloatsGroupByExactValue) {
  // Same %g display, still two configurations.
  const Results r = MakeResults({{"grpo", 0.1, 1, 0.5}, {"grpo", 0.1000000001, 1, 0.6}});
  const Analysis a = Analyze(r, Fast());
  const Table& t = Find(a, "summary");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(Text(t, 0, "optim.lr"), "0.1");
  EXPECT_EQ(Text(t, 1, "optim.lr"), "0.1");
}

TEST(Analyze, ByPoolsStrataAndResamplesWithinEach) {
  // Two learning rates per estimator: --by estimator.name pools them as strata.
  const Results r = MakeResults({{"grpo", 1, 1, 0.1}, {"grpo", 1, 2, 0.2}, {"grpo", 2, 1, 0.9},
                                 {"grpo", 2, 2, 0.8}});
  AnalyzeOptions o = Fast();
  o.by = {"estimator.name"};
  const Analysis a = Analyze(r, o);
  const Table& t = Find(a, "summary");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(Num(t, 0, "n"), 4);
  // Each resample draws two runs from each stratum, so its mean lies in
  // [(0.1+0.1+0.8+0.8)/4, (0.2+0.2+0.9+0.9)/4] = [0.45, 0.55]; an unstratified
  // bootstrap could draw four runs of one stratum (mean 0.1 or 0.9).
  EXPECT_GE(Num(t, 0, "mean_lo"), 0.45 - 1e-12);
  EXPECT_LE(Num(t, 0, "mean_hi"), 0.55 + 1e-12);
}

TEST(Analyze, ComparisonIsPairedBySeed) {
  // Seeds differ a lot (0.1 .. 0.9); within a seed grpo beats rloo by 0.02. An
  // unpaired comparison cannot tell them apart; the paired one can.
  std::vector<RunSpec> specs;
  const double base[] = {0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4};
  for (int s = 0; s < 8; ++s) {
    specs.push_back({"grpo", 1, s, base[s] + 0.02});
    specs.push_back({"rloo", 1, s, base[s]});
  }
  const Results r = MakeResults(specs);
  AnalyzeOptions o = Fast();
  o.compare_key = "estimator.name";
  o.compare_values = {"rloo", "grpo"};
  const Analysis a = Analyze(r, o);
  const Table& c = Find(a, "comparison");
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(Num(c, 0, "pairs"), 8);
  EXPECT_NEAR(Num(c, 0, "diff"), 0.02, 1e-12);
  EXPECT_NEAR(Num(c, 0, "diff_lo"), 0.02, 1e-12);  // every pair differs by 0.02
  EXPECT_EQ(Text(c, 0, "verdict"), "grpo better");
  // The unpaired CIs of the two rows overlap.
  const Table& s = Find(a, "summary");
  EXPECT_LT(Num(s, 0, "mean_lo"), Num(s, 1, "mean_hi"));
  EXPECT_LT(Num(s, 1, "mean_lo"), Num(s, 0, "mean_hi"));
  EXPECT_EQ(a.main_table, "comparison");
}

TEST(Analyze, ProbabilityOfImprovementIsPerStratum) {
  // grpo beats rloo at each learning rate, but rloo at lr 10 beats grpo at lr 1:
  // pooling all pairs across strata would give P = 0.75, the stratified 1.
  std::vector<RunSpec> specs;
  for (int s = 0; s < 4; ++s) {
    specs.push_back({"grpo", 1, s, 0.2 + 0.01 * s});
    specs.push_back({"rloo", 1, s, 0.1 + 0.01 * s});
    specs.push_back({"grpo", 10, s, 0.9 + 0.01 * s});
    specs.push_back({"rloo", 10, s, 0.8 + 0.01 * s});
  }
  AnalyzeOptions o = Fast();
  o.by = {"estimator.name"};
  o.compare_key = "estimator.name";
  o.compare_values = {"rloo", "grpo"};
  const Analysis a = Analyze(MakeResults(specs), o);
  const Table& c = Find(a, "comparison");
  EXPECT_EQ(Num(c, 0, "pairs"), 8);
  EXPECT_EQ(Num(c, 0, "poi"), 1.0);
  EXPECT_EQ(Num(c, 0, "poi_lo"), 1.0);
  EXPECT_NEAR(Num(c, 0, "diff"), 0.1, 1e-12);
  EXPECT_EQ(Text(c, 0, "verdict"), "grpo better");
}

TEST(Analyze, ComparisonSaysInsufficientDataAndInconclusive) {
  const Results few = MakeResults({{"grpo", 1, 1, 0.5}, {"grpo", 1, 2, 0.6}, {"rloo", 1, 1, 0.4},
                                   {"rloo", 1, 2, 0.5}});
  AnalyzeOptions o = Fast();
  o.compare_key = "estimator.name";
  o.compare_values = {"rloo", "grpo"};
  const Analysis a = Analyze(few, o);
  const Table& c = Find(a, "comparison");
  EXPECT_EQ(Text(c, 0, "verdict"), "insufficient data (2 pairs; 3 needed)");
  EXPECT_TRUE(std::isnan(Num(c, 0, "diff")));
  const Results mixed = MakeResults({{"grpo", 1, 1, 0.5}, {"grpo", 1, 2, 0.4}, {"grpo", 1, 3, 0.6},
                                     {"rloo", 1, 1, 0.4}, {"rloo", 1, 2, 0.5}, {"rloo", 1, 3, 0.6}});
  const Analysis b = Analyze(mixed, o);
  EXPECT_EQ(Text(Find(b, "comparison"), 0, "verdict"), "inconclusive");
}

// Arms (a sweep's /runs/arm column) differ in keys of their own: estimator.name
// is fixed by the arm, so it is neither a context nor a pairing key, and the arms
// pair by seed at each learning rate (a grid key crossed with the arms).
TEST(Analyze, ArmsPairBySeedAcrossTheKeysTheyDifferIn) {
  std::vector<RunSpec> specs;
  for (double lr : {1.0, 10.0})
    for (int s = 0; s < 4; ++s) specs.push_back({"grpo", lr, s, 0.1 * s + lr * 0.01});
  for (double lr : {1.0, 10.0})
    for (int s = 0; s < 4; ++s) specs.push_back({"grpo+aapo", lr, s, 0.1 * s + lr * 0.01 + 0.05});
  Results r = MakeResults(specs);
  Column arm{"arm", Column::Kind::kString, {}, {}, {}};
  for (const RunSpec& spec : specs) arm.strings.push_back(spec.estimator == "grpo" ? "g8" : "a4");
  r.runs.insert(r.runs.begin() + 2, arm);
  AnalyzeOptions o = Fast();
  o.compare_key = "arm";
  o.compare_values = {"g8", "a4"};
  const Analysis a = Analyze(r, o);
  const Table& c = Find(a, "comparison");
  ASSERT_EQ(c.rows.size(), 2u);  // one per learning rate; estimator.name is no context
  for (size_t row = 0; row < 2; ++row) {
    EXPECT_EQ(Num(c, row, "pairs"), 4);
    EXPECT_NEAR(Num(c, row, "diff"), 0.05, 1e-12);
    EXPECT_EQ(Text(c, row, "verdict"), "a4 better");
  }
  // The same arms compared through the key they set, and with --by arm alone
  // (the learning rate pairs, estimator.name does not).
  o.compare_key = "estimator.name";
  o.compare_values = {"grpo", "grpo+aapo"};
  const Analysis through_key = Analyze(r, o);
  EXPECT_EQ(Num(Find(through_key, "comparison"), 0, "pairs"), 4);
  o.compare_key = "arm";
  o.compare_values = {"g8", "a4"};
  o.by = {"arm"};
  const Analysis by_arm_analysis = Analyze(r, o);
  const Table& by_arm = Find(by_arm_analysis, "comparison");
  ASSERT_EQ(by_arm.rows.size(), 1u);
  EXPECT_EQ(Num(by_arm, 0, "pairs"), 8);
}

TEST(Analyze, TuningPicksOnTuningSeedsAndJudgesOnTheOthers) {
  // Seeds 1, 2 tune; 3, 4 judge. On seeds 1, 2 lr = 2 is best for grpo; on
  // seeds 3, 4 lr = 1 would be: the judged rows must still use lr = 2.
  const Results r = MakeResults({{"grpo", 1, 1, 0.5}, {"grpo", 1, 2, 0.5}, {"grpo", 1, 3, 0.9},
                                 {"grpo", 1, 4, 0.9}, {"grpo", 2, 1, 0.7}, {"grpo", 2, 2, 0.7},
                                 {"grpo", 2, 3, 0.6}, {"grpo", 2, 4, 0.62},
                                 {"grpo", 4, 1, 0.1}, {"grpo", 4, 2, 0.1}, {"grpo", 4, 3, 0.1},
                                 {"grpo", 4, 4, 0.1}});
  AnalyzeOptions o = Fast();
  o.tune_key = "optim.lr";
  const Analysis a = Analyze(r, o);
  const Table& tune = Find(a, "tuning");
  EXPECT_EQ(Text(tune, 0, "tuned"), "2");
  EXPECT_NEAR(Num(tune, 0, "tuning_score"), 0.7, 1e-15);
  EXPECT_EQ(Text(tune, 0, "check"), "ok");
  const Table& s = Find(a, "summary");
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(Num(s, 0, "n"), 2);
  EXPECT_NEAR(Num(s, 0, "mean"), 0.61, 1e-15);
  // A best value at the grid's edge is flagged.
  const Results edge = MakeResults({{"grpo", 1, 1, 0.9}, {"grpo", 1, 2, 0.9}, {"grpo", 1, 3, 0.9},
                                    {"grpo", 2, 1, 0.5}, {"grpo", 2, 2, 0.5}, {"grpo", 2, 3, 0.5}});
  o.tune_seeds = 2;
  const Analysis e = Analyze(edge, o);
  EXPECT_EQ(Text(Find(e, "tuning"), 0, "check"),
            "at the grid's edge: the optimum may lie outside");
}

TEST(Analyze, TunedArmsArePairedBySeedAcrossTheirLearningRates) {
  // grpo is best at lr 1, rloo at lr 2: after tuning, grpo@1 and rloo@2 are
  // compared on seeds 3..6, paired by seed although their lr differs.
  std::vector<RunSpec> specs;
  for (int s = 1; s <= 6; ++s) {
    specs.push_back({"grpo", 1, s, 0.8 + 0.01 * s});
    specs.push_back({"grpo", 2, s, 0.5});
    specs.push_back({"rloo", 1, s, 0.4});
    specs.push_back({"rloo", 2, s, 0.6 + 0.01 * s});
  }
  AnalyzeOptions o = Fast();
  o.tune_key = "optim.lr";
  o.compare_key = "estimator.name";
  o.compare_values = {"rloo", "grpo"};
  const Analysis a = Analyze(MakeResults(specs), o);
  const Table& c = Find(a, "comparison");
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(Num(c, 0, "pairs"), 3);
  EXPECT_NEAR(Num(c, 0, "diff"), 0.2, 1e-12);
  EXPECT_EQ(Text(c, 0, "verdict"), "grpo better");
}

TEST(Analyze, TunedRowsKeepTheGridsOrder) {
  // The file lists lr 1 before lr 2, grpo before rloo within each. grpo is best
  // at lr 2 and rloo at lr 1, so rloo's judged runs come first in the file: the
  // summary must still list grpo first, as the grid and the tuning table do.
  std::vector<RunSpec> specs;
  for (double lr : {1.0, 2.0}) {
    for (int s = 1; s <= 4; ++s) {
      specs.push_back({"grpo", lr, s, lr == 2.0 ? 0.8 : 0.3});
      specs.push_back({"rloo", lr, s, lr == 1.0 ? 0.7 : 0.2});
    }
  }
  AnalyzeOptions o = Fast();
  o.tune_key = "optim.lr";
  const Analysis a = Analyze(MakeResults(specs), o);
  const Table& tune = Find(a, "tuning");
  ASSERT_EQ(tune.rows.size(), 2u);
  EXPECT_EQ(Text(tune, 0, "estimator.name"), "grpo");
  EXPECT_EQ(Text(tune, 0, "tuned"), "2");
  EXPECT_EQ(Text(tune, 1, "tuned"), "1");
  const Table& s = Find(a, "summary");
  ASSERT_EQ(s.rows.size(), 2u);
  EXPECT_EQ(Text(s, 0, "estimator.name"), "grpo");
  EXPECT_EQ(Text(s, 1, "estimator.name"), "rloo");
  EXPECT_NEAR(Num(s, 0, "mean"), 0.8, 1e-15);
}

TEST(Analyze, SensitivityRanksTheFlatArmFirst) {
  std::vector<RunSpec> specs;
  const double lrs[] = {1, 4, 16, 64};
  const double flat[] = {0.80, 0.82, 0.81, 0.80};
  const double peaked[] = {0.20, 0.90, 0.30, 0.10};
  for (int p = 0; p < 4; ++p)
    for (int s = 0; s < 4; ++s) {
      specs.push_back({"flat", lrs[p], s, flat[p] + 0.01 * s});
      specs.push_back({"peaked", lrs[p], s, peaked[p] + 0.01 * s});
    }
  const Results r = MakeResults(specs);
  AnalyzeOptions o = Fast();
  o.sensitivity_key = "optim.lr";
  const Analysis a = Analyze(r, o);
  const Table& rank = Find(a, "ranking");
  ASSERT_EQ(rank.rows.size(), 2u);
  EXPECT_EQ(Text(rank, 0, "estimator.name"), "flat");
  EXPECT_EQ(Num(rank, 0, "rank_lo"), 1);
  EXPECT_EQ(Num(rank, 0, "rank_hi"), 1);
  EXPECT_EQ(Num(rank, 0, "p_first"), 1);
  EXPECT_EQ(Text(rank, 1, "best_at"), "4");
  EXPECT_EQ(Num(rank, 1, "within_share"), 0.25);
  // Score by hand, log axis, ratio to the global best (peaked at lr 4: 0.915):
  // mean height of flat's normalised curve over equally spaced log points.
  const double best = 0.915;
  const double q[] = {0.815 / best, 0.835 / best, 0.825 / best, 0.815 / best};
  const double score = ((q[0] + q[1]) / 2 + (q[1] + q[2]) / 2 + (q[2] + q[3]) / 2) / 3;
  EXPECT_NEAR(Num(rank, 0, "score"), score, 1e-12);
  const Table& pts = Find(a, "sensitivity");
  EXPECT_EQ(pts.rows.size(), 8u);
  EXPECT_EQ(a.main_table, "sensitivity");
}

TEST(Analyze, OneSeedPerConfigurationGivesUndefinedIntervals) {
  const Results r = MakeResults({{"grpo", 1, 1, 0.5}, {"rloo", 1, 1, 0.4}});
  const Analysis a = Analyze(r, Fast());
  const Table& t = Find(a, "summary");
  EXPECT_EQ(Num(t, 0, "mean"), 0.5);
  EXPECT_TRUE(std::isnan(Num(t, 0, "mean_t_lo")));
  EXPECT_NE(FormatAnalysis(a, "table").find("[undefined]"), std::string::npos);
}

TEST(Analyze, BadInputIsOneClearError) {
  const Results r = MakeResults({{"grpo", 1, 1, 0.5}, {"rloo", 1, 2, 0.4}});
  auto message = [&](AnalyzeOptions o) {
    try {
      Analyze(r, o);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  AnalyzeOptions o = Fast();
  o.metric = "acuracy";
  EXPECT_NE(message(o).find("did you mean 'accuracy'"), std::string::npos) << message(o);
  o = Fast();
  o.by = {"estimator"};
  EXPECT_NE(message(o).find("--by: 'estimator' is not a swept key"), std::string::npos) << message(o);
  o = Fast();
  o.measure = ParseMeasure("steps_to:1.5");
  EXPECT_NE(message(o).find("outside the range of accuracy [0, 1]"), std::string::npos) << message(o);
  o = Fast();
  o.compare_key = "estimator.name";
  o.compare_values = {"grpo", "rloo"};
  EXPECT_NE(message(o).find("share no seeds"), std::string::npos) << message(o);
  o.compare_values = {"grpo", "rlo"};
  EXPECT_NE(message(o).find("no run has the value 'rlo'"), std::string::npos) << message(o);
  o = Fast();
  o.tune_key = "optim.lr";
  o.sensitivity_key = "optim.lr";
  EXPECT_NE(message(o).find("cannot also be the sensitivity key"), std::string::npos) << message(o);
}

TEST(Report, JsonListsTheFiguresItHasDataFor) {
  std::vector<RunSpec> specs;
  for (int s = 0; s < 3; ++s) {
    specs.push_back({"grpo", 1, s, 0.5 + 0.1 * s});
    specs.push_back({"grpo", 10, s, 0.6 + 0.1 * s});
    specs.push_back({"rloo", 1, s, 0.4 + 0.1 * s});
    specs.push_back({"rloo", 10, s, 0.3 + 0.1 * s});
  }
  const Results r = MakeResults(specs);
  ReportOptions ro;
  ro.analyze = Fast();
  ro.analyze.by = {"estimator.name"};
  ro.band_resamples = 50;
  ro.file_label = "s.h5";
  const ReportData d = BuildReport(r, ro);
  EXPECT_EQ(d.figures, (std::vector<std::string>{"curves_accuracy", "sensitivity", "poi", "profiles"}));
  EXPECT_NE(d.Json().find("\"format\": \"advlab-analysis/1\""), std::string::npos);
  EXPECT_NE(d.markdown.find("## Sensitivity to optim.lr"), std::string::npos);
  EXPECT_EQ(d.Json(), BuildReport(r, ro).Json());
}

}  // namespace
}  // namespace advlab
