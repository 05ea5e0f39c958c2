// The tabular policy's update as host/device step functions over plain data
// (policies/tabular.h is the virtual adaptor that calls them):
//   TabularAccumulateGradRange  the e_a part of the gradient of a token range
//   TabularFinishGrad           each pending row's -(sum of coefficients) pi_s
//   TabularMarkStale / TabularMarkAllStale  the softmax rows an update changed
// Gradient of sum_t c_t log pi(a_t | s_t) with respect to row s:
//     g[s, k] = sum_{t: s_t = s} c_t [a_t = k]  -  (sum_{t: s_t = s} c_t) pi(k | s)
// the first term in token order, the second once per state in first-listed
// order, so that splitting the tokens into ranges gives the same bits.
#ifndef ADVLAB_POLICIES_TABULAR_STEP_H_
#define ADVLAB_POLICIES_TABULAR_STEP_H_

#include <cstdint>

#include "sim/features.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"

namespace advlab {

// The rows with a pending softmax term, between AccumulateGradRange calls and
// FinishGrad. Arrays sized to the number of states; coef_sum and listed are 0
// outside the pending states (FinishGrad restores that).
struct TabularGradScratch {
  double* coef_sum = nullptr;  // [states] sum of the coefficients of the state's tokens
  uint8_t* listed = nullptr;   // [states] 1 if the state is in `states`
  int32_t* states = nullptr;   // [states] pending states in first-listed order
  int32_t num_states = 0;      // valid entries of `states`
};

// grad += the e_a part of d/dz sum_{t in [begin, end)} coef[t] log pi(token[t] |
// state[t]), in token order; the states met are listed in `scratch` with their
// coefficient sums. Tokens with coef == 0 are skipped (they contribute exactly
// zero). state/token/coef: the batch's per-token arrays; grad.block_size must
// be the number of actions.
ADVLAB_HD inline void TabularAccumulateGradRange(const int32_t* ADVLAB_RESTRICT state,
                                                 const int32_t* ADVLAB_RESTRICT token,
                                                 const double* ADVLAB_RESTRICT coef, int begin,
                                                 int end, TabularGradScratch* scratch,
                                                 SparseGradView* grad) {
  double* coef_sum = scratch->coef_sum;
  uint8_t* listed = scratch->listed;
  int32_t* states = scratch->states;
  int32_t n = scratch->num_states;
  for (int t = begin; t < end; ++t) {
    const double c = coef[t];
    if (c == 0.0) continue;  // contributes exactly zero
    const int32_t s = state[t];
    if (!listed[s]) {
      listed[s] = 1;
      states[n++] = s;
    }
    double* g = grad->Touch(s);
    g[token[t]] += c;
    coef_sum[s] += c;
  }
  scratch->num_states = n;
}

// Completes the gradient: for each pending state s, grad[s, .] -= coef_sum[s] *
// pi(. | s) (the policy's rows, recomputed where stale), then clears the
// scratch.
ADVLAB_HD inline void TabularFinishGrad(TabularRows* rows, TabularGradScratch* scratch,
                                        SparseGradView* grad) {
  const int32_t n = scratch->num_states;
  const int32_t* states = scratch->states;
  double* coef_sum = scratch->coef_sum;
  uint8_t* listed = scratch->listed;
  const int32_t K = rows->num_actions;
  for (int32_t j = 0; j < n; ++j) {
    const int32_t s = states[j];
    const double* p = rows->Probs(s);
    double* g = grad->value + rows->Row(s);
    const double c = coef_sum[s];
    for (int k = 0; k < K; ++k) g[k] -= c * p[k];
    coef_sum[s] = 0.0;
    listed[s] = 0;
  }
  scratch->num_states = 0;
}

// After an update that wrote only the touched blocks of `changed` (sparse SGD):
// those rows' cached distributions are stale. fresh: TabularRows::fresh.
ADVLAB_HD inline void TabularMarkStale(const SparseGradView& changed, uint8_t* fresh) {
  for (int32_t j = 0; j < changed.num_touched; ++j) fresh[changed.touched[j]] = 0;
}

// After a dense update (Adam): every row is stale.
ADVLAB_HD inline void TabularMarkAllStale(uint8_t* fresh, int32_t num_states) {
  for (int32_t s = 0; s < num_states; ++s) fresh[s] = 0;
}

}  // namespace advlab

#endif  // ADVLAB_POLICIES_TABULAR_STEP_H_
