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
#ifndef ADVLAB_SIM_POLICY_H_
#define ADVLAB_SIM_POLICY_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/registry.h"

namespace advlab {

class Config;
class Task;
struct TabularRows;

// Gradient with block sparsity. value is zero outside the touched blocks.
struct SparseGrad {
  int64_t block_size = 0;         // parameters per block (tabular: actions; MLP: all)
  std::vector<double> value;      // [num_params]
  std::vector<int32_t> touched;   // blocks that may be non-zero, in first-touch order
  std::vector<uint8_t> is_touched;  // [num_blocks]

  void Init(int64_t num_params, int64_t block) {
    block_size = block;
    value.assign(num_params, 0.0);
    is_touched.assign(num_params / block, 0);
    touched.clear();
    touched.reserve(is_touched.size());  // each block at most once: no growth in a step
  }
  double* Touch(int32_t b) {
    if (!is_touched[b]) {
      is_touched[b] = 1;
      touched.push_back(b);
    }
    return value.data() + static_cast<int64_t>(b) * block_size;
  }
  // Zeroes the touched blocks; cost O(touched).
  void Clear() {
    for (int32_t b : touched) {
      double* v = value.data() + static_cast<int64_t>(b) * block_size;
      for (int64_t i = 0; i < block_size; ++i) v[i] = 0.0;
      is_touched[b] = 0;
    }
    touched.clear();
  }
  // Multiplies the touched blocks by c (global-norm clipping).
  void Scale(double c) {
    for (int32_t b : touched) {
      double* v = value.data() + static_cast<int64_t>(b) * block_size;
      for (int64_t i = 0; i < block_size; ++i) v[i] *= c;
    }
  }
  // Euclidean norm, summed block by block in touched order (a fixed order).
  double Norm() const {
    double sq = 0.0;
    for (int32_t b : touched) {
      const double* v = value.data() + static_cast<int64_t>(b) * block_size;
      for (int64_t i = 0; i < block_size; ++i) sq += v[i] * v[i];
    }
    return std::sqrt(sq);  // IEEE sqrt: correctly rounded on every backend
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
