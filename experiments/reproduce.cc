#include "experiments/reproduce.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "analysis/claim.h"
#include "analysis/report.h"
#include "analysis/table.h"
#include "experiments/analyze_cmd.h"
#include "experiments/h5io.h"
#include "experiments/options.h"
#include "experiments/sweep.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/registry.h"

namespace advlab {

const char* const kReproduceArgs =
    "NAME|FILE.ini|all [--quick] [--threads T] [--from DIR] --out DIR [--force]\n"
    "[--dry-run]";
const char* const kReproduceUsage =
    "runs the claim's preset (experiments/claims/NAME.ini; `advlab list claims`), decides\n"
    "the claim against its fair control and prints one line per claim: measure, effect\n"
    "[95% CI] (positive = the method better), threshold, verdict (holds / does not hold /\n"
    "inconclusive), and the naive comparison beside it. Writes DIR/claims.md and, per\n"
    "claim, DIR/NAME/{sweep.h5, report.md, figures}; DIR appears whole or not at all.\n"
    "options:\n"
    "  NAME           a claim of experiments/claims/, or FILE.ini a claim preset elsewhere\n"
    "  --quick        the preset's [quick] overrides (fewer seeds and steps)\n"
    "  --from DIR     decide again from DIR/NAME/sweep.h5 of an earlier reproduce (same\n"
    "                 preset and --quick) instead of running the sweep\n"
    "  --threads T    worker threads (results do not depend on it)\n"
    "  --dry-run      plan and check the claims, print their runs; run nothing\n"
    "  --out DIR      the output directory (refused if it exists, unless --force)\n";

namespace {

namespace fs = std::filesystem;

std::vector<std::string> ClaimDirs() { return SourceTreeDirs("experiments/claims"); }

// The claim presets, sorted by name.
std::vector<fs::path> ClaimFiles() {
  std::error_code ec;
  for (const std::string& dir : ClaimDirs()) {
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".ini" && e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
  }
  std::vector<std::string> dirs = ClaimDirs();
  for (auto& d : dirs) d = QuoteInput(d, 200);
  throw UserError("no claims folder; looked in " + JoinNames(dirs) +
                  "; run advlab from its source tree");
}

struct ClaimPreset {
  fs::path file;
  ClaimSpec spec;
  bool expressible = true;
  std::string reason;  // why the toy cannot express it
  std::string design;  // the preset's opening comment after its first line
  Experiment experiment;
};

// Reads a claim preset and its [claim] section (checked on its own here;
// against the sweep's plan in Plan()).
ClaimPreset LoadClaim(const fs::path& file, bool quick) {
  ClaimPreset c;
  c.file = file;
  c.spec.name = file.stem().string();
  const IniFile ini = ReadIniFile(file.string());
  for (size_t i = 1; i < ini.comment.size(); ++i) c.design += ini.comment[i] + "\n";
  const std::string where = PrintableInput(file.string(), 200);
  if (ini.claim.empty()) throw UserError(where + ": no [claim] section; not a claim preset");
  static const std::vector<std::string> kKeys = {
      "statement", "source",       "expressible", "reason",      "key",       "treatment",
      "control",   "naive_control", "naive_treatment", "claimed", "threshold", "min_pairs",
      "max_censored", "metric",    "measure",     "goal",        "match_metric", "tune",
      "tune_seeds", "level",       "resamples",   "bootstrap_seed"};
  std::vector<IniLine> analysis;
  for (const IniLine& l : ini.claim) {
    if (std::find(kKeys.begin(), kKeys.end(), l.key) == kKeys.end())
      throw UserError(l.origin + ": unknown [claim] key" + DidYouMean(l.key, kKeys) +
                      "; allowed: " + JoinNames(kKeys));
    if (l.value.empty()) throw UserError(l.origin + ": needs a value");
    if (l.key == "statement") {
      c.spec.statement = l.value;
    } else if (l.key == "source") {
      c.spec.source = l.value;
    } else if (l.key == "expressible") {
      if (l.value != "yes" && l.value != "no")
        throw UserError(l.origin + ": invalid value " + QuoteInput(l.value) + "; allowed: yes, no");
      c.expressible = l.value == "yes";
    } else if (l.key == "reason") {
      c.reason = l.value;
    } else if (l.key == "key") {
      c.spec.key = l.value;
    } else if (l.key == "treatment") {
      c.spec.treatment = l.value;
    } else if (l.key == "control") {
      c.spec.control = l.value;
    } else if (l.key == "naive_control") {
      c.spec.naive_control = l.value;
    } else if (l.key == "naive_treatment") {
      c.spec.naive_treatment = l.value;
    } else if (l.key == "claimed") {
      if (l.value == "better") {
        c.spec.claimed = Claimed::kBetter;
      } else if (l.value == "worse") {
        c.spec.claimed = Claimed::kWorse;
      } else if (l.value == "equal") {
        c.spec.claimed = Claimed::kEqual;
      } else {
        throw UserError(l.origin + ": invalid value " + QuoteInput(l.value) +
                        "; allowed: better, worse, equal");
      }
    } else if (l.key == "threshold") {
      c.spec.threshold = ParseNumber(l.origin, l.value);
      if (!(c.spec.threshold > 0))
        throw UserError(l.origin + ": must be > 0 (the smallest effect that would matter)");
    } else if (l.key == "min_pairs") {
      const double v = ParseNumber(l.origin, l.value);
      if (!(v >= 2) || v != std::floor(v))
        throw UserError(l.origin + ": invalid value " + QuoteInput(l.value) + "; allowed: an integer >= 2");
      c.spec.min_pairs = static_cast<int64_t>(v);
    } else if (l.key == "max_censored") {
      c.spec.max_censored = ParseNumber(l.origin, l.value);
      if (!(c.spec.max_censored >= 0 && c.spec.max_censored <= 1))
        throw UserError(l.origin + ": must lie in [0, 1]");
    } else {
      analysis.push_back(l);  // an analyze option
    }
  }
  for (const char* required : {"statement", "source"}) {
    bool given = false;
    for (const IniLine& l : ini.claim) given = given || l.key == required;
    if (!given) throw UserError(where + ": [claim] needs " + required);
  }
  if (!c.expressible) {
    if (c.reason.empty()) throw UserError(where + ": [claim] expressible = no needs a reason");
    return c;
  }
  for (const char* required : {"treatment", "control", "threshold"}) {
    bool given = false;
    for (const IniLine& l : ini.claim) given = given || l.key == required;
    if (!given) throw UserError(where + ": [claim] needs " + required);
  }
  c.spec.analysis = ParseAnalysisLines(analysis);
  CommandLine cl = quick ? QuickOverrides(ini.quick) : CommandLine{};
  cl.config_file = file.string();
  c.experiment = MergeExperiment(cl);
  return c;
}

// --from: the file must hold the runs the preset plans (the same run columns
// and eval steps); its metrics are what is decided on.
void CheckSameRuns(const Results& plan, const Results& file, const std::string& path) {
  const std::string where = PrintableInput(path, 200) + ": ";
  if (file.num_runs != plan.num_runs || file.steps != plan.steps)
    throw UserError(where + "not a sweep of this preset (" + std::to_string(file.num_runs) +
                    " runs x " + std::to_string(file.steps.size()) + " evals, the preset plans " +
                    std::to_string(plan.num_runs) + " x " + std::to_string(plan.steps.size()) +
                    "; the same --quick?)");
  for (const Column& c : plan.runs) {
    const Column* other = file.FindColumn(c.name);
    if (other == nullptr || other->kind != c.kind || other->ints != c.ints ||
        other->strings != c.strings || other->floats != c.floats)
      throw UserError(where + "not a sweep of this preset (run column " + c.name + " differs)");
  }
}

std::string ComparisonJson(const ClaimComparison& c, const std::string& kind) {
  return "{\"label\": " + JsonString(kind + ": " + c.label) + ", \"effect\": " + JsonNumber(c.effect) +
         ", \"lo\": " + JsonNumber(c.lo) + ", \"hi\": " + JsonNumber(c.hi) +
         ", \"verdict\": " + JsonString(VerdictName(c.verdict)) + "}";
}

// Adds the "claim" section and its figure to a report.
void AddClaimFigure(const ClaimSpec& s, const ClaimResult& r, ReportData* report) {
  std::string claim = "{\"statement\": " + JsonString(s.statement) + ", \"measure\": " +
                      JsonString(r.measure_label) + ", \"threshold\": " + JsonNumber(s.threshold) +
                      ", \"claimed\": " + JsonString(ClaimedName(s.claimed)) + ", \"rows\": [" +
                      ComparisonJson(r.fair, "fair");
  if (r.naive.present) claim += ", " + ComparisonJson(r.naive, "naive");
  claim += "]}";
  report->figures.push_back("claim");
  report->sections.emplace_back("claim", claim);
}

std::string Row(const std::vector<std::string>& cells) {
  std::string s = "|";
  for (const auto& c : cells) s += " " + c + " |";
  return s + "\n";
}

std::string CheckList(const ClaimComparison& c) {
  std::string s;
  for (size_t i = 0; i < c.failed_checks.size(); ++i) s += (i ? "; " : "") + c.failed_checks[i];
  return s;
}

std::string VerdictCell(const ClaimComparison& c) {
  std::string v = VerdictName(c.verdict);
  if (!c.failed_checks.empty()) v += " (" + CheckList(c) + ")";
  return v;
}

}  // namespace

void PrintClaims() {
  const std::vector<fs::path> files = ClaimFiles();
  size_t width = 12;
  for (const auto& f : files) width = std::max(width, f.stem().string().size());
  for (const auto& f : files) {
    const ClaimPreset c = LoadClaim(f, false);
    std::printf("%-*s %s [%s]%s\n", static_cast<int>(width), c.spec.name.c_str(),
                c.spec.statement.c_str(), c.spec.source.c_str(),
                c.expressible ? "" : " (not expressible here)");
  }
}

int ReproduceCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::string name, dir, from;
  bool quick = false, force = false, dry_run = false;
  int threads = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UserError(a + " needs a value");
      return args[++i];
    };
    if (a == "--quick") {
      quick = true;
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--force") {
      force = true;
    } else if (a == "--out") {
      dir = value();
    } else if (a == "--from") {
      from = value();
    } else if (a == "--threads") {
      const std::string v = value();
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || t < 1 || t > 1024)
        throw UserError("--threads: invalid value " + QuoteInput(v) + "; allowed: an integer in [1, 1024]");
      threads = static_cast<int>(t);
    } else if (!a.empty() && a[0] == '-') {
      const std::vector<std::string> options = {"--quick", "--threads", "--from", "--out", "--force",
                                                "--dry-run"};
      throw UserError("reproduce: unknown option " + QuoteInput(a) + DidYouMean(a, options) +
                      "; allowed: " + JoinNames(options));
    } else if (name.empty()) {
      name = a;
    } else {
      throw UserError("reproduce: one claim expected, got also " + QuoteInput(a));
    }
  }
  if (name.empty()) throw UserError("reproduce: a claim name or 'all' is required (`advlab list claims`)");
  if (dir.empty() && !dry_run) throw UserError("reproduce: --out DIR is required");

  // Everything is read, planned and checked before any run starts.
  std::vector<fs::path> chosen;
  std::vector<std::string> names;
  const bool is_file = name.find('/') != std::string::npos ||
                       (name.size() > 4 && name.compare(name.size() - 4, 4, ".ini") == 0);
  if (is_file) {
    chosen.push_back(name);
  } else {
    for (const auto& f : ClaimFiles()) {
      names.push_back(f.stem().string());
      if (name == "all" || name == f.stem().string()) chosen.push_back(f);
    }
  }
  if (chosen.empty())
    throw UserError("reproduce: unknown claim " + QuoteInput(name) + DidYouMean(name, names) +
                    "; allowed: all, " + JoinNames(names));
  if (!dry_run) CheckOutputDir(dir, force);
  std::error_code ec;
  if (!from.empty() && fs::equivalent(fs::path(from), fs::path(dir), ec))
    throw UserError("--from " + PrintableInput(from, 200) + ": the same directory as --out");
  std::vector<ClaimPreset> claims;
  std::vector<SweepPlan> plans;
  std::vector<Results> earlier;  // --from: the sweeps read back
  for (const auto& f : chosen) {
    claims.push_back(LoadClaim(f, quick));
    ClaimPreset& c = claims.back();
    SweepPlan plan;
    if (c.expressible) {
      const Experiment& e = c.experiment;
      plan = PlanSweep(e.keys, e.grid, e.seeds, threads, e.arms);
      const Results skeleton = SweepSkeleton(plan);
      try {
        ValidateClaim(skeleton, c.spec);
      } catch (const UserError& err) {
        throw UserError(PrintableInput(f.string(), 200) + ": [claim]: " + err.what());
      }
      if (!from.empty()) {
        const std::string path = (fs::path(from) / c.spec.name / "sweep.h5").string();
        Results r = ReadResultsFile(path);
        CheckSameRuns(skeleton, r, path);
        earlier.push_back(std::move(r));
      }
    }
    plans.push_back(std::move(plan));
  }
  if (dry_run) {
    for (size_t k = 0; k < claims.size(); ++k)
      out << claims[k].spec.name << ": "
          << (claims[k].expressible ? std::to_string(plans[k].num_runs()) + " runs, checked"
                                    : "not expressible here: " + claims[k].reason)
          << "\n";
    return 0;
  }
  size_t next_earlier = 0;

  WholeDir whole(dir);
  std::string md =
      std::string("Each claim is decided by one paired comparison (by seed, common random "
                  "numbers) of the method against its fair control, on the judged seeds (with "
                  "tuning, each arm at its own best value on the other seeds). The effect is "
                  "oriented so that positive means the method is better; its interval is the union "
                  "of the 95% bootstrap and t intervals. **holds**: the interval lies beyond the "
                  "threshold in the claimed direction; **does not hold**: it excludes every effect "
                  "of at least the threshold in that direction (for `equal`: it lies outside the "
                  "band); **inconclusive** otherwise, or when a check of the design fails (named). "
                  "The naive comparison beside it is what one would report without the control.") +
      (quick ? " These are --quick runs (fewer seeds and steps)." : "") +
      "\n\n| claim | measure | effect [95% CI] | threshold | claimed | verdict | fair control "
                   "| naive comparison | naive verdict |\n|---|---|---|---:|---|---|---|---|---|\n";
  std::string text;
  std::string details;
  for (size_t k = 0; k < claims.size(); ++k) {
    const ClaimPreset& c = claims[k];
    const ClaimSpec& s = c.spec;
    if (!c.expressible) {
      md += Row({s.name, "-", "-", "-", "-", "not expressible", "-", "-", "-"});
      details += "## " + s.name + "\n\n" + s.statement + " (" + s.source + ")\n\n" +
                 "Not expressible in advlab: " + c.reason + "\n\n";
      text += s.name + ": not expressible here: " + c.reason + "\n";
      continue;
    }
    Results results;
    if (from.empty()) {
      std::fprintf(stderr, "advlab: claim %s (%zu runs)\n", s.name.c_str(), plans[k].num_runs());
      results = RunSweep(plans[k], threads);
    } else {
      results = std::move(earlier[next_earlier++]);
    }
    const fs::path sub = whole.path() / s.name;
    fs::create_directories(sub);
    WriteResultsFile(results, (sub / "sweep.h5").string());
    const ClaimResult r = EvaluateClaim(results, s);
    const char* fmt = MeasureValueFormat(s.analysis.measure);

    ReportOptions ro;
    ro.analyze = s.analysis;
    ro.analyze.compare_key = s.key;
    ro.analyze.compare_values = {s.control, s.treatment};
    for (const std::string* v : {&s.naive_control, &s.naive_treatment})
      if (!v->empty() && std::find(ro.analyze.compare_values.begin(), ro.analyze.compare_values.end(),
                                   *v) == ro.analyze.compare_values.end())
        ro.analyze.compare_values.push_back(*v);
    ro.band_resamples = 1000;
    ro.file_label = "sweep.h5";
    ro.results_path = "sweep.h5";  // next to analysis.json: the directory may move
    ReportData report = BuildReport(results, ro);
    AddClaimFigure(s, r, &report);
    std::string head = "# Claim " + s.name + ": " + VerdictName(r.fair.verdict) + "\n\n" +
                       "**Claim.** " + s.statement + " (" + s.source + ")\n\n" +
                       "**Decided by** " + r.measure_label + ", " + s.treatment + " against " +
                       s.control + ", claimed " + ClaimedName(s.claimed) +
                       (s.claimed == Claimed::kEqual ? " within +-" : " by at least ") +
                       FormatDouble(fmt, s.threshold) + (quick ? " (--quick run)" : "") + ".\n\n" +
                       r.paragraph + "\n\n";
    for (const auto& t : r.tuned) head += "- tuned: " + t + "\n";
    if (!r.tuned.empty()) head += "\n";
    head += "![the effect against the threshold](claim.png)\n\n";
    if (!c.design.empty()) head += "**Design** (the preset's comment).\n\n" + c.design + "\n";
    report.markdown = head + report.markdown;
    WriteReportFiles(report, sub);

    const std::string naive =
        r.naive.present ? r.naive.label + ": " + FormatEffect(r.naive, s.analysis) : "-";
    md += Row({s.name, r.measure_label, FormatEffect(r.fair, s.analysis),
               FormatDouble(fmt, s.threshold), ClaimedName(s.claimed), VerdictCell(r.fair),
               r.fair.label, naive, r.naive.present ? VerdictCell(r.naive) : "-"});
    details += "## " + s.name + "\n\n" + r.paragraph + "\n\n";
    text += s.name + ": " + VerdictCell(r.fair) + "; " + r.measure_label + " effect " +
            FormatEffect(r.fair, s.analysis) + " vs threshold " + FormatDouble(fmt, s.threshold) +
            " (" + r.fair.label + ")";
    if (r.naive.present) text += "; naive (" + r.naive.label + "): " + VerdictName(r.naive.verdict) +
                                 " " + FormatEffect(r.naive, s.analysis);
    text += "\n";
  }
  {
    std::ofstream f(whole.path() / "claims.md", std::ios::binary);
    f << md << "\n" << details;
    if (!f) throw UserError("--out " + PrintableInput(dir, 200) + ": cannot write claims.md");
  }
  whole.Commit();
  out << text << "wrote " << (whole.final_path() / "claims.md").string() << "\n";
  return 0;
}

}  // namespace advlab
