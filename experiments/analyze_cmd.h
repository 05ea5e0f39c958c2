// The `advlab analyze` and `advlab report` commands: option parsing, and for
// report the output directory (written whole or not at all) and the figure
// script (python/advlab/report.py, run with the Debian interpreter).
#ifndef ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_
#define ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "experiments/options.h"
#include "sim/results.h"

namespace advlab {

extern const char* const kAnalyzeArgs;  // the usage line's arguments
extern const char* const kAnalyzeUsage; // the options, for `advlab analyze --help`
extern const char* const kReportArgs;
extern const char* const kReportUsage;

int AnalyzeCommand(const std::vector<std::string>& args, std::ostream& out);
int ReportCommand(const std::vector<std::string>& args, std::ostream& out);

// The text of an [analysis] section as the results file stores it.
std::string AnalysisIni(const std::vector<AnalysisKey>& keys);
// Checks an [analysis] section against the plan's results file (SweepSkeleton)
// before any run starts: each value as `advlab analyze` would parse it, then
// the options together against the file (ValidateOptions). Throws UserError
// naming FILE:LINE.
void CheckAnalysisSection(const Results& skeleton, const std::vector<AnalysisKey>& keys);

// The summary a sweep prints when it finishes (final accuracy per configuration).
void PrintSweepSummary(const Results& results, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_
