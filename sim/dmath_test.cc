// Tests for sim/dmath.h: accuracy against long double libm (libm is fine in
// tests: it is only the reference), special values, monotonicity, and pinned
// result bits that catch any change to the implementation.
#include "sim/dmath.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace advlab {
namespace dm {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kMinSub = std::numeric_limits<double>::denorm_min();
constexpr double kMinNormal = std::numeric_limits<double>::min();
constexpr double kMax = std::numeric_limits<double>::max();

// Deterministic generator for the sweeps (splitmix64).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [a, b].
  double Uniform(double a, double b) {
    return a + (b - a) * (static_cast<double>(Next() >> 11) * 0x1p-53);
  }
  // Random sign, random mantissa, biased exponent uniform in [lo, hi].
  double Binade(int lo, int hi, bool allow_negative) {
    const uint64_t r = Next();
    const uint64_t e = static_cast<uint64_t>(lo) + (r >> 52) % static_cast<uint64_t>(hi - lo + 1);
    const uint64_t sign = allow_negative ? (Next() >> 63) << 63 : 0;
    return FromBits(sign | (e << 52) | (Next() >> 12));
  }

 private:
  uint64_t state_;
};

// Error of y in units of the double ulp at the (exact enough) reference value.
double UlpError(double y, long double ref) {
  if (std::isnan(ref)) return std::isnan(y) ? 0.0 : kInf;
  const double rounded = static_cast<double>(ref);
  if (std::isinf(rounded) || std::isinf(y)) return y == rounded ? 0.0 : kInf;
  const long double a = std::fabs(ref);
  long double ulp;
  if (a < static_cast<long double>(kMinNormal)) {
    ulp = static_cast<long double>(kMinSub);
  } else {
    int e;
    std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    ulp = std::ldexp(1.0L, e - 53);
  }
  return static_cast<double>(std::fabs(static_cast<long double>(y) - ref) / ulp);
}

struct ErrStats {
  double max_ulp = 0.0;
  double worst_x = 0.0;
  long count = 0;
  void Add(double x, double err) {
    ++count;
    if (!(err <= max_ulp)) {
      max_ulp = err;
      worst_x = x;
    }
  }
};

void Report(const std::string& name, const ErrStats& s) {
  std::cout << std::setprecision(4) << "[dmath] " << name << ": max " << s.max_ulp << " ulp over "
            << s.count << " points (worst x = " << std::setprecision(17) << s.worst_x << ")\n";
  ::testing::Test::RecordProperty(name + "_max_ulp", std::to_string(s.max_ulp));
}

constexpr int kN = 400000;

// The reference needs a long double wider than double (x86-64: 64-bit mantissa).
constexpr bool kHaveWideLongDouble = LDBL_MANT_DIG >= 64;

TEST(DmathAccuracy, Exp) {
  if (!kHaveWideLongDouble) GTEST_SKIP() << "long double is not wider than double";
  SplitMix64 rng(1);
  ErrStats normal;     // results >= DBL_MIN
  ErrStats subnormal;  // results in the subnormal range (double rounding there)
  auto check = [&](double x) {
    const long double ref = std::exp(static_cast<long double>(x));
    const double err = UlpError(Exp(x), ref);
    (ref < static_cast<long double>(kMinNormal) ? subnormal : normal).Add(x, err);
  };
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-745.2, 710.0));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-40.0, 0.0));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-1.0, 1.0));
  for (int i = 0; i < kN / 2; ++i) check(rng.Uniform(-745.2, -708.0));
  for (int i = 0; i < kN / 2; ++i) check(rng.Uniform(700.0, 709.8));
  for (int i = 0; i < kN; ++i) {
    // Bit patterns with |x| < 1024, from 2^-70 up.
    const double x = rng.Binade(1023 - 70, 1023 + 9, true);
    if (std::fabs(x) < 746.0) check(x);
  }
  Report("exp", normal);
  Report("exp_subnormal_results", subnormal);
  // Measured 0.521 / 0.750 here (0.527 over 2e7 random points); subnormal
  // results are rounded twice (53 bits, then to the subnormal grid), see dmath.h.
  EXPECT_LT(normal.max_ulp, 0.54) << "worst x = " << normal.worst_x;
  EXPECT_LT(subnormal.max_ulp, 0.8) << "worst x = " << subnormal.worst_x;
}

