// Tests of the comparisons in analysis/stats.h: probability of improvement, the
// paired comparison and performance profiles, against hand-computed values.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/stats.h"
#include "sim/rng.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

TEST(ProbabilityOfImprovement, TiesCountHalf) {
  // x = {1, 2, 3} over y = {2, 2}: 1 loses twice, 2 ties twice (2 x 1/2), 3 wins
  // twice: 3 of 6 pairs.
  EXPECT_EQ(ProbabilityOfImprovement({1, 2, 3}, {2, 2}, true), 0.5);
  EXPECT_EQ(ProbabilityOfImprovement({1, 2, 3}, {2, 2}, false), 0.5);
  // x = {4, 3} over y = {1, 2, 3}: 3 -> 1 + 1 + 1/2, 4 -> 3: 5.5 of 6.
  EXPECT_EQ(ProbabilityOfImprovement({4, 3}, {1, 2, 3}, true), 5.5 / 6.0);
  EXPECT_EQ(ProbabilityOfImprovement({4, 3}, {1, 2, 3}, false), 0.5 / 6.0);
  EXPECT_EQ(ProbabilityOfImprovement({5, 5}, {5}, true), 0.5);
  EXPECT_TRUE(std::isnan(ProbabilityOfImprovement({}, {1}, true)));
  EXPECT_TRUE(std::isnan(ProbabilityOfImprovement({1}, {}, true)));
  EXPECT_TRUE(std::isnan(ProbabilityOfImprovement({1, kNaN}, {1}, true)));
  EXPECT_TRUE(std::isnan(ProbabilityOfImprovement({1}, {kNaN}, false)));
}

TEST(ProbabilityOfImprovement, MatchesAllPairs) {
  // Small integers, so ties are common; the double sum over all pairs is exact.
  const Philox rng(5);
  for (uint32_t trial = 0; trial < 50; ++trial) {
    const uint32_t n = 1 + trial % 9, m = 1 + (trial * 7) % 11;
    std::vector<double> x, y;
    for (uint32_t i = 0; i < n; ++i)
      x.push_back(UniformIndex(rng.Draw(Purpose::kEval, trial, i, 0).w[0], 6));
    for (uint32_t j = 0; j < m; ++j)
      y.push_back(UniformIndex(rng.Draw(Purpose::kEval, trial, j, 1).w[0], 6));
    double wins = 0, losses = 0;
    for (double a : x)
      for (double b : y) {
        wins += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
        losses += a < b ? 1.0 : (a == b ? 0.5 : 0.0);
      }
    EXPECT_EQ(ProbabilityOfImprovement(x, y, true), wins / (n * m)) << trial;
    EXPECT_EQ(ProbabilityOfImprovement(x, y, false), losses / (n * m)) << trial;
  }
}

// d = a - b = {1.1, 1.0, 1.2, 1.1, 1.0, 1.3} (up to rounding): every entry is
// positive, so every resample mean is too and the bootstrap CI lies above 0.
const std::vector<double> kA = {1.1, 2.0, 3.2, 4.1, 5.0, 6.3};
const std::vector<double> kB = {0, 1, 2, 3, 4, 5};

