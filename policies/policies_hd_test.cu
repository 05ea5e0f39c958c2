// Compile-only (tests/hd_compile_test.sh): policies/'s host/device functions
// called from a kernel — the sparse gradient view and global-norm clipping, the
// tabular gradient and staleness marks, and the SGD and Adam steps.
#include "policies/optim_step.h"
#include "policies/tabular_step.h"
#include "sim/policy.h"
#include "sim/policy_rows.h"

namespace advlab {

__global__ void TabularUpdateKernel(const int32_t* state, const int32_t* token, const double* coef,
                                    int num_tokens, TabularRows rows, TabularGradScratch scratch,
                                    SparseGradView grad, double* params, double* sink) {
  grad.Clear();
  TabularAccumulateGradRange(state, token, coef, 0, num_tokens / 2, &scratch, &grad);
  TabularAccumulateGradRange(state, token, coef, num_tokens / 2, num_tokens, &scratch, &grad);
  TabularFinishGrad(&rows, &scratch, &grad);
  const double norm = ClipGlobalNorm(grad, 1.0);
  grad.Scale(0.5);
  sink[0] = norm + grad.Norm() + grad.Block(0)[0] + grad.Touch(0)[0];
  SgdStep(0.1, grad, params);
  TabularMarkStale(grad, rows.fresh);
}

__global__ void AdamKernel(AdamState state, const double* grad, double* params, uint8_t* fresh,
                           int32_t num_states) {
  AdamStep(&state, grad, 1, params);
  TabularMarkAllStale(fresh, num_states);
}

}  // namespace advlab
