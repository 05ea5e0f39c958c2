#include "experiments/resume.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "experiments/h5io.h"
#include "experiments/options.h"
#include "experiments/progress.h"
#include "experiments/sha256.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/metrics.h"

namespace advlab {
namespace {

// ---------------------------------------------------------------------------
// Signals: the first SIGINT/SIGTERM asks the sweep to stop (no new run
// starts); a second one exits at once. Only async-signal-safe calls here.

std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);
// A temp file to remove when a second signal exits at once (the final file
// being written); empty when none.
char g_unlink_on_exit[4096];
bool g_tty = false;  // stderr is a terminal: a message first ends the progress line

void Say(const char* text) {
  const ssize_t ignored = write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void OnStopSignal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) {
    if (g_unlink_on_exit[0] != '\0') unlink(g_unlink_on_exit);
    if (g_tty) Say("\n");
    Say("advlab: stopped at once; the journal keeps every run recorded so far\n");
    _exit(128 + sig);
  }
  if (g_tty) Say("\n");
  Say(sig == SIGINT ? "advlab: interrupted: no new runs start, the runs in flight finish "
                      "(interrupt again to stop at once)\n"
                    : "advlab: terminated: no new runs start, the runs in flight finish "
                      "(a second signal stops at once)\n");
}

// Installs the handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    g_unlink_on_exit[0] = '\0';
    g_tty = isatty(STDERR_FILENO) != 0;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // other threads' system calls carry on
    // A SIGINT ignored from the start (a background job of a script, nohup)
    // stays ignored, as for any program.
    sigaction(SIGINT, nullptr, &old_int_);
    if (old_int_.sa_handler != SIG_IGN) sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_unlink_on_exit[0] = '\0';
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  static void UnlinkOnExit(const std::string& path) {
    if (path.size() < sizeof g_unlink_on_exit) std::memcpy(g_unlink_on_exit, path.c_str(), path.size() + 1);
  }

 private:
  struct sigaction old_int_, old_term_;
};

// ---------------------------------------------------------------------------
// Descriptions.

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// "name = value" lines as (name, value) pairs, in order.
std::vector<std::pair<std::string, std::string>> Lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) out.emplace_back(line, "");
    else out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
    at = end + 1;
  }
  return out;
}

std::string Shown(const std::string& s) { return PrintableInput(s, 80); }

bool FileExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string Runs(uint64_t n) { return std::to_string(n) + (n == 1 ? " run" : " runs"); }

}  // namespace

std::string JournalPath(const std::string& out) { return out + ".journal"; }

std::string SweepDescription(const SweepPlan& plan) {
  const size_t n = plan.num_runs();
  size_t cells = std::max<size_t>(plan.arms.size(), 1);
  for (const GridAxis& axis : plan.grid) cells *= axis.values.size();
  std::vector<std::string> steps;
  for (int64_t s : plan.Run(0).EvalSteps()) steps.push_back(std::to_string(s));
  std::string d = "advlab_version = " + std::string(kAdvlabVersion) + "\n";
  d += "runs = " + std::to_string(n) + "\n";
  d += "seeds = " + std::to_string(n / cells) + "\n";
  d += "steps = " + Join(steps, ",") + "\n";
  d += "metrics = " + Join(MetricNames(), ",") + "\n";
  for (const Arm& arm : plan.arms) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : arm.keys) keys.push_back(k + "=" + v);
    d += "arm " + arm.name + " = " + Join(keys, ", ") + "\n";
  }
  for (const GridAxis& axis : plan.grid) d += "grid " + axis.key + " = " + Join(axis.values, ",") + "\n";
  for (const auto& [k, v] : plan.base.values()) d += k + " = " + v + "\n";
  return d;
}

JournalHeader SweepJournalHeader(const SweepPlan& plan) {
  JournalHeader h;
  h.advlab_version = kAdvlabVersion;
  h.runs = plan.num_runs();
  h.values_per_run = MetricNames().size() * plan.Run(0).EvalSteps().size();
  h.description = SweepDescription(plan);
  return h;
}

Digest32 RunIdentity(const RunConfig& rc) {
  std::string text = "advlab " + std::string(kAdvlabVersion) + "\n";
  for (const auto& [k, v] : rc.config.values()) {
    text += k;
    text += " = ";
    text += v;
    text += '\n';
  }
  Sha256 h;
  h.Bytes(text.data(), text.size());
  return h.Finish();
}

std::string DescriptionDifference(const std::string& a, const std::string& b,
                                  const std::string& a_name, const std::string& b_name) {
  const auto la = Lines(a), lb = Lines(b);
  auto find = [](const auto& lines, const std::string& name) -> const std::string* {
    for (const auto& [k, v] : lines)
      if (k == name) return &v;
    return nullptr;
  };
  for (const auto& [k, v] : lb) {
    const std::string* old = find(la, k);
    if (old == nullptr) return Shown(k) + " = " + Shown(v) + " " + b_name + ", not " + a_name;
    if (*old != v) {
      return Shown(k) + " = " + Shown(*old) + " " + a_name + ", " + Shown(v) + " " + b_name;
    }
  }
  for (const auto& [k, v] : la) {
    if (find(lb, k) == nullptr) return Shown(k) + " = " + Shown(v) + " " + a_name + ", not " + b_name;
  }
  return a == b ? "" : "the descriptions differ in the order of their lines";
}

