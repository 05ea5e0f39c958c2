// The sweep summary: per configuration (one distinct combination of the swept
// /runs columns), the final value of a metric and the steps to reach a threshold,
// each as a mean over seeds with a percentile-bootstrap CI (analysis/stats.h).
#ifndef ADVLAB_ANALYSIS_SUMMARY_H_
#define ADVLAB_ANALYSIS_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/stats.h"
#include "sim/results.h"

namespace advlab {

// CI level and bootstrap size used by SummarizeSweep.
inline constexpr double kSummaryLevel = 0.95;
inline constexpr int kSummaryResamples = 2000;

struct SummaryRow {
  // One entry per swept column (SweptColumnNames order), formatted for display:
  // int columns as integers, float columns with %g, strings as is.
  std::vector<std::string> config_values;
  int64_t runs = 0;        // runs (seeds) in this configuration
  double final_mean = 0;   // mean over runs of the metric's last eval value
  Interval final_ci{};     // its 95% bootstrap CI
  int64_t reached = 0;     // runs whose metric reached the threshold at some eval
  double steps_mean = 0;   // mean steps-to-threshold over those runs; NaN if none
  Interval steps_ci{};     // its 95% bootstrap CI; {NaN, NaN} if none
};

// The swept columns: every /runs column except run_id and seed, in file order.
std::vector<std::string> SweptColumnNames(const Results& r);

// Groups runs by the swept columns, in order of first appearance in the runs
// table. Float columns are grouped by exact value (not by their %g display), so
// two configurations never merge because they print alike.
//
// Bootstrap streams: group g uses stream 2g for the final value and 2g + 1 for
// steps-to-threshold, all under `bootstrap_seed`. A NaN final value in any run of
// a group makes that group's final mean and CI NaN (it is not silently dropped).
//
// Throws UserError when `metric` is not in the results or the results' shapes
// are inconsistent.
std::vector<SummaryRow> SummarizeSweep(const Results& r, const std::string& metric,
                                       double threshold, uint64_t bootstrap_seed);

// Plain-text table, columns separated by two spaces, one line per row, e.g.
//   estimator.name  runs  final accuracy (95% CI)  steps to 80% (95% CI)  reached
//   reinforce          8  0.712 [0.690, 0.733]     1450 [1300, 1600]      6/8
//   grpo               8  0.905 [0.899, 0.911]      600 [ 575,  625]      8/8
// Metric values with 3 decimals, steps with 0; "never" when no run reached the
// threshold, "-" when the final value is undefined (NaN). The threshold prints
// as a percentage when it lies in (0, 1], else as "<metric> >= <threshold>".
std::string FormatSummaryTable(const Results& r, const std::vector<SummaryRow>& rows,
                               const std::string& metric, double threshold);

// The same data as CSV (RFC 4180 quoting), one header line:
//   <swept columns...>,runs,metric,threshold,final_mean,final_ci_lo,final_ci_hi,
//   reached,steps_mean,steps_ci_lo,steps_ci_hi
// Numbers with %.17g (round-trip exact); NaN as an empty field.
std::string FormatSummaryCsv(const Results& r, const std::vector<SummaryRow>& rows,
                             const std::string& metric, double threshold);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_SUMMARY_H_
