#include "analysis/analyze.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "analysis/frame.h"
#include "analysis/sensitivity.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/metrics.h"
#include "sim/registry.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kSummaryStream = 0;
constexpr uint32_t kCompareStream = 1u << 28;

std::string LevelLabel(double level) { return FormatDouble("%g", level * 100.0) + "%"; }

const char* ValueFormat(const Measure& m) { return MeasureValueFormat(m); }

// The range a threshold on `metric` must lie in, from its unit (sim/metrics.h);
// {-inf, inf} when the unit gives no bound.
std::pair<double, double> MetricRange(const std::string& metric) {
  const double inf = std::numeric_limits<double>::infinity();
  const int i = MetricIndex(metric);
  if (i < 0) return {-inf, inf};
  const std::string unit = Metrics()[static_cast<size_t>(i)].unit;
  if (unit == "fraction") return {0.0, 1.0};
  if (unit == "cosine") return {-1.0, 1.0};
  if (unit == "tokens" || unit == "nats" || unit == "norm" || unit == "cost units" ||
      unit == "rounds")
    return {0.0, inf};
  return {-inf, inf};
}

std::vector<std::string> SweptNames(const Results& r) {
  std::vector<std::string> names;
  for (const auto& c : r.runs)
    if (c.name != "run_id" && c.name != "seed") names.push_back(c.name);
  return names;
}

std::vector<std::string> MetricNamesOf(const Results& r) {
  std::vector<std::string> names;
  for (const auto& m : r.metrics) names.push_back(m.name);
  return names;
}

void NeedSwept(const std::vector<std::string>& swept, const std::string& key,
               const std::string& option) {
  if (std::find(swept.begin(), swept.end(), key) != swept.end()) return;
  throw UserError(option + ": '" + key + "' is not a swept key of the file" +
                  DidYouMean(key, swept) + "; swept: " +
                  (swept.empty() ? std::string("none") : JoinNames(swept)));
}

