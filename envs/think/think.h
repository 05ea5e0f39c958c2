// `think`: variable-length reasoning, the "long chain-of-thought" analogue.
//
// P prompts (env.prompts), K answers each (env.answers, default 16), exactly one
// correct. Prompt p has difficulty d_p = (p + 1/2) / P (ids are ordered easy ->
// hard) and REQUIRED THINKING
//     r_p = 1 + floor(d_p * R)  in [1, R],   R = env.max_required (default 8),
// computed in integers as 1 + floor((2p + 1) R / (2P)) so no rounding can move a
// boundary. The version-0 correct answer is drawn like choice's: Philox (kPool,
// {p, 0, 0}) word 0, UniformIndex K; with env.answer_rate > 0 a version v > 0 is
// redrawn from (kPool, {p, v, 2}).
//
// Response. At position t = 0, 1, ... (t = thinking tokens emitted so far) the
// policy is in tabular state (p, t), id p * L + t with L = env.max_length
// (default 16), and picks action 0 = THINK or 1 + k = answer k. THINK emits a
// token and goes on; an answer token ends the response (length t + 1). A
// response of L THINK tokens is truncated: truncated = 1, reward 0, length L.
// An answer at position t is correct iff t >= r_p and k is the prompt's current
// answer. NO GUESSING: below r_p thinking tokens every answer is wrong, even the
// right k, so reward is only reachable by thinking long enough (a guessed
// shortcut would let a policy learn short responses on hard prompts, and length
// would stop tracking difficulty). Reward = correct (0/1). L must exceed R: the
// hardest prompt needs R thinking tokens plus the answer token.
//
// OVERTHINKING (env.think_slack = s >= 0; default -1, off): an answer after more
// than r_p + s thinking tokens is wrong too, even the right k, so a response is
// right only in the window r_p <= t <= last_p = min(r_p + s, L - 1) ("the model
// loses the thread"). With it, wrong answers can be long (a late answer, not
// truncated), ADORA's length criterion can judge a group TDS, and a policy that
// thinks "to be safe" pays for it. Off, last_p = L - 1: the rule is absent.
// num_actions = K + 1, num_states = P * L, max_length = L.
//
// Prior (the base model) at state (p, t): THINK has logit env.think_logit
// (default 3); answers have logit 0, except the version-0 correct answer, which
// gets env.answer_logit (default 2) once t >= r_p: the model recognises the
// answer once it has thought enough. The initial policy rarely thinks long
// enough for hard prompts; response length must be learned, and must grow when
// the training window drifts towards harder prompts. (With THINK at logit 0 and
// 16 answers, a prompt needing r thinking tokens is solved with probability
// ~(1/17)^r and a tabular policy never sees a reward beyond r ~ 2: hence 3.)
// The prior has three logit levels (THINK, the known answer, the other
// answers at 0), so a base model that "rambles before answering" — wrong
// answers rare early, responses long — is think_logit and answer_logit raised
// together by b (the same softmax as the other answers at -b); with the
// overthinking rule its wrong answers are long (experiments/presets/
// verbose_start.ini: think_logit 5, answer_logit 3, think_slack 2).
//
// MLP features of state (p, t), L + 1 + K values: one_hot(t; L), then d_p, then
// one_hot(current answer of p; K).
//
// Exact oracle. With reach_t = prod_{j<t} pi(THINK | p, j),
//     success(p) = sum_{r_p <= t <= last_p} reach_t * pi(answer | p, t),   O(L).
// Exact gradient by the policy-gradient theorem along the chain (a DP over
// lengths): with S_L = 0 and S_t = pi(THINK | t) S_{t+1} + pi(answer | t)
// [r_p <= t <= last_p] (success from state (p, t)), the terms at every t with
// reach_t > 0 are
//     (p, t), THINK:      weight * reach_t * pi(THINK | t) * S_{t+1}
//     (p, t), 1 + answer: weight * reach_t * pi(answer | t) * [r_p <= t <= last_p]
// (zeros skipped); their coef-weighted sum of grad log pi is weight * grad
// success. The held evaluation set is the whole pool (tabular states are per
// prompt, as in choice); drift only moves the training distribution.
//
// Sequence KL (the kl_init metric): with reach_t as above,
//     KL(pi || ref) over responses = sum_{t < L} reach_t KL(pi(.|p, t) || ref(.|p, t)),
// O(L K) per prompt: an answer ends the response, so state (p, t) is visited
// iff the first t actions were THINK.
//
// Greedy decoding (ReMax's baseline): at each position the most probable action
// (lowest id on ties, so THINK wins a tie with an answer); scored as a rollout:
// an answer at position t is correct iff r_p <= t <= last_p and it is the
// current answer
// (length t + 1), L THINK tokens are truncated (reward 0, length L).
//
// Randomness of a rollout: one 32-bit Philox word per decision. Rollout i of
// group slot s decides at position t with word q = i * L + t, i.e. word q % 4 of
// the block (kRollout, {step, s, q / 4}); sampling is choice's inverse CDF,
// a = #{k < K : cdf[k] <= u} over the K + 1 actions in index order.
#ifndef ADVLAB_ENVS_THINK_THINK_H_
#define ADVLAB_ENVS_THINK_THINK_H_

