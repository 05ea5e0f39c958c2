// `chain`: multi-step modular arithmetic, the "math" analogue (DESIGN §4).
//
// Rules. O operations (env.ops, default 8) act on values in [0, m) (env.modulus,
// default 10): op_j(v) = (a_j * v + b_j) mod m, with a_j in [1, m-1] and b_j in
// [0, m-1] drawn from Philox(seed), Purpose::kPool, counter {j, 0, 3}
// (a_j = 1 + UniformIndex(w0, m-1), b_j = UniformIndex(w1, m)).
//
// Prompts. A prompt is a start value s in [0, m) and a sequence of n operations,
// drawn from (kPool, {prompt, q / 4, 4}), word q % 4: word 0 gives s, word 1 + t
// gives op_t. The training pool has P = env.prompts prompts ordered by depth
// (easy -> hard): prompt p has depth n_p = min + floor(p * (max - min + 1) / P),
// min/max = env.chain_min_depth/env.chain_max_depth (defaults 1 and 8), and
// difficulty (n_p - min) / (max - min) (0 when min == max). A held-out set of
// E = env.eval_prompts (default 256) further prompts with ids [P, P + E), drawn
// the same way (held-out id P + e has depth min + floor(e * (max-min+1) / E)),
// is the evaluation set: it measures generalisation, since the tabular state is
// shared across prompts. num_prompts() is P (the pool drift moves over); every
// per-prompt method accepts ids < P + E. (A held-out prompt may coincide with a
// training prompt by chance, most likely at small depth.)
//
// Response. n tokens; token t is the model's running result after operation t.
// Decision t is taken in the tabular state (op_t, v_prev), id op_t * m + v_prev,
// where v_prev is the model's own previous token (s for t = 0), so num_states =
// O * m, num_actions = m and max_length = chain_max_depth. What is learned about
// an operation on one prompt transfers to every prompt using it. MLP features of
// a state: one_hot(op; O) then one_hot(v_prev; m).
//
// Reward (env.chain_reward): "outcome" (default) is 1 iff the last token equals
// the correct result (the current ops applied to s); "all_steps" is 1 iff every
// token equals the correct running result. correct = reward, never truncated.
//
// Prior (base model): at state (op, v) the correct next value op(v) under the
// version-0 rules has logit env.step_logit (default 2), the others 0; so a
// depth-1 prompt starts at success e^l / (e^l + m - 1).
//
// Exact oracle: a forward DP over (position, model value), O(n m^2) per prompt.
// mu_t(v) is the probability that decision t is taken with previous value v and
// the response can still succeed (for all_steps: every earlier token right; for
// outcome: any prefix), and the success probability is the surviving mass after
// the last decision. The exact gradient is the policy-gradient theorem over the
// same DP: with B_t(a) the success probability given a surviving prefix and
// token t = a (backward DP), terms (state (op_t, v), action a, coef = weight *
// mu_t(v) * pi(a | op_t, v) * B_t(a)) for every nonzero coefficient.
//
// Non-stationarity (env.answer_rate = r > 0): the rules drift, not the answers.
// With T = round(1/r), operation j's constant b_j is redrawn at the steps where
// (step + phase_j) crosses a multiple of T: its version is
// floor((step + phase_j) / T), phase_j = UniformIndex(w0 of (kPool, {j, 0, 5}),
// T), and version v > 0 has b_j = UniformIndex(w0 of (kPool, {j, v, 6}), m)
// (a redraw may repeat the old value, with probability 1/m); a_j never changes.
// Version 0 holds at step 0. Advance(step) sets the tables, so they are a pure
// function of (config, seed, step); the prior keeps the version-0 rules. With
// r = 0 the rules never change. (PoolTask's per-prompt answer versions are not
// used by this family.)
//
// Sequence KL (the kl_init metric): every response has n tokens, so
// KL(pi || ref) over responses = sum_t sum_v P_pi(previous value v at t) *
// KL(pi(.|op_t, v) || ref(.|op_t, v)), a forward DP over all values (no
// survival mask), O(n m^2) per prompt.
//
// Greedy decoding (ReMax's baseline): at each decision the most probable value
// (lowest on ties) given the model's own previous token; n tokens, scored with
// env.chain_reward under the current rules.
//
// Rollout randomness: one 32-bit Philox word per decision; rollout i, token t of
// prompt slot `slot` uses word q = i * n + t of (kRollout, {step, slot, q / 4}),
// word q % 4, sampled by inverse CDF as in `choice`.
//
// Layout (issue 9, item 7): the instance is the plain-data ChainModel and the
// rule state ChainData (envs/chain/chain_step.h), both in one Arena owned by
// the task together with the fixed-size scratch; the virtual methods below are
// adaptors that dispatch once per call (WithRows) to the host/device step
// functions there.
#ifndef ADVLAB_ENVS_CHAIN_CHAIN_H_
#define ADVLAB_ENVS_CHAIN_CHAIN_H_

