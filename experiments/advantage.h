// `advlab advantage`: inspect any estimator by hand.
//
// Reads groups of rewards from stdin (one group per line, whitespace-separated
// finite decimals; a token `reward:length` gives that rollout's length in tokens,
// default 1; blank lines and lines starting with # are skipped), builds one Batch
// exactly as training lays it out, creates the estimator from the registry and
// calls Compute on it (the same code path as `advlab run`), then prints the
// advantages under the rewards (text) or as one JSON object (--json).
//
//   $ printf '1 0 0 1\n0 0 0 1\n' | advlab advantage --estimator grpo
//   advlab advantage: estimator grpo; 2 groups, 8 rollouts, 8 tokens
//   ...
//
// Estimators that read more than rewards get it from files: --reference (the
// reference policy's rewards, stdin's layout, for +aapo), --greedy (one greedy
// reward per group, for remax; both served to the estimator's sampling hook) and
// --values (the critic's value of every token, stdin's layout with each rollout's
// values comma-separated: batch.value, for gae). Each is required by the
// estimators that read it and refused for the others.
//
// Bad input is a UserError naming "stdin:LINE:COLUMN" (or "FILE:LINE:COLUMN" for
// --lengths, --reference, --greedy and --values), with COLUMN the 1-based index of
// the offending token on its line.
#ifndef ADVLAB_EXPERIMENTS_ADVANTAGE_H_
#define ADVLAB_EXPERIMENTS_ADVANTAGE_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

// Usage text printed by `advlab advantage --help`.
extern const char kAdvantageUsage[];

// Limits that keep a typo (an extra digit in a length) from allocating gigabytes.
inline constexpr int kMaxRolloutLength = 1000000;
inline constexpr int kMaxTotalTokens = 10000000;

// The groups read from stdin: the batch (one group per data line, prompt = group
// index, token arrays sized by the lengths with states/tokens/logprobs 0, correct
// = reward > 0, advantage empty; value from its file, or empty), what the
// estimators' sampling hooks read (the reference and greedy rewards from their
// files, or empty) and, for printing, the rewards as typed.
struct RewardTable {
  Batch batch;
  FixedSampler extra;  // --reference (one per rollout) and --greedy (one per group)
  std::vector<std::vector<std::string>> typed;      // [groups][rollouts] reward text
  std::vector<int> line;                            // [groups] 1-based stdin line
  std::vector<std::vector<std::string>> ref_typed;  // [groups][rollouts] or empty
  std::vector<std::string> greedy_typed;            // [groups] or empty
};

// The files that complete the batch beside stdin; "" for none.
struct RewardFiles {
  std::string lengths;    // --lengths: each rollout's length (stdin's layout)
  std::string reference;  // --reference: each reference rollout's reward (stdin's
                          //   layout, index-paired) -> extra.reference
  std::string greedy;     // --greedy: one reward per group -> extra.greedy
  std::string values;     // --values: each rollout's per-token critic values (stdin's
                          //   layout, one item per rollout, its values comma-separated,
                          //   one per token) -> batch.value in token order
};

// Parses `in` (named "stdin" in messages). `lengths_file` ("" for none) is a file
// with the same layout giving each rollout's length (integers >= 1); an inline
// `reward:length` wins over nothing but must agree with the file where both give
// one. `group_size` > 0 requires exactly that many rewards on every line; 0 means
// any count >= 1. Throws UserError on malformed input and on an empty input
// ("stdin: no rewards").
// The reference file must give each group as many finite rewards as stdin; the
// greedy file one finite reward per data line, one line per group; the values
// file one line per group, one item per rollout, each item as many finite
// comma-separated values as the rollout has tokens.
RewardTable ParseRewardTable(std::istream& in, const RewardFiles& files, int group_size);
RewardTable ParseRewardTable(std::istream& in, const std::string& lengths_file, int group_size);

// The batch of ParseRewardTable alone.
Batch ParseRewardGroups(std::istream& in, const std::string& lengths_file, int group_size);

// Registered estimators that can run on rewards alone (not those needing a bound
// task, such as `oracle`, nor a greedy reward, such as `remax`, nor a critic's
// values, such as `gae`), in registry order: what `--estimator all` shows. With
// `with_greedy`, those reading a greedy reward too: what `--estimator all --greedy
// FILE` shows; with `with_values`, those reading critic values too (`--values`).
std::vector<std::string> BareRewardEstimatorNames(bool with_greedy = false,
                                                  bool with_values = false);

// Planning of `advlab advantage`: refuses (UserError, one line) the first of
// `names` (in order) that cannot run on the parsed table (BareBatchRefusal:
// e.g. a whitening estimator on a one-token input), before any Compute, since
// the estimators' steps do not throw. `estimator` is what --estimator said;
// with `all` the message is prefixed by "estimator 'NAME': ".
void PlanEstimators(const std::string& estimator, const std::vector<std::string>& names,
                    const RewardTable& table);

// `advlab advantage ARGS` (args are everything after the word "advantage"): reads
// groups of rewards from `in`, writes the table or JSON to `out` and returns the
// exit status (0). Throws UserError on bad options or input, and on an input
// an estimator cannot run on (PlanEstimators).
int AdvantageCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_ADVANTAGE_H_
