// Tests of analysis/measures.h: --measure parsing and its errors, every measure on
// hand-computed curves (both goals, NaN, censoring, interpolation), and
// divergence detection on a synthetic Results.
#include "analysis/measures.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sim/error.h"
#include "sim/metrics.h"
#include "sim/results.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// One run's curves, owned; curves() points into them.
struct Curves {
  Curves() = default;
  Curves(std::vector<double> y_, std::vector<int64_t> steps_, std::vector<double> cost_ = {},
         std::vector<double> match_ = {})
      : y(std::move(y_)), steps(std::move(steps_)), cost(std::move(cost_)),
        match(std::move(match_)) {}
  std::vector<double> y;
  std::vector<int64_t> steps;
  std::vector<double> cost, match, entry;
  RunCurves curves() const {
    RunCurves c;
    c.y = y.data();
    c.steps = steps.data();
    c.cost = cost.empty() ? nullptr : cost.data();
    c.match = match.empty() ? nullptr : match.data();
    c.entry = entry.empty() ? nullptr : entry.data();
    c.evals = static_cast<int64_t>(y.size());
    return c;
  }
};

MeasureValue Compute(const std::string& measure, const Curves& c, bool higher_is_better = true) {
  return ComputeMeasure(ParseMeasure(measure), c.curves(), higher_is_better);
}

double Value(const std::string& measure, const Curves& c, bool higher_is_better = true) {
  const MeasureValue v = Compute(measure, c, higher_is_better);
  EXPECT_FALSE(v.censored) << measure;
  return v.value;
}

std::string ParseError(const std::string& text) {
  try {
    ParseMeasure(text);
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UserError for \"" << text << "\"";
  return "";
}

constexpr const char* kAllowed =
    "allowed: final[:K], best, auc, auc_cost, steps_to:T, cost_to:T, drawdown, collapses[:D], "
    "at:T, since_entry:T";

TEST(ParseMeasure, EveryFormAndItsCanonicalText) {
  struct Case {
    const char* text;
    MeasureKind kind;
    double param;
    const char* canonical;
    bool higher_is_better, censorable, needs_cost;
  };
  const Case cases[] = {
      {"final", MeasureKind::kFinal, 1, "final", true, false, false},
      {"final:1", MeasureKind::kFinal, 1, "final", true, false, false},
      {"final:5", MeasureKind::kFinal, 5, "final:5", true, false, false},
      {"final:012", MeasureKind::kFinal, 12, "final:12", true, false, false},
      {"best", MeasureKind::kBest, 0, "best", true, false, false},
      {"auc", MeasureKind::kAuc, 0, "auc", true, false, false},
      {"auc_cost", MeasureKind::kAucCost, 0, "auc_cost", true, false, true},
      {"steps_to:0.8", MeasureKind::kStepsTo, 0.8, "steps_to:0.8", false, true, false},
      {"steps_to:1e-7", MeasureKind::kStepsTo, 1e-7, "steps_to:1e-07", false, true, false},
      {"cost_to:1e3", MeasureKind::kCostTo, 1000, "cost_to:1000", false, true, true},
      {"drawdown", MeasureKind::kDrawdown, 0, "drawdown", false, false, false},
      {"collapses", MeasureKind::kCollapses, 0.1, "collapses", false, false, false},
      {"collapses:0.1", MeasureKind::kCollapses, 0.1, "collapses", false, false, false},
      {"collapses:0.25", MeasureKind::kCollapses, 0.25, "collapses:0.25", false, false, false},
      {"at:0.5", MeasureKind::kAt, 0.5, "at:0.5", true, true, false},
      {"at:-2", MeasureKind::kAt, -2, "at:-2", true, true, false},
      {"since_entry:0.9", MeasureKind::kSinceEntry, 0.9, "since_entry:0.9", false, true, false},
      {"since_entry:0", MeasureKind::kSinceEntry, 0, "since_entry:0", false, true, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const Measure m = ParseMeasure(c.text);
    EXPECT_EQ(m.kind, c.kind);
    EXPECT_EQ(m.param, c.param);
    EXPECT_EQ(m.text, c.canonical);
    EXPECT_EQ(m.higher_is_better, c.higher_is_better);
    EXPECT_EQ(m.censorable, c.censorable);
    EXPECT_EQ(m.needs_cost, c.needs_cost);
    EXPECT_EQ(ParseMeasure(m.text).text, m.text);  // canonical text parses to itself
  }
}

TEST(ParseMeasure, FormsList) {
  const std::vector<std::string> forms = {"final[:K]", "best", "auc", "auc_cost",
                                          "steps_to:T", "cost_to:T", "drawdown",
                                          "collapses[:D]", "at:T", "since_entry:T"};
  EXPECT_EQ(MeasureForms(), forms);
}

TEST(ParseMeasure, UnknownNameSuggestsTheClosestForm) {
  EXPECT_EQ(ParseError("stepsto:0.8"),
            std::string("--measure: unknown measure \"stepsto:0.8\" (did you mean \"steps_to:T\"?); ") +
                kAllowed);
  EXPECT_NE(ParseError("Final").find("(did you mean \"final[:K]\"?)"), std::string::npos);
  EXPECT_NE(ParseError("colapses:0.2").find("(did you mean \"collapses[:D]\"?)"),
            std::string::npos);
  EXPECT_NE(ParseError("auc-cost").find("(did you mean \"auc_cost\"?)"), std::string::npos);
  // Nothing close: no suggestion, still the allowed list.
  EXPECT_EQ(ParseError("zzzzzzzzzz"),
            std::string("--measure: unknown measure \"zzzzzzzzzz\"; ") + kAllowed);
  EXPECT_EQ(ParseError(""), std::string("--measure: unknown measure \"\"; ") + kAllowed);
  // The caller's name for the input, and unprintable bytes escaped.
  try {
    ParseMeasure("b\x01st", "claims.measure");
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("claims.measure: unknown measure \"b\\x01st\"", 0), 0u)
        << e.what();
  }
}

TEST(ParseMeasure, BadParameters) {
  const std::string k = "K must be a positive integer";
  const std::string d = "D must be a positive number";
  const std::string t = "T must be a finite number";
  const struct {
    const char* text;
    std::string why;
  } cases[] = {
      {"final:0", k},         {"final:-1", k},          {"final:2.5", k},
      {"final:", k},          {"final:abc", k},         {"final:+3", k},
      {"final:1e1", k},       {"final:99999999999", k}, {"best:1", "best takes no parameter"},
      {"auc:", "auc takes no parameter"},               {"auc_cost:x", "auc_cost takes no parameter"},
      {"drawdown:0.1", "drawdown takes no parameter"},  {"collapses:0", d},
      {"collapses:-0.1", d},  {"collapses:inf", d},     {"collapses:x", d},
      {"collapses:", d},      {"steps_to", "missing threshold (steps_to:T)"},
      {"steps_to:", t},       {"steps_to:abc", t},      {"steps_to:inf", t},
      {"steps_to:nan", t},    {"steps_to:0.8x", t},     {"cost_to: 1", t},
      {"cost_to", "missing threshold (cost_to:T)"},     {"at", "missing threshold (at:T)"},
      {"at:", t},             {"since_entry", "missing threshold (since_entry:T)"},
      {"since_entry:1e999", t},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseError(c.text),
              "--measure: \"" + std::string(c.text) + "\": " + c.why + "; " + kAllowed);
  }
}

