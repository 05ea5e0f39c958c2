// Seed-level statistics for sweep results: means, percentile-bootstrap CIs,
// steps-to-threshold and the interquartile mean.
//
// Every function here is a pure function of its inputs: sums run in index order,
// bootstrap draws come from Philox at fixed counters (Purpose::kBootstrap), and
// nothing depends on threads, hashing or std::random. The same inputs therefore
// give the same bits on every machine built with the project's flags.
#ifndef ADVLAB_ANALYSIS_STATS_H_
#define ADVLAB_ANALYSIS_STATS_H_

#include <cstdint>
#include <vector>

namespace advlab {

// Arithmetic mean, summed in index order then divided by n. NaN for an empty
// vector; any NaN entry propagates.
double Mean(const std::vector<double>& x);

struct Interval {
  double lo;
  double hi;
};

// Percentile bootstrap confidence interval of the mean (Efron & Tibshirani 1993,
// §13.3).
//
// Resample i (0 <= i < resamples) draws n indices; index j of it uses word j % 4
// of Philox(seed).Draw(Purpose::kBootstrap, stream, i, j / 4), mapped to [0, n)
// with UniformIndex. Its mean is the index-order sum of the drawn values / n.
// `stream` separates independent uses under one seed (e.g. one per statistic of
// each configuration), so a CI never changes when other CIs are added or removed.
//
// The bounds are the (1 - level) / 2 and (1 + level) / 2 quantiles of the sorted
// resample means m[0] <= ... <= m[R-1], by linear interpolation between order
// statistics (Hyndman & Fan 1996 type 7, the R / NumPy default):
//   h = (R - 1) * p,  k = floor(h),  Q(p) = m[k] + (h - k) * (m[k+1] - m[k]).
//
// n == 0 -> {NaN, NaN}; n == 1 -> {x[0], x[0]}; any NaN in x -> {NaN, NaN}.
// Requires 0 < level < 1 and resamples >= 1.
Interval BootstrapMeanCI(const std::vector<double>& x, double level = 0.95,
                         int resamples = 2000, uint64_t seed = 0, uint32_t stream = 0);

// The step (steps[i]) of the first eval i with curve[i] >= threshold, or NaN if no
// eval reaches it. NaN entries never count as reached.
double StepsToThreshold(const double* curve, const int64_t* steps, int64_t evals,
                        double threshold);

// The value at the last eval point, curve[evals - 1] (NaN when it is NaN, or when
// evals == 0). No fallback to an earlier eval: a missing final value stays visible.
double FinalValue(const double* curve, int64_t evals);

// Interquartile mean (Agarwal et al. 2021, "Deep RL at the edge of the
// statistical precipice"): the mean of the empirical quantile function over
// [0.25, 0.75],
//   IQM = 2 * integral_{0.25}^{0.75} Q(u) du,  Q(u) = x_(ceil(u * n)) (sorted, 1-based).
// Equivalently order statistic x_(k) gets weight
//   w_k = max(0, min(k, 3n/4) - max(k - 1, n/4)),  sum_k w_k = n / 2,
// and IQM = sum_k w_k x_(k) / (n / 2), summed in k order. When n % 4 == 0 this is
// exactly the 25% trimmed mean (rliable's scipy trim_mean); otherwise the two
// boundary order statistics enter with fractional weight instead of being
// dropped or kept whole, e.g. n = 5: (0.75 x_(2) + x_(3) + 0.75 x_(4)) / 2.5.
// NaN for an empty vector or when any entry is NaN.
double Iqm(std::vector<double> x);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_STATS_H_
