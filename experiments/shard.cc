#include "experiments/shard.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <utility>

#include "experiments/h5io.h"
#include "experiments/options.h"
#include "experiments/resume.h"
#include "experiments/sha256.h"
#include "experiments/sweep.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

constexpr int64_t kMaxShards = int64_t{1} << 20;

// A decimal count without sign or spaces; nullopt otherwise.
std::optional<int64_t> ParseIndex(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Copies element k of column `from` onto the end of `to`.
void AppendElement(const Column& from, size_t k, Column* to) {
  switch (from.kind) {
    case Column::Kind::kInt: to->ints.push_back(from.ints[k]); break;
    case Column::Kind::kFloat: to->floats.push_back(from.floats[k]); break;
    case Column::Kind::kString: to->strings.push_back(from.strings[k]); break;
  }
}

// Puts element j of `from` at index k of `to` (sized already).
void PlaceElement(const Column& from, size_t j, size_t k, Column* to) {
  switch (from.kind) {
    case Column::Kind::kInt: to->ints[k] = from.ints[j]; break;
    case Column::Kind::kFloat: to->floats[k] = from.floats[j]; break;
    case Column::Kind::kString: to->strings[k] = from.strings[j]; break;
  }
}

void Resize(Column* c, size_t n) {
  switch (c->kind) {
    case Column::Kind::kInt: c->ints.assign(n, 0); break;
    case Column::Kind::kFloat: c->floats.assign(n, 0.0); break;
    case Column::Kind::kString: c->strings.assign(n, ""); break;
  }
}

// The value of line "NAME = VALUE" of a sweep description; "" if absent.
std::string DescriptionValue(const std::string& description, const std::string& name) {
  const std::string prefix = name + " = ";
  size_t at = 0;
  while (at < description.size()) {
    size_t end = description.find('\n', at);
    if (end == std::string::npos) end = description.size();
    if (description.compare(at, prefix.size(), prefix) == 0) {
      return description.substr(at + prefix.size(), end - at - prefix.size());
    }
    at = end + 1;
  }
  return "";
}

// A shard whose checksum holds but whose content cannot be its shard's.
UserError ShardDamaged(const std::string& path, const std::string& what) {
  return UserError(path + ": damaged: " + what + " (the checksum holds: was it made by " +
                   "another build of advlab " + std::string(kAdvlabVersion) + "?)");
}

// A results file's attributes and /steps, without runs or metrics: what a
// shard shares with its whole sweep.
Results FileAttributes(const Results& from) {
  Results r;
  r.advlab_version = from.advlab_version;
  r.format_version = from.format_version;
  r.config_ini = from.config_ini;
  r.analysis_ini = from.analysis_ini;
  r.steps = from.steps;
  return r;
}

struct ShardFile {
  std::string path;
  ShardSpec spec;
  Results results;
};

// Reads one shard file and checks what it can check alone.
ShardFile ReadShard(const std::string& path) {
  ShardFile f{path, {}, ReadResultsFile(path)};
  const Results& r = f.results;
  if (r.shard.empty()) {
    throw UserError(path + ": not a shard file (no group /shard): a whole sweep's results; "
                    "merge takes the files of `advlab sweep --shard I/N`");
  }
  if (r.advlab_version != kAdvlabVersion) {
    throw UserError(path + ": made by advlab " + PrintableInput(r.advlab_version, 40) +
                    ", this is advlab " + kAdvlabVersion +
                    "; merge with the advlab that made the shards");
  }
  if (ShardChecksum(r) != r.shard_sha256) {
    throw UserError(path + ": damaged: its content does not match its checksum (/shard/sha256); "
                    "make this shard again");
  }
  f.spec = ParseShard(r.shard, path + ": attribute shard");
  return f;
}

}  // namespace

