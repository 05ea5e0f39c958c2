// Per-run measures: one number per run from its eval curves (DESIGN §6 layout:
// /steps [evals], /metrics/<name> [runs, evals]). `advlab analyze --measure`
// picks one; seed statistics and comparisons (analysis/stats.h) run over them.
//
//   final[:K]       mean of the last K evals of the metric (K = 1 by default);
//                   NaN if any of them is NaN or the run has fewer than K evals
//   best            maximum over evals (minimum when the goal is min); NaN entries skipped
//   auc             area under the metric against steps, trapezoidal over the evals
//                   where the metric is defined, divided by the span of those steps:
//                   the curve's mean height, in metric units ([0, 1] for a fraction)
//   auc_cost        the same against the run's sim_cost
//   steps_to:T      steps[i] of the first eval with metric >= T (<= T when the goal is min)
//                                                                           (censored)
//   cost_to:T       sim_cost at that eval                                   (censored)
//   drawdown        max over i <= j of (y_i - y_j): the largest fall from a running peak
//   collapses[:D]   evals i with y_{i-1} - y_i > D (D = 0.1 by default); both skip NaN
//                   entries (y_{i-1} is the previous defined value)
//   at:T            the metric at the first eval where the match metric (accuracy by
//                   default) reaches T, linearly interpolated between that eval and
//                   the one before; e.g. response_length_wrong at 50% accuracy (censored)
//   since_entry:T   for accuracy_binK: steps from the step bin K entered the training
//                   distribution (metric entry_step_binK, NaN before entry, where the
//                   file records it) to the first eval at or after entry with
//                   accuracy_binK >= T (same direction as steps_to)           (censored);
//                   NaN when entry is never finite or no eval is at or after it
//
// Censored measures (never reached): `censored` is set; steps_to, cost_to and
// since_entry then hold the run's budget (last step, last sim_cost, steps from
// entry to the last eval) — a lower bound, which tables mark with ">=" and count as
// "reached k/n"; at:T has no bound and stays NaN.
#ifndef ADVLAB_ANALYSIS_MEASURES_H_
#define ADVLAB_ANALYSIS_MEASURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/results.h"

namespace advlab {

enum class MeasureKind {
  kFinal, kBest, kAuc, kAucCost, kStepsTo, kCostTo, kDrawdown, kCollapses, kAt, kSinceEntry,
};

struct Measure {
  MeasureKind kind = MeasureKind::kFinal;
  double param = 1;        // K (final), T (steps_to, cost_to, at, since_entry), D (collapses)
  std::string text;        // canonical spelling, e.g. "steps_to:0.8", "final:5"
  // Whether a larger value is better, before any --goal override: false for
  // steps_to, cost_to, since_entry, drawdown and collapses.
  bool higher_is_better = true;
  bool censorable = false; // steps_to, cost_to, at, since_entry
  bool needs_cost = false; // auc_cost, cost_to: reads metric sim_cost
};

// Parses "final", "final:5", "steps_to:0.8", ... (the list above). Throws
// UserError naming `what` (e.g. "--measure"), the bad text and the allowed forms
// (with a did-you-mean) for an unknown name, a missing or malformed parameter, K
// not a positive integer or D not positive.
Measure ParseMeasure(const std::string& text, const std::string& what = "--measure");

// The allowed spellings, for messages and `--help`.
const std::vector<std::string>& MeasureForms();

// The curves of one run that a measure reads. Pointers are to `evals` values;
// cost, match and entry may be null when the measure does not need them.
struct RunCurves {
  const double* y = nullptr;       // the metric
  const int64_t* steps = nullptr;  // /steps
  const double* cost = nullptr;    // sim_cost (auc_cost, cost_to)
  const double* match = nullptr;   // the match metric (at:T)
  const double* entry = nullptr;   // entry_step_binK (since_entry)
  int64_t evals = 0;
};

struct MeasureValue {
  double value = 0;        // NaN where undefined (see above)
  bool censored = false;   // threshold never reached
};

// The measure of one run. `higher_is_better` is the goal of the metric (true unless
// --goal min), not Measure::higher_is_better (the direction of the measure's value):
// it decides best (max or min), the direction of drawdown and collapses (a fall is a
// drop when higher is better, a rise otherwise) and of steps_to, cost_to and
// since_entry (>= T, or <= T for goal min). at:T always matches `match >= T`.
MeasureValue ComputeMeasure(const Measure& m, const RunCurves& c, bool higher_is_better);

// Divergence: the first eval at which a run's policy became non-finite, seen as
// any metric value that is +-inf, or an eval-kind metric (accuracy, entropy, ...:
// MetricKind::kEval in sim/metrics.h, always defined for a healthy run) that is NaN.
// Window, diagnostic and schedule metrics may be NaN legitimately and are not
// read for NaN; nor is an eval metric NaN at every eval of the run (an empty difficulty bin),
// unless every eval metric is (the policy diverged before eval 0: steps[0]).
// Metrics not in the table (unknown or newer) are read for inf only.
struct Divergence {
  bool diverged = false;
  int64_t step = -1;       // steps[i] of that eval; -1 when not diverged
};
Divergence FindDivergence(const Results& r, int64_t run);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_MEASURES_H_
