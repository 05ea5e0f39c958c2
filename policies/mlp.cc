#include "policies/mlp.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/dmath.h"
#include "sim/error.h"
#include "sim/features.h"
#include "sim/rng.h"
#include "sim/softmax.h"
#include "sim/task.h"

namespace advlab {

static constexpr EnumName<MlpPolicy::Activation> kActivationNames[] = {
    {"tanh", MlpPolicy::Activation::kTanh},
    {"relu", MlpPolicy::Activation::kRelu},
};

namespace {

// policy.hidden and policy.activation also shape gae's mlp critic (gae.cc reads
// both when it builds one): read under policy.kind = mlp, and under gae with
// estimator.critic = mlp whatever the policy (critic = auto is mlp only under an
// mlp policy, which the first test already covers).
KeyUse UsedByMlpPolicyOrCritic() {
  KeyUse u = UsedWhen("policy.kind", {"mlp"});
  u.when += ", or estimator.name has gae with estimator.critic = mlp";
  u.test = [mlp = u.test, gae = UsedWithEstimator("gae").test](const Config& c) {
    return mlp(c) || (gae(c) && c.Str("estimator.critic") == "mlp");
  };
  return u;
}

}  // namespace

ADVLAB_REGISTER_KEY(policy_hidden, KeySpec{.name = "policy.hidden",
                                           .type = KeyType::kInt,
                                           .default_value = "64",
                                           .help = "mlp: hidden units per layer",
                                           .min = 1,
                                           .max = 1e6,
                                           .used_by = UsedByMlpPolicyOrCritic()});
ADVLAB_REGISTER_KEY(policy_layers, KeySpec{.name = "policy.layers",
                                           .type = KeyType::kInt,
                                           .default_value = "1",
                                           .help = "mlp: hidden layers",
                                           .min = 1,
                                           .max = 2,
                                           .used_by = UsedWhen("policy.kind", {"mlp"})});
ADVLAB_REGISTER_KEY(policy_activation,
                    KeySpec{.name = "policy.activation",
                            .type = KeyType::kString,
                            .default_value = "tanh",
                            .help = "mlp: hidden activation (tanh is the in-house dm::Tanh)",
                            .choices = EnumNames(kActivationNames),
                            .used_by = UsedByMlpPolicyOrCritic()});
ADVLAB_REGISTER_KEY(policy_init_scale,
                    KeySpec{.name = "policy.init_scale",
                            .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "mlp: scales the Glorot-uniform init range of the hidden "
                                    "layers",
                            .min = 0,
                            .max = 1e300,
                            .used_by = UsedWhen("policy.kind", {"mlp"})});
ADVLAB_REGISTER_KEY(policy_out_init_scale,
                    KeySpec{.name = "policy.out_init_scale",
                            .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "mlp: scales the Glorot-uniform init range of the output layer "
                                    "(0: the initial policy is the task's prior)",
                            .min = 0,
                            .max = 1e300,
                            .used_by = UsedWhen("policy.kind", {"mlp"})});

namespace {

constexpr int kAlign = 64;       // bytes, for every padded buffer
constexpr int kBlockTokens = 8;  // tokens per backward block
constexpr int kMaxLayers = 2;

int Pad4(int n) { return (n + 3) & ~3; }

double* AllocAligned(int64_t n) {
  double* p = static_cast<double*>(
      ::operator new[](static_cast<size_t>(n) * sizeof(double), std::align_val_t{kAlign}));
  for (int64_t i = 0; i < n; ++i) p[i] = 0.0;
  return p;
}
void FreeAligned(double* p) { ::operator delete[](p, std::align_val_t{kAlign}); }

// A zero-initialised, 64-byte aligned array of doubles.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(int64_t n) : data_(n > 0 ? AllocAligned(n) : nullptr), size_(n) {}
  ~Buffer() {
    if (data_) FreeAligned(data_);
  }
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      if (data_) FreeAligned(data_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  double* data() { return data_; }
  const double* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  double* data_ = nullptr;
  int64_t size_ = 0;
};

// ---------------------------------------------------------------------------
// Kernels. V4 is a group of 4 lanes (GCC/clang vector extension: element-wise
// IEEE operations, no contraction under -ffp-contract=off; one AVX2 instruction,
// or two SSE2 ones in the baseline clone). Lanes are always 4 independent output
// elements; every reduction runs over rows (inputs, tokens) in order, one row at
// a time, so the bits do not depend on the vector width. Lane counts are padded
// to multiples of 4 and split into chunks of 8, 4, 2, 1 vectors whose
// accumulators stay in registers for a whole reduction (8 vectors: enough
// independent chains to hide the add latency).
// ---------------------------------------------------------------------------

// The V4 helpers are always inlined: their ABI never matters.
#if defined(__clang__)
#if __has_warning("-Wpsabi")
#pragma clang diagnostic ignored "-Wpsabi"
#endif
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef double V4 __attribute__((vector_size(32)));
typedef int64_t V4i __attribute__((vector_size(32)));

ADVLAB_FORCEINLINE V4 Load4(const double* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
ADVLAB_FORCEINLINE void Store4(double* p, const V4& v) { std::memcpy(p, &v, sizeof v); }
ADVLAB_FORCEINLINE V4 Splat(double x) { return V4{x, x, x, x}; }
// keep ? a : +0, lane by lane.
ADVLAB_FORCEINLINE V4 KeepIf(const V4i& keep, const V4& a) {
  return reinterpret_cast<V4>(reinterpret_cast<V4i>(a) & keep);
}

// out[j] = init[j] + sum_i M[i * ld + j] * v[i], over 4 kV lanes, i running
// over rows[0 .. m-1] in order (kListed: the listed rows, ascending; else
// rows 0 .. m-1).
template <int kV, bool kListed>
ADVLAB_FORCEINLINE void MatVecChunk(const double* ADVLAB_RESTRICT m_ptr, int64_t ld, int m,
                                    const int32_t* ADVLAB_RESTRICT rows,
                                    const double* ADVLAB_RESTRICT v,
                                    const double* ADVLAB_RESTRICT init,
                                    double* ADVLAB_RESTRICT out) {
  V4 acc[kV];
#pragma GCC unroll 8
  for (int j = 0; j < kV; ++j) acc[j] = Load4(init + 4 * j);
  for (int r = 0; r < m; ++r) {
    const int64_t i = kListed ? rows[r] : r;
    const V4 b = Splat(v[i]);
    const double* ADVLAB_RESTRICT row = m_ptr + i * ld;
#pragma GCC unroll 8
    for (int j = 0; j < kV; ++j) acc[j] += Load4(row + 4 * j) * b;
  }
#pragma GCC unroll 8
  for (int j = 0; j < kV; ++j) Store4(out + 4 * j, acc[j]);
}

// As MatVecChunk over n lanes (n a multiple of 4).
template <bool kListed>
ADVLAB_FORCEINLINE void MatVec(const double* m_ptr, int64_t ld, int m, const int32_t* rows,
                               const double* v, const double* init, double* out, int n) {
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    MatVecChunk<8, kListed>(m_ptr + j, ld, m, rows, v, init + j, out + j);
  }
  if (n - j >= 16) {
    MatVecChunk<4, kListed>(m_ptr + j, ld, m, rows, v, init + j, out + j);
    j += 16;
  }
  if (n - j >= 8) {
    MatVecChunk<2, kListed>(m_ptr + j, ld, m, rows, v, init + j, out + j);
    j += 8;
  }
  if (n - j >= 4) MatVecChunk<1, kListed>(m_ptr + j, ld, m, rows, v, init + j, out + j);
}

// G[i * ld + j] += a[t][i] * d[t][j + d_off] for t = 0 .. T-1 in order, rows i
// in [0, m), 4 kV lanes; kR rows at a time (independent accumulators). Each
// element is updated token by token, so the result does not depend on how
// tokens are grouped into blocks or calls. kSkip: terms with a[t][i] == 0 are
// skipped (kR must be 1).
template <int kV, int kR, bool kSkip>
ADVLAB_FORCEINLINE void OuterChunk(double* ADVLAB_RESTRICT g, int64_t ld, int i0, int m,
                                   const double* const* a, const double* const* d, int64_t d_off,
                                   int num_tokens) {
  static_assert(!kSkip || kR == 1, "the skip is per row");
  for (int i = i0; i + kR <= m; i += kR) {
    if (kSkip) {  // a row no token uses is not touched at all (one-hot features)
      bool used = false;
      for (int t = 0; t < num_tokens; ++t) used |= a[t][i] != 0.0;
      if (!used) continue;
    }
    V4 acc[kR][kV];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
      for (int j = 0; j < kV; ++j) acc[r][j] = Load4(g + (i + r) * ld + 4 * j);
    }
    for (int t = 0; t < num_tokens; ++t) {
      const double* ADVLAB_RESTRICT at = a[t] + i;
      const double* ADVLAB_RESTRICT dt = d[t] + d_off;
      if (kSkip && at[0] == 0.0) continue;
      V4 dv[kV];
#pragma GCC unroll 8
      for (int j = 0; j < kV; ++j) dv[j] = Load4(dt + 4 * j);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        const V4 b = Splat(at[r]);
#pragma GCC unroll 8
        for (int j = 0; j < kV; ++j) acc[r][j] += b * dv[j];
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
      for (int j = 0; j < kV; ++j) Store4(g + (i + r) * ld + 4 * j, acc[r][j]);
    }
  }
}

// Rows [0, m) of G over n lanes; kR = 2 rows at a time for narrow chunks
// (more independent accumulators), 1 where rows are skipped.
template <int kV, bool kSkip>
ADVLAB_FORCEINLINE void OuterLanes(double* g, int64_t ld, int m, const double* const* a,
                                   const double* const* d, int64_t d_off, int num_tokens) {
  if (kSkip || kV >= 8) {
    OuterChunk<kV, 1, kSkip>(g, ld, 0, m, a, d, d_off, num_tokens);
  } else {
    OuterChunk<kV, 2, false>(g, ld, 0, m, a, d, d_off, num_tokens);
    if (m % 2) OuterChunk<kV, 1, false>(g, ld, m - 1, m, a, d, d_off, num_tokens);
  }
}

template <bool kSkip>
ADVLAB_FORCEINLINE void Outer(double* g, int64_t ld, int m, const double* const* a,
                              const double* const* d, int num_tokens, int n) {
  int j = 0;
  for (; j + 32 <= n; j += 32) OuterLanes<8, kSkip>(g + j, ld, m, a, d, j, num_tokens);
  if (n - j >= 16) {
    OuterLanes<4, kSkip>(g + j, ld, m, a, d, j, num_tokens);
    j += 16;
  }
  if (n - j >= 8) {
    OuterLanes<2, kSkip>(g + j, ld, m, a, d, j, num_tokens);
    j += 8;
  }
  if (n - j >= 4) OuterLanes<1, kSkip>(g + j, ld, m, a, d, j, num_tokens);
}

// gb[j] += d[t][j] for t in order, n lanes.
ADVLAB_FORCEINLINE void BiasAdd(double* gb, const double* const* d, int64_t d_off, int num_tokens,
                                int n) {
  for (int j = 0; j < n; j += 4) {
    V4 acc = Load4(gb + j);
    for (int t = 0; t < num_tokens; ++t) acc += Load4(d[t] + d_off + j);
    Store4(gb + j, acc);
  }
}

// h = act(h), in place, n lanes (a multiple of 4).
ADVLAB_FORCEINLINE void Activate(double* ADVLAB_RESTRICT h, int n, bool relu) {
  if (relu) {
    for (int j = 0; j < n; j += 4) {
      const V4 x = Load4(h + j);
      Store4(h + j, KeepIf(x > 0.0, x));  // x > 0 ? x : +0
    }
    return;
  }
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    for (int k = 0; k < 16; ++k)
      h[j + k] = dm::Tanh(h[j + k]);  // vectorised (dm::Tanh is branch-free)
  }
  for (; j < n; j += 4) {
    for (int k = 0; k < 4; ++k) h[j + k] = dm::Tanh(h[j + k]);
  }
}