TEST(Final, MeanOfTheLastK) {
  Curves c{{0.25, 0.5, 0.75, 1.0}, {0, 10, 20, 30}};
  EXPECT_EQ(Value("final", c), 1.0);
  EXPECT_EQ(Value("final:2", c), 0.875);
  EXPECT_EQ(Value("final:4", c), 0.625);
  EXPECT_TRUE(std::isnan(Value("final:5", c)));  // fewer evals than K
  EXPECT_EQ(Value("final:3", c, false), 0.75);   // the goal does not matter
  c.y[1] = kNaN;
  EXPECT_EQ(Value("final:2", c), 0.875);  // the NaN is outside the last 2
  EXPECT_TRUE(std::isnan(Value("final:3", c)));
  c.y[3] = kNaN;
  EXPECT_TRUE(std::isnan(Value("final", c)));
}

TEST(Best, MaxOrMinSkippingNaN) {
  Curves c{{0.5, kNaN, 0.75, 0.25, 0.5}, {0, 1, 2, 3, 4}};
  EXPECT_EQ(Value("best", c, true), 0.75);
  EXPECT_EQ(Value("best", c, false), 0.25);
  c.y = {kNaN, kNaN};
  c.steps = {0, 1};
  EXPECT_TRUE(std::isnan(Value("best", c)));
}

