#include "envs/chain/chain.h"

#include <algorithm>
#include <memory>
#include <string>

#include "envs/chain/chain_oracle.h"
#include "envs/chain/chain_step.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/features.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"
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


}  // namespace

ChainTask::ChainTask(const Config& config, uint64_t seed)
    : PoolTask(config, seed, static_cast<int32_t>(config.Int("env.prompts"))),
      num_ops_(static_cast<int32_t>(config.Int("env.ops"))),
      modulus_(static_cast<int32_t>(config.Int("env.modulus"))),
      min_depth_(static_cast<int32_t>(config.Int("env.chain_min_depth"))),
      max_depth_(CheckedDepthRange(config)),
      reward_(EnumValue(kChainRewardNames, config.Str("env.chain_reward"))),
      num_eval_(static_cast<int32_t>(config.Int("env.eval_prompts"))) {
  const Philox rng(seed);
  const int32_t m = modulus_;
  const int32_t O = num_ops_;
  const int32_t P = num_prompts();
  const int32_t E = num_eval_;
  const int64_t states = static_cast<int64_t>(O) * m;
  // Rule re-randomisation: the same period and phase scheme as PoolTask's answers.
  const double rate = config.Float("env.answer_rate");
  const int64_t period = rate > 0.0 ? static_cast<int64_t>(1.0 / rate + 0.5) : 0;
  // Prompts: the training pool, then the held-out set, each ordered by depth.
  auto depth_of = [&](int32_t p) {
    return p < P ? DepthOf(p, P, min_depth_, max_depth_)
                 : DepthOf(p - P, E, min_depth_, max_depth_);
  };
  int64_t total_ops = 0;
  for (int32_t p = 0; p < P + E; ++p) total_ops += depth_of(p);

  // Layout: the model's tables, the rule state, then the fixed-size scratch.
  const auto phase_slot = arena_.Add<int64_t>(rate > 0.0 ? O : 0);
  const auto a_slot = arena_.Add<int32_t>(O);
  const auto b0_slot = arena_.Add<int32_t>(O);
  const auto prior_slot = arena_.Add<int32_t>(states);
  const auto start_slot = arena_.Add<int32_t>(static_cast<int64_t>(P) + E);
  const auto begin_slot = arena_.Add<int64_t>(static_cast<int64_t>(P) + E + 1);
  const auto ops_slot = arena_.Add<int32_t>(total_ops);
  const auto eval_slot = arena_.Add<int32_t>(E);
  const auto b_slot = arena_.Add<int32_t>(O);
  const auto version_slot = arena_.Add<uint32_t>(O);
  const auto next_slot = arena_.Add<int32_t>(states);
  const auto stamp_slot = arena_.Add<uint32_t>(states);
  const auto slot_slot = arena_.Add<int32_t>(states);
  const auto correct_slot = arena_.Add<int32_t>(max_depth_);
  const int64_t nm = static_cast<int64_t>(max_depth_) * m;
  ArenaSlot<double> dp_slots[3];
  ArenaSlot<int32_t> dp_correct[2];
  for (auto& s : dp_slots) s = arena_.Add<double>(nm);
  for (auto& s : dp_correct) s = arena_.Add<int32_t>(max_depth_);
  arena_.Allocate();

  int64_t* phase = arena_.Get(phase_slot);
  int32_t* a = arena_.Get(a_slot);
  int32_t* b0 = arena_.Get(b0_slot);
  int32_t* prior_next = arena_.Get(prior_slot);
  int32_t* start = arena_.Get(start_slot);
  int64_t* prompt_begin = arena_.Get(begin_slot);
  int32_t* prompt_ops = arena_.Get(ops_slot);
  int32_t* eval = arena_.Get(eval_slot);
  model_.seed = seed;
  model_.num_ops = O;
  model_.modulus = m;
  model_.min_depth = min_depth_;
  model_.max_depth = max_depth_;
  model_.num_prompts = P;
  model_.num_eval = E;
  model_.all_steps = reward_ == Reward::kAllSteps;
  model_.step_logit = config.Float("env.step_logit");
  model_.rule_period = period;
  model_.rule_phase = phase;
  model_.a = a;
  model_.b0 = b0;
  model_.prior_next = prior_next;
  model_.start = start;
  model_.prompt_begin = prompt_begin;
  model_.prompt_ops = prompt_ops;
  model_.eval_prompts = eval;
  data_.b = arena_.Get(b_slot);
  data_.version = arena_.Get(version_slot);
  data_.next = arena_.Get(next_slot);
  rollout_scratch_.stamp = arena_.Get(stamp_slot);
  rollout_scratch_.slot = arena_.Get(slot_slot);
  rollout_scratch_.correct = arena_.Get(correct_slot);
  oracle_scratch_ = {arena_.Get(dp_slots[0]), nullptr, arena_.Get(dp_correct[0])};
  gradient_scratch_ = {arena_.Get(dp_slots[1]), arena_.Get(dp_slots[2]),
                       arena_.Get(dp_correct[1])};

  // Rules, version 0, and the prior's table of them.
  for (int32_t j = 0; j < O; ++j) {
    const Words4 w = rng.Draw(Purpose::kPool, static_cast<uint32_t>(j), 0, kChainRuleWord);
    a[j] = 1 + static_cast<int32_t>(UniformIndex(w.w[0], static_cast<uint32_t>(m - 1)));
    b0[j] = static_cast<int32_t>(UniformIndex(w.w[1], static_cast<uint32_t>(m)));
    for (int32_t v = 0; v < m; ++v) {
      prior_next[static_cast<int64_t>(j) * m + v] =
          static_cast<int32_t>((static_cast<int64_t>(a[j]) * v + b0[j]) % m);
    }
  }
  for (int32_t j = 0; j < O; ++j) ChainSetRule(model_, data_, j, 0);
  if (rate > 0.0) {
    for (int32_t j = 0; j < O; ++j) {
      phase[j] =
          UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(j), 0, kChainPhaseWord).w[0],
                       static_cast<uint32_t>(period));
    }
  }

  prompt_begin[0] = 0;
  for (int32_t p = 0; p < P + E; ++p) prompt_begin[p + 1] = prompt_begin[p] + depth_of(p);
  for (int32_t p = 0; p < P + E; ++p) {
    const int32_t n = depth(p);
    int32_t* ops = prompt_ops + prompt_begin[p];
    Words4 w{};
    for (int32_t q = 0; q <= n; ++q) {  // word 0: start value; word 1 + t: op_t
      if (q % 4 == 0) {
        w = rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), static_cast<uint32_t>(q / 4),
                     kChainPromptWord);
      }
      if (q == 0) {
        start[p] = static_cast<int32_t>(UniformIndex(w.w[0], static_cast<uint32_t>(m)));
      } else {
        ops[q - 1] = static_cast<int32_t>(UniformIndex(w.w[q % 4], static_cast<uint32_t>(O)));
      }
    }
  }
  eval_prompts_.resize(E);
  for (int32_t e = 0; e < E; ++e) eval[e] = eval_prompts_[e] = P + e;

  Advance(0);
}