// da = dh * act'(h), with act' from the activation's output h:
// tanh' = (1 - h)(1 + h); relu' = [h > 0] (h > 0 exactly when the input was).
ADVLAB_FORCEINLINE void ActGrad(const double* ADVLAB_RESTRICT dh, const double* ADVLAB_RESTRICT h,
                                double* ADVLAB_RESTRICT da, int n, bool relu) {
  const V4 one = Splat(1.0);
  for (int j = 0; j < n; j += 4) {
    const V4 hv = Load4(h + j), dv = Load4(dh + j);
    Store4(da + j, relu ? KeepIf(hv > 0.0, dv) : dv * ((one - hv) * (one + hv)));
  }
}

// Softmax (sim/softmax.h) over the padded logits: pad lanes hold -inf, whose
// exp is exactly +0, so the real lanes get the same bits as Softmax over the
// real logits alone (the max ignores -inf; the sum adds +0 after the real terms,
// which changes nothing) and pad lanes get pi = 0, log pi = -inf. Padded widths
// up to 32 are dispatched to compile-time sizes, where the Exp loop vectorises.
template <int kN>
ADVLAB_FORCEINLINE void SoftmaxFixed(const double* z, double* probs, double* logprobs) {
  Softmax(z, kN, probs, logprobs);
}