TEST(Auc, TrapezoidOverDefinedEvalsDividedBySpan) {
  // Area 10 * 0.5 + 20 * 1 + 10 * 0.5 = 30 over span 40.
  Curves c{{0.0, 1.0, 1.0, 0.0}, {0, 10, 30, 40}};
  EXPECT_EQ(Value("auc", c), 0.75);
  EXPECT_EQ(Value("auc", c, false), 0.75);  // the goal does not matter
  c.y[3] = kNaN;                             // 25 over span 30
  EXPECT_DOUBLE_EQ(Value("auc", c), 25.0 / 30.0);
  c.y = {kNaN, 1.0, 1.0, 0.0};  // from step 10: 20 + 5 = 25 over 30
  EXPECT_DOUBLE_EQ(Value("auc", c), 25.0 / 30.0);
  c.y = {0.0, kNaN, kInf, 0.5};  // (0 + 0.5) / 2 over [0, 40]; inf is not defined
  EXPECT_EQ(Value("auc", c), 0.25);
  c.y = {kNaN, 1.0, kNaN, kNaN};  // one point
  EXPECT_TRUE(std::isnan(Value("auc", c)));
  Curves flat{{0.5, 0.75}, {10, 10}};  // zero span
  EXPECT_TRUE(std::isnan(Value("auc", flat)));
  Curves one{{0.5}, {0}};
  EXPECT_TRUE(std::isnan(Value("auc", one)));
}

TEST(AucCost, AgainstSimCost) {
  // 1 * 0.5 + 1 * 0.75 + 4 * 1 = 5.25 over cost span 6.
  Curves c{{0.5, 0.5, 1.0, 1.0}, {0, 10, 20, 30}, {0.0, 1.0, 2.0, 6.0}};
  EXPECT_EQ(Value("auc_cost", c), 0.875);
  EXPECT_NE(Value("auc", c), 0.875);  // against steps it differs: 22.5 / 30
  EXPECT_EQ(Value("auc", c), 0.75);
  c.cost[1] = kNaN;  // that eval drops out: 2 * 0.75 + 4 = 5.5 over 6
  EXPECT_DOUBLE_EQ(Value("auc_cost", c), 5.5 / 6.0);
}

TEST(StepsTo, FirstEvalAtOrAboveAndCensoring) {
  Curves c{{0.1, 0.5, 0.8, 0.9}, {0, 10, 20, 30}, {0.0, 1.5, 3.5, 7.0}};
  EXPECT_EQ(Value("steps_to:0.8", c), 20);  // >= : equality reaches
  EXPECT_EQ(Value("steps_to:0.05", c), 0);
  EXPECT_EQ(Value("cost_to:0.8", c), 3.5);
  MeasureValue v = Compute("steps_to:0.95", c);
  EXPECT_TRUE(v.censored);
  EXPECT_EQ(v.value, 30);  // the budget: last step
  v = Compute("cost_to:0.95", c);
  EXPECT_TRUE(v.censored);
  EXPECT_EQ(v.value, 7.0);  // the budget: last sim_cost
  c.y[2] = kNaN;            // a NaN never reaches
  EXPECT_EQ(Value("steps_to:0.8", c), 30);
}

TEST(StepsTo, GoalMinUsesAtOrBelow) {
  Curves c{{5.0, 4.0, 2.0, 3.0}, {0, 10, 20, 30}, {0.0, 1.0, 2.0, 4.0}};
  EXPECT_EQ(Value("steps_to:2", c, false), 20);
  EXPECT_EQ(Value("steps_to:4.5", c, false), 10);
  EXPECT_EQ(Value("cost_to:2", c, false), 2.0);
  EXPECT_EQ(Value("steps_to:2", c, true), 0);  // >= 2 at eval 0
  const MeasureValue v = Compute("steps_to:1", c, false);
  EXPECT_TRUE(v.censored);
  EXPECT_EQ(v.value, 30);
}

TEST(Drawdown, LargestFallFromPeakOrRiseFromTrough) {
  Curves c{{0.25, 0.75, 0.375, 0.5, 0.125, 0.5}, {0, 1, 2, 3, 4, 5}};
  EXPECT_EQ(Value("drawdown", c, true), 0.625);  // 0.75 -> 0.125
  EXPECT_EQ(Value("drawdown", c, false), 0.5);   // 0.25 -> 0.75
  c.y = {0.125, 0.25, 0.25, 0.5};
  EXPECT_EQ(Value("drawdown", c, true), 0.0);    // never falls
  EXPECT_EQ(Value("drawdown", c, false), 0.375); // 0.125 -> 0.5
  c.y = {0.75, kNaN, 0.25, kNaN};                // NaN skipped
  EXPECT_EQ(Value("drawdown", c, true), 0.5);
  c.y = {kNaN, kNaN, kNaN, kNaN};
  EXPECT_TRUE(std::isnan(Value("drawdown", c)));
}

