// Throughput of the MLP policy (forward + backward of one decision).
//
// Setting: a stub task with S = 4096 states, dense feature vectors (no zero
// entries, so no term is skipped), A = 16 actions; policy.hidden = 64 unless
// the argument says otherwise. One iteration = one training step's policy work:
// ParamsChanged (drops the cache), Probs at each of the S states (forward:
// S decisions, distinct states), then one AccumulateGrad over a batch of S
// tokens, one per state, mixed coefficient signs (backward).
//
// Counters: decisions/s (forward + backward of one decision), and GFLOP/s of the
// matrix work, counted as 2 flops per multiply-add (no FMA: one multiply, one
// add), per decision with I inputs, H hidden, A actions, L layers:
//   forward   I H + (L - 1) H^2 + H A            (W x, layer by layer)
//   backward  H A + (L - 1) H^2                  (dh = W^T d)
//             I H + (L - 1) H^2 + H A            (gW += x d^T)
// i.e. 2 I H + 3 (L - 1) H^2 + 3 H A multiply-adds (7168 at I = 32, H = 64,
// A = 16, L = 1: 14336 flops). Not counted: bias adds, activations (a dm::Tanh
// is ~100 flops, and a third of the run time), softmax, dz and da; relu runs
// the same matrix work as tanh, with a cheap activation.
//
// Peak for comparison (2-core AMD EPYC Zen 5, nominal ~2.6 GHz): AVX2 doubles
// without FMA, 2 multiplies + 2 adds of 4 lanes per cycle = 16 flops/cycle =
// 41.6 GFLOP/s per core (SSE2: 20.8). The VM's effective clock measured ~3.75
// GHz in the runs reported with this file (60 GFLOP/s at 16 flops/cycle).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "policies/mlp.h"
#include "policies/testing.h"
#include "sim/rng.h"
#include "sim/task.h"

namespace advlab {
namespace {

// Dense random features in [-1, 1) and a sparse prior, tabulated once.
class BenchTask : public test_util::PolicyOnlyTask {
 public:
  BenchTask(int32_t states, int32_t actions, int32_t features)
      : PolicyOnlyTask(
            states, actions, features,
            [this](int32_t state, double* out) {
              const double* x = x_.data() + static_cast<size_t>(state) * features_;
              for (int32_t i = 0; i < features_; ++i) out[i] = x[i];
            },
            [this](int32_t state, double* logits) {
              const double* p = prior_.data() + static_cast<size_t>(state) * actions_;
              for (int32_t k = 0; k < actions_; ++k) logits[k] = p[k];
            }),
        actions_(actions),
        features_(features),
        x_(static_cast<size_t>(states) * features),
        prior_(static_cast<size_t>(states) * actions) {
    const Philox rng(1);
    for (size_t i = 0; i < x_.size(); ++i) {
      x_[i] = 2.0 * U01(rng.Draw(Purpose::kPool, static_cast<uint32_t>(i), 0, 0).w[0]) - 1.0;
    }
    for (size_t i = 0; i < prior_.size(); ++i) prior_[i] = (i % 5 == 0) ? 1.5 : 0.0;
  }

 private:
  int32_t actions_, features_;
  std::vector<double> x_, prior_;
};

constexpr int kStates = 4096;
constexpr int kFeatures = 32;
constexpr int kActions = 16;

struct Setup {
  BenchTask task{kStates, kActions, kFeatures};
  std::unique_ptr<MlpPolicy> policy;
  Batch batch;
  std::vector<double> coef;
  SparseGrad grad;
  double flops_per_decision = 0;

  Setup(int hidden, int layers, MlpPolicy::Activation act) {
    MlpPolicy::Options o;
    o.hidden = hidden;
    o.layers = layers;
    o.activation = act;
    o.out_init_scale = 1.0;  // a non-trivial network (0 would start at the prior)
    o.seed = 7;
    policy = std::make_unique<MlpPolicy>(task, o);
    batch.Clear();
    for (int s = 0; s < kStates; ++s) {
      batch.state.push_back(s);
      batch.token.push_back((s * 7) % kActions);
      batch.logprob.push_back(0.0);
      batch.token_begin.push_back(s + 1);
      coef.push_back(s % 2 ? 0.01 : -0.013);
    }
    grad.Init(policy->num_params(), policy->grad_block_size());
    const double I = kFeatures, H = hidden, A = kActions, L = layers;
    flops_per_decision = 2.0 * (2 * I * H + 3 * (L - 1) * H * H + 3 * H * A);
  }
};

void Report(benchmark::State& state, int64_t decisions, double flops) {
  state.counters["decisions/s"] =
      benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}

// Forward + backward: the figure of the speed target.
void BM_MlpDecision(benchmark::State& state) {
  const auto act = state.range(2) ? MlpPolicy::Activation::kRelu : MlpPolicy::Activation::kTanh;
  Setup su(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), act);
  int64_t decisions = 0;
  for (auto _ : state) {
    su.policy->ParamsChanged();
    for (int s = 0; s < kStates; ++s) benchmark::DoNotOptimize(su.policy->Probs(s));
    su.grad.Clear();
    su.policy->AccumulateGrad(su.batch, su.coef.data(), &su.grad);
    benchmark::DoNotOptimize(su.grad.value.data());
    decisions += kStates;
  }
  Report(state, decisions, su.flops_per_decision * static_cast<double>(decisions));
}
BENCHMARK(BM_MlpDecision)
    ->ArgNames({"hidden", "layers", "relu"})
    ->Args({64, 1, 0})
    ->Args({64, 1, 1})
    ->Args({64, 2, 0})
    ->Args({128, 1, 0})
    ->Unit(benchmark::kMillisecond);

// The two halves separately (forward only; backward only on cached states).
void BM_MlpForward(benchmark::State& state) {
  Setup su(static_cast<int>(state.range(0)), 1, MlpPolicy::Activation::kTanh);
  const double I = kFeatures, H = static_cast<double>(state.range(0)), A = kActions;
  int64_t decisions = 0;
  for (auto _ : state) {
    su.policy->ParamsChanged();
    for (int s = 0; s < kStates; ++s) benchmark::DoNotOptimize(su.policy->Probs(s));
    decisions += kStates;
  }
  Report(state, decisions, 2.0 * (I * H + H * A) * static_cast<double>(decisions));
}
BENCHMARK(BM_MlpForward)->ArgName("hidden")->Arg(64)->Unit(benchmark::kMillisecond);

void BM_MlpBackward(benchmark::State& state) {
  Setup su(static_cast<int>(state.range(0)), 1, MlpPolicy::Activation::kTanh);
  const double I = kFeatures, H = static_cast<double>(state.range(0)), A = kActions;
  for (int s = 0; s < kStates; ++s) su.policy->Probs(s);
  int64_t decisions = 0;
  for (auto _ : state) {
    su.grad.Clear();
    su.policy->AccumulateGrad(su.batch, su.coef.data(), &su.grad);
    benchmark::DoNotOptimize(su.grad.value.data());
    decisions += kStates;
  }
  Report(state, decisions, 2.0 * (I * H + 2 * H * A) * static_cast<double>(decisions));
}
BENCHMARK(BM_MlpBackward)->ArgName("hidden")->Arg(64)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace advlab

BENCHMARK_MAIN();
