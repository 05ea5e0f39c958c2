// `advlab reproduce` and `advlab list claims`: paper claims decided in one
// command. A claim is a preset in experiments/claims/NAME.ini: a sweep (keys,
// [sweep], [arm.NAME]) in a regime where the claim can act, plus
//   [claim]  what is claimed and how it is decided (analysis/claim.h):
//     statement, source          one line each (required)
//     key = arm                  the compared key (default arm)
//     treatment, control         its values: the method and its fair control
//     naive_control, naive_treatment   the naive comparison shown beside it
//     claimed = better|worse|equal, threshold = T (measure units, > 0)
//     metric, measure, goal, match_metric, tune, tune_seeds, level, resamples,
//     bootstrap_seed             as the `advlab analyze` options
//     min_pairs = 5, max_censored = 0.25   design checks
//     expressible = no, reason = ...       a claim the toy cannot express (no
//                                          sweep; the reason is reported)
//   [quick]  overrides of --quick: seeds = N, grid.KEY = ..., KEY = VALUE
// Every claim asked for is planned and checked before any run starts.
#ifndef ADVLAB_EXPERIMENTS_REPRODUCE_H_
#define ADVLAB_EXPERIMENTS_REPRODUCE_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace advlab {

extern const char* const kReproduceArgs;
extern const char* const kReproduceUsage;

// `advlab list claims`: name, statement, source.
void PrintClaims();

int ReproduceCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_REPRODUCE_H_
