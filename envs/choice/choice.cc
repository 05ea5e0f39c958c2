#include "envs/choice/choice.h"

#include <memory>

#include "sim/config.h"
#include "sim/error.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"
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
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts")),
               PoolTables::kFamilyArena) {
  const int32_t P = num_prompts();
  model_.num_answers = static_cast<int32_t>(config.Int("env.answers"));
  model_.cdf_pad = PaddedSize(model_.num_answers);
  model_.easy_logit = config.Float("env.easy_logit");
  model_.hard_logit = config.Float("env.hard_logit");
  // One arena: the pool's table, then the answers.
  LayoutPoolTables(&arena_);
  const ArenaSlot<int32_t> answer_slot = arena_.Add<int32_t>(P);
  arena_.Allocate();
  FillPoolTables(&arena_);
  int32_t* answer = arena_.Get(answer_slot);
  const Philox rng(seed);
  eval_prompts_.resize(P);
  for (int32_t p = 0; p < P; ++p) {
    answer[p] = static_cast<int32_t>(
        UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 0).w[0],
                     static_cast<uint32_t>(model_.num_answers)));
    eval_prompts_[p] = p;
  }
  model_.answer = answer;
  model_.pool = pool_model();
  cdf_scratch_.assign(model_.cdf_pad, 0.0);
}

void ChoiceTask::InitialLogits(int32_t state, double* logits) const {
  const double d = difficulty(state);
  for (int32_t k = 0; k < model_.num_answers; ++k) logits[k] = 0.0;
  logits[model_.answer[state]] = model_.easy_logit * (1.0 - d) + model_.hard_logit * d;
}

void ChoiceTask::Features(int32_t state, double* out) const {
  for (int32_t i = 0; i < num_prompts(); ++i) out[i] = 0.0;
  out[state] = 1.0;
}

void ChoiceTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                         int count, int group_size, Batch* batch) const {
  // A batch never cleared has no leading offsets yet.
  if (batch->group_begin.empty()) batch->group_begin.assign(1, 0);
  if (batch->token_begin.empty()) batch->token_begin.assign(1, 0);
  const int n = count * group_size;
  BatchView view = batch->OpenView(count, n, n);
  WithRows(policy, [&](auto& rows) {
    ChoiceRollout(model_, rows, current_step(), step, rng, prompts, count, group_size,
                  cdf_scratch_.data(), &view);
  });
  batch->CloseView(view);
}

double ChoiceTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  return WithRows(policy, [&](auto& rows) {
    return ChoiceSuccessProbability(model_, rows, current_step(), prompt);
  });
}

double ChoiceTask::AnswerEntropy(Policy* policy, int32_t prompt) const {
  const int32_t s = FirstState(prompt);
  return RowEntropy(policy->Probs(s), policy->LogProbs(s), num_actions());
}

void ChoiceTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                      GradientTerms* out) const {
  WithRows(policy, [&](auto& rows) {
    ChoiceSuccessGradientTerms(model_, rows, current_step(), prompt, weight, *out);
  });
}

double ChoiceTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  return WithRows(policy, [&](auto& rows) {
    return ChoiceGreedyReward(model_, rows, current_step(), prompt, length);
  });
}

double ChoiceTask::OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                                   double false_negative) const {
  // One decision: |g(a)|^2 = 1 - 2 pi_a + sum pi^2; only the answer is right.
  const int32_t k = num_actions();
  const double* pi = policy->Probs(FirstState(prompt));
  const double s2 = SumOfSquares(pi, k);
  const int32_t ans = answer(prompt);
  double den = 0.0;
  for (int32_t a = 0; a < k; ++a) den += pi[a] * (1.0 - 2.0 * pi[a] + s2);
  const double num = pi[ans] * (1.0 - 2.0 * pi[ans] + s2);
  const double scale = 1.0 - false_positive - false_negative;
  if (!(den > 0.0)) return false_positive + scale * pi[ans];
  return false_positive + scale * (num / den);
}

ADVLAB_REGISTER_TASK(
    choice, .name = "choice",
    .description = "one-step multiple choice: P prompts x K answers, one correct; difficulty "
                   "sets the prior log-odds of the correct answer",
    .make = [](const Config& c, uint64_t seed) -> std::unique_ptr<Task> {
      return std::make_unique<ChoiceTask>(c, seed);
    });

}  // namespace advlab
