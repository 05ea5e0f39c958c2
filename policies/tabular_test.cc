#include "policies/tabular.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "policies/optim.h"
#include "policies/optim_step.h"
#include "policies/tabular_step.h"
#include "policies/testing.h"
#include "sim/dmath.h"
#include "sim/softmax.h"

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


// --- The plain-data (host/device) step functions against the virtual path and
// the loops they replaced (kept here as the reference, verbatim in arithmetic).

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void ExpectSameBits(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(SameBits(a[i], b[i])) << i;
}

// A random batch of one-token rollouts over S states (some states absent) and
// coefficients with zeros among them.
struct RandomCase {
  Batch batch;
  std::vector<double> coef;
};

RandomCase MakeRandomCase(std::mt19937_64& rng, int S, int K, int T) {
  std::vector<std::pair<int, int>> st;
  for (int t = 0; t < T; ++t) {
    st.emplace_back(static_cast<int>(rng() % (S - 1)), static_cast<int>(rng() % K));
  }
  RandomCase rc{MakeBatch(st), {}};
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  for (int t = 0; t < T; ++t) rc.coef.push_back(rng() % 4 == 0 ? 0.0 : u(rng));
  return rc;
}

void RandomLogits(std::mt19937_64& rng, TabularPolicy* policy) {
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  for (int64_t i = 0; i < policy->num_params(); ++i) policy->params()[i] = u(rng);
  policy->ParamsChanged();
}

// The tabular gradient as it was written before the step functions: e_a parts
// in token order, then -(sum c) pi once per state in first-listed order.
struct LegacyGrad {
  std::vector<double> value;
  std::vector<int32_t> touched;
};
LegacyGrad LegacyTabularGrad(const std::vector<double>& logits, int S, int K, const Batch& b,
                             const double* coef) {
  LegacyGrad g{std::vector<double>(static_cast<size_t>(S) * K, 0.0), {}};
  std::vector<uint8_t> is_touched(S, 0), listed(S, 0);
  std::vector<double> coef_sum(S, 0.0);
  std::vector<int32_t> states;
  for (int t = 0; t < b.num_tokens(); ++t) {
    const double c = coef[t];
    if (c == 0.0) continue;
    const int32_t s = b.state[t];
    if (!listed[s]) {
      listed[s] = 1;
      states.push_back(s);
    }
    if (!is_touched[s]) {
      is_touched[s] = 1;
      g.touched.push_back(s);
    }
    g.value[static_cast<size_t>(s) * K + b.token[t]] += c;
    coef_sum[s] += c;
  }
  std::vector<double> p(K), lp(K);
  for (int32_t s : states) {
    SoftmaxRowDispatch(logits.data() + static_cast<size_t>(s) * K, K, p.data(), lp.data());
    for (int k = 0; k < K; ++k) g.value[static_cast<size_t>(s) * K + k] -= coef_sum[s] * p[k];
  }
  return g;
}