TEST(DmathAccuracy, Log) {
  if (!kHaveWideLongDouble) GTEST_SKIP() << "long double is not wider than double";
  SplitMix64 rng(2);
  ErrStats stats;
  auto check = [&](double x) {
    stats.Add(x, UlpError(Log(x), std::log(static_cast<long double>(x))));
  };
  for (int i = 0; i < kN; ++i) {
    // Any positive finite bit pattern, subnormals included.
    const uint64_t b = 1 + rng.Next() % (AsBits(kMax) - 1);
    check(FromBits(b));
  }
  for (int i = 0; i < kN / 4; ++i) check(FromBits(1 + rng.Next() % (AsBits(kMinNormal) - 1)));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(0.7, 1.42));
  for (int i = 0; i < kN; ++i) check(1.0 + rng.Binade(1023 - 52, 1023 - 3, true));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(0.0, 16.0));
  for (int i = 0; i < kN / 4; ++i) check(rng.Uniform(1e-6, 1e-3));
  Report("log", stats);
  EXPECT_LT(stats.max_ulp, 0.56) << "worst x = " << stats.worst_x;  // measured 0.540
}

TEST(DmathAccuracy, Log1p) {
  if (!kHaveWideLongDouble) GTEST_SKIP() << "long double is not wider than double";
  SplitMix64 rng(3);
  ErrStats stats;
  auto check = [&](double x) {
    stats.Add(x, UlpError(Log1p(x), std::log1p(static_cast<long double>(x))));
  };
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-1.0, 1.0));
  for (int i = 0; i < kN; ++i) check(rng.Binade(1, 1022, true));  // tiny, either sign
  for (int i = 0; i < kN / 4; ++i) check(FromBits(rng.Next() % AsBits(kMinNormal)));
  for (int i = 0; i < kN; ++i) check(rng.Binade(1023 - 60, 1023 + 996, false));  // to 1e300
  for (int i = 0; i < kN / 2; ++i) check(-1.0 + rng.Binade(1023 - 53, 1023 - 2, false));
  for (int i = 0; i < kN / 2; ++i) check(rng.Binade(1023 - 30, 1023 - 1, true));
  for (int i = 0; i < kN / 2; ++i) check(rng.Uniform(0.0, 64.0));
  Report("log1p", stats);
  EXPECT_LT(stats.max_ulp, 0.56) << "worst x = " << stats.worst_x;  // measured 0.540
}

TEST(DmathAccuracy, Tanh) {
  if (!kHaveWideLongDouble) GTEST_SKIP() << "long double is not wider than double";
  SplitMix64 rng(6);
  ErrStats stats;
  auto check = [&](double x) {
    stats.Add(x, UlpError(Tanh(x), std::tanh(static_cast<long double>(x))));
  };
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-20.0, 20.0));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-1.0, 1.0));
  for (int i = 0; i < kN; ++i) check(rng.Uniform(-0.25, 0.25));
  for (int i = 0; i < kN; ++i) check(rng.Binade(1, 1023 + 4, true));  // subnormal .. 32
  for (int i = 0; i < kN / 4; ++i) check(FromBits(rng.Next() % AsBits(kMinNormal)));
  for (int i = 0; i < kN / 4; ++i) check(rng.Uniform(18.5, 19.5));  // the cut to +-1
  // Where n = rint(2|x| / ln2) steps (the reduction switches), both sides.
  for (int j = 1; j <= 56; ++j) {
    const double c = (j - 0.5) * 0.6931471805599453 * 0.5;
    for (int i = 0; i < 2000; ++i) check(rng.Uniform(c - 1e-6, c + 1e-6));
  }
  Report("tanh", stats);
  EXPECT_LT(stats.max_ulp, 0.65) << "worst x = " << stats.worst_x;  // measured 0.60
}

