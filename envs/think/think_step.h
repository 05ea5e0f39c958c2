// Plain-data step functions of the `think` family (envs/think/think.h documents
// the task): the immutable model, the current answer, the prior, the features,
// the rollout of a call's groups, the exact oracle and its gradient, greedy
// decoding. All ADVLAB_HD and templated on the rows type (sim/policy_rows.h):
// ThinkTask's virtual methods are thin adaptors over them, and a CUDA kernel
// can call the same code. Nothing here allocates, throws or calls a virtual
// function; scratch is the caller's (ThinkScratch).
#ifndef ADVLAB_ENVS_THINK_THINK_STEP_H_
#define ADVLAB_ENVS_THINK_THINK_STEP_H_

#include <cstdint>

#include "envs/pool.h"
#include "sim/batch.h"
#include "sim/check.h"
#include "sim/features.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"
#include "sim/sampling.h"

namespace advlab {

inline constexpr int32_t kThinkAction = 0;  // action id of a thinking token

// The family's immutable model. Tables live in ThinkTask's arena; `pool` is a
// copy of the pool's plain data (its answer_phase points into PoolTask).
// Tabular state of prompt p after t thinking tokens: p * max_length + t.
struct ThinkModel {
  PoolModel pool;                  // answer re-randomisation (P = pool.num_prompts)
  int32_t num_answers = 0;         // K; actions are THINK (0) and 1 + k, k < K
  int32_t max_length = 0;          // L, tokens; L THINK tokens truncate
  int32_t max_required = 0;        // R, thinking tokens the hardest prompt needs
  double think_logit = 0.0;        // prior: logit of THINK at every position
  double answer_logit = 0.0;       // prior: logit of the version-0 answer once t >= r_p
  int32_t think_slack = -1;        // overthinking: right only at t <= r_p + slack; < 0: off
  const int32_t* answer = nullptr;        // [P] version-0 correct answer, in [0, K)
  const int32_t* required = nullptr;      // [P] r_p, in [1, R]
  const int32_t* eval_prompts = nullptr;  // [num_eval] held evaluation set (0..P-1)
  int32_t num_eval = 0;                   // size of the evaluation set (P)
};

// Caller-provided scratch of one rollout / gradient call, sized for the model.
struct ThinkScratch {
  double* cdf = nullptr;          // [L x PaddedSize(K + 1)] padded CDF row per position
  const double** logp = nullptr;  // [L] log-prob row per position (of the current group)
  uint8_t* ready = nullptr;       // [L] 1: the position's rows were built in this group
  double* value = nullptr;        // [L + 1] the gradient's S_0..S_L
};

// The correct answer k of `prompt` under the answers of step `step`: the
// version-0 table, or a redraw from (kPool, {p, v, 2}) for version v > 0.
ADVLAB_HD inline int32_t ThinkAnswer(const ThinkModel& m, int64_t step, int32_t prompt) {
  const uint32_t v = AnswerVersion(m.pool, step, prompt);
  if (v == 0) return m.answer[prompt];
  return static_cast<int32_t>(UniformIndex(
      Philox(m.pool.seed).Draw(Purpose::kPool, static_cast<uint32_t>(prompt), v, 2).w[0],
      static_cast<uint32_t>(m.num_answers)));
}

// The last position at which an answer to `prompt` can be right: L - 1, or
// r_p + env.think_slack when the overthinking rule is on (longer thinking
// fails). An answer at t is right iff r_p <= t <= ThinkLastRight and it names
// the current answer.
ADVLAB_HD inline int32_t ThinkLastRight(const ThinkModel& m, int32_t prompt) {
  const int32_t last = m.max_length - 1;
  if (m.think_slack < 0) return last;
  const int32_t cap = m.required[prompt] + m.think_slack;  // <= 2 * 4095: no overflow
  return cap < last ? cap : last;
}

// Difficulty d_p = (p + 1/2) / P.
ADVLAB_HD inline double ThinkDifficulty(const ThinkModel& m, int32_t prompt) {
  return (prompt + 0.5) / static_cast<double>(m.pool.num_prompts);
}

// The prior's logits at `state`: logits[K + 1].
ADVLAB_HD inline void ThinkInitialLogits(const ThinkModel& m, int32_t state, double* logits) {
  const int32_t p = state / m.max_length;
  const int32_t t = state % m.max_length;
  logits[kThinkAction] = m.think_logit;
  for (int32_t k = 0; k < m.num_answers; ++k) logits[1 + k] = 0.0;
  // The prior keeps the version-0 answer (as choice's does).
  if (t >= m.required[p]) logits[1 + m.answer[p]] = m.answer_logit;
}

// MLP features of `state` at step `step`: out[L + 1 + K].
ADVLAB_HD inline void ThinkFeatures(const ThinkModel& m, int64_t step, int32_t state, double* out) {
  const int32_t L = m.max_length;
  const int32_t p = state / L;
  const int32_t t = state % L;
  for (int32_t i = 0; i < L + 1 + m.num_answers; ++i) out[i] = 0.0;
  out[t] = 1.0;
  out[L] = ThinkDifficulty(m, p);
  out[L + 1 + ThinkAnswer(m, step, p)] = 1.0;
}

// Appends one group of `group_size` rollouts to `prompt` to `out`. `slot` is
// the group's index within the call (its Philox key: rollout i decides at
// position t with word q = i L + t of block (kRollout, {step, slot, q / 4}));
// `answer_step` is the step whose answers score it. One padded CDF row per
// position, built on first use in the group. Needs room for one group, G
// rollouts and G L tokens in `out`.
template <class Rows>
ADVLAB_HD void ThinkRolloutGroup(const ThinkModel& m, int64_t step, int64_t answer_step,
                                 const Philox& rng, Rows& rows, int32_t prompt, int32_t slot,
                                 int32_t group_size, const ThinkScratch& scratch, BatchView* out) {
  const int32_t L = m.max_length;
  const int32_t A = m.num_answers + 1;
  const int32_t G = group_size;
  const int apad = PaddedSize(A);
  ADVLAB_HD_CHECK(out->num_groups < out->max_groups);
  ADVLAB_HD_CHECK(static_cast<int64_t>(out->num_rollouts) + G <= out->max_rollouts);
  ADVLAB_HD_CHECK(static_cast<int64_t>(out->num_tokens) + static_cast<int64_t>(G) * L <=
                  out->max_tokens);
  double* ADVLAB_RESTRICT cdf_rows = scratch.cdf;
  const double** logp_rows = scratch.logp;
  uint8_t* ADVLAB_RESTRICT ready = scratch.ready;
  // Raw pointers: stores through them cannot alias the view's own fields.
  int32_t* ADVLAB_RESTRICT out_token = out->token;
  int32_t* ADVLAB_RESTRICT out_state = out->state;
  double* ADVLAB_RESTRICT out_logprob = out->logprob;
  const int32_t r0 = out->num_rollouts;
  int32_t* ADVLAB_RESTRICT out_token_begin = out->token_begin + r0 + 1;
  double* ADVLAB_RESTRICT out_reward = out->reward + r0;
  uint8_t* ADVLAB_RESTRICT out_correct = out->correct + r0;
  uint8_t* ADVLAB_RESTRICT out_truncated = out->truncated + r0;

  const int32_t base = prompt * L;
  const int32_t ans = ThinkAnswer(m, answer_step, prompt);
  const int32_t req = m.required[prompt];
  const int32_t last = ThinkLastRight(m, prompt);
  out->prompt[out->num_groups] = prompt;
  for (int t = 0; t < L; ++t) ready[t] = 0;
  // One Philox block serves four consecutive decisions of the group.
  int64_t cached_block = -1;
  Words4 w{{0, 0, 0, 0}};
  int64_t pos = out->num_tokens;  // next token
  for (int i = 0; i < G; ++i) {
    int t = 0;
    uint8_t ok = 0, cut = 0;
    for (;;) {
      double* ADVLAB_RESTRICT cdf = cdf_rows + static_cast<int64_t>(t) * apad;
      if (!ready[t]) {
        BuildPaddedCdf(rows.Probs(base + t), A, apad, cdf);
        logp_rows[t] = rows.LogProbs(base + t);
        ready[t] = 1;
      }
      const int64_t q = static_cast<int64_t>(i) * L + t;
      if ((q >> 2) != cached_block) {
        cached_block = q >> 2;
        w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step), static_cast<uint32_t>(slot),
                     static_cast<uint32_t>(cached_block));
      }
      const double u = U01(w.w[q & 3]);
      const int a = SearchCdf(cdf, apad, u);  // inverse CDF (sim/sampling.h)
      out_token[pos] = a;
      out_state[pos] = base + t;
      out_logprob[pos] = logp_rows[t][a];
      ++pos;
      if (a != kThinkAction) {
        // No guessing below r_p; no overthinking past `last`.
        ok = (t >= req && t <= last && a - 1 == ans) ? 1 : 0;
        break;
      }
      if (++t == L) {
        cut = 1;
        break;
      }
    }
    out_token_begin[i] = static_cast<int32_t>(pos);
    out_reward[i] = ok ? 1.0 : 0.0;
    out_correct[i] = ok;
    out_truncated[i] = cut;
  }
  out->num_tokens = static_cast<int32_t>(pos);
  out->num_rollouts = r0 + G;
  out->num_groups += 1;
  out->group_begin[out->num_groups] = out->num_rollouts;
}

