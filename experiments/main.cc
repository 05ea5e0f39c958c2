// advlab: the command-line front door (DESIGN §7).
//
// Every user error is reported as one line "advlab: error: ..." with exit status
// 2 and no output file left behind (AtomicOutput).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "analysis/summary.h"
#include "experiments/advantage.h"
#include "experiments/h5io.h"
#include "experiments/options.h"
#include "experiments/sweep.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

constexpr char kUsage[] =
    "advlab: a deterministic laboratory for advantage estimation in RL fine-tuning\n"
    "\n"
    "usage:\n"
    "  advlab run     [--config FILE] [--key=value ...] --out FILE.h5 [--force]\n"
    "  advlab sweep   [--config FILE] [--key=value ...] --grid key=v1,v2 ... --seeds N\n"
    "                 [--threads T] --out FILE.h5 [--force]\n"
    "  advlab analyze FILE.h5 [--metric accuracy] [--threshold 0.8] [--csv]\n"
    "  advlab digest  FILE.h5\n"
    "  advlab advantage --estimator NAME|all [--group-size G] [--lengths FILE] [--json]\n"
    "                 (rewards on stdin, one group per line -> advantages)\n"
    "  advlab list    envs|estimators|modifiers|policies|optimizers|keys\n"
    "  advlab version\n"
    "\n"
    "Keys are dotted (seed, env.name, train.group_size, optim.lr, estimator.name, ...);\n"
    "`advlab list keys` shows them all with defaults.\n";

const std::vector<std::string> kListTopics = {"envs",     "estimators", "modifiers",
                                              "policies", "optimizers", "keys"};

void PrintList(const std::string& topic) {
  auto print = [](const std::string& name, const std::string& desc) {
    std::printf("%-16s %s\n", name.c_str(), desc.c_str());
  };
  if (topic == "envs") {
    for (const auto* e : TaskRegistry::Get().All()) print(e->name, e->description);
  } else if (topic == "estimators") {
    for (const auto* e : EstimatorRegistry::Get().All()) print(e->name, e->description);
  } else if (topic == "modifiers") {
    for (const auto* e : ModifierRegistry::Get().All()) print(e->name, e->description);
  } else if (topic == "policies") {
    for (const auto* e : PolicyRegistry::Get().All()) print(e->name, e->description);
  } else if (topic == "optimizers") {
    for (const auto* e : OptimizerRegistry::Get().All()) print(e->name, e->description);
  } else if (topic == "keys") {
    for (const auto* k : KeyRegistry::Get().All()) {
      std::printf("%-26s %-12s %s\n", k->name.c_str(), k->default_value.c_str(), k->help.c_str());
    }
  } else {
    throw UserError("list: unknown topic '" + topic + "'" + DidYouMean(topic, kListTopics) +
                    "; allowed: " + JoinNames(kListTopics));
  }
}

void PrintSummary(const Results& results, const std::string& metric, double threshold, bool csv) {
  auto rows = SummarizeSweep(results, metric, threshold, /*bootstrap_seed=*/0);
  std::cout << (csv ? FormatSummaryCsv(results, rows, metric, threshold)
                    : FormatSummaryTable(results, rows, metric, threshold));
}

int RunOrSweep(const std::vector<std::string>& args, bool sweep) {
  CommandLine cl = ParseCommandLine(args, sweep);
  if (!cl.positional.empty()) {
    throw UserError("unexpected argument '" + cl.positional[0] + "'; keys are given as --key=value");
  }
  if (cl.out.empty()) throw UserError("--out FILE.h5 is required");
  SweepPlan plan = PlanSweep(MergedKeys(cl), cl.grid, sweep ? cl.seeds : 1);
  AtomicOutput output(cl.out, cl.force);  // refuses an existing or unwritable path now
  Results results = RunSweep(plan, sweep ? cl.threads : 1);
  output.Write(results);
  output.Commit();
  if (sweep) PrintSummary(results, "accuracy", 0.8, false);
  std::printf("wrote %s (%lld runs x %lld evals)\n", cl.out.c_str(),
              static_cast<long long>(results.num_runs), static_cast<long long>(results.num_evals()));
  return 0;
}

int Analyze(const std::vector<std::string>& args) {
  std::string file, metric = "accuracy";
  double threshold = 0.8;
  bool csv = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name) {
      if (i + 1 >= args.size()) throw UserError(name + " needs a value");
      return args[++i];
    };
    if (a == "--metric") {
      metric = value(a);
    } else if (a == "--threshold") {
      std::string v = value(a);
      char* end = nullptr;
      threshold = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(threshold == threshold)) {
        throw UserError("--threshold: invalid value '" + v + "'; allowed: a number");
      }
    } else if (a == "--csv") {
      csv = true;
    } else if (!a.empty() && a[0] == '-') {
      throw UserError("analyze: unknown option '" + a + "'; allowed: --metric, --threshold, --csv");
    } else if (file.empty()) {
      file = a;
    } else {
      throw UserError("analyze: one file expected, got also '" + a + "'");
    }
  }
  if (file.empty()) throw UserError("analyze: FILE.h5 is required");
  Results results = ReadResultsFile(file);
  if (results.FindMetric(metric) == nullptr) {
    std::vector<std::string> names;
    for (const auto& m : results.metrics) names.push_back(m.name);
    throw UserError("--metric: '" + metric + "' is not in " + file + DidYouMean(metric, names));
  }
  PrintSummary(results, metric, threshold, csv);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "run") return RunOrSweep(rest, false);
  if (cmd == "sweep") return RunOrSweep(rest, true);
  if (cmd == "analyze") return Analyze(rest);
  if (cmd == "advantage") return AdvantageCommand(rest, std::cin, std::cout);
  if (cmd == "digest") {
    if (rest.size() != 1) throw UserError("digest: exactly one FILE.h5 expected");
    std::printf("%s  %s\n", DigestResultsFile(rest[0]).c_str(), rest[0].c_str());
    return 0;
  }
  if (cmd == "list") {
    if (rest.size() != 1) {
      throw UserError("list: one topic expected; allowed: " + JoinNames(kListTopics));
    }
    PrintList(rest[0]);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("advlab %s\n", kAdvlabVersion);
    for (const auto& kv : BuildProvenance()) std::printf("  %s: %s\n", kv.first.c_str(), kv.second.c_str());
    return 0;
  }
  throw UserError("unknown command '" + cmd + "'" +
                  DidYouMean(cmd, {"run", "sweep", "analyze", "advantage", "digest", "list",
                                   "version", "help"}) +
                  "; run `advlab help`");
}

}  // namespace
}  // namespace advlab

int main(int argc, char** argv) {
  try {
    return advlab::Main(argc, argv);
  } catch (const advlab::UserError& e) {
    std::fprintf(stderr, "advlab: error: %s\n", e.what());
    return 2;
  }
}
