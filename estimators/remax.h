// remax: ReMax, the reward of the greedy response as the baseline.
//
//   A_i = R_i - b(q),   b(q) = R(y_greedy(q))
//
// where y_greedy is the response that takes the most probable action at every
// decision (Task::GreedyReward), decoded once per prompt per step through the
// sampling hook (SampleExtra; the loop's sampler decodes it)
// (it counts in the sampling cost) and scored noise-free with the task's reward;
// no normalisation. With a KL reward (batch->token_reward non-empty) the
// advantage is token-level, the undiscounted reward-to-go minus the baseline:
//
//   A_{i,t} = ret_{i,t} - b(q),   ret_{i,t} = sum_{t' >= t} r_{i,t'}
//           = R_i - sum_{t' < t} token_reward[t']   (prefix summed in token order)
//
// since the outcome sits on the last token and R_i holds every token's reward;
// batch->token_advantage gets A_{i,t} and advantage[i] = A_{i,0} = R_i - b(q).
// Without token_reward, token_advantage is left empty (A_i on every token).
//
// Citations: Li et al. (2023), "ReMax: A Simple, Effective, and Efficient
// Reinforcement Learning Method for Aligning Large Language Models", arXiv
// 2310.10505. Code: verl core_algos.py compute_remax_outcome_advantage at
// b178a3cd (γ ignored); estimators.md §2.9, §12.1 (last row), §12.8.
//
// All-correct / all-wrong groups: 0 only when the greedy response agrees (b = 1
// on an all-correct group, b = 0 on an all-wrong one). A failing greedy response
// on an all-correct group gives every rollout +1 (the sampled answers beat the
// mode: pushed up), a correct greedy response on an all-wrong group gives -1 to
// all. Unbiased: b depends on the policy and the prompt, never on the sampled
// responses. Singletons: fine (no group statistics; needs_groups = false).
// The greedy rewards must be one finite value per group: planning guarantees it
// (in training the loop's sampler decodes one per group and every registered
// task family decodes greedily; `advlab advantage` requires --greedy FILE with
// one finite value per group); the step only checks it. The step on plain
// arrays: estimators/remax_step.h.
#ifndef ADVLAB_ESTIMATORS_REMAX_H_
#define ADVLAB_ESTIMATORS_REMAX_H_

#include <vector>

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class RemaxEstimator : public Estimator {
 public:
  // Draws the greedy responses' rewards of `batch` (one per group).
  void SampleExtra(Sampler* sampler, const Batch& batch) override {
    sampler->GreedyRewards(batch, &greedy_reward_);
  }
  void Compute(Batch* batch) override;

 private:
  std::vector<double> greedy_reward_;  // [groups] of the last SampleExtra
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REMAX_H_
