#include "envs/chain/chain.h"

#include <memory>
#include <string>

#include "sim/config.h"
#include "sim/error.h"
#include "sim/features.h"
#include "sim/policy.h"
#include "sim/sampling.h"

namespace advlab {

static constexpr EnumName<ChainTask::Reward> kChainRewardNames[] = {
    {"outcome", ChainTask::Reward::kOutcome},
    {"all_steps", ChainTask::Reward::kAllSteps},
};

ADVLAB_REGISTER_KEY(env_ops,
                    KeySpec{.name = "env.ops",
                            .type = KeyType::kInt,
                            .default_value = "8",
                            .help = "chain: operations v -> (a v + b) mod m in the rule set (O)",
                            .min = 1,
                            .max = 10000,
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_modulus,
                    KeySpec{.name = "env.modulus",
                            .type = KeyType::kInt,
                            .default_value = "10",
                            .help = "chain: modulus m; values and tokens are in [0, m)",
                            .min = 2,
                            .max = 10000,
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_chain_min_depth,
                    KeySpec{.name = "env.chain_min_depth",
                            .type = KeyType::kInt,
                            .default_value = "1",
                            .help = "chain: operations in the easiest prompt (its response length)",
                            .min = 1,
                            .max = 10000,
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_chain_max_depth,
                    KeySpec{.name = "env.chain_max_depth",
                            .type = KeyType::kInt,
                            .default_value = "8",
                            .help = "chain: operations in the hardest prompt (the max response "
                                    "length)",
                            .min = 1,
                            .max = 10000,
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_chain_reward,
                    KeySpec{.name = "env.chain_reward",
                            .type = KeyType::kString,
                            .default_value = "outcome",
                            .help = "chain: reward 1 iff the final result is right (outcome) or "
                                    "every step is (all_steps)",
                            .choices = EnumNames(kChainRewardNames),
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_step_logit,
                    KeySpec{.name = "env.step_logit",
                            .type = KeyType::kFloat,
                            .default_value = "2",
                            .help = "chain: prior logit of the correct next value (wrong values: "
                                    "0)",
                            .min = -50,
                            .max = 50,
                            .used_by = UsedWhen("env.name", {"chain"})});
ADVLAB_REGISTER_KEY(env_eval_prompts,
                    KeySpec{.name = "env.eval_prompts",
                            .type = KeyType::kInt,
                            .default_value = "256",
                            .help = "chain: held-out eval prompts (ids P .. P+E-1), ordered by "
                                    "depth",
                            .min = 1,
                            .max = 1e8,
                            .used_by = UsedWhen("env.name", {"chain"})});

namespace {

// Philox counter words (the third coordinate) of the instance draws, all
// Purpose::kPool. PoolTask and choice use 0, 1 and 2.
constexpr uint32_t kRuleWord = 3;    // {op, 0, 3}: a_j, b_j (version 0)
constexpr uint32_t kPromptWord = 4;  // {prompt, block, 4}: start value, then the ops
constexpr uint32_t kPhaseWord = 5;   // {op, 0, 5}: re-randomisation phase of op j
constexpr uint32_t kRedrawWord = 6;  // {op, version, 6}: b_j of a version > 0

int32_t CheckedDepthRange(const Config& config) {
  const int64_t lo = config.Int("env.chain_min_depth");
  const int64_t hi = config.Int("env.chain_max_depth");
  if (lo > hi) {
    throw UserError("env.chain_min_depth (" + std::to_string(lo) +
                    ") must be <= env.chain_max_depth (" + std::to_string(hi) + ")");
  }
  return static_cast<int32_t>(hi);
}

// Depth of the i-th of `count` prompts ordered by depth over [lo, hi].
int32_t DepthOf(int64_t i, int64_t count, int32_t lo, int32_t hi) {
  return lo + static_cast<int32_t>(i * (hi - lo + 1) / count);
}

// Forward / backward DP scratch of the oracle.
}  // namespace

ChainTask::ChainTask(const Config& config, uint64_t seed)
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts"))),
      num_ops_(static_cast<int32_t>(config.Int("env.ops"))),
      modulus_(static_cast<int32_t>(config.Int("env.modulus"))),
      min_depth_(static_cast<int32_t>(config.Int("env.chain_min_depth"))),
      max_depth_(CheckedDepthRange(config)),
      reward_(EnumValue(kChainRewardNames, config.Str("env.chain_reward"))),
      step_logit_(config.Float("env.step_logit")),
      num_eval_(static_cast<int32_t>(config.Int("env.eval_prompts"))) {
  const Philox rng(seed);
  const int32_t m = modulus_;
  const int32_t O = num_ops_;

  // Rules, version 0.
  a_.resize(O);
  b0_.resize(O);
  for (int32_t j = 0; j < O; ++j) {
    const Words4 w = rng.Draw(Purpose::kPool, static_cast<uint32_t>(j), 0, kRuleWord);
    a_[j] = 1 + static_cast<int32_t>(UniformIndex(w.w[0], static_cast<uint32_t>(m - 1)));
    b0_[j] = static_cast<int32_t>(UniformIndex(w.w[1], static_cast<uint32_t>(m)));
  }
  b_ = b0_;
  version_.assign(O, 0);
  next_.resize(static_cast<size_t>(O) * m);
  for (int32_t j = 0; j < O; ++j) SetRule(j, 0);

  // Rule re-randomisation: the same period and phase scheme as PoolTask's answers.
  const double rate = config.Float("env.answer_rate");
  if (rate > 0.0) {
    rule_period_ = static_cast<int64_t>(1.0 / rate + 0.5);
    rule_phase_.resize(O);
    for (int32_t j = 0; j < O; ++j) {
      rule_phase_[j] =
          UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(j), 0, kPhaseWord).w[0],
                       static_cast<uint32_t>(rule_period_));
    }
  }

  // Prompts: the training pool, then the held-out set, each ordered by depth.
  const int32_t P = num_prompts();
  const int32_t E = num_eval_;
  start_.resize(static_cast<size_t>(P) + E);
  prompt_begin_.resize(static_cast<size_t>(P) + E + 1);
  prompt_begin_[0] = 0;
  for (int32_t p = 0; p < P + E; ++p) {
    const int32_t n =
        p < P ? DepthOf(p, P, min_depth_, max_depth_) : DepthOf(p - P, E, min_depth_, max_depth_);
    prompt_begin_[p + 1] = prompt_begin_[p] + n;
  }
  prompt_ops_.resize(prompt_begin_[P + E]);
  for (int32_t p = 0; p < P + E; ++p) {
    const int32_t n = depth(p);
    int32_t* ops = prompt_ops_.data() + prompt_begin_[p];
    Words4 w{};
    for (int32_t q = 0; q <= n; ++q) {  // word 0: start value; word 1 + t: op_t
      if (q % 4 == 0) {
        w = rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), static_cast<uint32_t>(q / 4),
                     kPromptWord);
      }
      if (q == 0) {
        start_[p] = static_cast<int32_t>(UniformIndex(w.w[0], static_cast<uint32_t>(m)));
      } else {
        ops[q - 1] = static_cast<int32_t>(UniformIndex(w.w[q % 4], static_cast<uint32_t>(O)));
      }
    }
  }
  eval_prompts_.resize(E);
  for (int32_t e = 0; e < E; ++e) eval_prompts_[e] = P + e;

  Advance(0);
}

double ChainTask::difficulty(int32_t prompt) const {
  if (max_depth_ == min_depth_) return 0.0;
  return static_cast<double>(depth(prompt) - min_depth_) / (max_depth_ - min_depth_);
}

void ChainTask::InitialLogits(int32_t state, double* logits) const {
  const int32_t m = modulus_;
  const int32_t j = state / m;
  const int32_t v = state % m;
  for (int32_t k = 0; k < m; ++k) logits[k] = 0.0;
  // The base model knows the version-0 rules.
  logits[(static_cast<int64_t>(a_[j]) * v + b0_[j]) % m] = step_logit_;
}

void ChainTask::Features(int32_t state, double* out) const {
  for (int32_t i = 0; i < num_ops_ + modulus_; ++i) out[i] = 0.0;
  out[state / modulus_] = 1.0;
  out[num_ops_ + state % modulus_] = 1.0;
}

uint32_t ChainTask::VersionAt(int32_t j, int64_t step) const {
  if (rule_period_ == 0) return 0;
  return static_cast<uint32_t>((step + rule_phase_[j]) / rule_period_);
}

int32_t ChainTask::DrawB(int32_t j, uint32_t version) const {
  if (version == 0) return b0_[j];
  return static_cast<int32_t>(UniformIndex(
      Philox(seed_).Draw(Purpose::kPool, static_cast<uint32_t>(j), version, kRedrawWord).w[0],
      static_cast<uint32_t>(modulus_)));
}

void ChainTask::SetRule(int32_t j, uint32_t version) {
  const int32_t m = modulus_;
  version_[j] = version;
  b_[j] = DrawB(j, version);
  int32_t* row = next_.data() + static_cast<size_t>(j) * m;
  for (int32_t v = 0; v < m; ++v) {
    row[v] = static_cast<int32_t>((static_cast<int64_t>(a_[j]) * v + b_[j]) % m);
  }
}

void ChainTask::Advance(int64_t step) {
  PoolTask::Advance(step);
  if (rule_period_ == 0) return;
  // O(ops) per call; a row is rebuilt only when its version changed.
  for (int32_t j = 0; j < num_ops_; ++j) {
    const uint32_t v = VersionAt(j, step);
    if (v != version_[j]) SetRule(j, v);
  }
}

void ChainTask::CorrectResults(int32_t prompt, int32_t* out) const {
  const int32_t n = depth(prompt);
  const int32_t* ops = prompt_ops_.data() + prompt_begin_[prompt];
  int32_t v = start_[prompt];
  for (int32_t t = 0; t < n; ++t) {
    v = next_[ops[t] * modulus_ + v];
    out[t] = v;
  }
}

namespace {

// Sampling CDFs of the states met in one Rollout call, built on first use (the
// policy may change between calls, never during one): state st has slot
// slot[st] iff stamp[st] == generation.
struct CdfCache {
  Policy* policy;
  uint32_t* stamp;
  int32_t* slot;
  double* cdf;          // [slots x kpad]
  const double** logp;  // [slots] LogProbs of the slot's state
  uint32_t generation;
  int32_t used;
  int K;
  int kpad;

  ADVLAB_FORCEINLINE int32_t Slot(int32_t st) {
    return stamp[st] == generation ? slot[st] : Build(st);
  }
  // The padded CDF of the state's distribution (sim/sampling.h).
  int32_t Build(int32_t st) {
    const int32_t sl = used++;
    stamp[st] = generation;
    slot[st] = sl;
    const double* probs = policy->Probs(st);
    logp[sl] = policy->LogProbs(st);
    BuildPaddedCdf(probs, K, kpad, cdf + static_cast<int64_t>(sl) * kpad);
    return sl;
  }
};

// One group: G rollouts of one prompt, four side by side (four independent
// dependency chains through the n decisions; each decision's state is the
// lane's own previous token). kPad is the CDF stride when known at compile time
// (the search then unrolls), 0 to read it from the cache.
struct GroupArgs {
  const int32_t* ops;      // [n]
  const int32_t* correct;  // [n] correct running results
  const double* u;         // [G rounded up to 4 x n] uniforms, word q = i n + t
  int n;
  int G;
  int32_t start;
  bool all_steps;
  int tok;      // first token of the group
  int rollout;  // first rollout of the group (relative to the call)
};

struct Outputs {
  int32_t* token;
  int32_t* state;
  double* logprob;
  int32_t* token_begin;  // [rollouts] end of each rollout
  double* reward;
  uint8_t* correct;
  uint8_t* truncated;
};

template <int kPad>
ADVLAB_FORCEINLINE void SampleGroup(CdfCache& cache, const GroupArgs& g, const Outputs& o) {
  const int pad = kPad > 0 ? kPad : cache.kpad;
  const int K = cache.K;
  const int n = g.n;
  const int32_t target = g.correct[n - 1];
  for (int i0 = 0; i0 < g.G; i0 += 4) {
    const int lanes = g.G - i0 < 4 ? g.G - i0 : 4;
    const double* ADVLAB_RESTRICT ui = g.u + static_cast<int64_t>(i0) * n;
    int32_t v[4] = {g.start, g.start, g.start, g.start};
    int ok[4] = {1, 1, 1, 1};
    for (int t = 0; t < n; ++t) {
      const int32_t base = g.ops[t] * K;
      int32_t st[4], sl[4];
      int a[4];
      const double* c[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        st[j] = base + v[j];
        sl[j] = cache.Slot(st[j]);
        c[j] = cache.cdf + static_cast<int64_t>(sl[j]) * pad;
      }
      // Inverse CDF (sim/sampling.h), the four lanes side by side.
      const double u4[4] = {ui[t], ui[n + t], ui[2 * n + t], ui[3 * n + t]};
      SearchCdf4<kPad>(c, pad, u4, a);
      for (int j = 0; j < lanes; ++j) {
        const int idx = g.tok + (i0 + j) * n + t;
        o.token[idx] = a[j];
        o.state[idx] = st[j];
        o.logprob[idx] = cache.logp[sl[j]][a[j]];
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        ok[j] &= a[j] == g.correct[t] ? 1 : 0;
        v[j] = a[j];
      }
    }
    for (int j = 0; j < lanes; ++j) {
      const int r = g.rollout + i0 + j;
      const uint8_t good = (g.all_steps ? ok[j] : v[j] == target) ? 1 : 0;
      o.token_begin[r] = g.tok + (i0 + j + 1) * n;
      o.reward[r] = good ? 1.0 : 0.0;
      o.correct[r] = good;
      o.truncated[r] = 0;
    }
  }
}

// Per-thread scratch of Rollout, reused across calls so that a warm step
// allocates nothing (a run runs on one thread at a time).
}  // namespace

void ChainTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                        int count, int group_size, Batch* batch) const {
  const int K = modulus_;
  const int G = group_size;
  const int kpad = PaddedSize(K);

  RolloutScratch& sc = rollout_scratch_;
  if (static_cast<int32_t>(sc.stamp.size()) < num_states()) {
    sc.stamp.resize(num_states(), 0);
    sc.slot.resize(num_states(), 0);
  }
  // A new generation: every state's slot is stale.
  if (++sc.generation == 0) {
    for (auto& x : sc.stamp) x = 0;
    sc.generation = 1;
  }
  // At most min(states, decisions) slots; sized up front so pointers stay valid,
  // for the most decisions a call of this size can make (every prompt at
  // max_depth_), so that a warm step never grows them.
  int64_t total_tokens = 0;
  for (int s = 0; s < count; ++s) total_tokens += static_cast<int64_t>(G) * depth(prompts[s]);
  const int64_t max_tokens = static_cast<int64_t>(count) * G * max_depth_;
  const int64_t max_slots = max_tokens < num_states() ? max_tokens : num_states();
  if (static_cast<int64_t>(sc.logp.size()) < max_slots) sc.logp.resize(max_slots);
  if (static_cast<int64_t>(sc.cdf.size()) < max_slots * kpad) sc.cdf.resize(max_slots * kpad);
  const int G4 = (G + 3) / 4 * 4;
  if (static_cast<int64_t>(sc.u.size()) < static_cast<int64_t>(G4) * max_depth_) {
    sc.u.resize(static_cast<size_t>(G4) * max_depth_);
  }
  if (static_cast<int32_t>(sc.correct.size()) < max_depth_) sc.correct.resize(max_depth_);
  CdfCache cache{policy, sc.stamp.data(), sc.slot.data(), sc.cdf.data(), sc.logp.data(),
                 sc.generation, /*used=*/0, K, kpad};
  double* ADVLAB_RESTRICT u = sc.u.data();
  int32_t* ADVLAB_RESTRICT correct = sc.correct.data();

  const int g0 = batch->num_groups();
  const int r0 = batch->num_rollouts();
  const int t0 = batch->num_tokens();
  const int R = count * G;
  const int T = static_cast<int>(total_tokens);
  batch->GrowGroupsAndRollouts(count, R);
  ReserveTokens(batch, t0 + max_tokens);
  batch->ResizeTokens(t0 + T);
  // Raw pointers: stores through them cannot alias the vectors' own fields.
  const Outputs out{batch->token.data(),         batch->state.data(),
                    batch->logprob.data(),       batch->token_begin.data() + r0 + 1,
                    batch->reward.data() + r0,   batch->correct.data() + r0,
                    batch->truncated.data() + r0};
  int32_t* ADVLAB_RESTRICT out_prompt = batch->prompt.data() + g0;
  int32_t* ADVLAB_RESTRICT out_group_begin = batch->group_begin.data() + g0 + 1;

  GroupArgs args{};
  args.G = G;
  args.all_steps = reward_ == Reward::kAllSteps;
  args.u = u;
  args.correct = correct;
  args.tok = t0;
  for (int s = 0; s < count; ++s) {
    const int32_t p = prompts[s];
    const int n = depth(p);
    CorrectResults(p, correct);
    out_prompt[s] = p;
    // Uniforms of the group: word q = i * n + t of block q / 4, one Philox call
    // per four decisions. Padding lanes (past G) read 0.5 and are never stored.
    const int words = G * n;
    for (int b = 0; 4 * b < words; ++b) {
      const Words4 w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                                static_cast<uint32_t>(s), static_cast<uint32_t>(b));
      for (int k = 0; k < 4; ++k) u[4 * b + k] = U01(w.w[k]);
    }
    for (int q = (words + 3) / 4 * 4; q < G4 * n; ++q) u[q] = 0.5;
    args.ops = prompt_ops_.data() + prompt_begin_[p];
    args.n = n;
    args.start = start_[p];
    args.rollout = s * G;
    switch (kpad) {  // the common moduli get an unrolled search
      case 2:
        SampleGroup<2>(cache, args, out);
        break;
      case 4:
        SampleGroup<4>(cache, args, out);
        break;
      case 8:
        SampleGroup<8>(cache, args, out);
        break;
      case 16:
        SampleGroup<16>(cache, args, out);
        break;
      case 32:
        SampleGroup<32>(cache, args, out);
        break;
      default:
        SampleGroup<0>(cache, args, out);
        break;
    }
    args.tok += words;
    out_group_begin[s] = r0 + (s + 1) * G;
  }
}