TEST(ComparePaired, ClearWinForA) {
  const PairedComparison c = ComparePaired(kA, kB, true, 0.95, 2000, 3, 1);
  EXPECT_EQ(c.n, 6);
  EXPECT_TRUE(c.sufficient);
  EXPECT_DOUBLE_EQ(c.mean_a, 21.7 / 6);
  EXPECT_DOUBLE_EQ(c.mean_b, 2.5);
  EXPECT_NEAR(c.diff_mean, 6.7 / 6, 1e-15);
  EXPECT_GE(c.diff_boot.lo, 1.0 - 1e-15);  // within [min d, max d]
  EXPECT_LE(c.diff_boot.hi, 1.3 + 1e-15);
  EXPECT_EQ(c.verdict, 1);
  // a over b: 1.1 beats 2, 2.0 beats 2 and ties 1, 3.2 beats 4, 4.1 beats 5,
  // 5.0 beats 5 and ties 1, 6.3 beats 6: 25 of 36.
  EXPECT_EQ(c.poi, 25.0 / 36.0);
  EXPECT_GE(c.poi_ci.lo, 0.0);
  EXPECT_LE(c.poi_ci.hi, 1.0);
  EXPECT_LE(c.poi_ci.lo, c.poi_ci.hi);
  // The t interval of d, by its definition.
  std::vector<double> d;
  for (size_t i = 0; i < kA.size(); ++i) d.push_back(kA[i] - kB[i]);
  const Interval t = TMeanInterval(d, 0.95);
  EXPECT_TRUE(SameBits(c.diff_t.lo, t.lo) && SameBits(c.diff_t.hi, t.hi));
  EXPECT_GT(c.diff_t.lo, 0.9);
  // diff_boot is the bootstrap of the differences under the same (seed, stream).
  const Interval boot = BootstrapMeanCI(d, 0.95, 2000, 3, 1);
  EXPECT_TRUE(SameBits(c.diff_boot.lo, boot.lo) && SameBits(c.diff_boot.hi, boot.hi));

  // Lower is better: the same data are a clear win for B.
  const PairedComparison lower = ComparePaired(kA, kB, false, 0.95, 2000, 3, 1);
  EXPECT_EQ(lower.verdict, -1);
  EXPECT_EQ(lower.poi, 11.0 / 36.0);
  EXPECT_TRUE(SameBits(lower.diff_boot.lo, c.diff_boot.lo));  // same draws, same d
}

TEST(ComparePaired, ClearWinForB) {
  const PairedComparison c = ComparePaired(kB, kA, true, 0.95, 2000, 3, 1);
  EXPECT_EQ(c.verdict, -1);
  EXPECT_LE(c.diff_boot.hi, -1.0 + 1e-15);
  EXPECT_EQ(c.poi, 11.0 / 36.0);
  EXPECT_EQ(ComparePaired(kB, kA, false, 0.95, 2000, 3, 1).verdict, 1);
}

TEST(ComparePaired, Inconclusive) {
  // d = {-3, -2, -1, 1, 2, 3}: mean 0; resample means fall on both sides of 0.
  const std::vector<double> a = {0, 0, 0, 5, 5, 5};
  const std::vector<double> b = {3, 2, 1, 4, 3, 2};
  for (bool higher : {true, false}) {
    const PairedComparison c = ComparePaired(a, b, higher, 0.95, 2000, 9, 0);
    EXPECT_TRUE(c.sufficient);
    EXPECT_EQ(c.diff_mean, 0.0);
    EXPECT_LT(c.diff_boot.lo, 0.0);
    EXPECT_GT(c.diff_boot.hi, 0.0);
    EXPECT_LT(c.diff_t.lo, 0.0);
    EXPECT_GT(c.diff_t.hi, 0.0);
    EXPECT_EQ(c.verdict, 0);
  }
  // A bound exactly at 0 counts as containing it: d = {0, 0, 0} -> CI {0, 0}.
  const PairedComparison zero = ComparePaired({1, 2, 3}, {1, 2, 3}, true, 0.95, 100, 0, 0);
  EXPECT_EQ(zero.diff_boot.lo, 0.0);
  EXPECT_EQ(zero.diff_boot.hi, 0.0);
  EXPECT_EQ(zero.verdict, 0);
  EXPECT_EQ(zero.poi, 0.5);
}

TEST(ComparePaired, InsufficientData) {
  const PairedComparison two = ComparePaired({5, 6}, {1, 2}, true, 0.95, 2000, 0, 0);
  EXPECT_EQ(two.n, 2);
  EXPECT_FALSE(two.sufficient);
  EXPECT_EQ(two.verdict, 0);  // even though A wins both pairs
  for (double v : {two.mean_a, two.mean_b, two.diff_mean, two.poi, two.diff_boot.lo,
                   two.diff_boot.hi, two.diff_t.lo, two.diff_t.hi, two.poi_ci.lo, two.poi_ci.hi})
    EXPECT_TRUE(std::isnan(v));
  const PairedComparison nan = ComparePaired({5, 6, 7, kNaN}, {1, 2, 3, 4}, true, 0.95, 10, 0, 0);
  EXPECT_EQ(nan.n, 4);
  EXPECT_FALSE(nan.sufficient);
  EXPECT_TRUE(std::isnan(nan.diff_mean));
  EXPECT_EQ(nan.verdict, 0);
  const PairedComparison three = ComparePaired({5, 6, 7}, {1, 2, 3}, true, 0.95, 10, 0, 0);
  EXPECT_TRUE(three.sufficient);  // kMinPairs = 3
  EXPECT_EQ(three.verdict, 1);
}

