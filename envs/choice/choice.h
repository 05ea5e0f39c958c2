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
// tabular state of the decision is the prompt id; its MLP features are the
// one-hot prompt id (P values). Exact oracle: the success probability of a prompt
// is pi(correct answer | prompt), and its gradient is the single term
// pi(correct) * grad log pi(correct | prompt). The held evaluation set is the
// whole pool (a tabular policy cannot transfer between prompts, so held prompts
// would measure nothing); drift only moves the training distribution. With
// env.answer_rate > 0 an answer's version v > 0 is redrawn from (kPool,
// {prompt, v, 2}); the prior keeps the version-0 answer.
//
// Greedy decoding (ReMax's baseline): the most probable answer (lowest id on
// ties), reward 1 iff it is the current answer; length 1.
//
// The model is plain data (ChoiceModel, envs/choice/choice_step.h) whose
// tables (the pool's answer phases, the version-0 answers) live in one arena;
// the step functions there are host/device. ChoiceTask's methods adapt the
// virtual interface to them: one WithRows dispatch per call.
#ifndef ADVLAB_ENVS_CHOICE_CHOICE_H_
#define ADVLAB_ENVS_CHOICE_CHOICE_H_

#include <cstdint>
#include <vector>

#include "envs/choice/choice_step.h"
#include "envs/pool.h"
#include "sim/arena.h"

namespace advlab {

class ChoiceTask : public PoolTask {
 public:
  ChoiceTask(const Config& config, uint64_t seed);

  int32_t num_states() const override { return num_prompts(); }
  int32_t num_actions() const override { return model_.num_answers; }
  int32_t max_length() const override { return 1; }
  double difficulty(int32_t prompt) const override {
    return (prompt + 0.5) / static_cast<double>(num_prompts());
  }
  void InitialLogits(int32_t state, double* logits) const override;
  int32_t feature_dim() const override { return num_prompts(); }
  void Features(int32_t state, double* out) const override;
  void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts, int count,
               int group_size, Batch* batch) const override;
  const std::vector<int32_t>& eval_prompts() const override { return eval_prompts_; }
  double SuccessProbability(Policy* policy, int32_t prompt) const override;
  void SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                            GradientTerms* out) const override;
  int32_t FirstState(int32_t prompt) const override { return prompt; }
  double GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const override;
  // The answer is the one token: the entropy of the first (only) decision,
  // RowEntropy at FirstState (index order, in-house log). Max log K.
  double AnswerEntropy(Policy* policy, int32_t prompt) const override;
  double OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                         double false_negative) const override;

  // The correct answer of a prompt at the current step.
  int32_t answer(int32_t prompt) const {
    return ChoiceAnswer(model_, current_step(), prompt);
  }
  // The plain-data model (points into the task's arena).
  const ChoiceModel& model() const { return model_; }

 private:
  Arena arena_;                        // every table of model_
  ChoiceModel model_;
  std::vector<int32_t> eval_prompts_;  // [prompts] 0..P-1
  // Rollout: one padded CDF row (model_.cdf_pad), sized at construction (a task
  // serves one run, on one thread).
  mutable std::vector<double> cdf_scratch_;
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHOICE_CHOICE_H_
