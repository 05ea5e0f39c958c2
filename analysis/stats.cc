// Seed-level statistics (analysis/stats.h): means, order statistics, bootstrap
// and t intervals, paired comparisons, probability of improvement, profiles.
#include "analysis/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include <boost/math/distributions/students_t.hpp>

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

// Type-7 quantile position (see stats.h) for r values: k = floor(h) and the
// fraction h - k, with k + 1 >= r meaning "the largest value".
struct QuantilePos {
  size_t k;
  double frac;
};
QuantilePos Type7(size_t r, double p) {
  const double h = static_cast<double>(r - 1) * p;
  const double fl = std::floor(h);
  return {static_cast<size_t>(fl), h - fl};
}

// Q = lower + frac (upper - lower), written without fma on purpose (the build
// uses -ffp-contract=off); every quantile here goes through it.
double Interpolate(double lower, double upper, double frac) {
  return lower + frac * (upper - lower);
}

// Type-7 quantile of sorted values. p in [0, 1], r >= 1.
double SortedQuantile(const double* sorted, size_t r, double p) {
  const QuantilePos q = Type7(r, p);
  if (q.k + 1 >= r) return sorted[r - 1];
  return Interpolate(sorted[q.k], sorted[q.k + 1], q.frac);
}

// IQM weight of order statistic k (1-based) of n (stats.h). Boundaries in units
// of 1/n; multiples of 0.25 of an integer are exact in double (for any
// realistic n), so every weight is exact.
double IqmWeight(size_t k, size_t n) {
  const double dn = static_cast<double>(n);
  return std::min(static_cast<double>(k), dn * 0.75) -
         std::max(static_cast<double>(k - 1), dn * 0.25);
}

// The interquartile mean of sorted values, summed in k order.
double SortedIqm(const double* sorted, size_t n) {
  double sum = 0.0;
  for (size_t k = 1; k <= n; ++k) {
    const double w = IqmWeight(k, n);
    if (w > 0.0) sum += w * sorted[k - 1];
  }
  return sum / (static_cast<double>(n) * 0.5);
}

// 2 x #{(i, j): xs_i > ys_j} + #{ties}: twice the Mann-Whitney U of x over y, an
// exact integer, from sorted inputs in one merge pass.
int64_t TwiceU(const double* xs, size_t n, const double* ys, size_t m) {
  size_t lt = 0, le = 0;  // ys[0, lt) < xs[i], ys[0, le) <= xs[i]
  int64_t u2 = 0;
  for (size_t i = 0; i < n; ++i) {
    while (lt < m && ys[lt] < xs[i]) ++lt;
    if (le < lt) le = lt;
    while (le < m && ys[le] <= xs[i]) ++le;
    u2 += static_cast<int64_t>(lt + le);
  }
  return u2;
}

// P(X better than Y) from TwiceU; one division of exact integers, so it equals
// U / (n m) computed any other correctly rounded way.
double PoiFromTwiceU(int64_t u2, size_t n, size_t m, bool higher_is_better) {
  const int64_t total = 2 * static_cast<int64_t>(n) * static_cast<int64_t>(m);
  if (!higher_is_better) u2 = total - u2;  // 2 #(x < y) + #ties
  return static_cast<double>(u2) / static_cast<double>(total);
}

// Percentile interval from the resample statistics (sorts them in place).
Interval PercentileInterval(std::vector<double>& stats, double level) {
  // Equal doubles are interchangeable, so the (unstable) sort cannot change output.
  std::sort(stats.begin(), stats.end());
  const double alpha = 1.0 - level;
  return {SortedQuantile(stats.data(), stats.size(), alpha / 2.0),
          SortedQuantile(stats.data(), stats.size(), 1.0 - alpha / 2.0)};
}

