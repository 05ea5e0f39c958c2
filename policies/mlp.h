// MLP policy: a multilayer perceptron on the task's feature vectors that learns
// a residual on top of the fixed base-model prior.
//
// Architecture (L = policy.layers in {1, 2}, H = policy.hidden, A = actions):
//     h_0 = Task::Features(s)                       (feature_dim() values)
//     h_l = act(W_l h_{l-1} + b_l),  l = 1..L        (H values; act = tanh or relu)
//     z   = prior(s) + (W_out h_L + b_out)           (A values)
//     pi  = softmax(z)                               (sim/softmax.h)
// prior(s) = Task::InitialLogits(s) is not trained: with policy.out_init_scale = 0
// (the default) W_out = 0 and b_out = 0, so the initial policy is the prior
// exactly, as the tabular policy's. tanh is dm::Tanh (no libm).
//
// The network is the shared MLP core (sim/mlp.h, out = A): parameters, Glorot
// init, forward and backward, with their fixed reduction orders, live there;
// this file adds the prior, the softmax head and the cache.
//
// Parameters: one flat vector (params()), layer by layer, W then b:
//     [W_1 | b_1 | W_2 | b_2 | ... | W_out | b_out]
// each W stored [fan_in][fan_out] row-major: element (i, j) at i * fan_out + j
// connects input i to output j. Sizes: W_1 feature_dim x H, W_2 H x H, W_out
// H x A. The code reads them through Eigen::Map views of that vector.
//
// Init (Mlp::InitGlorot, Purpose::kInit): W ~ U(-a, a), a = policy.init_scale *
// sqrt(6 / (fan_in + fan_out)) (Glorot uniform) for hidden layers and a =
// policy.out_init_scale * sqrt(6 / (H + A)) for W_out; biases 0. Parameter p
// draws word p % 4 of Philox(seed).Draw(Purpose::kInit, p / 4, 0, 0) (bias
// indices leave their words unused): w = a * (2 U01(word) - 1), strictly inside
// (-a, a); w = +0 when a = 0.
//
// Fixed orders on top of the core's (sim/mlp.h):
//   forward   y = the core's output; z[k] = prior[k] + y[k]; pi = Softmax(z)
//             (computed over A rounded up to a multiple of 4 with -inf logits in
//             the pad: exp(-inf) = +0, so the real entries are bit-identical to
//             Softmax over the A logits).
//   backward  per token, in token order: dz[k] = coef * ([k == a] - pi[k]), the
//             core's output gradient; blocks of Mlp::kBlockTokens tokens.
// So a batch split into calls, in token order, accumulates the same bits as one
// call, and every build (SSE2 / AVX2, -O0 / -O2, gcc / clang) the same bits.
//
// Caching: the distribution and the activations (h_0..h_L) of a state are
// computed on first use and kept until the next ParamsChanged / BlocksChanged
// (both drop every state, in O(1) by a generation stamp: an update moves all of
// them). Features are read when a state is computed, so a task whose features
// follow its drift position (think names the current answer) is seen at its
// position then; the training loop updates parameters every step, so no cached
// state outlives an Advance.
#ifndef ADVLAB_POLICIES_MLP_H_
#define ADVLAB_POLICIES_MLP_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "sim/mlp.h"
#include "sim/policy.h"

namespace advlab {

class Task;

class MlpPolicy : public Policy {
 public:
  using Activation = MlpActivation;
  struct Options {
    int hidden = 64;
    int layers = 1;
    Activation activation = Activation::kTanh;
    double init_scale = 1.0;
    double out_init_scale = 0.0;
    uint64_t seed = 0;
  };
  // Options from the policy.* keys and `seed`. Throws UserError when the task
  // has no feature vectors (feature_dim() == 0).
  static Options OptionsFromConfig(const Config& config, const Task& task);

  // Keeps a pointer to `task` (Features and InitialLogits are read on demand):
  // the task must outlive the policy. task.feature_dim() must be positive.
  MlpPolicy(const Task& task, const Options& options);
  ~MlpPolicy() override;
  MlpPolicy(const MlpPolicy&) = delete;
  MlpPolicy& operator=(const MlpPolicy&) = delete;

  int num_actions() const override { return num_actions_; }
  int64_t num_params() const override { return mlp_.num_params(); }
  // One dense block: every parameter moves with every token.
  int64_t grad_block_size() const override { return num_params(); }
  double* params() override { return mlp_.params(); }
  const double* params() const override { return mlp_.params(); }

  const double* Probs(int32_t state) override { return Record(state); }
  const double* LogProbs(int32_t state) override { return Record(state) + act_pad_; }
  double Entropy(int32_t state) override;
  void AccumulateGradRange(const Batch& batch, const double* coef, int begin, int end,
                           SparseGrad* grad) override;
  void ParamsChanged() override;
  void BlocksChanged(const SparseGrad& changed) override;

  // Layout. Layer l = 0 .. layers() - 1 is hidden layer l + 1; l = layers() is
  // the output layer.
  int input_dim() const { return mlp_.in(); }
  int hidden() const { return mlp_.hidden(); }
  int layers() const { return mlp_.layers(); }
  Activation activation() const { return mlp_.activation(); }
  int fan_in(int l) const { return mlp_.fan_in(l); }
  int fan_out(int l) const { return mlp_.fan_out(l); }
  int64_t weight_offset(int l) const { return mlp_.weight_offset(l); }
  int64_t bias_offset(int l) const { return mlp_.bias_offset(l); }
  // Views of the parameters (row-major [fan_in][fan_out], see above).
  using MatrixMap =
      Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  using VectorMap = Eigen::Map<Eigen::VectorXd>;
  MatrixMap weight(int l) {
    return MatrixMap(params() + weight_offset(l), fan_in(l), fan_out(l));
  }
  VectorMap bias(int l) { return VectorMap(params() + bias_offset(l), fan_out(l)); }

  // The hidden activations h_l (l = 1..layers()) at a state, hidden() values,
  // valid as Probs (for tests and diagnostics).
  const double* Activations(int32_t state, int l);

 private:
  // The cached record of a state: [probs | logprobs | the core's activation
  // record (h_0 | h_1 .. h_L)].
  double* Record(int32_t state) {
    if (stamp_[state] != generation_) return Compute(state);
    return RecordAt(slot_[state]);
  }
  double* RecordAt(int32_t slot) {
    return chunks_[slot / kChunkRecords].data() +
           static_cast<int64_t>(slot % kChunkRecords) * record_size_;
  }
  static double* Acts(double* rec, int act_pad) { return rec + 2 * act_pad; }
  double* Compute(int32_t state);

  static constexpr int kChunkRecords = 64;

  const Task* task_;
  int32_t num_states_;
  int num_actions_;
  int act_pad_;  // actions rounded up to a multiple of 4 (record stride of probs)
  int64_t record_size_;
  Mlp mlp_;

  // Cache: stamp_[s] == generation_ iff state s has a record, in slot_[s].
  std::vector<uint32_t> stamp_;
  std::vector<int32_t> slot_;
  uint32_t generation_ = 1;
  int32_t used_ = 0;                // records handed out in this generation
  std::vector<MlpBuffer> chunks_;   // kChunkRecords records each
  // Scratch: the logits and the prior.
  MlpBuffer z_, prior_;
};

}  // namespace advlab

#endif  // ADVLAB_POLICIES_MLP_H_
