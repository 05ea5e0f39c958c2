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


// ---------------------------------------------------------------------------
// Order statistics, the t interval, paired comparisons and performance profiles.
// Every interval below is labelled by its method where it is printed: "boot"
// (percentile bootstrap over seeds) or "t" (Student t, for small n).

// The statistic a row reports over the seeds of one configuration.
enum class Stat { kMean, kMedian, kIqm };
const char* StatName(Stat s);                 // "mean", "median", "iqm"
double ApplyStat(Stat s, const std::vector<double>& x);  // NaN if empty or any NaN

// Type-7 quantile (see BootstrapMeanCI) of x at p in [0, 1]; Median(x) =
// Quantile(x, 0.5). NaN when x is empty or has a NaN.
double Quantile(std::vector<double> x, double p);
double Median(std::vector<double> x);

// The n indices of bootstrap resample `rep` under (seed, stream): index j is
// UniformIndex(word j % 4 of Philox(seed).Draw(kBootstrap, stream, rep, j / 4), n),
// the scheme of BootstrapMeanCI. Two vectors of the same length resampled with the
// same (seed, stream, rep) get the same indices, which is how paired data (runs
// that share seeds) are resampled jointly. Requires 1 <= n <= UINT32_MAX.
void BootstrapIndices(uint64_t seed, uint32_t stream, uint32_t rep, uint32_t n, uint32_t* idx);

// Percentile bootstrap CI of ApplyStat(stat, .) over the entries of x (one per
// seed). BootstrapCI(x, Stat::kMean, ...) equals BootstrapMeanCI bit for bit.
// Same conventions: empty or NaN -> {NaN, NaN}; n == 1 -> {x[0], x[0]}.
Interval BootstrapCI(const std::vector<double>& x, Stat stat, double level, int resamples,
                     uint64_t seed, uint32_t stream);

// Student t interval of the mean: mean +- t_{n-1, (1+level)/2} * s / sqrt(n), s the
// sample standard deviation (divisor n - 1). {NaN, NaN} for n < 2 or a NaN entry.
// The t quantile is Boost.Math's.
Interval TMeanInterval(const std::vector<double>& x, double level);

// Probability of improvement (Agarwal et al. 2021, rliable): the share of all
// pairs (i, j) with x_i better than y_j, ties counting one half,
//   P(X > Y) = 1/(n m) sum_i sum_j [S(x_i, y_j)],  S = 1 if better, 1/2 if equal, 0,
// "better" meaning larger, or smaller when higher_is_better is false. Equals the
// Mann-Whitney U statistic of x over y divided by n m. NaN if either is empty or
// has a NaN.
double ProbabilityOfImprovement(const std::vector<double>& x, const std::vector<double>& y,
                                bool higher_is_better);

// The smallest number of seed pairs for which a paired comparison reports a
// difference, a CI and a verdict; below it the comparison says "insufficient data".
inline constexpr int64_t kMinPairs = 3;

// A comparison of A against B over the seeds both have, a[i] and b[i] from the
// same seed (common random numbers).
struct PairedComparison {
  int64_t n = 0;             // seed pairs
  bool sufficient = false;   // n >= kMinPairs and no NaN; otherwise the rest is NaN
  double mean_a = 0, mean_b = 0;
  double diff_mean = 0;      // mean of a[i] - b[i]
  Interval diff_boot{};      // percentile bootstrap over pairs (resampled jointly)
  Interval diff_t{};         // Student t interval of the per-pair differences
  double poi = 0;            // ProbabilityOfImprovement(a, b, higher_is_better)
  Interval poi_ci{};         // percentile bootstrap over pairs, same indices as diff_boot
  // PairedVerdict(diff_boot, diff_t, higher_is_better); 0 when insufficient.
  int verdict = 0;
};

// +1 when both intervals of the paired difference A - B lie wholly on A's
// better side of 0, -1 when both lie on B's, else 0 ("inconclusive"). Both, not
// the bootstrap alone: a percentile bootstrap is too narrow at small n, the t
// interval is wrong for skewed differences; a verdict must survive either. A
// bound at exactly 0 counts as containing it; a NaN interval gives 0.
int PairedVerdict(const Interval& boot, const Interval& t, bool higher_is_better);
PairedComparison ComparePaired(const std::vector<double>& a, const std::vector<double>& b,
                               bool higher_is_better, double level, int resamples,
                               uint64_t seed, uint32_t stream);

// Performance profile (Dolan & More 2002 as used by rliable): for each tau, the
// share of x strictly better than tau (x > tau, or x < tau when !higher_is_better).
// NaN entries count as not better. Empty x -> NaN shares.
std::vector<double> PerformanceProfile(const std::vector<double>& x,
                                       const std::vector<double>& taus, bool higher_is_better);

// Stratified percentile bootstrap CI (rliable's StratifiedBootstrap): x is the
// concatenation of strata of sizes `strata` (sum = x.size()); resample `rep`
// draws stratum k's n_k indices with BootstrapIndices(seed, stream + k, rep, n_k)
// and applies `stat` to the concatenation of the drawn values. Fewer than two
// values or a NaN -> {NaN, NaN}. One stratum: BootstrapCI bit for bit.
Interval StratifiedBootstrapCI(const std::vector<double>& x, const std::vector<uint32_t>& strata,
                               Stat stat, double level, int resamples, uint64_t seed,
                               uint32_t stream);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_STATS_H_
