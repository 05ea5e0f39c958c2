#include "sim/mlp.h"

#include <cmath>
#include <cstring>
#include <new>

#include "sim/check.h"
#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

namespace {

constexpr int kAlign = 64;  // bytes, for every padded buffer
constexpr int kMaxLayers = Mlp::kMaxLayers;
constexpr int kBlockTokens = Mlp::kBlockTokens;

int Pad4(int n) { return (n + 3) & ~3; }

}  // namespace

double* MlpBuffer::Alloc(int64_t n) {
  double* p = static_cast<double*>(
      ::operator new[](static_cast<size_t>(n) * sizeof(double), std::align_val_t{kAlign}));
  for (int64_t i = 0; i < n; ++i) p[i] = 0.0;
  return p;
}

void MlpBuffer::Free(double* p) { ::operator delete[](p, std::align_val_t{kAlign}); }

namespace {

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

// The network as the kernels see it. Layer l < layers is hidden layer l + 1,
// l = layers the output layer. Weights padded on the output side only:
//   wf[l]  [fan_in][fan_out_pad]   (forward; = params, zero columns appended)
//   bf[l]  [fan_out_pad]
//   wt[l]  [fan_out][fan_in_pad]   (l >= 1: the transpose, for backprop)
//   gw, gb as wf, bf (the gradient being accumulated)
struct Net {
  int layers;
  int in, hid, out;
  int in_pad, hid_pad, out_pad;
  bool relu;
  const double* wf[kMaxLayers + 1];
  const double* bf[kMaxLayers + 1];
  const double* wt[kMaxLayers + 1];
  double* gw[kMaxLayers + 1];
  double* gb[kMaxLayers + 1];
  const double* zeros;  // hid_pad zeros

