#include "experiments/sweep.h"

#include <unistd.h>
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "experiments/progress.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/policy_loss.h"
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

namespace {

// Heap bytes in use by this process (glibc), to measure what building a task
// took; 0 where unknown.
double HeapInUse() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks) + static_cast<double>(m.hblkhd);
#else
  return 0.0;
#endif
}

std::string FormatBytes(double bytes) {
  static const char* const kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[u]);
  return buf;
}

std::string FormatCount(double n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, n < 1e15 ? "%.0f" : "%.3g", n);
  return buf;
}

// One part of a run's memory, for the message that refuses it.
struct MemoryPart {
  double bytes = 0.0;
  std::string what;
};

// "env.name = chain, env.ops = 5000": the env sizes of a run the user set, so a
// message names the keys behind the task's states, actions and lengths.
std::string EnvKeys(const Config& c, const std::vector<std::string>& given) {
  std::string out = "env.name = " + c.Str("env.name");
  for (const std::string& k : given) {
    if (k.rfind("env.", 0) != 0 || FindKey(k).type != KeyType::kInt) continue;
    out += ", " + k + " = " + c.Str(k);
  }
  return out;
}

// Estimates the memory one run holds at its peak from the sizes the task and
// keys fix: the policy's parameter tables (with gradient, optimizer moments,
// cached distributions and the reference policy), the batches of a step and the
// eval tables. `task_bytes` is what building the task took. A lower estimate:
// per-token scratch of the MLP and small buffers are left out.
std::vector<MemoryPart> EstimateRunMemory(const RunConfig& rc, const Task& task, double task_bytes,
                                          const std::vector<std::string>& given) {
  const Config& c = rc.config;
  const double S = task.num_states(), A = task.num_actions(), L = task.max_length();
  const double F = task.feature_dim(), EP = static_cast<double>(task.eval_prompts().size());
  const std::string env = EnvKeys(c, given);
  std::vector<MemoryPart> parts;
  parts.push_back({task_bytes, "the task (" + env + ")"});

  const bool adam = c.Str("optim.name") == "adam";
  // grad, moments, diagnostics, train.match_update's gradient
  const double per_param =
      8.0 * (1 + (adam ? 2 : 0) + (rc.diagnostics ? 6 : 0) + (rc.match_update ? 1 : 0));
  if (c.Str("policy.kind") == "mlp") {
    const double H = static_cast<double>(c.Int("policy.hidden"));
    const double layers = static_cast<double>(c.Int("policy.layers"));
    const double P = F * H + H + (layers - 1) * (H * H + H) + H * A + A;
    parts.push_back({P * (16.0 + per_param) + S * 8.0,
                     "the mlp policy's " + FormatCount(P) + " parameters (policy.hidden = " +
                         c.Str("policy.hidden") + ", policy.layers = " + c.Str("policy.layers") +
                         ", " + FormatCount(F) + " features and " + FormatCount(A) +
                         " actions of " + env + ")"});
  } else {
    const double P = S * A;  // logits, probs, logprobs
    parts.push_back({P * (24.0 + per_param) + S * 10.0,
                     "the tabular policy's " + FormatCount(S) + " states x " + FormatCount(A) +
                         " actions (" + env + ")"});
  }
  if (rc.kl_coef > 0.0 || rc.reference_rollouts) {
    parts.push_back({S * A * 24.0 + S,  // logits, probs, logprobs
                     "the reference policy (kl.coef > 0 or +aapo): " + FormatCount(S) + " states x " +
                         FormatCount(A) + " actions (" + env + ")"});
  }
  const double rollouts = static_cast<double>(rc.batch_prompts) * rc.group_size;
  const double tokens = rollouts * L;
  const double per_token = 32.0 + (rc.kl_coef > 0.0 ? 16.0 : 0.0) +
                           (rc.loss->needs_ratio ? 8.0 : 0.0) +
                           (rc.entropy_coef != 0.0 ? 20.0 : 0.0);
  int scratch = 0;  // batches modifiers keep (dapo: the groups collected, one round)
  for (const ModifierEntry* m : ParseEstimatorName(c.Str("estimator.name")).modifiers) {
    scratch += m->scratch_batches;
  }
  const double copies = 1 + scratch + (rc.reference_rollouts ? 1 : 0) +
                        (rc.diagnostics ? 1 : 0);
  parts.push_back({copies * (tokens * per_token + rollouts * 40.0),
                   "the batch: train.batch_prompts x train.group_size = " + FormatCount(rollouts) +
                       " rollouts of up to " + FormatCount(L) + " tokens (" + env + ")"});
  const double E = static_cast<double>(NumEvalSteps(rc.steps, rc.eval_every));
  parts.push_back({EP * A * 8.0 + E * (8.0 * MetricNames().size() + 8.0),
                   "the eval tables: " + FormatCount(EP) + " eval prompts x " + FormatCount(A) +
                       " actions, " + FormatCount(E) + " evals (train.steps / train.eval_every)"});
  return parts;
}

