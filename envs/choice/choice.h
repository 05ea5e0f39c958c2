// `choice`: one-step multiple choice, the simplest reasoning task.
//
// P prompts, K answers each, exactly one correct. Prompt p has difficulty
// d_p = (p + 1/2) / P (ids are ordered easy -> hard) and its correct answer is
// drawn uniformly from the run's Philox stream (Purpose::kPool). The base-model
// prior gives the correct answer the initial log-odds
//     l(d) = easy_logit * (1 - d) + hard_logit * d
// against each wrong answer (wrong answers have logit 0), so the initial success
// probability is e^l / (e^l + K - 1).
//
// A response is one token (the chosen answer); reward 1 if correct, else 0. The
// tabular state of the decision is the prompt id. Exact oracle: the success
// probability of a prompt is pi(correct answer | prompt). The held evaluation set
// is the whole pool (a tabular policy cannot transfer between prompts, so held
// prompts would measure nothing); drift only moves the training distribution.
#ifndef ADVLAB_ENVS_CHOICE_CHOICE_H_
#define ADVLAB_ENVS_CHOICE_CHOICE_H_

#include <cstdint>
#include <vector>

#include "sim/drift.h"
#include "sim/task.h"

namespace advlab {

class ChoiceTask : public Task {
 public:
  ChoiceTask(const Config& config, uint64_t seed);

  int32_t num_prompts() const override { return num_prompts_; }
  int32_t num_states() const override { return num_prompts_; }
  int32_t num_actions() const override { return num_answers_; }
  int32_t max_length() const override { return 1; }
  double difficulty(int32_t prompt) const override {
    return (prompt + 0.5) / static_cast<double>(num_prompts_);
  }
  void InitialLogits(int32_t state, double* logits) const override;
  void DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const override;
  void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts, int count,
               int group_size, Batch* batch) const override;
  const std::vector<int32_t>& eval_prompts() const override { return eval_prompts_; }
  double SuccessProbability(Policy* policy, int32_t prompt) const override;
  int32_t FirstState(int32_t prompt) const override { return prompt; }

  int32_t answer(int32_t prompt) const { return answer_[prompt]; }
  const DriftSchedule& drift() const { return drift_; }

 private:
  int32_t num_prompts_;
  int32_t num_answers_;
  double easy_logit_;
  double hard_logit_;
  DriftSchedule drift_;
  std::vector<int32_t> answer_;        // [prompts] index of the correct answer
  std::vector<int32_t> eval_prompts_;  // [prompts] 0..P-1
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHOICE_CHOICE_H_