  int fan_in(int l) const { return l == 0 ? in : hid; }
  int fan_out(int l) const { return l == layers ? out : hid; }
  int fan_out_pad(int l) const { return l == layers ? out_pad : hid_pad; }
};

// Record layout: [x (in_pad) | h_1 .. h_L (hid_pad each)].
ADVLAB_FORCEINLINE const double* RecH(const Net& n, const double* acts, int l) {  // l = 0: h_1
  return acts + n.in_pad + static_cast<int64_t>(l) * n.hid_pad;
}
ADVLAB_FORCEINLINE double* RecH(const Net& n, double* acts, int l) {
  return acts + n.in_pad + static_cast<int64_t>(l) * n.hid_pad;
}

// Forward pass of one input: acts' x filled in; writes h and y (out_pad).
// nz: in scratch (the non-zero features).
ADVLAB_MULTIVERSION void ForwardKernel(const Net& n, double* acts, double* y, int32_t* nz) {
  // Features equal to zero are skipped: list the others (branch-free).
  const double* x = acts;
  int num_nz = 0;
  for (int i = 0; i < n.in; ++i) {
    nz[num_nz] = i;
    num_nz += x[i] != 0.0;
  }
  const double* src = x;
  for (int l = 0; l < n.layers; ++l) {
    double* h = RecH(n, acts, l);
    if (l == 0) {
      MatVec<true>(n.wf[l], n.hid_pad, num_nz, nz, src, n.bf[l], h, n.hid_pad);
    } else {
      MatVec<false>(n.wf[l], n.hid_pad, n.hid, nullptr, src, n.bf[l], h, n.hid_pad);
    }
    Activate(h, n.hid_pad, n.relu);
    src = h;
  }
  MatVec<false>(n.wf[n.layers], n.out_pad, n.hid, nullptr, src, n.bf[n.layers], y, n.out_pad);
}

// Backward of a block of tokens (in token order) into n.gw / n.gb.
// d_store: kBlockTokens x (out_pad + layers * hid_pad) scratch (per token the
// output gradient's slot, OutputGradScratch, then da of each hidden layer),
// dh: hid_pad.
ADVLAB_MULTIVERSION void BackwardKernel(const Net& n, const double* const* acts,
                                        const double* const* dy, int num_tokens, double* d_store,
                                        double* dh) {
  const int64_t stride = n.out_pad + static_cast<int64_t>(n.layers) * n.hid_pad;
  // Per token: da of each hidden layer (top down).
  for (int t = 0; t < num_tokens; ++t) {
    const double* d = dy[t];
    for (int l = n.layers; l >= 1; --l) {
      // dh = W^T d over layer l's inputs (hidden layer l's output, RecH(l - 1)).
      MatVec<false>(n.wt[l], n.hid_pad, n.fan_out(l), nullptr, d, n.zeros, dh, n.hid_pad);
      double* da = d_store + t * stride + n.out_pad + static_cast<int64_t>(l - 1) * n.hid_pad;
      ActGrad(dh, RecH(n, acts[t], l - 1), da, n.hid_pad, n.relu);
      d = da;
    }
  }
  // Gradient accumulation, layer by layer; each element token by token.
  const double* in_rows[kBlockTokens];
  const double* d_rows[kBlockTokens];
  for (int l = 0; l <= n.layers; ++l) {
    const int64_t d_off = n.out_pad + static_cast<int64_t>(l) * n.hid_pad;  // l < layers
    for (int t = 0; t < num_tokens; ++t) {
      in_rows[t] = l == 0 ? acts[t] : RecH(n, acts[t], l - 1);
      d_rows[t] = l == n.layers ? dy[t] : d_store + t * stride + d_off;
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
// When hidden and out are multiples of 4, the padded layout is the parameter
// layout itself: the forward weights and the gradient are used in place (no
// copies; the pointers are set by Sync and BeginGrad); otherwise they are copied
// to and from padded buffers.
struct Mlp::Slab {
  bool in_place = false;
  MlpBuffer wf[kMaxLayers + 1], bf[kMaxLayers + 1], wt[kMaxLayers + 1];
  MlpBuffer gw[kMaxLayers + 1], gb[kMaxLayers + 1];
  MlpBuffer zeros, d_store, dh;
  std::vector<int32_t> nz;
  Net net;
};

Mlp::Mlp(const Shape& shape)
    : shape_(shape),
      in_pad_(Pad4(shape.in)),
      hid_pad_(Pad4(shape.hidden)),
      out_pad_(Pad4(shape.out)),
      slab_(std::make_unique<Slab>()) {
  ADVLAB_CHECK_GT(shape_.in, 0);
  ADVLAB_CHECK_GT(shape_.hidden, 0);
  ADVLAB_CHECK_GT(shape_.out, 0);
  ADVLAB_CHECK(shape_.layers >= 1 && shape_.layers <= kMaxLayers);
  int64_t total = 0;
  for (int l = 0; l <= shape_.layers; ++l) {
    offset_.push_back(total);
    total += int64_t{fan_in(l)} * fan_out(l) + fan_out(l);
  }
  params_.assign(static_cast<size_t>(total), 0.0);

  Slab& s = *slab_;
  Net& n = s.net;
  n.layers = shape_.layers;
  n.in = shape_.in;
  n.hid = shape_.hidden;
  n.out = shape_.out;
  n.in_pad = in_pad_;
  n.hid_pad = hid_pad_;
  n.out_pad = out_pad_;
  n.relu = shape_.activation == MlpActivation::kRelu;
  s.in_place = hid_pad_ == shape_.hidden && out_pad_ == shape_.out;
  for (int l = 0; l <= shape_.layers; ++l) {
    const int out_pad = n.fan_out_pad(l);
    if (l >= 1) s.wt[l] = MlpBuffer(int64_t{fan_out(l)} * hid_pad_);
    n.wt[l] = s.wt[l].data();
    n.wf[l] = n.bf[l] = nullptr;
    n.gw[l] = n.gb[l] = nullptr;
    if (s.in_place) continue;  // wf, bf: set by Sync; gw, gb: by BeginGrad
    s.wf[l] = MlpBuffer(int64_t{fan_in(l)} * out_pad);
    s.bf[l] = MlpBuffer(out_pad);
    s.gw[l] = MlpBuffer(int64_t{fan_in(l)} * out_pad);
    s.gb[l] = MlpBuffer(out_pad);
    n.wf[l] = s.wf[l].data();
    n.bf[l] = s.bf[l].data();
    n.gw[l] = s.gw[l].data();
    n.gb[l] = s.gb[l].data();
  }
  s.nz.assign(static_cast<size_t>(shape_.in), 0);
  s.zeros = MlpBuffer(hid_pad_);
  n.zeros = s.zeros.data();
  s.d_store = MlpBuffer(kBlockTokens * (int64_t{out_pad_} + int64_t{shape_.layers} * hid_pad_));
  s.dh = MlpBuffer(hid_pad_);
}

Mlp::~Mlp() = default;

Mlp::Mlp(const Mlp& other) : Mlp(other.shape_) { params_ = other.params_; }

Mlp& Mlp::operator=(const Mlp& other) {
  if (this != &other) *this = Mlp(other);
  return *this;
}

// The in-place pointers into params_ stay valid: a moved vector keeps its
// buffer, and they are set again by Sync / BeginGrad anyway.
Mlp::Mlp(Mlp&&) noexcept = default;
Mlp& Mlp::operator=(Mlp&&) noexcept = default;

void Mlp::InitGlorot(uint64_t seed, Purpose purpose, double hidden_scale, double out_scale) {
  const Philox rng(seed);
  for (int l = 0; l <= shape_.layers; ++l) {
    const double scale = l == shape_.layers ? out_scale : hidden_scale;
    const double a = scale * std::sqrt(6.0 / (fan_in(l) + fan_out(l)));  // IEEE sqrt
    const int64_t begin = weight_offset(l), end = bias_offset(l);
    for (int64_t p = begin; p < end; ++p) {
      params_[p] = 0.0;
      if (a == 0.0) continue;  // +0, not a * (+-u)
      const Words4 w = rng.Draw(purpose, static_cast<uint32_t>(p / 4), 0, 0);
      params_[p] = a * (2.0 * U01(w.w[p % 4]) - 1.0);  // 2u - 1 exact, in (-1, 1)
    }
    for (int64_t p = end; p < end + fan_out(l); ++p) params_[p] = 0.0;
  }
  synced_ = false;
}

void Mlp::Sync() {
  Slab& s = *slab_;
  for (int l = 0; l <= shape_.layers; ++l) {
    const double* w = params_.data() + weight_offset(l);
    const double* b = params_.data() + bias_offset(l);
    const int fi = fan_in(l), fo = fan_out(l);
    if (s.in_place) {
      s.net.wf[l] = w;
      s.net.bf[l] = b;
    } else {
      const int out_pad = s.net.fan_out_pad(l);
      double* wf = s.wf[l].data();
      for (int i = 0; i < fi; ++i) {
        for (int j = 0; j < fo; ++j) wf[int64_t{i} * out_pad + j] = w[int64_t{i} * fo + j];
      }
      for (int j = 0; j < fo; ++j) s.bf[l].data()[j] = b[j];
    }
    if (l >= 1) {
      double* wt = s.wt[l].data();
      for (int j = 0; j < fo; ++j) {
        for (int i = 0; i < fi; ++i) wt[int64_t{j} * hid_pad_ + i] = w[int64_t{i} * fo + j];
      }
    }
  }
  synced_ = true;
}

void Mlp::ForwardImpl(double* acts, double* y) {
  ForwardKernel(slab_->net, acts, y, slab_->nz.data());
}

void Mlp::BeginGrad(double* grad) {
  if (!synced_) Sync();
  Slab& s = *slab_;
  Net& n = s.net;
  for (int l = 0; l <= shape_.layers; ++l) {
    if (s.in_place) {
      n.gw[l] = grad + weight_offset(l);
      n.gb[l] = grad + bias_offset(l);
      continue;
    }
    const int out_pad = n.fan_out_pad(l), fi = fan_in(l), fo = fan_out(l);
    const double* gl = grad + weight_offset(l);
    double* gw = s.gw[l].data();
    for (int i = 0; i < fi; ++i) {
      for (int j = 0; j < fo; ++j) gw[int64_t{i} * out_pad + j] = gl[int64_t{i} * fo + j];
    }
    for (int j = 0; j < fo; ++j) s.gb[l].data()[j] = grad[bias_offset(l) + j];
  }
}

void Mlp::Backward(const double* const* acts, const double* const* dy, int num_tokens) {
  ADVLAB_CHECK(num_tokens >= 0 && num_tokens <= kBlockTokens);
  if (num_tokens == 0) return;
  BackwardKernel(slab_->net, acts, dy, num_tokens, slab_->d_store.data(), slab_->dh.data());
}

double* Mlp::OutputGradScratch(int t) {
  ADVLAB_CHECK(t >= 0 && t < kBlockTokens);
  return slab_->d_store.data() + t * (int64_t{out_pad_} + int64_t{shape_.layers} * hid_pad_);
}

void Mlp::EndGrad(double* grad) {
  Slab& s = *slab_;
  if (s.in_place) return;
  for (int l = 0; l <= shape_.layers; ++l) {
    const int out_pad = s.net.fan_out_pad(l), fi = fan_in(l), fo = fan_out(l);
    double* gl = grad + weight_offset(l);
    const double* gw = s.gw[l].data();
    for (int i = 0; i < fi; ++i) {
      for (int j = 0; j < fo; ++j) gl[int64_t{i} * fo + j] = gw[int64_t{i} * out_pad + j];
    }
    for (int j = 0; j < fo; ++j) grad[bias_offset(l) + j] = s.gb[l].data()[j];
  }
}

}  // namespace advlab