#include <cstdint>
#include <vector>

#include "envs/chain/chain_step.h"
#include "envs/pool.h"
#include "sim/arena.h"

namespace advlab {

class ChainTask : public PoolTask {
 public:
  enum class Reward { kOutcome, kAllSteps };

  // Throws UserError when env.chain_min_depth > env.chain_max_depth.
  ChainTask(const Config& config, uint64_t seed);

  int32_t num_states() const override { return num_ops_ * modulus_; }
  int32_t num_actions() const override { return modulus_; }
  int32_t max_length() const override { return max_depth_; }
  double difficulty(int32_t prompt) const override;
  void InitialLogits(int32_t state, double* logits) const override;
  int32_t feature_dim() const override { return num_ops_ + modulus_; }
  void Features(int32_t state, double* out) const override;
  void Advance(int64_t step) override;
  void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts, int count,
               int group_size, Batch* batch) const override;
  const std::vector<int32_t>& eval_prompts() const override { return eval_prompts_; }
  double SuccessProbability(Policy* policy, int32_t prompt) const override;
  void SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                            GradientTerms* out) const override;
  int32_t FirstState(int32_t prompt) const override {
    return ChainOps(model_, prompt)[0] * modulus_ + model_.start[prompt];
  }
  double SequenceKL(Policy* policy, Policy* reference, int32_t prompt) const override;
  double GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const override;
  double OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                         double false_negative) const override;

  // ---- the instance, for tests and tools --------------------------------------
  // The plain data the step functions read (pointers into the task's arena).
  const ChainModel& model() const { return model_; }
  const ChainData& data() const { return data_; }
  int32_t num_ops() const { return num_ops_; }
  int32_t modulus() const { return modulus_; }
  Reward reward_mode() const { return reward_; }
  int32_t depth(int32_t prompt) const { return ChainDepth(model_, prompt); }
  int32_t start(int32_t prompt) const { return model_.start[prompt]; }
  int32_t op(int32_t prompt, int32_t t) const { return ChainOps(model_, prompt)[t]; }
  // Current rule constants of operation j and the version of b_j.
  int32_t op_a(int32_t j) const { return model_.a[j]; }
  int32_t op_b(int32_t j) const { return data_.b[j]; }
  uint32_t op_version(int32_t j) const { return data_.version[j]; }
  // op_j(v) under the current rules.
  int32_t Apply(int32_t j, int32_t v) const { return data_.next[j * modulus_ + v]; }
  // The correct running results of a prompt under the current rules (depth values).
  void CorrectResults(int32_t prompt, int32_t* out) const {
    ChainCorrectResults(model_, data_, prompt, out);
  }

 private:
  int32_t num_ops_;
  int32_t modulus_;
  int32_t min_depth_;
  int32_t max_depth_;
  Reward reward_;
  int32_t num_eval_;

  // One allocation: ChainModel's tables, ChainData's arrays and the scratch
  // whose size the model fixes (CDF stamps and slots, the DP tables).
  Arena arena_;
  ChainModel model_;
  ChainData data_;
  // Rollout scratch; its cdf / logp / u arrays depend on the group size and
  // batch, so they live in the vectors below, grown by Rollout before the step
  // functions run (a warm step allocates nothing; a task serves one run, on
  // one thread).
  mutable ChainRolloutScratch rollout_scratch_;
  mutable std::vector<double> cdf_;          // [max_slots x kpad]
  mutable std::vector<const double*> logp_;  // [max_slots]
  mutable std::vector<double> u_;            // [G rounded up to 4 x max_depth]
  ChainOracleScratch oracle_scratch_;        // SuccessProbability
  ChainOracleScratch gradient_scratch_;      // SuccessGradientTerms
  std::vector<int32_t> eval_prompts_;        // [E] P .. P + E - 1 (the Task interface)
  mutable std::vector<double> optimal_scratch_;  // OptimalBaseline's DP tables
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHAIN_CHAIN_H_