double ChainTask::Forward(Policy* policy, int32_t prompt, const int32_t* correct,
                          double* mu) const {
  // mu[t m + v]: probability that decision t is taken after value v and the
  // response can still succeed; after the last decision only the correct final
  // value survives (outcome), and for all_steps only correct prefixes survive.
  const int32_t m = modulus_;
  const int32_t n = depth(prompt);
  const int32_t* ops = prompt_ops_.data() + prompt_begin_[prompt];
  const bool all_steps = reward_ == Reward::kAllSteps;
  for (int32_t v = 0; v < m; ++v) mu[v] = 0.0;
  mu[start_[prompt]] = 1.0;
  double success = 0.0;
  for (int32_t t = 0; t < n; ++t) {
    const double* f = mu + static_cast<int64_t>(t) * m;
    const bool last = t == n - 1;
    if (last || all_steps) {
      // Only a = correct[t] survives this decision.
      const int32_t c = correct[t];
      double g = 0.0;
      for (int32_t v = 0; v < m; ++v) {
        if (f[v] == 0.0) continue;
        g += f[v] * policy->Probs(StateOf(ops[t], v))[c];
      }
      if (last) {
        success = g;
      } else {
        double* next = mu + static_cast<int64_t>(t + 1) * m;
        for (int32_t a = 0; a < m; ++a) next[a] = 0.0;
        next[c] = g;
      }
    } else {
      double* next = mu + static_cast<int64_t>(t + 1) * m;
      for (int32_t a = 0; a < m; ++a) next[a] = 0.0;
      for (int32_t v = 0; v < m; ++v) {  // in index order: a fixed summation order
        if (f[v] == 0.0) continue;
        const double* pr = policy->Probs(StateOf(ops[t], v));
        const double fv = f[v];
        for (int32_t a = 0; a < m; ++a) next[a] += fv * pr[a];
      }
    }
  }
  return success;
}

double ChainTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  OracleScratch& sc = oracle_scratch_;
  const int32_t n = depth(prompt);
  const size_t nm = static_cast<size_t>(n) * modulus_;
  if (sc.mu.size() < nm) sc.mu.resize(nm);
  if (static_cast<int32_t>(sc.correct.size()) < n) sc.correct.resize(n);
  CorrectResults(prompt, sc.correct.data());
  return Forward(policy, prompt, sc.correct.data(), sc.mu.data());
}

void ChainTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                     GradientTerms* out) const {
  OracleScratch& sc = gradient_scratch_;
  const int32_t m = modulus_;
  const int32_t n = depth(prompt);
  const int32_t* ops = prompt_ops_.data() + prompt_begin_[prompt];
  const bool all_steps = reward_ == Reward::kAllSteps;
  const size_t nm = static_cast<size_t>(n) * m;
  if (sc.mu.size() < nm) sc.mu.resize(nm);
  if (sc.back.size() < nm) sc.back.resize(nm);
  if (static_cast<int32_t>(sc.correct.size()) < n) sc.correct.resize(n);
  int32_t* correct = sc.correct.data();
  CorrectResults(prompt, correct);
  double* mu = sc.mu.data();
  double* back = sc.back.data();
  Forward(policy, prompt, correct, mu);

  // Backward: back[t m + a] = P(success | surviving prefix, token t = a).
  {
    double* b = back + static_cast<int64_t>(n - 1) * m;
    for (int32_t a = 0; a < m; ++a) b[a] = a == correct[n - 1] ? 1.0 : 0.0;
  }
  for (int32_t t = n - 2; t >= 0; --t) {
    double* b = back + static_cast<int64_t>(t) * m;
    const double* bn = back + static_cast<int64_t>(t + 1) * m;
    for (int32_t a = 0; a < m; ++a) {
      if (all_steps && a != correct[t]) {  // a wrong step already fails
        b[a] = 0.0;
        continue;
      }
      const double* pr = policy->Probs(StateOf(ops[t + 1], a));
      double s = 0.0;
      for (int32_t c = 0; c < m; ++c) s += pr[c] * bn[c];
      b[a] = s;
    }
  }

  // Policy-gradient theorem: sum_t sum_v mu_t(v) sum_a pi(a | s) B_t(a) grad log pi(a | s).
  for (int32_t t = 0; t < n; ++t) {
    const double* f = mu + static_cast<int64_t>(t) * m;
    const double* b = back + static_cast<int64_t>(t) * m;
    for (int32_t v = 0; v < m; ++v) {
      if (f[v] == 0.0) continue;
      const int32_t st = StateOf(ops[t], v);
      const double* pr = policy->Probs(st);
      const double wf = weight * f[v];
      for (int32_t a = 0; a < m; ++a) {
        const double c = wf * pr[a] * b[a];
        if (c != 0.0) out->Add(st, a, c);
      }
    }
  }
}

double ChainTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  const int32_t m = modulus_;
  const int32_t n = depth(prompt);
  const int32_t* ops = prompt_ops_.data() + prompt_begin_[prompt];
  int32_t v = start_[prompt];  // the model's previous token
  int32_t c = start_[prompt];  // the correct running result (current rules)
  bool all = true;
  for (int32_t t = 0; t < n; ++t) {
    const double* probs = policy->Probs(StateOf(ops[t], v));
    int32_t best = 0;
    for (int32_t a = 1; a < m; ++a) {
      if (probs[a] > probs[best]) best = a;  // strict: the lowest value wins ties
    }
    c = next_[ops[t] * m + c];
    all = all && best == c;
    v = best;
  }
  *length = n;
  const bool ok = reward_ == Reward::kAllSteps ? all : v == c;
  return ok ? 1.0 : 0.0;
}

ADVLAB_REGISTER_TASK(
    chain, .name = "chain",
    .description = "multi-step arithmetic mod m: n operations (a v + b) mod m on a start value, "
                   "one token per running result; difficulty = depth n",
    .make = [](const Config& c, uint64_t seed) -> std::unique_ptr<Task> {
      return std::make_unique<ChainTask>(c, seed);
    });

}  // namespace advlab
