// The one MLP core: a plain multilayer perceptron with its parameters in one
// flat array, a deterministic forward of one input and the backward that
// accumulates parameter gradients for given output gradients. Used by the mlp
// policy (policies/mlp.cc: softmax head on top, residual on the task's prior)
// and by gae's mlp critic (estimators/gae.cc: one output, the value); it lives
// in sim/ so that both layers may include it.
//
// Architecture (L = layers in {1, 2}, H = hidden, O = out):
//     h_0 = x                                      (in values)
//     h_l = act(W_l h_{l-1} + b_l),  l = 1..L       (H values; act = tanh or relu)
//     y   = W_out h_L + b_out                       (O values, linear)
// tanh is dm::Tanh (no libm); relu is x > 0 ? x : +0.
//
// Parameters: one flat vector (params()), layer by layer, W then b:
//     [W_1 | b_1 | W_2 | b_2 | ... | W_out | b_out]
// each W stored [fan_in][fan_out] row-major: element (i, j) at i * fan_out + j
// connects input i to output j. Layer l = 0 .. layers - 1 is hidden layer l + 1,
// l = layers the output layer.
//
// Init (InitGlorot): W ~ U(-a, a), a = scale * sqrt(6 / (fan_in + fan_out))
// (Glorot uniform), scale = hidden_scale for hidden layers and out_scale for
// W_out; biases 0. Parameter p (its index in the flat vector) draws word p % 4
// of Philox(seed).Draw(purpose, p / 4, 0, 0) (bias indices leave their words
// unused): w = a * (2 U01(word) - 1), strictly inside (-a, a); w = +0 when a = 0.
//
// Fixed reduction orders (no SIMD width, thread count or batch split changes a
// bit; vector lanes are always distinct output elements, never the terms of one
// sum; the kernels in mlp.cc are compiled for SSE2 and AVX2, ADVLAB_MULTIVERSION):
//   forward   out[j] = b[j], then out[j] += W[i][j] * in[i] for i = 0, 1, ...
//             (input index order), layer by layer; h = act(out) for hidden layers.
//   backward  per token, in token order, from the output gradient dy (given):
//             dh[i] = +0, then dh[i] += W[i][k] * d[k] for k = 0, 1, ...;
//             da[i] = dh[i] * act'(h[i]) (tanh: (1 - h)(1 + h), h = tanh(pre);
//             relu: h > 0 ? dh : +0); every gradient element is one running sum,
//             one term per token in token order, starting from grad's value:
//             gW[i][j] += in[i] * d[j], gb[j] += d[j].
//   Input features equal to zero are skipped (in the first layer's forward sum
//   and its gW rows): their terms are exactly zero, and one-hot features make
//   this a large saving. Hidden activations and backpropagated vectors are used
//   as they are (no data-dependent branches).
// So a batch split into calls, in token order, accumulates the same bits as one
// call, and every build (SSE2 / AVX2, -O0 / -O2, gcc / clang) the same bits.
//
// Buffers. Widths are padded to multiples of 4 (in_pad, hid_pad, out_pad):
//   activation record (acts_size() doubles): [x (in_pad) | h_1 (hid_pad) | ...
//     | h_L (hid_pad)]; the caller writes x's `in` values (pad lanes 0), Forward
//     writes the h_l (pad lanes 0).
//   output y and output gradient dy: out_pad values (Forward writes 0 in the pad
//     lanes of y; the caller gives 0 in the pad lanes of dy).
// Internally the weights are read from padded copies refreshed after
// ParamsChanged (in place when hidden and out are multiples of 4). The object
// holds scratch: one Mlp serves one thread at a time. Forward and the gradient
// calls allocate nothing.
#ifndef ADVLAB_SIM_MLP_H_
#define ADVLAB_SIM_MLP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/rng.h"

