#include "analysis/summary.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/stats.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/results.h"

namespace advlab {
namespace {

bool IsSwept(const Column& c) { return c.name != "run_id" && c.name != "seed"; }

std::string Printf(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string IntString(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%" PRId64, v);
  return buf;
}

// Display form of one cell of a /runs column.
std::string DisplayValue(const Column& c, size_t i) {
  switch (c.kind) {
    case Column::Kind::kInt: return IntString(c.ints[i]);
    case Column::Kind::kFloat: return Printf("%g", c.floats[i]);
    case Column::Kind::kString: return c.strings[i];
  }
  return "";
}

// Grouping form: like DisplayValue but exact for floats (%.17g round-trips).
std::string KeyValue(const Column& c, size_t i) {
  return c.kind == Column::Kind::kFloat ? Printf("%.17g", c.floats[i]) : DisplayValue(c, i);
}

// "80%" for thresholds in (0, 1], else "<metric> >= <threshold>".
std::string ThresholdLabel(const std::string& metric, double threshold) {
  if (threshold > 0.0 && threshold <= 1.0) return Printf("%g", threshold * 100.0) + "%";
  return metric + " >= " + Printf("%g", threshold);
}

std::string LevelLabel() { return Printf("%g", kSummaryLevel * 100.0) + "%"; }

std::string PadLeft(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}
std::string PadRight(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

// "mean [lo, hi]" cells for one statistic, each number right-aligned to the
// widest of its kind over all rows, so brackets and commas line up. Rows where
// `defined` is false get `missing` instead.
std::vector<std::string> CiCells(const std::vector<double>& mean,
                                 const std::vector<Interval>& ci,
                                 const std::vector<bool>& defined, const char* fmt,
                                 const std::string& missing) {
  const size_t n = mean.size();
  std::vector<std::string> m(n), lo(n), hi(n);
  size_t wm = 0, wl = 0, wh = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!defined[i]) continue;
    m[i] = Printf(fmt, mean[i]);
    lo[i] = Printf(fmt, ci[i].lo);
    hi[i] = Printf(fmt, ci[i].hi);
    wm = std::max(wm, m[i].size());
    wl = std::max(wl, lo[i].size());
    wh = std::max(wh, hi[i].size());
  }
  std::vector<std::string> cells(n);
  for (size_t i = 0; i < n; ++i) {
    cells[i] = defined[i] ? PadLeft(m[i], wm) + " [" + PadLeft(lo[i], wl) + ", " +
                                PadLeft(hi[i], wh) + "]"
                          : missing;
  }
  return cells;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string CsvNumber(double v) { return std::isnan(v) ? "" : Printf("%.17g", v); }

void CheckRows(const Results& r, const std::vector<SummaryRow>& rows) {
  const size_t cols = SweptColumnNames(r).size();
  for (const auto& row : rows) ADVLAB_CHECK_EQ(row.config_values.size(), cols);
}

}  // namespace

std::vector<std::string> SweptColumnNames(const Results& r) {
  std::vector<std::string> names;
  for (const auto& c : r.runs)
    if (IsSwept(c)) names.push_back(c.name);
  return names;
}

std::vector<SummaryRow> SummarizeSweep(const Results& r, const std::string& metric,
                                       double threshold, uint64_t bootstrap_seed) {
  const Metric* m = r.FindMetric(metric);
  if (m == nullptr) {
    std::string available;
    for (const auto& mm : r.metrics) available += (available.empty() ? "" : ", ") + mm.name;
    throw UserError("metric '" + metric + "' is not in the results (available: " +
                    (available.empty() ? "none" : available) + ")");
  }
  if (r.num_runs < 0) throw UserError("results: negative run count");
  const size_t runs = static_cast<size_t>(r.num_runs);
  const int64_t evals = r.num_evals();
  if (m->values.size() != runs * static_cast<size_t>(evals)) {
    throw UserError("results: metric '" + metric + "' has " +
                    IntString(static_cast<int64_t>(m->values.size())) + " values, expected " +
                    IntString(r.num_runs) + " runs x " + IntString(evals) + " evals");
  }
  std::vector<const Column*> swept;
  for (const auto& c : r.runs) {
    if (c.size() != runs) {
      throw UserError("results: /runs/" + c.name + " has " +
                      IntString(static_cast<int64_t>(c.size())) + " entries, expected " +
                      IntString(r.num_runs));
    }
    if (IsSwept(c)) swept.push_back(&c);
  }

  // Group runs in order of first appearance. The map is only a lookup, never
  // iterated, so its ordering cannot reach the output.
  std::map<std::vector<std::string>, size_t> group_of;
  std::vector<SummaryRow> rows;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < runs; ++i) {
    std::vector<std::string> key;
    key.reserve(swept.size());
    for (const Column* c : swept) key.push_back(KeyValue(*c, i));
    auto [it, inserted] = group_of.emplace(std::move(key), rows.size());
    if (inserted) {
      SummaryRow row;
      for (const Column* c : swept) row.config_values.push_back(DisplayValue(*c, i));
      rows.push_back(std::move(row));
      members.emplace_back();
    }
    members[it->second].push_back(i);
  }

