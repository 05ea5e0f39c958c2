// `advlab merge` (experiments/shard.h MergeShards) on VALID HDF5 shard files
// whose content is fuzzed: the input describes up to three shard files, which
// this target writes with WriteResultsFile and merges. Only a one-line
// UserError or a merge is allowed, and a merge must be the whole sweep: its
// digest computes, num_runs is the sweep's `runs = N`, run_id is 0..N-1 in
// order, every shard's rows sit at their run indices with their values, and
// the shards given were each shard of one split once.
//
// Input: text; sections split at lines "%%", one shard file each:
//   shard: 0/3                     the shard attribute ("I/N")
//   checksum: right                shard_sha256: ShardChecksum of the file's
//                                  content, or this text as it is
//   version: 0.1.0                 advlab_version
//   runs: 0,3                      /runs/run_id (the shard's run indices)
//   steps: 0,10                    /steps
//   columns: run_id:i seed:i optim.lr:f    /runs columns, NAME:KIND (i f s)
//   metrics: accuracy,entropy      /metrics names
//   --- sweep                      then the attribute's text, verbatim up to
//   ...                            the next "--- " line or the section's end
//   --- config                     (less one final newline)
//   --- analysis
// Every column but an integer run_id, and every metric, gets values made from
// the section, row, metric and eval indices. SHARD_FUZZ_ENCODE=OUT=A.h5,B.h5
// writes real shard files in this form to OUT (the seeds) and exits;
// SHARD_FUZZ_SHOW=1 prints each outcome.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/h5io.h"
#include "experiments/shard.h"
#include "experiments/sweep.h"
#include "fuzz/fuzz_util.h"
#include "sim/error.h"

namespace {

using advlab::Column;
using advlab::Results;

#define FUZZ_CHECK(cond)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "shard_fuzz: %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                             \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

constexpr size_t kMaxFiles = 3, kMaxRows = 64, kMaxSteps = 16, kMaxColumns = 16,
                 kMaxMetrics = 64;

std::vector<std::string> Split(const std::string& s, const char* seps) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t end = s.find_first_of(seps, at);
    const std::string item = s.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!item.empty()) out.push_back(item);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

int64_t Int(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

double MetricValue(size_t file, size_t row, size_t metric, size_t eval) {
  return static_cast<double>(file) * 1e6 + static_cast<double>(row) * 1e3 +
         static_cast<double>(metric) * 10 + static_cast<double>(eval) + 0.25;
}

bool IsRunId(const Column& c) { return c.name == "run_id" && c.kind == Column::Kind::kInt; }

// Fills column c's row j of file f (run_id: the run index).
void PutCell(Column* c, size_t f, size_t j, int64_t run) {
  switch (c->kind) {
    case Column::Kind::kInt: c->ints.push_back(IsRunId(*c) ? run : static_cast<int64_t>(f * 1000 + j)); break;
    case Column::Kind::kFloat: c->floats.push_back(static_cast<double>(j) + 0.5); break;
    case Column::Kind::kString: c->strings.push_back("v" + std::to_string(f) + "_" + std::to_string(j)); break;
  }
}

struct Section {
  Results r;
  bool right_checksum = false;
};

// One section of the input as a shard file's Results.
Section Parse(const std::string& text, size_t f) {
  Section s;
  Results& r = s.r;
  r.advlab_version = advlab::kAdvlabVersion;
  std::vector<int64_t> runs;
  std::string* block = nullptr;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.rfind("--- ", 0) == 0) {
      if (block != nullptr && !block->empty()) block->pop_back();  // the newline before the marker
      const std::string name = line.substr(4);
      block = name == "sweep" ? &r.sweep : name == "config" ? &r.config_ini
              : name == "analysis" ? &r.analysis_ini : nullptr;
      if (block != nullptr) block->clear();
      continue;
    }
    if (block != nullptr) {
      *block += line;
      if (end < text.size()) *block += '\n';
      continue;
    }
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "shard") r.shard = value;
    else if (key == "checksum") {
      s.right_checksum = value == "right";
      r.shard_sha256 = value;
    } else if (key == "version") r.advlab_version = value;
    else if (key == "runs") {
      for (const std::string& v : Split(value, ",")) runs.push_back(Int(v));
    } else if (key == "steps") {
      for (const std::string& v : Split(value, ",")) r.steps.push_back(Int(v));
    } else if (key == "columns") {
      for (const std::string& c : Split(value, " ")) {
        const size_t k = c.rfind(':');
        const char kind = k == std::string::npos || k + 1 >= c.size() ? 'f' : c[k + 1];
        r.runs.push_back(Column{c.substr(0, k), kind == 'i' ? Column::Kind::kInt
                                : kind == 's' ? Column::Kind::kString : Column::Kind::kFloat,
                                {}, {}, {}});
      }
    } else if (key == "metrics") {
      for (const std::string& m : Split(value, ",")) r.metrics.push_back(advlab::Metric{m, {}});
    }
  }
  if (block != nullptr && !block->empty() && text.back() == '\n') block->pop_back();
  if (runs.size() > kMaxRows) runs.resize(kMaxRows);
  if (r.steps.size() > kMaxSteps) r.steps.resize(kMaxSteps);
  if (r.runs.size() > kMaxColumns) r.runs.resize(kMaxColumns);
  if (r.metrics.size() > kMaxMetrics) r.metrics.resize(kMaxMetrics);
  r.num_runs = static_cast<int64_t>(runs.size());
  for (Column& c : r.runs)
    for (size_t j = 0; j < runs.size(); ++j) PutCell(&c, f, j, runs[j]);
  for (size_t i = 0; i < r.metrics.size(); ++i)
    for (size_t j = 0; j < runs.size(); ++j)
      for (size_t e = 0; e < r.steps.size(); ++e) r.metrics[i].values.push_back(MetricValue(f, j, i, e));
  r.provenance = {{"git_commit", "fuzz"}};
  return s;
}

