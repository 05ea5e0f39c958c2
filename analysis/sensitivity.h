// Hyperparameter sensitivity (`advlab analyze --sensitivity KEY`): for each arm
// (a combination of the --by keys; by default every swept key but KEY), the
// score of each grid value of KEY with its CI, best / median / worst, the share
// of the grid within x of the best, and one insensitivity score with a ranking
// of the arms and a bootstrap CI on each arm's rank.
//
// Insensitivity score: the mean height of the normalised score curve over KEY's
// range, trapezoidal, on a log axis when every grid value is positive and they
// span at least a factor 10, or the key ends in "lr" (learning rates), else linear (string values: equal
// spacing). Normalisation is global over all arms and grid points, so scores are
// comparable across arms: q = s / s_best (s_best / s when lower is better) when
// every point's statistic is positive, else (s - s_worst) / (s_best - s_worst).
// 1 = the best score everywhere on the grid; a method that is good only in a
// narrow band of KEY scores low.
//
// Ranking CI: seeds are resampled jointly (one draw of seed indices per
// resample, applied to every arm and grid point, so runs that share a seed stay
// paired), every point statistic, the normalisation and the scores are
// recomputed, and each arm's rank (1 = most insensitive; ties share the better
// rank) is recorded; the CI is the percentile interval of those ranks.
#ifndef ADVLAB_ANALYSIS_SENSITIVITY_H_
#define ADVLAB_ANALYSIS_SENSITIVITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analyze.h"
#include "analysis/frame.h"
#include "analysis/table.h"

namespace advlab {

inline constexpr uint32_t kSensitivityStream = 2u << 28;

// One arm's curve: the data of the report's sensitivity figure.
struct SensitivityArm {
  std::string label;              // "estimator.name=grpo"
  std::vector<std::string> display;  // the arm's --by values
  std::vector<std::string> x_display;  // KEY's grid values, in grid order
  std::vector<double> x;          // numeric grid values (index when KEY is a string)
  std::vector<double> y, lo, hi;  // statistic and CI per grid point
  std::vector<int64_t> n;         // runs per grid point
  double best = 0, median = 0, worst = 0;
  std::string best_at;            // KEY's value at the best point
  double within_share = 0;        // share of grid points within o.within of the arm's best
  double score = 0;               // insensitivity score
  double rank_lo = 0, rank_hi = 0;  // bootstrap CI of the rank
  double p_first = 0;             // share of resamples ranking this arm first
};

struct Sensitivity {
  bool log_x = false;
  std::string normalisation;      // "ratio to the best" or "min-max"
  std::vector<SensitivityArm> arms;
};

// Computes the sensitivity over KEY (index `key` in f.keys) for the arms given by
// `arm_keys`.
Sensitivity ComputeSensitivity(const RunFrame& f, const AnalyzeOptions& o,
                               const std::vector<int>& arm_keys, int key);

// The "sensitivity" (per grid point) and "ranking" (per arm) tables.
std::vector<Table> SensitivityTables(const Sensitivity& s, const RunFrame& f,
                                     const AnalyzeOptions& o, const std::vector<int>& arm_keys,
                                     int key);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_SENSITIVITY_H_