ADVLAB_FORCEINLINE void PaddedSoftmax(const double* z, int n_pad, double* probs, double* logprobs) {
  switch (n_pad) {
    case 4:
      return SoftmaxFixed<4>(z, probs, logprobs);
    case 8:
      return SoftmaxFixed<8>(z, probs, logprobs);
    case 12:
      return SoftmaxFixed<12>(z, probs, logprobs);
    case 16:
      return SoftmaxFixed<16>(z, probs, logprobs);
    case 20:
      return SoftmaxFixed<20>(z, probs, logprobs);
    case 24:
      return SoftmaxFixed<24>(z, probs, logprobs);
    case 32:
      return SoftmaxFixed<32>(z, probs, logprobs);
    default:
      return Softmax(z, n_pad, probs, logprobs);
  }
}

// The network as the kernels see it. Layer l < layers is hidden layer l + 1,
// l = layers the output layer. Weights padded on the output side only:
//   wf[l]  [fan_in][fan_out_pad]   (forward; = params, zero columns appended)
//   bf[l]  [fan_out_pad]
//   wt[l]  [fan_out][fan_in_pad]   (l >= 1: the transpose, for backprop)
//   gw, gb as wf, bf (the gradient being accumulated)
struct Net {
  int layers;
  int in, hid, act;
  int in_pad, hid_pad, act_pad;
  bool relu;
  const double* wf[kMaxLayers + 1];
  const double* bf[kMaxLayers + 1];
  const double* wt[kMaxLayers + 1];
  double* gw[kMaxLayers + 1];
  double* gb[kMaxLayers + 1];
  const double* zeros;  // hid_pad zeros

