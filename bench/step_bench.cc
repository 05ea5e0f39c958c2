// Throughput of the training loop (issue 2's speed target).
//
// BM_TrainRun: whole runs, single thread: `choice` with P=1024 prompts, K=16
// answers, B=64 prompts/step, G=8 rollouts/prompt, grpo, SGD, an exact eval every
// 50 steps. A rollout = sampled, rewarded, given an advantage and applied in the
// update. Reports rollouts per second.
// BM_Sweep/threads:T: a sweep of 16 such runs (400 steps each) on T threads,
// wall-clock rollouts per second (the 2-thread speed-up target is 1.8x).
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "experiments/sweep.h"
#include "sim/loop.h"

namespace advlab {
namespace {

std::map<std::string, std::string> Workload() {
  return {{"env.name", "choice"},         {"env.prompts", "1024"},  {"env.answers", "16"},
          {"train.batch_prompts", "64"},  {"train.group_size", "8"}, {"estimator.name", "grpo"},
          {"optim.name", "sgd"},          {"optim.lr", "32"},       {"train.eval_every", "50"},
          {"train.steps", "1000000000"}};
}

// Times whole runs (TrainRun) of the config `keys`; `items_per_run` units of
// `counter` (e.g. rollouts) per run. Returns the final accuracy of the last run.
double TimeRuns(benchmark::State& state, const std::map<std::string, std::string>& keys,
                int64_t items_per_run, const char* counter) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  int64_t items = 0;
  double accuracy = 0;
  for (auto _ : state) {
    RunRecord rec = TrainRun(rc);
    accuracy = rec.values[rc.EvalSteps().size() - 1];  // metric 0 = accuracy
    items += items_per_run;
  }
  state.counters[counter] = benchmark::Counter(static_cast<double>(items), benchmark::Counter::kIsRate);
  return accuracy;
}

// Whole runs from initialisation (task, policy, evals included): the honest
// figure, since a converged policy makes most groups all-equal and cheap.
void BM_TrainRun(benchmark::State& state) {
  auto keys = Workload();
  keys["train.steps"] = std::to_string(state.range(0));
  state.counters["final_accuracy"] = TimeRuns(state, keys, state.range(0) * 64 * 8, "rollouts/s");
}
BENCHMARK(BM_TrainRun)->ArgName("steps")->Arg(200)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Steady state late in training (the policy has converged on most prompts).
void BM_StepLoopConverged(benchmark::State& state) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve(Workload()));
  RunState st;
  InitRun(rc, &st);
  std::vector<double> metrics(MetricNames().size());
  while (st.step < 5000) Step(rc, &st);
  int64_t rollouts = 0;
  for (auto _ : state) {
    for (int i = 0; i < 50; ++i) Step(rc, &st);
    Evaluate(rc, &st, metrics.data());
    rollouts += 50 * rc.batch_prompts * rc.group_size;
  }
  state.counters["rollouts/s"] = benchmark::Counter(static_cast<double>(rollouts), benchmark::Counter::kIsRate);
  state.counters["accuracy"] = metrics[0];
}
BENCHMARK(BM_StepLoopConverged)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_Sweep(benchmark::State& state) {
  auto keys = Workload();
  keys["train.steps"] = "400";
  SweepPlan plan = PlanSweep(keys, {{"optim.lr", {"8", "16", "32", "64"}}}, 4);
  int64_t rollouts = 0;
  for (auto _ : state) {
    Results r = RunSweep(plan, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(r.metrics.data());
    rollouts += static_cast<int64_t>(plan.num_runs()) * 400 * 64 * 8;
  }
  state.counters["rollouts/s"] = benchmark::Counter(static_cast<double>(rollouts), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sweep)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// Issue 3: `chain` with n = 8, m = 10 (all prompts depth 8), B = 64, G = 8,
// tabular policy, grpo, SGD: generated tokens per second over whole runs.
std::map<std::string, std::string> ChainWorkload() {
  return {{"env.name", "chain"},          {"env.prompts", "1024"},     {"env.modulus", "10"},
          {"env.chain_min_depth", "8"},   {"env.chain_max_depth", "8"}, {"env.ops", "8"},
          {"train.batch_prompts", "64"},  {"train.group_size", "8"},    {"estimator.name", "grpo"},
          {"optim.name", "sgd"},          {"optim.lr", "8"},            {"train.eval_every", "50"},
          {"env.eval_prompts", "256"}};
}

void BM_ChainTrainRun(benchmark::State& state) {
  auto keys = ChainWorkload();
  keys["train.steps"] = std::to_string(state.range(0));
  keys["diagnostics.exact_gradient"] = state.range(1) ? "true" : "false";
  TimeRuns(state, keys, state.range(0) * 64 * 8 * 8, "tokens/s");
}
// Args: steps, diagnostics (0/1). The diagnostics' cost is the ratio of the two
// times (evaluated every 50 steps, diagnostics.samples = 8).
BENCHMARK(BM_ChainTrainRun)->ArgNames({"steps", "diag"})->Args({500, 0})->Args({500, 1})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Diagnostics overhead on the issue-2 `choice` workload, same layout.
void BM_ChoiceDiagnostics(benchmark::State& state) {
  auto keys = Workload();
  keys["train.steps"] = "1000";
  keys["diagnostics.exact_gradient"] = state.range(0) ? "true" : "false";
  TimeRuns(state, keys, 1000 * 64 * 8, "rollouts/s");
}
BENCHMARK(BM_ChoiceDiagnostics)->ArgName("diag")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Issue 5: what the losses, regularisers and sampling estimators cost on the
// `chain` workload (500 steps), against plain pg + grpo (variant 0):
//   1 ppo, 2 epochs x 4 minibatches     2 kl.coef 0.01 in the loss (k3)
//   3 entropy bonus 0.01                4 micro-batches of 32 rollouts
//   5 grpo+aapo (G reference rollouts)  6 remax (greedy decoding)
//   7 gae (tabular critic)
void BM_ChainLosses(benchmark::State& state) {
  static const std::vector<std::map<std::string, std::string>> kVariants = {
      {},
      {{"train.loss", "ppo"}, {"train.epochs", "2"}, {"train.minibatches", "4"}},
      {{"kl.coef", "0.01"}},
      {{"train.entropy_coef", "0.01"}},
      {{"train.micro_batch", "32"}},
      {{"estimator.name", "grpo+aapo"}},
      {{"estimator.name", "remax"}},
      {{"estimator.name", "gae"}},
  };
  auto keys = ChainWorkload();
  keys["train.steps"] = "500";
  for (const auto& [key, value] : kVariants[state.range(0)]) keys[key] = value;
  TimeRuns(state, keys, 500 * 64 * 8 * 8, "tokens/s");
}
BENCHMARK(BM_ChainLosses)->ArgName("variant")->DenseRange(0, 7)->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace
}  // namespace advlab

BENCHMARK_MAIN();