// Bootstrap resamples of one vector (n >= 1, no NaN), with buffers reused across
// resamples. Order statistics come from counting, O(n) per resample and no sort:
// x is sorted once, a resample counts how often each sorted position was drawn
// (Count), and the resample's k-th smallest value is the sorted value whose
// cumulative count first exceeds k. Each statistic adds the same terms in the
// same order as ApplyStat on the resampled vector, so it has the same bits.
class Resampler {
 public:
  Resampler(const std::vector<double>& x, bool need_counts) : x_(x) {
    if (!need_counts) return;
    const size_t n = x.size();
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&x](uint32_t a, uint32_t b) { return x[a] < x[b]; });
    sorted_.resize(n);
    rank_.resize(n);
    counts_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      sorted_[k] = x[order[k]];
      rank_[order[k]] = static_cast<uint32_t>(k);
    }
    for (size_t k = 1; k <= n; ++k) iqm_w_.push_back(IqmWeight(k, n));
    while (iqm_begin_ < n && !(iqm_w_[iqm_begin_] > 0.0)) ++iqm_begin_;
    iqm_end_ = n;
    while (iqm_end_ > iqm_begin_ && !(iqm_w_[iqm_end_ - 1] > 0.0)) --iqm_end_;
  }

  size_t size() const { return x_.size(); }
  const std::vector<double>& sorted() const { return sorted_; }

  // The mean of x[idx[0..n)], summed in draw order (BootstrapMeanCI's order).
  double MeanOf(const uint32_t* idx) const {
    double sum = 0.0;
    for (size_t j = 0; j < x_.size(); ++j) sum += x_[idx[j]];
    return sum / static_cast<double>(x_.size());
  }

  // counts()[k]: how often sorted()[k] is in the resample x[idx[0..n)].
  const std::vector<uint32_t>& Count(const uint32_t* idx) {
    std::fill(counts_.begin(), counts_.end(), 0u);
    for (size_t j = 0; j < x_.size(); ++j) ++counts_[rank_[idx[j]]];
    return counts_;
  }

  // Type-7 quantile of the counted resample.
  double CountedQuantile(double p) const {
    const size_t n = x_.size();
    const QuantilePos q = Type7(n, p);
    size_t k = 0, below = 0;  // sorted_[k] fills resample positions [below, below + counts_[k])
    auto advance_to = [&](size_t pos) {
      while (below + counts_[k] <= pos) below += counts_[k++];
    };
    if (q.k + 1 >= n) {
      advance_to(n - 1);
      return sorted_[k];
    }
    advance_to(q.k);
    const double lower = sorted_[k];
    advance_to(q.k + 1);
    return Interpolate(lower, sorted_[k], q.frac);
  }

  // SortedIqm of the counted resample: the same terms (positions with weight
  // > 0, in order), skipping the runs of values wholly outside them.
  double CountedIqm() const {
    const size_t n = x_.size();
    double sum = 0.0;
    size_t pos = 0;  // 0-based resample position; its weight is iqm_w_[pos]
    for (size_t k = 0; pos < iqm_end_; ++k) {
      const uint32_t c = counts_[k];
      if (pos + c <= iqm_begin_) {
        pos += c;
        continue;
      }
      for (uint32_t t = 0; t < c && pos < iqm_end_; ++t, ++pos) {
        const double w = iqm_w_[pos];
        if (w > 0.0) sum += w * sorted_[k];
      }
    }
    return sum / (static_cast<double>(n) * 0.5);
  }

  double Apply(Stat s, const uint32_t* idx) {
    switch (s) {
      case Stat::kMean: return MeanOf(idx);
      case Stat::kMedian: Count(idx); return CountedQuantile(0.5);
      case Stat::kIqm: Count(idx); return CountedIqm();
    }
    ADVLAB_CHECK(false);
    return kNaN;
  }

 private:
  const std::vector<double>& x_;
  std::vector<double> sorted_;
  std::vector<uint32_t> rank_;  // x[i] == sorted_[rank_[i]]
  std::vector<uint32_t> counts_;
  std::vector<double> iqm_w_;   // IqmWeight(k + 1, n)
  size_t iqm_begin_ = 0, iqm_end_ = 0;  // positions with weight > 0: [begin, end)
};