std::string HeaderMismatch(const DecodedHeader& there, const JournalHeader& here) {
  using S = DecodedHeader::Status;
  switch (there.status) {
    case S::kNotJournal:
      return "not an advlab sweep journal";
    case S::kOtherFormat:
      return "journal format " + std::to_string(there.format) + ", this advlab reads format " +
             std::to_string(kJournalFormat);
    case S::kTruncated:
      return "its header is incomplete (the file was cut)";
    default:
      break;
  }
  // The version first: another version's header is not ours to read further.
  if (there.header.advlab_version != here.advlab_version) {
    return "made by advlab " + Shown(there.header.advlab_version) + ", this is advlab " +
           here.advlab_version;
  }
  if (there.status == S::kCorrupt) return "its header is damaged (its checksum does not match)";
  if (there.header.description != here.description) {
    return "made by a different sweep: " +
           DescriptionDifference(there.header.description, here.description, "there", "here");
  }
  if (there.header.runs != here.runs || there.header.values_per_run != here.values_per_run) {
    return "made by a different sweep: " + std::to_string(there.header.runs) + " runs of " +
           std::to_string(there.header.values_per_run) + " values there, " +
           std::to_string(here.runs) + " of " + std::to_string(here.values_per_run) + " here";
  }
  return "";
}

SweepFileResult RunSweepToFile(const SweepPlan& plan, int threads, const SweepFileOptions& opts) {
  return RunSweepToFile(
      plan,
      [&](const std::vector<bool>& skip, const std::function<void(size_t, RunRecord&&)>& finished,
          const std::atomic<int>* stop) { RunPlan(plan, threads, skip, finished, stop); },
      opts);
}

