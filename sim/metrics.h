// The metrics of a run: one table (kMetrics in metrics.cc) gives each metric's
// name, unit, kind, one-line doc and how it accumulates. The HDF5 schema
// (/metrics/<name>, in table order), `advlab list metrics` and docs/metrics.md
// all come from it (a test checks the docs against it). A new metric is one
// table row (plus a StepStats/EvalPoint field when it needs a new count).
#ifndef ADVLAB_SIM_METRICS_H_
#define ADVLAB_SIM_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/step_stats.h"

namespace advlab {

enum class MetricKind {
  kEval,        // measured at the eval point (exact oracle or the current policy)
  kDiagnostic,  // measured on the step before the eval point (the exact-gradient
                // diagnostics; baseline_rmse): NaN at step 0, never a divergence
  kWindowMean,  // sum num / sum den over the steps since the previous eval; NaN with no step
  kWindowRatio, // the same, NaN when the summed denominator is 0
  kCumulative,  // sum of num over every step since step 0
  kSchedule,    // what the training schedule had done by the eval point (not the
                // policy): NaN before it happened, which is no divergence
};

// What a step leaves for the window metrics.
struct StepView {
  const Batch& batch;             // the step's batch (after training)
  const StepStats& stats;         // its statistics, over all updates
  const SamplingStats& sampling;  // what sampling took
  double cost;                    // its simulated compute cost (sim/cost.h)
};

// What an eval point measures (NaN where undefined: an empty bin, diagnostics off).
struct EvalPoint {
  double accuracy = 0.0;        // mean exact success probability over the eval prompts
  double accuracy_bin[4] = {};  // the same per difficulty bin
  double pass_at_k = 0.0;       // mean 1 - (1 - p)^k
  double entropy = 0.0;         // mean policy entropy at the first decision (nats)
  double kl_init = 0.0;         // mean KL(pi || pi_0) over whole responses (nats)
  double train_accuracy = 0.0;  // exact success on the current training distribution
  double grad_cosine = 0.0, grad_rel_err = 0.0, grad_var = 0.0;  // diagnostics
  double grad_mean_cosine = 0.0, grad_fit_err = 0.0;                // direction-only bias
  double entry_step_bin[4] = {};  // step each bin last entered training (NaN: not yet)
  double update_share_bin[4] = {};  // diagnostics: each bin's share of the mean g_hat
  double exact_share_bin[4] = {};   // ... and of the exact gradient
  double baseline_rmse = 0.0;
  double grad_var_ratio = 0.0;      // diagnostics: grad_var over the optimal baseline's       // the estimator's baseline against E[R | q] (reward units)
};

struct MetricSpec {
  const char* name;
  const char* unit;
  MetricKind kind;
  const char* doc;  // one line
  double (*num)(const StepView&);  // window and cumulative kinds: per-step numerator
  double (*den)(const StepView&);  // window kinds: per-step denominator
  double (*at_eval)(const EvalPoint&);  // eval and diagnostic kinds
};

// The table, in results-file order.
const std::vector<MetricSpec>& Metrics();
// Names of the per-eval metrics, in the order of RunRecord rows.
const std::vector<std::string>& MetricNames();
const char* MetricKindName(MetricKind kind);
// The row of metric `name` in MetricNames() (and a RunRecord), or -1.
int MetricIndex(const std::string& name);

// The window and cumulative sums of a run.
class MetricAccumulator {
 public:
  MetricAccumulator();
  void AddStep(const StepView& step);
  // Every metric's value at an eval point, into out[Metrics().size()]; starts
  // the next window.
  void Finish(const EvalPoint& eval, double* out);

 private:
  std::vector<double> num_, den_;  // [metrics]
  int64_t steps_ = 0;              // steps in the current window
};

}  // namespace advlab

#endif  // ADVLAB_SIM_METRICS_H_