// Twice the Mann-Whitney U of resamples of a over b that share their indices,
// from counts alone: for a's k-th sorted value, b_lt_[k] and b_le_[k] are the
// numbers of b's sorted values below it and at or below it, fixed by the data;
// with cb the prefix sums of b's counts,
//   2U = sum_k count_a[k] (cb[b_lt_[k]] + cb[b_le_[k]]),
// exact integers, so it equals TwiceU of the sorted resamples.
class PairedPoi {
 public:
  PairedPoi(const std::vector<double>& a, const std::vector<double>& b)
      : ra_(a, true), rb_(b, true), cb_(b.size() + 1) {
    const std::vector<double>& as = ra_.sorted();
    const std::vector<double>& bs = rb_.sorted();
    for (double v : as) {
      b_lt_.push_back(static_cast<size_t>(std::lower_bound(bs.begin(), bs.end(), v) - bs.begin()));
      b_le_.push_back(static_cast<size_t>(std::upper_bound(bs.begin(), bs.end(), v) - bs.begin()));
    }
  }

  int64_t TwiceU(const uint32_t* idx) {
    const std::vector<uint32_t>& ca = ra_.Count(idx);
    const std::vector<uint32_t>& cb = rb_.Count(idx);
    cb_[0] = 0;
    for (size_t l = 0; l < cb.size(); ++l) cb_[l + 1] = cb_[l] + cb[l];
    int64_t u2 = 0;
    for (size_t k = 0; k < ca.size(); ++k)
      u2 += static_cast<int64_t>(ca[k]) * (cb_[b_lt_[k]] + cb_[b_le_[k]]);
    return u2;
  }

 private:
  Resampler ra_, rb_;
  std::vector<int64_t> cb_;  // cb_[l]: resampled b values among b's l smallest
  std::vector<size_t> b_lt_, b_le_;
};

void CheckBootstrapArgs(double level, int resamples) {
  ADVLAB_CHECK(level > 0.0 && level < 1.0);
  ADVLAB_CHECK_GE(resamples, 1);
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
  return BootstrapCI(x, Stat::kMean, level, resamples, seed, stream);
}

double Iqm(std::vector<double> x) {
  const size_t n = x.size();
  if (n == 0 || AnyNaN(x)) return kNaN;
  std::sort(x.begin(), x.end());
  return SortedIqm(x.data(), n);
}

const char* StatName(Stat s) {
  switch (s) {
    case Stat::kMean: return "mean";
    case Stat::kMedian: return "median";
    case Stat::kIqm: return "iqm";
  }
  ADVLAB_CHECK(false);
  return "";
}

double ApplyStat(Stat s, const std::vector<double>& x) {
  switch (s) {
    case Stat::kMean: return AnyNaN(x) ? kNaN : Mean(x);
    case Stat::kMedian: return Median(x);
    case Stat::kIqm: return Iqm(x);
  }
  ADVLAB_CHECK(false);
  return kNaN;
}

double Quantile(std::vector<double> x, double p) {
  ADVLAB_CHECK(p >= 0.0 && p <= 1.0);
  if (x.empty() || AnyNaN(x)) return kNaN;
  std::sort(x.begin(), x.end());
  return SortedQuantile(x.data(), x.size(), p);
}

double Median(std::vector<double> x) { return Quantile(std::move(x), 0.5); }

