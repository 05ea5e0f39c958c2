// The `chain` family's plain data and host/device step functions (issue 9,
// item 7): ChainModel (immutable tables, in ChainTask's arena), ChainData (the
// rule state Advance sets, mjModel/mjData style), the rule advance, the correct
// results and the rollout (a template over a rows type, sim/policy_rows.h), all
// ADVLAB_HD. The exact oracle, gradient and greedy decoding are in
// envs/chain/chain_oracle.h. ChainTask (chain.h) is their host adaptor and
// documents the rules. Scratch is caller memory sized in planning; nothing here
// allocates, throws or calls virtually.
#ifndef ADVLAB_ENVS_CHAIN_CHAIN_STEP_H_
#define ADVLAB_ENVS_CHAIN_CHAIN_STEP_H_

#include <cstdint>

#include "sim/batch.h"
#include "sim/check.h"
#include "sim/features.h"
#include "sim/rng.h"
#include "sim/sampling.h"

namespace advlab {

// Philox counter words (the third coordinate) of the instance draws, all
// Purpose::kPool. PoolTask and choice use 0, 1 and 2.
inline constexpr uint32_t kChainRuleWord = 3;    // {op, 0, 3}: a_j, b_j (version 0)
inline constexpr uint32_t kChainPromptWord = 4;  // {prompt, block, 4}: start, then ops
inline constexpr uint32_t kChainPhaseWord = 5;   // {op, 0, 5}: phase of op j
inline constexpr uint32_t kChainRedrawWord = 6;  // {op, version, 6}: b_j of version > 0

// The immutable instance: every table points into ChainTask's arena.
struct ChainModel {
  uint64_t seed = 0;         // the run's seed (rule redraws key on it)
  int32_t num_ops = 0;       // O operations
  int32_t modulus = 0;       // m: values and tokens in [0, m); states O * m
  int32_t min_depth = 0;     // operations of the easiest prompt
  int32_t max_depth = 0;     // operations of the hardest prompt (max tokens)
  int32_t num_prompts = 0;   // P training prompts, ids [0, P)
  int32_t num_eval = 0;      // E held-out prompts, ids [P, P + E)
  bool all_steps = false;    // reward: every token right (true) or the last (false)
  double step_logit = 0.0;   // prior logit of the version-0 correct value (others 0)
  int64_t rule_period = 0;   // T = round(1 / env.answer_rate) steps; 0: rules fixed
  const int64_t* rule_phase = nullptr;    // [O] phase_j in [0, T); null when T == 0
  const int32_t* a = nullptr;             // [O] a_j in [1, m - 1] (never redrawn)
  const int32_t* b0 = nullptr;            // [O] version-0 b_j in [0, m)
  const int32_t* prior_next = nullptr;    // [O x m] version-0 op_j(v): the value the
                                          //   prior favours at state j m + v
  const int32_t* start = nullptr;         // [P + E] start value of each prompt
  const int64_t* prompt_begin = nullptr;  // [P + E + 1] offsets into prompt_ops
  const int32_t* prompt_ops = nullptr;    // [prompt_begin[P + E]] ops, concatenated
  const int32_t* eval_prompts = nullptr;  // [E] P .. P + E - 1
};

// The rule state at the current step (ChainAdvance sets it; read-only in a step).
struct ChainData {
  int32_t* b = nullptr;         // [O] current b_j
  uint32_t* version = nullptr;  // [O] current version of b_j
  int32_t* next = nullptr;      // [O x m] current op_j(v) = (a_j v + b_j) mod m
};

// Rollout scratch, sized in planning: the per-call CDF cache (state s has slot
// slot[s] iff stamp[s] == generation), the uniforms of one group and the
// correct running results of one prompt.
struct ChainRolloutScratch {
  uint32_t* stamp = nullptr;        // [O m] generation in which the state got its slot
  int32_t* slot = nullptr;          // [O m] CDF slot of the state
  double* cdf = nullptr;            // [max_slots x PaddedSize(m)] padded CDFs
  const double** logp = nullptr;    // [max_slots] LogProbs row of each slot's state
  double* u = nullptr;              // [u_capacity] uniforms, word q = i n + t
  int32_t* correct = nullptr;       // [max_depth]
  int64_t max_slots = 0;            // slots the cdf / logp arrays hold
  int64_t u_capacity = 0;           // doubles u holds (>= round4(G) * max_depth)
  uint32_t generation = 0;          // current call's stamp (ChainBeginRollout)
  int32_t used = 0;                 // slots taken in the current call
};

// Oracle scratch, sized from the model: [max_depth x m] DP tables.
struct ChainOracleScratch {
  double* mu = nullptr;         // [max_depth x m] forward masses
  double* back = nullptr;       // [max_depth x m] backward success probabilities
  int32_t* correct = nullptr;   // [max_depth]
};

// ---- the instance -------------------------------------------------------------------

ADVLAB_HD inline int32_t ChainDepth(const ChainModel& m, int32_t prompt) {
  return static_cast<int32_t>(m.prompt_begin[prompt + 1] - m.prompt_begin[prompt]);
}
ADVLAB_HD inline const int32_t* ChainOps(const ChainModel& m, int32_t prompt) {
  return m.prompt_ops + m.prompt_begin[prompt];
}
ADVLAB_HD inline int32_t ChainState(const ChainModel& m, int32_t op, int32_t v) {
  return op * m.modulus + v;
}

// Version of operation j's rules at `step` (0 when the rules are fixed).
ADVLAB_HD inline uint32_t ChainRuleVersion(const ChainModel& m, int32_t j, int64_t step) {
  if (m.rule_period == 0) return 0;
  return static_cast<uint32_t>((step + m.rule_phase[j]) / m.rule_period);
}

// b_j of a version.
ADVLAB_HD inline int32_t ChainDrawB(const ChainModel& m, int32_t j, uint32_t version) {
  if (version == 0) return m.b0[j];
  return static_cast<int32_t>(UniformIndex(
      Philox(m.seed).Draw(Purpose::kPool, static_cast<uint32_t>(j), version, kChainRedrawWord)
          .w[0],
      static_cast<uint32_t>(m.modulus)));
}

// Sets operation j to a version: b_j and the row next[j m .. j m + m).
ADVLAB_HD inline void ChainSetRule(const ChainModel& m, ChainData& d, int32_t j,
                                   uint32_t version) {
  const int32_t mod = m.modulus;
  d.version[j] = version;
  d.b[j] = ChainDrawB(m, j, version);
  int32_t* row = d.next + static_cast<int64_t>(j) * mod;
  for (int32_t v = 0; v < mod; ++v) {
    row[v] = static_cast<int32_t>((static_cast<int64_t>(m.a[j]) * v + d.b[j]) % mod);
  }
}

// The rules at `step`, from the rules at any earlier state of `d` (O(ops); a
// row is rebuilt only when its version changed).
ADVLAB_HD inline void ChainAdvance(const ChainModel& m, ChainData& d, int64_t step) {
  if (m.rule_period == 0) return;
  for (int32_t j = 0; j < m.num_ops; ++j) {
    const uint32_t v = ChainRuleVersion(m, j, step);
    if (v != d.version[j]) ChainSetRule(m, d, j, v);
  }
}

// The correct running results of a prompt under the current rules (depth values).
ADVLAB_HD inline void ChainCorrectResults(const ChainModel& m, const ChainData& d,
                                          int32_t prompt, int32_t* out) {
  const int32_t n = ChainDepth(m, prompt);
  const int32_t* ops = ChainOps(m, prompt);
  int32_t v = m.start[prompt];
  for (int32_t t = 0; t < n; ++t) {
    v = d.next[ops[t] * m.modulus + v];
    out[t] = v;
  }
}

// ---- rollout --------------------------------------------------------------------------

// Sampling CDFs of the states met in one Rollout call, built on first use (the
// policy may change between calls, never during one).
template <class Rows>
struct ChainCdfCache {
  Rows* rows;
  uint32_t* stamp;
  int32_t* slot;
  double* cdf;          // [slots x kpad]
  const double** logp;  // [slots] LogProbs of the slot's state
  uint32_t generation;
  int32_t used;
  int64_t max_slots;
  int K;
  int kpad;

