// Test and benchmark helpers for policies (never linked into the tool).
#ifndef ADVLAB_POLICIES_TESTING_H_
#define ADVLAB_POLICIES_TESTING_H_

#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

#include "sim/batch.h"
#include "sim/task.h"

namespace advlab::test_util {

// A task that has only what a policy reads: states, actions, a prior and feature
// vectors, given by two functions of the state. Constructed directly, never
// registered; the task-side methods a policy never calls abort.
class PolicyOnlyTask : public Task {
 public:
  using FeatureFn = std::function<void(int32_t state, double* out)>;
  using PriorFn = std::function<void(int32_t state, double* logits)>;
  PolicyOnlyTask(int32_t states, int32_t actions, int32_t features, FeatureFn features_fn,
                 PriorFn prior_fn)
      : states_(states),
        actions_(actions),
        features_(features),
        features_fn_(std::move(features_fn)),
        prior_fn_(std::move(prior_fn)) {}

  int32_t num_prompts() const override { return states_; }
  int32_t num_states() const override { return states_; }
  int32_t num_actions() const override { return actions_; }
  int32_t max_length() const override { return 1; }
  double difficulty(int32_t) const override { return 0.5; }
  void InitialLogits(int32_t state, double* logits) const override { prior_fn_(state, logits); }
  int32_t feature_dim() const override { return features_; }
  void Features(int32_t state, double* out) const override { features_fn_(state, out); }
  void Advance(int64_t) override {}
  void DrawPrompts(int64_t, const Philox&, int, int32_t*) const override { std::abort(); }
  void TrainingDistribution(std::vector<int32_t>*, std::vector<double>*) const override {
    std::abort();
  }
  void Rollout(int64_t, const Philox&, Policy*, const int32_t*, int, int, Batch*) const override {
    std::abort();
  }
  const std::vector<int32_t>& eval_prompts() const override { return eval_; }
  double SuccessProbability(Policy*, int32_t) const override { std::abort(); }
  void SuccessGradientTerms(Policy*, int32_t, double, GradientTerms*) const override {
    std::abort();
  }
  int32_t FirstState(int32_t prompt) const override { return prompt; }

 private:
  int32_t states_, actions_, features_;
  FeatureFn features_fn_;
  PriorFn prior_fn_;
  std::vector<int32_t> eval_;
};

// A batch of one-token rollouts with the given (state, token) pairs.
inline Batch MakeTokenBatch(const std::vector<std::pair<int, int>>& state_token) {
  Batch b;
  b.Clear();
  for (auto [s, a] : state_token) {
    b.state.push_back(s);
    b.token.push_back(a);
    b.logprob.push_back(0);
    b.token_begin.push_back(static_cast<int32_t>(b.token.size()));
  }
  return b;
}

}  // namespace advlab::test_util

#endif  // ADVLAB_POLICIES_TESTING_H_