TEST(DmathSpecial, Exp) {
  EXPECT_EQ(AsBits(Exp(0.0)), AsBits(1.0));
  EXPECT_EQ(AsBits(Exp(-0.0)), AsBits(1.0));
  EXPECT_TRUE(std::isnan(Exp(kNan)));
  EXPECT_TRUE(std::isnan(Exp(-kNan)));
  EXPECT_EQ(Exp(kInf), kInf);
  EXPECT_EQ(AsBits(Exp(-kInf)), AsBits(0.0));
  EXPECT_EQ(Exp(1e300), kInf);
  EXPECT_EQ(AsBits(Exp(-1e300)), AsBits(0.0));
  EXPECT_EQ(AsBits(Exp(kMinSub)), AsBits(1.0));
  EXPECT_EQ(AsBits(Exp(-kMinSub)), AsBits(1.0));
  EXPECT_EQ(AsBits(Exp(1e-300)), AsBits(1.0));
  // Overflow threshold: log(DBL_MAX) = 709.782712893383973...
  const double x_ovf = 709.782712893384;  // nearest double, just below log(DBL_MAX)
  EXPECT_EQ(Exp(x_ovf), static_cast<double>(std::exp(static_cast<long double>(x_ovf))));
  EXPECT_LT(Exp(x_ovf), kInf);
  EXPECT_EQ(Exp(std::nextafter(x_ovf, kInf)), kInf);
  EXPECT_EQ(Exp(709.79), kInf);
  EXPECT_EQ(Exp(710.0), kInf);
  // Underflow: exp(x) < 2^-1075 (half the smallest subnormal) rounds to 0.
  // log(2^-1075) = -745.1332191019412...
  EXPECT_EQ(AsBits(Exp(-745.14)), AsBits(0.0));
  EXPECT_EQ(AsBits(Exp(-746.0)), AsBits(0.0));
  EXPECT_EQ(Exp(-745.13), kMinSub);
  EXPECT_EQ(Exp(-744.5), kMinSub);  // exp = 1.88 * 2^-1075... rounds to 2^-1074
  // The |x| <= 746 clamp: both sides of it.
  EXPECT_EQ(Exp(745.9), kInf);
  EXPECT_EQ(Exp(746.0), kInf);
  EXPECT_EQ(Exp(746.5), kInf);
  EXPECT_EQ(AsBits(Exp(-745.9)), AsBits(0.0));
  EXPECT_EQ(AsBits(Exp(-746.5)), AsBits(0.0));
  EXPECT_EQ(Exp(kMax), kInf);
  EXPECT_EQ(AsBits(Exp(-kMax)), AsBits(0.0));
  // Subnormal results, correctly rounded at these points.
  for (double x : {-708.5, -710.0, -720.0, -730.0, -740.0, -744.0}) {
    EXPECT_EQ(Exp(x), static_cast<double>(std::exp(static_cast<long double>(x)))) << x;
  }
  EXPECT_EQ(Exp(0.6931471805599453), 2.0);  // exp(double(ln2)) rounds to 2
}

TEST(DmathSpecial, Log) {
  EXPECT_EQ(AsBits(Log(1.0)), AsBits(0.0));
  EXPECT_EQ(Log(0.0), -kInf);
  EXPECT_EQ(Log(-0.0), -kInf);
  EXPECT_TRUE(std::isnan(Log(-1.0)));
  EXPECT_TRUE(std::isnan(Log(-kMinSub)));
  EXPECT_TRUE(std::isnan(Log(-kInf)));
  EXPECT_TRUE(std::isnan(Log(kNan)));
  EXPECT_EQ(Log(kInf), kInf);
  // Extremes: subnormal and largest finite inputs.
  EXPECT_EQ(Log(kMinSub), static_cast<double>(std::log(static_cast<long double>(kMinSub))));
  EXPECT_EQ(Log(kMinSub), -744.4400719213812);
  EXPECT_EQ(Log(kMinNormal), -708.3964185322641);
  EXPECT_EQ(Log(kMax), 709.782712893384);
  EXPECT_EQ(Log(2.0), 0.6931471805599453);
  EXPECT_EQ(Log(0.5), -0.6931471805599453);
  // The reduction boundaries.
  for (double x : {0.7071067811865475, 0.7071067811865476, 1.4142135623730951, 1.414213562373095,
                   std::nextafter(1.0, 0.0), std::nextafter(1.0, 2.0)}) {
    EXPECT_EQ(Log(x), static_cast<double>(std::log(static_cast<long double>(x)))) << x;
  }
}

TEST(DmathSpecial, Log1p) {
  EXPECT_EQ(AsBits(Log1p(0.0)), AsBits(0.0));
  EXPECT_EQ(AsBits(Log1p(-0.0)), AsBits(-0.0));
  EXPECT_EQ(Log1p(1e-300), 1e-300);
  EXPECT_EQ(Log1p(-1e-300), -1e-300);
  EXPECT_EQ(Log1p(kMinSub), kMinSub);
  EXPECT_EQ(Log1p(-1.0), -kInf);
  EXPECT_TRUE(std::isnan(Log1p(-1.0000000000000002)));
  EXPECT_TRUE(std::isnan(Log1p(-2.0)));
  EXPECT_TRUE(std::isnan(Log1p(-kInf)));
  EXPECT_TRUE(std::isnan(Log1p(kNan)));
  EXPECT_EQ(Log1p(kInf), kInf);
  EXPECT_EQ(Log1p(kMax), Log(kMax));
  EXPECT_EQ(Log1p(1.0), 0.6931471805599453);
  // Around the |x| < 2^-54 shortcut and the edges of the f = x range.
  for (double x :
       {1e-20, 1e-16, 0x1p-54, -0x1p-54, 0x1.fffffffffffffp-55, -0x1.fffffffffffffp-55, 0x1p-53,
        -0x1p-53, 0x1p-52, 3e-9, -3e-9, -0.2928932188134524, -0.29289321881345254,
        0.41421356237309503, 0.4142135623730951, -0.5, -0.9999999999999999}) {
    EXPECT_EQ(Log1p(x), static_cast<double>(std::log1p(static_cast<long double>(x)))) << x;
  }
}

