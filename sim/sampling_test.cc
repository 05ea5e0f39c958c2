#include "sim/sampling.h"

#include <gtest/gtest.h>

#include <vector>

#include "sim/rng.h"

namespace advlab {
namespace {

// The defining rule, by a plain count.
int CountRule(const std::vector<double>& p, double u) {
  double acc = 0;
  int a = 0;
  for (size_t k = 0; k + 1 < p.size(); ++k) {
    acc += p[k];
    a += acc <= u ? 1 : 0;
  }
  return a;
}

TEST(SamplingTest, BinarySearchEqualsTheCountRule) {
  Philox rng(3);
  for (int n : {1, 2, 3, 5, 8, 9, 16, 17, 33}) {
    const int pad = PaddedSize(n);
    ASSERT_GE(pad, n);
    ASSERT_LT(pad, 2 * n + 1);
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<double> p(n);
      double sum = 0;
      for (int k = 0; k < n; ++k) {
        // Some exact zeros, so ties and empty bins are exercised.
        const uint32_t w = rng.Draw(Purpose::kEval, n, trial, k).w[0];
        p[k] = (w % 5 == 0) ? 0.0 : U01(w);
        sum += p[k];
      }
      for (double& x : p) x = sum > 0 ? x / sum : 1.0 / n;
      std::vector<double> cdf(pad);
      BuildPaddedCdf(p.data(), n, pad, cdf.data());
      for (int j = 0; j < 200; ++j) {
        double u[4];
        for (int l = 0; l < 4; ++l) u[l] = U01(rng.Draw(Purpose::kEval, n, trial, 1000 + j).w[l]);
        // The extreme draws U01 can produce: never n, never a zero-probability action.
        if (j == 0) u[3] = U01(0xffffffffu);
        if (j == 1) u[3] = U01(0);
        const double* rows[4] = {cdf.data(), cdf.data(), cdf.data(), cdf.data()};
        int a4[4];
        SearchCdf4(rows, pad, u, a4);
        for (int l = 0; l < 4; ++l) {
          const int a = SearchCdf(cdf.data(), pad, u[l]);
          ASSERT_EQ(a, CountRule(p, u[l])) << "n=" << n << " u=" << u[l];
          ASSERT_EQ(a4[l], a);
          ASSERT_GE(a, 0);
          ASSERT_LT(a, n);
          if (p[a] == 0.0) ADD_FAILURE() << "sampled a zero-probability action";
        }
      }
    }
  }
}

TEST(SamplingTest, CompileTimePadMatchesRuntimePad) {
  const double p[16] = {0.1, 0.0, 0.2, 0.05, 0.05, 0.1, 0.1, 0.0,
                        0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.02, 0.05};
  double cdf[16];
  BuildPaddedCdf(p, 16, 16, cdf);
  const double* rows[4] = {cdf, cdf, cdf, cdf};
  for (double base : {0.0, 0.3, 0.7, 0.95}) {
    const double u[4] = {base + 0.01, base + 0.02, base + 0.03, base + 0.04};
    int a[4], b[4];
    SearchCdf4<16>(rows, 0, u, a);
    SearchCdf4(rows, 16, u, b);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(a[j], b[j]);
  }
}

}  // namespace
}  // namespace advlab
