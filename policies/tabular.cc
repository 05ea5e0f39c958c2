#include "policies/tabular.h"

#include <memory>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/softmax.h"
#include "sim/task.h"

namespace advlab {

TabularPolicy::TabularPolicy(int32_t num_states, int32_t num_actions)
    : num_actions_(num_actions),
      logits_(static_cast<size_t>(num_states) * num_actions, 0.0),
      probs_(logits_.size(), 0.0),
      logprobs_(logits_.size(), 0.0),
      fresh_(num_states, 0),
      coef_sum_(num_states, 0.0),
      listed_(num_states, 0),
      states_(num_states, 0) {}  // each state at most once: a step never grows it

TabularPolicy TabularPolicy::FromTask(const Task& task) {
  TabularPolicy policy(task.num_states(), task.num_actions());
  for (int32_t s = 0; s < task.num_states(); ++s) {
    task.InitialLogits(s, policy.logits_.data() + policy.Row(s));
  }
  return policy;
}

double TabularPolicy::Entropy(int32_t state) {
  const double* p = Rows().Probs(state);
  const double* lp = Rows().LogProbs(state);
  return RowEntropy(p, lp, num_actions_);
}

// d log pi(a | s) / d z_s = e_a - pi_s: the e_a parts go in token order here,
// and each row's -(sum of its coefficients) pi_s once in FinishGrad, so the
// arithmetic is the same however the tokens are split into ranges.
void TabularPolicy::AccumulateGradRange(const Batch& batch, const double* coef, int begin,
                                        int end, SparseGrad* grad) {
  ADVLAB_CHECK_EQ(grad->block_size, static_cast<int64_t>(num_actions_));
  TabularGradScratch scratch = Scratch();
  SparseGradView g = grad->View();
  TabularAccumulateGradRange(batch.state.data(), batch.token.data(), coef, begin, end, &scratch,
                             &g);
  num_pending_ = scratch.num_states;
  grad->SetNumTouched(g.num_touched);
}

void TabularPolicy::FinishGrad(SparseGrad* grad) {
  TabularGradScratch scratch = Scratch();
  SparseGradView g = grad->View();
  TabularFinishGrad(&Rows(), &scratch, &g);
  num_pending_ = scratch.num_states;
}

void TabularPolicy::ParamsChanged() {
  TabularMarkAllStale(fresh_.data(), static_cast<int32_t>(fresh_.size()));
}

void TabularPolicy::BlocksChanged(const SparseGrad& changed) {
  TabularMarkStale(changed.View(), fresh_.data());
}

ADVLAB_REGISTER_POLICY(
    tabular, .name = "tabular",
    .description = "tabular softmax: one row of logits per decision state, initialised from "
                   "the task's prior",
    .make = [](const Config&, const Task& task) -> std::unique_ptr<Policy> {
      return std::make_unique<TabularPolicy>(TabularPolicy::FromTask(task));
    });

}  // namespace advlab
