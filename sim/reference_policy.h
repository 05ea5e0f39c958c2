// ReferencePolicy: the frozen initial policy pi_0 (the "reference model" of
// LLM RL), softmax(task.InitialLogits(state)).
//
// Every policy kind starts exactly at the task's prior (tabular: logits =
// InitialLogits; MLP: a residual on the prior whose output layer starts at 0),
// and all of them use the one Softmax of sim/softmax.h, so pi_0 here is the
// run's initial policy bit for bit. It serves the KL regulariser (log pi_ref of
// each token) and AAPO's reference rollouts (Task::Rollout samples from it like
// from any policy). Distributions are computed on first use and cached per state.
#ifndef ADVLAB_SIM_REFERENCE_POLICY_H_
#define ADVLAB_SIM_REFERENCE_POLICY_H_

#include <cstdint>
#include <vector>

#include "sim/check.h"
#include "sim/policy.h"
#include "sim/softmax.h"
#include "sim/task.h"

namespace advlab {

class ReferencePolicy final : public Policy {
 public:
  explicit ReferencePolicy(const Task& task)
      : task_(task),
        num_actions_(task.num_actions()),
        probs_(static_cast<size_t>(task.num_states()) * task.num_actions(), 0.0),
        logprobs_(probs_.size(), 0.0),
        filled_(task.num_states(), 0),
        logits_(task.num_actions(), 0.0) {}

  int num_actions() const override { return num_actions_; }
  int64_t num_params() const override { return 0; }
  int64_t grad_block_size() const override { return 1; }
  double* params() override { return nullptr; }
  const double* params() const override { return nullptr; }

  const double* Probs(int32_t state) override { return probs_.data() + Row(state); }
  const double* LogProbs(int32_t state) override { return logprobs_.data() + Row(state); }
  double Entropy(int32_t state) override {
    const int64_t row = Row(state);
    double h = 0.0;
    for (int a = 0; a < num_actions_; ++a) h -= probs_[row + a] * logprobs_[row + a];
    return h;
  }
  // The reference is frozen: it has no parameters to differentiate or update.
  void AccumulateGradRange(const Batch&, const double*, int, int, SparseGrad*) override {
    ADVLAB_CHECK(false && "ReferencePolicy is frozen");
  }
  void ParamsChanged() override {}
  void BlocksChanged(const SparseGrad&) override {}

 private:
  int64_t Row(int32_t state) {
    const int64_t row = static_cast<int64_t>(state) * num_actions_;
    if (!filled_[state]) {
      task_.InitialLogits(state, logits_.data());
      Softmax(logits_.data(), num_actions_, probs_.data() + row, logprobs_.data() + row);
      filled_[state] = 1;
    }
    return row;
  }

  const Task& task_;
  int num_actions_;
  std::vector<double> probs_;     // [states x actions], valid where filled_
  std::vector<double> logprobs_;  // [states x actions]
  std::vector<uint8_t> filled_;   // [states]
  std::vector<double> logits_;    // scratch [actions]
};

}  // namespace advlab

#endif  // ADVLAB_SIM_REFERENCE_POLICY_H_
