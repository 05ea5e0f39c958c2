#include "experiments/analyze_cmd.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "analysis/analyze.h"
#include "analysis/measures.h"
#include "analysis/report.h"
#include "experiments/h5io.h"
#include "experiments/options.h"
#include "sim/error.h"
#include "sim/registry.h"

namespace advlab {

const char* const kAnalyzeArgs =
    "FILE.h5 [--metric NAME] [--measure M] [--by KEY ...] [--compare KEY=A,B]\n"
    "[--tune KEY] [--sensitivity KEY] [--format table|csv|json|md] ...";
const char* const kAnalyzeUsage =
    "options:\n"
    "  --metric NAME        the metric (default accuracy; `advlab list metrics`)\n"
    "  --measure M          one number per run: final[:K], best, auc, auc_cost, steps_to:T,\n"
    "                       cost_to:T, drawdown, collapses[:D], at:T, since_entry:T\n"
    "                       (default final; docs/analysis.md defines each)\n"
    "  --goal max|min       whether a larger metric is better (default max)\n"
    "  --match-metric NAME  the metric at:T matches on (default accuracy)\n"
    "  --by KEY[,KEY...]    group by these swept keys (default every swept key); the\n"
    "                       others are pooled as strata of a stratified bootstrap\n"
    "  --stat mean|median|iqm  the statistic tuning, sensitivity and ranking use\n"
    "  --compare KEY=A,B[,C]   each value against the first, paired by seed\n"
    "  --tune KEY           pick KEY's best value per arm on the tuning seeds and judge\n"
    "                       on the others; --tune-seeds N (default half, the lowest)\n"
    "  --sensitivity KEY    score per grid value of KEY, insensitivity score, ranking\n"
    "  --within X           share of the grid within X of the best (default 0.1)\n"
    "  --level L            CI level (default 0.95); --resamples R (default 10000);\n"
    "                       --bootstrap-seed S (default 0)\n"
    "  --format F           table (default), csv (the main table), json, md; --csv = csv\n"
    "  --no-file-options    ignore the defaults the sweep stored from its config's\n"
    "                       [analysis] section (otherwise options given here replace them)\n";
const char* const kReportArgs =
    "FILE.h5 --out DIR [--force] [analyze options] [--band-resamples R]";
const char* const kReportUsage =
    "writes DIR/report.md and figures (PNG and SVG) drawn by matplotlib from the\n"
    "numbers of the C++ analysis (DIR/analysis.json); DIR appears whole or not at all.\n"
    "options: every `advlab analyze` option but --format, and\n"
    "  --out DIR            the report directory (refused if it exists, unless --force)\n"
    "  --band-resamples R   bootstrap resamples of each eval's band (default 1000)\n"
    "  --sensitivity KEY    default optim.lr when it is swept\n"
    "environment: ADVLAB_PYTHON (default /usr/bin/python3), ADVLAB_PYTHON_DIR\n";

namespace {

constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

struct ParsedArgs {
  std::string file;
  AnalyzeOptions o;
  std::string format = "table";
  std::string out_dir;
  bool force = false;
  int band_resamples = 1000;
  bool no_file_options = false;
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t c = s.find(',', start);
    out.push_back(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

std::string OneOf(const std::string& option, const std::string& v,
                  const std::vector<std::string>& allowed) {
  for (const auto& a : allowed)
    if (a == v) return v;
  throw UserError(option + ": invalid value " + QuoteInput(v) + DidYouMean(v, allowed) +
                  "; allowed: " + JoinNames(allowed));
}

// Parses `args`, whose first `n_file` entries are the file's [analysis]
// defaults (AnalysisArgs): later options replace them (a --by on the command
// line replaces the file's --by list). Without `need_file`, no FILE.h5 is
// expected (checking an [analysis] section).
ParsedArgs ParseArgs(const std::vector<std::string>& args, bool report, size_t n_file = 0,
                     bool need_file = true) {
  ParsedArgs p;
  bool cli_by = false;
  const std::string cmd = report ? "report" : "analyze";
  std::vector<std::string> options = {"--metric", "--measure", "--goal", "--match-metric", "--by",
                                      "--stat", "--compare", "--tune", "--tune-seeds",
                                      "--sensitivity", "--within", "--level", "--resamples",
                                      "--bootstrap-seed", "--no-file-options"};
  if (report) {
    for (const char* o : {"--out", "--force", "--band-resamples"}) options.push_back(o);
  } else {
    for (const char* o : {"--format", "--csv"}) options.push_back(o);
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos && a.rfind("--compare", 0) != 0) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_inline = true;
    }
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= args.size()) throw UserError(a + " needs a value");
      return args[++i];
    };
    if (a == "--metric") {
      p.o.metric = value();
    } else if (a == "--measure") {
      p.o.measure = ParseMeasure(value(), "--measure");
    } else if (a == "--goal") {
      p.o.goal = OneOf(a, value(), {"max", "min"}) == "max" ? 1 : -1;
    } else if (a == "--match-metric") {
      p.o.match_metric = value();
    } else if (a == "--by") {
      if (i >= n_file && !cli_by) {
        p.o.by.clear();
        cli_by = true;
      }
      for (const auto& k : SplitComma(value())) p.o.by.push_back(k);
    } else if (a == "--stat") {
      const std::string s = OneOf(a, value(), {"mean", "median", "iqm"});
      p.o.stat = s == "mean" ? Stat::kMean : s == "median" ? Stat::kMedian : Stat::kIqm;
    } else if (a == "--compare" || a.rfind("--compare=", 0) == 0) {
      const std::string v = a == "--compare" ? value() : a.substr(10);
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 >= v.size())
        throw UserError("--compare: invalid value " + QuoteInput(v) + "; allowed: KEY=A,B[,C...]");
      p.o.compare_key = v.substr(0, eq);
      p.o.compare_values = SplitComma(v.substr(eq + 1));
    } else if (a == "--tune") {
      p.o.tune_key = value();
    } else if (a == "--tune-seeds") {
      p.o.tune_seeds = ParseCount(a, value(), 1, kNoMax);
    } else if (a == "--sensitivity") {
      p.o.sensitivity_key = value();
    } else if (a == "--within") {
      p.o.within = ParseNumber(a, value());
    } else if (a == "--level") {
      p.o.level = ParseNumber(a, value());
    } else if (a == "--resamples") {
      p.o.resamples = static_cast<int>(ParseCount(a, value(), 1, kIntMax));
    } else if (a == "--bootstrap-seed") {
      p.o.bootstrap_seed = static_cast<uint64_t>(ParseCount(a, value(), 0, kNoMax));
    } else if (!report && a == "--format") {
      p.format = OneOf(a, value(), {"table", "csv", "json", "md"});
    } else if (!report && a == "--csv" && !has_inline) {
      p.format = "csv";
    } else if (report && a == "--out") {
      p.out_dir = value();
    } else if (report && a == "--force" && !has_inline) {
      p.force = true;
    } else if (report && a == "--band-resamples") {
      p.band_resamples = static_cast<int>(ParseCount(a, value(), 1, kIntMax));
    } else if (a == "--no-file-options" && !has_inline) {
      p.no_file_options = true;
    } else if (a == "--threshold") {
      throw UserError(cmd + ": --threshold is now part of the measure: --measure steps_to:T");
    } else if (!a.empty() && a[0] == '-') {
      throw UserError(cmd + ": unknown option " + QuoteInput(a) + DidYouMean(a, options) +
                      "; allowed: " + JoinNames(options));
    } else if (p.file.empty()) {
      p.file = a;
    } else {
      throw UserError(cmd + ": one file expected, got also " + QuoteInput(a));
    }
  }
  if (p.file.empty() && need_file) throw UserError(cmd + ": FILE.h5 is required");
  if (report && p.out_dir.empty()) throw UserError("report: --out DIR is required");
  return p;
}

