#include "experiments/sweep.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "sim/check.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/task.h"

#ifndef ADVLAB_GIT_COMMIT
#define ADVLAB_GIT_COMMIT "unknown"
#endif
#ifndef ADVLAB_BUILD_TYPE
#define ADVLAB_BUILD_TYPE "unknown"
#endif
#ifndef ADVLAB_CXX_FLAGS
#define ADVLAB_CXX_FLAGS "unknown"
#endif

namespace advlab {

const char* const kAdvlabVersion = "0.1.0";

SweepPlan PlanSweep(const std::map<std::string, std::string>& keys,
                    const std::vector<GridAxis>& grid, int64_t seeds) {
  SweepPlan plan;
  plan.base = Config::Resolve(keys);
  plan.grid = grid;
  for (auto& axis : plan.grid) {
    const KeySpec& spec = FindKey(axis.key);
    for (auto& v : axis.values) v = CanonicalValue(spec, v);
  }
  // Cartesian product, first axis slowest.
  std::vector<std::vector<std::string>> points(1);
  for (const auto& axis : plan.grid) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points) {
      for (const auto& v : axis.values) {
        next.push_back(p);
        next.back().push_back(v);
      }
    }
    points.swap(next);
  }
  const int64_t base_seed = plan.base.Int("seed");
  if (base_seed + seeds - 1 > 4294967295LL) {
    throw UserError("seed + --seeds - 1 = " + std::to_string(base_seed + seeds - 1) +
                    " exceeds the largest seed 4294967295");
  }
  for (const auto& point : points) {
    Config c = plan.base;
    for (size_t a = 0; a < plan.grid.size(); ++a) c = c.With(plan.grid[a].key, point[a]);
    for (int64_t s = 0; s < seeds; ++s) {
      Config cs = c.With("seed", std::to_string(base_seed + s));
      plan.runs.push_back(RunConfig::FromConfig(cs));
      plan.swept.push_back(point);
    }
    if (plan.runs.front().EvalSteps() != plan.runs.back().EvalSteps()) {
      throw UserError("--grid: every run of a sweep must have the same eval steps, so "
                      "train.steps and train.eval_every cannot be swept; run one sweep per value");
    }
    // Build the task once per grid point: family-specific checks happen here,
    // and the modifiers check that the task has what they read.
    std::unique_ptr<Task> task =
        TaskRegistry::Get().Find(c.Str("env.name"))->make(c, static_cast<uint64_t>(base_seed));
    for (const ModifierEntry* m : ParseEstimatorName(c.Str("estimator.name")).modifiers) {
      if (m->check) m->check(c, *task);
    }
  }
  return plan;
}

Results RunSweep(const SweepPlan& plan, int threads) {
  const size_t n = plan.runs.size();
  std::vector<RunRecord> records(n);
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr failure;
  std::mutex mu;
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto worker = [&]() {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= n) return;
      try {
        records[k] = TrainRun(plan.runs[k]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        next.store(n);
        return;
      }
      size_t d = done.fetch_add(1) + 1;
      if (tty) {
        std::lock_guard<std::mutex> lock(mu);
        std::fprintf(stderr, "\radvlab: %zu/%zu runs done", d, n);
        if (d == n) std::fprintf(stderr, "\n");
      }
    }
  };
  const int t = threads < 1 ? 1 : (static_cast<size_t>(threads) > n ? static_cast<int>(n) : threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < t; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);

  Results r;
  r.advlab_version = kAdvlabVersion;
  r.format_version = 1;
  r.config_ini = plan.base.ToIni();
  for (const auto& axis : plan.grid) {
    std::string values;
    for (size_t i = 0; i < axis.values.size(); ++i) values += (i ? "," : "") + axis.values[i];
    r.config_ini += "; grid " + axis.key + " = " + values + "\n";
  }
  r.num_runs = static_cast<int64_t>(n);
  Column run_id{"run_id", Column::Kind::kInt, {}, {}, {}};
  Column seed{"seed", Column::Kind::kInt, {}, {}, {}};
  for (size_t k = 0; k < n; ++k) {
    run_id.ints.push_back(static_cast<int64_t>(k));
    seed.ints.push_back(static_cast<int64_t>(plan.runs[k].seed));
  }
  r.runs.push_back(run_id);
  r.runs.push_back(seed);
  for (size_t a = 0; a < plan.grid.size(); ++a) {
    const KeySpec& spec = FindKey(plan.grid[a].key);
    Column col;
    col.name = plan.grid[a].key;
    col.kind = spec.type == KeyType::kInt     ? Column::Kind::kInt
               : spec.type == KeyType::kFloat ? Column::Kind::kFloat
                                              : Column::Kind::kString;
    for (size_t k = 0; k < n; ++k) {
      const std::string& v = plan.swept[k][a];
      if (col.kind == Column::Kind::kInt) col.ints.push_back(std::strtoll(v.c_str(), nullptr, 10));
      else if (col.kind == Column::Kind::kFloat) col.floats.push_back(std::strtod(v.c_str(), nullptr));
      else col.strings.push_back(v);
    }
    r.runs.push_back(col);
  }
  const RunConfig& first = plan.runs.front();
  r.steps = first.EvalSteps();
  const size_t E = r.steps.size();
  const auto& names = MetricNames();
  for (size_t i = 0; i < names.size(); ++i) {
    Metric m{names[i], std::vector<double>(n * E)};
    for (size_t k = 0; k < n; ++k) {
      ADVLAB_CHECK_EQ(records[k].values.size(), names.size() * E);
      for (size_t e = 0; e < E; ++e) m.values[k * E + e] = records[k].values[i * E + e];
    }
    r.metrics.push_back(std::move(m));
  }
  r.provenance = BuildProvenance();
  return r;
}

std::vector<std::pair<std::string, std::string>> BuildProvenance() {
  return {{"git_commit", ADVLAB_GIT_COMMIT},
          {"compiler", __VERSION__},
          {"build_type", ADVLAB_BUILD_TYPE},
          {"cxx_flags", ADVLAB_CXX_FLAGS}};
}

}  // namespace advlab
