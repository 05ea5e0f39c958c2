#include "sim/softmax.h"

#include "sim/features.h"

namespace advlab {

ADVLAB_MULTIVERSION void SoftmaxRowDispatch(const double* z, int n, double* probs,
                                            double* logprobs) {
  Softmax(z, n, probs, logprobs);
}

}  // namespace advlab
