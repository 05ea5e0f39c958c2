#include "policies/mlp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ios>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policies/tabular.h"
#include "policies/testing.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/loop.h"
#include "sim/rng.h"
#include "sim/task.h"

namespace advlab {
namespace {

// Dense features with some exact zeros (to exercise the skipped terms) and a
// varied prior, as pure functions of the state.
class StubTask : public test_util::PolicyOnlyTask {
 public:
  StubTask(int32_t states, int32_t actions, int32_t features)
      : PolicyOnlyTask(
            states, actions, features,
            [features](int32_t state, double* out) {
              for (int32_t i = 0; i < features; ++i) {
                const uint32_t w = Philox::Block(static_cast<uint32_t>(state),
                                                 static_cast<uint32_t>(i), 0, 99, 1, 2)
                                       .w[0];
                out[i] = (i + state) % 4 == 3 ? 0.0 : 2.0 * U01(w) - 1.0;
              }
            },
            [actions](int32_t state, double* logits) {
              for (int32_t k = 0; k < actions; ++k) {
                logits[k] = 0.25 * ((state * 7 + k * 3) % 5) - 0.5;
              }
            }) {}
};

Batch MakeBatch(const std::vector<std::pair<int, int>>& state_token) {
  return test_util::MakeTokenBatch(state_token);
}

MlpPolicy::Options Opts(int hidden, int layers, MlpPolicy::Activation act, double init_scale,
                        double out_init_scale, uint64_t seed) {
  MlpPolicy::Options o;
  o.hidden = hidden;
  o.layers = layers;
  o.activation = act;
  o.init_scale = init_scale;
  o.out_init_scale = out_init_scale;
  o.seed = seed;
  return o;
}

// Independent reference: the network in long double with libm, read straight
// from the documented parameter layout. Returns log pi(. | s); pre-activations
// of every hidden unit go to *pre (if given).
std::vector<long double> RefLogProbs(const MlpPolicy& pol, const std::vector<double>& params,
                                     const Task& task, int s, std::vector<long double>* pre) {
  const int in = task.feature_dim(), H = pol.hidden(), A = task.num_actions(), L = pol.layers();
  std::vector<double> x(in), prior(A);
  task.Features(s, x.data());
  task.InitialLogits(s, prior.data());
  std::vector<long double> h(x.begin(), x.end());
  auto offset = [&](int l) {  // recomputed from the documented layout
    int64_t o = 0;
    for (int k = 0; k < l; ++k) {
      const int fi = k == 0 ? in : H, fo = k == L ? A : H;
      o += int64_t{fi} * fo + fo;
    }
    return o;
  };
  for (int l = 0; l <= L; ++l) {
    const int fi = l == 0 ? in : H, fo = l == L ? A : H;
    const double* w = params.data() + offset(l);
    const double* b = w + int64_t{fi} * fo;
    std::vector<long double> out(fo);
    for (int j = 0; j < fo; ++j) {
      long double acc = b[j];
      for (int i = 0; i < fi; ++i) acc += static_cast<long double>(w[i * fo + j]) * h[i];
      out[j] = acc;
    }
    if (l < L) {
      for (int j = 0; j < fo; ++j) {
        if (pre) pre->push_back(out[j]);
        out[j] = pol.activation() == MlpPolicy::Activation::kRelu ? (out[j] > 0 ? out[j] : 0.0L)
                                                                  : std::tanh(out[j]);
      }
    } else {
      for (int k = 0; k < fo; ++k) out[k] += prior[k];
    }
    h = out;
  }
  long double m = h[0];
  for (int k = 1; k < A; ++k) m = std::max(m, h[k]);
  long double sum = 0;
  for (int k = 0; k < A; ++k) sum += std::exp(h[k] - m);
  std::vector<long double> lp(A);
  for (int k = 0; k < A; ++k) lp[k] = h[k] - m - std::log(sum);
  return lp;
}

long double Objective(const MlpPolicy& pol, const std::vector<double>& params, const Task& task,
                      const Batch& b, const double* coef) {
  long double f = 0;
  for (int t = 0; t < b.num_tokens(); ++t) {
    f += coef[t] * RefLogProbs(pol, params, task, b.state[t], nullptr)[b.token[t]];
  }
  return f;
}

std::vector<uint8_t> Bytes(const double* p, size_t n) {
  std::vector<uint8_t> out(n * sizeof(double));
  std::memcpy(out.data(), p, out.size());
  return out;
}

struct Arch {
  int layers;
  MlpPolicy::Activation act;
  const char* name;
};
const Arch kArchs[] = {{1, MlpPolicy::Activation::kTanh, "1 x tanh"},
                       {2, MlpPolicy::Activation::kTanh, "2 x tanh"},
                       {1, MlpPolicy::Activation::kRelu, "1 x relu"},
                       {2, MlpPolicy::Activation::kRelu, "2 x relu"}};

// actions = 3: the padded layout; 4: parameters used in place (mlp.cc).
class MlpGradientTest : public ::testing::TestWithParam<int> {};

TEST_P(MlpGradientTest, MatchesCentralFiniteDifferences) {
  const StubTask task(/*states=*/4, /*actions=*/GetParam(), /*features=*/5);
  for (const Arch& arch : kArchs) {
    SCOPED_TRACE(arch.name);
    MlpPolicy pol(task, Opts(/*hidden=*/4, arch.layers, arch.act, 1.0, 1.0, /*seed=*/3));
    // Non-zero biases too, so that every parameter matters.
    for (int l = 0; l <= pol.layers(); ++l) {
      for (int j = 0; j < pol.fan_out(l); ++j) pol.bias(l)(j) = 0.1 * (j + 1) - 0.05 * l;
    }
    pol.ParamsChanged();
    const std::vector<double> theta(pol.params(), pol.params() + pol.num_params());

    // The policy's distribution matches the reference; relu units are away from
    // the kink (so finite differences see a smooth function).
    bool active = false, inactive = false;
    for (int s = 0; s < task.num_states(); ++s) {
      std::vector<long double> pre;
      const std::vector<long double> lp = RefLogProbs(pol, theta, task, s, &pre);
      for (int k = 0; k < task.num_actions(); ++k) {
        EXPECT_NEAR(pol.LogProbs(s)[k], static_cast<double>(lp[k]), 1e-14);
        EXPECT_NEAR(pol.Probs(s)[k], static_cast<double>(std::exp(lp[k])), 1e-14);
      }
      for (long double v : pre) {
        ASSERT_GT(std::fabs(v), 1e-3L) << "pre-activation near the relu kink; pick another seed";
        (v > 0 ? active : inactive) = true;
      }
    }
    EXPECT_TRUE(active && inactive);

    const Batch b = MakeBatch({{0, 1}, {2, 0}, {0, 1}, {3, 2}, {1, 2}, {2, 2}, {0, 0}, {3, 1}});
    const double coef[] = {0.7, -1.3, 0.25, -0.4, 2.0, 0.0, -0.9, 1.1};
    SparseGrad g;
    g.Init(pol.num_params(), pol.grad_block_size());
    pol.AccumulateGrad(b, coef, &g);
    ASSERT_EQ(g.touched.size(), 1u);

    double max_abs = 0;
    for (int64_t i = 0; i < pol.num_params(); ++i) {
      const double h = 1e-6;
      std::vector<double> tp = theta, tm = theta;
      tp[i] += h;
      tm[i] -= h;
      const double fd = static_cast<double>(
          (Objective(pol, tp, task, b, coef) - Objective(pol, tm, task, b, coef)) /
          (tp[i] - tm[i]));
      EXPECT_NEAR(g.value[i], fd, 1e-8 * std::max(1.0, std::fabs(fd))) << "param " << i;
      max_abs = std::max(max_abs, std::fabs(g.value[i]));
    }
    EXPECT_GT(max_abs, 0.1);
    // Every layer's weights receive gradient (nothing is silently dropped).
    for (int l = 0; l <= pol.layers(); ++l) {
      double sq = 0;
      for (int64_t i = pol.weight_offset(l); i < pol.bias_offset(l); ++i)
        sq += g.value[i] * g.value[i];
      EXPECT_GT(sq, 0.0) << "layer " << l;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Actions, MlpGradientTest, ::testing::Values(3, 4));

TEST(MlpTest, InitialPolicyIsThePriorBitForBit) {
  const StubTask task(50, 7, 9);
  TabularPolicy tab = TabularPolicy::FromTask(task);
  for (const Arch& arch : kArchs) {
    SCOPED_TRACE(arch.name);
    MlpPolicy mlp(task, Opts(16, arch.layers, arch.act, 1.0, 0.0, 5));
    for (int l = 0; l <= mlp.layers(); ++l) EXPECT_EQ(mlp.bias(l).norm(), 0.0);
    EXPECT_EQ(mlp.weight(mlp.layers()).norm(), 0.0);
    EXPECT_GT(mlp.weight(0).norm(), 0.0);
    for (int s = 0; s < task.num_states(); ++s) {
      EXPECT_EQ(Bytes(mlp.Probs(s), 7), Bytes(tab.Probs(s), 7)) << "state " << s;
      EXPECT_EQ(Bytes(mlp.LogProbs(s), 7), Bytes(tab.LogProbs(s), 7)) << "state " << s;
    }
  }
}

// The registered factory on the registered task families that have features.
TEST(MlpTest, FactoryOnRegisteredTasksStartsAtThePrior) {
  for (const std::string env : {"choice", "chain", "think"}) {
    SCOPED_TRACE(env);
    const Config c =
        Config::Resolve({{"env.name", env}, {"policy.kind", "mlp"}, {"env.prompts", "64"}});
    const TaskEntry* te = TaskRegistry::Get().Find(env);
    ASSERT_NE(te, nullptr);
    std::unique_ptr<Task> task = te->make(c, 7);
    if (task->feature_dim() == 0) continue;
    std::unique_ptr<Policy> mlp = PolicyRegistry::Get().Find("mlp")->make(c, *task);
    TabularPolicy tab = TabularPolicy::FromTask(*task);
    const int K = task->num_actions();
    for (int s = 0; s < task->num_states(); ++s) {
      ASSERT_EQ(Bytes(mlp->Probs(s), K), Bytes(tab.Probs(s), K)) << "state " << s;
    }
  }
}

TEST(MlpTest, SameConfigSameBits) {
  const StubTask task(40, 5, 12);
  for (const Arch& arch : kArchs) {
    SCOPED_TRACE(arch.name);
    const MlpPolicy::Options o = Opts(20, arch.layers, arch.act, 1.0, 0.7, 11);
    MlpPolicy p1(task, o), p2(task, o);
    ASSERT_EQ(p1.num_params(), p2.num_params());
    EXPECT_EQ(Bytes(p1.params(), p1.num_params()), Bytes(p2.params(), p2.num_params()));
    for (int s = 0; s < 40; ++s) EXPECT_EQ(Bytes(p1.Probs(s), 5), Bytes(p2.Probs(s), 5));
    // A different seed gives different parameters.
    MlpPolicy p3(task, Opts(20, arch.layers, arch.act, 1.0, 0.7, 12));
    EXPECT_NE(Bytes(p1.params(), p1.num_params()), Bytes(p3.params(), p3.num_params()));
  }
}

// (hidden, actions) = (20, 5): the padded layout; (8, 8): in place.
class MlpSplitTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(MlpSplitTest, SplitAccumulationEqualsOneCall) {
  const auto [hidden, actions] = GetParam();
  const StubTask task(40, actions, 12);
  std::vector<std::pair<int, int>> st;
  std::vector<double> coef;
  for (int t = 0; t < 45; ++t) {
    st.push_back({(t * 13) % 40, (t * 7) % actions});
    coef.push_back(t % 6 == 5 ? 0.0 : 0.3 * ((t % 5) - 2) + 0.01 * t);
  }
  const Batch all = MakeBatch(st);
  for (const Arch& arch : kArchs) {
    SCOPED_TRACE(arch.name);
    MlpPolicy pol(task, Opts(hidden, arch.layers, arch.act, 1.0, 0.7, 11));
    SparseGrad one;
    one.Init(pol.num_params(), pol.grad_block_size());
    pol.AccumulateGrad(all, coef.data(), &one);
    for (int split : {1, 5, 8, 13, 44}) {
      SparseGrad two;
      two.Init(pol.num_params(), pol.grad_block_size());
      const Batch head = MakeBatch({st.begin(), st.begin() + split});
      const Batch tail = MakeBatch({st.begin() + split, st.end()});
      pol.AccumulateGrad(head, coef.data(), &two);
      pol.AccumulateGrad(tail, coef.data() + split, &two);
      EXPECT_EQ(Bytes(one.value.data(), one.value.size()),
                Bytes(two.value.data(), two.value.size()))
          << "split at " << split;
    }
    // Token by token, too.
    SparseGrad each;
    each.Init(pol.num_params(), pol.grad_block_size());
    for (size_t t = 0; t < st.size(); ++t) pol.AccumulateGrad(MakeBatch({st[t]}), &coef[t], &each);
    EXPECT_EQ(Bytes(one.value.data(), one.value.size()),
              Bytes(each.value.data(), each.value.size()));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MlpSplitTest,
                         ::testing::Values(std::pair{20, 5}, std::pair{8, 8}));

TEST(MlpTest, ZeroCoefficientsLeaveTheGradientAlone) {
  const StubTask task(4, 3, 5);
  MlpPolicy pol(task, Opts(4, 1, MlpPolicy::Activation::kTanh, 1.0, 1.0, 1));
  SparseGrad g;
  g.Init(pol.num_params(), pol.grad_block_size());
  const double coef[] = {0.0, 0.0};
  pol.AccumulateGrad(MakeBatch({{0, 1}, {2, 2}}), coef, &g);
  EXPECT_TRUE(g.touched.empty());
  for (double v : g.value) EXPECT_EQ(v, 0.0);
}

TEST(MlpTest, ProbsFollowParameterUpdates) {
  const StubTask task(100, 6, 8);  // > 64 states: records span several chunks
  MlpPolicy pol(task, Opts(12, 2, MlpPolicy::Activation::kTanh, 1.0, 0.5, 2));
  const double* p0 = pol.Probs(0);
  const std::vector<uint8_t> before = Bytes(p0, 6);
  for (int s = 1; s < 100; ++s) pol.Probs(s);
  EXPECT_EQ(pol.Probs(0), p0);  // cached: same pointer, same bits
  EXPECT_EQ(Bytes(p0, 6), before);

  pol.params()[pol.bias_offset(pol.layers()) + 2] += 0.5;  // raises logit 2 everywhere
  pol.ParamsChanged();
  const double p_after = pol.Probs(0)[2];
  double p_before;
  std::memcpy(&p_before, before.data() + 2 * sizeof(double), sizeof(double));
  EXPECT_GT(p_after, p_before);
  // Same bits as a fresh policy holding the same parameters.
  MlpPolicy fresh(task, Opts(12, 2, MlpPolicy::Activation::kTanh, 1.0, 0.5, 2));
  std::memcpy(fresh.params(), pol.params(), pol.num_params() * sizeof(double));
  fresh.ParamsChanged();
  for (int s = 0; s < 100; ++s) EXPECT_EQ(Bytes(pol.Probs(s), 6), Bytes(fresh.Probs(s), 6));

  // BlocksChanged invalidates every state as well.
  pol.params()[0] += 0.25;
  SparseGrad g;
  g.Init(pol.num_params(), pol.grad_block_size());
  g.Touch(0);
  pol.BlocksChanged(g);
  std::memcpy(fresh.params(), pol.params(), pol.num_params() * sizeof(double));
  fresh.ParamsChanged();
  for (int s = 0; s < 100; ++s) EXPECT_EQ(Bytes(pol.Probs(s), 6), Bytes(fresh.Probs(s), 6));
}

TEST(MlpTest, InitFollowsTheDocumentedScheme) {
  const StubTask task(2, 16, 32);
  const double init_scale = 2.0, out_scale = 0.5;
  MlpPolicy pol(task, Opts(64, 2, MlpPolicy::Activation::kTanh, init_scale, out_scale, 9));
  EXPECT_EQ(pol.num_params(), 32 * 64 + 64 + 64 * 64 + 64 + 64 * 16 + 16);
  const Philox rng(9);
  for (int l = 0; l <= pol.layers(); ++l) {
    SCOPED_TRACE(l);
    const double a = (l == pol.layers() ? out_scale : init_scale) *
                     std::sqrt(6.0 / (pol.fan_in(l) + pol.fan_out(l)));
    double sum = 0, sq = 0;
    const int64_t n = pol.bias_offset(l) - pol.weight_offset(l);
    for (int64_t p = pol.weight_offset(l); p < pol.bias_offset(l); ++p) {
      const double w = pol.params()[p];
      ASSERT_GT(w, -a);
      ASSERT_LT(w, a);
      const double expect = a * (2.0 * U01(rng.Draw(Purpose::kInit, p / 4, 0, 0).w[p % 4]) - 1.0);
      ASSERT_EQ(w, expect) << "param " << p;
      sum += w;
      sq += w * w;
    }
    const double mean = sum / n, var = sq / n - mean * mean;
    EXPECT_LT(std::fabs(mean), 4.0 * a / std::sqrt(3.0 * n));  // 4 standard errors
    EXPECT_NEAR(var, a * a / 3.0, 0.1 * a * a / 3.0);
    for (int j = 0; j < pol.fan_out(l); ++j) EXPECT_EQ(pol.bias(l)(j), 0.0);
  }
  // out_init_scale = 0: the output weights are +0 exactly.
  MlpPolicy zero(task, Opts(64, 1, MlpPolicy::Activation::kTanh, 1.0, 0.0, 9));
  for (int64_t p = zero.weight_offset(1); p < zero.num_params(); ++p) {
    ASSERT_EQ(Bytes(zero.params() + p, 1), Bytes(std::vector<double>{0.0}.data(), 1));
  }
  // Eigen views agree with the documented layout.
  EXPECT_EQ(pol.weight(1)(3, 5), pol.params()[pol.weight_offset(1) + 3 * 64 + 5]);
}

TEST(MlpTest, EntropyAndLogProbsAgreeWithProbs) {
  const StubTask task(20, 9, 6);
  for (const Arch& arch : kArchs) {
    SCOPED_TRACE(arch.name);
    MlpPolicy pol(task, Opts(10, arch.layers, arch.act, 1.5, 1.0, 4));
    for (int s = 0; s < 20; ++s) {
      const double* p = pol.Probs(s);
      const double* lp = pol.LogProbs(s);
      double sum = 0, h = 0;
      for (int k = 0; k < 9; ++k) {
        EXPECT_NEAR(std::exp(lp[k]), p[k], 1e-15);
        sum += p[k];
        h -= p[k] * std::log(p[k]);
      }
      EXPECT_NEAR(sum, 1.0, 1e-15);
      EXPECT_NEAR(pol.Entropy(s), h, 1e-14);
    }
  }
}

TEST(MlpTest, TaskWithoutFeaturesIsRefused) {
  const StubTask task(10, 3, /*features=*/0);
  const Config c = Config::Resolve({{"policy.kind", "mlp"}, {"env.name", "choice"}});
  try {
    PolicyRegistry::Get().Find("mlp")->make(c, task);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "policy.kind = mlp needs the task's feature vectors; env.name = choice provides none; "
        "allowed: policy.kind = tabular");
  }
}

TEST(MlpTest, BadKeysAreRefusedNamingTheKey) {
  const std::map<std::string, std::string> bad[] = {
      {{"policy.hidden", "0"}},           {{"policy.hidden", "-3"}},
      {{"policy.layers", "3"}},           {{"policy.layers", "0"}},
      {{"policy.activation", "sigmoid"}}, {{"policy.init_scale", "-1"}},
      {{"policy.out_init_scale", "-0.5"}}};
  for (const auto& kv : bad) {
    const std::string key = kv.begin()->first;
    try {
      Config::Resolve(kv);
      FAIL() << key << " = " << kv.begin()->second << " was accepted";
    } catch (const UserError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(key), std::string::npos) << msg;
      EXPECT_NE(msg.find("allowed"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  // The defaults, and "mlp" is a policy.kind choice.
  const Config c = Config::Resolve({{"policy.kind", "mlp"}});
  EXPECT_EQ(c.Int("policy.hidden"), 64);
  EXPECT_EQ(c.Int("policy.layers"), 1);
  EXPECT_EQ(c.Str("policy.activation"), "tanh");
  EXPECT_EQ(c.Float("policy.init_scale"), 1.0);
  EXPECT_EQ(c.Float("policy.out_init_scale"), 0.0);
}

uint64_t Hash(uint64_t h, const void* p, size_t n) {  // FNV-1a over bytes
  const unsigned char* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Probs, LogProbs and Entropy of 150 states and a 300-token AccumulateGrad, over
// three rounds of updates; arch bit 0 = relu, bit 1 = two layers, bit 2 = a
// shape used in place (hidden 48, 12 actions; else 45 and 11: padded).
uint64_t Digest(int arch) {
  const int actions = arch & 4 ? 12 : 11;
  const StubTask task(150, actions, 37);
  MlpPolicy::Options o;
  o.hidden = arch & 4 ? 48 : 45;
  o.layers = arch & 2 ? 2 : 1;
  o.activation = arch & 1 ? MlpPolicy::Activation::kRelu : MlpPolicy::Activation::kTanh;
  o.init_scale = 1.3;
  o.out_init_scale = 0.8;
  o.seed = 12345;
  MlpPolicy pol(task, o);
  uint64_t h = 0xcbf29ce484222325ULL;
  Batch b;
  b.Clear();
  std::vector<double> coef;
  for (int t = 0; t < 300; ++t) {
    b.state.push_back((t * 37) % 150);
    b.token.push_back((t * 5) % actions);
    b.logprob.push_back(0.0);
    b.token_begin.push_back(t + 1);
    coef.push_back(t % 7 == 3 ? 0.0 : 0.01 * ((t % 9) - 4));
  }
  SparseGrad g;
  g.Init(pol.num_params(), pol.grad_block_size());
  for (int round = 0; round < 3; ++round) {
    for (int s = 0; s < 150; ++s) {
      h = Hash(h, pol.Probs(s), actions * sizeof(double));
      h = Hash(h, pol.LogProbs(s), actions * sizeof(double));
      const double e = pol.Entropy(s);
      h = Hash(h, &e, sizeof e);
    }
    g.Clear();
    pol.AccumulateGrad(b, coef.data(), &g);
    h = Hash(h, g.value.data(), g.value.size() * sizeof(double));
    for (int64_t i = 0; i < pol.num_params(); ++i) pol.params()[i] -= 0.5 * g.value[i];
    pol.ParamsChanged();
  }
  return Hash(h, pol.params(), pol.num_params() * sizeof(double));
}

// Golden digests of our implementation: every build (gcc -O0/-O2/-O3, with or
// without -mavx2 / x86-64-v4, multiversioned or not, clang -O0/-O2) gives these
// bits. A change here changes results.
TEST(MlpTest, PinnedDigest) {
  const uint64_t kGolden[8] = {0xea63004a75e626beULL, 0x6e193873127d9f1eULL, 0xf50f0b3c8af9d6abULL,
                               0x83f928254db9271aULL, 0xa3f9d475066a9d29ULL, 0x09e9cbdb69c51fe2ULL,
                               0x702def8bc4ed289eULL, 0x86ea3e9fd8cb5769ULL};
  for (int arch = 0; arch < 8; ++arch) {
    const uint64_t h = Digest(arch);
    EXPECT_EQ(h, kGolden[arch]) << "arch " << arch << ": 0x" << std::hex << h;
  }
}

// The policy inside the training loop: learns, and two runs are bit-identical.
TEST(MlpTest, TrainsInTheLoopReproducibly) {
  for (const std::string env : {"chain", "choice"}) {
    SCOPED_TRACE(env);
    const RunConfig rc =
        RunConfig::FromConfig(Config::Resolve({{"env.name", env},
                                               {"env.prompts", "64"},
                                               {"policy.kind", "mlp"},
                                               {"policy.hidden", "16"},
                                               {"optim.name", "adam"},
                                               {"optim.lr", "0.03"},
                                               {"train.batch_prompts", "16"},
                                               {"train.steps", "80"},
                                               {"train.eval_every", "40"},
                                               {"diagnostics.exact_gradient", "true"},
                                               {"diagnostics.samples", "2"}}));
    const RunRecord r1 = TrainRun(rc);
    const RunRecord r2 = TrainRun(rc);
    ASSERT_EQ(r1.values.size(), r2.values.size());
    EXPECT_EQ(Bytes(r1.values.data(), r1.values.size()), Bytes(r2.values.data(), r2.values.size()));
    const size_t evals = rc.EvalSteps().size();
    const double first = r1.values[0], last = r1.values[evals - 1];  // accuracy row
    EXPECT_GT(last, first + 0.02) << "accuracy " << first << " -> " << last;
  }
}

}  // namespace
}  // namespace advlab