// Summary: one row per group.
Table SummaryTable(const RunFrame& f, const AnalyzeOptions& o, const std::vector<int>& by) {
  const std::vector<Group> groups = GroupRuns(f, by);
  const Measure& m = o.measure;
  const char* fmt = ValueFormat(m);
  const std::string lv = LevelLabel(o.level);
  Table t;
  t.name = "summary";
  t.title = MeasureLabel(o) + ", per configuration (" + lv + " CIs: boot = percentile bootstrap" +
            " over seeds, stratified; t = Student t)";
  for (int k : by) t.columns.push_back({f.keys[static_cast<size_t>(k)], {f.keys[static_cast<size_t>(k)]}, false});
  t.columns.push_back({"n", {"n"}, true});
  t.columns.push_back(CiColumn("mean (" + lv + " boot)", "mean"));
  t.columns.push_back(TableColumn{"mean (" + lv + " t)", {"mean_t_lo", "mean_t_hi"}, true});
  t.columns.push_back(CiColumn("median (" + lv + " boot)", "median"));
  t.columns.push_back(CiColumn("iqm (" + lv + " boot)", "iqm"));
  if (m.censorable) t.columns.push_back({"reached", {"reached", "runs"}, false});
  t.columns.push_back({"diverged", {"diverged", "first_divergence_step"}, false});
  const bool has_step = f.results->FindMetric(o.effective_step_metric) != nullptr;
  if (has_step) t.columns.push_back({o.effective_step_metric, {o.effective_step_metric}, true});
  bool any_censored = false, any_undefined_ci = false, any_pooled = false;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& grp = groups[g];
    std::vector<Cell> row;
    for (size_t i = 0; i < by.size(); ++i) row.push_back(TextCell(grp.display[i]));
    std::vector<std::vector<double>> strata;
    int64_t reached = 0, diverged = 0, first_div = -1, censored = 0;
    for (const auto& s : grp.strata) {
      strata.push_back(StratumValues(f, s));
      for (int64_t i : s) {
        const size_t u = static_cast<size_t>(i);
        if (f.censored[u]) ++censored; else if (!std::isnan(f.value[u])) ++reached;
        if (f.divergence[u].diverged) {
          ++diverged;
          if (first_div < 0 || f.divergence[u].step < first_div) first_div = f.divergence[u].step;
        }
      }
    }
    const std::vector<double> all = Pool(strata);
    row.push_back(IntCell(static_cast<int64_t>(all.size())));
    const std::string prefix = censored > 0 ? ">=" : "";
    any_censored = any_censored || censored > 0;
    const Stat stats[3] = {Stat::kMean, Stat::kMedian, Stat::kIqm};
    for (int s = 0; s < 3; ++s) {
      const uint32_t stream =
          kSummaryStream + (static_cast<uint32_t>(g) * 3u + static_cast<uint32_t>(s)) * 4096u;
      const Interval ci = StratifiedCI(strata, stats[s], o.level, o.resamples, o.bootstrap_seed, stream);
      const double v = ApplyStat(stats[s], all);
      any_undefined_ci = any_undefined_ci || (!std::isnan(v) && std::isnan(ci.lo));
      row.push_back(CiCell(v, ci.lo, ci.hi, fmt, "-", prefix));
      if (s == 0) {
        // The t interval assumes one population; pooled strata are not one.
        const Interval ti = grp.strata.size() == 1 ? TMeanInterval(all, o.level)
                                                   : Interval{kNaN, kNaN};
        any_pooled = any_pooled || grp.strata.size() > 1;
        Cell c;
        c.fields = {NumberCell(ti.lo, fmt).fields[0], NumberCell(ti.hi, fmt).fields[0]};
        c.text = std::isnan(ti.lo) ? (grp.strata.size() > 1 ? "n/a (strata)" : "undefined")
                                   : "[" + FormatDouble(fmt, ti.lo) + ", " + FormatDouble(fmt, ti.hi) + "]";
        row.push_back(c);
      }
    }
    if (m.censorable) {
      Cell c;
      c.text = IntString(reached) + "/" + IntString(grp.n);
      c.fields = {IntCell(reached).fields[0], IntCell(grp.n).fields[0]};
      row.push_back(c);
    }
    Cell d;
    d.text = diverged == 0 ? "0" : IntString(diverged) + " (first at step " + IntString(first_div) + ")";
    d.fields = {IntCell(diverged).fields[0], NumberCell(first_div < 0 ? kNaN : static_cast<double>(first_div), "%g").fields[0]};
    row.push_back(d);
    if (has_step) row.push_back(NumberCell(GroupFinalMean(f, grp, o.effective_step_metric), "%.4g"));
    t.rows.push_back(std::move(row));
  }
  if (any_censored)
    t.notes.push_back("\">=\": some runs never reached the threshold and enter at their budget "
                      "(a lower bound; see reached)");
  if (any_undefined_ci) t.notes.push_back("[undefined]: one seed, no interval");
  if (any_pooled)
    t.notes.push_back("n/a (strata): a row pooling several configurations (swept keys outside "
                      "--by) has no t interval; its bootstrap resamples seeds within each");
  if (!has_step)
    t.notes.push_back("effective step size: the file has no metric " + o.effective_step_metric);
  return t;
}

