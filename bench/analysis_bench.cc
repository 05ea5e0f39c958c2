// Speed of `advlab analyze` and of the numbers of `advlab report` (issue 10's
// targets: analyze with 10,000 bootstrap resamples on a 10,000-run x 100-eval
// file under 10 s on one core; report under 60 s, figures included — the figure
// script is timed end to end in docs/benchmarks.md).
//
// The results are synthetic but shaped like a sweep: 5 estimators x 8 learning
// rates x 8 group sizes = 320 configurations x 32 seeds = 10,240 runs, 100 evals,
// the metrics accuracy, accuracy_bin0..3, sim_cost, response_length, update_norm.
// Curves are smooth, seed-noisy saturating functions, so every measure and
// threshold has realistic censoring.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analyze.h"
#include "analysis/report.h"
#include "sim/results.h"
#include "sim/rng.h"

namespace advlab {
namespace {

const Results& BigResults() {
  static const Results r = [] {
    const std::vector<std::string> estimators = {"grpo", "rloo", "reinforce", "dr_grpo", "opo"};
    const int lrs = 8, groups = 8, seeds = 32, evals = 100;
    Results r;
    r.advlab_version = "bench";
    for (int e = 0; e < evals; ++e) r.steps.push_back(e * 10);
    Column id{"run_id", Column::Kind::kInt, {}, {}, {}};
    Column seed{"seed", Column::Kind::kInt, {}, {}, {}};
    Column est{"estimator.name", Column::Kind::kString, {}, {}, {}};
    Column lr{"optim.lr", Column::Kind::kFloat, {}, {}, {}};
    Column g{"train.group_size", Column::Kind::kInt, {}, {}, {}};
    std::vector<Metric> metrics = {{"accuracy", {}},     {"accuracy_bin0", {}},
                                   {"accuracy_bin1", {}}, {"accuracy_bin2", {}},
                                   {"accuracy_bin3", {}}, {"sim_cost", {}},
                                   {"response_length", {}}, {"update_norm", {}}};
    const Philox rng(7);
    int64_t run = 0;
    for (size_t ei = 0; ei < estimators.size(); ++ei)
      for (int li = 0; li < lrs; ++li)
        for (int gi = 0; gi < groups; ++gi)
          for (int s = 0; s < seeds; ++s, ++run) {
            id.ints.push_back(run);
            seed.ints.push_back(s);
            est.strings.push_back(estimators[ei]);
            lr.floats.push_back(std::ldexp(1.0, li));
            g.ints.push_back(2 + 2 * gi);
            const Words4 w = rng.Draw(Purpose::kBootstrap, 1, static_cast<uint32_t>(run), 0);
            const double noise = U01(w.w[0]) - 0.5;
            const double rate = 0.002 * (1.0 + li) * (1.0 + 0.1 * static_cast<double>(ei)) *
                                (1.0 + 0.2 * noise);
            for (int e = 0; e < evals; ++e) {
              const double acc = 0.95 - 0.8 * std::exp(-rate * e * 10);
              metrics[0].values.push_back(acc);
              for (int b = 0; b < 4; ++b) metrics[1 + b].values.push_back(acc * (1.0 - 0.2 * b) + 0.1 * b);
              metrics[5].values.push_back(e * 10.0 * (2 + 2 * gi));
              metrics[6].values.push_back(e == 0 ? std::nan("") : 10.0 + 5.0 * acc + noise);
              metrics[7].values.push_back(e == 0 ? std::nan("") : std::ldexp(1.0, li) * 0.01);
            }
          }
    r.num_runs = run;
    r.runs = {id, seed, est, lr, g};
    r.metrics = metrics;
    return r;
  }();
  return r;
}

void BM_AnalyzeSummary(benchmark::State& state) {
  const Results& r = BigResults();
  AnalyzeOptions o;  // 10,000 resamples; mean, median and IQM per configuration
  for (auto _ : state) benchmark::DoNotOptimize(Analyze(r, o));
  state.counters["runs"] = static_cast<double>(r.num_runs);
}
BENCHMARK(BM_AnalyzeSummary)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_AnalyzeStepsToCompare(benchmark::State& state) {
  const Results& r = BigResults();
  AnalyzeOptions o;
  o.measure = ParseMeasure("steps_to:0.8");
  o.compare_key = "estimator.name";
  o.compare_values = {"grpo", "rloo", "reinforce", "dr_grpo", "opo"};
  for (auto _ : state) benchmark::DoNotOptimize(Analyze(r, o));
}
BENCHMARK(BM_AnalyzeStepsToCompare)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_AnalyzeSensitivity(benchmark::State& state) {
  const Results& r = BigResults();
  AnalyzeOptions o;
  o.measure = ParseMeasure("auc");
  o.by = {"estimator.name"};
  o.sensitivity_key = "optim.lr";
  for (auto _ : state) benchmark::DoNotOptimize(Analyze(r, o));
}
BENCHMARK(BM_AnalyzeSensitivity)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_BuildReport(benchmark::State& state) {
  const Results& r = BigResults();
  ReportOptions ro;
  ro.analyze.by = {"estimator.name"};
  for (auto _ : state) benchmark::DoNotOptimize(BuildReport(r, ro));
}
BENCHMARK(BM_BuildReport)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace advlab

BENCHMARK_MAIN();