TEST(ComparePairedDeathTest, LengthsMustMatch) {
  EXPECT_DEATH(ComparePaired({1, 2, 3}, {1, 2}, true, 0.95, 10, 0, 0),
               "a.size\\(\\) == b.size\\(\\)");
}

TEST(ComparePaired, DeterministicAndJointlyResampled) {
  const std::vector<double> a = {0.31, 0.92, 0.137, 0.574, 0.7411, 0.26, 0.883, 0.4519};
  // b shares values with a (ties across the pair) and within itself.
  const std::vector<double> b = {0.30, 0.92, 0.1, 0.574, 0.8, 0.26, 0.26, 0.47};
  const PairedComparison x = ComparePaired(a, b, true, 0.9, 1000, 8, 2);
  const PairedComparison y = ComparePaired(a, b, true, 0.9, 1000, 8, 2);
  EXPECT_TRUE(SameBits(x.diff_boot.lo, y.diff_boot.lo) && SameBits(x.diff_boot.hi, y.diff_boot.hi));
  EXPECT_TRUE(SameBits(x.poi_ci.lo, y.poi_ci.lo) && SameBits(x.poi_ci.hi, y.poi_ci.hi));
  // poi_ci uses the pairs' indices: the reference below resamples a and b with
  // the same BootstrapIndices and evaluates ProbabilityOfImprovement directly.
  std::vector<double> pois;
  std::vector<uint32_t> idx(a.size());
  for (uint32_t i = 0; i < 1000; ++i) {
    BootstrapIndices(8, 2, i, static_cast<uint32_t>(a.size()), idx.data());
    std::vector<double> ra, rb;
    for (uint32_t j : idx) {
      ra.push_back(a[j]);
      rb.push_back(b[j]);
    }
    pois.push_back(ProbabilityOfImprovement(ra, rb, true));
  }
  const double alpha = 1.0 - 0.9;  // not 0.1: the bounds use level's own rounding
  EXPECT_EQ(x.poi_ci.lo, Quantile(pois, alpha / 2.0));
  EXPECT_EQ(x.poi_ci.hi, Quantile(pois, 1.0 - alpha / 2.0));
}

TEST(PerformanceProfile, Shares) {
  const std::vector<double> x = {0.1, 0.5, 0.5, 0.9, kNaN};
  const std::vector<double> taus = {0.0, 0.5, 1.0};
  // Strictly better; the NaN never counts but stays in the denominator.
  EXPECT_EQ(PerformanceProfile(x, taus, true), (std::vector<double>{0.8, 0.2, 0.0}));
  EXPECT_EQ(PerformanceProfile(x, taus, false), (std::vector<double>{0.0, 0.2, 0.8}));
  const std::vector<double> empty = PerformanceProfile({}, taus, true);
  ASSERT_EQ(empty.size(), 3u);
  for (double v : empty) EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(PerformanceProfile(x, {}, true).empty());
}

TEST(PairedVerdict, NeedsBothIntervalsOnOneSide) {
  EXPECT_EQ(PairedVerdict({0.1, 0.2}, {0.05, 0.3}, true), 1);
  EXPECT_EQ(PairedVerdict({0.1, 0.2}, {0.05, 0.3}, false), -1);  // lower is better
  EXPECT_EQ(PairedVerdict({-0.2, -0.1}, {-0.3, -0.05}, true), -1);
  // The bootstrap excludes 0, the t interval does not: inconclusive.
  EXPECT_EQ(PairedVerdict({-0.008, -0.0001}, {-0.009, 0.001}, true), 0);
  EXPECT_EQ(PairedVerdict({0.0, 0.2}, {0.01, 0.3}, true), 0);  // a bound at 0
  EXPECT_EQ(PairedVerdict({0.1, 0.2}, {std::nan(""), std::nan("")}, true), 0);
}

}  // namespace
}  // namespace advlab