// "runs = N" of a description, the way merge reads it: the first such line.
std::string RunsLine(const std::string& description) {
  size_t at = 0;
  while (at < description.size()) {
    size_t end = description.find('\n', at);
    if (end == std::string::npos) end = description.size();
    if (description.compare(at, 7, "runs = ") == 0) return description.substr(at + 7, end - at - 7);
    at = end + 1;
  }
  return "";
}

void CheckMerged(const Results& m, const std::vector<Section>& in) {
  advlab::DigestResults(m);  // aborts on any shape that does not fit
  const Results& a = in.front().r;
  const std::string runs = RunsLine(a.sweep);
  FUZZ_CHECK(!runs.empty() && runs.find_first_not_of("0123456789") == std::string::npos &&
             std::strtoll(runs.c_str(), nullptr, 10) == m.num_runs);
  FUZZ_CHECK(m.steps == a.steps && m.config_ini == a.config_ini && m.analysis_ini == a.analysis_ini);
  FUZZ_CHECK(m.shard.empty() && m.sweep.empty() && m.shard_sha256.empty());
  const Column* ids = m.FindColumn("run_id");
  FUZZ_CHECK(ids != nullptr && ids->kind == Column::Kind::kInt);
  for (int64_t k = 0; k < m.num_runs; ++k) FUZZ_CHECK(ids->ints[static_cast<size_t>(k)] == k);
  // The split: N files, shards 0..N-1 once each.
  std::set<std::string> shards;
  for (const Section& s : in) {
    const advlab::ShardSpec spec = advlab::ParseShard(s.r.shard, "shard");
    FUZZ_CHECK(spec.count == static_cast<int64_t>(in.size()));
    FUZZ_CHECK(s.r.sweep == a.sweep);
    shards.insert(spec.Text());
  }
  FUZZ_CHECK(shards.size() == in.size());
  // Every row of every shard at its run index, unchanged.
  const size_t E = m.steps.size();
  for (size_t f = 0; f < in.size(); ++f) {
    const Results& r = in[f].r;
    const Column* rid = r.FindColumn("run_id");
    for (size_t j = 0; j < static_cast<size_t>(r.num_runs); ++j) {
      const size_t k = static_cast<size_t>(rid->ints[j]);
      for (size_t c = 0; c < r.runs.size(); ++c) {
        const Column& x = r.runs[c];
        const Column& y = m.runs[c];
        FUZZ_CHECK(x.name == y.name && x.kind == y.kind);
        switch (x.kind) {
          case Column::Kind::kInt: FUZZ_CHECK(x.ints[j] == y.ints[k]); break;
          case Column::Kind::kFloat: FUZZ_CHECK(x.floats[j] == y.floats[k]); break;
          case Column::Kind::kString: FUZZ_CHECK(x.strings[j] == y.strings[k]); break;
        }
      }
      for (size_t i = 0; i < r.metrics.size(); ++i) {
        FUZZ_CHECK(m.metrics[i].name == r.metrics[i].name);
        for (size_t e = 0; e < E; ++e) FUZZ_CHECK(m.metrics[i].values[k * E + e] == r.metrics[i].values[j * E + e]);
      }
    }
  }
}