// Comparison: for each context (the --by keys but the compared one and its
// attributes), each value of the compared key against the first (the control),
// paired on seed and on every other swept key.
Table CompareTable(const RunFrame& f, const AnalyzeOptions& o, const std::vector<int>& by) {
  const int key = f.KeyIndex(o.compare_key);
  const std::vector<int> attributes =
      AttributeKeys(f, key, o.tune_key.empty() ? -1 : f.KeyIndex(o.tune_key));
  auto is_attribute = [&](int k) {
    return std::find(attributes.begin(), attributes.end(), k) != attributes.end();
  };
  std::vector<int> context;
  for (int k : by)
    if (k != key && !is_attribute(k)) context.push_back(k);
  const bool higher = HigherIsBetter(o);
  const char* fmt = ValueFormat(o.measure);
  const std::string lv = LevelLabel(o.level);
  Table t;
  t.name = "comparison";
  t.title = MeasureLabel(o) + ": " + o.compare_key + " paired by seed against the control " +
            o.compare_values[0] + " (" + (higher ? "higher" : "lower") + " is better)";
  for (int k : context) t.columns.push_back({f.keys[static_cast<size_t>(k)], {f.keys[static_cast<size_t>(k)]}, false});
  t.columns.push_back({"arm", {"arm"}, false});
  t.columns.push_back({"control", {"control"}, false});
  t.columns.push_back({"pairs", {"pairs"}, true});
  t.columns.push_back({"arm " + std::string(StatName(Stat::kMean)), {"arm_mean"}, true});
  t.columns.push_back({"control mean", {"control_mean"}, true});
  t.columns.push_back(CiColumn("arm - control (" + lv + " boot)", "diff"));
  t.columns.push_back(TableColumn{"diff (" + lv + " t)", {"diff_t_lo", "diff_t_hi"}, true});
  t.columns.push_back(CiColumn("P(arm better) (" + lv + " boot)", "poi"));
  t.columns.push_back({"verdict", {"verdict"}, false});
  const bool has_step = f.results->FindMetric(o.effective_step_metric) != nullptr;
  if (has_step)
    t.columns.push_back({o.effective_step_metric + " arm/control",
                         {"arm_" + o.effective_step_metric, "control_" + o.effective_step_metric}, true});
  // Group by context + attributes + compared key; then pair within each context
  // (the attributes are neither context nor pairing keys).
  std::vector<int> ck = context;
  ck.insert(ck.end(), attributes.begin(), attributes.end());
  ck.push_back(key);
  const std::vector<Group> groups = GroupRuns(f, ck);
  // Pairs match on the seed and every other swept key, except a tuned one (each
  // arm is at its own tuned value).
  std::vector<int> pair_exclude = ck;
  if (!o.tune_key.empty()) pair_exclude.push_back(f.KeyIndex(o.tune_key));
  const auto context_of = [&](const Group& g) {
    return std::vector<std::string>(g.exact.begin(),
                                     g.exact.begin() + static_cast<std::ptrdiff_t>(context.size()));
  };
  std::vector<std::vector<std::string>> contexts;
  for (const auto& g : groups) {
    std::vector<std::string> c = context_of(g);
    if (std::find(contexts.begin(), contexts.end(), c) == contexts.end()) contexts.push_back(c);
  }
  int64_t censored_pairs = 0;
  for (size_t ci = 0; ci < contexts.size(); ++ci) {
    auto find_group = [&](const std::string& value) -> const Group* {
      for (const auto& g : groups) {
        if (context_of(g) == contexts[ci] && g.display.back() == value) return &g;
      }
      return nullptr;
    };
    const Group* control = find_group(o.compare_values[0]);
    for (size_t vi = 1; vi < o.compare_values.size(); ++vi) {
      const Group* arm = find_group(o.compare_values[vi]);
      std::vector<Cell> row;
      const Group* any = arm ? arm : control;
      for (size_t i = 0; i < context.size(); ++i)
        row.push_back(TextCell(any ? any->display[i] : "-"));
      row.push_back(TextCell(o.compare_values[vi]));
      row.push_back(TextCell(o.compare_values[0]));
      std::vector<std::vector<double>> sa, sb;
      if (arm && control) PairedValues(f, *arm, *control, pair_exclude, &sa, &sb, &censored_pairs);
      const std::vector<double> a = Pool(sa), b = Pool(sb);
      const uint32_t stream =
          kCompareStream +
          static_cast<uint32_t>(ci * o.compare_values.size() + vi) * kStreamsPerComparison;
      const PairedComparison pc =
          CompareStrata(sa, sb, higher, o.level, o.resamples, o.bootstrap_seed, stream);
      row.push_back(IntCell(pc.n));
      row.push_back(NumberCell(pc.sufficient ? pc.mean_a : Mean(a), fmt));
      row.push_back(NumberCell(pc.sufficient ? pc.mean_b : Mean(b), fmt));
      row.push_back(CiCell(pc.diff_mean, pc.diff_boot.lo, pc.diff_boot.hi, fmt, "-"));
      Cell tc;
      tc.fields = {NumberCell(pc.diff_t.lo, fmt).fields[0], NumberCell(pc.diff_t.hi, fmt).fields[0]};
      tc.text = std::isnan(pc.diff_t.lo) ? "-" : "[" + FormatDouble(fmt, pc.diff_t.lo) + ", " + FormatDouble(fmt, pc.diff_t.hi) + "]";
      row.push_back(tc);
      row.push_back(CiCell(pc.poi, pc.poi_ci.lo, pc.poi_ci.hi, "%.2f", "-"));
      std::string verdict;
      if (pc.n == 0) {
        verdict = "no shared seeds";
      } else if (!pc.sufficient) {
        verdict = "insufficient data (" + IntString(pc.n) + " pairs; " + IntString(kMinPairs) +
                  " needed)";
      } else {
        verdict = pc.verdict > 0 ? o.compare_values[vi] + " better"
                  : pc.verdict < 0 ? o.compare_values[0] + " better" : "inconclusive";
      }
      row.push_back(TextCell(verdict));
      if (has_step) {
        const double sa = arm ? GroupFinalMean(f, *arm, o.effective_step_metric) : kNaN;
        const double sb = control ? GroupFinalMean(f, *control, o.effective_step_metric) : kNaN;
        Cell c;
        c.fields = {NumberCell(sa, "%g").fields[0], NumberCell(sb, "%g").fields[0]};
        c.text = FormatDouble("%.4g", sa) + " / " + FormatDouble("%.4g", sb);
        row.push_back(c);
      }
      t.rows.push_back(std::move(row));
    }
  }
  t.notes.push_back("verdict: both " + LevelLabel(o.level) +
                    " intervals of the paired difference (bootstrap and t) lie wholly on one "
                    "side of 0; otherwise inconclusive");
  if (censored_pairs > 0)
    t.notes.push_back(IntString(censored_pairs) + " pairs include a run that never reached the "
                      "threshold (entered at its budget): their differences are bounds");
  if (!has_step && o.tune_key.empty())
    t.notes.push_back("effective step size: the file has no metric " + o.effective_step_metric +
                      "; a larger update wins at equal learning rate, so compare at tuned or "
                      "matched step sizes (--tune optim.lr)");
  else if (!has_step)
    t.notes.push_back("effective step size: the file has no metric " + o.effective_step_metric);
  return t;
}