  int fan_in(int l) const { return l == 0 ? in : hid; }
  int fan_out(int l) const { return l == layers ? act : hid; }
  int fan_out_pad(int l) const { return l == layers ? act_pad : hid_pad; }
};

// Record layout: [probs | logprobs | x (in_pad) | h_1 .. h_L (hid_pad each)].
ADVLAB_FORCEINLINE double* RecX(const Net& n, double* rec) { return rec + 2 * n.act_pad; }
ADVLAB_FORCEINLINE double* RecH(const Net& n, double* rec, int l) {  // l = 0: h_1
  return rec + 2 * n.act_pad + n.in_pad + static_cast<int64_t>(l) * n.hid_pad;
}

// Forward pass of one state: rec's x filled in; writes probs, logprobs, h.
// z: act_pad scratch; nz: in scratch (the non-zero features).
ADVLAB_MULTIVERSION void Forward(const Net& n, const double* prior, double* rec, double* z,
                                 int32_t* nz) {
  // Features equal to zero are skipped: list the others (branch-free).
  const double* x = RecX(n, rec);
  int num_nz = 0;
  for (int i = 0; i < n.in; ++i) {
    nz[num_nz] = i;
    num_nz += x[i] != 0.0;
  }
  const double* src = x;
  for (int l = 0; l < n.layers; ++l) {
    double* h = RecH(n, rec, l);
    if (l == 0) {
      MatVec<true>(n.wf[l], n.hid_pad, num_nz, nz, src, n.bf[l], h, n.hid_pad);
    } else {
      MatVec<false>(n.wf[l], n.hid_pad, n.hid, nullptr, src, n.bf[l], h, n.hid_pad);
    }
    Activate(h, n.hid_pad, n.relu);
    src = h;
  }
  MatVec<false>(n.wf[n.layers], n.act_pad, n.hid, nullptr, src, n.bf[n.layers], z, n.act_pad);
  for (int k = 0; k < n.act; ++k) z[k] = prior[k] + z[k];
  for (int k = n.act; k < n.act_pad; ++k) z[k] = -std::numeric_limits<double>::infinity();
  PaddedSoftmax(z, n.act_pad, rec, rec + n.act_pad);
}

