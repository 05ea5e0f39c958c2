// The `advlab analyze` and `advlab report` commands: option parsing, and for
// report the output directory (written whole or not at all) and the figure
// script (python/advlab/report.py, run with the Debian interpreter).
#ifndef ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_
#define ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "analysis/analyze.h"
#include "analysis/report.h"
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
std::string AnalysisIni(const std::vector<IniLine>& keys);
// The analyze options of [analysis]-style lines (key = option without "--"),
// each value parsed as `advlab analyze` parses it; throws UserError naming the
// line. Not checked against a file.
AnalyzeOptions ParseAnalysisLines(const std::vector<IniLine>& lines);
// Checks an [analysis] section against the plan's results file (SweepSkeleton)
// before any run starts: each value as `advlab analyze` would parse it, then
// the options together against the file (ValidateOptions). Throws UserError
// naming FILE:LINE.
void CheckAnalysisSection(const Results& skeleton, const std::vector<IniLine>& keys);

// Refuses an --out directory that exists (without `force`) or is not a directory.
void CheckOutputDir(const std::string& out, bool force);

// An output directory that appears whole or not at all: files go to a sibling
// DIR.tmp-PID, which Commit() renames to DIR (replacing an old DIR); without
// Commit() the destructor removes it.
class WholeDir {
 public:
  explicit WholeDir(const std::string& out);  // creates the temporary directory
  ~WholeDir();
  WholeDir(const WholeDir&) = delete;
  WholeDir& operator=(const WholeDir&) = delete;
  const std::filesystem::path& path() const { return tmp_; }         // write here
  const std::filesystem::path& final_path() const { return dir_; }
  void Commit();

 private:
  std::filesystem::path dir_, tmp_;
  bool committed_ = false;
};

// Writes a report (analysis.json, report.md, the figures drawn by the figure
// script) into `dir`; throws UserError when the script fails.
void WriteReportFiles(const ReportData& data, const std::filesystem::path& dir);

// The summary a sweep prints when it finishes (final accuracy per configuration).
void PrintSweepSummary(const Results& results, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_ANALYZE_CMD_H_
