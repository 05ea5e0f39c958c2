#include "envs/think/think.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/dmath.h"
#include "sim/error.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"
#include "sim/sampling.h"

namespace advlab {

// L <= 4096 keeps the word index i * L + t of a group (i < G <= 1e6) below 2^34,
// so the block index q / 4 fits the 32-bit counter word.
ADVLAB_REGISTER_KEY(env_max_length,
                    KeySpec{.name = "env.max_length",
                            .type = KeyType::kInt,
                            .default_value = "16",
                            .help = "think: longest response in tokens (L); L thinking tokens "
                                    "truncate",
                            .min = 2,
                            .max = 4096,
                            .used_by = UsedWhen("env.name", {"think"})});
ADVLAB_REGISTER_KEY(env_max_required,
                    KeySpec{.name = "env.max_required",
                            .type = KeyType::kInt,
                            .default_value = "8",
                            .help = "think: thinking tokens the hardest prompt needs (R); prompt p "
                                    "needs 1 + floor(d_p R)",
                            .min = 1,
                            .max = 4095,
                            .used_by = UsedWhen("env.name", {"think"})});
ADVLAB_REGISTER_KEY(env_think_logit,
                    KeySpec{.name = "env.think_logit",
                            .type = KeyType::kFloat,
                            .default_value = "3",
                            .help = "think: initial logit of THINK at every position (answers: 0)",
                            .min = -50,
                            .max = 50,
                            .used_by = UsedWhen("env.name", {"think"})});
ADVLAB_REGISTER_KEY(env_answer_logit,
                    KeySpec{.name = "env.answer_logit",
                            .type = KeyType::kFloat,
                            .default_value = "2",
                            .help = "think: initial logit of the correct answer once thought "
                                    "enough",
                            .min = -50,
                            .max = 50,
                            .used_by = UsedWhen("env.name", {"think"})});

ADVLAB_REGISTER_KEY(env_think_slack,
                    KeySpec{.name = "env.think_slack",
                            .type = KeyType::kInt,
                            .default_value = "-1",
                            .help = "think: overthinking rule, an answer after more than r_p + "
                                    "slack thinking tokens is wrong (-1: off)",
                            .min = -1,
                            .max = 4095,
                            .used_by = UsedWhen("env.name", {"think"})});

ThinkTask::ThinkTask(const Config& config, uint64_t seed)
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts"))) {
  const int32_t K = static_cast<int32_t>(config.Int("env.answers"));
  const int32_t L = static_cast<int32_t>(config.Int("env.max_length"));
  const int32_t R = static_cast<int32_t>(config.Int("env.max_required"));
  // Planning checks: the task is built when a run is planned (experiments/
  // sweep.cc), so nothing in a step needs to refuse input.
  if (L <= R) {
    throw UserError("env.max_length = " + std::to_string(L) +
                    " with env.max_required = " + std::to_string(R) +
                    ": a correct answer needs env.max_required thinking tokens plus the answer "
                    "token; allowed: env.max_length >= env.max_required + 1");
  }
  const int64_t kMaxId = std::numeric_limits<int32_t>::max();
  const int64_t states = static_cast<int64_t>(num_prompts()) * L;
  if (states > kMaxId) {
    throw UserError("env.prompts x env.max_length = " + std::to_string(states) +
                    " tabular states is too large; allowed: at most 2^31 - 1");
  }
  const int64_t tokens = config.Int("train.batch_prompts") * config.Int("train.group_size") * L;
  if (tokens > kMaxId) {
    throw UserError("train.batch_prompts x train.group_size x env.max_length = " +
                    std::to_string(tokens) +
                    " tokens per step (at worst) is too large; allowed: at most 2^31 - 1");
  }
  const int32_t P = num_prompts();
  // The model's tables, in one arena.
  const ArenaSlot<int32_t> answer_slot = arena_.Add<int32_t>(P);
  const ArenaSlot<int32_t> required_slot = arena_.Add<int32_t>(P);
  const ArenaSlot<int32_t> eval_slot = arena_.Add<int32_t>(P);
  arena_.Allocate();
  int32_t* answer = arena_.Get(answer_slot);
  int32_t* required = arena_.Get(required_slot);
  int32_t* eval = arena_.Get(eval_slot);
  const Philox rng(seed);
  for (int32_t p = 0; p < P; ++p) {
    answer[p] = static_cast<int32_t>(
        UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 0).w[0],
                     static_cast<uint32_t>(K)));
    // 1 + floor(d_p R) with d_p = (2p + 1) / (2P), in exact integer arithmetic.
    const int64_t r = 1 + (2 * static_cast<int64_t>(p) + 1) * R / (2 * int64_t{P});
    required[p] = static_cast<int32_t>(r < 1 ? 1 : (r > R ? R : r));
    eval[p] = p;
  }
  model_.pool = pool_model();
  model_.num_answers = K;
  model_.max_length = L;
  model_.max_required = R;
  model_.think_logit = config.Float("env.think_logit");
  model_.answer_logit = config.Float("env.answer_logit");
  model_.think_slack = static_cast<int32_t>(config.Int("env.think_slack"));
  model_.answer = answer;
  model_.required = required;
  model_.eval_prompts = eval;
  model_.num_eval = P;
  eval_prompts_.assign(eval, eval + P);

  // The step functions' scratch, at its largest.
  const ArenaSlot<double> cdf_slot = scratch_arena_.Add<double>(int64_t{L} * PaddedSize(K + 1));
  const ArenaSlot<const double*> logp_slot = scratch_arena_.Add<const double*>(L);
  const ArenaSlot<uint8_t> ready_slot = scratch_arena_.Add<uint8_t>(L);
  const ArenaSlot<double> value_slot = scratch_arena_.Add<double>(int64_t{L} + 1);
  scratch_arena_.Allocate();
  scratch_.cdf = scratch_arena_.Get(cdf_slot);
  scratch_.logp = scratch_arena_.Get(logp_slot);
  scratch_.ready = scratch_arena_.Get(ready_slot);
  scratch_.value = scratch_arena_.Get(value_slot);
}

void ThinkTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                        int count, int group_size, Batch* batch) const {
  // Room for every rollout at L tokens (within the capacity the first call
  // reserved, so a warm step allocates nothing); CloseView trims to what the
  // rollouts wrote.
  const int64_t n = static_cast<int64_t>(count) * group_size;
  const int64_t tokens = n * model_.max_length;
  ADVLAB_CHECK_LE(batch->num_tokens() + tokens,
                  static_cast<int64_t>(std::numeric_limits<int32_t>::max()));
  BatchView view =
      batch->OpenView(count, static_cast<int>(n), static_cast<int>(tokens));
  WithRows(policy, [&](auto& rows) {
    ThinkRollout(model_, step, current_step(), rng, rows, prompts, count, group_size, scratch_,
                 &view);
  });
  batch->CloseView(view);
}

double ThinkTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  return WithRows(policy, [&](auto& rows) {
    return ThinkSuccessProbability(model_, current_step(), rows, prompt);
  });
}

void ThinkTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                     GradientTerms* out) const {
  WithRows(policy, [&](auto& rows) {
    ThinkSuccessGradient(model_, current_step(), rows, prompt, weight, scratch_.value, *out);
  });
}

double ThinkTask::AnswerEntropy(Policy* policy, int32_t prompt) const {
  const int32_t length = model_.max_length;
  const int32_t answers = model_.num_answers;
  double entropy = 0.0, reach = 1.0;
  for (int32_t k = 0; k <= answers; ++k) {
    double q = 0.0;
    reach = 1.0;
    for (int32_t t = 0; t < length; ++t) {
      const double* pi = policy->Probs(State(prompt, t));
      if (k < answers) q += reach * pi[1 + k];
      reach *= pi[kThink];
    }
    if (k == answers) q = reach;  // L thinking tokens: truncated, no answer
    if (q > 0.0) entropy -= q * dm::Log(q);
  }
  return entropy;
}

double ThinkTask::SequenceKL(Policy* policy, Policy* reference, int32_t prompt) const {
  return WithRows(policy, [&](auto& rows) {
    return WithRows(reference,
                    [&](auto& ref) { return ThinkSequenceKL(model_, rows, ref, prompt); });
  });
}

double ThinkTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  return WithRows(policy, [&](auto& rows) {
    return ThinkGreedyReward(model_, current_step(), rows, prompt, length);
  });
}

double ThinkTask::OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                                  double false_negative) const {
  // A response is t THINK tokens then an answer at position t (or L THINK
  // tokens, truncated, reward 0); its states (p, 0..t) are distinct, so
  // |g|^2 = sum_{j<t} w(THINK | j) + w(answer | t), w(a | s) = 1 - 2 pi_a + sum pi^2.
  const int32_t len = model_.max_length, k = num_actions();
  const int32_t req = required(prompt), last = ThinkLastRight(model_, prompt);
  const int32_t ans = 1 + answer(prompt);
  double reach = 1.0, think_w = 0.0;  // P(t THINK tokens so far), their sum of w
  double num = 0.0, den = 0.0, success = 0.0;
  for (int32_t t = 0; t < len && reach > 0.0; ++t) {
    const double* pi = policy->Probs(State(prompt, t));
    const double s2 = SumOfSquares(pi, k);
    for (int32_t a = 1; a < k; ++a) {
      den += reach * pi[a] * (think_w + 1.0 - 2.0 * pi[a] + s2);
    }
    if (t >= req && t <= last) {
      num += reach * pi[ans] * (think_w + 1.0 - 2.0 * pi[ans] + s2);
      success += reach * pi[ans];
    }
    think_w += 1.0 - 2.0 * pi[kThink] + s2;
    reach *= pi[kThink];
  }
  den += reach * think_w;  // truncated (reach is 0 if the loop stopped early)
  const double scale = 1.0 - false_positive - false_negative;
  if (!(den > 0.0)) return false_positive + scale * success;
  return false_positive + scale * (num / den);
}

ADVLAB_REGISTER_TASK(
    think, .name = "think",
    .description = "variable-length reasoning: THINK or answer at each position; prompt p "
                   "needs 1 + floor(d_p R) thinking tokens before an answer can be right; L "
                   "thinking tokens truncate with reward 0",
    .make = [](const Config& c, uint64_t seed) -> std::unique_ptr<Task> {
      return std::make_unique<ThinkTask>(c, seed);
    });

}  // namespace advlab
