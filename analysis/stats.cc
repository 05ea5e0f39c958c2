#include "analysis/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/check.h"
#include "sim/rng.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool AnyNaN(const std::vector<double>& x) {
  for (double v : x)
    if (std::isnan(v)) return true;
  return false;
}

// Type-7 quantile of sorted values (see stats.h). p in [0, 1].
double SortedQuantile(const std::vector<double>& sorted, double p) {
  const size_t r = sorted.size();
  const double h = static_cast<double>(r - 1) * p;
  const double fl = std::floor(h);
  const size_t k = static_cast<size_t>(fl);
  if (k + 1 >= r) return sorted[r - 1];
  const double frac = h - fl;
  // Written without fma on purpose: the build uses -ffp-contract=off.
  return sorted[k] + frac * (sorted[k + 1] - sorted[k]);
}

}  // namespace

double Mean(const std::vector<double>& x) {
  if (x.empty()) return kNaN;
  double sum = 0.0;
  for (double v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

Interval BootstrapMeanCI(const std::vector<double>& x, double level, int resamples,
                         uint64_t seed, uint32_t stream) {
  ADVLAB_CHECK(level > 0.0 && level < 1.0);
  ADVLAB_CHECK_GE(resamples, 1);
  const size_t n = x.size();
  if (n == 0 || AnyNaN(x)) return {kNaN, kNaN};
  if (n == 1) return {x[0], x[0]};
  // UniformIndex takes a 32-bit n, and the block counter is 32-bit too.
  ADVLAB_CHECK_LE(n, static_cast<size_t>(UINT32_MAX));
  const uint32_t n32 = static_cast<uint32_t>(n);

  const Philox rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    double sum = 0.0;
    Words4 words{};
    for (uint32_t j = 0; j < n32; ++j) {
      if (j % 4 == 0)
        words = rng.Draw(Purpose::kBootstrap, stream, static_cast<uint32_t>(i), j / 4);
      sum += x[UniformIndex(words.w[j % 4], n32)];
    }
    means[static_cast<size_t>(i)] = sum / static_cast<double>(n);
  }
  // Equal doubles are interchangeable, so the (unstable) sort cannot change output.
  std::sort(means.begin(), means.end());
  const double alpha = 1.0 - level;
  return {SortedQuantile(means, alpha / 2.0), SortedQuantile(means, 1.0 - alpha / 2.0)};
}

double StepsToThreshold(const double* curve, const int64_t* steps, int64_t evals,
                        double threshold) {
  for (int64_t i = 0; i < evals; ++i) {
    // A NaN entry compares false, so it never counts as reached.
    if (curve[i] >= threshold) return static_cast<double>(steps[i]);
  }
  return kNaN;
}

double FinalValue(const double* curve, int64_t evals) {
  return evals > 0 ? curve[evals - 1] : kNaN;
}

double Iqm(std::vector<double> x) {
  const size_t n = x.size();
  if (n == 0 || AnyNaN(x)) return kNaN;
  std::sort(x.begin(), x.end());
  // Boundaries in units of 1/n. Multiples of 0.25 of an integer are exact in
  // double (for any realistic n), so every weight below is exact.
  const double dn = static_cast<double>(n);
  const double lo = dn * 0.25;
  const double hi = dn * 0.75;
  double sum = 0.0;
  for (size_t k = 1; k <= n; ++k) {
    const double w = std::min(static_cast<double>(k), hi) -
                     std::max(static_cast<double>(k - 1), lo);
    if (w > 0.0) sum += w * x[k - 1];
  }
  return sum / (dn * 0.5);
}

}  // namespace advlab
