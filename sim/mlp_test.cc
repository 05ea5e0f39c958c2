#include "sim/mlp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "sim/dmath.h"
#include "sim/rng.h"

namespace advlab {
namespace {

Mlp::Shape MakeShape(int in, int hidden, int out, int layers, MlpActivation act) {
  Mlp::Shape s;
  s.in = in;
  s.hidden = hidden;
  s.out = out;
  s.layers = layers;
  s.activation = act;
  return s;
}

// One forward: x (mlp.in() values) -> y (mlp.out() values).
std::vector<double> Fwd(Mlp& mlp, const std::vector<double>& x, std::vector<double>* acts_out) {
  std::vector<double> acts(mlp.acts_size(), 0.0), y(mlp.out_pad(), -1.0);
  for (int i = 0; i < mlp.in(); ++i) Mlp::Input(acts.data())[i] = x[i];
  mlp.Forward(acts.data(), y.data());
  for (int k = mlp.out(); k < mlp.out_pad(); ++k) EXPECT_EQ(y[k], 0.0) << "pad lane " << k;
  if (acts_out) *acts_out = acts;
  y.resize(mlp.out());
  return y;
}

// Tiny network, in = 2, hidden = 2, out = 1:
//   W_1 = [[1, -1], [0.5, 2]] ([in][hidden]), b_1 = [0.25, -0.5],
//   (2 layers) W_2 = [[1, -1], [1, 0.5]], b_2 = [-4, 0],
//   W_out = [[2], [-3]], b_out = [0.5].
void SetTiny(Mlp& mlp) {
  double* p = mlp.params();
  const double w1[] = {1, -1, 0.5, 2, 0.25, -0.5};
  const double w2[] = {1, -1, 1, 0.5, -4, 0};
  const double wo[] = {2, -3, 0.5};
  int64_t at = 0;
  for (double v : w1) p[at++] = v;
  if (mlp.layers() == 2) {
    for (double v : w2) p[at++] = v;
  }
  for (double v : wo) p[at++] = v;
  ASSERT_EQ(at, mlp.num_params());
  mlp.ParamsChanged();
}

TEST(Mlp, LayoutMatchesTheDocumentedOrder) {
  Mlp mlp(MakeShape(5, 3, 2, 2, MlpActivation::kTanh));
  EXPECT_EQ(mlp.weight_offset(0), 0);
  EXPECT_EQ(mlp.bias_offset(0), 15);
  EXPECT_EQ(mlp.weight_offset(1), 18);
  EXPECT_EQ(mlp.bias_offset(1), 27);
  EXPECT_EQ(mlp.weight_offset(2), 30);
  EXPECT_EQ(mlp.bias_offset(2), 36);
  EXPECT_EQ(mlp.num_params(), 38);
  EXPECT_EQ(mlp.in_pad(), 8);
  EXPECT_EQ(mlp.hid_pad(), 4);
  EXPECT_EQ(mlp.out_pad(), 4);
  EXPECT_EQ(mlp.acts_size(), 8 + 2 * 4);
}

TEST(Mlp, ForwardOneLayerReluByHand) {
  Mlp mlp(MakeShape(2, 2, 1, 1, MlpActivation::kRelu));
  SetTiny(mlp);
  std::vector<double> acts;
  // pre = [0.25 + 1 + 1, -0.5 - 1 + 4] = [2.25, 2.5]; y = 0.5 + 4.5 - 7.5.
  EXPECT_EQ(Fwd(mlp, {1, 2}, &acts)[0], -2.5);
  EXPECT_EQ(mlp.Hidden(acts.data(), 1)[0], 2.25);
  EXPECT_EQ(mlp.Hidden(acts.data(), 1)[1], 2.5);
  // pre = [0.25 + 1 - 1, -0.5 - 1 - 4] = [0.25, -5.5] -> h = [0.25, +0]; y = 0.5 + 0.5.
  EXPECT_EQ(Fwd(mlp, {1, -2}, &acts)[0], 1.0);
  EXPECT_EQ(mlp.Hidden(acts.data(), 1)[1], 0.0);
  EXPECT_FALSE(std::signbit(mlp.Hidden(acts.data(), 1)[1]));
}

TEST(Mlp, ForwardTwoLayersReluByHand) {
  Mlp mlp(MakeShape(2, 2, 1, 2, MlpActivation::kRelu));
  SetTiny(mlp);
  std::vector<double> acts;
  // h_1 = [2.25, 2.5]; pre_2 = [-4 + 2.25 + 2.5, 0 - 2.25 + 1.25] = [0.75, -1]
  // -> h_2 = [0.75, 0]; y = 0.5 + 1.5.
  EXPECT_EQ(Fwd(mlp, {1, 2}, &acts)[0], 2.0);
  EXPECT_EQ(mlp.Hidden(acts.data(), 2)[0], 0.75);
  EXPECT_EQ(mlp.Hidden(acts.data(), 2)[1], 0.0);
}

TEST(Mlp, ForwardTanhByHand) {
  // The same sums, dm::Tanh on them, in the documented order (bit-exact), and
  // close to libm's tanh.
  Mlp one(MakeShape(2, 2, 1, 1, MlpActivation::kTanh));
  SetTiny(one);
  const double h0 = dm::Tanh(2.25), h1 = dm::Tanh(2.5);
  EXPECT_EQ(Fwd(one, {1, 2}, nullptr)[0], (0.5 + 2.0 * h0) + -3.0 * h1);
  EXPECT_NEAR(Fwd(one, {1, 2}, nullptr)[0],
              0.5 + 2.0 * std::tanh(2.25) - 3.0 * std::tanh(2.5), 1e-14);

  Mlp two(MakeShape(2, 2, 1, 2, MlpActivation::kTanh));
  SetTiny(two);
  const double p0 = (-4.0 + 1.0 * h0) + 1.0 * h1, p1 = (0.0 + -1.0 * h0) + 0.5 * h1;
  const double g0 = dm::Tanh(p0), g1 = dm::Tanh(p1);
  EXPECT_EQ(Fwd(two, {1, 2}, nullptr)[0], (0.5 + 2.0 * g0) + -3.0 * g1);
  const double r0 = std::tanh(2.25), r1 = std::tanh(2.5);
  EXPECT_NEAR(Fwd(two, {1, 2}, nullptr)[0],
              0.5 + 2.0 * std::tanh(-4.0 + r0 + r1) - 3.0 * std::tanh(-r0 + 0.5 * r1), 1e-14);
}

// Random inputs with exact zeros (the skipped terms), a random network and a
// random output gradient per token.
struct Problem {
  std::vector<std::vector<double>> x;   // [token][in]
  std::vector<std::vector<double>> dy;  // [token][out_pad], pad lanes 0
};

double Rand(uint32_t a, uint32_t b) {
  return 2.0 * U01(Philox::Block(a, b, 0, 7, 3, 4).w[0]) - 1.0;
}

Problem MakeProblem(const Mlp& mlp, int tokens) {
  Problem pr;
  for (int t = 0; t < tokens; ++t) {
    std::vector<double> x(mlp.in());
    for (int i = 0; i < mlp.in(); ++i) x[i] = (i + t) % 3 == 2 ? 0.0 : 1.5 * Rand(t, i);
    pr.x.push_back(x);
    std::vector<double> d(mlp.out_pad(), 0.0);
    for (int k = 0; k < mlp.out(); ++k) d[k] = Rand(1000 + t, k);
    pr.dy.push_back(d);
  }
  return pr;
}

// L = sum_t dy_t . y(x_t), in long double.
long double Loss(Mlp& mlp, const Problem& pr) {
  long double f = 0;
  for (size_t t = 0; t < pr.x.size(); ++t) {
    const std::vector<double> y = Fwd(mlp, pr.x[t], nullptr);
    for (int k = 0; k < mlp.out(); ++k) f += static_cast<long double>(pr.dy[t][k]) * y[k];
  }
  return f;
}

// grad (starting from `start`) accumulated over the tokens, in calls of the
// given block sizes (each a BeginGrad .. EndGrad).
std::vector<double> Grad(Mlp& mlp, const Problem& pr, const std::vector<double>& start,
                         const std::vector<int>& calls) {
  std::vector<double> g = start;
  std::vector<std::vector<double>> acts(pr.x.size());
  for (size_t t = 0; t < pr.x.size(); ++t) Fwd(mlp, pr.x[t], &acts[t]);
  size_t t = 0;
  for (int count : calls) {
    mlp.BeginGrad(g.data());
    while (count > 0) {
      const int n = count < Mlp::kBlockTokens ? count : Mlp::kBlockTokens;
      const double* a[Mlp::kBlockTokens];
      const double* d[Mlp::kBlockTokens];
      for (int i = 0; i < n; ++i, ++t) {
        a[i] = acts[t].data();
        d[i] = pr.dy[t].data();
      }
      mlp.Backward(a, d, n);
      count -= n;
    }
    mlp.EndGrad(g.data());
  }
  EXPECT_EQ(t, pr.x.size());
  return g;
}

struct Case {
  int in, hidden, out, layers;
  MlpActivation act;
};

std::string Name(const Case& c) {
  return std::to_string(c.layers) + " x " + std::to_string(c.hidden) +
         (c.act == MlpActivation::kRelu ? " relu" : " tanh") + ", in " + std::to_string(c.in) +
         ", out " + std::to_string(c.out);
}

const Case kCases[] = {
    {5, 6, 1, 1, MlpActivation::kTanh},  {5, 6, 1, 1, MlpActivation::kRelu},
    {5, 6, 3, 2, MlpActivation::kTanh},  {5, 6, 3, 2, MlpActivation::kRelu},
    {7, 8, 4, 1, MlpActivation::kTanh},  {7, 8, 4, 2, MlpActivation::kRelu},  // in place
    {9, 36, 5, 2, MlpActivation::kTanh}, {9, 36, 5, 1, MlpActivation::kRelu},
};

TEST(Mlp, BackwardMatchesCentralDifferences) {
  for (const Case& c : kCases) {
    Mlp mlp(MakeShape(c.in, c.hidden, c.out, c.layers, c.act));
    mlp.InitGlorot(5, Purpose::kInit, 1.0, 1.0);
    double* p = mlp.params();
    for (int l = 0; l <= c.layers; ++l) {  // non-zero biases
      for (int j = 0; j < mlp.fan_out(l); ++j) p[mlp.bias_offset(l) + j] = 0.3 * Rand(77 + l, j);
    }
    mlp.ParamsChanged();
    const Problem pr = MakeProblem(mlp, 11);
    const std::vector<double> g =
        Grad(mlp, pr, std::vector<double>(mlp.num_params(), 0.0), {11});
    const double h = 1e-6;
    for (int64_t i = 0; i < mlp.num_params(); ++i) {
      const double v = p[i];
      p[i] = v + h;
      mlp.ParamsChanged();
      const long double up = Loss(mlp, pr);
      p[i] = v - h;
      mlp.ParamsChanged();
      const long double down = Loss(mlp, pr);
      p[i] = v;
      mlp.ParamsChanged();
      const double fd = static_cast<double>((up - down) / (2 * h));
      EXPECT_NEAR(g[i], fd, 1e-6 + 1e-6 * std::abs(fd)) << Name(c) << ", param " << i;
    }
  }
}

TEST(Mlp, GradientIsOneRunningSumWhateverTheCalls) {
  for (const Case& c : kCases) {
    Mlp mlp(MakeShape(c.in, c.hidden, c.out, c.layers, c.act));
    mlp.InitGlorot(3, Purpose::kInit, 1.0, 0.5);
    const Problem pr = MakeProblem(mlp, 21);
    std::vector<double> start(mlp.num_params());
    for (size_t i = 0; i < start.size(); ++i) start[i] = Rand(500, static_cast<uint32_t>(i));
    const std::vector<double> one = Grad(mlp, pr, start, {21});
    const std::vector<double> split = Grad(mlp, pr, start, {3, 1, 9, 8});
    ASSERT_EQ(one.size(), split.size());
    EXPECT_EQ(std::memcmp(one.data(), split.data(), one.size() * sizeof(double)), 0) << Name(c);
  }
}

TEST(Mlp, InitIsGlorotUniformFromThePurposeTag) {
  Mlp mlp(MakeShape(3, 5, 2, 2, MlpActivation::kTanh));
  mlp.InitGlorot(9, Purpose::kCriticInit, 0.5, 0.0);
  const double* p = mlp.params();
  for (int l = 0; l <= 2; ++l) {
    const double scale = l == 2 ? 0.0 : 0.5;
    const double a = scale * std::sqrt(6.0 / (mlp.fan_in(l) + mlp.fan_out(l)));
    for (int64_t q = mlp.weight_offset(l); q < mlp.bias_offset(l); ++q) {
      const Words4 w = Philox(9).Draw(Purpose::kCriticInit, static_cast<uint32_t>(q / 4), 0, 0);
      const double want = a == 0.0 ? 0.0 : a * (2.0 * U01(w.w[q % 4]) - 1.0);
      EXPECT_EQ(p[q], want) << q;
      if (a > 0) {
        EXPECT_LT(std::abs(p[q]), a);
      } else {
        EXPECT_FALSE(std::signbit(p[q])) << q;  // +0, not a * (-u)
      }
    }
    for (int j = 0; j < mlp.fan_out(l); ++j) EXPECT_EQ(p[mlp.bias_offset(l) + j], 0.0);
  }
}

TEST(Mlp, CopyIsDeep) {
  Mlp a(MakeShape(5, 6, 3, 2, MlpActivation::kTanh));
  a.InitGlorot(1, Purpose::kInit, 1.0, 1.0);
  const std::vector<double> x = {0.5, 0, -1, 0.25, 2};
  const std::vector<double> ya = Fwd(a, x, nullptr);
  Mlp b(a);
  EXPECT_EQ(Fwd(b, x, nullptr), ya);
  b.params()[0] += 1.0;
  b.ParamsChanged();
  EXPECT_NE(Fwd(b, x, nullptr), ya);
  EXPECT_EQ(Fwd(a, x, nullptr), ya);
  Mlp c(MakeShape(1, 1, 1, 1, MlpActivation::kRelu));
  c = a;
  EXPECT_EQ(Fwd(c, x, nullptr), ya);
  Mlp d(std::move(c));
  EXPECT_EQ(Fwd(d, x, nullptr), ya);
}

}  // namespace
}  // namespace advlab