double ChainTask::difficulty(int32_t prompt) const {
  if (max_depth_ == min_depth_) return 0.0;
  return static_cast<double>(depth(prompt) - min_depth_) / (max_depth_ - min_depth_);
}

void ChainTask::InitialLogits(int32_t state, double* logits) const {
  for (int32_t k = 0; k < modulus_; ++k) logits[k] = 0.0;
  // The base model knows the version-0 rules.
  logits[model_.prior_next[state]] = model_.step_logit;
}

void ChainTask::Features(int32_t state, double* out) const {
  for (int32_t i = 0; i < num_ops_ + modulus_; ++i) out[i] = 0.0;
  out[state / modulus_] = 1.0;
  out[num_ops_ + state % modulus_] = 1.0;
}

void ChainTask::Advance(int64_t step) {
  PoolTask::Advance(step);
  ChainAdvance(model_, data_, step);
}

void ChainTask::Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts,
                        int count, int group_size, Batch* batch) const {
  // Planning: size the scratch and the batch for this call, then one dispatch
  // to the step function.
  const int G = group_size;
  const int kpad = PaddedSize(modulus_);
  int64_t total_tokens = 0;
  for (int s = 0; s < count; ++s) total_tokens += static_cast<int64_t>(G) * depth(prompts[s]);
  // At most min(states, decisions) CDF slots, for the most decisions a call of
  // this size can make (every prompt at max_depth_), so that a warm step never
  // grows them.
  const int64_t max_tokens = static_cast<int64_t>(count) * G * max_depth_;
  const int64_t max_slots = max_tokens < num_states() ? max_tokens : num_states();
  if (static_cast<int64_t>(logp_.size()) < max_slots) logp_.resize(max_slots);
  if (static_cast<int64_t>(cdf_.size()) < max_slots * kpad) cdf_.resize(max_slots * kpad);
  const int64_t u_size = static_cast<int64_t>((G + 3) / 4 * 4) * max_depth_;
  if (static_cast<int64_t>(u_.size()) < u_size) u_.resize(u_size);
  ChainRolloutScratch& sc = rollout_scratch_;
  sc.cdf = cdf_.data();
  sc.logp = logp_.data();
  sc.u = u_.data();
  sc.max_slots = std::min(static_cast<int64_t>(logp_.size()),
                          static_cast<int64_t>(cdf_.size()) / kpad);
  sc.u_capacity = static_cast<int64_t>(u_.size());

  ReserveTokens(batch, batch->num_tokens() + max_tokens);
  BatchView view = batch->OpenView(count, count * G, static_cast<int>(total_tokens));
  WithRows(policy, [&](auto& rows) {
    ChainRollout(model_, data_, rows, rng, step, prompts, count, G, sc, view);
  });
  batch->CloseView(view);
}