// "--tune-seeds=8" for the [analysis] line tune_seeds = 8.
std::string AnalysisArg(const std::string& key, const std::string& value) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '_', '-');
  return "--" + name + "=" + value;
}

// The [analysis] lines a results file stores ("key = value" per line), as
// options; *names gets each option's name ("--tune").
std::vector<std::string> AnalysisArgs(const std::string& ini, std::vector<std::string>* names) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < ini.size()) {
    size_t eol = ini.find('\n', pos);
    const std::string line = ini.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? ini.size() : eol + 1;
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) throw UserError("the file's analysis attribute has a malformed line " + QuoteInput(line));
    out.push_back(AnalysisArg(line.substr(0, eq), line.substr(eq + 3)));
    if (names) names->push_back(out.back().substr(0, out.back().find('=')));
  }
  return out;
}

// `cli` (the command line `args`, parsed) with the file's stored [analysis]
// defaults under it: the two parsed together, once, when the file has any;
// records in o.from_file the defaults that were not replaced.
ParsedArgs ParseWithFileDefaults(const ParsedArgs& cli, const std::vector<std::string>& args,
                                 bool report, const Results& results) {
  if (cli.no_file_options || results.analysis_ini.empty()) return cli;
  std::vector<std::string> names;
  std::vector<std::string> all = AnalysisArgs(results.analysis_ini, &names);
  const size_t n_file = all.size();
  std::vector<std::string> kept;
  for (size_t i = 0; i < n_file; ++i) {
    bool replaced = false;
    for (const std::string& a : args) replaced = replaced || a == names[i] || a.rfind(names[i] + "=", 0) == 0;
    if (!replaced) kept.push_back(all[i]);
  }
  all.insert(all.end(), args.begin(), args.end());
  ParsedArgs p;
  try {
    p = ParseArgs(all, report, n_file);
  } catch (const UserError& e) {
    throw UserError(cli.file + ": its stored [analysis] options: " + e.what());
  }
  p.o.from_file = kept;
  return p;
}