TEST(DmathSpecial, Tanh) {
  EXPECT_EQ(AsBits(Tanh(0.0)), AsBits(0.0));
  EXPECT_EQ(AsBits(Tanh(-0.0)), AsBits(-0.0));
  EXPECT_EQ(Tanh(kInf), 1.0);
  EXPECT_EQ(Tanh(-kInf), -1.0);
  EXPECT_TRUE(std::isnan(Tanh(kNan)));
  EXPECT_TRUE(std::isnan(Tanh(-kNan)));
  EXPECT_EQ(Tanh(kMax), 1.0);
  EXPECT_EQ(Tanh(-kMax), -1.0);
  EXPECT_EQ(Tanh(1e300), 1.0);
  // Tiny inputs: tanh(x) = x (x^3/3 is far below half an ulp).
  for (double x : {kMinSub, -kMinSub, 1e-310, kMinNormal, 1e-300, 1e-20, -1e-20, 0x1p-27}) {
    EXPECT_EQ(AsBits(Tanh(x)), AsBits(x)) << x;
  }
  // The cut at |x| > 19.1 (tanh rounds to 1 from 19.06 on), both sides of it;
  // below it, the doubles next to 1 (correctly rounded).
  const double below1 = std::nextafter(1.0, 0.0);
  EXPECT_EQ(Tanh(19.1), 1.0);
  EXPECT_EQ(Tanh(std::nextafter(19.1, kInf)), 1.0);
  EXPECT_EQ(Tanh(-19.1), -1.0);
  EXPECT_EQ(Tanh(25.0), 1.0);
  EXPECT_EQ(Tanh(19.07), 1.0);
  EXPECT_EQ(Tanh(19.0), below1);
  EXPECT_EQ(Tanh(19.05), below1);
  EXPECT_EQ(Tanh(18.5), std::nextafter(below1, 0.0));
  // Correctly rounded at these points (checked against long double).
  for (double x : {0.125, 0.5, 1.0, 2.0, 3.0, 0.17328679513998632, 0.34657359027997264, 10.0,
                   18.0, 1e-5, 0.01}) {
    EXPECT_EQ(Tanh(x), static_cast<double>(std::tanh(static_cast<long double>(x)))) << x;
  }
}

TEST(DmathSpecial, TanhIsOdd) {
  SplitMix64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 2 ? rng.Uniform(-25.0, 25.0) : rng.Binade(1, 1023 + 5, false);
    ASSERT_EQ(AsBits(Tanh(-x)), AsBits(Tanh(x)) ^ 0x8000000000000000ULL) << x;
    ASSERT_LE(std::fabs(Tanh(x)), 1.0) << x;
  }
}

TEST(DmathMonotone, SortedRandomInputs) {
  SplitMix64 rng(4);
  std::vector<double> xs(200000);
  for (double& x : xs) x = rng.Uniform(-50.0, 5.0);
  std::sort(xs.begin(), xs.end());
  for (size_t i = 1; i < xs.size(); ++i) ASSERT_LE(Exp(xs[i - 1]), Exp(xs[i])) << xs[i];
  for (double& x : xs) x = rng.Binade(1, 2046, false);
  std::sort(xs.begin(), xs.end());
  for (size_t i = 1; i < xs.size(); ++i) ASSERT_LE(Log(xs[i - 1]), Log(xs[i])) << xs[i];
  for (double& x : xs) x = rng.Uniform(-1.0, 4.0);
  std::sort(xs.begin(), xs.end());
  for (size_t i = 1; i < xs.size(); ++i) ASSERT_LE(Log1p(xs[i - 1]), Log1p(xs[i])) << xs[i];
  for (double& x : xs) x = rng.Uniform(-20.0, 20.0);
  std::sort(xs.begin(), xs.end());
  for (size_t i = 1; i < xs.size(); ++i) ASSERT_LE(Tanh(xs[i - 1]), Tanh(xs[i])) << xs[i];
}

