// A warm training step allocates nothing (RunState's scratch is reused): for
// every family x policy.kind x train.loss, the step-0 Evaluate and 30 warm-up
// Steps (as TrainRun), then the heap allocations of the next 100 Steps (not
// Evaluate) are counted and must be 0.
//
// Every buffer a step writes is sized at run start for the largest step
// (InitRun reserves the per-token scratch, SparseGrad::Init the touched list,
// the tasks their batch's token arrays).
//
// The step-0 Evaluate matters for the MLP: it computes a record for every
// state, so MlpPolicy's record chunks (policies/mlp.cc, MlpPolicy::Compute) are
// all allocated before training; without it, a step that meets more states
// than any before allocates a new chunk (think x mlp x pg does).
//
// Finding a site: gdb --args build/tests/tests_alloc_test --gtest_filter='*chain_mlp_ppo'
//   (gdb) break AllocTestCountingStarted
//   (gdb) run
//   (gdb) break operator new(unsigned long)
//   (gdb) break operator new(unsigned long, std::align_val_t)
//   (gdb) break AllocTestCountingStopped
//   (gdb) continue        # bt at each operator new, until counting stops
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "sim/loop.h"

#include "tests/alloc_counter.h"  // replaces operator new in this binary

// alloc_counter.h replaces the plain forms of operator new; policies/mlp.cc
// allocates its 64-byte aligned buffers and record chunks with the aligned
// forms, counted here too.
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t align) {
  if (g_count_allocations.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  const std::size_t a = static_cast<std::size_t>(align);
  const std::size_t n = size == 0 ? a : (size + a - 1) / a * a;  // aligned_alloc: a multiple
  if (void* p = std::aligned_alloc(a, n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t align) {
  return ::operator new(size, align);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

// Called (not inlined) when counting starts and stops: breakpoints for gdb.
[[gnu::noinline]] void AllocTestCountingStarted() { asm volatile(""); }
[[gnu::noinline]] void AllocTestCountingStopped() { asm volatile(""); }

namespace advlab {
namespace {

constexpr int kWarmupSteps = 30;
constexpr int kCountedSteps = 100;

// family, kind, loss ("ppo_match": ppo with train.match_update)
using Case = std::tuple<std::string, std::string, std::string>;

std::string CaseName(const Case& c) {
  return std::get<0>(c) + "_" + std::get<1>(c) + "_" + std::get<2>(c);
}

// Heap allocations in kCountedSteps warm Steps of the case's run.
int64_t WarmStepAllocations(const Case& c,
                            const std::map<std::string, std::string>& extra = {}) {
  const auto& [family, kind, variant] = c;
  // "ppo_match": ppo with train.match_update (a second estimator and gradient).
  const bool match = variant == "ppo_match";
  const std::string loss = match ? "ppo" : variant;
  std::map<std::string, std::string> keys = {{"env.name", family},
                                             {"env.prompts", "64"},
                                             {"train.batch_prompts", "8"},
                                             {"train.group_size", "4"},
                                             {"policy.kind", kind},
                                             {"train.loss", loss},
                                             // The curriculum: an oracle check every
                                             // other step, the window moving often.
                                             {"env.drift", "accuracy"},
                                             {"env.drift_stages", "1000"},
                                             {"env.drift_check_every", "2"},
                                             {"env.drift_threshold", "0.2"}};
  if (kind == "mlp") keys["policy.hidden"] = "8";
  if (loss == "ppo") {
    keys["train.epochs"] = "2";
    keys["train.minibatches"] = "2";
  }
  if (match) {
    keys["estimator.name"] = "grpo+adora";
    keys["train.match_update"] = "ema_baseline";
  }
  for (const auto& [key, value] : extra) keys[key] = value;
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  RunState st;
  InitRun(rc, &st);
  // As TrainRun: the metrics at step 0 (this touches every state once, so the
  // MLP's record cache holds them all), then the warm-up steps.
  std::vector<double> metrics(MetricNames().size());
  Evaluate(rc, &st, metrics.data());
  for (int i = 0; i < kWarmupSteps; ++i) Step(rc, &st);

  g_allocations.store(0);
  g_count_allocations.store(true);
  AllocTestCountingStarted();
  for (int i = 0; i < kCountedSteps; ++i) Step(rc, &st);
  g_count_allocations.store(false);
  AllocTestCountingStopped();
  return g_allocations.load();
}

class AllocTest : public testing::TestWithParam<Case> {};

TEST_P(AllocTest, WarmStepsDoNotAllocate) {
  EXPECT_EQ(WarmStepAllocations(GetParam()), 0)
      << "heap allocations in " << kCountedSteps
      << " warm Steps (the top of tests/alloc_test.cc says how to find them)";
}

// AAPO's reference rollouts, fresh and cached (one Rollout call per group),
// and DASH's generated normaliser.
TEST(AllocTest, ReferenceRolloutsAndDashDoNotAllocate) {
  for (const char* family : {"choice", "chain", "think"}) {
    for (const char* reference : {"fresh", "cached"}) {
      EXPECT_EQ(WarmStepAllocations({family, "tabular", "pg"},
                                    {{"estimator.name", "grpo+dash+aapo"},
                                     {"estimator.aapo_reference", reference},
                                     {"estimator.dash_normalizer", "generated"}}),
                0)
          << family << " " << reference;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Runs, AllocTest,
                         testing::Combine(testing::Values("choice", "chain", "think"),
                                          testing::Values("tabular", "mlp"),
                                          testing::Values("pg", "ppo", "ppo_match")),
                         [](const testing::TestParamInfo<Case>& info) {
                           return CaseName(info.param);
                         });

}  // namespace
}  // namespace advlab