  ADVLAB_HD ADVLAB_FORCEINLINE int32_t Slot(int32_t st) {
    return stamp[st] == generation ? slot[st] : Build(st);
  }
  // The padded CDF of the state's distribution (sim/sampling.h).
  ADVLAB_HD int32_t Build(int32_t st) {
    ADVLAB_HD_CHECK(used < max_slots);
    const int32_t sl = used++;
    stamp[st] = generation;
    slot[st] = sl;
    const double* probs = rows->Probs(st);
    logp[sl] = rows->LogProbs(st);
    BuildPaddedCdf(probs, K, kpad, cdf + static_cast<int64_t>(sl) * kpad);
    return sl;
  }
};

// One group's inputs: G rollouts of one prompt.
struct ChainGroupArgs {
  const int32_t* ops;      // [n]
  const int32_t* correct;  // [n] correct running results
  const double* u;         // [G rounded up to 4 x n] uniforms, word q = i n + t
  int n;
  int G;
  int32_t start;
  bool all_steps;
  int tok;  // first token of the group in the view
};

// Where a group's rollouts go (the view's arrays at the group's first rollout).
struct ChainGroupOutputs {
  int32_t* token;
  int32_t* state;
  double* logprob;
  int32_t* token_begin;  // [G] end of each rollout
  double* reward;
  uint8_t* correct;
  uint8_t* truncated;
};

// G rollouts, four side by side (four independent dependency chains through the
// n decisions; each decision's state is the lane's own previous token). kPad is
// the CDF stride when known at compile time (the search then unrolls), 0 to read
// it from the cache.
template <int kPad, class Rows>
ADVLAB_HD ADVLAB_FORCEINLINE void ChainSampleGroup(ChainCdfCache<Rows>& cache,
                                                   const ChainGroupArgs& g,
                                                   const ChainGroupOutputs& o) {
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
      ADVLAB_UNROLL(4)
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
      ADVLAB_UNROLL(4)
      for (int j = 0; j < 4; ++j) {
        ok[j] &= a[j] == g.correct[t] ? 1 : 0;
        v[j] = a[j];
      }
    }
    for (int j = 0; j < lanes; ++j) {
      const int r = i0 + j;
      const uint8_t good = (g.all_steps ? ok[j] : v[j] == target) ? 1 : 0;
      o.token_begin[r] = g.tok + (i0 + j + 1) * n;
      o.reward[r] = good ? 1.0 : 0.0;
      o.correct[r] = good;
      o.truncated[r] = 0;
    }
  }
}