struct TokenRef {
  double* rec;
  int32_t action;
  double coef;
};

// Backward of a block of tokens (in token order) into n.gw / n.gb.
// d_store: kBlockTokens x (act_pad + layers * hid_pad) scratch, dh: hid_pad.
ADVLAB_MULTIVERSION void Backward(const Net& n, const TokenRef* tok, int num_tokens,
                                  double* d_store, double* dh) {
  const int64_t stride = n.act_pad + static_cast<int64_t>(n.layers) * n.hid_pad;
  // Per token: dz, then da of each hidden layer (top down).
  for (int t = 0; t < num_tokens; ++t) {
    double* dz = d_store + t * stride;
    const double* p = tok[t].rec;
    const double c = tok[t].coef;
    const int a = tok[t].action;
    for (int k = 0; k < n.act; ++k) dz[k] = c * ((k == a ? 1.0 : 0.0) - p[k]);
    for (int k = n.act; k < n.act_pad; ++k) dz[k] = 0.0;
    const double* d = dz;
    for (int l = n.layers; l >= 1; --l) {
      // dh = W^T d over layer l's inputs (hidden layer l's output, RecH(l - 1)).
      MatVec<false>(n.wt[l], n.hid_pad, n.fan_out(l), nullptr, d, n.zeros, dh, n.hid_pad);
      double* da = d_store + t * stride + n.act_pad + static_cast<int64_t>(l - 1) * n.hid_pad;
      ActGrad(dh, RecH(n, tok[t].rec, l - 1), da, n.hid_pad, n.relu);
      d = da;
    }
  }
  // Gradient accumulation, layer by layer; each element token by token.
  const double* in_rows[kBlockTokens];
  const double* d_rows[kBlockTokens];
  for (int l = 0; l <= n.layers; ++l) {
    const int64_t d_off = l == n.layers ? 0 : n.act_pad + static_cast<int64_t>(l) * n.hid_pad;
    for (int t = 0; t < num_tokens; ++t) {
      in_rows[t] = l == 0 ? RecX(n, tok[t].rec) : RecH(n, tok[t].rec, l - 1);
      d_rows[t] = d_store + t * stride + d_off;
    }
    const int width = n.fan_out_pad(l);
    if (l == 0) {
      Outer<true>(n.gw[l], width, n.fan_in(l), in_rows, d_rows, num_tokens, width);
    } else {
      Outer<false>(n.gw[l], width, n.fan_in(l), in_rows, d_rows, num_tokens, width);
    }
    BiasAdd(n.gb[l], d_rows, 0, num_tokens, width);
  }
}

}  // namespace

