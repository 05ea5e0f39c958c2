// What a step function reads of a policy: the distribution at a decision.
//
// Step functions (ADVLAB_HD, envs/<family>/<family>_step.h) are templates over
// a "rows" type with two members,
//     const double* Probs(int32_t state)      num_actions probabilities
//     const double* LogProbs(int32_t state)   their logs (in-house log)
// valid until the next parameter update. Two types model it:
//   TabularRows  plain data (a tabular policy's tables): host and device, no
//                virtual call; a stale row is recomputed on first use.
//   VirtualRows  the adaptor for every other policy (the MLP): host only, one
//                virtual Policy call per decision.
// WithRows(policy, fn) calls fn with the tabular rows when the policy has them,
// else with the adaptor: one instantiation of the same step code each, so both
// give the bits the policy's own Probs/LogProbs would.
#ifndef ADVLAB_SIM_POLICY_ROWS_H_
#define ADVLAB_SIM_POLICY_ROWS_H_

#include <cstdint>

#include "sim/features.h"
#include "sim/policy.h"
#include "sim/softmax.h"

namespace advlab {

struct TabularRows {
  const double* logits = nullptr;  // [states x actions] parameters z (read only here)
  double* probs = nullptr;         // [states x actions] pi(. | s), valid where fresh
  double* logprobs = nullptr;      // [states x actions] log pi(. | s), valid where fresh
  uint8_t* fresh = nullptr;        // [states] 1 if the row matches logits
  int32_t num_actions = 0;

  ADVLAB_HD int64_t Row(int32_t s) const { return static_cast<int64_t>(s) * num_actions; }
  ADVLAB_HD void Ensure(int32_t s) {
    if (fresh[s] != 0) return;
    const int64_t row = Row(s);
#if defined(__CUDA_ARCH__)
    Softmax(logits + row, num_actions, probs + row, logprobs + row);
#else
    SoftmaxRowDispatch(logits + row, num_actions, probs + row, logprobs + row);
#endif
    fresh[s] = 1;
  }
  ADVLAB_HD const double* Probs(int32_t s) {
    Ensure(s);
    return probs + Row(s);
  }
  ADVLAB_HD const double* LogProbs(int32_t s) {
    Ensure(s);
    return logprobs + Row(s);
  }
};

struct VirtualRows {
  Policy* policy;
  const double* Probs(int32_t s) { return policy->Probs(s); }
  const double* LogProbs(int32_t s) { return policy->LogProbs(s); }
};

// Entropy of one distribution, -sum_k p_k log p_k in index order (nats): what
// every policy's Entropy computes.
ADVLAB_HD inline double RowEntropy(const double* p, const double* lp, int n) {
  double h = 0.0;
  for (int k = 0; k < n; ++k) h -= p[k] * lp[k];
  return h;
}

// KL(p || q) of one decision, sum_k p_k (log p_k - log q_k) in index order
// (nats): the per-state term of every Task::SequenceKL.
ADVLAB_HD inline double RowKL(const double* p, const double* lp, const double* lq, int n) {
  double kl = 0.0;
  for (int k = 0; k < n; ++k) kl += p[k] * (lp[k] - lq[k]);
  return kl;
}

template <class Fn>
decltype(auto) WithRows(Policy* policy, Fn&& fn) {
  if (TabularRows* rows = policy->tabular_rows()) return fn(*rows);
  VirtualRows v{policy};
  return fn(v);
}

}  // namespace advlab

#endif  // ADVLAB_SIM_POLICY_ROWS_H_