// Consecutive doubles across the points where the range reduction switches.
TEST(DmathMonotone, ReductionBoundaries) {
  auto sweep = [](double (*fn)(double), double center) {
    double x = center;
    for (int i = 0; i < 2000; ++i) x = std::nextafter(x, -kInf);
    if (fn == Log && x <= 0.0) x = kMinSub;
    double prev = fn(x);
    for (int i = 0; i < 4000; ++i) {
      x = std::nextafter(x, kInf);
      const double y = fn(x);
      ASSERT_LE(prev, y) << "x = " << std::setprecision(17) << x;
      prev = y;
    }
  };
  for (int j = -1075; j <= 1024; j += 7) sweep(Exp, (j + 0.5) * 0.6931471805599453);
  for (int j = -1074; j <= 1023; j += 3) {
    sweep(Log, std::ldexp(1.0, j));
    sweep(Log, std::ldexp(1.4142135623730951, j));
  }
  sweep(Log1p, 0.0);
  sweep(Log1p, 0.4142135623730951);
  sweep(Log1p, -0.2928932188134524);
  // Tanh: where n = rint(2|x| / ln2) steps, and around the cut to +-1.
  for (int j = 1; j <= 56; ++j) sweep(Tanh, (j - 0.5) * 0.6931471805599453 * 0.5);
  sweep(Tanh, 19.1);
  sweep(Tanh, 0.0);
}

// Golden values of OUR implementation (generated once from sim/dmath.h, not from
// libm): any change to a result bit of dm::Exp/Log/Log1p fails here. All builds
// (Debug/Release, gcc/clang, SSE2/AVX2, CPU/GPU) must reproduce these exactly.
TEST(DmathPinned, Bits) {
  struct Case {
    const char* fn;
    double x;
    uint64_t bits;
  };
  const Case kCases[] = {
      {"exp", 1.0, 0x4005bf0a8b145769ULL},                  // 2.7182818284590451
      {"exp", -0.5, 0x3fe368b2fc6f960aULL},                 // 0.60653065971263342
      {"exp", -3.7, 0x3f99511fc6871044ULL},                 // 0.024723526470339388
      {"exp", -20.25, 0x3e1b93de1e27ca3bULL},               // 1.6052280551856116e-09
      {"exp", 0.34657359027997264, 0x3ff6a09e667f3bccULL},  // 1.4142135623730949
      {"exp", 700.5, 0x7f18625c7d4f56c2ULL},                // 1.6721859620674984e+304
      {"exp", -740.0, 0x0000000000000055ULL},               // 4.1995579896505956e-322
      {"exp", -1e-10, 0x3feffffffff24190ULL},               // 0.99999999989999999
      {"exp", -709.1, 0x0007eabddec4fd38ULL},               // 1.1009887527099299e-308
      {"log", 0.1, 0xc0026bb1bbb55515ULL},                  // -2.3025850929940455
      {"log", 3.0, 0x3ff193ea7aad030bULL},                  // 1.0986122886681098
      {"log", 1e-310, 0xc0864e69394d9508ULL},               // -713.80137882815416
      {"log", 1e300, 0x4085963447f87fb5ULL},                // 690.77552789821368
      {"log", 1.0000001, 0x3e7ad7f2847b6492ULL},            // 9.9999995058387044e-08
      {"log1p", 1e-5, 0x3ee4f8aea9ae7317ULL},               // 9.9999500003333319e-06
      {"log1p", -0.75, 0xbff62e42fefa39efULL},              // -1.3862943611198906
      {"log1p", 3.0, 0x3ff62e42fefa39efULL},                // 1.3862943611198906
      {"log1p", -1e-17, 0xbc670ef54646d497ULL},             // -1.0000000000000001e-17
      {"log1p", 0.3, 0x3fd0ca937be1b9dcULL},                // 0.26236426446749106
  };
  for (const Case& c : kCases) {
    const std::string fn = c.fn;
    const double y = fn == "exp" ? Exp(c.x) : fn == "log" ? Log(c.x) : Log1p(c.x);
    EXPECT_EQ(AsBits(y), c.bits) << fn << "(" << std::setprecision(17) << c.x << ") = 0x"
                                 << std::hex << AsBits(y);
  }
}