void BootstrapIndices(uint64_t seed, uint32_t stream, uint32_t rep, uint32_t n, uint32_t* idx) {
  ADVLAB_CHECK_GE(n, 1u);
  const Philox rng(seed);
  uint32_t j = 0;
  for (; n - j >= 4; j += 4) {
    const Words4 w = rng.Draw(Purpose::kBootstrap, stream, rep, j / 4);
    idx[j] = UniformIndex(w.w[0], n);
    idx[j + 1] = UniformIndex(w.w[1], n);
    idx[j + 2] = UniformIndex(w.w[2], n);
    idx[j + 3] = UniformIndex(w.w[3], n);
  }
  if (j < n) {
    const Words4 w = rng.Draw(Purpose::kBootstrap, stream, rep, j / 4);
    for (uint32_t k = 0; j + k < n; ++k) idx[j + k] = UniformIndex(w.w[k], n);
  }
}

Interval BootstrapCI(const std::vector<double>& x, Stat stat, double level, int resamples,
                     uint64_t seed, uint32_t stream) {
  CheckBootstrapArgs(level, resamples);
  const size_t n = x.size();
  if (n == 0 || AnyNaN(x)) return {kNaN, kNaN};
  if (n == 1) return {x[0], x[0]};
  // UniformIndex takes a 32-bit n, and the block counter is 32-bit too.
  ADVLAB_CHECK_LE(n, static_cast<size_t>(UINT32_MAX));
  const uint32_t n32 = static_cast<uint32_t>(n);

  Resampler resampler(x, stat != Stat::kMean);
  std::vector<uint32_t> idx(n);
  std::vector<double> stats(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    BootstrapIndices(seed, stream, static_cast<uint32_t>(i), n32, idx.data());
    stats[static_cast<size_t>(i)] = resampler.Apply(stat, idx.data());
  }
  return PercentileInterval(stats, level);
}

Interval TMeanInterval(const std::vector<double>& x, double level) {
  ADVLAB_CHECK(level > 0.0 && level < 1.0);
  const size_t n = x.size();
  if (n < 2 || AnyNaN(x)) return {kNaN, kNaN};
  const double m = Mean(x);
  double ss = 0.0;
  for (double v : x) ss += (v - m) * (v - m);
  const double dn = static_cast<double>(n);
  const double s = std::sqrt(ss / (dn - 1.0));
  const boost::math::students_t dist(dn - 1.0);
  const double t = boost::math::quantile(dist, (1.0 + level) / 2.0);
  const double half = t * s / std::sqrt(dn);
  return {m - half, m + half};
}

double ProbabilityOfImprovement(const std::vector<double>& x, const std::vector<double>& y,
                                bool higher_is_better) {
  if (x.empty() || y.empty() || AnyNaN(x) || AnyNaN(y)) return kNaN;
  // 2 n m must be an exact double for the single division to be exact.
  ADVLAB_CHECK_LE(static_cast<double>(x.size()) * static_cast<double>(y.size()), 0x1p51);
  std::vector<double> xs = x, ys = y;
  std::sort(xs.begin(), xs.end());
  std::sort(ys.begin(), ys.end());
  return PoiFromTwiceU(TwiceU(xs.data(), xs.size(), ys.data(), ys.size()), xs.size(),
                       ys.size(), higher_is_better);
}

