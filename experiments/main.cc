// advlab: the command-line front door (DESIGN §7).
//
// Every user error is reported as one line "advlab: error: ..." with exit status
// 2 and no output file left behind (AtomicOutput); running out of memory too.
// The commands live in one table (Commands()): usage, `CMD --help`, dispatch
// and the unknown-command suggestion all read it.
#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "experiments/advantage.h"
#include "experiments/analyze_cmd.h"
#include "experiments/h5io.h"
#ifdef ADVLAB_HAVE_MPI
#include "experiments/mpi_sweep.h"
#endif
#include "experiments/options.h"
#include "experiments/reproduce.h"
#include "experiments/resume.h"
#include "experiments/shard.h"
#include "experiments/sweep.h"
#include "experiments/trace.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/metrics.h"
#include "sim/policy_loss.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

// Where `advlab list presets` looks: the source tree this binary was built
// from, then the working directory (a binary moved away from its sources).
std::vector<std::string> PresetDirs() { return SourceTreeDirs("experiments/presets"); }

// The first comment line of a preset, without its marker: its description.
std::string PresetDescription(const std::filesystem::path& file) {
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string& line : OpeningComment(text)) {
    if (!line.empty()) return PrintableInput(line, 200);
  }
  return "(no description: the file does not start with a comment line)";
}

void ListPresets() {
  std::error_code ec;
  for (const std::string& dir : PresetDirs()) {
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".ini" && entry.is_regular_file(ec)) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    int width = 16;
    for (const auto& f : files) width = std::max(width, static_cast<int>(f.filename().string().size()));
    for (const auto& f : files) {
      std::printf("%-*s %s\n", width, f.filename().string().c_str(), PresetDescription(f).c_str());
    }
    return;
  }
  std::vector<std::string> dirs = PresetDirs();
  for (auto& d : dirs) d = QuoteInput(d, 200);
  throw UserError("list presets: no presets folder; looked in " + JoinNames(dirs) +
                  "; run advlab from its source tree, or pass an INI file with --config");
}

template <class R>
void PrintRegistry() {
  for (const auto* e : R::Get().All()) std::printf("%-16s %s\n", e->name.c_str(), e->description.c_str());
}

void PrintKeys() {
  for (const auto* k : KeyRegistry::Get().All()) {
    std::string help = k->help;
    if (k->used_by.test) help += " [read when " + k->used_by.when + "]";
    std::printf("%-26s %-12s %s\n", k->name.c_str(), k->default_value.c_str(), help.c_str());
  }
}

void PrintMetrics() {
  for (const MetricSpec& m : Metrics()) {
    std::printf("%-24s %-11s %-13s %s\n", m.name, m.unit, MetricKindName(m.kind), m.doc);
  }
}

// `advlab list TOPIC`: one row per topic, the one place that names them.
struct ListTopic {
  const char* name;
  void (*print)();
};
const ListTopic kListTopics[] = {
    {"envs", PrintRegistry<TaskRegistry>},
    {"estimators", PrintRegistry<EstimatorRegistry>},
    {"modifiers", PrintRegistry<ModifierRegistry>},
    {"losses", PrintRegistry<PolicyLossRegistry>},
    {"policies", PrintRegistry<PolicyRegistry>},
    {"optimizers", PrintRegistry<OptimizerRegistry>},
    {"metrics", PrintMetrics},
    {"keys", PrintKeys},
    {"presets", ListPresets},
    {"claims", PrintClaims},
};

std::vector<std::string> ListTopicNames() {
  std::vector<std::string> names;
  for (const ListTopic& t : kListTopics) names.push_back(t.name);
  return names;
}

void PrintList(const std::string& topic) {
  for (const ListTopic& t : kListTopics) {
    if (topic == t.name) return t.print();
  }
  throw UserError("list: unknown topic " + QuoteInput(topic) + DidYouMean(topic, ListTopicNames()) +
                  "; allowed: " + JoinNames(ListTopicNames()));
}

// The command line as typed, shell-quoted, without --restart: what resumes an
// interrupted run or sweep (set by Main).
std::string g_resume_command;

std::string ShellQuote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-+=/.,:@%") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A run or sweep command, parsed and planned.
struct PlannedSweep {
  CommandLine cl;
  Experiment e;
  SweepPlan plan;
  int threads = 1;
  ShardSpec shard;  // --shard / --shard-from-env (inactive: the whole sweep)
};