// SHARD_FUZZ_ENCODE=OUT=A.h5,B.h5: the seed form of real shard files.
void Encode(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos) abort();
  std::ofstream out(spec.substr(0, eq), std::ios::binary);
  bool first = true;
  for (const std::string& file : Split(spec.substr(eq + 1), ",")) {
    const Results r = advlab::ReadResultsFile(file);
    if (!first) out << "%%\n";
    first = false;
    out << "shard: " << r.shard << "\n";
    out << "checksum: " << (advlab::ShardChecksum(r) == r.shard_sha256 ? "right" : r.shard_sha256) << "\n";
    out << "version: " << r.advlab_version << "\n";
    const Column* ids = r.FindColumn("run_id");
    out << "runs: ";
    for (size_t j = 0; ids != nullptr && j < ids->ints.size(); ++j) out << (j ? "," : "") << ids->ints[j];
    out << "\nsteps: ";
    for (size_t e = 0; e < r.steps.size(); ++e) out << (e ? "," : "") << r.steps[e];
    out << "\ncolumns:";
    for (const Column& c : r.runs) {
      out << " " << c.name << ":"
          << (c.kind == Column::Kind::kInt ? 'i' : c.kind == Column::Kind::kString ? 's' : 'f');
    }
    out << "\nmetrics: ";
    for (size_t i = 0; i < r.metrics.size(); ++i) out << (i ? "," : "") << r.metrics[i].name;
    out << "\n--- sweep\n" << r.sweep << "\n--- config\n" << r.config_ini << "\n";
    if (!r.analysis_ini.empty()) out << "--- analysis\n" << r.analysis_ini << "\n";
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* spec = getenv("SHARD_FUZZ_ENCODE")) {
    Encode(spec);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = [] {
    const char* tmp = getenv("TMPDIR");
    return std::string(tmp != nullptr ? tmp : "/tmp") + "/shard_fuzz." + std::to_string(getpid());
  }();
  static const bool show = getenv("SHARD_FUZZ_SHOW") != nullptr;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Section> in;
  size_t at = 0;
  while (in.size() < kMaxFiles && at <= text.size()) {
    size_t end = text.find("\n%%\n", at);
    const std::string part = text.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at);
    in.push_back(Parse(part, in.size()));
    if (end == std::string::npos) break;
    at = end + 4;
  }
  std::vector<std::string> files;
  for (size_t f = 0; f < in.size(); ++f) {
    Results& r = in[f].r;
    if (in[f].right_checksum) r.shard_sha256 = advlab::ShardChecksum(r);
    files.push_back(base + "." + std::to_string(f) + ".h5");
    try {
      advlab::WriteResultsFile(r, files.back());
    } catch (const advlab::UserError& e) {  // names or strings a file cannot hold
      if (show) std::fprintf(stderr, "not written: %s\n", e.what());
      for (const std::string& w : files) unlink(w.c_str());
      return 0;
    }
  }
  advlab::ExpectOnlyUserError([&] {
    try {
      const Results m = advlab::MergeShards(files);
      CheckMerged(m, in);
      if (show) std::fprintf(stderr, "merged: %lld runs\n", static_cast<long long>(m.num_runs));
    } catch (const advlab::UserError& e) {
      if (show) std::fprintf(stderr, "refused: %s\n", e.what());
      throw;
    }
  });
  for (const std::string& f : files) unlink(f.c_str());
  return 0;
}
