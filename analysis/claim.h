// Verdicts on paper claims (`advlab reproduce`): one paired comparison of a
// treatment against its fair control, judged against a practical-size
// threshold, with the naive comparison beside it and the checks of the design.
//
// Effects are oriented so that positive means "the treatment is better" in the
// measure's sense (fewer steps for steps_to, more accuracy for auc). With the
// paired difference's two 95% intervals (percentile bootstrap and Student t,
// analysis/stats.h) taken together -- their union, so a verdict must survive
// either -- as [lo, hi] and the threshold t > 0:
//   claimed better: holds iff lo >= t; does not hold iff hi < t
//   claimed worse:  holds iff hi <= -t; does not hold iff lo > -t
//   claimed equal:  holds iff -t < lo and hi < t; does not hold iff lo >= t or hi <= -t
// and inconclusive otherwise, or whenever a check of the design fails (too few
// pairs, a run diverged, too many runs censored, a tuned value at the edge of
// its grid): the verdict then names the failed check.
#ifndef ADVLAB_ANALYSIS_CLAIM_H_
#define ADVLAB_ANALYSIS_CLAIM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analyze.h"
#include "sim/results.h"

namespace advlab {

enum class Claimed { kBetter, kWorse, kEqual };
enum class Verdict { kHolds, kDoesNotHold, kInconclusive };

const char* VerdictName(Verdict v);  // "holds", "does not hold", "inconclusive"
const char* ClaimedName(Claimed c);  // "better", "worse", "equal"

struct ClaimSpec {
  std::string name;       // the preset's file name without .ini
  std::string statement;  // one line: what the paper claims
  std::string source;     // paper and section
  // metric, measure, goal, match_metric, tune_key, tune_seeds, level, resamples
  // and bootstrap_seed are used; compare_* and sensitivity_key are not.
  AnalyzeOptions analysis;
  std::string key = "arm";  // the swept key whose values are compared
  std::string control;      // the fair control's value of `key`
  std::string treatment;    // the claimed method's value of `key`
  // The naive comparison shown beside the fair one: against this value of `key`
  // when set (tuned like the others); otherwise, with a tuned key, the treatment
  // at the control's tuned value ("at equal learning rate"); otherwise none.
  std::string naive_control;
  // The treatment of the naive comparison when it differs (e.g. DASH with its
  // kept-rollouts normaliser, which also enlarges the step); "": `treatment`.
  std::string naive_treatment;
  Claimed claimed = Claimed::kBetter;
  double threshold = 0;      // practical size in the measure's units, > 0
  int64_t min_pairs = 5;     // seed pairs the verdict needs
  double max_censored = 0.25;  // share of pairs with a censored run tolerated
};

// One paired comparison, oriented (positive = treatment better).
struct ClaimComparison {
  bool present = false;
  std::string label;       // e.g. "treatment vs control, each at its tuned optim.lr"
  std::string treatment;   // the treatment side's value of the key
  std::string control;     // the control side's value of the key
  int64_t pairs = 0;
  int64_t censored = 0;    // pairs with a censored run
  int64_t diverged = 0;    // diverged runs among the compared ones
  double treatment_mean = 0, control_mean = 0;  // of the measure, judged seeds
  double effect = 0;       // mean oriented difference
  double lo = 0, hi = 0;   // union of the two intervals, oriented
  double poi = 0;          // P(treatment better)
  double treatment_step = 0, control_step = 0;  // final update_norm (NaN: absent)
  Verdict verdict = Verdict::kInconclusive;
  std::vector<std::string> failed_checks;  // why inconclusive, besides the interval
};

struct ClaimResult {
  ClaimComparison fair;
  ClaimComparison naive;
  std::vector<std::string> tuned;   // "arm=value" of the tuned key per compared arm
  std::vector<std::string> tuning_notes;  // grid-edge warnings
  std::string measure_label;        // "steps to accuracy_bin3 80% since entry"
  std::string paragraph;            // generated from the numbers above
};

// Checks the spec against the file before anything runs: the analysis options
// (ValidateOptions), `key` swept, control / treatment / naive_control present
// and distinct, threshold > 0, the tuned key not the compared key. Throws
// UserError (one line).
void ValidateClaim(const Results& r, const ClaimSpec& c);

// The verdict. Calls ValidateClaim first. A pure function of the file and the spec.
ClaimResult EvaluateClaim(const Results& r, const ClaimSpec& c);

// "+12.5 [3.1, 20.0]" in the measure's format.
std::string FormatEffect(const ClaimComparison& c, const AnalyzeOptions& o);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_CLAIM_H_
