#include "analysis/report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "analysis/analyze.h"
#include "analysis/frame.h"
#include "analysis/sensitivity.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kBandStream = 3u << 28;
constexpr uint32_t kPoiStream = 4u << 28;
constexpr uint32_t kProfileStream = 5u << 28;

struct Band {
  std::vector<double> mean, lo, hi;
};

// Per eval: the mean of `values` ([runs, evals]) over the group's runs where it
// is finite, and its percentile bootstrap band (stratified; one draw of indices
// per resample and stratum serves every eval, so a band is a set of resampled
// curves). Fewer than two runs: no band. `clean` is `values` with non-finite
// entries set to 0 and `mask` 1 where finite, so the inner loop has no branch.
Band CurveBand(const std::vector<double>& clean, const std::vector<double>& mask, int64_t evals,
               const Group& g, double level, int resamples, uint64_t seed, uint32_t stream) {
  const size_t e = static_cast<size_t>(evals);
  Band b;
  b.mean.assign(e, kNaN);
  b.lo.assign(e, kNaN);
  b.hi.assign(e, kNaN);
  std::vector<double> sum(e, 0.0), cnt(e, 0.0);
  auto add = [&](int64_t run) {
    const double* v = clean.data() + static_cast<size_t>(run) * e;
    const double* m = mask.data() + static_cast<size_t>(run) * e;
    for (size_t k = 0; k < e; ++k) {
      sum[k] += v[k];
      cnt[k] += m[k];
    }
  };
  for (const auto& s : g.strata)
    for (int64_t i : s) add(i);
  for (size_t k = 0; k < e; ++k)
    if (cnt[k] > 0.0) b.mean[k] = sum[k] / cnt[k];
  if (g.n < 2) return b;
  std::vector<double> reps(e * static_cast<size_t>(resamples), kNaN);  // [eval][rep]
  std::vector<uint32_t> idx;
  for (int rep = 0; rep < resamples; ++rep) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(cnt.begin(), cnt.end(), 0.0);
    for (size_t st = 0; st < g.strata.size(); ++st) {
      const auto& s = g.strata[st];
      idx.resize(s.size());
      BootstrapIndices(seed, stream + static_cast<uint32_t>(st), static_cast<uint32_t>(rep),
                       static_cast<uint32_t>(s.size()), idx.data());
      for (uint32_t j : idx) add(s[j]);
    }
    for (size_t k = 0; k < e; ++k)
      if (cnt[k] > 0.0) reps[k * static_cast<size_t>(resamples) + static_cast<size_t>(rep)] = sum[k] / cnt[k];
  }
  const double alpha = 1.0 - level;
  std::vector<double> v;
  for (size_t k = 0; k < e; ++k) {
    v.clear();
    for (int rep = 0; rep < resamples; ++rep) {
      const double x = reps[k * static_cast<size_t>(resamples) + static_cast<size_t>(rep)];
      if (!std::isnan(x)) v.push_back(x);
    }
    if (v.size() < 2) continue;
    b.lo[k] = Quantile(v, alpha / 2.0);
    b.hi[k] = Quantile(v, 1.0 - alpha / 2.0);
  }
  return b;
}

// `values` with non-finite entries as 0, and the mask of finite entries.
void CleanAndMask(const std::vector<double>& values, std::vector<double>* clean,
                  std::vector<double>* mask) {
  clean->resize(values.size());
  mask->resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const bool ok = std::isfinite(values[i]);
    (*clean)[i] = ok ? values[i] : 0.0;
    (*mask)[i] = ok ? 1.0 : 0.0;
  }
}

std::string SeriesJson(size_t config, const std::vector<double>& x, const Band& b) {
  return "{\"config\": " + std::to_string(config) + ", \"x\": " + JsonNumbers(x) +
         ", \"mean\": " + JsonNumbers(b.mean) + ", \"lo\": " + JsonNumbers(b.lo) +
         ", \"hi\": " + JsonNumbers(b.hi) + "}";
}

std::string Matrix(const std::vector<std::vector<double>>& m) {
  std::string out = "[";
  for (size_t i = 0; i < m.size(); ++i) out += (i ? ", " : "") + JsonNumbers(m[i]);
  return out + "]";
}

}  // namespace

std::string DefaultSensitivityKey(const Results& r, const AnalyzeOptions& o) {
  const std::string key = "optim.lr";
  const Column* c = r.FindColumn(key);
  if (c == nullptr || key == o.tune_key || key == o.compare_key) return "";
  if (std::find(o.by.begin(), o.by.end(), key) != o.by.end()) return "";
  std::vector<double> v = c->floats;
  std::sort(v.begin(), v.end());
  return v.empty() || v.front() == v.back() ? "" : key;
}

