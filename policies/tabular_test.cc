#include "policies/tabular.h"

#include <gtest/gtest.h>

#include <cmath>

#include "policies/optim.h"
#include "policies/testing.h"

namespace advlab {
namespace {

// Objective of the gradient: sum_t coef_t log pi(token_t | state_t), in long
// double with libm (an independent reference).
long double Objective(const std::vector<double>& z, int K, const Batch& b, const double* coef) {
  long double f = 0;
  for (int t = 0; t < b.num_tokens(); ++t) {
    const double* row = z.data() + static_cast<size_t>(b.state[t]) * K;
    long double m = row[0];
    for (int k = 1; k < K; ++k) m = std::max<long double>(m, row[k]);
    long double s = 0;
    for (int k = 0; k < K; ++k) s += std::exp(static_cast<long double>(row[k]) - m);
    f += coef[t] * (row[b.token[t]] - m - std::log(s));
  }
  return f;
}

Batch MakeBatch(const std::vector<std::pair<int, int>>& state_token) {
  return test_util::MakeTokenBatch(state_token);
}

TEST(TabularTest, GradientMatchesCentralFiniteDifferences) {
  const int S = 3, K = 5;
  TabularPolicy policy(S, K);
  for (int i = 0; i < S * K; ++i) policy.params()[i] = std::sin(1.7 * i) * 2.0;
  policy.ParamsChanged();
  Batch b = MakeBatch({{0, 1}, {2, 4}, {0, 1}, {0, 3}, {2, 0}});
  const double coef[] = {0.7, -1.3, 0.25, -0.4, 2.0};
  SparseGrad g;
  g.Init(policy.num_params(), K);
  policy.AccumulateGrad(b, coef, &g);
  std::vector<double> z(policy.params(), policy.params() + S * K);
  for (int i = 0; i < S * K; ++i) {
    const double h = 1e-6;
    std::vector<double> zp = z, zm = z;
    zp[i] += h;
    zm[i] -= h;
    const double fd = static_cast<double>((Objective(zp, K, b, coef) - Objective(zm, K, b, coef)) / (2 * h));
    EXPECT_NEAR(g.value[i], fd, 1e-8) << "param " << i;
  }
  // State 1 is absent from the batch: its row is untouched and zero.
  EXPECT_FALSE(g.is_touched[1]);
  for (int k = 0; k < K; ++k) EXPECT_EQ(g.value[K + k], 0.0);
}

TEST(TabularTest, ProbabilitiesAreASoftmaxAndCacheFollowsUpdates) {
  TabularPolicy policy(2, 3);
  double* z = policy.params();
  z[0] = 1, z[1] = 2, z[2] = 3, z[3] = 0, z[4] = 0, z[5] = 0;
  policy.ParamsChanged();
  const double* p = policy.Probs(0);
  const double e = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(p[2], std::exp(3.0) / e, 1e-15);
  EXPECT_NEAR(policy.LogProbs(0)[0], 1.0 - std::log(e), 1e-15);
  EXPECT_NEAR(policy.Entropy(1), std::log(3.0), 1e-15);
  // Sparse SGD changes only touched rows, and the cache follows.
  Batch b = MakeBatch({{1, 0}});
  const double coef[] = {-1.0};  // loss = -log pi(0|1): SGD raises pi(0|1)
  SparseGrad g;
  g.Init(6, 3);
  policy.AccumulateGrad(b, coef, &g);
  Sgd sgd(0.5);
  EXPECT_FALSE(sgd.Step(g, 1, policy.params()));
  policy.BlocksChanged(g);
  EXPECT_EQ(z[0], 1.0);
  EXPECT_GT(policy.Probs(1)[0], 1.0 / 3.0);
  EXPECT_NEAR(z[3], 0.5 * (1 - 1.0 / 3.0), 1e-15);
}

TEST(TabularTest, AdamMatchesHandComputedSteps) {
  // Two Adam steps on one parameter with g = 0.5 then -1 (PyTorch semantics).
  SparseGrad g;
  g.Init(1, 1);
  double p = 1.0;
  Adam adam(1, 0.1, 0.9, 0.999, 1e-8);
  g.Touch(0)[0] = 0.5;
  adam.Step(g, 1, &p);
  // m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25 -> step 0.1 * 0.5 / (0.5 + 1e-8)
  EXPECT_NEAR(p, 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  g.value[0] = -1.0;
  const double p1 = p;
  adam.Step(g, 2, &p);
  const double m = 0.9 * 0.05 + 0.1 * -1.0, v = 0.999 * 0.00025 + 0.001 * 1.0;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
  EXPECT_NEAR(p, p1 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8), 1e-15);
}

}  // namespace
}  // namespace advlab