PairedComparison ComparePaired(const std::vector<double>& a, const std::vector<double>& b,
                               bool higher_is_better, double level, int resamples,
                               uint64_t seed, uint32_t stream) {
  ADVLAB_CHECK_EQ(a.size(), b.size());
  CheckBootstrapArgs(level, resamples);
  PairedComparison c;
  c.n = static_cast<int64_t>(a.size());
  if (c.n < kMinPairs || AnyNaN(a) || AnyNaN(b)) {
    c.sufficient = false;
    c.mean_a = c.mean_b = c.diff_mean = c.poi = kNaN;
    c.diff_boot = c.diff_t = c.poi_ci = {kNaN, kNaN};
    c.verdict = 0;
    return c;
  }
  const size_t n = a.size();
  ADVLAB_CHECK_LE(n, static_cast<size_t>(UINT32_MAX));
  const uint32_t n32 = static_cast<uint32_t>(n);
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  c.sufficient = true;
  c.mean_a = Mean(a);
  c.mean_b = Mean(b);
  c.diff_mean = Mean(d);
  c.diff_t = TMeanInterval(d, level);
  c.poi = ProbabilityOfImprovement(a, b, higher_is_better);

  // One set of indices per resample for d, a and b: the pairs move together, and
  // diff_boot equals BootstrapMeanCI(d, ...) under the same (seed, stream).
  Resampler rd(d, false);
  PairedPoi paired_poi(a, b);
  std::vector<uint32_t> idx(n);
  std::vector<double> diffs(static_cast<size_t>(resamples));
  std::vector<double> pois(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    BootstrapIndices(seed, stream, static_cast<uint32_t>(i), n32, idx.data());
    diffs[static_cast<size_t>(i)] = rd.MeanOf(idx.data());
    pois[static_cast<size_t>(i)] =
        PoiFromTwiceU(paired_poi.TwiceU(idx.data()), n, n, higher_is_better);
  }
  c.diff_boot = PercentileInterval(diffs, level);
  c.poi_ci = PercentileInterval(pois, level);

  c.verdict = PairedVerdict(c.diff_boot, c.diff_t, higher_is_better);
  return c;
}

int PairedVerdict(const Interval& boot, const Interval& t, bool higher_is_better) {
  // "Better" is the sign of a - b, flipped when lower is better.
  auto side = [&](const Interval& i) {
    const double sign = higher_is_better ? 1.0 : -1.0;
    const double lo = std::min(sign * i.lo, sign * i.hi);
    const double hi = std::max(sign * i.lo, sign * i.hi);
    return lo > 0.0 ? 1 : (hi < 0.0 ? -1 : 0);  // NaN compares false: 0
  };
  const int b = side(boot);
  return b == side(t) ? b : 0;
}

std::vector<double> PerformanceProfile(const std::vector<double>& x,
                                       const std::vector<double>& taus, bool higher_is_better) {
  std::vector<double> share(taus.size(), kNaN);
  if (x.empty()) return share;
  for (size_t t = 0; t < taus.size(); ++t) {
    int64_t better = 0;
    // A NaN compares false both ways: never better.
    for (double v : x) better += higher_is_better ? (v > taus[t]) : (v < taus[t]);
    share[t] = static_cast<double>(better) / static_cast<double>(x.size());
  }
  return share;
}


Interval StratifiedBootstrapCI(const std::vector<double>& x, const std::vector<uint32_t>& strata,
                               Stat stat, double level, int resamples, uint64_t seed,
                               uint32_t stream) {
  CheckBootstrapArgs(level, resamples);
  size_t total = 0;
  for (uint32_t n : strata) total += n;
  ADVLAB_CHECK_EQ(total, x.size());
  if (x.size() < 2 || AnyNaN(x)) return {kNaN, kNaN};
  size_t nonempty = 0;
  for (uint32_t n : strata) nonempty += n > 0 ? 1 : 0;
  if (nonempty == 1) {
    uint32_t k = 0;
    while (strata[k] == 0) ++k;
    return BootstrapCI(x, stat, level, resamples, seed, stream + k);
  }
  Resampler resampler(x, stat != Stat::kMean);
  std::vector<uint32_t> idx(x.size());
  std::vector<double> stats(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    uint32_t offset = 0;
    for (size_t k = 0; k < strata.size(); ++k) {
      if (strata[k] == 0) continue;
      BootstrapIndices(seed, stream + static_cast<uint32_t>(k), static_cast<uint32_t>(i),
                       strata[k], idx.data() + offset);
      for (uint32_t j = 0; j < strata[k]; ++j) idx[offset + j] += offset;
      offset += strata[k];
    }
    stats[static_cast<size_t>(i)] = resampler.Apply(stat, idx.data());
  }
  return PercentileInterval(stats, level);
}

}  // namespace advlab