// The tuned key's values of an arm, in grid order (numeric when the key is).
bool NumericLess(const RunFrame& f, int key, int64_t a, int64_t b) {
  const double x = f.numeric[static_cast<size_t>(key)][static_cast<size_t>(a)];
  const double y = f.numeric[static_cast<size_t>(key)][static_cast<size_t>(b)];
  return x < y;
}

}  // namespace

Tuning ApplyTuning(RunFrame& f, const AnalyzeOptions& o, int key) {
  Tuning tuning;
  std::set<int64_t> seed_set;
  for (int64_t i = 0; i < f.runs(); ++i)
    if (f.active[static_cast<size_t>(i)]) seed_set.insert(f.seed[static_cast<size_t>(i)]);
  const std::vector<int64_t> seeds(seed_set.begin(), seed_set.end());
  const int64_t n_tune = o.tune_seeds < 0 ? static_cast<int64_t>(seeds.size()) / 2 : o.tune_seeds;
  const std::set<int64_t> tune(seeds.begin(), seeds.begin() + n_tune);
  std::vector<int> arm_keys;
  for (int k = 0; k < static_cast<int>(f.keys.size()); ++k)
    if (k != key) arm_keys.push_back(k);
  const std::vector<Group> arms = GroupRuns(f, arm_keys);  // strata = the tuned key's values
  const bool higher = HigherIsBetter(o);
  const char* fmt = ValueFormat(o.measure);
  Table t;
  t.name = "tuning";
  t.title = o.tune_key + " tuned per arm on the " + IntString(n_tune) + " lowest seeds by " +
            StatName(o.stat) + " " + MeasureLabel(o) + "; every other table uses only the " +
            IntString(static_cast<int64_t>(seeds.size()) - n_tune) + " other seeds";
  for (int k : arm_keys) t.columns.push_back({f.keys[static_cast<size_t>(k)], {f.keys[static_cast<size_t>(k)]}, false});
  t.columns.push_back({o.tune_key + " (tuned)", {"tuned"}, true});
  t.columns.push_back({"tuning " + std::string(StatName(o.stat)), {"tuning_score"}, true});
  t.columns.push_back({"grid", {"grid_values"}, true});
  t.columns.push_back({"check", {"check"}, false});
  std::vector<char> keep(f.active.size(), 0);
  bool edge = false;
  for (const Group& arm : arms) {
    int best = -1;
    double best_score = 0;
    int64_t lo = -1, hi = -1;  // a run at the grid's smallest and largest value
    for (size_t s = 0; s < arm.strata.size(); ++s) {
      const int64_t any = arm.strata[s].front();
      if (lo < 0 || NumericLess(f, key, any, lo)) lo = any;
      if (hi < 0 || NumericLess(f, key, hi, any)) hi = any;
      std::vector<int64_t> runs;
      for (int64_t i : arm.strata[s])
        if (tune.count(f.seed[static_cast<size_t>(i)])) runs.push_back(i);
      const double score = ApplyStat(o.stat, StratumValues(f, runs));
      if (std::isnan(score)) continue;
      if (best < 0 || (higher ? score > best_score : score < best_score)) {
        best = static_cast<int>(s);
        best_score = score;
      }
    }
    std::vector<Cell> row;
    const int64_t first = arm.strata.front().front();
    TunedArm choice;
    choice.first_run = first;
    for (int k : arm_keys) row.push_back(TextCell(f.display[static_cast<size_t>(k)][static_cast<size_t>(first)]));
    std::string check = "ok";
    if (best < 0) {
      row.push_back(TextCell("-"));
      check = "no value defined on the tuning seeds";
    } else {
      const int64_t chosen = arm.strata[static_cast<size_t>(best)].front();
      choice.chosen_run = chosen;
      row.push_back(TextCell(f.display[static_cast<size_t>(key)][static_cast<size_t>(chosen)]));
      for (int64_t i : arm.strata[static_cast<size_t>(best)])
        if (!tune.count(f.seed[static_cast<size_t>(i)])) keep[static_cast<size_t>(i)] = 1;
      const std::string& v = f.exact[static_cast<size_t>(key)][static_cast<size_t>(chosen)];
      if (arm.strata.size() > 1 && !std::isnan(f.numeric[static_cast<size_t>(key)][static_cast<size_t>(chosen)]) &&
          (v == f.exact[static_cast<size_t>(key)][static_cast<size_t>(lo)] ||
           v == f.exact[static_cast<size_t>(key)][static_cast<size_t>(hi)])) {
        check = "at the grid's edge: the optimum may lie outside";
        edge = true;
        choice.edge = true;
      }
    }
    choice.check = check;
    tuning.arms.push_back(choice);
    row.push_back(NumberCell(best < 0 ? std::numeric_limits<double>::quiet_NaN() : best_score, fmt));
    row.push_back(IntCell(static_cast<int64_t>(arm.strata.size())));
    row.push_back(TextCell(check));
    t.rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < keep.size(); ++i) f.active[i] = static_cast<char>(f.active[i] && keep[i]);
  if (edge)
    t.notes.push_back("an arm's best value lies at the edge of its grid: widen the grid before "
                      "trusting a comparison of tuned arms");
  tuning.table = std::move(t);
  return tuning;
}

