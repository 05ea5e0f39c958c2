// Compile-only (tests/hd_compile_test.sh): sim/'s host/device functions called
// from a kernel — Philox draws, the in-house exp/log, the softmax, inverse-CDF
// sampling, the tabular rows and the batch view.
#include "sim/batch.h"
#include "sim/dmath.h"
#include "sim/loss.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"
#include "sim/sampling.h"
#include "sim/softmax.h"

namespace advlab {

__global__ void SimKernel(uint64_t seed, TabularRows rows, BatchView out, double* sink) {
  const Philox rng(seed);
  const Words4 w = rng.Draw(Purpose::kRollout, 1, threadIdx.x, 0);
  const double u = U01(w.w[0]);
  const double* p = rows.Probs(static_cast<int32_t>(threadIdx.x));
  const double* lp = rows.LogProbs(static_cast<int32_t>(threadIdx.x));
  double cdf[16];
  BuildPaddedCdf(p, rows.num_actions, 16, cdf);
  const int a = SearchCdf(cdf, 16, u);
  out.BeginGroup(0);
  out.PushToken(a, 0, lp[a]);
  out.EndRollout(1.0, true, false);
  out.EndGroup();
  sink[threadIdx.x] = dm::Exp(u) + dm::Sqrt(u) + dm::Log(u) + dm::Log1p(u) + dm::Tanh(u) +
                      TokenWeight(LossAgg::kTokenMean, 3, 4, 12, 1.0);
}

}  // namespace advlab
