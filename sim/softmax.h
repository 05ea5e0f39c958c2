// Softmax over one row of logits, shared by every policy and (later) the CUDA
// path. Fixed operation order: max, then exp of the shifted logits (element-wise,
// so SIMD width cannot change a bit), then the sum in index order.
#ifndef ADVLAB_SIM_SOFTMAX_H_
#define ADVLAB_SIM_SOFTMAX_H_

#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

// probs[k] = exp(z[k] - m) / S and logprobs[k] = (z[k] - m) - log S, with
// m = max z and S = sum_k exp(z[k] - m).
ADVLAB_HD ADVLAB_FORCEINLINE void Softmax(const double* ADVLAB_RESTRICT z, int n, double* ADVLAB_RESTRICT probs,
                              double* ADVLAB_RESTRICT logprobs) {
  double m = z[0];
  for (int k = 1; k < n; ++k) m = z[k] > m ? z[k] : m;
  for (int k = 0; k < n; ++k) logprobs[k] = z[k] - m;  // shifted logits, <= 0
  for (int k = 0; k < n; ++k) probs[k] = dm::Exp(logprobs[k]);
  double sum = 0.0;
  for (int k = 0; k < n; ++k) sum += probs[k];
  const double log_sum = dm::Log(sum);
  for (int k = 0; k < n; ++k) probs[k] = probs[k] / sum;
  for (int k = 0; k < n; ++k) logprobs[k] = logprobs[k] - log_sum;
}

#if !defined(__CUDA_ARCH__)
// Softmax of one row on the host, compiled for baseline x86-64 and AVX2 with
// runtime dispatch (sim/softmax.cc); the same bits as Softmax.
void SoftmaxRowDispatch(const double* z, int n, double* probs, double* logprobs);
#endif

}  // namespace advlab

#endif  // ADVLAB_SIM_SOFTMAX_H_
