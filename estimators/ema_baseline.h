// ema_baseline: REINFORCE with a running-mean (exponential moving average)
// baseline kept across training steps: the first stateful estimator.
//
//   per prompt p (scope prompt) or for the whole run (scope global), a baseline
//   b_p, created at the first group that answers p as that group's mean reward.
//   for each group g of the batch, in batch order, p = prompt[g]:
//     A_i  = R_i - b_p                              (b_p BEFORE this group's update)
//     b_p <- beta * b_p + (1 - beta) * mean(R_g)    (mean: GroupMean, index order)
//
// A prompt that appears twice in one batch is updated twice, in order, so its
// second group sees the baseline the first one left; in scope global every group
// sees the baseline the previous group left. beta = 0.9 by default (key
// estimator.ema_beta, in [0, 1)); estimator.ema_scope = prompt | global. The
// keys reach the estimator through Bind (the run's config); make() and the
// default constructor use the defaults.
//
// Citation: Williams (1992), "Simple statistical gradient-following algorithms
// for connectionist reinforcement learning", Machine Learning 8:229-256 (the
// reinforcement-comparison baseline, b <- beta b + (1 - beta) r); Sutton & Barto
// (2018), "Reinforcement Learning: An Introduction", 2nd ed., §2.8 and §13.4
// (REINFORCE with baseline). verl has no such estimator (its baselines are all
// within-batch, estimators.md §2); this is the classic control for them: a
// baseline from the past instead of from the sibling rollouts.
//
// All-correct / all-wrong groups: NOT zeroed once the baseline has history. An
// all-correct group of a prompt whose baseline is 0.6 gets A = 0.4 on every
// rollout (a push towards the responses, as the prompt got easier); the first
// group of a prompt gets A = R - mean(R_g), i.e. Dr. GRPO, so an all-equal first
// group gives exactly 0 for 0/1 rewards. Singletons: allowed (needs_groups =
// false); a singleton's first observation gives A = 0 (b = R), later ones
// A = R - b_p. Known biases: the baseline is independent of the current
// rollouts from a prompt's second group on, so the gradient is unbiased there;
// the first group uses its own mean (the Dr. GRPO (G-1)/G shrinkage, §11.1).
// The baseline lags the policy by about 1/(1 - beta) visits of the prompt, so
// a prompt whose success rate is rising gets advantages with a positive mean
// (extra variance, not gradient bias); in scope global it also mixes the
// difficulties of the prompts (a hard prompt's rollouts are pushed down by the
// easy prompts' baseline), a variance cost that per-prompt scope avoids.
//
// State: one double and a seen flag per prompt id, in vectors indexed by the
// prompt id (ids are [0, task.num_prompts())), grown on demand: no iteration
// over the state affects results, and a step allocates only when a larger
// prompt id than ever before appears. Deterministic given the sequence of
// batches; two calls on the same batch give different advantages by design.
#ifndef ADVLAB_ESTIMATORS_EMA_BASELINE_H_
#define ADVLAB_ESTIMATORS_EMA_BASELINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

enum class EmaScope { kPrompt, kGlobal };

class EmaBaselineEstimator : public Estimator {
 public:
  static constexpr double kDefaultBeta = 0.9;

  // The registered defaults: beta 0.9, one baseline per prompt.
  EmaBaselineEstimator() : EmaBaselineEstimator(kDefaultBeta, EmaScope::kPrompt) {}
  // beta in [0, 1) (checked; the key estimator.ema_beta validates user input).
  EmaBaselineEstimator(double beta, EmaScope scope);

  // Reads estimator.ema_beta and estimator.ema_scope from context.config when
  // it is set (training); unbound (advlab advantage) keeps the constructor's
  // values. Called once, before the first Compute (checked).
  void Bind(const EstimatorContext& context) override;
  std::unique_ptr<Estimator> Clone() const override {
    return std::make_unique<EmaBaselineEstimator>(*this);
  }
  void Compute(Batch* batch) override;

  // "prompt" or "global" (the values of estimator.ema_scope); UserError otherwise.
  static EmaScope ParseScope(const std::string& text);

  double beta() const { return beta_; }
  EmaScope scope() const { return scope_; }
  // Whether a baseline exists for `prompt` (any prompt in scope global), and its
  // value (requires HasBaseline).
  bool HasBaseline(int32_t prompt) const;
  double Baseline(int32_t prompt) const;

 private:
  size_t Slot(int32_t prompt) const;

  double beta_;
  EmaScope scope_;
  std::vector<double> baseline_;  // [slot] b_p
  std::vector<uint8_t> seen_;     // [slot] 1 once b_p exists
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_EMA_BASELINE_H_
