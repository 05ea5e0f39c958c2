// `choice`'s plain-data model and its host/device step functions (the family
// is described in envs/choice/choice.h; ChoiceTask's methods are adaptors over
// these). Templates over the rows type (sim/policy_rows.h): TabularRows on the
// tabular path and on a device, VirtualRows for the MLP.
//
// Every function reads the model through its pointers only and allocates
// nothing: the rollout's CDF row is scratch the caller provides.
#ifndef ADVLAB_ENVS_CHOICE_CHOICE_STEP_H_
#define ADVLAB_ENVS_CHOICE_CHOICE_STEP_H_

#include <cstdint>

#include "envs/pool_step.h"
#include "sim/batch.h"
#include "sim/check.h"
#include "sim/features.h"
#include "sim/rng.h"
#include "sim/sampling.h"

namespace advlab {

// The family's immutable model; its table lives in ChoiceTask's arena (with
// the pool's answer phases).
struct ChoiceModel {
  PoolModel pool;              // P prompts, answer re-randomisation, drift
  int32_t num_answers = 0;     // K, the actions of the one decision
  int32_t cdf_pad = 1;         // PaddedSize(K): doubles of CDF scratch a rollout needs
  double easy_logit = 0.0;     // prior log-odds of the answer at difficulty 0
  double hard_logit = 0.0;     // ... at difficulty 1
  const int32_t* answer = nullptr;  // [P] version-0 correct answer, in [0, K)
};

// The correct answer of `prompt` at `step`: version 0 from the table, version
// v > 0 redrawn from Philox (kPool, {prompt, v, 2}).
ADVLAB_HD inline int32_t ChoiceAnswer(const ChoiceModel& m, int64_t step, int32_t prompt) {
  const uint32_t v = AnswerVersion(m.pool, step, prompt);
  if (v == 0) return m.answer[prompt];
  return static_cast<int32_t>(UniformIndex(
      Philox(m.pool.seed).Draw(Purpose::kPool, static_cast<uint32_t>(prompt), v, 2).w[0],
      static_cast<uint32_t>(m.num_answers)));
}

// The rollouts of `count` groups (group s answers prompts[s], `group_size`
// one-token rollouts, drawn from `rng` at (kRollout, {step, s, block of 4})),
// appended to `out`, which must have room for them, with their noise-free
// rewards under the answers of `answer_step` (the pool's current step; the
// loop's `step`). `cdf` is scratch of m.cdf_pad doubles. The tabular state of
// each decision is the prompt id.
template <class Rows>
ADVLAB_HD void ChoiceRollout(const ChoiceModel& m, Rows& rows, int64_t answer_step, int64_t step,
                             const Philox& rng, const int32_t* prompts, int count, int group_size,
                             double* ADVLAB_RESTRICT cdf, BatchView* out) {
  const int K = m.num_answers;
  const int kpad = m.cdf_pad;
  const int G = group_size;
  const int g0 = out->num_groups;
  const int r0 = out->num_rollouts;
  const int t0 = out->num_tokens;
  const int n = count * G;
  ADVLAB_HD_CHECK(g0 + count <= out->max_groups && r0 + n <= out->max_rollouts &&
                  t0 + n <= out->max_tokens);
  // Raw pointers: stores through them cannot alias the view's own fields.
  int32_t* ADVLAB_RESTRICT out_token = out->token + t0;
  int32_t* ADVLAB_RESTRICT out_state = out->state + t0;
  double* ADVLAB_RESTRICT out_logprob = out->logprob + t0;
  int32_t* ADVLAB_RESTRICT out_token_begin = out->token_begin + r0 + 1;
  double* ADVLAB_RESTRICT out_reward = out->reward + r0;
  uint8_t* ADVLAB_RESTRICT out_correct = out->correct + r0;
  uint8_t* ADVLAB_RESTRICT out_truncated = out->truncated + r0;
  int32_t* ADVLAB_RESTRICT out_prompt = out->prompt + g0;
  int32_t* ADVLAB_RESTRICT out_group_begin = out->group_begin + g0 + 1;

  for (int s = 0; s < count; ++s) {
    const int32_t p = prompts[s];
    const double* ADVLAB_RESTRICT probs = rows.Probs(p);
    const double* ADVLAB_RESTRICT logp = rows.LogProbs(p);
    BuildPaddedCdf(probs, K, kpad, cdf);
    const int32_t ans = ChoiceAnswer(m, answer_step, p);
    out_prompt[s] = p;
    for (int i = 0; i < G; i += 4) {
      const Words4 w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                                static_cast<uint32_t>(s), static_cast<uint32_t>(i / 4));
      const int mlanes = G - i < 4 ? G - i : 4;
      // Inverse-CDF sampling (sim/sampling.h), the four rollouts of a Philox
      // block side by side.
      const double u[4] = {U01(w.w[0]), U01(w.w[1]), U01(w.w[2]), U01(w.w[3])};
      const double* const cdf_rows[4] = {cdf, cdf, cdf, cdf};
      int sampled[4];
      SearchCdf4(cdf_rows, kpad, u, sampled);
      for (int j = 0; j < mlanes; ++j) {
        const int a = sampled[j];
        const int r = s * G + i + j;  // == token index: one token per rollout
        const uint8_t ok = a == ans ? 1 : 0;
        out_token[r] = a;
        out_state[r] = p;
        out_logprob[r] = logp[a];
        out_token_begin[r] = t0 + r + 1;
        out_reward[r] = ok ? 1.0 : 0.0;
        out_correct[r] = ok;
        out_truncated[r] = 0;
      }
    }
    out_group_begin[s] = r0 + (s + 1) * G;
  }
  out->num_groups = g0 + count;
  out->num_rollouts = r0 + n;
  out->num_tokens = t0 + n;
}

// The exact success probability of `prompt` at `step`: pi(answer | prompt).
template <class Rows>
ADVLAB_HD double ChoiceSuccessProbability(const ChoiceModel& m, Rows& rows, int64_t step,
                                          int32_t prompt) {
  return rows.Probs(prompt)[ChoiceAnswer(m, step, prompt)];
}

// The exact gradient of weight * pi(answer | prompt) as terms of
// grad log pi(action | state): one term, sink.Add(prompt, answer,
// weight * pi(answer)). Sink: anything with Add(int32_t, int32_t, double).
template <class Rows, class Sink>
ADVLAB_HD void ChoiceSuccessGradientTerms(const ChoiceModel& m, Rows& rows, int64_t step,
                                          int32_t prompt, double weight, Sink& sink) {
  // grad pi(a*) = pi(a*) grad log pi(a*).
  const int32_t a = ChoiceAnswer(m, step, prompt);
  sink.Add(prompt, a, weight * rows.Probs(prompt)[a]);
}

// Greedy decoding (ReMax's baseline): the most probable answer (lowest id on
// ties); returns its reward (1 iff it is the answer at `step`), length 1.
template <class Rows>
ADVLAB_HD double ChoiceGreedyReward(const ChoiceModel& m, Rows& rows, int64_t step,
                                    int32_t prompt, int32_t* length) {
  const double* probs = rows.Probs(prompt);
  int32_t best = 0;
  for (int32_t k = 1; k < m.num_answers; ++k) {
    if (probs[k] > probs[best]) best = k;  // strict: the lowest id wins ties
  }
  *length = 1;
  return best == ChoiceAnswer(m, step, prompt) ? 1.0 : 0.0;
}

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHOICE_CHOICE_STEP_H_