TEST(Collapses, DropsOrRisesLargerThanD) {
  Curves c{{0.25, 0.75, 0.375, 0.5, 0.125, 0.5}, {0, 1, 2, 3, 4, 5}};
  // Falls: 0.375 (eval 2), 0.375 (eval 4). Rises: 0.5, 0.125, 0.375.
  EXPECT_EQ(Value("collapses", c, true), 2);
  EXPECT_EQ(Value("collapses:0.375", c, true), 0);  // strictly larger
  EXPECT_EQ(Value("collapses:0.25", c, true), 2);
  EXPECT_EQ(Value("collapses", c, false), 3);
  EXPECT_EQ(Value("collapses:0.25", c, false), 2);
  EXPECT_EQ(Value("collapses:0.5", c, false), 0);
  c.y = {0.75, kNaN, 0.25};  // against the previous defined value
  c.steps = {0, 1, 2};
  EXPECT_EQ(Value("collapses", c, true), 1);
  c.y = {kNaN, kNaN, kNaN};
  EXPECT_TRUE(std::isnan(Value("collapses", c)));
  c.y = {kNaN, 0.5, kNaN};  // one defined value: no collapse
  EXPECT_EQ(Value("collapses", c), 0);
}

TEST(At, InterpolatesBetweenTheMatchingEvalAndTheOneBefore) {
  Curves c{{100, 80, 50, 40}, {0, 10, 20, 30}, {}, {0.125, 0.25, 0.75, 1.0}};
  EXPECT_EQ(Value("at:0.5", c), 65);   // f = 0.25 / 0.5: 80 + 0.5 * -30
  EXPECT_EQ(Value("at:0.75", c), 50);  // exactly at eval 2
  EXPECT_EQ(Value("at:0.1", c), 100);  // reached at eval 0: y[0]
  EXPECT_EQ(Value("at:0.875", c), 45);
  EXPECT_EQ(Value("at:0.5", c, false), 65);  // the metric's goal does not matter
  c.match = {0.1, 0.3, 0.6, 0.9};             // f = 2/3: about 60
  EXPECT_NEAR(Value("at:0.5", c), 60.0, 1e-12);
  MeasureValue v = Compute("at:0.95", c);
  EXPECT_TRUE(v.censored);
  EXPECT_TRUE(std::isnan(v.value));
  c.y[2] = kNaN;  // NaN at the matching eval: NaN, not censored
  v = Compute("at:0.5", c);
  EXPECT_FALSE(v.censored);
  EXPECT_TRUE(std::isnan(v.value));
  c.y = {100, kNaN, 50, 40};  // NaN at the eval before
  v = Compute("at:0.5", c);
  EXPECT_FALSE(v.censored);
  EXPECT_TRUE(std::isnan(v.value));
  c.y = {100, 80, 50, 40};
  c.match = {0.125, kNaN, 0.75, 1.0};  // a NaN match is skipped but spoils f
  EXPECT_TRUE(std::isnan(Value("at:0.5", c)));
  EXPECT_EQ(Value("at:0.125", c), 100);
}

TEST(SinceEntry, StepsFromEntryToThreshold) {
  Curves c{{0.9, 0.9, 0.25, 0.75, 0.875}, {0, 10, 20, 30, 40}};
  c.entry = {kNaN, kNaN, 15, 15, 15};
  EXPECT_EQ(Value("since_entry:0.5", c), 15);  // eval 3 (30) - 15; before entry ignored
  EXPECT_EQ(Value("since_entry:0.875", c), 25);
  EXPECT_EQ(Value("since_entry:0.25", c), 5);
  MeasureValue v = Compute("since_entry:0.95", c);
  EXPECT_TRUE(v.censored);
  EXPECT_EQ(v.value, 25);  // the budget: last step - entry
  EXPECT_EQ(Value("since_entry:0.5", c, false), 5);  // goal min: <= 0.5 at step 20
  c.entry = {kNaN, 10, 10, 10, 10};  // an eval exactly at entry counts
  EXPECT_EQ(Value("since_entry:0.5", c), 0);
  c.entry = {kNaN, kNaN, kNaN, kNaN, kNaN};  // never entered
  v = Compute("since_entry:0.5", c);
  EXPECT_FALSE(v.censored);
  EXPECT_TRUE(std::isnan(v.value));
  c.entry = {kNaN, kNaN, kNaN, kNaN, 50};  // entered after the last eval
  v = Compute("since_entry:0.5", c);
  EXPECT_FALSE(v.censored);
  EXPECT_TRUE(std::isnan(v.value));
}

TEST(ComputeMeasure, NoEvalsIsNaN) {
  const Curves c;
  for (const char* m : {"final", "best", "auc", "steps_to:1", "drawdown", "collapses"}) {
    const MeasureValue v = Compute(m, c);
    EXPECT_TRUE(std::isnan(v.value)) << m;
    EXPECT_FALSE(v.censored) << m;
  }
}