// The groups of one call: group s answers prompts[s] with key slot s. Needs
// room for `count` groups, count G rollouts and count G L tokens in `out`.
template <class Rows>
ADVLAB_HD void ThinkRollout(const ThinkModel& m, int64_t step, int64_t answer_step,
                            const Philox& rng, Rows& rows, const int32_t* prompts, int32_t count,
                            int32_t group_size, const ThinkScratch& scratch, BatchView* out) {
  for (int32_t s = 0; s < count; ++s) {
    ThinkRolloutGroup(m, step, answer_step, rng, rows, prompts[s], s, group_size, scratch, out);
  }
}

// Exact oracle: sum_{r_p <= t <= last} reach_t pi(answer | p, t), t ascending
// (last = ThinkLastRight: L - 1 unless the overthinking rule is on).
template <class Rows>
ADVLAB_HD double ThinkSuccessProbability(const ThinkModel& m, int64_t step, Rows& rows,
                                         int32_t prompt) {
  const int32_t L = m.max_length;
  const int32_t a = 1 + ThinkAnswer(m, step, prompt);
  const int32_t req = m.required[prompt];
  const int32_t last = ThinkLastRight(m, prompt);
  const int32_t base = prompt * L;
  double reach = 1.0, success = 0.0;
  for (int32_t t = 0; t < L; ++t) {  // fixed order: t ascending
    const double* probs = rows.Probs(base + t);
    if (t >= req && t <= last) success += reach * probs[a];
    reach *= probs[kThinkAction];
  }
  return success;
}