TEST(TabularStepTest, GradientStepFunctionsMatchVirtualPathAndLegacyLoops) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int S = 2 + static_cast<int>(rng() % 30), K = 1 + static_cast<int>(rng() % 9);
    const int T = 1 + static_cast<int>(rng() % 200);
    TabularPolicy policy(S, K);
    RandomLogits(rng, &policy);
    const RandomCase rc = MakeRandomCase(rng, S, K, T);
    const std::vector<double> logits(policy.params(), policy.params() + policy.num_params());
    const LegacyGrad legacy = LegacyTabularGrad(logits, S, K, rc.batch, rc.coef.data());

    // The virtual path, the tokens split into random micro-batch ranges; the
    // first range starts on a gradient the previous trial left (cleared).
    SparseGrad virt;
    virt.Init(policy.num_params(), K);
    for (int rep = 0; rep < 2; ++rep) {
      virt.Clear();
      int t0 = 0;
      while (t0 < T) {
        const int t1 = std::min(T, t0 + static_cast<int>(rng() % 40));
        policy.AccumulateGradRange(rc.batch, rc.coef.data(), t0, t1, &virt);
        t0 = t1;
      }
      policy.FinishGrad(&virt);
      ExpectSameBits(virt.value, legacy.value);
      EXPECT_EQ(std::vector<int32_t>(virt.touched.begin(), virt.touched.end()), legacy.touched);
    }

    // The step functions over plain arrays (a fresh copy of the tables, every
    // row stale), with another split.
    std::vector<double> probs(logits.size()), logprobs(logits.size());
    std::vector<uint8_t> fresh(S, 0), listed(S, 0), is_touched(S, 0);
    std::vector<double> coef_sum(S, 0.0), value(logits.size(), 0.0);
    std::vector<int32_t> states(S), touched(S);
    TabularRows rows{logits.data(), probs.data(), logprobs.data(), fresh.data(), K};
    TabularGradScratch scratch{coef_sum.data(), listed.data(), states.data(), 0};
    SparseGradView g{value.data(), touched.data(), is_touched.data(), 0, K};
    const int mid = static_cast<int>(rng() % (T + 1));
    TabularAccumulateGradRange(rc.batch.state.data(), rc.batch.token.data(), rc.coef.data(), 0,
                               mid, &scratch, &g);
    TabularAccumulateGradRange(rc.batch.state.data(), rc.batch.token.data(), rc.coef.data(), mid,
                               T, &scratch, &g);
    TabularFinishGrad(&rows, &scratch, &g);
    ExpectSameBits(value, legacy.value);
    EXPECT_EQ(std::vector<int32_t>(touched.begin(), touched.begin() + g.num_touched),
              legacy.touched);
    // The scratch is clean again.
    EXPECT_EQ(scratch.num_states, 0);
    for (int s = 0; s < S; ++s) EXPECT_TRUE(listed[s] == 0 && coef_sum[s] == 0.0);
  }
}

TEST(TabularStepTest, SparseGradViewAndClippingMatchLegacyLoops) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-5.0, 5.0);
  const int blocks = 17, bs = 6;
  SparseGrad g;
  g.Init(blocks * bs, bs);
  for (int rep = 0; rep < 5; ++rep) {
    g.Clear();
    EXPECT_TRUE(g.touched.empty());
    std::vector<int32_t> order;
    for (int i = 0; i < 25; ++i) {
      const int32_t b = static_cast<int32_t>(rng() % blocks);
      if (!g.is_touched[b]) order.push_back(b);
      g.Touch(b)[rng() % bs] += u(rng);
    }
    ASSERT_EQ(g.touched.size(), order.size());
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(g.touched[i], order[i]);
    double sq = 0.0;
    for (int32_t b : order) {
      for (int i = 0; i < bs; ++i) sq += g.value[b * bs + i] * g.value[b * bs + i];
    }
    const double legacy_norm = std::sqrt(sq);
    EXPECT_TRUE(SameBits(g.Norm(), legacy_norm));
    // Clipping as the loop does it (Norm, then Scale) and as one call.
    const double max_norm = legacy_norm * 0.5;
    SparseGrad h = g;
    const double n1 = h.Norm();
    if (n1 > max_norm) h.Scale(max_norm / n1);
    std::vector<double> clipped = g.value;
    const double n2 = ClipGlobalNorm(SparseGradView{clipped.data(), g.touched.storage.data(),
                                                    g.is_touched.data(), g.touched.count, bs},
                                     max_norm);
    EXPECT_TRUE(SameBits(n1, n2));
    ExpectSameBits(clipped, h.value);
    // No clipping at max_norm 0 (off) or above the norm.
    std::vector<double> same = g.value;
    const SparseGradView off{same.data(), g.touched.storage.data(), g.is_touched.data(),
                             g.touched.count, bs};
    ClipGlobalNorm(off, 0.0);
    ClipGlobalNorm(off, 2.0 * legacy_norm);
    ExpectSameBits(same, g.value);
  }
  g.Clear();
  for (double x : g.value) EXPECT_EQ(x, 0.0);
  for (uint8_t x : g.is_touched) EXPECT_EQ(x, 0);
}

// A random sparse gradient over `blocks` blocks.
void RandomSparseGrad(std::mt19937_64& rng, int blocks, SparseGrad* g) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  g->Clear();
  const int n = 1 + static_cast<int>(rng() % (2 * blocks));
  for (int i = 0; i < n; ++i) {
    double* v = g->Touch(static_cast<int32_t>(rng() % blocks));
    for (int64_t k = 0; k < g->block_size; ++k) v[k] = u(rng);
  }
}

