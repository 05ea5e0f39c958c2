#include "analysis/frame.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const Metric& NeedMetric(const Results& r, const std::string& name, const std::string& why) {
  const Metric* m = r.FindMetric(name);
  if (m == nullptr) throw UserError(why + ": the results file has no metric '" + name + "'");
  return *m;
}

}  // namespace

int RunFrame::KeyIndex(const std::string& key) const {
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return static_cast<int>(i);
  return -1;
}

std::string DisplayCell(const Column& c, size_t i) {
  switch (c.kind) {
    case Column::Kind::kInt: return IntString(c.ints[i]);
    case Column::Kind::kFloat: return FormatDouble("%g", c.floats[i]);
    case Column::Kind::kString: return c.strings[i];
  }
  return "";
}

RunFrame BuildFrame(const Results& r, const std::string& metric, const Measure& measure,
                    bool higher_is_better, const std::string& match_metric) {
  RunFrame f;
  f.results = &r;
  const int64_t runs = r.num_runs;
  const int64_t evals = r.num_evals();
  const size_t cells = static_cast<size_t>(runs) * static_cast<size_t>(evals);
  for (const auto& m : r.metrics) {
    if (m.values.size() != cells) {
      throw UserError("results: metric '" + m.name + "' has " +
                      IntString(static_cast<int64_t>(m.values.size())) + " values, expected " +
                      IntString(runs) + " runs x " + IntString(evals) + " evals");
    }
  }
  const Column* seed = r.FindColumn("seed");
  if (seed == nullptr || seed->kind != Column::Kind::kInt)
    throw UserError("results: /runs/seed is missing or not an integer column");
  for (const auto& c : r.runs) {
    if (static_cast<int64_t>(c.size()) != runs) {
      throw UserError("results: /runs/" + c.name + " has " +
                      IntString(static_cast<int64_t>(c.size())) + " entries, expected " +
                      IntString(runs));
    }
    if (c.name == "run_id" || c.name == "seed") continue;
    f.keys.push_back(c.name);
    std::vector<std::string> ex, di;
    std::vector<double> nu;
    for (int64_t i = 0; i < runs; ++i) {
      const size_t k = static_cast<size_t>(i);
      // Grouping is by exact value (%.17g for floats): two configurations never
      // merge because they print alike.
      di.push_back(DisplayCell(c, k));
      ex.push_back(c.kind == Column::Kind::kFloat ? FormatDouble("%.17g", c.floats[k]) : di.back());
      nu.push_back(c.kind == Column::Kind::kInt     ? static_cast<double>(c.ints[k])
                   : c.kind == Column::Kind::kFloat ? c.floats[k]
                                                    : kNaN);
    }
    f.exact.push_back(std::move(ex));
    f.display.push_back(std::move(di));
    f.numeric.push_back(std::move(nu));
  }
  f.seed = seed->ints;

  const Metric& y = NeedMetric(r, metric, "--metric");
  const Metric* cost = measure.needs_cost ? &NeedMetric(r, "sim_cost", "--measure " + measure.text)
                                          : nullptr;
  const Metric* match = measure.kind == MeasureKind::kAt
                            ? &NeedMetric(r, match_metric, "--measure " + measure.text)
                            : nullptr;
  const Metric* entry = nullptr;
  if (measure.kind == MeasureKind::kSinceEntry) {
    const std::string prefix = "accuracy_bin";
    if (metric.rfind(prefix, 0) != 0) {
      throw UserError("--measure " + measure.text + ": needs --metric accuracy_binK (the bin " +
                      "whose entry step is recorded), got '" + metric + "'");
    }
    entry = &NeedMetric(r, "entry_step_bin" + metric.substr(prefix.size()),
                        "--measure " + measure.text + " (the step bin " +
                            metric.substr(prefix.size()) + " entered training)");
  }
  const size_t e = static_cast<size_t>(evals);
  for (int64_t i = 0; i < runs; ++i) {
    const size_t off = static_cast<size_t>(i) * e;
    RunCurves c;
    c.y = y.values.data() + off;
    c.steps = r.steps.data();
    c.cost = cost ? cost->values.data() + off : nullptr;
    c.match = match ? match->values.data() + off : nullptr;
    c.entry = entry ? entry->values.data() + off : nullptr;
    c.evals = evals;
    const MeasureValue v = ComputeMeasure(measure, c, higher_is_better);
    f.value.push_back(v.value);
    f.censored.push_back(v.censored ? 1 : 0);
    f.divergence.push_back(FindDivergence(r, i));
  }
  f.active.assign(static_cast<size_t>(runs), 1);
  return f;
}