PlannedSweep PlanRunOrSweep(const std::vector<std::string>& args, bool sweep) {
  PlannedSweep p;
  p.cl = ParseCommandLine(args, sweep);
  const CommandLine& cl = p.cl;
  if (!cl.positional.empty()) {
    throw UserError("unexpected argument " + QuoteInput(cl.positional[0]) +
                    "; keys are given as --key=value");
  }
  if (cl.out.empty()) throw UserError("--out FILE.h5 is required");
  p.e = MergeExperiment(cl);
  const Experiment& e = p.e;
  if (!sweep && !e.grid.empty()) {
    const GridAxis& axis = e.grid.front();
    throw UserError(axis.origin + ": `advlab run` makes one run, not a grid; run the grid with "
                    "`advlab sweep --config " + PrintableInput(cl.config_file, 200) +
                    "`, or pick one value with --" + axis.key + "=VALUE");
  }
  if (!sweep && !e.arms.empty()) {
    const Arm& arm = e.arms.front();
    throw UserError(arm.origin + ": `advlab run` makes one run, not arms; run the arms with "
                    "`advlab sweep --config " + PrintableInput(cl.config_file, 200) +
                    "`, or give the arm's keys as --KEY=VALUE");
  }
  if (!cl.shard.empty() && cl.shard_from_env) {
    throw UserError("--shard and --shard-from-env: give one");
  }
  if (!cl.shard.empty()) p.shard = ParseShard(cl.shard, "--shard");
  if (cl.shard_from_env) p.shard = ShardFromEnv([](const char* name) { return std::getenv(name); });
  p.threads = sweep ? e.threads : 1;
  p.plan = PlanSweep(e.keys, e.grid, sweep ? e.seeds : 1, p.threads, e.arms);
  if (sweep) {  // one run has nothing to tune or compare: `run` ignores [analysis]
    p.plan.analysis_ini = AnalysisIni(e.analysis);
    CheckAnalysisSection(SweepSkeleton(p.plan), e.analysis);
  }
  return p;
}

SweepFileOptions FileOptions(const PlannedSweep& p) {
  const CommandLine& cl = p.cl;
  SweepFileOptions opts;
  opts.shard = p.shard;
  opts.out = cl.out;
  opts.force = cl.force;
  opts.restart = cl.restart;
  opts.quiet = cl.quiet;
  opts.resume_command = g_resume_command;
  return opts;
}

int ReportSweep(const PlannedSweep& p, const SweepFileResult& done, bool sweep) {
  if (done.exit_status != 0) return done.exit_status;
  const CommandLine& cl = p.cl;
  const Results& results = done.results;  // the layout; the values are in the file
  if (sweep && !p.shard.active()) {
    // The summary table reads the file back; a sweep too large for that in a
    // moment (more than 2^27 values, 1 GiB) leaves it to `advlab analyze`.
    const double values = static_cast<double>(results.num_runs) *
                          static_cast<double>(results.num_evals()) *
                          static_cast<double>(results.metrics.size());
    if (values <= static_cast<double>(1 << 27)) {
      PrintSweepSummary(ReadResultsFile(cl.out), std::cout);
    } else {
      std::printf("(no summary table for %lld runs: advlab analyze %s)\n",
                  static_cast<long long>(results.num_runs), cl.out.c_str());
    }
  }
  std::printf("wrote %s (%lld runs x %lld evals)\n", cl.out.c_str(),
              static_cast<long long>(results.num_runs), static_cast<long long>(results.num_evals()));
  if (p.shard.active()) {
    std::printf("shard %s of %lld runs; once every shard is made: advlab merge SHARDS... --out "
                "FILE.h5\n",
                p.shard.Text().c_str(), static_cast<long long>(p.plan.num_runs()));
    return 0;
  }
  if (sweep && !p.e.analysis.empty()) {
    std::printf("its analysis ([analysis] of the config): advlab analyze %s\n", cl.out.c_str());
  }
  return 0;
}

// The one line for an error that ends advlab (exit 2): a UserError, or out of
// memory. Other exceptions are rethrown.
int ReportError(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const UserError& e) {
    // Printable, so the message stays one line whatever input it quotes.
    std::fprintf(stderr, "advlab: error: %s\n", PrintableInput(e.what(), std::string::npos).c_str());
  } catch (const std::bad_alloc&) {
    // Last resort: the planning estimate missed this. Unwinding removed any
    // temporary output file (AtomicOutput).
    std::fprintf(stderr,
                 "advlab: error: out of memory; make the sizes smaller (env.prompts, "
                 "env.answers, train.batch_prompts, train.group_size, policy.hidden) or use "
                 "fewer --threads\n");
  }
  return 2;
}

