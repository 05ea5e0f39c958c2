// The token covariance of "The Entropy Mechanism of Reinforcement Learning for
// Reasoning Language Models" (Cui et al. 2025, arXiv 2505.22617; verl
// clip_cov / kl_cov, estimators.md §3.5-3.6), shared by losses/clip_cov.h and
// losses/kl_cov.h. Over the N tokens of a minibatch's kept rollouts (the
// batch prepass, sim/policy_loss.h):
//   cov_t = (A_t - mean(A)) (log pi_t - mean(log pi))
// log pi at the current parameters, both means over the N tokens (verl:
// masked means over the micro-batch, in float32; here doubles, summed in
// batch order). The entropy change of a softmax policy under a policy-gradient
// step is driven by this covariance: high-covariance tokens (probable and
// advantaged, or improbable and disadvantaged) collapse entropy.
// Host-only (the prepass runs on the host; it sorts).
#ifndef ADVLAB_LOSSES_COVARIANCE_H_
#define ADVLAB_LOSSES_COVARIANCE_H_

#include <cstdint>
#include <vector>

#include "sim/policy_loss.h"

namespace advlab {

// One token of the minibatch: where it is and its covariance.
struct CovToken {
  int rollout = 0;    // index into LossBatch::rollouts
  int index = 0;      // token within the rollout
  int32_t token = 0;  // index in the step's batch (first_token + index)
  double cov = 0.0;
};

// Every token of b in batch order, with cov_t; returns N.
inline int64_t TokenCovariances(const LossBatch& b, std::vector<CovToken>* out) {
  out->clear();
  double sum_a = 0.0, sum_lp = 0.0;
  for (int i = 0; i < b.n; ++i) {
    const LossRollout& r = b.rollouts[i];
    for (int t = 0; t < r.len; ++t) {
      sum_a += r.Advantage(t);
      sum_lp += r.logprob[t];
      out->push_back(CovToken{i, t, b.first_token[i] + t, 0.0});
    }
  }
  const int64_t n = static_cast<int64_t>(out->size());
  if (n == 0) return 0;
  const double mean_a = sum_a / n, mean_lp = sum_lp / n;
  for (CovToken& c : *out) {
    const LossRollout& r = b.rollouts[c.rollout];
    c.cov = (r.Advantage(c.index) - mean_a) * (r.logprob[c.index] - mean_lp);
  }
  return n;
}

// k = max(1, floor(ratio N)) (verl: max(int(ratio * N), 1)).
inline int64_t CovTokenCount(double ratio, int64_t n) {
  const int64_t k = static_cast<int64_t>(ratio * static_cast<double>(n));
  return k > 1 ? k : 1;
}

// Clears every mark of b.
inline void ClearMarks(const LossBatch& b) {
  for (int i = 0; i < b.n; ++i) {
    for (int t = 0; t < b.rollouts[i].len; ++t) b.mark[i][t] = 0;
  }
}

}  // namespace advlab

#endif  // ADVLAB_LOSSES_COVARIANCE_H_