namespace advlab {

enum class MlpActivation { kTanh, kRelu };

// A zero-initialised, 64-byte aligned array of doubles (move-only).
class MlpBuffer {
 public:
  MlpBuffer() = default;
  explicit MlpBuffer(int64_t n) : data_(n > 0 ? Alloc(n) : nullptr), size_(n) {}
  ~MlpBuffer() {
    if (data_) Free(data_);
  }
  MlpBuffer(MlpBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  MlpBuffer& operator=(MlpBuffer&& o) noexcept {
    if (this != &o) {
      if (data_) Free(data_);
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
  static double* Alloc(int64_t n);
  static void Free(double* p);

  double* data_ = nullptr;
  int64_t size_ = 0;
};

class Mlp {
 public:
  static constexpr int kMaxLayers = 2;
  static constexpr int kBlockTokens = 8;  // the most tokens one Backward takes

  struct Shape {
    int in = 1;
    int hidden = 1;
    int out = 1;
    int layers = 1;
    MlpActivation activation = MlpActivation::kTanh;
  };

  // Parameters all +0 (see InitGlorot). in, hidden, out > 0, layers in [1, 2].
  explicit Mlp(const Shape& shape);
  ~Mlp();
  // A deep copy (parameters; the padded copies are rebuilt on next use).
  Mlp(const Mlp& other);
  Mlp& operator=(const Mlp& other);
  Mlp(Mlp&&) noexcept;
  Mlp& operator=(Mlp&&) noexcept;

  // The Glorot-uniform init described above.
  void InitGlorot(uint64_t seed, Purpose purpose, double hidden_scale, double out_scale);

  const Shape& shape() const { return shape_; }
  int in() const { return shape_.in; }
  int hidden() const { return shape_.hidden; }
  int out() const { return shape_.out; }
  int layers() const { return shape_.layers; }
  MlpActivation activation() const { return shape_.activation; }
  int in_pad() const { return in_pad_; }
  int hid_pad() const { return hid_pad_; }
  int out_pad() const { return out_pad_; }

  int fan_in(int l) const { return l == 0 ? shape_.in : shape_.hidden; }
  int fan_out(int l) const { return l == shape_.layers ? shape_.out : shape_.hidden; }
  int64_t weight_offset(int l) const { return offset_[l]; }
  int64_t bias_offset(int l) const { return offset_[l] + int64_t{fan_in(l)} * fan_out(l); }
  int64_t num_params() const { return static_cast<int64_t>(params_.size()); }
  double* params() { return params_.data(); }
  const double* params() const { return params_.data(); }
  const std::vector<double>& param_vector() const { return params_; }
  // Call after writing params() (the padded copies are refreshed on next use).
  void ParamsChanged() { synced_ = false; }

  // Activation records (see above).
  int64_t acts_size() const { return in_pad_ + int64_t{shape_.layers} * hid_pad_; }
  static double* Input(double* acts) { return acts; }
  // h_l, l = 1..layers.
  const double* Hidden(const double* acts, int l) const {
    return acts + in_pad_ + int64_t{l - 1} * hid_pad_;
  }

  // Forward of one input: acts' x filled in (pad lanes 0); writes the hidden
  // activations into acts and y (out_pad values) into `y`.
  void Forward(double* acts, double* y) {
    if (!synced_) Sync();
    ForwardImpl(acts, y);
  }

  // Gradient accumulation into grad (num_params() values, the parameter
  // layout): BeginGrad(grad), any number of Backward calls, EndGrad(grad). Every
  // element of grad is one running sum from its value at BeginGrad, one term per
  // token in token order over the Backward calls. The parameters must not change
  // in between (nor since the records' Forward).
  void BeginGrad(double* grad);
  // Tokens t = 0 .. num_tokens - 1 (at most kBlockTokens), in order: acts[t] the
  // record of its Forward, dy[t] the gradient of the loss in y (out_pad values,
  // pad lanes 0).
  void Backward(const double* const* acts, const double* const* dy, int num_tokens);
  // Scratch for the output gradient of token t < kBlockTokens of a block
  // (out_pad values, beside the block's backpropagated vectors); valid until the
  // next Backward returns.
  double* OutputGradScratch(int t);
  void EndGrad(double* grad);

 private:
  struct Slab;  // padded weight copies, gradient and scratch (mlp.cc)

  void Sync();  // refreshes the padded weight copies from params_
  void ForwardImpl(double* acts, double* y);

  Shape shape_;
  int in_pad_, hid_pad_, out_pad_;
  std::vector<int64_t> offset_;  // [layers + 1] first parameter of each layer
  std::vector<double> params_;
  bool synced_ = false;  // the padded weights match params_
  std::unique_ptr<Slab> slab_;
};

}  // namespace advlab

#endif  // ADVLAB_SIM_MLP_H_