// Two runs x five evals of a few metrics, all finite except where a test says.
Results HealthyResults() {
  Results r;
  r.num_runs = 2;
  r.steps = {0, 10, 20, 30, 40};
  const char* names[] = {"accuracy", "accuracy_bin3", "train_reward", "response_length_correct",
                         "grad_cosine", "future_metric", "entry_step_bin1"};
  for (const char* name : names) r.metrics.push_back({name, std::vector<double>(10, 0.5)});
  return r;
}

double& At(Results& r, const char* metric, int64_t run, int64_t eval) {
  for (Metric& m : r.metrics)
    if (m.name == metric) return m.values[run * r.num_evals() + eval];
  ADD_FAILURE() << metric;
  return r.metrics[0].values[0];
}

TEST(FindDivergence, MetricKindsAssumedBelow) {
  auto kind = [](const char* n) { return Metrics()[MetricIndex(n)].kind; };
  EXPECT_EQ(kind("accuracy"), MetricKind::kEval);
  EXPECT_EQ(kind("accuracy_bin3"), MetricKind::kEval);
  EXPECT_EQ(kind("train_reward"), MetricKind::kWindowMean);
  EXPECT_EQ(kind("response_length_correct"), MetricKind::kWindowRatio);
  EXPECT_EQ(kind("grad_cosine"), MetricKind::kDiagnostic);
  EXPECT_EQ(kind("entry_step_bin1"), MetricKind::kSchedule);
  EXPECT_EQ(MetricIndex("future_metric"), -1);
}

TEST(FindDivergence, HealthyRunAndLegitimateNaN) {
  Results r = HealthyResults();
  Divergence d = FindDivergence(r, 0);
  EXPECT_FALSE(d.diverged);
  EXPECT_EQ(d.step, -1);
  At(r, "response_length_correct", 0, 1) = kNaN;  // a window with no correct rollout
  At(r, "train_reward", 0, 0) = kNaN;             // no step before eval 0
  At(r, "grad_cosine", 0, 2) = kNaN;              // diagnostics off
  At(r, "future_metric", 0, 3) = kNaN;            // not in the table: inf only
  At(r, "entry_step_bin1", 0, 0) = kNaN;          // a schedule metric: NaN before entry
  At(r, "entry_step_bin1", 0, 1) = kNaN;
  for (int64_t i = 0; i < 5; ++i) At(r, "accuracy_bin3", 0, i) = kNaN;  // an empty bin
  d = FindDivergence(r, 0);
  EXPECT_FALSE(d.diverged);
  EXPECT_EQ(d.step, -1);
}

TEST(FindDivergence, InfAnywhereOrNaNInAnEvalMetric) {
  Results r = HealthyResults();
  At(r, "train_reward", 1, 2) = kInf;  // a window metric
  EXPECT_FALSE(FindDivergence(r, 0).diverged);
  Divergence d = FindDivergence(r, 1);
  EXPECT_TRUE(d.diverged);
  EXPECT_EQ(d.step, 20);

  r = HealthyResults();
  At(r, "accuracy", 0, 3) = kNaN;
  At(r, "accuracy", 0, 4) = kNaN;
  d = FindDivergence(r, 0);
  EXPECT_TRUE(d.diverged);
  EXPECT_EQ(d.step, 30);
  EXPECT_FALSE(FindDivergence(r, 1).diverged);

  At(r, "future_metric", 0, 1) = -kInf;  // an unknown metric's inf counts; earliest wins
  EXPECT_EQ(FindDivergence(r, 0).step, 10);

  r = HealthyResults();
  At(r, "accuracy_bin3", 1, 4) = kNaN;  // defined before: a divergence
  EXPECT_EQ(FindDivergence(r, 1).step, 40);

  r = HealthyResults();
  At(r, "grad_cosine", 1, 0) = kInf;
  EXPECT_EQ(FindDivergence(r, 1).step, 0);
}

TEST(FindDivergence, EveryEvalMetricUndefinedMeansDivergedBeforeEvalZero) {
  Results r = HealthyResults();
  for (int64_t i = 0; i < 5; ++i) {
    At(r, "accuracy", 1, i) = kNaN;
    At(r, "accuracy_bin3", 1, i) = kNaN;
  }
  const Divergence d = FindDivergence(r, 1);
  EXPECT_TRUE(d.diverged);
  EXPECT_EQ(d.step, 0);
  EXPECT_FALSE(FindDivergence(r, 0).diverged);
}

}  // namespace
}  // namespace advlab