// Padded weights, the padded gradient and scratch.
// When hidden and actions are multiples of 4, the padded layout is the
// parameter layout itself: the forward weights and the gradient are used in
// place (no copies); otherwise they are copied to and from padded buffers.
struct MlpPolicy::Slab {
  bool in_place = false;
  Buffer wf[kMaxLayers + 1], bf[kMaxLayers + 1], wt[kMaxLayers + 1];
  Buffer gw[kMaxLayers + 1], gb[kMaxLayers + 1];
  Buffer zeros, z, prior, d_store, dh;
  std::vector<int32_t> nz;
  TokenRef block[kBlockTokens];
  Net net;
};

MlpPolicy::Options MlpPolicy::OptionsFromConfig(const Config& config, const Task& task) {
  if (task.feature_dim() <= 0) {
    throw UserError("policy.kind = mlp needs the task's feature vectors; env.name = " +
                    config.Str("env.name") + " provides none; allowed: policy.kind = tabular");
  }
  Options o;
  o.hidden = static_cast<int>(config.Int("policy.hidden"));
  o.layers = static_cast<int>(config.Int("policy.layers"));
  o.activation = EnumValue(kActivationNames, config.Str("policy.activation"));
  o.init_scale = config.Float("policy.init_scale");
  o.out_init_scale = config.Float("policy.out_init_scale");
  o.seed = static_cast<uint64_t>(config.Int("seed"));
  return o;
}