// The /runs column of a key, typed as the key is; value(k) is run k's text.
template <class ValueOf>
Column KeyColumn(const std::string& key, ValueOf value, size_t n) {
  const KeySpec& spec = FindKey(key);
  Column col;
  col.name = key;
  col.kind = spec.type == KeyType::kInt     ? Column::Kind::kInt
             : spec.type == KeyType::kFloat ? Column::Kind::kFloat
                                            : Column::Kind::kString;
  for (size_t k = 0; k < n; ++k) {
    const std::string& v = value(k);
    if (col.kind == Column::Kind::kInt) col.ints.push_back(std::strtoll(v.c_str(), nullptr, 10));
    else if (col.kind == Column::Kind::kFloat) col.floats.push_back(std::strtod(v.c_str(), nullptr));
    else col.strings.push_back(v);
  }
  return col;
}

double Total(const std::vector<MemoryPart>& parts) {
  double t = 0.0;
  for (const auto& p : parts) t += p.bytes;
  return t;
}

const MemoryPart& Largest(const std::vector<MemoryPart>& parts) {
  size_t best = 0;
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i].bytes > parts[best].bytes) best = i;
  return parts[best];
}

}  // namespace

double MemoryLimit(std::string* what) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  double limit = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page)
                                       : 1e300;
  *what = "this machine's " + FormatBytes(limit);
  // A container's memory limit (cgroup v2) is what counts when smaller.
  if (FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    char buf[64] = {0};
    if (std::fgets(buf, sizeof buf, f) != nullptr && buf[0] >= '0' && buf[0] <= '9') {
      const double cg = std::strtod(buf, nullptr);
      if (cg > 0 && cg < limit) {
        limit = cg;
        *what = "this cgroup's limit of " + FormatBytes(limit);
      }
    }
    std::fclose(f);
  }
  return limit;
}

size_t SweepPlan::num_points() const {
  size_t p = 1;
  for (const GridAxis& axis : grid) p *= axis.values.size();
  return p;
}

std::vector<std::string> SweepPlan::Point(size_t p) const {
  std::vector<std::string> point(grid.size());
  for (size_t a = grid.size(); a-- > 0;) {  // mixed radix, the last axis fastest
    point[a] = grid[a].values[p % grid[a].values.size()];
    p /= grid[a].values.size();
  }
  return point;
}

const std::string& SweepPlan::SweptValue(size_t k, size_t axis) const {
  size_t p = PointOf(k);
  for (size_t a = grid.size() - 1; a > axis; --a) p /= grid[a].values.size();
  return grid[axis].values[p % grid[axis].values.size()];
}

Config SweepPlan::RunKeys(size_t k) const {
  Config c = arm_configs[ArmOf(k)];
  const std::vector<std::string> point = Swept(k);
  for (size_t a = 0; a < grid.size(); ++a) c = c.With(grid[a].key, point[a]);
  return c.With("seed", std::to_string(SeedOf(k)));
}

