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
#ifndef ADVLAB_ENVS_CHOICE_CHOICE_H_
#define ADVLAB_ENVS_CHOICE_CHOICE_H_

#include <cstdint>
#include <vector>

#include "envs/pool.h"

namespace advlab {

class ChoiceTask : public PoolTask {
 public:
  ChoiceTask(const Config& config, uint64_t seed);

  int32_t num_states() const override { return num_prompts(); }
  int32_t num_actions() const override { return num_answers_; }
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

  // The correct answer of a prompt at the current step.
  int32_t answer(int32_t prompt) const;

 private:
  int32_t num_answers_;
  double easy_logit_;
  double hard_logit_;
  std::vector<int32_t> answer_;        // [prompts] version-0 correct answer
  std::vector<int32_t> eval_prompts_;  // [prompts] 0..P-1
  mutable std::vector<double> cdf_scratch_;  // Rollout: one padded CDF row, reused
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHOICE_CHOICE_H_