MlpPolicy::MlpPolicy(const Task& task, const Options& options)
    : task_(&task),
      num_states_(task.num_states()),
      num_actions_(task.num_actions()),
      input_dim_(task.feature_dim()),
      hidden_(options.hidden),
      layers_(options.layers),
      activation_(options.activation),
      act_pad_(Pad4(task.num_actions())),
      hid_pad_(Pad4(options.hidden)),
      in_pad_(Pad4(task.feature_dim())),
      slab_(std::make_unique<Slab>()) {
  ADVLAB_CHECK_GT(input_dim_, 0);
  ADVLAB_CHECK_GT(num_actions_, 0);
  ADVLAB_CHECK_GT(hidden_, 0);
  ADVLAB_CHECK(layers_ >= 1 && layers_ <= kMaxLayers);
  record_size_ = 2 * int64_t{act_pad_} + in_pad_ + int64_t{layers_} * hid_pad_;

  // Layout and init.
  int64_t total = 0;
  for (int l = 0; l <= layers_; ++l) {
    offset_.push_back(total);
    total += int64_t{fan_in(l)} * fan_out(l) + fan_out(l);
  }
  params_.assign(total, 0.0);
  const Philox rng(options.seed);
  for (int l = 0; l <= layers_; ++l) {
    const double scale = l == layers_ ? options.out_init_scale : options.init_scale;
    const double a = scale * std::sqrt(6.0 / (fan_in(l) + fan_out(l)));  // IEEE sqrt
    const int64_t begin = weight_offset(l), end = bias_offset(l);
    for (int64_t p = begin; p < end; ++p) {
      if (a == 0.0) continue;  // +0, not a * (+-u)
      const Words4 w = rng.Draw(Purpose::kInit, static_cast<uint32_t>(p / 4), 0, 0);
      params_[p] = a * (2.0 * U01(w.w[p % 4]) - 1.0);  // 2u - 1 exact, in (-1, 1)
    }
  }

  stamp_.assign(num_states_, 0);
  slot_.assign(num_states_, 0);
  // A generation holds at most one record per state: room for every chunk
  // pointer, so that handing out a new chunk never reallocates the list.
  chunks_.reserve((static_cast<size_t>(num_states_) + kChunkRecords - 1) / kChunkRecords);

  // Padded copies and scratch.
  Slab& s = *slab_;
  Net& n = s.net;
  n.layers = layers_;
  n.in = input_dim_;
  n.hid = hidden_;
  n.act = num_actions_;
  n.in_pad = in_pad_;
  n.hid_pad = hid_pad_;
  n.act_pad = act_pad_;
  n.relu = activation_ == Activation::kRelu;
  s.in_place = hid_pad_ == hidden_ && act_pad_ == num_actions_;
  for (int l = 0; l <= layers_; ++l) {
    const int out_pad = n.fan_out_pad(l);
    if (l >= 1) s.wt[l] = Buffer(int64_t{fan_out(l)} * hid_pad_);
    n.wt[l] = s.wt[l].data();
    if (s.in_place) {
      n.wf[l] = params_.data() + weight_offset(l);
      n.bf[l] = params_.data() + bias_offset(l);
      continue;  // gw, gb: set by AccumulateGrad
    }
    s.wf[l] = Buffer(int64_t{fan_in(l)} * out_pad);
    s.bf[l] = Buffer(out_pad);
    s.gw[l] = Buffer(int64_t{fan_in(l)} * out_pad);
    s.gb[l] = Buffer(out_pad);
    n.wf[l] = s.wf[l].data();
    n.bf[l] = s.bf[l].data();
    n.gw[l] = s.gw[l].data();
    n.gb[l] = s.gb[l].data();
  }
  s.nz.assign(input_dim_, 0);
  s.zeros = Buffer(hid_pad_);
  n.zeros = s.zeros.data();
  s.z = Buffer(act_pad_);
  s.prior = Buffer(act_pad_);
  s.d_store = Buffer(kBlockTokens * (int64_t{act_pad_} + int64_t{layers_} * hid_pad_));
  s.dh = Buffer(hid_pad_);
}

MlpPolicy::~MlpPolicy() {
  for (double* c : chunks_) FreeAligned(c);
}

void MlpPolicy::Sync() {
  Slab& s = *slab_;
  for (int l = 0; l <= layers_; ++l) {
    const MatrixMap w = weight(l);
    const VectorMap b = bias(l);
    if (!s.in_place) {
      const int out_pad = s.net.fan_out_pad(l);
      double* wf = s.wf[l].data();
      for (int i = 0; i < fan_in(l); ++i) {
        for (int j = 0; j < fan_out(l); ++j) wf[int64_t{i} * out_pad + j] = w(i, j);
      }
      for (int j = 0; j < fan_out(l); ++j) s.bf[l].data()[j] = b(j);
    }
    if (l >= 1) {
      double* wt = s.wt[l].data();
      for (int j = 0; j < fan_out(l); ++j) {
        for (int i = 0; i < fan_in(l); ++i) wt[int64_t{j} * hid_pad_ + i] = w(i, j);
      }
    }
  }
  synced_ = true;
}

double* MlpPolicy::Compute(int32_t state) {
  if (!synced_) Sync();
  const int32_t slot = used_++;
  if (slot / kChunkRecords >= static_cast<int32_t>(chunks_.size())) {
    chunks_.push_back(AllocAligned(int64_t{kChunkRecords} * record_size_));
  }
  stamp_[state] = generation_;
  slot_[state] = slot;
  double* rec = RecordAt(slot);
  Slab& s = *slab_;
  double* x = RecX(s.net, rec);
  task_->Features(state, x);
  for (int i = input_dim_; i < in_pad_; ++i) x[i] = 0.0;
  task_->InitialLogits(state, s.prior.data());
  Forward(s.net, s.prior.data(), rec, s.z.data(), s.nz.data());
  return rec;
}