TEST(TabularStepTest, SgdStepMatchesVirtualPathAndLegacyLoop) {
  std::mt19937_64 rng(3);
  const int blocks = 13, bs = 5, n = blocks * bs;
  std::vector<double> virt(n), hd(n), legacy(n);
  for (int i = 0; i < n; ++i) virt[i] = hd[i] = legacy[i] = std::sin(0.3 * i);
  SparseGrad g;
  g.Init(n, bs);
  Sgd sgd(0.37);
  for (int step = 1; step <= 6; ++step) {
    RandomSparseGrad(rng, blocks, &g);
    EXPECT_FALSE(sgd.Step(g, step, virt.data()));
    SgdStep(0.37, g.View(), hd.data());
    for (int32_t b : g.touched) {
      for (int i = 0; i < bs; ++i) legacy[b * bs + i] -= 0.37 * g.value[b * bs + i];
    }
    ExpectSameBits(virt, legacy);
    ExpectSameBits(hd, legacy);
  }
}

TEST(TabularStepTest, AdamStepMatchesVirtualPathAndLegacyLoop) {
  std::mt19937_64 rng(5);
  const int blocks = 9, bs = 4, n = blocks * bs;
  const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> virt(n), hd(n), legacy(n);
  for (int i = 0; i < n; ++i) virt[i] = hd[i] = legacy[i] = std::cos(0.7 * i);
  std::vector<double> m(n, 0.0), v(n, 0.0), lm(n, 0.0), lv(n, 0.0);
  AdamState state;
  state.lr = lr, state.beta1 = b1, state.beta2 = b2, state.eps = eps;
  state.num_params = n, state.m = m.data(), state.v = v.data();
  double p1 = 1.0, p2 = 1.0;
  SparseGrad g;
  g.Init(n, bs);
  Adam adam(n, lr, b1, b2, eps);
  for (int step = 1; step <= 8; ++step) {
    RandomSparseGrad(rng, blocks, &g);
    EXPECT_TRUE(adam.Step(g, step, virt.data()));
    AdamStep(&state, g.value.data(), step, hd.data());
    EXPECT_EQ(state.last_step, step);
    p1 *= b1;
    p2 *= b2;
    const double c1 = 1.0 - p1, c2 = 1.0 - p2;
    for (int i = 0; i < n; ++i) {  // every parameter moves (dense), untouched ones too
      lm[i] = b1 * lm[i] + (1.0 - b1) * g.value[i];
      lv[i] = b2 * lv[i] + (1.0 - b2) * (g.value[i] * g.value[i]);
      legacy[i] -= lr * (lm[i] / c1) / (std::sqrt(lv[i] / c2) + eps);
    }
    ExpectSameBits(virt, legacy);
    ExpectSameBits(hd, legacy);
    ExpectSameBits(m, lm);
    ExpectSameBits(v, lv);
  }
}

TEST(TabularStepTest, MarkStaleRecomputesExactlyTheChangedRows) {
  std::mt19937_64 rng(9);
  const int S = 6, K = 4;
  TabularPolicy policy(S, K);
  RandomLogits(rng, &policy);
  TabularRows& rows = *policy.tabular_rows();
  for (int s = 0; s < S; ++s) rows.Probs(s);  // every row fresh
  SparseGrad g;
  g.Init(S * K, K);
  g.Touch(4)[1] = 0.5;
  g.Touch(1)[0] = -0.25;
  SgdStep(1.0, g.View(), policy.params());
  TabularMarkStale(g.View(), rows.fresh);
  for (int s = 0; s < S; ++s) EXPECT_EQ(rows.fresh[s], s == 1 || s == 4 ? 0 : 1) << s;
  // The recomputed rows are the softmax of the new logits.
  std::vector<double> p(K), lp(K);
  SoftmaxRowDispatch(policy.params() + 4 * K, K, p.data(), lp.data());
  for (int k = 0; k < K; ++k) EXPECT_TRUE(SameBits(policy.Probs(4)[k], p[k]));
  TabularMarkAllStale(rows.fresh, S);
  for (int s = 0; s < S; ++s) EXPECT_EQ(rows.fresh[s], 0);
}

}  // namespace
}  // namespace advlab