double ChainTask::SuccessProbability(Policy* policy, int32_t prompt) const {
  return WithRows(policy, [&](auto& rows) {
    return ChainSuccessProbability(model_, data_, rows, prompt, oracle_scratch_);
  });
}

double ChainTask::SequenceKL(Policy* policy, Policy* reference, int32_t prompt) const {
  // The oracle's forward table is free between calls (a task serves one thread).
  return WithRows(policy, [&](auto& rows) {
    return WithRows(reference, [&](auto& ref) {
      return ChainSequenceKL(model_, rows, ref, prompt, oracle_scratch_.mu);
    });
  });
}

void ChainTask::SuccessGradientTerms(Policy* policy, int32_t prompt, double weight,
                                     GradientTerms* out) const {
  WithRows(policy, [&](auto& rows) {
    ChainSuccessGradientTerms(model_, data_, rows, prompt, weight, gradient_scratch_, *out);
  });
}

double ChainTask::GreedyReward(Policy* policy, int32_t prompt, int32_t* length) const {
  return WithRows(policy, [&](auto& rows) {
    return ChainGreedyReward(model_, data_, rows, prompt, length);
  });
}

double ChainTask::OptimalBaseline(Policy* policy, int32_t prompt, double false_positive,
                                  double false_negative) const {
  // g(y) = sum_t e(t), e(t) = onehot(a_t) - pi(.|s_t) in the logit block of
  // state s_t = (op_t, v_{t-1}). |g|^2 = sum_t w_t + 2 sum_{t<t', s_t = s_t'}
  // c(a_t, a_t'), with w = c(a, a) and c(a, a') = [a = a'] - pi_a - pi_a' +
  // sum pi^2: a state repeats within a response when an operation repeats in
  // the prompt and the previous values coincide, so the pairs are kept.
  // E|g|^2 = sum_t E[w_t] (each cross term has mean 0 given the past).
  // E[succ |g|^2] by DPs over values: F_t(v) = P(v_{t-1} = v), H_t(a) =
  // P(success | a_t = a) (outcome), and for each pair (t, a) a forward
  // propagation Q(v) = P(v_{t'-1} = v | a_t = a). all_steps: success is the
  // single all-right path, so E[succ |g|^2] = P(path) |g(path)|^2.
  const int32_t m = modulus_;
  const int32_t n = depth(prompt);
  const int32_t* ops = ChainOps(model_, prompt);
  const int64_t nm = static_cast<int64_t>(n) * m;
  optimal_scratch_.resize(static_cast<size_t>(5 * nm + 2 * m + n));
  double* f = optimal_scratch_.data();  // [n m] F_t(v)
  double* h = f + nm;                    // [n m] H_t(a) (outcome)
  double* e1 = h + nm;                   // [n m] sum_a pi(a|t,v) H_t(a)
  double* e2 = e1 + nm;                  // [n m] sum_a pi(a|t,v)^2 H_t(a)
  double* s2 = e2 + nm;                  // [n m] sum_a pi(a|t,v)^2
  double* q = s2 + nm;                   // [m]
  double* q2 = q + m;                    // [m]
  int32_t* correct = reinterpret_cast<int32_t*>(q2 + m);  // n ints in n doubles' room
  CorrectResults(prompt, correct);
  auto probs = [&](int32_t t, int32_t v) { return policy->Probs(ChainState(model_, ops[t], v)); };
  // Forward marginals and sums of squares.
  for (int32_t v = 0; v < m; ++v) f[v] = 0.0;
  f[start(prompt)] = 1.0;
  for (int32_t t = 0; t < n; ++t) {
    for (int32_t v = 0; v < m; ++v) s2[t * m + v] = SumOfSquares(probs(t, v), m);
    if (t + 1 == n) break;
    double* next = f + (t + 1) * m;
    for (int32_t a = 0; a < m; ++a) next[a] = 0.0;
    for (int32_t v = 0; v < m; ++v) {
      if (f[t * m + v] == 0.0) continue;
      const double* pi = probs(t, v);
      for (int32_t a = 0; a < m; ++a) next[a] += f[t * m + v] * pi[a];
    }
  }
  // E|g|^2 and the success probability.
  double den = 0.0, success = 0.0;
  for (int32_t t = 0; t < n; ++t) {
    for (int32_t v = 0; v < m; ++v) {
      const double fv = f[t * m + v];
      if (fv == 0.0) continue;
      const double* pi = probs(t, v);
      double sum = 0.0;
      for (int32_t a = 0; a < m; ++a) sum += pi[a] * (1.0 - 2.0 * pi[a] + s2[t * m + v]);
      den += fv * sum;
    }
  }
  double num = 0.0;
  if (reward_ == Reward::kAllSteps) {
    double path = 1.0, norm = 0.0;
    int32_t prev = start(prompt);
    for (int32_t t = 0; t < n; ++t) {
      const double* pi = probs(t, prev);
      const int32_t a = correct[t];
      const double sq = s2[t * m + prev];
      path *= pi[a];
      norm += 1.0 - 2.0 * pi[a] + sq;
      int32_t prev2 = correct[t];
      for (int32_t u = t + 1; u < n; ++u) {  // later decisions in the same state
        if (ops[u] == ops[t] && prev2 == prev) {
          const int32_t b = correct[u];
          norm += 2.0 * ((a == b ? 1.0 : 0.0) - pi[a] - pi[b] + sq);
        }
        prev2 = correct[u];
      }
      prev = correct[t];
    }
    success = path;
    num = path * norm;
  } else {
    // Backward: H_t(a), and per (t, v) the sums E1, E2 over a of pi H, pi^2 H.
    for (int32_t a = 0; a < m; ++a) h[(n - 1) * m + a] = a == correct[n - 1] ? 1.0 : 0.0;
    for (int32_t t = n - 1; t >= 0; --t) {
      for (int32_t v = 0; v < m; ++v) {
        const double* pi = probs(t, v);
        double x1 = 0.0, x2 = 0.0;
        for (int32_t a = 0; a < m; ++a) {
          x1 += pi[a] * h[t * m + a];
          x2 += pi[a] * pi[a] * h[t * m + a];
        }
        e1[t * m + v] = x1;
        e2[t * m + v] = x2;
        if (t > 0) h[(t - 1) * m + v] = x1;  // H_{t-1}(v): token t-1 = v
      }
    }
    for (int32_t v = 0; v < m; ++v) success += f[(n - 1) * m + v] * probs(n - 1, v)[correct[n - 1]];
    // Diagonal terms.
    for (int32_t t = 0; t < n; ++t) {
      for (int32_t v = 0; v < m; ++v) {
        const double fv = f[t * m + v];
        if (fv == 0.0) continue;
        const double* pi = probs(t, v);
        double sum = 0.0;
        for (int32_t a = 0; a < m; ++a) {
          sum += pi[a] * (1.0 - 2.0 * pi[a] + s2[t * m + v]) * h[t * m + a];
        }
        num += fv * sum;
      }
    }
    // Pairs t < u with ops[t] == ops[u] (same state iff v_{t-1} == v_{u-1}).
    for (int32_t t = 0; t + 1 < n; ++t) {
      int32_t last = -1;
      for (int32_t u = t + 1; u < n; ++u)
        if (ops[u] == ops[t]) last = u;
      if (last < 0) continue;
      for (int32_t a = 0; a < m; ++a) {
        // Q(v) = P(v_{u-1} = v | a_t = a), propagated from u = t + 1.
        for (int32_t v = 0; v < m; ++v) q[v] = v == a ? 1.0 : 0.0;
        for (int32_t u = t + 1; u <= last; ++u) {
          if (ops[u] == ops[t]) {
            double pair = 0.0;
            for (int32_t v = 0; v < m; ++v) {
              const double fv = f[t * m + v];
              if (fv == 0.0 || q[v] == 0.0) continue;
              const double* pi = probs(t, v);  // = probs(u, v): the same state
              const double x1 = e1[u * m + v], x2 = e2[u * m + v], sq = s2[t * m + v];
              // sum_b pi_b c(a, b) H_u(b) = pi_a H_u(a) - pi_a E1 - E2 + sum pi^2 E1.
              const double inner = pi[a] * h[u * m + a] - pi[a] * x1 - x2 + sq * x1;
              pair += fv * pi[a] * q[v] * inner;
            }
            num += 2.0 * pair;
          }
          if (u == last) break;
          for (int32_t b = 0; b < m; ++b) q2[b] = 0.0;
          for (int32_t v = 0; v < m; ++v) {
            if (q[v] == 0.0) continue;
            const double* pi = probs(u, v);
            for (int32_t b = 0; b < m; ++b) q2[b] += q[v] * pi[b];
          }
          for (int32_t b = 0; b < m; ++b) q[b] = q2[b];
        }
      }
    }
  }
  const double scale = 1.0 - false_positive - false_negative;
  if (!(den > 0.0)) return false_positive + scale * success;
  return false_positive + scale * (num / den);
}

ADVLAB_REGISTER_TASK(
    chain, .name = "chain",
    .description = "multi-step arithmetic mod m: n operations (a v + b) mod m on a start value, "
                   "one token per running result; difficulty = depth n",
    .make = [](const Config& c, uint64_t seed) -> std::unique_ptr<Task> {
      return std::make_unique<ChainTask>(c, seed);
    });

}  // namespace advlab
