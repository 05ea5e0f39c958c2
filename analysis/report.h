// `advlab report`: the numbers of a report, computed here (one source of
// truth) and handed to the figure script (python/advlab/report.py) as JSON, and
// the report's Markdown. Pure functions of the results and the options.
//
// The JSON (format "advlab-analysis/1", schema documented at the top of
// python/advlab/report.py): configs (label, seeds, run ids), learning curves of
// the metric and of accuracy_bin0..3 with CI bands per eval, the metric against
// mean sim_cost, the sensitivity curves, the probability-of-improvement matrix
// and the performance profiles, plus the list of figures to draw.
#ifndef ADVLAB_ANALYSIS_REPORT_H_
#define ADVLAB_ANALYSIS_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analysis/analyze.h"
#include "sim/results.h"

namespace advlab {

struct ReportOptions {
  AnalyzeOptions analyze;
  // Bootstrap resamples of the figures' intervals (each eval's band, the
  // probability-of-improvement matrix, the profiles' bands); the tables use
  // analyze.resamples.
  int band_resamples = 1000;
  int profile_points = 51;     // taus of the performance profiles
  std::string file_label;      // the results file as named in the report
  std::string results_path;    // absolute path, for the figure script's per-seed lines
};

struct ReportData {
  std::string json_body;   // ANALYSIS_JSON's members before "figures" (Json() closes it)
  std::string markdown;    // report.md
  std::vector<std::string> figures;  // names; each drawn as NAME.png and NAME.svg
  // Named members after "figures" (name, JSON value): what a caller adds to the
  // analysis, e.g. `advlab reproduce`'s "claim" with its figure.
  std::vector<std::pair<std::string, std::string>> sections;
  // ANALYSIS_JSON for report.py: the body, "figures", then the sections.
  std::string Json() const;
};

// The sensitivity key a report uses when none is given: optim.lr when it is
// swept with at least two values and not a --by or tuned key, else "".
std::string DefaultSensitivityKey(const Results& r, const AnalyzeOptions& o);

// The comparison a report makes when none is given: the first grouping key
// (the first --by key, else the first swept key that is not the sensitivity or
// tuned key) with at least two values, each against its first value in the file
// (the control). Sets o->compare_key and o->compare_values; no-op when none fits.
void DefaultComparison(const Results& r, AnalyzeOptions* o);

ReportData BuildReport(const Results& r, const ReportOptions& o);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_REPORT_H_