namespace {
}  // namespace

std::vector<int> AttributeKeys(const RunFrame& f, int key, int tuned) {
  std::vector<int> out;
  const std::vector<std::string>& compared = f.exact[static_cast<size_t>(key)];
  for (int k = 0; k < static_cast<int>(f.keys.size()); ++k) {
    if (k == key || k == tuned) continue;
    const std::vector<std::string>& values = f.exact[static_cast<size_t>(k)];
    std::map<std::string, std::string> of;  // a lookup only: compared value -> k's value
    bool function = true, varies = false;
    for (int64_t i = 0; i < f.runs() && function; ++i) {
      const size_t u = static_cast<size_t>(i);
      const auto [it, inserted] = of.emplace(compared[u], values[u]);
      function = inserted || it->second == values[u];
      varies = varies || values[u] != values[0];
    }
    if (function && varies) out.push_back(k);
  }
  return out;
}

bool MetricHigherIsBetter(const AnalyzeOptions& o) { return o.goal >= 0; }

const char* MeasureValueFormat(const Measure& m) {
  switch (m.kind) {
    case MeasureKind::kStepsTo:
    case MeasureKind::kSinceEntry: return "%.0f";
    case MeasureKind::kCollapses: return "%.2f";
    case MeasureKind::kCostTo: return "%.4g";
    default: return "%.3f";
  }
}

