// Conformance suite run over EVERY registered estimator, so that a new estimator
// is checked the moment it registers: description, factory, output shape,
// finiteness, determinism, no cross-group leakage, exact zeros for all-equal
// binary groups, shift invariance, and no heap allocation once warm.
//
// Dynamic estimators (state across steps) are allowed: every property below uses
// fresh instances from make(), except the allocation check, which warms one up,
// and the purity check, which feeds one instance several batches: an estimator
// that keeps state must say so in kStateful, and is then checked for replay
// determinism instead (fresh instances fed the same batches agree bit for bit).
#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/testing.h"

#include "sim/batch.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

#include "tests/alloc_counter.h"  // replaces operator new in this binary

namespace advlab {
namespace {

using Groups = std::vector<std::vector<double>>;

bool IsBinaryAllEqual(const std::vector<double>& x) {
  return x.size() >= 2 && (x[0] == 0.0 || x[0] == 1.0) &&
         std::all_of(x.begin(), x.end(), [&](double v) { return v == x[0]; });
}

bool AllEqual(const std::vector<double>& x) {
  return std::all_of(x.begin(), x.end(), [&](double v) { return v == x[0]; });
}

// Groups of varying sizes: a singleton, binary mixed, binary all-equal, and
// non-binary (negative, > 1) rewards. Every group but the all-equal ones has
// spread >= 0.3, so std-normalised estimators stay well conditioned.
const Groups kMixed = {
    {0.7},
    {1, 0},
    {0.2, 0.9, 0.4},
    {1, 1, 1, 1, 1},
    {0, 0, 0},
    {0.1, 0.5, 0.5, 0.8, 0.3, 0.05, 0.95, 0.6},
    {-1, 2.5, 0.25, 3},
    {1, 0, 0, 1, 0, 1, 1, 0},
    {1, 1},
};

class EstimatorConformance : public testing::TestWithParam<std::string> {
 protected:
  const EstimatorEntry& entry() const {
    const EstimatorEntry* e = EstimatorRegistry::Get().Find(GetParam());
    EXPECT_NE(e, nullptr);
    return *e;
  }
  // A fresh instance, bound as in training. Estimators that read the exact
  // oracle (needs_task) get a real `choice` task with a pool larger than any
  // batch here (prompt = group index) and its tabular policy; so do those that
  // read a critic's values (needs_values: gae), which in training come from
  // their own critic, learned on the task (the path checked here; gae_test.cc
  // and advantage_test.cc check the unbound one, values from --values). The
  // others stay unbound, as in `advlab advantage`.
  std::unique_ptr<Estimator> Make() const {
    std::unique_ptr<Estimator> e = entry().make();
    if (entry().needs_task || entry().needs_values) {
      if (!task_) {
        config_ = Config::Resolve({{"env.name", "choice"}, {"env.prompts", "64"}});
        task_ = TaskRegistry::Get().Find("choice")->make(config_, 3);
        policy_ = PolicyRegistry::Get().Find("tabular")->make(config_, *task_);
      }
      e->Bind(EstimatorContext{&config_, task_.get(), policy_.get(), 0.0, 0.0});
    }
    return e;
  }
  mutable Config config_;
  mutable std::unique_ptr<Task> task_;
  mutable std::unique_ptr<Policy> policy_;

  // A batch of `groups`. Estimators that read greedy responses (needs_greedy:
  // remax) get one greedy reward per group, here its mean reward: a function of
  // the group, so it follows the group when groups are reordered.
  test_util::HookedBatch MakeBatch(const Groups& groups) const {
    test_util::HookedBatch batch;
    static_cast<Batch&>(batch) = test_util::MakeGroupBatch(groups);
    if (entry().needs_greedy) {
      for (const std::vector<double>& x : groups) {
        double sum = 0.0;
        for (double v : x) sum += v;
        batch.extra.greedy.push_back(sum / static_cast<double>(x.size()));
      }
    }
    return batch;
  }