// Starts a Rollout call: every state's CDF slot goes stale (a new generation).
ADVLAB_HD inline void ChainBeginRollout(const ChainModel& m, ChainRolloutScratch& sc) {
  sc.used = 0;
  if (++sc.generation == 0) {
    const int64_t states = static_cast<int64_t>(m.num_ops) * m.modulus;
    for (int64_t s = 0; s < states; ++s) sc.stamp[s] = 0;
    sc.generation = 1;
  }
}

// One group: G rollouts of `prompt`, the call's group number `group` (its
// Philox coordinate), appended to `view`. Uniforms: word q = i n + t of
// (kRollout, {step, group, q / 4}), word q % 4.
template <class Rows>
ADVLAB_HD void ChainRolloutGroup(const ChainModel& m, const ChainData& d, Rows& rows,
                                 const Philox& rng, int64_t step, int32_t group, int32_t prompt,
                                 int G, ChainRolloutScratch& sc, BatchView& view) {
  const int n = ChainDepth(m, prompt);
  const int words = G * n;
  const int G4 = (G + 3) / 4 * 4;
  ADVLAB_HD_CHECK(view.num_groups < view.max_groups);
  ADVLAB_HD_CHECK(view.num_rollouts + G <= view.max_rollouts);
  ADVLAB_HD_CHECK(view.num_tokens + words <= view.max_tokens);
  ADVLAB_HD_CHECK(static_cast<int64_t>(G4) * n <= sc.u_capacity);
  int32_t* ADVLAB_RESTRICT correct = sc.correct;
  double* ADVLAB_RESTRICT u = sc.u;
  ChainCorrectResults(m, d, prompt, correct);
  // One Philox call per four decisions. Padding lanes (past G) read 0.5 and are
  // never stored.
  for (int b = 0; 4 * b < words; ++b) {
    const Words4 w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                              static_cast<uint32_t>(group), static_cast<uint32_t>(b));
    for (int k = 0; k < 4; ++k) u[4 * b + k] = U01(w.w[k]);
  }
  for (int q = (words + 3) / 4 * 4; q < G4 * n; ++q) u[q] = 0.5;

  const int K = m.modulus;
  ChainCdfCache<Rows> cache{&rows,   sc.stamp,     sc.slot, sc.cdf, sc.logp, sc.generation,
                            sc.used, sc.max_slots, K,       PaddedSize(K)};
  ChainGroupArgs args{};
  args.ops = ChainOps(m, prompt);
  args.correct = correct;
  args.u = u;
  args.n = n;
  args.G = G;
  args.start = m.start[prompt];
  args.all_steps = m.all_steps;
  args.tok = view.num_tokens;
  const int r0 = view.num_rollouts;
  const ChainGroupOutputs out{view.token,       view.state,        view.logprob,
                              view.token_begin + r0 + 1,           view.reward + r0,
                              view.correct + r0, view.truncated + r0};
  switch (cache.kpad) {  // the common moduli get an unrolled search
    case 2:
      ChainSampleGroup<2>(cache, args, out);
      break;
    case 4:
      ChainSampleGroup<4>(cache, args, out);
      break;
    case 8:
      ChainSampleGroup<8>(cache, args, out);
      break;
    case 16:
      ChainSampleGroup<16>(cache, args, out);
      break;
    case 32:
      ChainSampleGroup<32>(cache, args, out);
      break;
    default:
      ChainSampleGroup<0>(cache, args, out);
      break;
  }
  sc.used = cache.used;
  view.prompt[view.num_groups] = prompt;
  view.num_tokens += words;
  view.num_rollouts += G;
  ++view.num_groups;
  view.group_begin[view.num_groups] = view.num_rollouts;
}

// A Rollout call: groups s = 0 .. count-1 answer prompts[s], G rollouts each.
template <class Rows>
ADVLAB_HD void ChainRollout(const ChainModel& m, const ChainData& d, Rows& rows,
                            const Philox& rng, int64_t step, const int32_t* prompts, int count,
                            int G, ChainRolloutScratch& sc, BatchView& view) {
  ChainBeginRollout(m, sc);
  for (int s = 0; s < count; ++s) {
    ChainRolloutGroup(m, d, rows, rng, step, s, prompts[s], G, sc, view);
  }
}

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHAIN_CHAIN_STEP_H_
