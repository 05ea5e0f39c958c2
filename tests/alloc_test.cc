// A warm training step allocates nothing (RunState's scratch is reused): for
// every family x policy.kind x train.loss, the step-0 Evaluate and 30 warm-up
// Steps (as TrainRun), then the heap allocations of the next 100 Steps (not
// Evaluate) are counted and must be 0.
//
// Configurations that still allocate, at a site outside envs/ and policies/
// (sim/ and estimators/ are being rewritten elsewhere), are listed in kKnown
// with the site: they are skipped with that message while they allocate, fail
// if they allocate anywhere else (checked by giving the known sites' buffers
// their full capacity first), and fail once they no longer allocate (then
// delete the entry).
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

// "family_kind_loss" -> where the remaining allocations come from. Both grow a
// buffer when a step needs more than any step before (a high-water mark), which
// multi-token families keep reaching as responses change length:
//   coef     sim/loop.cc, MinibatchGradient: st->coef.resize(batch.num_tokens())
//            (RunState::coef is never reserved for the longest possible batch)
//   touched  sim/policy.h, SparseGrad::Touch: touched.push_back(b), called from
//            TabularPolicy::AccumulateGradRange (SparseGrad::Init does not
//            reserve touched for num_params / block_size blocks)
const char kCoef[] =
    "sim/loop.cc MinibatchGradient: RunState::coef.resize(batch.num_tokens()) grows "
    "past its high-water mark";
const char kTouched[] =
    "sim/policy.h SparseGrad::Touch (from TabularPolicy::AccumulateGradRange): "
    "touched.push_back grows past its high-water mark (Init does not reserve it)";
const std::map<std::string, std::string> kKnown = {
    {"chain_tabular_pg", kCoef}, {"chain_tabular_ppo", kCoef}, {"chain_mlp_pg", kCoef},
    {"chain_mlp_ppo", kCoef},    {"think_mlp_pg", kCoef},      {"think_tabular_ppo", kTouched},
};

using Case = std::tuple<std::string, std::string, std::string>;  // family, kind, loss

std::string CaseName(const Case& c) {
  return std::get<0>(c) + "_" + std::get<1>(c) + "_" + std::get<2>(c);
}

// Heap allocations in kCountedSteps warm Steps of the case's run. With
// `reserve_known`, the known sites' buffers are first given the capacity that
// fixing them in sim/ would give them (coef: the batch's reserved token
// capacity; touched: one entry per block), so what remains is anything else.
int64_t WarmStepAllocations(const Case& c, bool reserve_known) {
  const auto& [family, kind, loss] = c;
  std::map<std::string, std::string> keys = {{"env.name", family},
                                             {"env.prompts", "64"},
                                             {"train.batch_prompts", "8"},
                                             {"train.group_size", "4"},
                                             {"policy.kind", kind},
                                             {"train.loss", loss}};
  if (kind == "mlp") keys["policy.hidden"] = "8";
  if (loss == "ppo") {
    keys["train.epochs"] = "2";
    keys["train.minibatches"] = "2";
  }
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  RunState st;
  InitRun(rc, &st);
  // As TrainRun: the metrics at step 0 (this touches every state once, so the
  // MLP's record cache holds them all), then the warm-up steps.
  std::vector<double> metrics(MetricNames().size());
  Evaluate(rc, &st, metrics.data());
  for (int i = 0; i < kWarmupSteps; ++i) Step(rc, &st);
  if (reserve_known) {
    st.coef.reserve(st.batch.token.capacity());
    st.grad.touched.reserve(st.grad.is_touched.size());
  }

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
  const std::string name = CaseName(GetParam());
  const int64_t allocations = WarmStepAllocations(GetParam(), /*reserve_known=*/false);
  const auto known = kKnown.find(name);
  if (known == kKnown.end()) {
    EXPECT_EQ(allocations, 0) << "heap allocations in " << kCountedSteps
                              << " warm Steps (the top of tests/alloc_test.cc says how to "
                                 "find them)";
    return;
  }
  ASSERT_GT(allocations, 0) << name
                            << " no longer allocates: remove it from kKnown in "
                               "tests/alloc_test.cc";
  // Nothing but the known site allocates.
  EXPECT_EQ(WarmStepAllocations(GetParam(), /*reserve_known=*/true), 0)
      << name << " allocates somewhere besides the known site (" << known->second << ")";
  GTEST_SKIP() << name << ": " << allocations << " allocations in " << kCountedSteps
               << " warm Steps, known: " << known->second;
}

INSTANTIATE_TEST_SUITE_P(Runs, AllocTest,
                         testing::Combine(testing::Values("choice", "chain", "think"),
                                          testing::Values("tabular", "mlp"),
                                          testing::Values("pg", "ppo")),
                         [](const testing::TestParamInfo<Case>& info) {
                           return CaseName(info.param);
                         });

}  // namespace
}  // namespace advlab
