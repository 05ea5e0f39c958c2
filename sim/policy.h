// Policy and Optimizer interfaces.
//
// A policy maps a decision (a tabular state id today; the MLP policy will also
// read the task's feature vector for the decision) to a softmax distribution over
// the task's actions. Both the tabular and the MLP policy implement:
//   Probs / LogProbs  the distribution at a decision (cached until the next update)
//   AccumulateGrad    gradient of sum_t coef[t] * log pi(token_t | state_t)
//   params            the flat parameter vector the optimizer updates
//
// Gradients are stored block-sparse (SparseGrad): a tabular policy touches only
// the rows of the states in the batch, so a step costs O(batch), not O(table).
// SparseGradView is the same gradient as plain data, for host/device step
// functions (policies/tabular_step.h, policies/optim_step.h).
#ifndef ADVLAB_SIM_POLICY_H_
#define ADVLAB_SIM_POLICY_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/dmath.h"
#include "sim/features.h"
#include "sim/registry.h"

namespace advlab {

class Config;
class Task;
struct TabularRows;

// A block-sparse gradient as plain data (host and device): the arrays of a
// SparseGrad, with the count of touched blocks by value. A step function
// touches blocks through it; the owner copies num_touched back afterwards
// (SparseGrad::SetNumTouched).
struct SparseGradView {
  double* value = nullptr;        // [num_blocks x block_size] zero outside touched blocks
  int32_t* touched = nullptr;     // [num_blocks] blocks that may be non-zero, first-touch
                                  //   order; the first num_touched are valid
  uint8_t* is_touched = nullptr;  // [num_blocks] 1 if the block is in touched
  int32_t num_touched = 0;
  int64_t block_size = 0;         // parameters per block (tabular: actions; MLP: all)

  ADVLAB_HD double* Block(int32_t b) const { return value + static_cast<int64_t>(b) * block_size; }
  // The block's values, listing it first.
  ADVLAB_HD double* Touch(int32_t b) {
    if (!is_touched[b]) {
      is_touched[b] = 1;
      touched[num_touched++] = b;
    }
    return Block(b);
  }
  // Zeroes the touched blocks; cost O(touched).
  ADVLAB_HD void Clear() {
    for (int32_t j = 0; j < num_touched; ++j) {
      const int32_t b = touched[j];
      double* v = Block(b);
      for (int64_t i = 0; i < block_size; ++i) v[i] = 0.0;
      is_touched[b] = 0;
    }
    num_touched = 0;
  }
  // Multiplies the touched blocks by c (global-norm clipping).
  ADVLAB_HD void Scale(double c) const {
    for (int32_t j = 0; j < num_touched; ++j) {
      double* v = Block(touched[j]);
      for (int64_t i = 0; i < block_size; ++i) v[i] *= c;
    }
  }
  // Euclidean norm, summed block by block in touched order (a fixed order).
  ADVLAB_HD double Norm() const {
    double sq = 0.0;
    for (int32_t j = 0; j < num_touched; ++j) {
      const double* v = Block(touched[j]);
      for (int64_t i = 0; i < block_size; ++i) sq += v[i] * v[i];
    }
    return dm::Sqrt(sq);  // IEEE sqrt: correctly rounded on every backend
  }
};

// Global-norm clipping (train.max_grad_norm > 0; 0 turns it off): scales the
// gradient to norm max_norm when it is longer. Returns the norm before
// clipping (the logged grad_norm).
ADVLAB_HD inline double ClipGlobalNorm(const SparseGradView& g, double max_norm) {
  const double norm = g.Norm();
  if (max_norm > 0.0 && norm > max_norm) g.Scale(max_norm / norm);
  return norm;
}

// The touched blocks of a SparseGrad: storage for every block, sized at Init,
// of which the first `count` are listed (first-touch order). Iterates as a
// container of block ids.
struct TouchedBlocks {
  std::vector<int32_t> storage;  // [num_blocks]
  int32_t count = 0;

  const int32_t* begin() const { return storage.data(); }
  const int32_t* end() const { return storage.data() + count; }
  size_t size() const { return static_cast<size_t>(count); }
  bool empty() const { return count == 0; }
  int32_t operator[](size_t i) const { return storage[i]; }
};

// Gradient with block sparsity: the host owner of the arrays of a
// SparseGradView, sized once at Init (a step never allocates). Its methods run
// the view's host/device code.
struct SparseGrad {
  int64_t block_size = 0;         // parameters per block (tabular: actions; MLP: all)
  std::vector<double> value;      // [num_params]
  TouchedBlocks touched;          // blocks that may be non-zero, in first-touch order
  std::vector<uint8_t> is_touched;  // [num_blocks]

