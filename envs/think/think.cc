#include "envs/think/think.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/features.h"
#include "sim/policy.h"
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

ThinkTask::ThinkTask(const Config& config, uint64_t seed)
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts"))),
      num_answers_(static_cast<int32_t>(config.Int("env.answers"))),
      max_length_(static_cast<int32_t>(config.Int("env.max_length"))),
      max_required_(static_cast<int32_t>(config.Int("env.max_required"))),
      think_logit_(config.Float("env.think_logit")),
      answer_logit_(config.Float("env.answer_logit")) {
  if (max_length_ <= max_required_) {
    throw UserError("env.max_length = " + std::to_string(max_length_) +
                    " with env.max_required = " + std::to_string(max_required_) +
                    ": a correct answer needs env.max_required thinking tokens plus the answer "
                    "token; allowed: env.max_length >= env.max_required + 1");
  }
  const int64_t kMaxId = std::numeric_limits<int32_t>::max();
  const int64_t states = static_cast<int64_t>(num_prompts()) * max_length_;
  if (states > kMaxId) {
    throw UserError("env.prompts x env.max_length = " + std::to_string(states) +
                    " tabular states is too large; allowed: at most 2^31 - 1");
  }
  const int64_t tokens =
      config.Int("train.batch_prompts") * config.Int("train.group_size") * max_length_;
  if (tokens > kMaxId) {
    throw UserError("train.batch_prompts x train.group_size x env.max_length = " +
                    std::to_string(tokens) +
                    " tokens per step (at worst) is too large; allowed: at most 2^31 - 1");
  }
  const int32_t P = num_prompts();
  const Philox rng(seed);
  answer_.resize(P);
  required_.resize(P);
  eval_prompts_.resize(P);
  for (int32_t p = 0; p < P; ++p) {
    answer_[p] = static_cast<int32_t>(
        UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 0).w[0],
                     static_cast<uint32_t>(num_answers_)));
    // 1 + floor(d_p R) with d_p = (2p + 1) / (2P), in exact integer arithmetic.
    const int64_t r = 1 + (2 * static_cast<int64_t>(p) + 1) * max_required_ / (2 * int64_t{P});
    required_[p] = static_cast<int32_t>(r < 1 ? 1 : (r > max_required_ ? max_required_ : r));
    eval_prompts_[p] = p;
  }
}

int32_t ThinkTask::answer(int32_t prompt) const {
  const uint32_t v = answer_version(prompt);
  if (v == 0) return answer_[prompt];
  return static_cast<int32_t>(UniformIndex(
      Philox(seed_).Draw(Purpose::kPool, static_cast<uint32_t>(prompt), v, 2).w[0],
      static_cast<uint32_t>(num_answers_)));
}

void ThinkTask::InitialLogits(int32_t state, double* logits) const {
  const int32_t p = state / max_length_;
  const int32_t t = state % max_length_;
  logits[kThink] = think_logit_;
  for (int32_t k = 0; k < num_answers_; ++k) logits[1 + k] = 0.0;
  // The prior keeps the version-0 answer (as choice's does).
  if (t >= required_[p]) logits[1 + answer_[p]] = answer_logit_;
}

void ThinkTask::Features(int32_t state, double* out) const {
  const int32_t p = state / max_length_;
  const int32_t t = state % max_length_;
  const int32_t L = max_length_;
  for (int32_t i = 0; i < L + 1 + num_answers_; ++i) out[i] = 0.0;
  out[t] = 1.0;
  out[L] = difficulty(p);
  out[L + 1 + answer(p)] = 1.0;
}

void ThinkTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                        int count, int group_size, Batch* batch) const {
  const int L = max_length_;
  const int A = num_answers_ + 1;
  const int G = group_size;
  // Per-group scratch, reused across steps (a task serves one run, on one thread):
  // one padded CDF row per position (sim/sampling.h), filled on first use in the
  // group, so states no rollout reaches cost nothing.
  const int apad = PaddedSize(A);
  std::vector<double>& cdf_storage = scratch_.cdf;
  std::vector<const double*>& logp_storage = scratch_.logp;
  std::vector<uint8_t>& ready_storage = scratch_.ready;
  if (cdf_storage.size() < static_cast<size_t>(L) * apad) {
    cdf_storage.resize(static_cast<size_t>(L) * apad);
  }
  if (logp_storage.size() < static_cast<size_t>(L)) {
    logp_storage.resize(L);
    ready_storage.resize(L);
  }
  double* ADVLAB_RESTRICT cdf_rows = cdf_storage.data();
  const double** logp_rows = logp_storage.data();
  uint8_t* ADVLAB_RESTRICT ready = ready_storage.data();

  const int g0 = batch->num_groups();
  const int r0 = batch->num_rollouts();
  const int t0 = batch->num_tokens();
  const int n = count * G;
  batch->GrowGroupsAndRollouts(count, n);
  // Lengths are not known in advance: start at one token per rollout (plus room
  // for one full response) and double as needed, up to every rollout at L
  // tokens. The capacity for that is reserved up front and persists across steps
  // (Batch::Clear keeps it), so a warm step allocates nothing, even when
  // responses grow longer than any before. Raw pointers: stores through them
  // cannot alias the vectors' own fields.
  int32_t* ADVLAB_RESTRICT out_token = nullptr;
  int32_t* ADVLAB_RESTRICT out_state = nullptr;
  double* ADVLAB_RESTRICT out_logprob = nullptr;
  int64_t token_size = 0;
  const int64_t max_tokens =
      std::min(static_cast<int64_t>(t0) + static_cast<int64_t>(n) * L,
               static_cast<int64_t>(std::numeric_limits<int32_t>::max()));
  ReserveTokens(batch, max_tokens);
  auto grow = [&](int64_t need) {
    ADVLAB_CHECK_LE(need, static_cast<int64_t>(std::numeric_limits<int32_t>::max()));
    int64_t size = 2 * static_cast<int64_t>(batch->token.size());
    if (size < need) size = need;
    if (size > max_tokens) size = max_tokens;
    batch->ResizeTokens(static_cast<int>(size));
    out_token = batch->token.data();
    out_state = batch->state.data();
    out_logprob = batch->logprob.data();
    token_size = size;
  };
  grow(static_cast<int64_t>(t0) + n + L);
  int32_t* ADVLAB_RESTRICT out_token_begin = batch->token_begin.data() + r0 + 1;
  double* ADVLAB_RESTRICT out_reward = batch->reward.data() + r0;
  uint8_t* ADVLAB_RESTRICT out_correct = batch->correct.data() + r0;
  uint8_t* ADVLAB_RESTRICT out_truncated = batch->truncated.data() + r0;

  int64_t pos = t0;  // next token
  for (int s = 0; s < count; ++s) {
    const int32_t p = prompts[s];
    const int32_t base = p * L;
    const int32_t ans = answer(p);
    const int32_t req = required_[p];
    batch->prompt[g0 + s] = p;
    for (int t = 0; t < L; ++t) ready[t] = 0;
    // One Philox block serves four consecutive decisions of the group.
    int64_t cached_block = -1;
    Words4 w{{0, 0, 0, 0}};
    for (int i = 0; i < G; ++i) {
      if (pos + L > token_size) grow(pos + L);
      const int r = s * G + i;
      int t = 0;
      uint8_t ok = 0, cut = 0;
      for (;;) {
        double* ADVLAB_RESTRICT cdf = cdf_rows + static_cast<int64_t>(t) * apad;
        if (!ready[t]) {
          BuildPaddedCdf(policy->Probs(base + t), A, apad, cdf);
          logp_rows[t] = policy->LogProbs(base + t);
          ready[t] = 1;
        }
        const int64_t q = static_cast<int64_t>(i) * L + t;
        if ((q >> 2) != cached_block) {
          cached_block = q >> 2;
          w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step), static_cast<uint32_t>(s),
                       static_cast<uint32_t>(cached_block));
        }
        const double u = U01(w.w[q & 3]);
        const int a = SearchCdf(cdf, apad, u);  // inverse CDF (sim/sampling.h)
        out_token[pos] = a;
        out_state[pos] = base + t;
        out_logprob[pos] = logp_rows[t][a];
        ++pos;
        if (a != kThink) {
          ok = (t >= req && a - 1 == ans) ? 1 : 0;  // no guessing below r_p
          break;
        }
        if (++t == L) {
          cut = 1;
          break;
        }
      }
      out_token_begin[r] = static_cast<int32_t>(pos);
      out_reward[r] = ok ? 1.0 : 0.0;
      out_correct[r] = ok;
      out_truncated[r] = cut;
    }
    batch->group_begin[g0 + s + 1] = r0 + (s + 1) * G;
  }
  batch->ResizeTokens(static_cast<int>(pos));
}

double ThinkTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  const int32_t L = max_length_;
  const int32_t a = 1 + answer(prompt);
  const int32_t req = required_[prompt];
  double reach = 1.0, success = 0.0;
  for (int32_t t = 0; t < L; ++t) {  // fixed order: t ascending
    const double* probs = policy->Probs(State(prompt, t));
    if (t >= req) success += reach * probs[a];
    reach *= probs[kThink];
  }
  return success;
}

void ThinkTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                     GradientTerms* out) const {
  const int32_t L = max_length_;
  const int32_t a = 1 + answer(prompt);
  const int32_t req = required_[prompt];
  std::vector<double>& value_storage = scratch_.value;  // S_0..S_L
  if (value_storage.size() < static_cast<size_t>(L) + 1) value_storage.resize(L + 1);
  double* S = value_storage.data();
  S[L] = 0.0;  // truncation: no reward
  for (int32_t t = L - 1; t >= 0; --t) {
    const double* probs = policy->Probs(State(prompt, t));
    S[t] = probs[kThink] * S[t + 1] + (t >= req ? probs[a] : 0.0);
  }
  double reach = 1.0;
  for (int32_t t = 0; t < L && reach > 0.0; ++t) {
    const int32_t s = State(prompt, t);
    const double* probs = policy->Probs(s);
    const double c_think = weight * reach * probs[kThink] * S[t + 1];
    if (c_think != 0.0) out->Add(s, kThink, c_think);
    if (t >= req) {
      const double c_answer = weight * reach * probs[a];
      if (c_answer != 0.0) out->Add(s, a, c_answer);
    }
    reach *= probs[kThink];
  }
}

double ThinkTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  const int32_t L = max_length_;
  const int32_t A = num_answers_ + 1;
  for (int32_t t = 0; t < L; ++t) {
    const double* probs = policy->Probs(State(prompt, t));
    int32_t best = 0;
    for (int32_t a = 1; a < A; ++a) {
      if (probs[a] > probs[best]) best = a;  // strict: the lowest id wins ties
    }
    if (best != kThink) {
      *length = t + 1;
      return t >= required_[prompt] && best - 1 == answer(prompt) ? 1.0 : 0.0;
    }
  }
  *length = L;  // truncated
  return 0.0;
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