#ifdef ADVLAB_HAVE_MPI
// Under mpirun (experiments/mpi_sweep.h): every rank plans; a planning error
// is reported by the lowest rank that has it (rank 0 for bad input) and every
// rank exits 2; rank 0 writes the file, the others make runs. An error is
// printed before any other rank may exit: mpirun ends the job at the first
// rank that exits with a status other than 0, and its output with it.
int RunOrSweepMpi(const std::vector<std::string>& args, bool sweep) {
  MpiJob mpi;
  PlannedSweep p;
  std::exception_ptr error;
  if (!mpi.setup_error().empty()) error = std::make_exception_ptr(UserError(mpi.setup_error()));
  if (!error) {
    try {
      p = PlanRunOrSweep(args, sweep);
    } catch (const UserError& e) {
      error = mpi.rank() == 0 ? std::current_exception()
                              : std::make_exception_ptr(UserError(
                                    "rank " + std::to_string(mpi.rank()) + ": " + e.what()));
    } catch (const std::bad_alloc&) {
      error = std::current_exception();
    }
  }
  const int first = mpi.FirstFailure(error != nullptr);
  if (first >= 0) {
    if (first == mpi.rank()) ReportError(error);
    mpi.Barrier();
    return 2;
  }
  if (mpi.rank() != 0) return mpi.Work(p.plan, p.threads);
  int status;
  try {
    status = ReportSweep(p, mpi.Lead(p.plan, p.threads, FileOptions(p)), sweep);
  } catch (...) {
    status = ReportError(std::current_exception());
  }
  std::fflush(stdout);
  mpi.Finish(status);
  return status;
}
#endif

int RunOrSweep(const std::vector<std::string>& args, bool sweep) {
#ifdef ADVLAB_HAVE_MPI
  if (LaunchedAsMpiJob()) return RunOrSweepMpi(args, sweep);
#else
  // Under mpirun every rank would make the whole sweep into the same file.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* ranks = std::getenv(name);
    if (ranks != nullptr && std::atoi(ranks) > 1) {
      throw UserError("this advlab was built without MPI (CMake ADVLAB_MPI), so it cannot share "
                      "a sweep among mpirun's ranks; run it without mpirun, or build it with MPI "
                      "(Debian: libopenmpi-dev)");
    }
  }
#endif
  const PlannedSweep p = PlanRunOrSweep(args, sweep);
  return ReportSweep(p, RunSweepToFile(p.plan, p.threads, FileOptions(p)), sweep);
}

int Analyze(const std::vector<std::string>& args) { return AnalyzeCommand(args, std::cout); }

int Report(const std::vector<std::string>& args) { return ReportCommand(args, std::cout); }

int Reproduce(const std::vector<std::string>& args) { return ReproduceCommand(args, std::cout); }

int Merge(const std::vector<std::string>& args) { return MergeCommand(args, std::cout); }

int Trace(const std::vector<std::string>& args) { return TraceCommand(args, std::cout); }

int Digest(const std::vector<std::string>& args) {
  if (args.size() != 1) throw UserError("digest: exactly one FILE.h5 expected");
  std::printf("%s  %s\n", DigestResultsFile(args[0]).c_str(), args[0].c_str());
  return 0;
}

int List(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    throw UserError("list: one topic expected; allowed: " + JoinNames(ListTopicNames()));
  }
  PrintList(args[0]);
  return 0;
}

int Version(const std::vector<std::string>&) {
  std::printf("advlab %s\n", kAdvlabVersion);
  for (const auto& kv : BuildProvenance()) std::printf("  %s: %s\n", kv.first.c_str(), kv.second.c_str());
  return 0;
}

int Advantage(const std::vector<std::string>& args) {
  return AdvantageCommand(args, std::cin, std::cout);
}

int Help(const std::vector<std::string>& args);