  for (size_t g = 0; g < rows.size(); ++g) {
    SummaryRow& row = rows[g];
    std::vector<double> finals, steps;
    for (size_t i : members[g]) {
      const double* curve = m->values.data() + i * static_cast<size_t>(evals);
      finals.push_back(FinalValue(curve, evals));
      const double s = StepsToThreshold(curve, r.steps.data(), evals, threshold);
      if (!std::isnan(s)) steps.push_back(s);
    }
    const uint32_t stream = static_cast<uint32_t>(2 * g);
    row.runs = static_cast<int64_t>(members[g].size());
    row.final_mean = Mean(finals);
    row.final_ci =
        BootstrapMeanCI(finals, kSummaryLevel, kSummaryResamples, bootstrap_seed, stream);
    row.reached = static_cast<int64_t>(steps.size());
    row.steps_mean = Mean(steps);  // NaN when none reached
    row.steps_ci =
        BootstrapMeanCI(steps, kSummaryLevel, kSummaryResamples, bootstrap_seed, stream + 1);
  }
  return rows;
}

std::string FormatSummaryTable(const Results& r, const std::vector<SummaryRow>& rows,
                               const std::string& metric, double threshold) {
  CheckRows(r, rows);
  const std::vector<std::string> names = SweptColumnNames(r);
  const size_t n = rows.size();

  std::vector<double> fm(n), sm(n);
  std::vector<Interval> fci(n), sci(n);
  std::vector<bool> fdef(n), sdef(n);
  for (size_t i = 0; i < n; ++i) {
    fm[i] = rows[i].final_mean;
    fci[i] = rows[i].final_ci;
    fdef[i] = !std::isnan(rows[i].final_mean);
    sm[i] = rows[i].steps_mean;
    sci[i] = rows[i].steps_ci;
    sdef[i] = rows[i].reached > 0 && !std::isnan(rows[i].steps_mean);
  }
  const std::vector<std::string> final_cells = CiCells(fm, fci, fdef, "%.3f", "-");
  const std::vector<std::string> steps_cells = CiCells(sm, sci, sdef, "%.0f", "never");

  // Columns: swept values (left), runs (right), final CI, steps CI, reached (left).
  std::vector<std::vector<std::string>> table;
  std::vector<bool> right_align;
  std::vector<std::string> header = names;
  header.push_back("runs");
  header.push_back("final " + metric + " (" + LevelLabel() + " CI)");
  header.push_back("steps to " + ThresholdLabel(metric, threshold) + " (" + LevelLabel() +
                   " CI)");
  header.push_back("reached");
  right_align.assign(header.size(), false);
  right_align[names.size()] = true;
  table.push_back(header);
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::string> line = rows[i].config_values;
    line.push_back(IntString(rows[i].runs));
    line.push_back(final_cells[i]);
    line.push_back(steps_cells[i]);
    line.push_back(IntString(rows[i].reached) + "/" + IntString(rows[i].runs));
    table.push_back(std::move(line));
  }

  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : table)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());

  std::string out;
  for (const auto& line : table) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      if (c > 0) text += "  ";
      text += right_align[c] ? PadLeft(line[c], width[c]) : PadRight(line[c], width[c]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

std::string FormatSummaryCsv(const Results& r, const std::vector<SummaryRow>& rows,
                             const std::string& metric, double threshold) {
  CheckRows(r, rows);
  std::string out;
  for (const auto& name : SweptColumnNames(r)) out += CsvField(name) + ",";
  out +=
      "runs,metric,threshold,final_mean,final_ci_lo,final_ci_hi,reached,steps_mean,"
      "steps_ci_lo,steps_ci_hi\n";
  for (const auto& row : rows) {
    for (const auto& v : row.config_values) out += CsvField(v) + ",";
    out += IntString(row.runs) + "," + CsvField(metric) + "," + CsvNumber(threshold) + "," +
           CsvNumber(row.final_mean) + "," + CsvNumber(row.final_ci.lo) + "," +
           CsvNumber(row.final_ci.hi) + "," + IntString(row.reached) + "," +
           CsvNumber(row.steps_mean) + "," + CsvNumber(row.steps_ci.lo) + "," +
           CsvNumber(row.steps_ci.hi) + "\n";
  }
  return out;
}

}  // namespace advlab