bool HigherIsBetter(const AnalyzeOptions& o) {
  return o.measure.higher_is_better && MetricHigherIsBetter(o);
}

std::string MeasureLabel(const AnalyzeOptions& o) {
  const Measure& m = o.measure;
  auto thr = [&](const std::string& metric) {
    if (m.param > 0.0 && m.param <= 1.0 && MetricRange(metric).second == 1.0)
      return metric + " " + FormatDouble("%g", m.param * 100.0) + "%";
    return metric + " " + FormatDouble("%g", m.param);
  };
  switch (m.kind) {
    case MeasureKind::kFinal:
      return m.param == 1 ? "final " + o.metric : o.metric + " (mean of the last " + FormatDouble("%g", m.param) + " evals)";
    case MeasureKind::kBest: return "best " + o.metric;
    case MeasureKind::kAuc: return o.metric + " AUC (vs steps, normalised)";
    case MeasureKind::kAucCost: return o.metric + " AUC (vs sim_cost, normalised)";
    case MeasureKind::kStepsTo: return "steps to " + thr(o.metric);
    case MeasureKind::kCostTo: return "sim_cost to " + thr(o.metric);
    case MeasureKind::kDrawdown: return o.metric + " max drawdown";
    case MeasureKind::kCollapses: return o.metric + " collapses (drops > " + FormatDouble("%g", m.param) + ")";
    case MeasureKind::kAt: return o.metric + " at " + thr(o.match_metric);
    case MeasureKind::kSinceEntry: return "steps from entry to " + thr(o.metric);
  }
  return m.text;
}

std::vector<int> ByKeys(const RunFrame& f, const AnalyzeOptions& o, int exclude) {
  std::vector<int> by;
  if (o.by.empty()) {
    for (int k = 0; k < static_cast<int>(f.keys.size()); ++k)
      if (k != exclude) by.push_back(k);
  } else {
    for (const auto& name : o.by)
      if (f.KeyIndex(name) != exclude) by.push_back(f.KeyIndex(name));
  }
  return by;
}