  void Init(int64_t num_params, int64_t block) {
    block_size = block;
    value.assign(num_params, 0.0);
    is_touched.assign(num_params / block, 0);
    touched.storage.assign(is_touched.size(), 0);  // each block at most once
    touched.count = 0;
  }
  // The plain-data view of the arrays. The view of a const SparseGrad is only
  // read (Norm, the optimizers).
  SparseGradView View() const {
    SparseGradView v;
    v.value = const_cast<double*>(value.data());
    v.touched = const_cast<int32_t*>(touched.storage.data());
    v.is_touched = const_cast<uint8_t*>(is_touched.data());
    v.num_touched = touched.count;
    v.block_size = block_size;
    return v;
  }
  // Adopts the count of a view that touched blocks.
  void SetNumTouched(int32_t n) { touched.count = n; }

  double* Touch(int32_t b) {
    SparseGradView v = View();
    double* g = v.Touch(b);
    touched.count = v.num_touched;
    return g;
  }
  void Clear() {
    SparseGradView v = View();
    v.Clear();
    touched.count = v.num_touched;
  }
  void Scale(double c) { View().Scale(c); }
  double Norm() const { return View().Norm(); }
  // Every parameter's value times `sign` into *out (num_params; 0 outside the
  // touched blocks): the diagnostics' and the trace's dense gradients.
  void ToDense(double sign, std::vector<double>* out) const {
    out->assign(value.size(), 0.0);
    for (int32_t b : touched) {
      const int64_t o = static_cast<int64_t>(b) * block_size;
      for (int64_t i = 0; i < block_size; ++i) (*out)[o + i] = sign * value[o + i];
    }
  }
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual int num_actions() const = 0;
  virtual int64_t num_params() const = 0;
  virtual int64_t grad_block_size() const = 0;
  virtual double* params() = 0;
  virtual const double* params() const = 0;

  // The distribution at a decision: num_actions() probabilities summing to 1
  // (up to rounding). The pointer stays valid until the next parameter update.
  virtual const double* Probs(int32_t state) = 0;
  // The log-probabilities at a decision (num_actions() values, in-house log),
  // valid until the next parameter update.
  virtual const double* LogProbs(int32_t state) = 0;
  // Entropy of the distribution at `state` (nats).
  virtual double Entropy(int32_t state) = 0;

  // Gradient accumulation over micro-batches: AccumulateGradRange adds
  // d/dparams sum_{t in [begin, end)} coef[t] * log pi(batch.token[t] |
  // batch.state[t]), at the current parameters, and FinishGrad completes the
  // sum (a policy may defer shared work, e.g. the softmax part of a tabular
  // row, to it). Tokens with coef == 0 are skipped (they contribute exactly
  // zero). Splitting [0, T) into consecutive ranges gives the same bits as one
  // range: the micro-batched update equals the one-batch update exactly.
  virtual void AccumulateGradRange(const Batch& batch, const double* coef, int begin, int end,
                                   SparseGrad* grad) = 0;
  virtual void FinishGrad(SparseGrad* grad) { (void)grad; }
  // grad += the gradient of the whole batch (one range, then FinishGrad).
  void AccumulateGrad(const Batch& batch, const double* coef, SparseGrad* grad) {
    AccumulateGradRange(batch, coef, 0, batch.num_tokens(), grad);
    FinishGrad(grad);
  }

  // The policy's tables as plain data (sim/policy_rows.h) when it is tabular:
  // step functions then read them with no virtual call. nullptr otherwise.
  virtual TabularRows* tabular_rows() { return nullptr; }

  // Must be called after params() were changed (drops cached distributions).
  virtual void ParamsChanged() = 0;
  // As ParamsChanged, when only the blocks in changed.touched were written.
  virtual void BlocksChanged(const SparseGrad& changed) = 0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params -= update(grad); `step` counts optimizer steps from 1. Returns true
  // when it may have written parameters outside grad.touched (dense updates,
  // e.g. Adam's momentum), false when only the touched blocks changed.
  virtual bool Step(const SparseGrad& grad, int64_t step, double* params) = 0;
  // The L2 norm of the last Step's update, given the norm of the gradient it
  // was passed (the update_norm metric): sgd lr * grad_norm; adam measures its
  // own step (it does not depend on grad_norm alone).
  virtual double UpdateNorm(double grad_norm) const = 0;
};

struct PolicyEntry {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<Policy>(const Config&, const Task&)> make;
};
using PolicyRegistry = Registry<PolicyEntry>;

struct OptimizerEntry {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<Optimizer>(const Config&, int64_t num_params)> make;
  // True when the update is lr * g (sgd): scaling the gradient scales the
  // update by the same factor, so train.match_update can set its norm.
  bool linear = false;
};
using OptimizerRegistry = Registry<OptimizerEntry>;

#define ADVLAB_REGISTER_POLICY(ident, ...) \
  static const bool advlab_policy_registered_##ident = \
      ::advlab::PolicyRegistry::Get().Add(::advlab::PolicyEntry{__VA_ARGS__})
#define ADVLAB_REGISTER_OPTIMIZER(ident, ...) \
  static const bool advlab_optimizer_registered_##ident = \
      ::advlab::OptimizerRegistry::Get().Add(::advlab::OptimizerEntry{__VA_ARGS__})

}  // namespace advlab

#endif  // ADVLAB_SIM_POLICY_H_
