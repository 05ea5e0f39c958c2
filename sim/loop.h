// The training loop (DESIGN §2): one run = one config + one seed.
//
// RunConfig (sim/run_config.h) is immutable; RunState (sim/run_state.h) holds
// everything a step mutates. Each step t, one file per concern:
//   1. draw B training prompts from the task's drifting distribution
//   2. G rollouts per prompt from the current (old) policy, rewarded, plus the
//      extra sampling an estimator asks for             sim/sample_batch.h
//   3. the KL penalty enters the reward (kl.where = reward), then the estimator
//      turns rewards into advantages                     sim/gradient.h
//   4. train.epochs x train.minibatches updates (pg: one): the loss gradient of
//      each minibatch (train.loss, KL loss, entropy bonus, aggregation,
//      micro-batches), clipping, one optimizer step      sim/gradient.h, here
//   5. the step's statistics and simulated cost enter the metric window
//                                                        sim/metrics.h, sim/cost.h
//   6. every eval_every steps: metrics from the exact oracle (here), with the
//      exact-gradient diagnostics on the step before    sim/diagnostics.h
// Verifier noise (env.false_positive / env.false_negative) flips observed rewards
// in step 2; batch.correct keeps the truth.
#ifndef ADVLAB_SIM_LOOP_H_
#define ADVLAB_SIM_LOOP_H_

#include <cstdint>
#include <vector>

#include "sim/cost.h"
#include "sim/diagnostics.h"
#include "sim/gradient.h"
#include "sim/metrics.h"
#include "sim/run_config.h"
#include "sim/run_state.h"
#include "sim/sample_batch.h"

namespace advlab {

class StepObserver;

// Builds the task, policy, optimizer, estimator and loss for a run.
void InitRun(const RunConfig& rc, RunState* state);
// One training step; `observer` (advlab trace; null in runs) sees it at fixed
// points (sim/step_observer.h).
void Step(const RunConfig& rc, RunState* state, StepObserver* observer = nullptr);
// Metrics at the current step, one value per MetricNames() entry; starts the
// next metric window.
void Evaluate(const RunConfig& rc, RunState* state, double* metrics);

struct RunRecord {
  std::vector<double> values;  // [metrics x evals], row-major
};
// The run's schedule from where `state` is until state->step == stop (stop <=
// train.steps): Steps (the step before an eval point diagnosed when
// diagnostics.exact_gradient is on) and Evaluate at every eval point reached,
// the one at `stop` included, each written to `record` when it is not null
// (sized metrics x evals). A run split into several calls makes the same
// bits as one call: `advlab trace` replays to a step this way.
void AdvanceRun(const RunConfig& rc, RunState* state, int64_t stop, RunRecord* record,
                StepObserver* observer = nullptr);
// A whole run: InitRun, then AdvanceRun to train.steps.
RunRecord TrainRun(const RunConfig& rc);

}  // namespace advlab

#endif  // ADVLAB_SIM_LOOP_H_