void ValidateOptions(const Results& r, const AnalyzeOptions& o) {
  const std::vector<std::string> metrics = MetricNamesOf(r);
  const std::vector<std::string> swept = SweptNames(r);
  if (r.FindMetric(o.metric) == nullptr)
    throw UserError("--metric: '" + o.metric + "' is not in the file" + DidYouMean(o.metric, metrics) +
                    "; allowed: " + JoinNames(metrics));
  const Measure& m = o.measure;
  if (m.kind == MeasureKind::kAt && r.FindMetric(o.match_metric) == nullptr)
    throw UserError("--match-metric: '" + o.match_metric + "' is not in the file" +
                    DidYouMean(o.match_metric, metrics) + "; allowed: " + JoinNames(metrics));
  if (m.needs_cost && r.FindMetric("sim_cost") == nullptr)
    throw UserError("--measure " + m.text + ": the file has no metric sim_cost");
  const bool thresholded = m.kind == MeasureKind::kStepsTo || m.kind == MeasureKind::kCostTo ||
                           m.kind == MeasureKind::kAt || m.kind == MeasureKind::kSinceEntry;
  if (thresholded) {
    const std::string on = m.kind == MeasureKind::kAt ? o.match_metric : o.metric;
    const auto [lo, hi] = MetricRange(on);
    if (!(m.param >= lo && m.param <= hi))
      throw UserError("--measure " + m.text + ": threshold " + FormatDouble("%g", m.param) +
                      " is outside the range of " + on + " [" + FormatDouble("%g", lo) + ", " +
                      FormatDouble("%g", hi) + "]");
  }
  for (const auto& k : o.by) NeedSwept(swept, k, "--by");
  if (!(o.level > 0.0 && o.level < 1.0)) throw UserError("--level: must lie in (0, 1)");
  if (o.resamples < 1) throw UserError("--resamples: must be at least 1");
  if (!(o.within >= 0.0)) throw UserError("--within: must be a fraction >= 0");
  if (!o.tune_key.empty()) {
    NeedSwept(swept, o.tune_key, "--tune");
    if (o.tune_key == o.compare_key)
      throw UserError("--tune " + o.tune_key + ": the tuned key cannot also be the compared key");
    if (o.tune_key == o.sensitivity_key)
      throw UserError("--tune " + o.tune_key + ": the tuned key cannot also be the sensitivity key");
    if (std::find(o.by.begin(), o.by.end(), o.tune_key) != o.by.end())
      throw UserError("--tune " + o.tune_key + ": the tuned key cannot also be a --by key");
    std::set<int64_t> seeds(r.FindColumn("seed")->ints.begin(), r.FindColumn("seed")->ints.end());
    const int64_t n = static_cast<int64_t>(seeds.size());
    const int64_t tune = o.tune_seeds < 0 ? n / 2 : o.tune_seeds;
    if (tune < 1 || tune >= n)
      throw UserError("--tune-seeds: " + IntString(tune) + " tuning seeds of " + IntString(n) +
                      "; need at least 1 to tune and 1 to judge on");
  }
  if (!o.sensitivity_key.empty()) {
    NeedSwept(swept, o.sensitivity_key, "--sensitivity");
    if (std::find(o.by.begin(), o.by.end(), o.sensitivity_key) != o.by.end())
      throw UserError("--sensitivity " + o.sensitivity_key + ": the key cannot also be a --by key");
  }
  if (!o.compare_key.empty()) {
    NeedSwept(swept, o.compare_key, "--compare");
    if (o.compare_values.size() < 2)
      throw UserError("--compare " + o.compare_key + "=...: needs at least two values (A,B)");
    const Column* c = r.FindColumn(o.compare_key);
    const Column* seed = r.FindColumn("seed");
    std::vector<std::set<int64_t>> seeds(o.compare_values.size());
    std::vector<std::string> present;
    for (int64_t i = 0; i < r.num_runs; ++i) {
      const size_t u = static_cast<size_t>(i);
      const std::string v = DisplayCell(*c, u);
      if (std::find(present.begin(), present.end(), v) == present.end()) present.push_back(v);
      for (size_t j = 0; j < o.compare_values.size(); ++j)
        if (o.compare_values[j] == v) seeds[j].insert(seed->ints[u]);
    }
    for (size_t j = 0; j < o.compare_values.size(); ++j) {
      if (seeds[j].empty())
        throw UserError("--compare " + o.compare_key + ": no run has the value '" +
                        o.compare_values[j] + "'" + DidYouMean(o.compare_values[j], present) +
                        "; present: " + JoinNames(present));
    }
    for (size_t j = 1; j < o.compare_values.size(); ++j) {
      bool shared = false;
      for (int64_t s : seeds[j]) shared = shared || seeds[0].count(s) > 0;
      if (!shared)
        throw UserError("--compare " + o.compare_key + ": '" + o.compare_values[j] + "' and '" +
                        o.compare_values[0] + "' share no seeds, so no paired comparison exists");
    }
  }
}