ShardSpec ParseShard(const std::string& text, const std::string& what) {
  const size_t slash = text.find('/');
  const std::optional<int64_t> i =
      slash == std::string::npos ? std::nullopt : ParseIndex(text.substr(0, slash));
  const std::optional<int64_t> n =
      slash == std::string::npos ? std::nullopt : ParseIndex(text.substr(slash + 1));
  if (!i || !n) {
    throw UserError(what + " " + QuoteInput(text) +
                    ": expected I/N, shard I of N counted from 0 (0/4, 1/4, 2/4, 3/4)");
  }
  if (*n < 1 || *n > kMaxShards) {
    throw UserError(what + " " + QuoteInput(text) + ": N must be 1.." + std::to_string(kMaxShards));
  }
  if (*i >= *n) {
    throw UserError(what + " " + QuoteInput(text) + ": I must be 0.." + std::to_string(*n - 1) +
                    " (shards are counted from 0)");
  }
  return ShardSpec{*i, *n};
}

ShardSpec ShardFromEnv(const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    const char* v = getenv(name);
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  };
  auto number = [&](const char* name, bool required, int64_t fallback) -> int64_t {
    const std::optional<std::string> v = get(name);
    if (!v) {
      if (!required) return fallback;
      throw UserError(std::string("--shard-from-env: ") + name + " is not set (a job array " +
                      "sets it); give --shard I/N");
    }
    const std::optional<int64_t> x = ParseIndex(*v);
    if (!x) {
      throw UserError(std::string("--shard-from-env: ") + name + "=" + QuoteInput(*v) +
                      ": expected a whole number");
    }
    return *x;
  };
  // An array's tasks: first..last by step, `count` of them; this task is `id`.
  auto shard = [&](const char* scheduler, const char* id_name, int64_t id, int64_t first,
                   int64_t last, int64_t step, std::optional<int64_t> count) -> ShardSpec {
    if (step < 1 || last < first || (last - first) % step != 0 || id < first || id > last ||
        (id - first) % step != 0) {
      throw UserError(std::string("--shard-from-env: ") + id_name + "=" + std::to_string(id) +
                      " is not a task of the " + scheduler + " array " + std::to_string(first) +
                      "-" + std::to_string(last) + ":" + std::to_string(step) +
                      "; give --shard I/N");
    }
    const int64_t n = (last - first) / step + 1;
    if (count && *count != n) {
      throw UserError(std::string("--shard-from-env: the ") + scheduler + " array has " +
                      std::to_string(*count) + " tasks between " + std::to_string(first) +
                      " and " + std::to_string(last) + " (a list with gaps?): its tasks would " +
                      "not cover the sweep; use a range (--array=A-B) or give --shard I/N");
    }
    return ParseShard(std::to_string((id - first) / step) + "/" + std::to_string(n),
                      "--shard-from-env:");
  };
  // (Read in sequence: the first missing variable is the one named.)
  if (get("SLURM_ARRAY_TASK_ID")) {
    const int64_t id = number("SLURM_ARRAY_TASK_ID", true, 0);
    const int64_t first = number("SLURM_ARRAY_TASK_MIN", true, 0);
    const int64_t last = number("SLURM_ARRAY_TASK_MAX", true, 0);
    const int64_t step = number("SLURM_ARRAY_TASK_STEP", false, 1);
    const int64_t count = number("SLURM_ARRAY_TASK_COUNT", true, 0);
    return shard("Slurm", "SLURM_ARRAY_TASK_ID", id, first, last, step, count);
  }
  const std::optional<std::string> sge = get("SGE_TASK_ID");
  if (sge && *sge != "undefined") {
    const int64_t id = number("SGE_TASK_ID", true, 0);
    const int64_t first = number("SGE_TASK_FIRST", true, 0);
    const int64_t last = number("SGE_TASK_LAST", true, 0);
    const int64_t step = number("SGE_TASK_STEPSIZE", false, 1);
    return shard("Grid Engine", "SGE_TASK_ID", id, first, last, step, std::nullopt);
  }
  for (const char* name : {"PBS_ARRAY_INDEX", "PBS_ARRAYID", "LSB_JOBINDEX"}) {
    if (const std::optional<std::string> v = get(name)) {
      throw UserError(std::string("--shard-from-env: ") + name + "=" + QuoteInput(*v) +
                      " is set, but " + (name[0] == 'L' ? "LSF" : "PBS") + " does not say how " +
                      "many tasks the array has; give --shard I/N (I = the index minus the " +
                      "array's first, N = its number of tasks)");
    }
  }
  throw UserError("--shard-from-env: no job array in the environment (SLURM_ARRAY_TASK_ID and "
                  "SGE_TASK_ID are not set); give --shard I/N");
}