std::string PythonInterpreter() {
  if (const char* e = std::getenv("ADVLAB_PYTHON"); e != nullptr && *e) return e;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

std::string PythonDir() {
  if (const char* e = std::getenv("ADVLAB_PYTHON_DIR"); e != nullptr && *e) return e;
#ifdef ADVLAB_SOURCE_DIR
  if (std::filesystem::exists(std::string(ADVLAB_SOURCE_DIR) + "/python/advlab/report.py"))
    return std::string(ADVLAB_SOURCE_DIR) + "/python";
#endif
  return "python";
}

// Runs `python -m advlab.report JSON DIR`; its stderr passes through. Returns
// the exit status (127 when it could not start).
int RunFigureScript(const std::string& json, const std::string& dir) {
  const std::string py = PythonInterpreter();
  const std::string path = PythonDir();
  const pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    const char* old = std::getenv("PYTHONPATH");
    const std::string pp = path + (old && *old ? ":" + std::string(old) : "");
    setenv("PYTHONPATH", pp.c_str(), 1);
    setenv("MPLBACKEND", "Agg", 1);
    execlp(py.c_str(), py.c_str(), "-m", "advlab.report", json.c_str(), dir.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  f.close();
  if (!f) throw UserError(p.string() + ": cannot write");
}

}  // namespace

std::string AnalysisIni(const std::vector<IniLine>& keys) {
  std::string ini;
  for (const IniLine& k : keys) ini += k.key + " = " + k.value + "\n";
  return ini;
}

AnalyzeOptions ParseAnalysisLines(const std::vector<IniLine>& lines) {
  std::vector<std::string> args;
  for (const IniLine& k : lines) {
    args.push_back(AnalysisArg(k.key, k.value));
    try {
      ParseArgs({args.back()}, false, 0, false);
    } catch (const UserError& e) {
      throw UserError(k.origin + ": " + e.what());
    }
  }
  return ParseArgs(args, false, 0, false).o;
}

void CheckAnalysisSection(const Results& skeleton, const std::vector<IniLine>& keys) {
  if (keys.empty()) return;
  const AnalyzeOptions o = ParseAnalysisLines(keys);
  try {
    ValidateOptions(skeleton, o);
  } catch (const UserError& e) {
    // The message opens with the option it is about ("--tune optim.lr: ...").
    const std::string msg = e.what();
    const IniLine* at = &keys.front();
    size_t best = 0;
    for (const IniLine& k : keys) {
      const std::string arg = AnalysisArg(k.key, "");
      const std::string name = arg.substr(0, arg.size() - 1);
      if (msg.rfind(name, 0) == 0 && name.size() > best) {
        at = &k;
        best = name.size();
      }
    }
    throw UserError(at->origin + ": " + msg);
  }
}

namespace {

// A whole sweep's results: a shard alone would pair and tune on a fraction
// of the seeds and grid points.
Results ReadWholeResults(const std::string& path) {
  Results r = ReadResultsFile(path);
  if (!r.shard.empty()) {
    throw UserError(path + ": shard " + PrintableInput(r.shard, 30) + " of a sweep, not the whole " +
                    "sweep; merge its shards first: advlab merge SHARD.h5... --out FILE.h5");
  }
  return r;
}

}  // namespace

int AnalyzeCommand(const std::vector<std::string>& args, std::ostream& out) {
  const ParsedArgs cli = ParseArgs(args, false);
  const Results results = ReadWholeResults(cli.file);
  const ParsedArgs p = ParseWithFileDefaults(cli, args, false, results);
  const Analysis a = Analyze(results, p.o);
  out << FormatAnalysis(a, p.format);
  return 0;
}

void CheckOutputDir(const std::string& out, bool force) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(out).lexically_normal();
  std::error_code ec;
  if (fs::exists(dir, ec) && !force)
    throw UserError("--out " + PrintableInput(out, 200) +
                    ": exists; give --force to replace it, or another directory");
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw UserError("--out " + PrintableInput(out, 200) + ": exists and is not a directory");
}

