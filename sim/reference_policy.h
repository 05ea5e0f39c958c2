// ReferencePolicy: the frozen initial policy pi_0 (the "reference model" of
// LLM RL), softmax(task.InitialLogits(state)).
//
// Every policy kind starts exactly at the task's prior (tabular: logits =
// InitialLogits; MLP: a residual on the prior whose output layer starts at 0),
// and all of them use the one Softmax of sim/softmax.h, so pi_0 here is the
// run's initial policy bit for bit. It serves the KL regulariser (log pi_ref of
// each token) and AAPO's reference rollouts (Task::Rollout samples from it like
// from any policy). Its logits are the prior's, tabulated at construction; the
// distributions are computed on first use and cached per state (TabularRows, so
// step functions sample from it with no virtual call).
#ifndef ADVLAB_SIM_REFERENCE_POLICY_H_
#define ADVLAB_SIM_REFERENCE_POLICY_H_

#include <cstdint>
#include <vector>

#include "sim/check.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"
#include "sim/softmax.h"
#include "sim/task.h"

namespace advlab {

class ReferencePolicy final : public Policy {
 public:
  explicit ReferencePolicy(const Task& task)
      : num_actions_(task.num_actions()),
        logits_(static_cast<size_t>(task.num_states()) * task.num_actions(), 0.0),
        probs_(logits_.size(), 0.0),
        logprobs_(logits_.size(), 0.0),
        fresh_(task.num_states(), 0) {
    for (int32_t s = 0; s < task.num_states(); ++s) {
      task.InitialLogits(s, logits_.data() + static_cast<int64_t>(s) * num_actions_);
    }
    rows_.logits = logits_.data();
    rows_.probs = probs_.data();
    rows_.logprobs = logprobs_.data();
    rows_.fresh = fresh_.data();
    rows_.num_actions = num_actions_;
  }
  ReferencePolicy(const ReferencePolicy&) = delete;
  ReferencePolicy& operator=(const ReferencePolicy&) = delete;

  int num_actions() const override { return num_actions_; }
  int64_t num_params() const override { return 0; }
  int64_t grad_block_size() const override { return 1; }
  double* params() override { return nullptr; }
  const double* params() const override { return nullptr; }

  const double* Probs(int32_t state) override { return rows_.Probs(state); }
  const double* LogProbs(int32_t state) override { return rows_.LogProbs(state); }
  TabularRows* tabular_rows() override { return &rows_; }
  double Entropy(int32_t state) override {
    return RowEntropy(rows_.Probs(state), rows_.LogProbs(state), num_actions_);
  }
  // The reference is frozen: it has no parameters to differentiate or update.
  void AccumulateGradRange(const Batch&, const double*, int, int, SparseGrad*) override {
    ADVLAB_CHECK(false && "ReferencePolicy is frozen");
  }
  void ParamsChanged() override {}
  void BlocksChanged(const SparseGrad&) override {}

 private:
  int num_actions_;
  std::vector<double> logits_;    // [states x actions] the prior's logits
  std::vector<double> probs_;     // [states x actions], valid where fresh_
  std::vector<double> logprobs_;  // [states x actions]
  std::vector<uint8_t> fresh_;    // [states]
  TabularRows rows_;              // pointers into the vectors above
};

}  // namespace advlab

#endif  // ADVLAB_SIM_REFERENCE_POLICY_H_