SweepPlan PlanSweep(const std::map<std::string, std::string>& keys,
                    const std::vector<GridAxis>& grid, int64_t seeds, int threads,
                    const std::vector<Arm>& arms) {
  SweepPlan plan;
  plan.base = Config::Resolve(keys);
  plan.grid = grid;
  plan.arms = arms;
  std::vector<std::string> given;  // keys the user gave: file, command line, grid
  for (const auto& kv : keys) given.push_back(kv.first);
  for (size_t a = 0; a < plan.grid.size(); ++a) {
    GridAxis& axis = plan.grid[a];
    const std::string origin = axis.origin.empty() ? "--grid " + axis.key : axis.origin;
    if (IsRunColumn(axis.key)) {
      throw UserError(origin + ": '" + axis.key +
                      "' is a run column of the results file, not a grid key; set the seeds "
                      "with --seeds and the first with --seed");
    }
    const KeySpec& spec = FindKey(axis.key);
    for (size_t b = 0; b < a; ++b) {
      if (plan.grid[b].key == axis.key) throw UserError(origin + ": key '" + axis.key + "' swept twice");
    }
    if (keys.count(axis.key) == 0) given.push_back(axis.key);
    const std::vector<std::string> spelled = axis.values;
    for (size_t i = 0; i < axis.values.size(); ++i) {
      try {
        axis.values[i] = CanonicalValue(spec, spelled[i]);
      } catch (const UserError& e) {
        throw UserError(origin + ": " + e.what());
      }
      for (size_t j = 0; j < i; ++j) {
        if (SameValue(spec, axis.values[j], axis.values[i])) {
          throw UserError(origin + ": values " + QuoteInput(spelled[j]) + " and " +
                          QuoteInput(spelled[i]) +
                          " are the same value, so their runs would be the same; give each "
                          "value once");
        }
      }
    }
  }
  // The arms' configs: the base with each arm's keys (no arm: the base alone).
  std::vector<Config> arm_configs;
  for (size_t i = 0; i < plan.arms.size(); ++i) {
    Arm& arm = plan.arms[i];
    if (arm.origin.empty()) arm.origin = "--arm " + arm.name;
    const std::string& origin = arm.origin;
    for (size_t j = 0; j < i; ++j) {
      if (plan.arms[j].name == arm.name) {
        throw UserError(origin + ": arm '" + arm.name + "' given twice; give each arm once");
      }
    }
    Config c = plan.base;
    for (auto& [key, value] : arm.keys) {
      if (IsRunColumn(key)) {
        throw UserError(origin + ": '" + key + "' is a run column of the results file, not a "
                        "key an arm may set; every arm runs the same seeds");
      }
      for (const GridAxis& axis : plan.grid) {
        if (axis.key == key) {
          throw UserError(origin + ": key '" + key + "' is also swept by " +
                          (axis.origin.empty() ? "--grid " + axis.key : axis.origin) +
                          "; an arm may not set a grid key: keep one");
        }
      }
      try {
        value = CanonicalValue(FindKey(key), value);
      } catch (const UserError& e) {
        throw UserError(origin + ": " + e.what());
      }
      c = c.With(key, value);
      if (std::find(plan.arm_keys.begin(), plan.arm_keys.end(), key) == plan.arm_keys.end()) {
        plan.arm_keys.push_back(key);
      }
    }
    // Two arms of the same config would run the same runs twice.
    for (size_t j = 0; j < i; ++j) {
      bool same = true;
      for (const auto& [key, value] : c.values()) {
        same = same && SameValue(FindKey(key), value, arm_configs[j].Str(key));
      }
      if (same) {
        throw UserError(origin + ": arms '" + plan.arms[j].name + "' and '" + arm.name +
                        "' are the same config, so their runs would be the same; make them "
                        "differ or give one");
      }
    }
    arm_configs.push_back(std::move(c));
  }
  if (arm_configs.empty()) arm_configs.push_back(plan.base);
  const double arms_count = static_cast<double>(arm_configs.size());

  const int64_t base_seed = plan.base.Int("seed");
  if (base_seed + seeds - 1 > 4294967295LL) {
    throw UserError("seed + --seeds - 1 = " + std::to_string(base_seed + seeds - 1) +
                    " exceeds the largest seed 4294967295");
  }

  // Memory of the sweep as a whole, before anything is expanded: every run's
  // config and its results (the runs' records and the Results copy).
  std::string limit_text;
  const double limit = MemoryLimit(&limit_text);
  double points_count = 1.0;
  for (const auto& axis : plan.grid) points_count *= static_cast<double>(axis.values.size());
  const double runs_count = arms_count * points_count * static_cast<double>(seeds);
  int64_t max_steps = plan.base.Int("train.steps"), min_every = plan.base.Int("train.eval_every");
  for (const Config& c : arm_configs) {
    max_steps = std::max<int64_t>(max_steps, c.Int("train.steps"));
    min_every = std::min<int64_t>(min_every, c.Int("train.eval_every"));
  }
  for (const auto& axis : plan.grid) {
    for (const auto& v : axis.values) {
      if (axis.key == "train.steps") max_steps = std::max<int64_t>(max_steps, std::stoll(v));
      if (axis.key == "train.eval_every") min_every = std::min<int64_t>(min_every, std::stoll(v));
    }
  }
  const double evals = static_cast<double>(NumEvalSteps(max_steps, min_every));
  // The plan holds a config per arm, not per run (SweepPlan); what grows with
  // the runs is the assembled results file in memory (its metrics, twice at
  // the peak of writing a shard, and the /runs columns).
  const double results_bytes =
      2.0 * evals * 8.0 * static_cast<double>(MetricNames().size()) +
      16.0 * static_cast<double>(plan.grid.size() + plan.arm_keys.size() + 3);
  const double sweep_bytes = runs_count * results_bytes;
  if (sweep_bytes > limit) {
    throw UserError("memory: " + FormatCount(runs_count) + " runs (" +
                    (plan.arms.empty() ? "" : FormatCount(arms_count) + " arms x ") +
                    FormatCount(points_count) +
                    (points_count == 1 ? " grid point" : " grid points") + " x " +
                    std::to_string(seeds) + " seeds) of " +
                    FormatCount(evals) +
                    " evals each (train.steps / train.eval_every) need about " +
                    FormatBytes(sweep_bytes) + " for their results, more than " +
                    limit_text + "; use fewer seeds or grid values, or a larger train.eval_every");
  }

  plan.arm_configs = std::move(arm_configs);
  plan.seeds = seeds;
  plan.base_seed = base_seed;
  const size_t points = plan.num_points();
  const double at_once = std::min(static_cast<double>(std::max(threads, 1)), runs_count);
  // A key no run reads is a mistake (a misplaced family key, a ppo key under
  // pg); an arm's key no run of that arm reads too (adora_tau in an arm
  // without adora). Runs of one cell differ in the seed alone, which decides
  // no key's use: one config per cell is checked.
  KeysReadCheck keys_read(given);
  std::vector<KeysReadCheck> arm_keys_read;
  for (const Arm& arm : plan.arms) {
    std::vector<std::string> arm_given;
    for (const auto& kv : arm.keys) arm_given.push_back(kv.first);
    arm_keys_read.emplace_back(arm_given);
  }
  // Each arm crossed with every grid point: validated once per cell (seed: the first).
  RunConfig first;
  for (size_t cell = 0; cell < plan.arm_configs.size() * points; ++cell) {
    const size_t arm = cell / points;
    const Config c = plan.RunKeys(cell * static_cast<size_t>(seeds));
    const RunConfig rc = RunConfig::FromConfig(c);
    keys_read.Add(c);
    if (!plan.arms.empty()) arm_keys_read[arm].Add(c);
    if (cell == 0) first = rc;
    // Eval steps depend on train.steps and train.eval_every alone.
    if (first.steps != rc.steps || first.eval_every != rc.eval_every) {
      if (!plan.arms.empty() && arm > 0) {
        throw UserError(plan.arms[arm].origin + ": every run of a sweep must have the same eval "
                        "steps, so train.steps and train.eval_every cannot differ between arms "
                        "(arm '" + plan.arms[0].name + "' has " + std::to_string(first.steps) +
                        " and " + std::to_string(first.eval_every) + ", arm '" +
                        plan.arms[arm].name + "' " + std::to_string(rc.steps) + " and " +
                        std::to_string(rc.eval_every) + "); run one sweep per value");
      }
      throw UserError("--grid: every run of a sweep must have the same eval steps, so "
                      "train.steps and train.eval_every cannot be swept; run one sweep per value");
    }
    const double rollouts = static_cast<double>(rc.batch_prompts) * rc.group_size;
    // Build the task once per grid point: family-specific checks happen here,
    // and the modifiers check that the task has what they read.
    const double heap_before = HeapInUse();
    std::unique_ptr<Task> task =
        TaskRegistry::Get().Find(c.Str("env.name"))->make(c, static_cast<uint64_t>(base_seed));
    const double task_bytes = std::max(0.0, HeapInUse() - heap_before);
    for (const char* key : {"estimator.name", "train.match_update"}) {  // and the baseline's
      if (c.Str(key).empty()) continue;
      for (const ModifierEntry* m : ParseEstimatorName(c.Str(key)).modifiers) {
        if (m->check) m->check(c, *task);
      }
    }
    // A batch counts its tokens in int (sim/batch.h); RunConfig checks rollouts.
    const double tokens = rollouts * task->max_length();
    if (tokens > 2147483647.0) {
      throw UserError("train.batch_prompts x train.group_size x the longest response (" +
                      std::to_string(task->max_length()) + " tokens, env.name = " +
                      c.Str("env.name") + ") = " + FormatCount(tokens) +
                      " tokens per step, more than a batch holds (2147483647); make them smaller");
    }
    // Memory of the runs running at once, each as big as this point's.
    const std::vector<MemoryPart> parts = EstimateRunMemory(rc, *task, task_bytes, given);
    const double run_bytes = Total(parts);
    const double total = sweep_bytes + at_once * run_bytes;
    if (total > limit) {
      const MemoryPart& big = Largest(parts);
      const std::string who =
          at_once > 1 ? FormatCount(at_once) + " runs at once (--threads " +
                            std::to_string(threads) + ") need about " + FormatBytes(total) +
                            " (" + FormatBytes(run_bytes) + " each)"
                      : "a run needs about " + FormatBytes(total);
      throw UserError("memory: " + who + ", more than " + limit_text + "; the largest part of " +
                      (at_once > 1 ? "each" : "it") + " is " + big.what + ", about " +
                      FormatBytes(big.bytes) + "; make those sizes smaller" +
                      (at_once > 1 ? " or use fewer --threads" : ""));
    }
  }
  keys_read.Check();
  for (size_t arm = 0; arm < plan.arms.size(); ++arm) {
    try {
      arm_keys_read[arm].Check();
    } catch (const UserError& e) {
      throw UserError(plan.arms[arm].origin + ": " + e.what());
    }
  }
  return plan;
}