  // Advantages of a fresh instance on `groups`.
  std::vector<double> Run(const Groups& groups) const {
    test_util::HookedBatch batch = MakeBatch(groups);
    test_util::ComputeWith(*Make(), &batch);
    EXPECT_EQ(batch.advantage.size(), batch.reward.size());
    return ToVector(batch.advantage);
  }
};

TEST_P(EstimatorConformance, EntryIsWellFormed) {
  const EstimatorEntry& e = entry();
  EXPECT_EQ(e.name, GetParam());
  EXPECT_FALSE(e.description.empty());
  EXPECT_EQ(e.description.find('\n'), std::string::npos) << "description must be one line";
  EXPECT_EQ(e.description.find('\r'), std::string::npos) << "description must be one line";
  ASSERT_TRUE(static_cast<bool>(e.make));
  EXPECT_NE(e.make(), nullptr);
}

TEST_P(EstimatorConformance, FillsEveryRolloutWithFiniteValues) {
  test_util::HookedBatch batch = MakeBatch(kMixed);
  batch.advantage.assign(3, std::nan(""));  // stale, wrong size: must be resized
  test_util::ComputeWith(*Make(), &batch);
  ASSERT_EQ(batch.advantage.size(), static_cast<size_t>(batch.num_rollouts()));
  for (int r = 0; r < batch.num_rollouts(); ++r) {
    EXPECT_TRUE(std::isfinite(batch.advantage[r])) << "rollout " << r;
  }
}

TEST_P(EstimatorConformance, WritesOnlyTheAdvantage) {
  test_util::HookedBatch batch = MakeBatch(kMixed);
  const Batch before = batch;
  test_util::ComputeWith(*Make(), &batch);
  EXPECT_EQ(batch.prompt, before.prompt);
  EXPECT_EQ(batch.group_begin, before.group_begin);
  EXPECT_EQ(batch.token_begin, before.token_begin);
  EXPECT_EQ(batch.reward, before.reward);
  EXPECT_EQ(batch.correct, before.correct);
  EXPECT_EQ(batch.truncated, before.truncated);
  EXPECT_EQ(batch.token, before.token);
  EXPECT_EQ(batch.state, before.state);
  EXPECT_EQ(batch.logprob, before.logprob);
}

TEST_P(EstimatorConformance, IsBitDeterministic) {
  const std::vector<double> a = Run(kMixed);
  const std::vector<double> b = Run(kMixed);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i]), std::bit_cast<uint64_t>(b[i])) << "rollout " << i;
  }
}

// Reordering the groups of a batch reorders the advantages with them. A tolerance
// rather than bit equality: an estimator with batch-wide statistics (REINFORCE++
// style whitening) legitimately re-associates its sums.
TEST_P(EstimatorConformance, GroupOrderOnlyPermutes) {
  const std::vector<double> base = Run(kMixed);
  std::vector<size_t> offset(kMixed.size(), 0);
  for (size_t g = 1; g < kMixed.size(); ++g) offset[g] = offset[g - 1] + kMixed[g - 1].size();

  std::vector<std::vector<size_t>> orders;
  std::vector<size_t> order(kMixed.size());
  for (size_t g = 0; g < order.size(); ++g) order[g] = g;
  orders.push_back(std::vector<size_t>(order.rbegin(), order.rend()));
  std::rotate(order.begin(), order.begin() + 3, order.end());
  orders.push_back(order);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 4; ++i) {
    for (size_t j = order.size() - 1; j > 0; --j) std::swap(order[j], order[rng() % (j + 1)]);
    orders.push_back(order);
  }

  for (const std::vector<size_t>& perm : orders) {
    Groups permuted;
    for (size_t g : perm) permuted.push_back(kMixed[g]);
    // Each group keeps its prompt (a prompt-dependent baseline must follow it).
    test_util::HookedBatch batch = MakeBatch(permuted);
    for (size_t k = 0; k < perm.size(); ++k) batch.prompt[k] = static_cast<int32_t>(perm[k]);
    test_util::ComputeWith(*Make(), &batch);
    const auto& a = batch.advantage;
    size_t r = 0;
    for (size_t g : perm) {
      for (size_t i = 0; i < kMixed[g].size(); ++i, ++r) {
        const double want = base[offset[g] + i];
        EXPECT_NEAR(a[r], want, 1e-12 * std::max(1.0, std::abs(want)))
            << "group " << g << " rollout " << i;
      }
    }
  }
}

// Estimators that keep state across Compute calls (a running baseline, ...):
// calling one twice on the same batch legitimately gives different advantages.
const std::set<std::string> kStateful = {
    // Running per-prompt (or global) mean of past rewards, updated every call.
    "ema_baseline",
    // The learned critic takes one SGD step on every call.
    "gae",
    // Per-prompt Beta trackers (spo) and Kalman filters (krpo_persistent).
    "spo",
    "krpo_persistent",
};

Groups RandomGroups(std::mt19937_64& rng, int count) {
  Groups groups;
  for (int g = 0; g < count; ++g) {
    groups.push_back(std::vector<double>(1 + rng() % 6, 0.0));
    for (double& v : groups.back()) v = static_cast<double>(rng() % 5) * 0.25;
  }
  return groups;
}