const double* MlpPolicy::Activations(int32_t state, int l) {
  ADVLAB_CHECK(l >= 1 && l <= layers_);
  return RecH(slab_->net, Record(state), l - 1);
}

double MlpPolicy::Entropy(int32_t state) {
  const double* p = Record(state);
  const double* lp = p + act_pad_;
  double h = 0.0;
  for (int k = 0; k < num_actions_; ++k) h -= p[k] * lp[k];
  return h;
}

void MlpPolicy::AccumulateGradRange(const Batch& batch, const double* coef, int begin, int end,
                                    SparseGrad* grad) {
  ADVLAB_CHECK_EQ(grad->block_size, num_params());
  const int num_tokens = end;
  int first = begin;
  while (first < num_tokens && coef[first] == 0.0) ++first;
  if (first == num_tokens) return;  // every term is exactly zero

  Slab& s = *slab_;
  Net& n = s.net;
  // The (padded) gradient starts from grad's values (and goes back at the end),
  // so every element is one running sum in token order across calls.
  double* g = grad->Touch(0);
  for (int l = 0; l <= layers_ && s.in_place; ++l) {
    n.gw[l] = g + weight_offset(l);
    n.gb[l] = g + bias_offset(l);
  }
  for (int l = 0; l <= layers_ && !s.in_place; ++l) {
    const int out_pad = n.fan_out_pad(l);
    const double* gl = g + weight_offset(l);
    double* gw = s.gw[l].data();
    for (int i = 0; i < fan_in(l); ++i) {
      for (int j = 0; j < fan_out(l); ++j)
        gw[int64_t{i} * out_pad + j] = gl[int64_t{i} * fan_out(l) + j];
    }
    for (int j = 0; j < fan_out(l); ++j) s.gb[l].data()[j] = g[bias_offset(l) + j];
  }

  int in_block = 0;
  for (int t = first; t < num_tokens; ++t) {
    const double c = coef[t];
    if (c == 0.0) continue;
    const int32_t a = batch.token[t];
    ADVLAB_CHECK(a >= 0 && a < num_actions_);
    s.block[in_block++] = TokenRef{Record(batch.state[t]), a, c};
    if (in_block == kBlockTokens) {
      Backward(n, s.block, in_block, s.d_store.data(), s.dh.data());
      in_block = 0;
    }
  }
  if (in_block > 0) Backward(n, s.block, in_block, s.d_store.data(), s.dh.data());

  for (int l = 0; l <= layers_ && !s.in_place; ++l) {
    const int out_pad = n.fan_out_pad(l);
    double* gl = g + weight_offset(l);
    const double* gw = s.gw[l].data();
    for (int i = 0; i < fan_in(l); ++i) {
      for (int j = 0; j < fan_out(l); ++j)
        gl[int64_t{i} * fan_out(l) + j] = gw[int64_t{i} * out_pad + j];
    }
    for (int j = 0; j < fan_out(l); ++j) g[bias_offset(l) + j] = s.gb[l].data()[j];
  }
}

void MlpPolicy::ParamsChanged() {
  synced_ = false;
  used_ = 0;
  if (++generation_ == 0) {  // wrapped: every stamp is stale again
    for (auto& st : stamp_) st = 0;
    generation_ = 1;
  }
}

void MlpPolicy::BlocksChanged(const SparseGrad&) { ParamsChanged(); }

ADVLAB_REGISTER_POLICY(
    mlp, .name = "mlp",
    .description = "multilayer perceptron on the task's feature vectors, a residual on the "
                   "prior (policy.hidden, policy.layers, policy.activation)",
    .make = [](const Config& config, const Task& task) -> std::unique_ptr<Policy> {
      return std::make_unique<MlpPolicy>(task, MlpPolicy::OptionsFromConfig(config, task));
    });

}  // namespace advlab
