// `advlab trace`: one training step shown in full (issue 16, docs/trace.md).
//
// Replays a run to step T with the run's own code (InitRun and the schedule of
// TrainRun: the same steps, diagnosed steps and evals, so the same bits), then
// makes step T with a StepObserver (sim/step_observer.h) that records, without
// changing a bit of the run:
//   - the prompts drawn, their difficulty and exact success probability p under
//     the sampling policy;
//   - each group's rollouts: tokens, observed reward, correctness, length,
//     truncation;
//   - the advantages of the run's estimator and of each --estimator beside it
//     (extra estimators are "shadows": their own instances, fed every replayed
//     step's batch, so a stateful one has the state it would have had watching
//     this run), kept flags, baselines;
//   - the per-token loss coefficients of the first update (the run's loss and
//     aggregation: the gradient is sum_t coef_t grad log pi(token_t | state_t));
//   - every update's gradient norm, clipping, norm matching, and the parameter
//     change of the first update (and of the whole step) on the touched
//     parameters;
//   - against the exact gradient of the training objective J at the sampling
//     parameters: each estimator's batch gradient g_hat (the ascent direction
//     of its loss on the whole batch) as cosine and relative error, and the
//     cosine of the step's actual parameter change (the grad_cosine metric's
//     quantity, bit for bit).
// Human-readable by default; --json gives every number with all digits.
#ifndef ADVLAB_EXPERIMENTS_TRACE_H_
#define ADVLAB_EXPERIMENTS_TRACE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sim/run_config.h"

namespace advlab {

extern const char kTraceArgs[];
extern const char kTraceUsage[];

struct TraceOptions {
  int64_t step = 0;                     // the step shown (0-based; < train.steps)
  std::vector<std::string> estimators;  // shown beside the run's (shadows)
  // The groups shown (batch slots, 0-based, in order); empty: the first
  // `prompts` groups (all with --json).
  std::vector<int> groups;
  int prompts = 4;
  bool json = false;
};

// One rollout of a traced batch.
struct TraceRollout {
  std::vector<int32_t> tokens;  // action ids
  std::vector<int32_t> states;  // tabular decision state of each token
  double reward = 0.0;          // observed (verifier noise included)
  bool correct = false;
  bool truncated = false;
  std::vector<double> advantage;  // [estimators] (0: the run's)
  bool kept = true;               // the run's filter
  double baseline = 0.0;          // the run's b_r (NaN: none)
  double control = 0.0;           // train.match_update's advantage (NaN: off)
  // Loss coefficient of each token in the first update (empty: the rollout is
  // not in its minibatch).
  std::vector<double> coef;
};

struct TraceGroup {
  int slot = 0;         // index in the batch
  int32_t prompt = 0;   // id in the task's pool
  double difficulty = 0.0;
  int bin = 0;          // difficulty bin (metrics accuracy_binK)
  double p = 0.0;       // exact success probability under the sampling policy
  std::vector<TraceRollout> rollouts;
  // Each modifier of the run's chain whose input and output columns are both
  // shown (the default columns): its factor on the group's advantages, the
  // ratio of the two columns (NaN when the input is all 0 or the ratio varies
  // within the group, as it never does for a per-group weight).
  std::vector<std::string> modifiers;
  std::vector<double> weights;
};

// One optimizer step of the traced training step.
struct TraceUpdate {
  int g0 = 0, g1 = 0;        // its groups [g0, g1)
  double grad_norm = 0.0;    // |loss gradient| before clipping
  double applied = 0.0;      // the norm the optimizer got
  double update_norm = 0.0;  // |parameter change|
};

// A parameter the first update touched.
struct TraceParam {
  int64_t index = 0;
  int32_t state = -1, action = -1;  // tabular: the (state, action) of the logit; else -1
  double before = 0.0;              // value before the step
  double g_hat = 0.0;               // run's batch ascent direction (minus the loss gradient)
  double exact = 0.0;               // grad J
  double delta = 0.0;               // change by the first update
};

struct TraceEstimator {
  std::string name;
  bool run = false;          // the run's own estimator
  double cosine = 0.0;       // cos(g_hat, grad J), NaN when either is 0
  double rel_err = 0.0;      // |g_hat - grad J|^2 / |grad J|^2
  double norm = 0.0;         // |g_hat|
};

struct StepTrace {
  int64_t step = 0;
  int64_t steps = 0;      // train.steps
  std::string summary;    // the run's main keys, one line
  int num_groups = 0, num_rollouts = 0, num_tokens = 0;
  double exact_norm = 0.0;                  // |grad J|
  std::vector<TraceEstimator> estimators;   // [0]: the run's
  std::vector<TraceGroup> groups;           // the groups asked for
  std::vector<TraceUpdate> updates;         // every optimizer step of the step
  std::vector<TraceParam> params;           // touched by the first update, index order
  int64_t num_params = 0;
  double first_cosine = 0.0;  // cos(change by the first update, grad J)
  double step_cosine = 0.0;   // cos(change by the whole step, grad J): grad_cosine's quantity
  std::vector<double> params_after;  // every parameter after the step (tests)
};

// Plans (every check before the replay: UserError, one line) and traces.
StepTrace TraceStep(const RunConfig& rc, const TraceOptions& options);

void PrintTrace(const StepTrace& trace, std::ostream& out);
void PrintTraceJson(const StepTrace& trace, std::ostream& out);

// `advlab trace ARGS`: exit status (errors as UserError).
int TraceCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_TRACE_H_