Results SweepSkeleton(const SweepPlan& plan) {
  const size_t n = plan.num_runs();
  Results r;
  r.advlab_version = kAdvlabVersion;
  r.format_version = 1;
  r.config_ini = plan.base.ToIni();
  for (const Arm& arm : plan.arms) {
    std::string keys;
    for (size_t i = 0; i < arm.keys.size(); ++i)
      keys += (i ? ", " : " ") + arm.keys[i].first + "=" + arm.keys[i].second;
    r.config_ini += "; arm " + arm.name + ":" + keys + "\n";
  }
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
    seed.ints.push_back(static_cast<int64_t>(plan.SeedOf(k)));
  }
  r.runs.push_back(run_id);
  r.runs.push_back(seed);
  if (!plan.arms.empty()) {
    Column arm{"arm", Column::Kind::kString, {}, {}, {}};
    for (size_t k = 0; k < n; ++k) arm.strings.push_back(plan.arms[plan.ArmOf(k)].name);
    r.runs.push_back(arm);
    for (const std::string& key : plan.arm_keys) {
      r.runs.push_back(KeyColumn(key, [&](size_t k) { return plan.arm_configs[plan.ArmOf(k)].Str(key); }, n));
    }
  }
  for (size_t a = 0; a < plan.grid.size(); ++a) {
    r.runs.push_back(KeyColumn(plan.grid[a].key, [&](size_t k) { return plan.SweptValue(k, a); }, n));
  }
  const RunConfig first = plan.Run(0);
  r.steps = first.EvalSteps();
  for (const std::string& name : MetricNames()) r.metrics.push_back(Metric{name, {}});
  r.analysis_ini = plan.analysis_ini;
  r.provenance = BuildProvenance();
  return r;
}

