// Results: the in-memory image of a results file (DESIGN §6). experiments/ writes
// it to HDF5; analysis/ reads it. Layout of the file:
//   /                attrs: advlab_version (string), format_version (int64),
//                           config (string: the resolved base config, INI text),
//                           analysis (string, only when the sweep's config had an
//                           [analysis] section: its lines, `key = value`; the
//                           defaults of `advlab analyze` and `advlab report`);
//   /runs/<column>   1-D, length = runs: run_id, seed, and every swept key
//   /steps           int64 [evals]: the training step of each eval point
//   /metrics/<name>  float64 [runs, evals]
//   /provenance      attrs (strings): git commit, compiler, flags; left out of digests
//   /shard           shard files only (experiments/shard.h), written last: attrs
//                    shard ("I/N"), sweep (the whole sweep's description),
//                    sha256 (checksum of the shard's content)
#ifndef ADVLAB_SIM_RESULTS_H_
#define ADVLAB_SIM_RESULTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace advlab {

struct Column {
  enum class Kind { kInt, kFloat, kString };
  std::string name;
  Kind kind = Kind::kFloat;
  std::vector<int64_t> ints;          // used when kind == kInt
  std::vector<double> floats;         // used when kind == kFloat
  std::vector<std::string> strings;   // used when kind == kString
  size_t size() const {
    return kind == Kind::kInt ? ints.size() : kind == Kind::kFloat ? floats.size() : strings.size();
  }
};

struct Metric {
  std::string name;
  std::vector<double> values;  // row-major [runs x evals]; NaN = not defined here
};

struct Results {
  std::string advlab_version;
  int64_t format_version = 1;
  std::string config_ini;             // resolved base config
  std::string analysis_ini;           // the [analysis] section's lines ("": none)
  // A shard file's (advlab sweep --shard I/N; experiments/shard.h); all "" in
  // a whole sweep's file. None is part of the digest.
  std::string shard;                  // "I/N": shard I of N (I from 0)
  std::string sweep;                  // the whole sweep's canonical description
  std::string shard_sha256;           // hex SHA-256 over the shard's content (ShardChecksum)
  int64_t num_runs = 0;
  std::vector<Column> runs;           // /runs/<name>, each of length num_runs
  std::vector<int64_t> steps;         // /steps, length = evals
  std::vector<Metric> metrics;        // /metrics/<name>
  std::vector<std::pair<std::string, std::string>> provenance;  // /provenance attrs

  int64_t num_evals() const { return static_cast<int64_t>(steps.size()); }
  const Column* FindColumn(const std::string& name) const {
    for (const auto& c : runs)
      if (c.name == name) return &c;
    return nullptr;
  }
  const Metric* FindMetric(const std::string& name) const {
    for (const auto& m : metrics)
      if (m.name == name) return &m;
    return nullptr;
  }
};

}  // namespace advlab

#endif  // ADVLAB_SIM_RESULTS_H_