// A stateless estimator is a pure function of the batch: one instance gives the
// same bits as a fresh one, whatever it computed before. A stateful one (listed
// in kStateful) must instead replay: two fresh instances fed the same sequence
// of batches give the same bits at every step.
TEST_P(EstimatorConformance, IsPureOrReplaysWhenStateful) {
  std::mt19937_64 rng(5);
  std::vector<Groups> steps = {kMixed};
  for (int t = 0; t < 3; ++t) steps.push_back(RandomGroups(rng, 5));
  steps.push_back(kMixed);
  if (kStateful.count(GetParam()) == 0) {
    std::unique_ptr<Estimator> reused = Make();
    for (size_t t = 0; t < steps.size(); ++t) {
      test_util::HookedBatch batch = MakeBatch(steps[t]);
      test_util::ComputeWith(*reused, &batch);
      const std::vector<double> fresh = Run(steps[t]);
      ASSERT_EQ(batch.advantage.size(), fresh.size());
      for (size_t i = 0; i < fresh.size(); ++i) {
        EXPECT_EQ(std::bit_cast<uint64_t>(batch.advantage[i]), std::bit_cast<uint64_t>(fresh[i]))
            << "step " << t << " rollout " << i
            << ": state kept across calls; list the estimator in kStateful if intended";
      }
    }
  } else {
    std::unique_ptr<Estimator> x = Make(), y = Make();
    for (size_t t = 0; t < steps.size(); ++t) {
      test_util::HookedBatch bx = MakeBatch(steps[t]), by = MakeBatch(steps[t]);
      test_util::ComputeWith(*x, &bx);
      test_util::ComputeWith(*y, &by);
      ASSERT_EQ(bx.advantage.size(), by.advantage.size());
      for (size_t i = 0; i < bx.advantage.size(); ++i) {
        EXPECT_EQ(std::bit_cast<uint64_t>(bx.advantage[i]),
                  std::bit_cast<uint64_t>(by.advantage[i]))
            << "step " << t << " rollout " << i;
      }
    }
  }
}

// Group estimators whose all-equal groups legitimately get a non-zero advantage.
// They must still give every rollout of every all-equal binary group one and
// the same value (a batch constant, no per-group leak).
const std::set<std::string> kZeroSignalLeaks = {
    // Batch-wide token-weighted whitening of the centred rewards: a zero-variance
    // group gets -m/std, m the batch's token-weighted mean of the centred values,
    // non-zero when lengths differ or a singleton passes its raw reward
    // (estimators.md §2.8, §11.5; S2 gives +0.038458).
    "reinforce_pp_baseline",
    // The Pass@k Training code's rule on R == 1 / R == 0: any other reward
    // passes through unchanged, so a shift changes which rule applies.
    "passk",
    // verl's epsilon in B_t = sum G W / (sum W + 1e-8): a shift c moves B_t by
    // c (1 - 1e-8 / (sum W + 1e-8)), ~1e-9 c, above this test's 1e-12.
    "optimal_token",
};

TEST_P(EstimatorConformance, AllEqualBinaryGroupIsExactlyZero) {
  if (!entry().needs_groups) GTEST_SKIP() << "not a group estimator";
  const bool leaks = kZeroSignalLeaks.count(GetParam()) > 0;
  Groups groups = kMixed;
  for (int size : {2, 4, 8, 16}) {
    groups.push_back(std::vector<double>(static_cast<size_t>(size), 1.0));
    groups.push_back(std::vector<double>(static_cast<size_t>(size), 0.0));
  }
  const std::vector<double> a = Run(groups);
  bool have_first = false;
  double first = 0.0;
  size_t r = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t i = 0; i < groups[g].size(); ++i, ++r) {
      if (!IsBinaryAllEqual(groups[g])) continue;
      if (!leaks) {
        EXPECT_EQ(a[r], 0.0) << "group " << g << " rollout " << i;
      } else if (!have_first) {
        have_first = true;
        first = a[r];
      } else {
        EXPECT_EQ(a[r], first) << "group " << g << " rollout " << i
                               << ": zero-variance groups must share one batch constant";
      }
    }
  }
}