WholeDir::WholeDir(const std::string& out) : dir_(std::filesystem::path(out).lexically_normal()) {
  namespace fs = std::filesystem;
  const fs::path parent = dir_.has_parent_path() ? dir_.parent_path() : fs::path(".");
  tmp_ = parent / (dir_.filename().string() + ".tmp-" + std::to_string(getpid()));
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  if (!fs::create_directories(tmp_, ec) || ec)
    throw UserError("--out " + PrintableInput(out, 200) + ": cannot create " + tmp_.string() +
                    " (" + ec.message() + ")");
}

WholeDir::~WholeDir() {
  std::error_code ec;
  if (!committed_) std::filesystem::remove_all(tmp_, ec);
}

void WholeDir::Commit() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = dir_.has_parent_path() ? dir_.parent_path() : fs::path(".");
  const fs::path old = parent / (dir_.filename().string() + ".old-" + std::to_string(getpid()));
  if (fs::exists(dir_, ec)) fs::rename(dir_, old);
  fs::rename(tmp_, dir_);
  fs::remove_all(old, ec);
  committed_ = true;
}

void WriteReportFiles(const ReportData& data, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  WriteFile(dir / "analysis.json", data.Json());
  WriteFile(dir / "report.md", data.markdown);
  const int rc = RunFigureScript((dir / "analysis.json").string(), dir.string());
  if (rc != 0)
    throw UserError("report: the figure script (" + PythonInterpreter() + " -m advlab.report, " +
                    "in " + PythonDir() + ") failed with status " + std::to_string(rc) +
                    "; it needs Debian's python3-matplotlib and python3-h5py");
  for (const auto& name : data.figures)
    for (const char* ext : {".png", ".svg"})
      if (!fs::exists(dir / (name + ext)))
        throw UserError("report: the figure script did not write " + name + ext);
}

int ReportCommand(const std::vector<std::string>& args, std::ostream& out) {
  namespace fs = std::filesystem;
  const ParsedArgs p0 = ParseArgs(args, true);
  CheckOutputDir(p0.out_dir, p0.force);
  const Results results = ReadWholeResults(p0.file);
  const ParsedArgs p = ParseWithFileDefaults(p0, args, true, results);
  ReportOptions ro;
  ro.analyze = p.o;
  ro.band_resamples = p.band_resamples;
  ro.file_label = fs::path(p.file).filename().string();
  std::error_code ec;
  ro.results_path = fs::absolute(p.file, ec).string();
  const ReportData data = BuildReport(results, ro);  // validates before anything is written

  // Build the report next to DIR, then move it into place whole.
  WholeDir dir(p.out_dir);
  WriteReportFiles(data, dir.path());
  dir.Commit();
  out << "wrote " << (dir.final_path() / "report.md").string() << " (" << data.figures.size()
      << " figures)\n";
  return 0;
}

void PrintSweepSummary(const Results& results, std::ostream& out) {
  AnalyzeOptions o;
  o.resamples = 2000;
  out << FormatText(Analyze(results, o).tables.front());
}

}  // namespace advlab
