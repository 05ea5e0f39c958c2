// Tabular softmax policy: one row of logits per decision state,
//     pi(a | s) = exp(z[s, a]) / sum_b exp(z[s, b]),
// initialised from the task's base-model prior (Task::InitialLogits).
//
// Gradient of sum_t c_t log pi(a_t | s_t) with respect to row s (analytic):
//     g[s, k] = sum_{t: s_t = s} c_t [a_t = k]  -  (sum_{t: s_t = s} c_t) pi(k | s)
// accumulated in token order, the second term applied once per state. Rows of
// states absent from the batch are untouched (SparseGrad).
//
// Distributions are cached per row and recomputed only when the row changed.
// The gradient and the staleness marks are the host/device step functions of
// policies/tabular_step.h, called here over the policy's arrays.
#ifndef ADVLAB_POLICIES_TABULAR_H_
#define ADVLAB_POLICIES_TABULAR_H_

#include <cstdint>
#include <vector>

#include "policies/tabular_step.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"

namespace advlab {

class TabularPolicy : public Policy {
 public:
  TabularPolicy(int32_t num_states, int32_t num_actions);
  // Logits from the task's prior.
  static TabularPolicy FromTask(const Task& task);

  int num_actions() const override { return num_actions_; }
  int64_t num_params() const override { return static_cast<int64_t>(logits_.size()); }
  int64_t grad_block_size() const override { return num_actions_; }
  double* params() override { return logits_.data(); }
  const double* params() const override { return logits_.data(); }

  const double* Probs(int32_t state) override { return Rows().Probs(state); }
  const double* LogProbs(int32_t state) override { return Rows().LogProbs(state); }
  TabularRows* tabular_rows() override { return &Rows(); }
  double Entropy(int32_t state) override;
  void AccumulateGradRange(const Batch& batch, const double* coef, int begin, int end,
                           SparseGrad* grad) override;
  void FinishGrad(SparseGrad* grad) override;
  void ParamsChanged() override;
  void BlocksChanged(const SparseGrad& changed) override;

 private:
  int64_t Row(int32_t state) const { return static_cast<int64_t>(state) * num_actions_; }
  // The plain-data view of the tables (re-pointed on each call: the policy may
  // have been moved since the last).
  TabularRows& Rows() {
    rows_.logits = logits_.data();
    rows_.probs = probs_.data();
    rows_.logprobs = logprobs_.data();
    rows_.fresh = fresh_.data();
    rows_.num_actions = num_actions_;
    return rows_;
  }
  // The plain-data view of the gradient scratch (count: num_pending_).
  TabularGradScratch Scratch() {
    TabularGradScratch s;
    s.coef_sum = coef_sum_.data();
    s.listed = listed_.data();
    s.states = states_.data();
    s.num_states = num_pending_;
    return s;
  }

  int32_t num_actions_;
  std::vector<double> logits_;     // [states x actions] parameters z
  std::vector<double> probs_;      // [states x actions] cached pi(. | s)
  std::vector<double> logprobs_;   // [states x actions] cached log pi(. | s)
  std::vector<uint8_t> fresh_;     // [states] 1 if the cached row matches logits_
  std::vector<double> coef_sum_;   // [states] scratch: sum of coefficients per state
  std::vector<uint8_t> listed_;    // [states] scratch: 1 if in states_
  std::vector<int32_t> states_;    // [states] scratch: states with pending rows (until
                                   //   FinishGrad), the first num_pending_ valid
  int32_t num_pending_ = 0;
  TabularRows rows_;               // Rows(): pointers into the vectors above
};

}  // namespace advlab

#endif  // ADVLAB_POLICIES_TABULAR_H_