// Adding c to every reward of a group leaves its advantages unchanged: a group
// estimator only sees rewards relative to its group. Dyadic shifts go on every
// group; non-dyadic ones only on groups with spread, because an all-equal group
// of non-dyadic rewards has an inexact mean and std-normalised estimators then
// turn ~1e-16 of rounding into ~1e-10 (the §12.5 [0.3]*7 trap, not a leak).
const std::set<std::string> kNotShiftInvariant = {
    // Add a group estimator here only with a reason (e.g. a rule on R != 0).
    // alpha = N / #{R_i != 0} over the batch: a shift changes which rewards are
    // zero, so it rescales every group (estimators.md §2.10).
    "gpg",
    // A singleton's centred value is its raw reward (mu = 0) and enters the
    // batch-wide whitening, so shifting it moves every advantage; without
    // singletons it is shift-invariant (static_test.cc checks that).
    "reinforce_pp_baseline",
    // The Beta fit and density read the group means' absolute values (bnpo.h).
    "bnpo",
    // The Pass@k Training code's rule on R == 1 / R == 0: any other reward
    // passes through unchanged, so a shift changes which rule applies.
    "passk",
    // verl's epsilon in B_t = sum G W / (sum W + 1e-8): a shift c moves B_t by
    // c (1 - 1e-8 / (sum W + 1e-8)), ~1e-9 c, above this test's 1e-12.
    "optimal_token",
};

TEST_P(EstimatorConformance, GroupAdvantagesAreShiftInvariant) {
  if (!entry().needs_groups) GTEST_SKIP() << "not a group estimator";
  if (kNotShiftInvariant.count(GetParam()) > 0) GTEST_SKIP() << "documented exception";
  const std::vector<double> base = Run(kMixed);
  for (double c : {0.5, -3.25, 8.0, 0.1, -0.7, 7.3}) {
    const bool dyadic = c == 0.5 || c == -3.25 || c == 8.0;
    // Shift each group alone (the others untouched), then every group at once.
    for (int target = -1; target < static_cast<int>(kMixed.size()); ++target) {
      Groups shifted = kMixed;
      for (size_t g = 0; g < shifted.size(); ++g) {
        if (target >= 0 && static_cast<int>(g) != target) continue;
        if (!dyadic && AllEqual(shifted[g])) continue;
        for (double& v : shifted[g]) v += c;
      }
      const std::vector<double> a = Run(shifted);
      size_t r = 0;
      for (size_t g = 0; g < kMixed.size(); ++g) {
        for (size_t i = 0; i < kMixed[g].size(); ++i, ++r) {
          // A singleton has no group to be relative to: verl passes its raw
          // reward through, so a shift moves it by design.
          if (kMixed[g].size() == 1) continue;
          EXPECT_NEAR(a[r], base[r], 1e-12 * std::max(1.0, std::abs(base[r])))
              << "c=" << c << " target=" << target << " group " << g << " rollout " << i;
        }
      }
    }
  }
}

// The training loop calls Compute once per step on B = 64 groups of G = 8; after
// warm-up (the advantage vector sized, any scratch grown) a step allocates nothing.
TEST_P(EstimatorConformance, ComputeIsAllocationFreeAfterWarmUp) {
  std::mt19937_64 rng(11);
  Groups groups(64, std::vector<double>(8, 0.0));
  for (auto& x : groups) {
    for (double& v : x) v = static_cast<double>(rng() % 2);
  }
  test_util::HookedBatch batch = MakeBatch(groups);
  std::unique_ptr<Estimator> estimator = Make();
  test_util::ComputeWith(*estimator, &batch);
  test_util::ComputeWith(*estimator, &batch);
  for (double& v : batch.reward) v = static_cast<double>(rng() % 2);  // a new step
  g_allocations.store(0);
  g_count_allocations.store(true);
  test_util::ComputeWith(*estimator, &batch);
  g_count_allocations.store(false);
  EXPECT_EQ(g_allocations.load(), 0) << "heap allocations in a warm Compute";
}

std::vector<std::string> RegisteredNames() { return EstimatorRegistry::Get().Names(); }

// The generator runs when tests are registered (in main), after every static
// registration, so estimators from any linked folder are included.
INSTANTIATE_TEST_SUITE_P(
    AllRegistered, EstimatorConformance, testing::ValuesIn(RegisteredNames()),
    [](const testing::TestParamInfo<std::string>& info) {
      std::string id = info.param;  // gtest names allow only [A-Za-z0-9_]
      for (char& ch : id) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return id;
    });

TEST(EstimatorConformanceLists, NameRegisteredEstimators) {
  for (const std::set<std::string>* list : {&kStateful, &kZeroSignalLeaks, &kNotShiftInvariant}) {
    for (const std::string& name : *list) {
      EXPECT_NE(EstimatorRegistry::Get().Find(name), nullptr) << name << " is not registered";
    }
  }
}

TEST(EstimatorRegistryContents, HasTheVerlBasics) {
  for (const char* name : {"reinforce", "grpo", "dr_grpo", "rloo"}) {
    EXPECT_NE(EstimatorRegistry::Get().Find(name), nullptr) << name;
  }
}

}  // namespace
}  // namespace advlab
