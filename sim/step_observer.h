// StepObserver: what `advlab trace` (experiments/trace.h) sees of a training
// step, at four fixed points of Step (sim/loop.cc). Runs pass none (null). An
// observer may read the state and compute on its own scratch, but must leave
// every field the step goes on with as it found it, so a traced step has the
// bits of an untraced one (experiments/trace_test.cc checks it).
#ifndef ADVLAB_SIM_STEP_OBSERVER_H_
#define ADVLAB_SIM_STEP_OBSERVER_H_

#include "sim/run_config.h"
#include "sim/run_state.h"

namespace advlab {

class StepObserver {
 public:
  virtual ~StepObserver() = default;
  // The step's batch is sampled and prepared: st->batch holds the run's
  // advantages (kept flags, baselines), and with train.match_update
  // st->match_* the baseline's; no parameter has moved yet.
  virtual void Prepared(const RunConfig& rc, RunState* st) = 0;
  // Update `update` (0-based within the step) of groups [g0, g1): st->grad is
  // the minibatch's loss gradient before clipping, st->coef[t] the loss
  // coefficient of each of its tokens (sim/gradient.h).
  virtual void Gradient(const RunConfig& rc, RunState* st, int update, int g0, int g1) = 0;
  // The same update just before the optimizer step: st->grad is what the
  // optimizer gets (clipped, norm-matched), `applied` its norm.
  virtual void BeforeUpdate(const RunConfig& rc, RunState* st, int update, double applied) = 0;
  // Right after that optimizer step (the parameters moved).
  virtual void AfterUpdate(const RunConfig& rc, RunState* st, int update) = 0;
};

}  // namespace advlab

#endif  // ADVLAB_SIM_STEP_OBSERVER_H_