Analysis Analyze(const Results& r, const AnalyzeOptions& o, Sensitivity* sensitivity) {
  ValidateOptions(r, o);
  RunFrame f = BuildFrame(r, o.metric, o.measure, MetricHigherIsBetter(o), o.match_metric);
  Analysis a;
  a.header.push_back("measure: " + MeasureLabel(o) + " (" + o.measure.text + ", " +
                     (HigherIsBetter(o) ? "higher" : "lower") + " is better); " +
                     IntString(r.num_runs) + " runs; " + IntString(o.resamples) +
                     " bootstrap resamples, seed " + IntString(static_cast<int64_t>(o.bootstrap_seed)));
  if (!o.from_file.empty()) {
    std::string opts;
    for (const auto& x : o.from_file) opts += (opts.empty() ? "" : " ") + x;
    a.header.push_back("options from the sweep's [analysis] section: " + opts +
                       " (options given here replace them; --no-file-options drops them)");
  }
  int tuned = -1;
  if (!o.tune_key.empty()) {
    tuned = f.KeyIndex(o.tune_key);
    a.tables.push_back(ApplyTuning(f, o, tuned).table);
  }
  const int sens = o.sensitivity_key.empty() ? -1 : f.KeyIndex(o.sensitivity_key);
  const std::vector<int> by = ByKeys(f, o, tuned);
  a.tables.insert(a.tables.begin(), SummaryTable(f, o, by));
  a.main_table = "summary";
  if (!o.compare_key.empty()) {
    a.tables.push_back(CompareTable(f, o, by));
    a.main_table = "comparison";
  }
  if (sens >= 0) {
    std::vector<int> arms;
    for (int k : ByKeys(f, o, sens))
      if (k != tuned) arms.push_back(k);
    Sensitivity computed = ComputeSensitivity(f, o, arms, sens);
    for (Table& t : SensitivityTables(computed, f, o, arms, sens)) a.tables.push_back(std::move(t));
    if (sensitivity != nullptr) *sensitivity = std::move(computed);
    a.main_table = "sensitivity";
  }
  return a;
}

std::string FormatAnalysis(const Analysis& a, const std::string& format) {
  std::string out;
  if (format == "csv") {
    for (const auto& t : a.tables)
      if (t.name == a.main_table) return FormatCsv(t);
    ADVLAB_CHECK(false);
  }
  if (format == "json") {
    out = "{\"format\": \"advlab-analyze/1\", \"header\": [";
    for (size_t i = 0; i < a.header.size(); ++i) out += (i ? ", " : "") + JsonString(a.header[i]);
    out += "],\n \"tables\": [";
    for (size_t i = 0; i < a.tables.size(); ++i) out += (i ? ",\n  " : "\n  ") + TableJson(a.tables[i]);
    return out + "]}\n";
  }
  const bool md = format == "md";
  for (const auto& h : a.header) out += (md ? "" : "# ") + h + (md ? "\n\n" : "\n");
  for (const auto& t : a.tables) {
    out += "\n";
    out += md ? FormatMarkdown(t) : FormatText(t);
  }
  return out;
}

}  // namespace advlab