void DefaultComparison(const Results& r, AnalyzeOptions* o) {
  if (!o->compare_key.empty()) return;
  std::vector<std::string> candidates = o->by;
  if (candidates.empty())
    for (const auto& c : r.runs)
      if (c.name != "run_id" && c.name != "seed") candidates.push_back(c.name);
  for (const auto& key : candidates) {
    if (key == o->sensitivity_key || key == o->tune_key) continue;
    const Column* c = r.FindColumn(key);
    std::vector<std::string> values;
    for (size_t i = 0; i < c->size(); ++i) {
      const std::string v = DisplayCell(*c, i);
      if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
    }
    if (values.size() < 2) continue;
    AnalyzeOptions trial = *o;
    trial.compare_key = key;
    trial.compare_values = values;
    try {
      ValidateOptions(r, trial);
    } catch (const UserError&) {
      continue;  // e.g. values that share no seed: no default comparison on this key
    }
    *o = trial;
    return;
  }
}

std::string ReportData::Json() const {
  std::string j = json_body + ",\n \"figures\": [";
  for (size_t i = 0; i < figures.size(); ++i) j += (i ? ", " : "") + JsonString(figures[i]);
  j += "]";
  for (const auto& [name, value] : sections) j += ",\n " + JsonString(name) + ": " + value;
  return j + "}\n";
}