// The commands: usage text, `CMD --help`, dispatch and the unknown-command
// suggestion all come from this table.
struct Command {
  std::string name;
  std::string args;  // after "advlab NAME"; '\n' continues on an aligned line
  std::string doc;   // one line
  std::string help;  // `advlab NAME --help` text when more than usage + doc ("": none)
  int (*handler)(const std::vector<std::string>& args);
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"run", "[--config FILE] [--key=value ...] --out FILE.h5 [--force] [--restart] [--quiet]",
       "one training run; command-line keys override the file's", "",
       [](const std::vector<std::string>& a) { return RunOrSweep(a, false); }},
      {"sweep",
       "[--config FILE] [--key=value ...] [--grid key=v1,v2 ...]\n"
       "[--arm 'NAME: key=value, ...' ...] [--seeds N] [--threads T] --out FILE.h5\n"
       "[--force] [--restart] [--quiet] [--shard I/N | --shard-from-env]",
       "arms x a grid x seeds; a config file's [sweep] and [arm.NAME] sections may hold them",
       "An INI file carries a whole experiment in a [sweep] section:\n"
       "  [sweep]\n"
       "  seeds = 8\n"
       "  grid.estimator.name = reinforce, rloo, grpo, dr_grpo\n"
       "The command line wins: --seeds and --threads replace the file's, a --grid on a key\n"
       "the file grids over replaces that axis, and --KEY=VALUE on such a key drops the\n"
       "axis for the single value. `advlab list presets` shows the preset files.\n"
       "\n"
       "Arms are named configs that differ in any keys, each crossed with the grid:\n"
       "  --arm 'aapo_g4: estimator.name=grpo+aapo, train.group_size=4'\n"
       "or in the file, one section per arm with full dotted keys:\n"
       "  [arm.aapo_g4]\n"
       "  estimator.name = grpo+aapo\n"
       "  train.group_size = 4\n"
       "An arm's keys replace the base config's; an arm with no key is the base config.\n"
       "Names: letters, digits, '_', '.', '-'. An arm may not set a --grid key or seed.\n"
       "Runs go arm by arm (in order), each arm with the same seeds, so they pair by seed;\n"
       "the file's /runs/arm column names each run's arm (`advlab analyze FILE --compare\n"
       "arm=A,B`). A --arm named like a file arm replaces it; other --arm are added after.\n"
       "\n"
       "Interruptions (docs/sweeps.md): each finished run is appended to FILE.h5.journal;\n"
       "FILE.h5 is assembled from it at the end and the journal removed. Killed in any\n"
       "way (Ctrl-C, SIGTERM, kill -9, a crash, a power loss), the same command again\n"
       "resumes: the runs in the journal are not made again, and FILE.h5 has the same\n"
       "bytes as an uninterrupted sweep's. A journal of another sweep (other keys, grid,\n"
       "seeds or advlab version) is refused naming what differs; --restart discards it.\n"
       "--force replaces an existing FILE.h5, as before. Ctrl-C or SIGTERM: no new runs\n"
       "start, the runs in flight finish, and advlab exits 130 (143) saying how to\n"
       "resume; a second Ctrl-C stops at once. Progress goes to stderr: on a terminal\n"
       "one updating line (runs done/total, rollouts/s, elapsed, ETA), elsewhere a line\n"
       "every 10 s; --quiet silences it.\n"
       "\n"
       "Shards (job arrays): --shard I/N makes runs k with k mod N == I (I from 0) and\n"
       "writes a shard file; --shard-from-env takes I/N from a Slurm or Grid Engine array\n"
       "(SLURM_ARRAY_TASK_ID/_MIN/_MAX/_COUNT/_STEP, SGE_TASK_ID/_FIRST/_LAST/_STEPSIZE).\n"
       "`advlab merge` assembles the shards into the file one unsharded sweep writes.\n"
       "\n"
       "Under mpirun (`mpirun -n N advlab sweep ...`; built with MPI) rank 0 writes the\n"
       "journal and the file and hands runs to the other ranks, each on --threads T\n"
       "threads: the same bytes as one process (docs/sweeps.md, \"MPI\").\n",
       [](const std::vector<std::string>& a) { return RunOrSweep(a, true); }},
      {"analyze", kAnalyzeArgs,
       "per-run measures, seed statistics, paired comparisons, tuning, sensitivity",
       kAnalyzeUsage, Analyze},
      {"report", kReportArgs, "report.md and figures of a results file", kReportUsage, Report},
      {"reproduce", kReproduceArgs,
       "decide a paper claim (experiments/claims/) against its fair control",
       kReproduceUsage, Reproduce},
      {"merge", "SHARD.h5... --out FILE.h5 [--force]",
       "the whole sweep's file from its shards (advlab sweep --shard I/N)",
       "Every shard of one sweep (same sweep, version and shard count; each once) in any\n"
       "order; the result has the bytes one unsharded sweep writes. A missing, duplicate,\n"
       "damaged or foreign shard is refused naming the file, and nothing is written.\n",
       Merge},
      {"trace", kTraceArgs,
       "one training step shown in full: rollouts, advantages, coefficients, the update",
       kTraceUsage, Trace},
      {"digest", "FILE.h5", "SHA-256 of the result datasets of a results file", "", Digest},
      {"advantage", "--estimator NAME|all [--group-size G] [--lengths FILE] [--json] ...",
       "an estimator's advantages for groups of rewards on stdin",
       kAdvantageUsage, Advantage},
      {"list", [] {
         std::string topics;
         for (const auto& t : ListTopicNames()) topics += (topics.empty() ? "" : "|") + t;
         return topics;
       }(),
       "components, keys with their defaults, or the preset files", "", List},
      {"version", "", "version and build provenance", "", Version},
      {"help", "[COMMAND]", "this text, or one command's usage", "", Help},
  };
  return commands;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& c : Commands())
    if (c.name == name) return &c;
  return nullptr;
}

