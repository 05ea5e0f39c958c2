// The optimizers' updates as host/device step functions over plain data
// (policies/optim.h holds the virtual adaptors that call them):
//   SgdStep   p <- p - lr * g on the touched blocks of a sparse gradient
//   AdamStep  the dense Adam update of every parameter, with its state
// The arithmetic and its order are those of the formulas in policies/optim.h.
#ifndef ADVLAB_POLICIES_OPTIM_STEP_H_
#define ADVLAB_POLICIES_OPTIM_STEP_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/policy.h"

namespace advlab {

// params -= lr * grad on grad's touched blocks, in touched order (untouched
// blocks have g = 0 and keep their values). params: [num_blocks x block_size].
ADVLAB_HD inline void SgdStep(double lr, const SparseGradView& grad, double* params) {
  const int64_t bs = grad.block_size;
  for (int32_t j = 0; j < grad.num_touched; ++j) {
    const int64_t o = static_cast<int64_t>(grad.touched[j]) * bs;
    double* p = params + o;
    const double* g = grad.value + o;
    for (int64_t i = 0; i < bs; ++i) p[i] -= lr * g[i];
  }
}

// Adam's hyper-parameters and state (PyTorch semantics, no weight decay).
struct AdamState {
  double lr = 0.0;         // learning rate
  double beta1 = 0.0;      // first-moment decay
  double beta2 = 0.0;      // second-moment decay
  double eps = 0.0;        // denominator epsilon
  double beta1_pow = 1.0;  // beta1^t after the last step (a running product, no pow)
  double beta2_pow = 1.0;  // beta2^t after the last step
  int64_t last_step = 0;   // the last step taken (steps count from 1)
  int64_t num_params = 0;  // length of m and v
  double* m = nullptr;     // [num_params] first moment
  double* v = nullptr;     // [num_params] second moment
  double update_sq = 0.0;  // squared L2 norm of the last step's update (index order)
};

// One Adam step of every parameter (dense: every parameter moves, as in
// PyTorch):
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// and the squared norm of the update, summed in index order, in update_sq.
// grad: [num_params] dense values (a SparseGrad's value, zero outside its
// touched blocks). `step` must be last_step + 1 (the bias corrections assume
// consecutive steps; the caller checks it).
ADVLAB_HD inline void AdamStep(AdamState* st, const double* ADVLAB_RESTRICT grad, int64_t step,
                               double* ADVLAB_RESTRICT params) {
  ADVLAB_HD_CHECK(step == st->last_step + 1);
  st->last_step = step;
  st->beta1_pow *= st->beta1;
  st->beta2_pow *= st->beta2;
  const double c1 = 1.0 - st->beta1_pow;
  const double c2 = 1.0 - st->beta2_pow;
  const double lr = st->lr, b1 = st->beta1, b2 = st->beta2, eps = st->eps;
  double* ADVLAB_RESTRICT m = st->m;
  double* ADVLAB_RESTRICT v = st->v;
  const int64_t n = st->num_params;
  double sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
    v[i] = b2 * v[i] + (1.0 - b2) * (grad[i] * grad[i]);
    const double mhat = m[i] / c1;
    const double vhat = v[i] / c2;
    const double d = lr * mhat / (dm::Sqrt(vhat) + eps);  // IEEE sqrt: correctly rounded
    params[i] -= d;
    sq += d * d;
  }
  st->update_sq = sq;
}

}  // namespace advlab

#endif  // ADVLAB_POLICIES_OPTIM_STEP_H_
