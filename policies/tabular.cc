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
      listed_(num_states, 0) {
  states_.reserve(num_states);  // each state at most once: a warm step never grows it
}

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
  double h = 0.0;
  for (int k = 0; k < num_actions_; ++k) h -= p[k] * lp[k];
  return h;
}

// d log pi(a | s) / d z_s = e_a - pi_s: the e_a parts go in token order here,
// and each row's -(sum of its coefficients) pi_s once in FinishGrad, so the
// arithmetic is the same however the tokens are split into ranges.
void TabularPolicy::AccumulateGradRange(const Batch& batch, const double* coef, int begin,
                                        int end, SparseGrad* grad) {
  ADVLAB_CHECK_EQ(grad->block_size, static_cast<int64_t>(num_actions_));
  for (int t = begin; t < end; ++t) {
    const double c = coef[t];
    if (c == 0.0) continue;  // contributes exactly zero
    const int32_t s = batch.state[t];
    if (!listed_[s]) {
      listed_[s] = 1;
      states_.push_back(s);
    }
    double* g = grad->Touch(s);
    g[batch.token[t]] += c;
    coef_sum_[s] += c;
  }
}

void TabularPolicy::FinishGrad(SparseGrad* grad) {
  for (int32_t s : states_) {
    const double* p = Probs(s);
    double* g = grad->value.data() + Row(s);
    const double c = coef_sum_[s];
    for (int k = 0; k < num_actions_; ++k) g[k] -= c * p[k];
    coef_sum_[s] = 0.0;
    listed_[s] = 0;
  }
  states_.clear();
}

void TabularPolicy::ParamsChanged() {
  for (auto& f : fresh_) f = 0;
}

void TabularPolicy::BlocksChanged(const SparseGrad& changed) {
  for (int32_t s : changed.touched) fresh_[s] = 0;
}

ADVLAB_REGISTER_POLICY(
    tabular, .name = "tabular",
    .description = "tabular softmax: one row of logits per decision state, initialised from "
                   "the task's prior",
    .make = [](const Config&, const Task& task) -> std::unique_ptr<Policy> {
      return std::make_unique<TabularPolicy>(TabularPolicy::FromTask(task));
    });

}  // namespace advlab