// "advlab NAME ARGS" (NAME padded to name_width), continuation lines aligned
// under ARGS for a line that starts `indent` columns in.
std::string UsageLine(const Command& c, size_t name_width, size_t indent) {
  std::string head = "advlab " + c.name;
  if (c.args.empty()) return head;
  head.resize(std::max(head.size() + 1, 7 + name_width), ' ');
  std::string out = head;
  for (char ch : c.args) {
    out += ch;
    if (ch == '\n') out += std::string(indent + head.size(), ' ');
  }
  return out;
}

std::string Usage() {
  size_t width = 0;
  for (const Command& c : Commands()) width = std::max(width, c.name.size() + 1);
  std::string out =
      "advlab: a deterministic laboratory for advantage estimation in RL fine-tuning\n\nusage:\n";
  for (const Command& c : Commands()) {
    out += "  " + UsageLine(c, width, 2) + "\n";
    out += std::string(2 + 7 + width, ' ') + c.doc + "\n";
  }
  out += "\n`advlab CMD --help` shows one command. Keys are dotted (seed, env.name,\n"
         "train.group_size, optim.lr, estimator.name, ...); `advlab list keys` shows them\n"
         "all with defaults.\n";
  return out;
}

std::string CommandHelp(const Command& c) {
  if (c.name == "advantage") return c.help;  // a full text of its own
  std::string out = "usage: " + UsageLine(c, 0, 7) + "\n\n" + c.doc + "\n";
  if (!c.help.empty()) out += "\n" + c.help;
  return out;
}

int Help(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  const Command* c = FindCommand(args[0]);
  if (c == nullptr || args.size() > 1) {
    std::vector<std::string> names;
    for (const Command& k : Commands()) names.push_back(k.name);
    throw UserError("help: " + (c ? "one command expected" : "unknown command " + QuoteInput(args[0]) +
                                                              DidYouMean(args[0], names)) +
                    "; allowed: " + JoinNames(names));
  }
  std::fputs(CommandHelp(*c).c_str(), stdout);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(Usage().c_str(), stderr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") return Help({});
  if (args[0] == "--version") return Version({});
  const Command* cmd = FindCommand(args[0]);
  if (cmd == nullptr) {
    std::vector<std::string> names;
    for (const Command& c : Commands()) names.push_back(c.name);
    throw UserError("unknown command " + QuoteInput(args[0]) + DidYouMean(args[0], names) +
                    "; run `advlab help`");
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  g_resume_command = ShellQuote(argv[0]);
  for (const std::string& a : args) {
    if (a != "--restart") g_resume_command += " " + ShellQuote(a);
  }
  for (const std::string& a : rest) {
    if (a == "--help" || a == "-h") {
      std::fputs(CommandHelp(*cmd).c_str(), stdout);
      return 0;
    }
  }
  return cmd->handler(rest);
}

}  // namespace
}  // namespace advlab

int main(int argc, char** argv) {
  try {
    return advlab::Main(argc, argv);
  } catch (...) {
    return advlab::ReportError(std::current_exception());
  }
}