// Exact gradient terms of weight * success(prompt), by the policy-gradient
// theorem along the chain (think.h): sink.Add(state, action, coef) for every
// nonzero term, t ascending, THINK before the answer. `value` is scratch of
// L + 1 doubles (S_0..S_L).
template <class Rows, class Sink>
ADVLAB_HD void ThinkSuccessGradient(const ThinkModel& m, int64_t step, Rows& rows, int32_t prompt,
                                    double weight, double* value, Sink& sink) {
  const int32_t L = m.max_length;
  const int32_t a = 1 + ThinkAnswer(m, step, prompt);
  const int32_t req = m.required[prompt];
  const int32_t last = ThinkLastRight(m, prompt);
  const int32_t base = prompt * L;
  double* S = value;
  S[L] = 0.0;  // truncation: no reward
  for (int32_t t = L - 1; t >= 0; --t) {
    const double* probs = rows.Probs(base + t);
    S[t] = probs[kThinkAction] * S[t + 1] + (t >= req && t <= last ? probs[a] : 0.0);
  }
  double reach = 1.0;
  for (int32_t t = 0; t < L && reach > 0.0; ++t) {
    const int32_t s = base + t;
    const double* probs = rows.Probs(s);
    const double c_think = weight * reach * probs[kThinkAction] * S[t + 1];
    if (c_think != 0.0) sink.Add(s, kThinkAction, c_think);
    if (t >= req && t <= last) {
      const double c_answer = weight * reach * probs[a];
      if (c_answer != 0.0) sink.Add(s, a, c_answer);
    }
    reach *= probs[kThinkAction];
  }
}

// Sequence-level KL(P_rows(response | prompt) || P_ref(response | prompt))
// (nats), exactly: the states of a prompt form a chain (THINK moves t -> t + 1,
// an answer ends, L THINKs truncate), so by the chain rule the KL is
// sum_{t < L} reach_t KL(rows(.|p, t) || ref(.|p, t)), reach_t =
// prod_{j<t} rows(THINK | p, j); t ascending, stopping once reach_t is 0.
template <class Rows, class RefRows>
ADVLAB_HD double ThinkSequenceKL(const ThinkModel& m, Rows& rows, RefRows& ref, int32_t prompt) {
  const int32_t L = m.max_length;
  const int32_t n = m.num_answers + 1;
  const int32_t base = prompt * L;
  double reach = 1.0, kl = 0.0;
  for (int32_t t = 0; t < L && reach != 0.0; ++t) {
    const double* probs = rows.Probs(base + t);
    const double* lp = rows.LogProbs(base + t);
    kl += reach * RowKL(probs, lp, ref.LogProbs(base + t), n);
    reach *= probs[kThinkAction];
  }
  return kl;
}

// Greedy decoding: the most probable action at each position (lowest id on
// ties); returns its reward and sets *length (L when truncated).
template <class Rows>
ADVLAB_HD double ThinkGreedyReward(const ThinkModel& m, int64_t step, Rows& rows, int32_t prompt,
                                   int32_t* length) {
  const int32_t L = m.max_length;
  const int32_t A = m.num_answers + 1;
  const int32_t base = prompt * L;
  for (int32_t t = 0; t < L; ++t) {
    const double* probs = rows.Probs(base + t);
    int32_t best = 0;
    for (int32_t a = 1; a < A; ++a) {
      if (probs[a] > probs[best]) best = a;  // strict: the lowest id wins ties
    }
    if (best != kThinkAction) {
      *length = t + 1;
      return t >= m.required[prompt] && t <= ThinkLastRight(m, prompt) &&
                     best - 1 == ThinkAnswer(m, step, prompt)
                 ? 1.0
                 : 0.0;
    }
  }
  *length = L;  // truncated
  return 0.0;
}

}  // namespace advlab

#endif  // ADVLAB_ENVS_THINK_THINK_STEP_H_