#include <cstdint>
#include <vector>

#include "envs/pool.h"
#include "envs/think/think_step.h"
#include "sim/arena.h"

namespace advlab {

// The virtual Task interface over the plain-data model and step functions of
// envs/think/think_step.h: each method dispatches once on the policy's rows
// (WithRows) and runs the host/device code.
class ThinkTask : public PoolTask {
 public:
  static constexpr int32_t kThink = kThinkAction;  // action id of a thinking token

  // Throws UserError when env.max_length <= env.max_required or the state or
  // token counts would not fit 32-bit ids.
  ThinkTask(const Config& config, uint64_t seed);

  int32_t num_states() const override { return num_prompts() * model_.max_length; }
  int32_t num_actions() const override { return model_.num_answers + 1; }
  int32_t max_length() const override { return model_.max_length; }
  double difficulty(int32_t prompt) const override { return ThinkDifficulty(model_, prompt); }
  void InitialLogits(int32_t state, double* logits) const override {
    ThinkInitialLogits(model_, state, logits);
  }
  int32_t feature_dim() const override { return model_.max_length + 1 + model_.num_answers; }
  void Features(int32_t state, double* out) const override {
    ThinkFeatures(model_, current_step(), state, out);
  }
  void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts, int count,
               int group_size, Batch* batch) const override;
  const std::vector<int32_t>& eval_prompts() const override { return eval_prompts_; }
  double SuccessProbability(Policy* policy, int32_t prompt) const override;
  void SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                            GradientTerms* out) const override;
  int32_t FirstState(int32_t prompt) const override { return prompt * model_.max_length; }
  double SequenceKL(Policy* policy, Policy* reference, int32_t prompt) const override;
  double GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const override;
  // The final answer marginalised over the thinking lengths: with reach_t =
  // prod_{j<t} pi(THINK | p, j), P(answer k) = sum_{t<L} reach_t pi(1 + k | p, t)
  // and P(no answer) = reach_L (truncated), K + 1 = num_actions() classes;
  // returns -sum q log q over them (answers in index order, then no answer;
  // q = 0 terms skipped), O(K L), no allocation. Right and wrong answers with
  // the same k are one class (the answer, not its correctness).
  double AnswerEntropy(Policy* policy, int32_t prompt) const override;
  double OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                         double false_negative) const override;

  // Tabular state of prompt p after t thinking tokens.
  int32_t State(int32_t prompt, int32_t t) const { return prompt * model_.max_length + t; }
  // Thinking tokens a correct answer to `prompt` needs (r_p).
  int32_t required(int32_t prompt) const { return model_.required[prompt]; }
  // The correct answer of a prompt at the current step.
  int32_t answer(int32_t prompt) const { return ThinkAnswer(model_, current_step(), prompt); }
  // The plain-data model (tables in this task's arena) and the step functions'
  // scratch (sized at construction; a task serves one run, on one thread).
  const ThinkModel& model() const { return model_; }
  const ThinkScratch& scratch() const { return scratch_; }

 private:
  Arena arena_;                        // answer, required, eval_prompts of model_
  ThinkModel model_;                   // immutable after construction
  std::vector<int32_t> eval_prompts_;  // [P] the interface's copy of model_.eval_prompts
  Arena scratch_arena_;                // holds what scratch_ points to
  ThinkScratch scratch_;
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_THINK_THINK_H_