std::vector<Group> GroupRuns(const RunFrame& f, const std::vector<int>& by) {
  std::vector<int> rest;
  for (int k = 0; k < static_cast<int>(f.keys.size()); ++k)
    if (std::find(by.begin(), by.end(), k) == by.end()) rest.push_back(k);
  // Groups and strata take the order of their first run in the file, active or
  // not, so that tuning (which leaves each arm's runs at its own best value
  // active) keeps the grid's order; then only active runs enter and what is
  // left empty goes. Maps are lookups only, never iterated.
  std::map<std::vector<std::string>, size_t> group_of;
  std::vector<std::map<std::vector<std::string>, size_t>> stratum_of;
  std::vector<Group> groups;
  for (int64_t i = 0; i < f.runs(); ++i) {
    const size_t u = static_cast<size_t>(i);
    std::vector<std::string> key, skey;
    for (int k : by) key.push_back(f.exact[static_cast<size_t>(k)][u]);
    for (int k : rest) skey.push_back(f.exact[static_cast<size_t>(k)][u]);
    auto [it, inserted] = group_of.emplace(key, groups.size());
    if (inserted) {
      Group g;
      g.exact = key;
      for (int k : by) g.display.push_back(f.display[static_cast<size_t>(k)][u]);
      groups.push_back(std::move(g));
      stratum_of.emplace_back();
    }
    Group& g = groups[it->second];
    auto [st, new_stratum] = stratum_of[it->second].emplace(skey, g.strata.size());
    if (new_stratum) g.strata.emplace_back();
    if (!f.active[u]) continue;
    g.strata[st->second].push_back(i);
    ++g.n;
  }
  std::vector<Group> out;
  for (auto& g : groups) {
    if (g.n == 0) continue;
    std::vector<std::vector<int64_t>> strata;
    for (auto& s : g.strata) {
      if (s.empty()) continue;
      std::stable_sort(s.begin(), s.end(), [&](int64_t a, int64_t b) {
        return f.seed[static_cast<size_t>(a)] < f.seed[static_cast<size_t>(b)];
      });
      strata.push_back(std::move(s));
    }
    g.strata = std::move(strata);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<double> StratumValues(const RunFrame& f, const std::vector<int64_t>& runs) {
  std::vector<double> out;
  for (int64_t i : runs) {
    const size_t u = static_cast<size_t>(i);
    if (std::isnan(f.value[u]) && !f.divergence[u].diverged) continue;
    out.push_back(f.value[u]);
  }
  return out;
}

void PairedValues(const RunFrame& f, const Group& a, const Group& b,
                  const std::vector<int>& group_keys, std::vector<std::vector<double>>* va,
                  std::vector<std::vector<double>>* vb, int64_t* censored) {
  std::vector<int> pair_keys;
  for (int k = 0; k < static_cast<int>(f.keys.size()); ++k)
    if (std::find(group_keys.begin(), group_keys.end(), k) == group_keys.end()) pair_keys.push_back(k);
  auto key_of = [&](int64_t i) {
    std::vector<std::string> key;
    for (int k : pair_keys) key.push_back(f.exact[static_cast<size_t>(k)][static_cast<size_t>(i)]);
    return std::make_pair(key, f.seed[static_cast<size_t>(i)]);
  };
  // A lookup only, never iterated.
  std::map<std::pair<std::vector<std::string>, int64_t>, int64_t> index;
  for (const auto& s : b.strata)
    for (int64_t i : s) index[key_of(i)] = i;
  va->assign(a.strata.size(), {});
  vb->assign(a.strata.size(), {});
  for (size_t k = 0; k < a.strata.size(); ++k)
    for (int64_t i : a.strata[k]) {
      auto it = index.find(key_of(i));
      if (it == index.end()) continue;
      const size_t u = static_cast<size_t>(i), w = static_cast<size_t>(it->second);
      const bool undefined_a = std::isnan(f.value[u]) && !f.divergence[u].diverged;
      const bool undefined_b = std::isnan(f.value[w]) && !f.divergence[w].diverged;
      if (undefined_a || undefined_b) continue;
      if (censored && (f.censored[u] || f.censored[w])) ++*censored;
      (*va)[k].push_back(f.value[u]);
      (*vb)[k].push_back(f.value[w]);
    }
}

PairedComparison CompareStrata(const std::vector<std::vector<double>>& a,
                               const std::vector<std::vector<double>>& b, bool higher_is_better,
                               double level, int resamples, uint64_t seed, uint32_t stream) {
  ADVLAB_CHECK_EQ(a.size(), b.size());
  std::vector<std::vector<double>> sa, sb;  // the non-empty strata
  for (size_t k = 0; k < a.size(); ++k) {
    ADVLAB_CHECK_EQ(a[k].size(), b[k].size());
    if (!a[k].empty()) {
      sa.push_back(a[k]);
      sb.push_back(b[k]);
    }
  }
  if (sa.size() <= 1) {
    return ComparePaired(sa.empty() ? std::vector<double>{} : sa[0],
                         sb.empty() ? std::vector<double>{} : sb[0], higher_is_better, level,
                         resamples, seed, stream);
  }
  const std::vector<double> pa = Pool(sa), pb = Pool(sb);
  PairedComparison c = ComparePaired(pa, pb, higher_is_better, level, 1, seed, stream);
  if (!c.sufficient) return c;
  auto poi = [&](const std::vector<std::vector<double>>& x, const std::vector<std::vector<double>>& y) {
    double sum = 0.0;
    for (size_t k = 0; k < x.size(); ++k) sum += ProbabilityOfImprovement(x[k], y[k], higher_is_better);
    return sum / static_cast<double>(x.size());
  };
  c.poi = poi(sa, sb);
  std::vector<std::vector<double>> ra(sa.size()), rb(sb.size());
  std::vector<double> diffs, pois;
  std::vector<uint32_t> idx;
  for (int rep = 0; rep < resamples; ++rep) {
    double sum = 0.0;
    size_t n = 0;
    for (size_t k = 0; k < sa.size(); ++k) {
      idx.resize(sa[k].size());
      BootstrapIndices(seed, stream + static_cast<uint32_t>(k), static_cast<uint32_t>(rep),
                       static_cast<uint32_t>(idx.size()), idx.data());
      ra[k].clear();
      rb[k].clear();
      for (uint32_t j : idx) {
        ra[k].push_back(sa[k][j]);
        rb[k].push_back(sb[k][j]);
        sum += sa[k][j] - sb[k][j];
        ++n;
      }
    }
    diffs.push_back(sum / static_cast<double>(n));
    pois.push_back(poi(ra, rb));
  }
  const double alpha = 1.0 - level;
  c.diff_boot = {Quantile(diffs, alpha / 2.0), Quantile(diffs, 1.0 - alpha / 2.0)};
  c.poi_ci = {Quantile(pois, alpha / 2.0), Quantile(pois, 1.0 - alpha / 2.0)};
  c.verdict = PairedVerdict(c.diff_boot, c.diff_t, higher_is_better);
  return c;
}

std::string GroupLabel(const RunFrame& f, const std::vector<int>& by, const Group& g) {
  std::string s;
  for (size_t i = 0; i < by.size(); ++i)
    s += (i ? ", " : "") + f.keys[static_cast<size_t>(by[i])] + "=" + g.display[i];
  return s.empty() ? "all runs" : s;
}

std::vector<double> Pool(const std::vector<std::vector<double>>& strata) {
  std::vector<double> out;
  for (const auto& s : strata) out.insert(out.end(), s.begin(), s.end());
  return out;
}

Interval StratifiedCI(const std::vector<std::vector<double>>& strata, Stat stat, double level,
                      int resamples, uint64_t seed, uint32_t stream) {
  std::vector<uint32_t> sizes;
  for (const auto& s : strata) sizes.push_back(static_cast<uint32_t>(s.size()));
  return StratifiedBootstrapCI(Pool(strata), sizes, stat, level, resamples, seed, stream);
}

double GroupFinalMean(const RunFrame& f, const Group& g, const std::string& metric) {
  const Metric* m = f.results->FindMetric(metric);
  const int64_t evals = f.results->num_evals();
  if (m == nullptr || evals == 0) return kNaN;
  std::vector<double> v;
  for (const auto& s : g.strata)
    for (int64_t i : s) v.push_back(m->values[static_cast<size_t>(i * evals + evals - 1)]);
  return Mean(v);
}

}  // namespace advlab
