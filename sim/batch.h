// Batch: the rollouts of one training step, laid out flat (structure of arrays).
//
// A batch holds `groups` prompt groups; group g owns rollouts
// [group_begin[g], group_begin[g+1]) that all answer prompt prompt[g]. A rollout
// is a token sequence, even when it has one token (the `choice` family): rollout r
// owns tokens [token_begin[r], token_begin[r+1]). Every decision records the
// tabular state it was taken in and the log-probability the sampling (old) policy
// gave the chosen token, so that PPO ratios, KL and multi-token tasks need no
// change of layout.
#ifndef ADVLAB_SIM_BATCH_H_
#define ADVLAB_SIM_BATCH_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "sim/check.h"
#include "sim/features.h"

namespace advlab {

// Allocator whose value-less construct() default-initialises: a Batch array
// resized up to its reserved capacity (Batch::OpenView) is not zero-filled
// first; every element a step reads was written by the step.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
};
// The array type of every Batch field.
template <class T>
using BatchArray = std::vector<T, DefaultInitAllocator<T>>;

// Element-wise equality with a plain vector (tests compare batches with
// expected values).
template <class T>
bool operator==(const BatchArray<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
template <class T>
bool operator==(const std::vector<T>& a, const BatchArray<T>& b) {
  return b == a;
}

template <class T>
std::vector<T> ToVector(const BatchArray<T>& a) {
  return std::vector<T>(a.begin(), a.end());
}

// The most tokens any per-step buffer reserves up front (64 MB of token arrays):
// past that a batch grows as it fills (the tasks' ReserveTokens, InitRun's scratch).
inline constexpr int64_t kMaxReservedTokens = int64_t{1} << 22;

// BatchView: what a host/device step function writes rollouts into — raw
// pointers to a batch's arrays, the counts written so far and the capacity
// that planning sized (never exceeded: checked, not grown). A rollout function
// appends whole groups: BeginGroup, then per rollout its tokens (PushToken) and
// EndRollout, then EndGroup. Batch::OpenView / CloseView connect it to a Batch.
struct BatchView {
  int32_t* prompt = nullptr;       // [max_groups]
  int32_t* group_begin = nullptr;  // [max_groups + 1]; [num_groups] is set
  int32_t* token_begin = nullptr;  // [max_rollouts + 1]; [num_rollouts] is set
  double* reward = nullptr;        // [max_rollouts]
  uint8_t* correct = nullptr;      // [max_rollouts]
  uint8_t* truncated = nullptr;    // [max_rollouts]
  int32_t* token = nullptr;        // [max_tokens]
  int32_t* state = nullptr;        // [max_tokens]
  double* logprob = nullptr;       // [max_tokens]
  int32_t num_groups = 0;
  int32_t num_rollouts = 0;
  int32_t num_tokens = 0;
  int32_t max_groups = 0;
  int32_t max_rollouts = 0;
  int32_t max_tokens = 0;

  ADVLAB_HD void BeginGroup(int32_t p) {
    ADVLAB_HD_CHECK(num_groups < max_groups);
    prompt[num_groups] = p;
  }
  ADVLAB_HD void PushToken(int32_t tok, int32_t st, double lp) {
    ADVLAB_HD_CHECK(num_tokens < max_tokens);
    token[num_tokens] = tok;
    state[num_tokens] = st;
    logprob[num_tokens] = lp;
    ++num_tokens;
  }
  ADVLAB_HD void EndRollout(double r, bool ok, bool cut) {
    ADVLAB_HD_CHECK(num_rollouts < max_rollouts);
    reward[num_rollouts] = r;
    correct[num_rollouts] = ok ? 1 : 0;
    truncated[num_rollouts] = cut ? 1 : 0;
    ++num_rollouts;
    token_begin[num_rollouts] = num_tokens;
  }
  ADVLAB_HD void EndGroup() {
    ++num_groups;
    group_begin[num_groups] = num_rollouts;
  }
};

struct Batch {
  // ---- groups ---------------------------------------------------------------
  BatchArray<int32_t> prompt;       // [groups] prompt id in the task's pool
  BatchArray<int32_t> group_begin;  // [groups + 1] first rollout of each group
  // ---- rollouts -------------------------------------------------------------
  BatchArray<int32_t> token_begin;  // [rollouts + 1] first token of each rollout
  BatchArray<double> reward;        // [rollouts] verifiable (outcome) reward
  BatchArray<uint8_t> correct;      // [rollouts] 1 if the response was right
  BatchArray<uint8_t> truncated;    // [rollouts] 1 if cut at the length limit
  BatchArray<double> advantage;     // [rollouts] sequence advantage (estimator output)
  BatchArray<uint8_t> kept;         // [rollouts] 0: dropped from the update by a filter
                                     //   (set by estimators/modifiers; empty = all kept)
  BatchArray<double> baseline;      // [rollouts] the baseline b_r the estimator compared
                                     //   R_r with, in reward units (group mean, leave-one-
                                     //   out mean, tracker value, ...), for the metric
                                     //   baseline_rmse; empty: the estimator has none
  bool want_baseline = true;        // false: the estimator may leave `baseline` empty
                                     //   (the loop asks only on the step baseline_rmse
                                     //   measures, so the hot path pays nothing)
  // ---- tokens ---------------------------------------------------------------
  BatchArray<int32_t> token;        // [tokens] chosen action id
  BatchArray<int32_t> state;        // [tokens] tabular state id of the decision
  BatchArray<double> logprob;       // [tokens] log pi_old(token | state)
  BatchArray<double> token_advantage;  // [tokens] per-token advantage (token-level
                                        //   estimators: gae, remax with a KL reward);
                                        //   empty: advantage[r] on every token of r
  BatchArray<double> value;         // [tokens] critic value V(state) of each token, given
                                     //   from outside (`advlab advantage --values`); empty:
                                     //   gae uses its own learned critic
  BatchArray<double> token_reward;  // [tokens] per-token reward (the KL penalty when
                                     //   kl.where = reward); its sum over a rollout is
                                     //   part of reward[r], and the rest of reward[r]
                                     //   is the outcome at the last token. Empty: all
                                     //   of reward[r] sits on the last token.

  int num_groups() const { return static_cast<int>(prompt.size()); }
  int num_rollouts() const { return static_cast<int>(reward.size()); }
  int num_tokens() const { return static_cast<int>(token.size()); }
  int group_size(int g) const { return group_begin[g + 1] - group_begin[g]; }
  int length(int r) const { return token_begin[r + 1] - token_begin[r]; }

  // True when every rollout of group g has the same (observed) reward: its
  // advantage is zero under any group estimator.
  bool RewardsAllEqual(int g) const {
    for (int r = group_begin[g] + 1; r < group_begin[g + 1]; ++r) {
      if (reward[r] != reward[group_begin[g]]) return false;
    }
    return true;
  }

  // Appends room for `groups` groups holding `rollouts` rollouts in all, zero-
  // filled (the caller writes every new entry). Token arrays are sized by
  // ResizeTokens (new entries zero).
  void GrowGroupsAndRollouts(int groups, int rollouts) {
    const size_t g = prompt.size() + groups, r = reward.size() + rollouts;
    prompt.resize(g, 0);
    group_begin.resize(g + 1, 0);
    token_begin.resize(r + 1, 0);
    reward.resize(r, 0.0);
    correct.resize(r, 0);
    truncated.resize(r, 0);
  }
  void ResizeTokens(int tokens) {
    token.resize(tokens, 0);
    state.resize(tokens, 0);
    logprob.resize(tokens, 0.0);
  }

  // Room for `groups` more groups, `rollouts` more rollouts and `tokens` more
  // tokens after what the batch holds, as a BatchView over the batch's own
  // arrays (sized up to the new maximum; within the capacity Reserve gave, this
  // allocates nothing). CloseView trims the arrays to what the view wrote.
  BatchView OpenView(int groups, int rollouts, int tokens) {
    const int g0 = num_groups(), r0 = num_rollouts(), t0 = num_tokens();
    // Not zero-filled (DefaultInitAllocator): the step function writes them.
    prompt.resize(g0 + groups);
    group_begin.resize(g0 + groups + 1);
    token_begin.resize(r0 + rollouts + 1);
    reward.resize(r0 + rollouts);
    correct.resize(r0 + rollouts);
    truncated.resize(r0 + rollouts);
    token.resize(t0 + tokens);
    state.resize(t0 + tokens);
    logprob.resize(t0 + tokens);
    BatchView v;
    v.prompt = prompt.data();
    v.group_begin = group_begin.data();
    v.token_begin = token_begin.data();
    v.reward = reward.data();
    v.correct = correct.data();
    v.truncated = truncated.data();
    v.token = token.data();
    v.state = state.data();
    v.logprob = logprob.data();
    v.num_groups = g0;
    v.num_rollouts = r0;
    v.num_tokens = t0;
    v.max_groups = g0 + groups;
    v.max_rollouts = r0 + rollouts;
    v.max_tokens = t0 + tokens;
    return v;
  }
  void CloseView(const BatchView& v) {
    ADVLAB_CHECK(v.prompt == prompt.data() && v.token == token.data());
    prompt.resize(v.num_groups);
    group_begin.resize(v.num_groups + 1);
    token_begin.resize(v.num_rollouts + 1);
    reward.resize(v.num_rollouts);
    correct.resize(v.num_rollouts);
    truncated.resize(v.num_rollouts);
    token.resize(v.num_tokens);
    state.resize(v.num_tokens);
    logprob.resize(v.num_tokens);
  }

  // Capacity for `groups` groups, `rollouts` rollouts and `tokens` tokens (the
  // latter capped at kMaxReservedTokens), allocated once at run start so that
  // no step grows the batch.
  void Reserve(int64_t groups, int64_t rollouts, int64_t tokens) {
    const int64_t t = tokens < kMaxReservedTokens ? tokens : kMaxReservedTokens;
    prompt.reserve(groups);
    group_begin.reserve(groups + 1);
    token_begin.reserve(rollouts + 1);
    reward.reserve(rollouts);
    correct.reserve(rollouts);
    truncated.reserve(rollouts);
    advantage.reserve(rollouts);
    kept.reserve(rollouts);
    baseline.reserve(rollouts);
    token.reserve(t);
    state.reserve(t);
    logprob.reserve(t);
  }

  // Appends group g of `src` (its rollouts and tokens; advantages and token
  // rewards are not copied).
  void AppendGroup(const Batch& src, int g) {
    prompt.push_back(src.prompt[g]);
    for (int r = src.group_begin[g]; r < src.group_begin[g + 1]; ++r) {
      reward.push_back(src.reward[r]);
      correct.push_back(src.correct[r]);
      truncated.push_back(src.truncated[r]);
      for (int t = src.token_begin[r]; t < src.token_begin[r + 1]; ++t) {
        token.push_back(src.token[t]);
        state.push_back(src.state[t]);
        logprob.push_back(src.logprob[t]);
      }
      token_begin.push_back(static_cast<int32_t>(token.size()));
    }
    group_begin.push_back(static_cast<int32_t>(reward.size()));
  }

  // Empties the batch, keeping capacity (a step allocates nothing once warm).
  void Clear() {
    prompt.clear();
    group_begin.assign(1, 0);
    token_begin.assign(1, 0);
    reward.clear();
    correct.clear();
    truncated.clear();
    advantage.clear();
    kept.clear();
    baseline.clear();
    token_advantage.clear();
    token_reward.clear();
    value.clear();
    token.clear();
    state.clear();
    logprob.clear();
  }
};

}  // namespace advlab

#endif  // ADVLAB_SIM_BATCH_H_
