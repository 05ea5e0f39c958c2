#include "envs/choice/choice.h"

#include <memory>

#include "sim/config.h"
#include "sim/error.h"
#include "sim/policy.h"
#include "sim/sampling.h"

namespace advlab {

// env.answers: the answer count of choice and of think (its non-THINK tokens).
ADVLAB_REGISTER_KEY(env_answers,
                    KeySpec{.name = "env.answers",
                            .type = KeyType::kInt,
                            .default_value = "16",
                            .help = "choice: answers per prompt (K), one of them correct",
                            .min = 2,
                            .max = 65536,
                            .used_by = UsedWhen("env.name", {"choice", "think"})});
ADVLAB_REGISTER_KEY(env_easy_logit,
                    KeySpec{.name = "env.easy_logit",
                            .type = KeyType::kFloat,
                            .default_value = "3",
                            .help = "choice: initial log-odds of the correct answer at "
                                    "difficulty 0",
                            .min = -50,
                            .max = 50,
                            .used_by = UsedWhen("env.name", {"choice"})});
ADVLAB_REGISTER_KEY(env_hard_logit,
                    KeySpec{.name = "env.hard_logit",
                            .type = KeyType::kFloat,
                            .default_value = "-3",
                            .help = "choice: initial log-odds of the correct answer at "
                                    "difficulty 1",
                            .min = -50,
                            .max = 50,
                            .used_by = UsedWhen("env.name", {"choice"})});

ChoiceTask::ChoiceTask(const Config& config, uint64_t seed)
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts"))),
      num_answers_(static_cast<int32_t>(config.Int("env.answers"))),
      easy_logit_(config.Float("env.easy_logit")),
      hard_logit_(config.Float("env.hard_logit")) {
  Philox rng(seed);
  answer_.resize(num_prompts());
  eval_prompts_.resize(num_prompts());
  for (int32_t p = 0; p < num_prompts(); ++p) {
    answer_[p] = static_cast<int32_t>(
        UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 0).w[0],
                     static_cast<uint32_t>(num_answers_)));
    eval_prompts_[p] = p;
  }
}

void ChoiceTask::InitialLogits(int32_t state, double* logits) const {
  const double d = difficulty(state);
  for (int32_t k = 0; k < num_answers_; ++k) logits[k] = 0.0;
  logits[answer_[state]] = easy_logit_ * (1.0 - d) + hard_logit_ * d;
}

int32_t ChoiceTask::answer(int32_t prompt) const {
  const uint32_t v = answer_version(prompt);
  if (v == 0) return answer_[prompt];
  return static_cast<int32_t>(UniformIndex(
      Philox(seed_).Draw(Purpose::kPool, static_cast<uint32_t>(prompt), v, 2).w[0],
      static_cast<uint32_t>(num_answers_)));
}

void ChoiceTask::Features(int32_t state, double* out) const {
  for (int32_t i = 0; i < num_prompts(); ++i) out[i] = 0.0;
  out[state] = 1.0;
}

void ChoiceTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                         int count, int group_size, Batch* batch) const {
  const int K = num_answers_;
  const int G = group_size;
  // Padded CDF scratch (sim/sampling.h), reused across steps (a task serves one
  // run, on one thread).
  const int kpad = PaddedSize(K);
  std::vector<double>& cdf_storage = cdf_scratch_;
  if (static_cast<int>(cdf_storage.size()) < kpad) cdf_storage.resize(kpad);
  double* ADVLAB_RESTRICT cdf = cdf_storage.data();

  const int g0 = batch->num_groups();
  const int r0 = batch->num_rollouts();
  const int t0 = batch->num_tokens();
  const int n = count * G;
  batch->GrowGroupsAndRollouts(count, n);
  batch->ResizeTokens(t0 + n);
  // Raw pointers: stores through them cannot alias the vectors' own fields.
  int32_t* ADVLAB_RESTRICT out_token = batch->token.data() + t0;
  int32_t* ADVLAB_RESTRICT out_state = batch->state.data() + t0;
  double* ADVLAB_RESTRICT out_logprob = batch->logprob.data() + t0;
  int32_t* ADVLAB_RESTRICT out_token_begin = batch->token_begin.data() + r0 + 1;
  double* ADVLAB_RESTRICT out_reward = batch->reward.data() + r0;
  uint8_t* ADVLAB_RESTRICT out_correct = batch->correct.data() + r0;
  uint8_t* ADVLAB_RESTRICT out_truncated = batch->truncated.data() + r0;

  for (int s = 0; s < count; ++s) {
    const int32_t p = prompts[s];
    const double* ADVLAB_RESTRICT probs = policy->Probs(p);
    const double* ADVLAB_RESTRICT logp = policy->LogProbs(p);
    BuildPaddedCdf(probs, K, kpad, cdf);
    const int32_t ans = answer(p);
    batch->prompt[g0 + s] = p;
    for (int i = 0; i < G; i += 4) {
      const Words4 w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                                static_cast<uint32_t>(s), static_cast<uint32_t>(i / 4));
      const int m = G - i < 4 ? G - i : 4;
      // Inverse-CDF sampling (sim/sampling.h), the four rollouts of a Philox
      // block side by side.
      const double u[4] = {U01(w.w[0]), U01(w.w[1]), U01(w.w[2]), U01(w.w[3])};
      const double* const rows[4] = {cdf, cdf, cdf, cdf};
      int sampled[4];
      SearchCdf4(rows, kpad, u, sampled);
      for (int j = 0; j < m; ++j) {
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
    batch->group_begin[g0 + s + 1] = r0 + (s + 1) * G;
  }
}

double ChoiceTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  return policy->Probs(prompt)[answer(prompt)];
}

void ChoiceTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                      GradientTerms* out) const {
  // grad pi(a*) = pi(a*) grad log pi(a*): one term.
  const int32_t a = answer(prompt);
  out->Add(prompt, a, weight * policy->Probs(prompt)[a]);
}

double ChoiceTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  const double* probs = policy->Probs(prompt);
  int32_t best = 0;
  for (int32_t k = 1; k < num_answers_; ++k) {
    if (probs[k] > probs[best]) best = k;  // strict: the lowest id wins ties
  }
  *length = 1;
  return best == answer(prompt) ? 1.0 : 0.0;
}

ADVLAB_REGISTER_TASK(
    choice, .name = "choice",
    .description = "one-step multiple choice: P prompts x K answers, one correct; difficulty "
                   "sets the prior log-odds of the correct answer",
    .make = [](const Config& c, uint64_t seed) -> std::unique_ptr<Task> {
      return std::make_unique<ChoiceTask>(c, seed);
    });

}  // namespace advlab
