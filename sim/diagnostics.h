// The exact-gradient diagnostics (diagnostics.exact_gradient). The last step
// before each eval point is also measured against the exact gradient of the
// training objective J = E_{prompt ~ training distribution} [observed reward]
// = fp + (1 - fp - fn) * success:
//   grad_cosine   cosine between the step's actual parameter update and grad J
//   grad_rel_err  mean over S fresh batches (same parameters, separate Philox
//                 streams) of |g_hat - grad J|^2 / |grad J|^2, where g_hat is the
//                 estimator's ascent direction (minus the loss gradient)
//   grad_var      sum of per-parameter sample variances of g_hat over those S
//                 batches, divided by |grad J|^2 (S = diagnostics.samples)
//   grad_mean_cosine  cosine between the mean of those S estimates (the expected
//                 update, up to sampling noise) and grad J: direction only
//   grad_fit_err  min_c |c mean - grad J|^2 / |grad J|^2 = 1 - grad_mean_cosine^2:
//                 the bias left after the best rescaling. An estimator that only
//                 rescales the gradient (dr_grpo's (G-1)/G, token-mean's 1/length
//                 on one prompt) has grad_rel_err > 0 but grad_fit_err ~ 0
//   update_share_binK  share of difficulty bin K in the expected update:
//                 each batch's g_hat = sum_k g_k, g_k the part from the rollouts
//                 of bin k's prompts (sim/gradient.h MaskedBatchGradient); with
//                 g_k averaged over the S batches and g = sum_k g_k,
//                 share_k = <g_k, g> / |g|^2. Projection shares sum to 1 even
//                 when the bins share parameters (MLP; a share may then be < 0),
//                 and are |g_k|^2 / |g|^2 when they do not (tabular). A bin no
//                 batch drew contributes 0 (share 0); NaN for all when g = 0
//   exact_share_binK  the same split of grad J by the training prompts' bins: an
//                 unbiased estimator's update shares match it up to noise;
//                 grpo's move towards p near 0 or 1 by c(p, G) (estimators.md §11.2)
#ifndef ADVLAB_SIM_DIAGNOSTICS_H_
#define ADVLAB_SIM_DIAGNOSTICS_H_

#include <vector>

#include "sim/run_config.h"
#include "sim/run_state.h"

namespace advlab {

// Exact gradient of the training objective J at the current step and parameters
// (dense, ascent direction); with by_bin (kDifficultyBins vectors), also the part
// of it from the training prompts of each difficulty bin.
void ExactObjectiveGradient(const RunConfig& rc, RunState* state, std::vector<double>* out,
                            std::vector<double>* by_bin = nullptr);
class StepObserver;

// sum_i a[i] b[i] in index order (a fixed order: the diagnostics' and the
// trace's cosines and norms).
double Dot(const std::vector<double>& a, const std::vector<double>& b);

// A parameter change, after - before (exact.size() values), against grad J
// (`exact`, exact_sq = Dot(exact, exact)): its norm, and its cosine with grad
// J, NaN when either vanishes (the grad_cosine metric's quantity; the trace's).
struct ChangeVsExact {
  double norm = 0.0;
  double cosine = 0.0;
};
ChangeVsExact CompareChange(const double* before, const double* after,
                            const std::vector<double>& exact, double exact_sq);

// A step measured against the exact gradient (fills the diag_* fields); the
// training step itself is Step(rc, state, observer).
void DiagnosedStep(const RunConfig& rc, RunState* state, StepObserver* observer = nullptr);

}  // namespace advlab

#endif  // ADVLAB_SIM_DIAGNOSTICS_H_
