// Task: one instance of a task family (prompt pool, response model, verifier,
// drift schedule, exact oracle), built once per run from (config, seed). Its only
// mutable state is the drift position, set by Advance(step): a pure function of
// (config, seed, step) -- and, for what depends on the training history (the
// accuracy curriculum's stage, the bins' entry steps), of the steps the loop
// moved it through with AdvanceTraining. Families live in envs/<family>/ and
// register by name.
#ifndef ADVLAB_SIM_TASK_H_
#define ADVLAB_SIM_TASK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/policy_rows.h"
#include "sim/registry.h"
#include "sim/rng.h"

namespace advlab {

class Config;

inline constexpr int kDifficultyBins = 4;  // metrics accuracy_bin0..3

// Terms of an exact policy gradient: sum_i coef[i] * grad log pi(action_i |
// state_i). Policies turn them into parameter gradients with AccumulateGrad, so
// one oracle serves every policy kind. Only batch.token, batch.state and
// batch.token_begin are used.
struct GradientTerms {
  Batch batch;
  std::vector<double> coef;
  void Clear() {
    batch.Clear();
    coef.clear();
  }
  void Add(int32_t state, int32_t action, double c) {
    batch.state.push_back(state);
    batch.token.push_back(action);
    batch.token_begin.push_back(static_cast<int32_t>(batch.token.size()));
    coef.push_back(c);
  }
};

// Sum of squares of a distribution p[0..K), in index order: the part of
// |grad_z log softmax(z)_a|^2 = 1 - 2 p_a + sum_b p_b^2 that does not depend
// on the action (the score of one softmax decision w.r.t. its logits).
inline double SumOfSquares(const double* p, int32_t k) {
  double s = 0.0;
  for (int32_t b = 0; b < k; ++b) s += p[b] * p[b];
  return s;
}

class Task {
 public:
  virtual ~Task() = default;

  virtual int32_t num_prompts() const = 0;
  virtual int32_t num_states() const = 0;   // tabular decision states
  virtual int32_t num_actions() const = 0;  // size of the action set at a decision
  virtual int32_t max_length() const = 0;   // longest response in tokens
  // Latent difficulty of a prompt in [0, 1]; pools are ordered easy -> hard.
  virtual double difficulty(int32_t prompt) const = 0;

  // The "base model" prior: initial logits at a tabular state (num_actions()).
  virtual void InitialLogits(int32_t state, double* logits) const = 0;
  // MLP input for a decision state: feature_dim() values.
  virtual int32_t feature_dim() const = 0;
  virtual void Features(int32_t state, double* out) const = 0;

  // Moves the drift (training window, answer versions) to `step`; cheap when
  // steps increase.
  virtual void Advance(int64_t step) = 0;
  // The training loop's Advance, called before each step and each eval with
  // steps in increasing order (an eval and the step after it share a step; the
  // second call repeats the first): Advance(step), plus the history a pool keeps
  // -- the accuracy curriculum's check at `step` (env.drift=accuracy, which reads
  // `policy`'s exact training accuracy) and the bins' entry steps.
  virtual void AdvanceTraining(int64_t step, Policy* policy) {
    (void)policy;
    Advance(step);
  }
  // Per difficulty bin k (out[kDifficultyBins]): the step at which bin k last
  // entered the training distribution, over the steps AdvanceTraining moved
  // through (the current one included); NaN before it first entered.
  virtual void BinEntrySteps(double* out) const {
    for (int k = 0; k < kDifficultyBins; ++k) out[k] = __builtin_nan("");
  }

  // Draws `count` training prompts for step `step` (the current step) from the
  // drifting training distribution; a pure function of (config, seed, step, slot).
  virtual void DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const = 0;
  // The training distribution at the current step: prompts and their
  // probabilities (summing to 1), the exact counterpart of DrawPrompts.
  virtual void TrainingDistribution(std::vector<int32_t>* prompts,
                                    std::vector<double>* weights) const = 0;

  // Appends `count` groups of `group_size` rollouts (one group per prompt in
  // `prompts`) sampled from `policy`, with their (noise-free) rewards.
  virtual void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                       int count, int group_size, Batch* batch) const = 0;

