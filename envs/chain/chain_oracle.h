// The `chain` family's exact oracle as host/device step functions: the forward
// DP (success probability), the backward DP (exact gradient terms, through a
// sink), the sequence-level KL and greedy decoding, templates over a rows
// type (sim/policy_rows.h). The rules and the DP are documented in
// envs/chain/chain.h; the plain data they read is in envs/chain/chain_step.h.
#ifndef ADVLAB_ENVS_CHAIN_CHAIN_ORACLE_H_
#define ADVLAB_ENVS_CHAIN_CHAIN_ORACLE_H_

#include <cstdint>

#include "envs/chain/chain_step.h"
#include "sim/features.h"
#include "sim/policy_rows.h"

namespace advlab {

// ---- exact oracle ---------------------------------------------------------------------

// Forward DP: mu[t m + v] for t < n (see chain.h), returns the success
// probability.
template <class Rows>
ADVLAB_HD double ChainForward(const ChainModel& model, Rows& rows, int32_t prompt,
                              const int32_t* correct, double* mu) {
  // mu[t m + v]: probability that decision t is taken after value v and the
  // response can still succeed; after the last decision only the correct final
  // value survives (outcome), and for all_steps only correct prefixes survive.
  const int32_t m = model.modulus;
  const int32_t n = ChainDepth(model, prompt);
  const int32_t* ops = ChainOps(model, prompt);
  const bool all_steps = model.all_steps;
  for (int32_t v = 0; v < m; ++v) mu[v] = 0.0;
  mu[model.start[prompt]] = 1.0;
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
        g += f[v] * rows.Probs(ChainState(model, ops[t], v))[c];
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
        const double* pr = rows.Probs(ChainState(model, ops[t], v));
        const double fv = f[v];
        for (int32_t a = 0; a < m; ++a) next[a] += fv * pr[a];
      }
    }
  }
  return success;
}

// Probability that a response to `prompt` earns reward 1 (current rules).
template <class Rows>
ADVLAB_HD double ChainSuccessProbability(const ChainModel& m, const ChainData& d, Rows& rows,
                                         int32_t prompt, const ChainOracleScratch& sc) {
  ChainCorrectResults(m, d, prompt, sc.correct);
  return ChainForward(m, rows, prompt, sc.correct, sc.mu);
}

// The exact gradient of weight * success as terms sink.Add(state, action, coef)
// (every nonzero coef = weight mu_t(v) pi(a | op_t, v) B_t(a), in (t, v, a) order).
template <class Rows, class Sink>
ADVLAB_HD void ChainSuccessGradientTerms(const ChainModel& model, const ChainData& d, Rows& rows,
                                         int32_t prompt, double weight,
                                         const ChainOracleScratch& sc, Sink& sink) {
  const int32_t m = model.modulus;
  const int32_t n = ChainDepth(model, prompt);
  const int32_t* ops = ChainOps(model, prompt);
  const bool all_steps = model.all_steps;
  int32_t* correct = sc.correct;
  double* mu = sc.mu;
  double* back = sc.back;
  ChainCorrectResults(model, d, prompt, correct);
  ChainForward(model, rows, prompt, correct, mu);

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
      const double* pr = rows.Probs(ChainState(model, ops[t + 1], a));
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
      const int32_t st = ChainState(model, ops[t], v);
      const double* pr = rows.Probs(st);
      const double wf = weight * f[v];
      for (int32_t a = 0; a < m; ++a) {
        const double c = wf * pr[a] * b[a];
        if (c != 0.0) sink.Add(st, a, c);
      }
    }
  }
}

// Sequence-level KL(P_rows(response | prompt) || P_ref(response | prompt))
// (nats), exactly: every response has n tokens and decision t is taken in
// state (op_t, v) with v the previous token, so by the chain rule the KL is
// sum_t sum_v P(v_prev at t = v) KL(rows(.|s) || ref(.|s)), s = (op_t, v). The
// visit masses are a forward DP over all values (unlike ChainForward's
// surviving mass), in (t, v, a) order; `mu` is scratch of n m doubles.
template <class Rows, class RefRows>
ADVLAB_HD double ChainSequenceKL(const ChainModel& model, Rows& rows, RefRows& ref, int32_t prompt,
                                 double* mu) {
  const int32_t m = model.modulus;
  const int32_t n = ChainDepth(model, prompt);
  const int32_t* ops = ChainOps(model, prompt);
  for (int32_t v = 0; v < m; ++v) mu[v] = 0.0;
  mu[model.start[prompt]] = 1.0;
  double kl = 0.0;
  for (int32_t t = 0; t < n; ++t) {
    const double* f = mu + static_cast<int64_t>(t) * m;
    double* next = t + 1 < n ? mu + static_cast<int64_t>(t + 1) * m : nullptr;
    if (next != nullptr) {
      for (int32_t a = 0; a < m; ++a) next[a] = 0.0;
    }
    for (int32_t v = 0; v < m; ++v) {
      if (f[v] == 0.0) continue;  // never visited: no term
      const int32_t s = ChainState(model, ops[t], v);
      const double* pr = rows.Probs(s);
      const double* lp = rows.LogProbs(s);
      kl += f[v] * RowKL(pr, lp, ref.LogProbs(s), m);
      if (next == nullptr) continue;
      const double fv = f[v];
      for (int32_t a = 0; a < m; ++a) next[a] += fv * pr[a];
    }
  }
  return kl;
}

// Greedy decoding: the reward of the response taking the most probable value
// (lowest on ties) at each decision; *length = depth.
template <class Rows>
ADVLAB_HD double ChainGreedyReward(const ChainModel& model, const ChainData& d, Rows& rows,
                                   int32_t prompt, int32_t* length) {
  const int32_t m = model.modulus;
  const int32_t n = ChainDepth(model, prompt);
  const int32_t* ops = ChainOps(model, prompt);
  int32_t v = model.start[prompt];  // the model's previous token
  int32_t c = model.start[prompt];  // the correct running result (current rules)
  bool all = true;
  for (int32_t t = 0; t < n; ++t) {
    const double* probs = rows.Probs(ChainState(model, ops[t], v));
    int32_t best = 0;
    for (int32_t a = 1; a < m; ++a) {
      if (probs[a] > probs[best]) best = a;  // strict: the lowest value wins ties
    }
    c = d.next[ops[t] * m + c];
    all = all && best == c;
    v = best;
  }
  *length = n;
  const bool ok = model.all_steps ? all : v == c;
  return ok ? 1.0 : 0.0;
}

}  // namespace advlab

#endif  // ADVLAB_ENVS_CHAIN_CHAIN_ORACLE_H_