Results ShardSkeleton(const Results& whole, const ShardSpec& shard, const std::string& sweep) {
  ADVLAB_CHECK(shard.active());
  Results r = FileAttributes(whole);
  r.provenance = whole.provenance;
  r.num_runs = 0;
  for (size_t k = 0; k < static_cast<size_t>(whole.num_runs); ++k) r.num_runs += shard.Has(k);
  for (const Column& c : whole.runs) {
    Column s{c.name, c.kind, {}, {}, {}};
    for (size_t k = 0; k < static_cast<size_t>(whole.num_runs); ++k)
      if (shard.Has(k)) AppendElement(c, k, &s);
    r.runs.push_back(std::move(s));
  }
  for (const Metric& m : whole.metrics) r.metrics.push_back(Metric{m.name, {}});
  r.shard = shard.Text();
  r.sweep = sweep;
  return r;
}

std::string ShardChecksum(const Results& shard) {
  ContentChecksum sum(shard);
  for (size_t m = 0; m < shard.metrics.size(); ++m) {
    sum.MetricRows(m, shard.metrics[m].values.data(), static_cast<size_t>(shard.num_runs));
  }
  return sum.Finish(shard);
}

Results MergeShards(const std::vector<std::string>& files) {
  if (files.empty()) throw UserError("merge: no shard files given; usage: advlab merge SHARD.h5... --out FILE.h5");
  std::vector<ShardFile> shards;
  std::map<int64_t, size_t> by_index;  // shard index -> position in `shards`
  for (const std::string& path : files) {
    ShardFile f = ReadShard(path);
    if (!shards.empty()) {
      const ShardFile& first = shards.front();
      if (f.results.sweep != first.results.sweep) {
        throw UserError(path + ": a shard of another sweep than " + first.path + ": " +
                        DescriptionDifference(f.results.sweep, first.results.sweep, "here",
                                              "there"));
      }
      if (f.spec.count != first.spec.count) {
        throw UserError(path + ": shard " + f.spec.Text() + ", but " + first.path + " is shard " +
                        first.spec.Text() + ": the shard counts differ (merge the shards of one " +
                        "split)");
      }
    }
    if (auto it = by_index.find(f.spec.index); it != by_index.end()) {
      throw UserError(path + ": shard " + f.spec.Text() + " again (" + shards[it->second].path +
                      " is shard " + f.spec.Text() + " too); give each shard once");
    }
    by_index[f.spec.index] = shards.size();
    shards.push_back(std::move(f));
  }
  const ShardFile& first = shards.front();
  const int64_t count = first.spec.count;
  if (static_cast<int64_t>(shards.size()) != count) {
    for (int64_t i = 0; i < count; ++i) {
      if (!by_index.count(i)) {
        throw UserError("merge: shard " + std::to_string(i) + "/" + std::to_string(count) +
                        " is missing: " + std::to_string(shards.size()) + " of " +
                        std::to_string(count) + " shards given; give every shard's file");
      }
    }
  }
  const std::optional<int64_t> total = ParseIndex(DescriptionValue(first.results.sweep, "runs"));
  if (!total) throw UserError(first.path + ": damaged: its attribute sweep has no line runs = N");
  // Each shard holds its share of the N runs, checked before N rows are
  // allocated: a sweep attribute claiming a huge N must not ask for them.
  for (const ShardFile& f : shards) {
    const int64_t i = f.spec.index, want = *total > i ? (*total - i - 1) / count + 1 : 0;
    if (f.results.num_runs != want) {
      throw ShardDamaged(f.path, "it holds " + std::to_string(f.results.num_runs) +
                                     " runs, shard " + f.spec.Text() + " of a sweep of " +
                                     std::to_string(*total) + " runs has " + std::to_string(want));
    }
  }

  // The whole file: the first shard's attributes and layout, every shard's rows
  // at their run indices.
  const Results& a = first.results;
  Results m = FileAttributes(a);
  m.provenance = BuildProvenance();
  m.num_runs = *total;
  const size_t n = static_cast<size_t>(*total), E = a.steps.size();
  for (const Column& c : a.runs) {
    Column w{c.name, c.kind, {}, {}, {}};
    Resize(&w, n);
    m.runs.push_back(std::move(w));
  }
  for (const Metric& x : a.metrics) m.metrics.push_back(Metric{x.name, std::vector<double>(n * E)});
  for (const ShardFile& f : shards) {
    const Results& r = f.results;
    auto damaged = [&](const std::string& what) { return ShardDamaged(f.path, what); };
    // Same sweep, so the layout must agree; the checksum vouches for each file alone.
    if (r.steps != a.steps || r.runs.size() != a.runs.size() || r.metrics.size() != a.metrics.size() ||
        r.config_ini != a.config_ini || r.analysis_ini != a.analysis_ini) {
      throw damaged("its layout or attributes differ from " + first.path + "'s");
    }
    const Column* ids = r.FindColumn("run_id");
    if (ids == nullptr || ids->kind != Column::Kind::kInt) throw damaged("no integer column run_id");
    size_t expect = static_cast<size_t>(f.spec.index), rows = 0;
    for (; expect < n; expect += static_cast<size_t>(count)) {
      if (rows >= ids->ints.size() || ids->ints[rows] != static_cast<int64_t>(expect)) break;
      ++rows;
    }
    if (rows != ids->ints.size() || expect < n) {
      throw damaged("its runs are not shard " + f.spec.Text() + "'s of a sweep of " +
                    std::to_string(n) + " runs");
    }
    for (size_t c = 0; c < r.runs.size(); ++c) {
      if (r.runs[c].name != a.runs[c].name || r.runs[c].kind != a.runs[c].kind) {
        throw damaged("its /runs columns differ from " + first.path + "'s");
      }
      for (size_t j = 0; j < rows; ++j) {
        PlaceElement(r.runs[c], j, static_cast<size_t>(ids->ints[j]), &m.runs[c]);
      }
    }
    for (size_t i = 0; i < r.metrics.size(); ++i) {
      if (r.metrics[i].name != a.metrics[i].name) throw damaged("its metrics differ from " + first.path + "'s");
      for (size_t j = 0; j < rows; ++j) {
        std::copy(r.metrics[i].values.begin() + j * E, r.metrics[i].values.begin() + (j + 1) * E,
                  m.metrics[i].values.begin() + static_cast<size_t>(ids->ints[j]) * E);
      }
    }
  }
  return m;
}

int MergeCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::vector<std::string> files;
  std::string out_path;
  bool force = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--out" || a.rfind("--out=", 0) == 0) {
      if (!out_path.empty()) throw UserError("merge: option '--out' given twice");
      if (a == "--out") {
        if (i + 1 == args.size()) throw UserError("merge: --out needs a FILE.h5");
        out_path = args[++i];
      } else {
        out_path = a.substr(6);
      }
      if (out_path.empty()) throw UserError("merge: --out needs a FILE.h5");
    } else if (a == "--force") {
      force = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      throw UserError("merge: unknown option " + QuoteInput(a) + "; allowed: --out FILE.h5, --force");
    } else {
      files.push_back(a);
    }
  }
  if (out_path.empty()) throw UserError("merge: --out FILE.h5 is required");
  AtomicOutput output(out_path, force);  // a bad --out is refused before reading shards
  const Results merged = MergeShards(files);
  output.Write(merged);
  output.Commit();
  out << "merged " << files.size() << (files.size() == 1 ? " shard" : " shards") << " into "
      << out_path << " (" << merged.num_runs << " runs x " << merged.num_evals() << " evals)\n";
  return 0;
}

}  // namespace advlab
