// Cost per training step of every registered estimator, modifier and policy
// loss (issue 14: each new estimator's cost in docs/benchmarks.md).
//
// BM_Estimator/NAME: the issue-2 `choice` workload (P=1024, K=16, B=64, G=8,
// SGD, lr 32) with estimator.name = NAME (modifiers on grpo), 200 steps with an
// exact eval every 50, whole runs; BM_Loss/NAME the same with grpo and
// train.loss = NAME (2 epochs x 2 minibatches, so ratios move off 1; pg: 1). Reports
// milliseconds per run and microseconds per step. Estimators that cannot run
// on this workload (the task refuses them) are skipped with their reason.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/loop.h"
#include "sim/policy_loss.h"

namespace advlab {
namespace {

constexpr int kSteps = 200;

std::map<std::string, std::string> Workload() {
  return {{"env.name", "choice"},        {"env.prompts", "1024"},   {"env.answers", "16"},
          {"train.batch_prompts", "64"}, {"train.group_size", "8"}, {"estimator.name", "grpo"},
          {"optim.name", "sgd"},         {"optim.lr", "32"},        {"train.eval_every", "50"},
          {"train.steps", std::to_string(kSteps)}};
}

void TimeConfig(benchmark::State& state, const std::map<std::string, std::string>& keys) {
  RunConfig rc;
  try {
    rc = RunConfig::FromConfig(Config::Resolve(keys));
  } catch (const UserError& e) {
    state.SkipWithError(e.what());
    return;
  }
  int64_t steps = 0;
  for (auto _ : state) {
    RunRecord rec = TrainRun(rc);
    benchmark::DoNotOptimize(rec.values.data());
    steps += kSteps;
  }
  state.counters["us/step"] = benchmark::Counter(
      static_cast<double>(steps), benchmark::Counter::kIsRate | benchmark::Counter::kInvert,
      benchmark::Counter::kIs1000);
}

// Registered at start-up from the registries, so a new entry is benchmarked
// with no edit here.
const bool kRegistered = [] {
  for (const EstimatorEntry* e : EstimatorRegistry::Get().All()) {
    const std::string name = e->name;
    benchmark::RegisterBenchmark(("BM_Estimator/" + name).c_str(), [name](benchmark::State& s) {
      auto keys = Workload();
      keys["estimator.name"] = name;
      TimeConfig(s, keys);
    })->Unit(benchmark::kMillisecond)->MinTime(1.0);
  }
  for (const ModifierEntry* m : ModifierRegistry::Get().All()) {
    const std::string name = "grpo+" + m->name;
    benchmark::RegisterBenchmark(("BM_Estimator/" + name).c_str(), [name](benchmark::State& s) {
      auto keys = Workload();
      keys["estimator.name"] = name;
      TimeConfig(s, keys);
    })->Unit(benchmark::kMillisecond)->MinTime(1.0);
  }
  for (const PolicyLossEntry* l : PolicyLossRegistry::Get().All()) {
    const std::string name = l->name;
    benchmark::RegisterBenchmark(("BM_Loss/" + name).c_str(), [name](benchmark::State& s) {
      auto keys = Workload();
      keys["train.loss"] = name;
      if (name != "pg") {  // pg is on-policy: one update per batch
        keys["train.epochs"] = "2";
        keys["train.minibatches"] = "2";
      }
      TimeConfig(s, keys);
    })->Unit(benchmark::kMillisecond)->MinTime(1.0);
  }
  return true;
}();

}  // namespace
}  // namespace advlab
BENCHMARK_MAIN();