  // Prompts of the held evaluation set (fixed for the run).
  virtual const std::vector<int32_t>& eval_prompts() const = 0;
  // Exact oracle: probability that one response sampled from `policy` to `prompt`
  // is correct (under the current answers).
  virtual double SuccessProbability(Policy* policy, int32_t prompt) const = 0;
  // Exact gradient: appends terms whose sum is weight * grad SuccessProbability.
  virtual void SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                    GradientTerms* out) const = 0;
  // The variance-minimising constant baseline of `prompt` (estimators/
  // optimal_baseline.h): b* = E[R |g(y)|^2] / E[|g(y)|^2] over responses y ~
  // policy, where g(y) = grad log P(y) with respect to the per-state logits
  // (a tabular policy's parameters; the logit-gradient proxy for an MLP: every
  // decision state is its own logit block, so a state visited twice by one
  // response sums its two scores) and R's expectation given y is
  // false_positive + (1 - false_positive - false_negative) correct(y).
  // Exact, under the current answers. Where E|g|^2 = 0 (a deterministic
  // policy: every score is 0, any baseline gives the same update) it returns
  // the expected reward fp + (1 - fp - fn) SuccessProbability. Families
  // without it return NaN (every family here has it).
  virtual double OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                                 double false_negative) const {
    (void)policy;
    (void)prompt;
    (void)false_positive;
    (void)false_negative;
    return __builtin_nan("");
  }
  // Tabular state of the first decision of a prompt (for the entropy metric).
  virtual int32_t FirstState(int32_t prompt) const = 0;
  // Exact KL(P_policy(response | prompt) || P_reference(response | prompt)) over
  // complete responses, in nats. By the chain rule it is the sum over decision
  // states s of P_policy(s is visited) * KL(policy(.|s) || reference(.|s)); a
  // family with several decisions per response walks its states for it (kl_init:
  // reference = pi_0). The default is a one-decision response's: the KL at
  // FirstState.
  virtual double SequenceKL(Policy* policy, Policy* reference, int32_t prompt) const {
    const int32_t s = FirstState(prompt);
    const double* p = policy->Probs(s);
    const double* lp = policy->LogProbs(s);
    return RowKL(p, lp, reference->LogProbs(s), num_actions());
  }
  // Entropy (nats) of the distribution of the FINAL ANSWER of one response
  // sampled from `policy` to `prompt`, exactly (seed_grpo's semantic entropy:
  // responses with the same answer form one semantic cluster). The classes are
  // the num_actions() outcomes of the family (choice: the K answers; think: the
  // K answers and "no answer", a truncated response), so the maximum is
  // log(num_actions()). Families where the answer is not one of a few discrete
  // outcomes (chain: the response is the whole token sequence) return NaN, the
  // default; modifiers that read it refuse them at planning.
  virtual double AnswerEntropy(Policy* policy, int32_t prompt) const {
    (void)policy;
    (void)prompt;
    return __builtin_nan("");
  }
  // Greedy decoding (ReMax's baseline): the noise-free reward of the response
  // that takes the most probable action at every decision (the lowest action id
  // on ties), under the current answers; *length gets its length in tokens.
  // Families without greedy decoding return NaN.
  virtual double GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
    (void)policy;
    (void)prompt;
    *length = 0;
    return __builtin_nan("");
  }
};

struct TaskEntry {
  std::string name;
  std::string description;  // one line, shown by `advlab list envs`
  // Builds the task; throws UserError for impossible parameter combinations.
  std::function<std::unique_ptr<Task>(const Config&, uint64_t seed)> make;
};
using TaskRegistry = Registry<TaskEntry>;

#define ADVLAB_REGISTER_TASK(ident, ...) \
  static const bool advlab_task_registered_##ident = \
      ::advlab::TaskRegistry::Get().Add(::advlab::TaskEntry{__VA_ARGS__})

// Difficulty bin of a difficulty in [0, 1]: floor(4 d), with d = 1 in bin 3.
inline int DifficultyBin(double d) {
  int b = static_cast<int>(d * kDifficultyBins);
  return b < 0 ? 0 : (b >= kDifficultyBins ? kDifficultyBins - 1 : b);
}

}  // namespace advlab

#endif  // ADVLAB_SIM_TASK_H_