void RunPlan(const SweepPlan& plan, int threads, const std::vector<bool>& skip,
             const std::function<void(size_t, RunRecord&&)>& finished,
             const std::atomic<int>* stop) {
  const size_t n = plan.num_runs();
  ADVLAB_CHECK(skip.empty() || skip.size() == n);
  size_t todo = 0;
  for (size_t k = 0; k < n; ++k) todo += skip.empty() || !skip[k];
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex mu;
  auto worker = [&]() {
    for (;;) {
      if (stop != nullptr && stop->load() != 0) return;
      size_t k = next.fetch_add(1);
      while (k < n && !skip.empty() && skip[k]) k = next.fetch_add(1);
      if (k >= n) return;
      try {
        RunRecord record = TrainRun(plan.Run(k));
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) finished(k, std::move(record));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        next.store(n);
        return;
      }
    }
  };
  const int t = static_cast<int>(std::clamp<size_t>(todo, 1, static_cast<size_t>(std::max(threads, 1))));
  std::vector<std::thread> pool;
  for (int i = 1; i < t; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

Results EmptyResults(const SweepPlan& plan) {
  Results r = SweepSkeleton(plan);
  const size_t cells = plan.num_runs() * r.steps.size();
  for (Metric& m : r.metrics) m.values.assign(cells, 0.0);
  return r;
}

void PutRunValues(Results* r, size_t k, const double* values) {
  const size_t E = r->steps.size();
  for (size_t i = 0; i < r->metrics.size(); ++i) {
    std::copy(values + i * E, values + (i + 1) * E, r->metrics[i].values.begin() + k * E);
  }
}

double RunRollouts(const RunConfig& rc) {
  return static_cast<double>(rc.steps) * static_cast<double>(rc.batch_prompts) *
         static_cast<double>(rc.group_size);
}

Results RunSweep(const SweepPlan& plan, int threads) {
  Results r = EmptyResults(plan);
  const size_t V = r.metrics.size() * r.steps.size();
  Progress progress(plan.num_runs(), 0, /*quiet=*/isatty(STDERR_FILENO) == 0);
  RunPlan(plan, threads, {}, [&](size_t k, RunRecord&& record) {
    ADVLAB_CHECK_EQ(record.values.size(), V);
    PutRunValues(&r, k, record.values.data());
    progress.RunDone(RunRollouts(plan.Run(k)));
  });
  progress.Stop();
  return r;
}

std::vector<std::pair<std::string, std::string>> BuildProvenance() {
  return {{"git_commit", ADVLAB_GIT_COMMIT},
          {"compiler", __VERSION__},
          {"build_type", ADVLAB_BUILD_TYPE},
          {"cxx_flags", ADVLAB_CXX_FLAGS}};
}

}  // namespace advlab