SweepFileResult RunSweepToFile(const SweepPlan& plan, const RunExecutor& execute,
                               const SweepFileOptions& opts) {
  const size_t n = plan.num_runs();
  { AtomicOutput probe(opts.out, opts.force); }  // refuses a bad --out before any run
  const std::string path = JournalPath(opts.out);
  JournalHeader here = SweepJournalHeader(plan);
  // A shard's journal is its own sweep's: the header names the shard.
  if (opts.shard.active()) here.description += "shard = " + opts.shard.Text() + "\n";
  uint64_t mine = 0;  // the runs this process makes: the shard's, or all
  for (size_t k = 0; k < n; ++k) mine += opts.shard.Has(k);
  const uint64_t V = here.values_per_run;
  auto note = [&](const std::string& text) {
    if (!opts.quiet) std::fprintf(stderr, "advlab: %s\n", text.c_str());
  };

  // Open the journal (created when absent, replaced on --restart), holding its lock.
  std::unique_ptr<JournalWriter> writer;
  std::vector<bool> done(n, false);  // in the journal, or another shard's
  for (size_t k = 0; k < n; ++k) done[k] = !opts.shard.Has(k);
  uint64_t resumed = 0;
  bool restart = opts.restart;
  for (int attempt = 0; writer == nullptr; ++attempt) {
    ADVLAB_CHECK_LT(attempt, 8);
    if (!FileExists(path)) {
      CreateJournal(path, here, /*replace=*/false);
      continue;  // open what is there now (ours, or a racing process's)
    }
    auto w = std::make_unique<JournalWriter>(path, V);  // locks: no other process runs it
    const DecodedHeader there = ReadJournalHeader(path);
    const std::string why = HeaderMismatch(there, here);
    const bool empty = there.status == DecodedHeader::Status::kOk && FileSize(path) == there.bytes;
    if (restart || (!why.empty() && empty)) {
      if (!restart) note(path + " holds no finished run of another sweep; starting over");
      CreateJournal(path, here, /*replace=*/true);
      if (restart) note("--restart: discarded the old " + path);
      restart = false;
      continue;  // w's lock goes with the old file; lock the new one
    }
    if (!why.empty()) {
      throw UserError(path + ": " + why + "; give --restart to start over (it discards the " +
                      "journal's runs)");
    }
    const JournalScan scan = ScanJournal(path, there, [&](const JournalRecordView& r) {
      if (!opts.shard.Has(r.run) || *r.identity != RunIdentity(plan.Run(r.run))) {
        throw UserError(path + ": record " + std::to_string(r.ordinal) + " holds run " +
                        std::to_string(r.run) + " of another config than this sweep's run " +
                        std::to_string(r.run) + "; give --restart to start over (it discards " +
                        "the journal's runs)");
      }
      if (!done[r.run]) ++resumed;
      done[r.run] = true;
    });
    if (scan.dropped_bytes > 0) {
      w->Keep(scan.good_bytes);
      note(path + (scan.torn ? ": dropped a torn last record (" : ": dropped a damaged record and all after it (") +
           std::to_string(scan.dropped_bytes) + " bytes after record " + std::to_string(scan.records) +
           "); their runs are made again");
    }
    writer = std::move(w);
  }
  if (resumed > 0) note("resuming from " + path + ": " + std::to_string(resumed) + " of " + Runs(mine) + " done");

  // The runs not in the journal.
  StopSignals signals;
  uint64_t finished = resumed;
  try {
    Progress progress(mine, resumed, opts.quiet);
    execute(done, [&](size_t k, RunRecord&& record) {
      ADVLAB_CHECK_EQ(record.values.size(), V);
      const RunConfig rc = plan.Run(k);
      writer->Append(k, RunIdentity(rc), record.values.data());
      ++finished;
      progress.RunDone(RunRollouts(rc));
    }, &g_stop_signal);
    progress.Stop();
    writer->Sync();
  } catch (...) {
    // A failed run (out of memory, a full disk): a journal without a finished
    // run is worth nothing, so an error leaves no file behind; one with runs
    // stays, to resume from.
    if (finished == 0) {
      writer.reset();
      unlink(path.c_str());
    }
    throw;
  }
  const int sig = g_stop_signal.load();
  if (sig != 0 && finished < mine) {
    std::fprintf(stderr, "advlab: stopped by %s: %llu of %s done, kept in %s; resume with:\n  %s\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", static_cast<unsigned long long>(finished),
                 Runs(mine).c_str(), path.c_str(), opts.resume_command.c_str());
    return {128 + sig, {}};
  }

  // Assemble the file from the journal, in run order, a block of rows at a
  // time (experiments/h5io.h MetricRowSource): memory holds the run columns
  // and an index of the records, never every run's values.
  const DecodedHeader there = ReadJournalHeader(path);
  ADVLAB_CHECK(HeaderMismatch(there, here).empty());
  constexpr uint64_t kValuesAt = 48;  // a record's values start here (docs/sweeps.md)
  constexpr uint64_t kNone = ~uint64_t{0};
  const uint64_t record_bytes = JournalRecordBytes(V);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  std::vector<double> values(V), earlier(V);
  auto read_values = [&](uint64_t offset, double* to) {
    const size_t bytes = static_cast<size_t>(V) * sizeof(double);
    size_t got = 0;
    while (got < bytes) {
      const ssize_t r = pread(fd, reinterpret_cast<char*>(to) + got, bytes - got,
                              static_cast<off_t>(offset + kValuesAt + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        throw UserError(path + ": cannot read a record: " +
                        (r == 0 ? std::string("the file shrank") : std::strerror(errno)));
      }
      got += static_cast<size_t>(r);
    }
  };
  std::vector<uint64_t> at(n, kNone);  // run -> offset of its record
  ScanJournal(path, there, [&](const JournalRecordView& rec) {
    const uint64_t offset = there.bytes + rec.ordinal * record_bytes;
    if (at[rec.run] != kNone) {  // only a second process could write one twice; the lock forbids it
      read_values(at[rec.run], earlier.data());
      if (std::memcmp(earlier.data(), rec.values, V * sizeof(double)) != 0) {
        throw UserError(path + ": run " + std::to_string(rec.run) +
                        " recorded twice with different values");
      }
    }
    at[rec.run] = offset;
  });
  for (size_t k = 0; k < n; ++k) {
    if (at[k] == kNone && opts.shard.Has(k)) {
      throw UserError(path + ": run " + std::to_string(k) + " is missing or damaged in the " +
                      "journal; run the same command again to make it again");
    }
  }
  SweepFileResult result;
  result.results = SweepSkeleton(plan);
  if (opts.shard.active()) {
    result.results = ShardSkeleton(result.results, opts.shard, SweepDescription(plan));
  }
  const size_t E = result.results.steps.size(), M = result.results.metrics.size();
  ADVLAB_CHECK_EQ(M * E, V);
  // Row j of the file is run j, or a shard's j-th run.
  auto run_of_row = [&](size_t j) {
    return opts.shard.active() ? static_cast<size_t>(opts.shard.index) +
                                     j * static_cast<size_t>(opts.shard.count)
                               : j;
  };
  MetricRowSource source{[&](size_t row0, size_t rows, double* block) {
    for (size_t j = 0; j < rows; ++j) {
      read_values(at[run_of_row(row0 + j)], values.data());
      for (size_t m = 0; m < M; ++m) {
        std::copy(values.begin() + m * E, values.begin() + (m + 1) * E,
                  block + (m * rows + j) * E);
      }
    }
  }};
  try {
    AtomicOutput output(opts.out, opts.force);
    StopSignals::UnlinkOnExit(output.temp_path());
    output.Write(result.results, &source);
    output.Commit();
  } catch (const UserError& e) {  // a full disk, say: the journal is whole
    throw UserError(std::string(e.what()) + "; " + path + " keeps every run: make room and " +
                    "run the same command again");
  }
  // Only now: a crash before this line leaves the journal to assemble from again.
  if (unlink(path.c_str()) != 0) {
    std::fprintf(stderr, "advlab: warning: %s: cannot remove the journal: %s\n", path.c_str(),
                 std::strerror(errno));
  }
  return result;
}

}  // namespace advlab
