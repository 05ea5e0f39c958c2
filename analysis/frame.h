// The analysis's view of a results file: one row per run with its swept-key
// values, seed, measure and divergence, and the grouping every table shares.
//
// A *group* (one table row) is a combination of the --by keys. Runs of a group
// that differ in a swept key outside --by form *strata* (one full configuration
// each); seed statistics of a group pool its strata and resample seeds within
// each stratum independently (rliable's stratified bootstrap). With the default
// --by (every swept key) each group is one stratum and the bootstrap is the plain
// one over seeds.
#ifndef ADVLAB_ANALYSIS_FRAME_H_
#define ADVLAB_ANALYSIS_FRAME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/measures.h"
#include "analysis/stats.h"
#include "sim/results.h"

namespace advlab {

struct RunFrame {
  const Results* results = nullptr;
  std::vector<std::string> keys;                  // swept keys, file order
  std::vector<std::vector<std::string>> exact;    // [key][run]: %.17g for floats
  std::vector<std::vector<std::string>> display;  // [key][run]: %g for floats
  std::vector<std::vector<double>> numeric;       // [key][run]: NaN for strings
  std::vector<int64_t> seed;                      // [run]
  std::vector<double> value;                      // [run] the measure
  std::vector<char> censored;                     // [run]
  std::vector<Divergence> divergence;             // [run]
  std::vector<char> active;                       // [run] 0 = left out (tuning)
  int64_t runs() const { return static_cast<int64_t>(seed.size()); }
  int KeyIndex(const std::string& key) const;     // -1 when not swept
};

// Display form of cell i of a /runs column: ints in decimal, floats with %g,
// strings as they are. The one form every table and option check uses.
std::string DisplayCell(const Column& c, size_t i);

// Builds the frame and computes every run's measure of `metric`. Throws
// UserError when a metric the measure needs is absent.
RunFrame BuildFrame(const Results& r, const std::string& metric, const Measure& measure,
                    bool higher_is_better, const std::string& match_metric);

struct Group {
  std::vector<std::string> display;           // the group's --by values
  std::vector<std::string> exact;
  std::vector<std::vector<int64_t>> strata;   // runs per stratum, each sorted by seed
  int64_t n = 0;                              // runs
};

// Groups the active runs by the keys `by` (indices into frame.keys); strata by
// the remaining keys. Both in the order of their first run in the file, counting
// inactive runs (so a tuned analysis lists its rows in the grid's order).
std::vector<Group> GroupRuns(const RunFrame& f, const std::vector<int>& by);

// The values of a stratum that enter statistics: NaN values of runs that did not
// diverge (undefined, e.g. at:T never reached) are left out; a diverged run's
// NaN stays and makes the statistic undefined.
std::vector<double> StratumValues(const RunFrame& f, const std::vector<int64_t>& runs);

// StratifiedBootstrapCI (analysis/stats.h) of the pooled strata: stratum k
// resampled under stream + k. Fewer than 2 values in all -> NaN.
Interval StratifiedCI(const std::vector<std::vector<double>>& strata, Stat stat, double level,
                      int resamples, uint64_t seed, uint32_t stream);

// The runs of groups a and b paired on seed and on the keys outside
// `group_keys` (the stratum keys; pass a tuned key among them too), in a's order; pairs where either value is
// undefined (NaN without divergence) are left out. `censored` counts pairs with a
// censored run.
// The pairs come grouped by a's stratum: (*va)[k], (*vb)[k] for stratum k.
void PairedValues(const RunFrame& f, const Group& a, const Group& b,
                  const std::vector<int>& group_keys, std::vector<std::vector<double>>* va,
                  std::vector<std::vector<double>>* vb, int64_t* censored);

// Streams a comparison may use from its base: one per stratum.
inline constexpr uint32_t kStreamsPerComparison = 1024;

// ComparePaired over strata of pairs (rliable's stratified form): the difference
// pools every pair; the probability of improvement is the mean over strata of
// each stratum's P(A > B) (so a low learning rate of A is never set against a
// high one of B); the bootstrap resamples pairs within each stratum k under
// stream + k. One stratum: ComparePaired exactly.
PairedComparison CompareStrata(const std::vector<std::vector<double>>& a,
                               const std::vector<std::vector<double>>& b, bool higher_is_better,
                               double level, int resamples, uint64_t seed, uint32_t stream);

// "key=value, key=value" of a group's --by values ("all runs" with no key).
std::string GroupLabel(const RunFrame& f, const std::vector<int>& by, const Group& g);

// Concatenation of the strata.
std::vector<double> Pool(const std::vector<std::vector<double>>& strata);

// The final value (mean of the last eval) of `metric` over the group's runs, for
// the effective step size column (update_norm); NaN when the file lacks it.
double GroupFinalMean(const RunFrame& f, const Group& g, const std::string& metric);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_FRAME_H_
