// `advlab analyze`: per-run measures, seed statistics per configuration, paired
// comparisons, tuning on held-out seeds and hyperparameter sensitivity, as tables
// (analysis/table.h). Every number is a pure function of the results file and
// the options: the same file gives the same bytes.
//
// Streams of the bootstrap (all under AnalyzeOptions::bootstrap_seed, Philox
// Purpose::kBootstrap) are fixed by what a number is, never by how many others
// are computed: summary row g, statistic s (mean, median, iqm) and stratum k use
// stream kSummaryStream + (g * 3 + s) * 4096 + k; a comparison uses the stream of
// its context row; sensitivity and ranking use kSensitivityStream + ...
// (analysis/sensitivity.h).
#ifndef ADVLAB_ANALYSIS_ANALYZE_H_
#define ADVLAB_ANALYSIS_ANALYZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/frame.h"
#include "analysis/measures.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/results.h"

namespace advlab {

struct AnalyzeOptions {
  std::string metric = "accuracy";
  Measure measure = ParseMeasure("final");
  int goal = 0;                      // the metric's goal (--goal): 0 or +1 max, -1 min
  Stat stat = Stat::kMean;           // the statistic tuning, sensitivity and ranking use
  std::vector<std::string> by;       // grouping keys; empty = every swept key
  std::string match_metric = "accuracy";  // at:T reads it
  std::string compare_key;           // --compare KEY=A,B[,C...]: each value against the first
  std::vector<std::string> compare_values;
  std::string tune_key;              // --tune KEY
  int64_t tune_seeds = -1;           // seeds used to tune (the lowest); -1 = half, rounded down
  std::string sensitivity_key;       // --sensitivity KEY
  double within = 0.1;               // "within x of the best" share, as a fraction of the best
  double level = 0.95;
  int resamples = 10000;
  uint64_t bootstrap_seed = 0;
  std::string effective_step_metric = "update_norm";  // shown beside scores when present
  // The options that came from the results file's [analysis] section (shown
  // in the header), e.g. {"--measure=auc", "--tune=optim.lr"}.
  std::vector<std::string> from_file;
};

// printf format of the measure's values in tables ("%.0f" for step counts).
const char* MeasureValueFormat(const Measure& m);

// Whether larger values of the metric are better (--goal; max by default).
bool MetricHigherIsBetter(const AnalyzeOptions& o);
// Whether larger values of the measure are better: the metric's goal for final,
// best, auc, auc_cost and at; always lower for steps_to, cost_to, since_entry,
// drawdown and collapses.
bool HigherIsBetter(const AnalyzeOptions& o);

// Checks the options against the file before any statistic runs: metric,
// match metric and keys exist (did-you-mean), compare values exist for the key
// and share seeds, the threshold lies in the metric's range, tune and
// sensitivity keys are swept and differ. Throws UserError (one line).
void ValidateOptions(const Results& r, const AnalyzeOptions& o);

struct Analysis {
  std::vector<Table> tables;   // summary first, then tuning / comparison / sensitivity
  std::vector<std::string> header;  // lines describing what was computed
  std::string main_table;      // the table --format csv prints
};

struct Sensitivity;  // analysis/sensitivity.h

// The whole analysis. Calls ValidateOptions first. With --sensitivity and a
// non-null `sensitivity`, also hands back the curves behind its tables.
Analysis Analyze(const Results& r, const AnalyzeOptions& o, Sensitivity* sensitivity = nullptr);

// What --tune chose for one arm (a combination of the other swept keys).
struct TunedArm {
  int64_t first_run = -1;   // a run of the arm (its other keys' values)
  int64_t chosen_run = -1;  // a run at the chosen value; -1: nothing defined on the tuning seeds
  bool edge = false;        // the chosen value is the grid's smallest or largest
  std::string check;        // "ok", or why the choice is not to be trusted
};

struct Tuning {
  Table table;                 // the tuning table (analyze, report)
  std::vector<TunedArm> arms;  // the same, as data, in the table's row order
};

// Applies --tune to the frame: picks KEY's best value per arm on the tuning
// seeds and deactivates every other run (and the tuning seeds). Returns the
// tuning table and the choices. `key_index` is the tuned key's index in f.keys.
Tuning ApplyTuning(RunFrame& f, const AnalyzeOptions& o, int key_index);

// Keys that describe the compared key's values rather than a context: they take
// more than one value over the file's runs, and one value per value of the
// compared key (the keys an arm sets, beside the arm column). As a context or a
// pairing key they would keep every two values apart. Never the tuned key. In a
// grid (a Cartesian product) there is none, whatever tuning left active.
std::vector<int> AttributeKeys(const RunFrame& f, int key, int tuned);

// Indices of the grouping keys: o.by, or every swept key except `exclude` (-1: none).
std::vector<int> ByKeys(const RunFrame& f, const AnalyzeOptions& o, int exclude);

// "80%" for a fraction threshold, else the number; the measure's human label,
// e.g. "final accuracy", "steps to accuracy 80%".
std::string MeasureLabel(const AnalyzeOptions& o);

// Output of an analysis in one format: "table", "csv", "json" or "md".
std::string FormatAnalysis(const Analysis& a, const std::string& format);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_ANALYZE_H_