// Golden digest of many results, computed in blocks of 16 the way the softmax
// calls Exp (so an optimised build runs the vectorised loop here): pins every
// bit of 3 * 65536 results, not just the table above. Generated once from our
// implementation.
uint64_t Mix(uint64_t h, double y) {
  h ^= AsBits(y);
  h *= 0x100000001b3ULL;  // FNV-1a style step over the whole 64-bit word
  return h ^ (h >> 29);
}

TEST(DmathPinned, BlockDigest) {
  constexpr int kBlocks = 4096;
  SplitMix64 rng(5);
  uint64_t h_exp = 0xcbf29ce484222325ULL, h_log = h_exp, h_log1p = h_exp;
  double in[16], out[16];
  for (int b = 0; b < kBlocks; ++b) {
    for (double& v : in) v = rng.Uniform(-60.0, 0.0);  // softmax logits - max
    for (int k = 0; k < 16; ++k) out[k] = Exp(in[k]);
    for (double y : out) h_exp = Mix(h_exp, y);
    for (double& v : in) v = FromBits(1 + rng.Next() % (AsBits(kMax) - 1));
    for (int k = 0; k < 16; ++k) out[k] = Log(in[k]);
    for (double y : out) h_log = Mix(h_log, y);
    for (double& v : in) v = rng.Uniform(-1.0, 3.0);
    for (int k = 0; k < 16; ++k) out[k] = Log1p(in[k]);
    for (double y : out) h_log1p = Mix(h_log1p, y);
  }
  EXPECT_EQ(h_exp, 0x1af01f0f771df421ULL) << std::hex << h_exp;
  EXPECT_EQ(h_log, 0x90ea0e5a49bd4c37ULL) << std::hex << h_log;
  EXPECT_EQ(h_log1p, 0x49aa98fb36e3f3d1ULL) << std::hex << h_log1p;
}

// Golden values of our Tanh (generated once from sim/dmath.h; identical under
// g++ -O0, -O2, -O2 -mavx2, -O3 -march=x86-64-v4 and clang++ -O2).
TEST(DmathPinned, TanhBits) {
  struct Case {
    double x;
    uint64_t bits;
  };
  const Case kCases[] = {
      {0.5, 0x3fdd9353d7568af3ULL},                  // 0.46211715726000974
      {-0.5, 0xbfdd9353d7568af3ULL},                 // -0.46211715726000974
      {1.0, 0x3fe85efab514f394ULL},                  // 0.76159415595576485
      {0.1, 0x3fb983d7795f413aULL},                  // 0.099667994624955819
      {0.125, 0x3fbfd5992bc4b835ULL},                // 0.12435300177159621
      {0.17371087199394444, 0x3fc60396095907eeULL},  // 0.1719844384807056
      {-2.5, 0xbfef9258260a71c2ULL},                 // -0.98661429815143031
      {7.25, 0x3feffffde2760a41ULL},                 // 0.99999899130518355
      {18.9, 0x3fefffffffffffffULL},                 // 0.99999999999999989
      {1e-08, 0x3e45798ee2308c3aULL},                // 1e-08
      {0.76159415595576485, 0x3fe48b63064776b4ULL},  // 0.64201499201199974
      {0.003, 0x3f68936fe7784984ULL},                // 0.0029999910000323999
  };
  for (const Case& c : kCases) {
    const double y = Tanh(c.x);
    EXPECT_EQ(AsBits(y), c.bits) << "tanh(" << std::setprecision(17) << c.x << ") = 0x" << std::hex
                                 << AsBits(y);
  }
}

// As BlockDigest, for Tanh in blocks of 16 (the vectorised loop in optimised
// builds): pins every bit of 2 * 65536 results.
TEST(DmathPinned, TanhBlockDigest) {
  SplitMix64 rng(8);
  uint64_t h = 0xcbf29ce484222325ULL;
  double in[16], out[16];
  for (int b = 0; b < 4096; ++b) {
    for (double& v : in) v = rng.Uniform(-8.0, 8.0);
    for (int k = 0; k < 16; ++k) out[k] = Tanh(in[k]);
    for (double y : out) h = Mix(h, y);
    for (double& v : in) v = rng.Uniform(-0.3, 0.3);
    for (int k = 0; k < 16; ++k) out[k] = Tanh(in[k]);
    for (double y : out) h = Mix(h, y);
  }
  EXPECT_EQ(h, 0xdeaea4622d470e80ULL) << std::hex << h;
}

}  // namespace
}  // namespace dm
}  // namespace advlab