ReportData BuildReport(const Results& r, const ReportOptions& ro) {
  AnalyzeOptions o = ro.analyze;
  if (o.sensitivity_key.empty()) o.sensitivity_key = DefaultSensitivityKey(r, o);
  DefaultComparison(r, &o);
  Sensitivity computed;
  const Analysis analysis = Analyze(r, o, &computed);  // validates
  RunFrame f = BuildFrame(r, o.metric, o.measure, MetricHigherIsBetter(o), o.match_metric);
  const int tuned = o.tune_key.empty() ? -1 : f.KeyIndex(o.tune_key);
  if (tuned >= 0) ApplyTuning(f, o, tuned);
  const int sens = o.sensitivity_key.empty() ? -1 : f.KeyIndex(o.sensitivity_key);
  const std::vector<int> by = ByKeys(f, o, tuned);
  const std::vector<Group> groups = GroupRuns(f, by);
  const bool higher = HigherIsBetter(o);
  const int64_t evals = r.num_evals();
  ReportData out;

  std::string j = "{\"format\": \"advlab-analysis/1\",\n \"file\": " + JsonString(ro.results_path) +
                  ",\n \"metric\": " + JsonString(o.metric) + ", \"measure\": " +
                  JsonString(o.measure.text) + ", \"stat\": " + JsonString(StatName(o.stat)) +
                  ", \"level\": " + JsonNumber(o.level) + ",\n \"configs\": [";
  const Column* run_id = r.FindColumn("run_id");
  for (size_t g = 0; g < groups.size(); ++g) {
    std::string ids;  // /runs/run_id values (the row index when the file has none)
    for (const auto& s : groups[g].strata)
      for (int64_t i : s)
        ids += (ids.empty() ? "" : ", ") +
               std::to_string(run_id && run_id->kind == Column::Kind::kInt
                                  ? run_id->ints[static_cast<size_t>(i)] : i);
    j += std::string(g ? ",\n  " : "\n  ") + "{\"id\": " + std::to_string(g) + ", \"label\": " +
         JsonString(GroupLabel(f, by, groups[g])) + ", \"n\": " + std::to_string(groups[g].n) +
         ", \"run_ids\": [" + ids + "]}";
  }
  j += "],\n";

  // Learning curves: the metric, then accuracy_bin0..3 when present.
  std::vector<std::string> curve_metrics = {o.metric};
  bool bins = false;
  for (int b = 0; b < 4; ++b) {
    const std::string name = "accuracy_bin" + std::to_string(b);
    if (r.FindMetric(name) != nullptr) {
      curve_metrics.push_back(name);
      bins = true;
    }
  }
  std::vector<double> steps(r.steps.begin(), r.steps.end());
  std::vector<Band> main_bands;
  j += " \"curves\": [";
  for (size_t c = 0; c < curve_metrics.size(); ++c) {
    const Metric* m = r.FindMetric(curve_metrics[c]);
    j += std::string(c ? ",\n  " : "\n  ") + "{\"metric\": " + JsonString(m->name) +
         ", \"x_name\": \"step\", \"series\": [";
    std::vector<double> clean, mask;
    CleanAndMask(m->values, &clean, &mask);
    for (size_t g = 0; g < groups.size(); ++g) {
      const Band b = CurveBand(clean, mask, evals, groups[g], o.level, ro.band_resamples,
                               o.bootstrap_seed, kBandStream + static_cast<uint32_t>((c * groups.size() + g) * 4096));
      if (c == 0) main_bands.push_back(b);
      j += std::string(g ? ",\n    " : "\n    ") + SeriesJson(g, steps, b);
    }
    j += "]}";
  }
  j += "],\n";

  // The metric against mean sim_cost.
  const Metric* cost = r.FindMetric("sim_cost");
  j += " \"cost_curves\": ";
  if (cost != nullptr) {
    j += "{\"metric\": " + JsonString(o.metric) + ", \"x_name\": \"sim_cost\", \"series\": [";
    std::vector<double> clean, mask;
    CleanAndMask(cost->values, &clean, &mask);
    for (size_t g = 0; g < groups.size(); ++g) {
      const Band cb = CurveBand(clean, mask, evals, groups[g], o.level, 1, o.bootstrap_seed, 0);
      j += std::string(g ? ",\n    " : "\n    ") + SeriesJson(g, cb.mean, main_bands[g]);
    }
    j += "]}";
  } else {
    j += "null";
  }
  j += ",\n";

  // Sensitivity curves.
  j += " \"sensitivity\": ";
  if (sens >= 0) {
    const Sensitivity& s = computed;
    j += "{\"key\": " + JsonString(o.sensitivity_key) + ", \"log_x\": " + (s.log_x ? "true" : "false") +
         ", \"measure\": " + JsonString(o.measure.text) + ", \"stat\": " + JsonString(StatName(o.stat)) +
         ", \"arms\": [";
    for (size_t a = 0; a < s.arms.size(); ++a) {
      const SensitivityArm& arm = s.arms[a];
      std::string n;
      for (size_t p = 0; p < arm.n.size(); ++p) n += (p ? ", " : "") + std::to_string(arm.n[p]);
      j += std::string(a ? ",\n    " : "\n    ") + "{\"label\": " + JsonString(arm.label) +
           ", \"x\": " + JsonNumbers(arm.x) + ", \"y\": " + JsonNumbers(arm.y) + ", \"lo\": " +
           JsonNumbers(arm.lo) + ", \"hi\": " + JsonNumbers(arm.hi) + ", \"n\": [" + n +
           "], \"score\": " + JsonNumber(arm.score) + ", \"rank_lo\": " + JsonNumber(arm.rank_lo) +
           ", \"rank_hi\": " + JsonNumber(arm.rank_hi) + "}";
    }
    j += "]}";
  } else {
    j += "null";
  }
  j += ",\n";

  // Probability of improvement between every two configurations, paired.
  const size_t G = groups.size();
  std::vector<int> pair_exclude = by;  // a tuned key is not paired on
  if (tuned >= 0) pair_exclude.push_back(tuned);
  j += " \"poi\": ";
  if (G >= 2) {
    std::vector<std::vector<double>> p(G, std::vector<double>(G, kNaN)), lo = p, hi = p, n = p;
    for (size_t a = 0; a < G; ++a)
      for (size_t b = 0; b < G; ++b) {
        if (a == b) continue;
        std::vector<std::vector<double>> va, vb;
        PairedValues(f, groups[a], groups[b], pair_exclude, &va, &vb, nullptr);
        const PairedComparison pc =
            CompareStrata(va, vb, higher, o.level, ro.band_resamples, o.bootstrap_seed,
                          kPoiStream + static_cast<uint32_t>(a * G + b) * kStreamsPerComparison);
        n[a][b] = static_cast<double>(pc.n);
        if (!pc.sufficient) continue;
        p[a][b] = pc.poi;
        lo[a][b] = pc.poi_ci.lo;
        hi[a][b] = pc.poi_ci.hi;
      }
    std::string labels;
    for (size_t g = 0; g < G; ++g) labels += (g ? ", " : "") + JsonString(GroupLabel(f, by, groups[g]));
    j += "{\"measure\": " + JsonString(o.measure.text) + ", \"labels\": [" + labels + "], \"n\": " +
         Matrix(n) + ",\n  \"p\": " + Matrix(p) + ",\n  \"lo\": " + Matrix(lo) + ",\n  \"hi\": " +
         Matrix(hi) + "}";
  } else {
    j += "null";
  }
  j += ",\n";

  // Performance profiles: share of runs better than tau.
  double vmin = kNaN, vmax = kNaN;
  for (int64_t i = 0; i < f.runs(); ++i) {
    const double v = f.value[static_cast<size_t>(i)];
    if (!f.active[static_cast<size_t>(i)] || !std::isfinite(v)) continue;
    vmin = std::isnan(vmin) ? v : std::min(vmin, v);
    vmax = std::isnan(vmax) ? v : std::max(vmax, v);
  }
  j += " \"profiles\": ";
  const bool profiles = !std::isnan(vmin) && ro.profile_points >= 2;
  if (profiles) {
    std::vector<double> taus;
    for (int k = 0; k < ro.profile_points; ++k)
      taus.push_back(vmin + (vmax - vmin) * static_cast<double>(k) / static_cast<double>(ro.profile_points - 1));
    j += "{\"measure\": " + JsonString(o.measure.text) + ", \"taus\": " + JsonNumbers(taus) + ", \"series\": [";
    const double alpha = 1.0 - o.level;
    for (size_t g = 0; g < G; ++g) {
      std::vector<std::vector<double>> strata;
      for (const auto& s : groups[g].strata) strata.push_back(StratumValues(f, s));
      const std::vector<double> all = Pool(strata);
      const std::vector<double> share = PerformanceProfile(all, taus, higher);
      std::vector<std::vector<double>> reps(taus.size());
      std::vector<uint32_t> idx;
      std::vector<double> buf;
      for (int rep = 0; rep < ro.band_resamples && all.size() >= 2; ++rep) {
        buf.clear();
        for (size_t st = 0; st < strata.size(); ++st) {
          idx.resize(strata[st].size());
          if (idx.empty()) continue;
          BootstrapIndices(o.bootstrap_seed, kProfileStream + static_cast<uint32_t>(g * 4096 + st),
                           static_cast<uint32_t>(rep), static_cast<uint32_t>(idx.size()), idx.data());
          for (uint32_t q : idx) buf.push_back(strata[st][q]);
        }
        const std::vector<double> s = PerformanceProfile(buf, taus, higher);
        for (size_t k = 0; k < taus.size(); ++k) reps[k].push_back(s[k]);
      }
      std::vector<double> lo(taus.size(), kNaN), hi(taus.size(), kNaN);
      for (size_t k = 0; k < taus.size(); ++k) {
        if (reps[k].empty()) continue;
        lo[k] = Quantile(reps[k], alpha / 2.0);
        hi[k] = Quantile(reps[k], 1.0 - alpha / 2.0);
      }
      j += std::string(g ? ",\n    " : "\n    ") + "{\"config\": " + std::to_string(g) +
           ", \"share\": " + JsonNumbers(share) + ", \"lo\": " + JsonNumbers(lo) + ", \"hi\": " +
           JsonNumbers(hi) + "}";
    }
    j += "]}";
  } else {
    j += "null";
  }

  out.figures.push_back("curves_" + o.metric);
  if (bins) out.figures.push_back("bins");
  if (cost != nullptr) out.figures.push_back("cost");
  if (sens >= 0) out.figures.push_back("sensitivity");
  if (G >= 2) out.figures.push_back("poi");
  if (profiles) out.figures.push_back("profiles");
  out.json_body = j;

  // report.md: what was computed, the tables, the figures.
  std::string md = "# advlab report: " + ro.file_label + "\n\n";
  for (const auto& h : analysis.header) md += h + "\n\n";
  auto figure = [&](const std::string& name, const std::string& caption) {
    if (std::find(out.figures.begin(), out.figures.end(), name) == out.figures.end()) return;
    md += "![" + caption + "](" + name + ".png)\n\n*" + caption + "* ([SVG](" + name + ".svg))\n\n";
  };
  const std::string lv = FormatDouble("%g", o.level * 100.0) + "%";
  md += "## Summary\n\n";
  for (const auto& t : analysis.tables)
    if (t.name == "summary" || t.name == "tuning") md += FormatMarkdown(t) + "\n";
  md += "## Learning curves\n\n";
  figure("curves_" + o.metric, o.metric + " against steps: mean over seeds with its " + lv +
                                   " bootstrap band, one line per seed underneath");
  figure("bins", "accuracy per difficulty bin, mean and " + lv + " band");
  figure("cost", o.metric + " against simulated compute (mean sim_cost)");
  if (sens >= 0) {
    md += "## Sensitivity to " + o.sensitivity_key + "\n\n";
    for (const auto& t : analysis.tables)
      if (t.name == "sensitivity" || t.name == "ranking") md += FormatMarkdown(t) + "\n";
    figure("sensitivity", StatName(o.stat) + std::string(" ") + MeasureLabel(o) + " against " +
                              o.sensitivity_key + ", " + lv + " CI bars");
  }
  if (G >= 2 || profiles || !o.compare_key.empty()) md += "## Comparisons\n\n";
  for (const auto& t : analysis.tables)
    if (t.name == "comparison") md += FormatMarkdown(t) + "\n";
  figure("poi", "probability that the row's configuration beats the column's (" +
                    MeasureLabel(o) + ", paired by seed), with " + lv + " CIs");
  figure("profiles", "performance profiles: share of runs whose " + MeasureLabel(o) +
                         " is better than tau, with " + lv + " bands");
  out.markdown = md;
  return out;
}

}  // namespace advlab
