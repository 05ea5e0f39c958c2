#include "sim/diagnostics.h"

#include <cmath>
#include <limits>
#include <memory>

#include "sim/gradient.h"
#include "sim/loop.h"
#include "sim/sample_batch.h"

namespace advlab {

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

ChangeVsExact CompareChange(const double* before, const double* after,
                            const std::vector<double>& exact, double exact_sq) {
  double dot = 0.0, upd_sq = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) {
    const double u = after[i] - before[i];
    dot += u * exact[i];
    upd_sq += u * u;
  }
  ChangeVsExact c;
  c.norm = std::sqrt(upd_sq);
  c.cosine = upd_sq > 0.0 && exact_sq > 0.0 ? dot / (c.norm * std::sqrt(exact_sq))
                                            : std::numeric_limits<double>::quiet_NaN();
  return c;
}

namespace {

// The gradient of the terms i with bin[i] == k (all terms when bin is null):
// summed per (state, action) pair first (in term order), then one term per pair
// (in pair order) to the policy. grad log pi(a | s) depends on (s, a) only, so
// this turns e.g. chain's P n m^2 terms into at most O m^2.
void MergedTermsGradient(RunState* st, const int8_t* bin, int k, std::vector<double>* out) {
  const int64_t A = st->task->num_actions();
  const int64_t pairs = static_cast<int64_t>(st->task->num_states()) * A;
  std::vector<double> table(pairs, 0.0);
  const GradientTerms& terms = st->diag_terms;
  for (size_t i = 0; i < terms.coef.size(); ++i) {
    if (bin != nullptr && bin[i] != k) continue;
    table[terms.batch.state[i] * A + terms.batch.token[i]] += terms.coef[i];
  }
  GradientTerms& merged = st->diag_merged;
  merged.Clear();
  for (int64_t p = 0; p < pairs; ++p) {
    if (table[p] != 0.0) merged.Add(static_cast<int32_t>(p / A), static_cast<int32_t>(p % A), table[p]);
  }
  SparseGrad& g = st->diag_grad;
  if (g.value.size() != static_cast<size_t>(st->policy->num_params())) {
    g.Init(st->policy->num_params(), st->policy->grad_block_size());
  }
  g.Clear();
  st->policy->AccumulateGrad(merged.batch, merged.coef.data(), &g);
  g.ToDense(1.0, out);
}

// share_k = <part_k, whole> / |whole|^2 (NaN for all when whole = 0).
void Shares(const std::vector<double>* part, const std::vector<double>& whole, double* share) {
  const double sq = Dot(whole, whole);
  for (int k = 0; k < kDifficultyBins; ++k) {
    share[k] = sq > 0.0 ? Dot(part[k], whole) / sq : std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

void ExactObjectiveGradient(const RunConfig& rc, RunState* st, std::vector<double>* out,
                            std::vector<double>* by_bin) {
  std::vector<int32_t> prompts;
  std::vector<double> weights;
  st->task->TrainingDistribution(&prompts, &weights);
  // d/dtheta of fp + (1 - fp - fn) * success.
  const double scale = 1.0 - rc.false_positive - rc.false_negative;
  st->diag_terms.Clear();
  std::vector<int8_t> term_bin;  // [terms] the difficulty bin of the term's prompt
  for (size_t i = 0; i < prompts.size(); ++i) {
    st->task->SuccessGradientTerms(st->policy.get(), prompts[i], scale * weights[i],
                                   &st->diag_terms);
    if (by_bin != nullptr) {
      term_bin.resize(st->diag_terms.coef.size(),
                      static_cast<int8_t>(DifficultyBin(st->task->difficulty(prompts[i]))));
    }
  }
  MergedTermsGradient(st, nullptr, 0, out);
  if (by_bin != nullptr) {
    for (int k = 0; k < kDifficultyBins; ++k) MergedTermsGradient(st, term_bin.data(), k, &by_bin[k]);
  }
}

namespace {

// Adds to sum[k] the part of a prepared diagnostic batch's g_hat (ascent
// direction) that the rollouts of difficulty bin k contribute. `dense` is
// scratch.
void AddBinParts(const RunConfig& rc, RunState* st, const Batch& batch,
                 std::vector<uint8_t>* include, std::vector<double>* dense,
                 std::vector<double>* sum) {
  int8_t group_bin[kDifficultyBins] = {};  // bins present
  for (int g = 0; g < batch.num_groups(); ++g) {
    group_bin[DifficultyBin(st->task->difficulty(batch.prompt[g]))] = 1;
  }
  for (int k = 0; k < kDifficultyBins; ++k) {
    if (group_bin[k] == 0) continue;  // no rollout: contributes 0
    include->assign(batch.num_rollouts(), 0);
    for (int g = 0; g < batch.num_groups(); ++g) {
      if (DifficultyBin(st->task->difficulty(batch.prompt[g])) != k) continue;
      for (int r = batch.group_begin[g]; r < batch.group_begin[g + 1]; ++r) (*include)[r] = 1;
    }
    MaskedBatchGradient(rc, st, batch, include->data(), &st->diag_grad);
    st->diag_grad.ToDense(-1.0, dense);
    for (size_t i = 0; i < dense->size(); ++i) sum[k][i] += (*dense)[i];
  }
}

// Welford's update with sample j (0-based) of x: per coordinate, in sample order.
void WelfordAdd(const std::vector<double>& x, int j, std::vector<double>* mean,
                std::vector<double>* m2) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double delta = x[i] - (*mean)[i];
    (*mean)[i] += delta / (j + 1);
    (*m2)[i] += delta * (x[i] - (*mean)[i]);
  }
}

}  // namespace

void DiagnosedStep(const RunConfig& rc, RunState* st, StepObserver* observer) {
  st->task->AdvanceTraining(st->step, st->policy.get());
  std::vector<double> exact, exact_bin[kDifficultyBins];
  ExactObjectiveGradient(rc, st, &exact, exact_bin);
  const double exact_sq = Dot(exact, exact);

  // S fresh batches at the same parameters. Keys (seed, j + 1): seeds are 32-bit,
  // so the high key word 0 is the training stream and these never collide.
  const int S = rc.diagnostic_samples;
  const size_t n = exact.size();
  std::vector<double> mean(n, 0.0), m2(n, 0.0), est;
  // The same batches under the variance-optimal baseline (`optimal`, exact from
  // the oracle): the reference point of grad_var_ratio. Stateless, bound once.
  if (!st->diag_optimal) {
    st->diag_optimal = MakeEstimator("optimal");
    st->diag_optimal->Bind(EstimatorContext{&rc.config, st->task.get(), st->policy.get(),
                                            rc.false_positive, rc.false_negative});
  }
  std::vector<double> opt_mean(n, 0.0), opt_m2(n, 0.0);
  // Per difficulty bin: the sum over the S batches of the part of g_hat its
  // rollouts contribute (a bin no batch drew contributes exactly 0).
  std::vector<double> part_sum[kDifficultyBins];
  for (std::vector<double>& p : part_sum) p.assign(n, 0.0);
  std::vector<uint8_t> include;
  double rel_err = 0.0;
  if (st->diag_grad.value.size() != n) st->diag_grad.Init(st->policy->num_params(), st->policy->grad_block_size());
  // The diagnostic batches are not training: AAPO's reference cache must not
  // record them as generated (that would lower the training cost).
  const std::vector<uint8_t> reference_generated = st->reference_generated;
  for (int j = 0; j < S; ++j) {
    const Philox rng(rc.seed | (static_cast<uint64_t>(j + 1) << 32));
    SampleBatch(rc, st, rng, st->step, &st->diag_batch);
    st->diag_opt_batch = st->diag_batch;  // the rollouts as sampled, before any estimator
    // A stateful estimator works on a copy: the diagnostics must not advance
    // the state training goes on with.
    // (Step runs the same LossGradient on the original after the samples.)
    std::unique_ptr<Estimator> copy = st->estimator->Clone();
    LossGradient(rc, st, &st->diag_batch, &st->diag_grad, copy.get());
    st->diag_grad.ToDense(-1.0, &est);  // ascent direction
    double err = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double d = est[i] - exact[i];
      err += d * d;
    }
    WelfordAdd(est, j, &mean, &m2);
    rel_err += err;
    AddBinParts(rc, st, st->diag_batch, &include, &est, part_sum);
    LossGradient(rc, st, &st->diag_opt_batch, &st->diag_grad, st->diag_optimal.get());
    st->diag_grad.ToDense(-1.0, &est);
    WelfordAdd(est, j, &opt_mean, &opt_m2);
  }
  st->reference_generated = reference_generated;
  double var = 0.0, opt_var = 0.0;
  for (size_t i = 0; i < n; ++i) var += m2[i] / (S - 1);
  for (size_t i = 0; i < n; ++i) opt_var += opt_m2[i] / (S - 1);
  // Direction only: the mean estimate against grad J, and its error after the
  // best scalar fit c = <mean, grad J> / |mean|^2 (= 1 - cosine^2, computed as
  // the residual itself so rounding cannot make it negative).
  const double mean_dot = Dot(mean, exact), mean_sq = Dot(mean, mean);
  double fit = 0.0;
  if (mean_sq > 0.0) {
    const double c = mean_dot / mean_sq;
    for (size_t i = 0; i < n; ++i) {
      const double d = c * mean[i] - exact[i];
      fit += d * d;
    }
  }

  // The training step itself, and its actual update.
  std::vector<double> before(st->policy->params(), st->policy->params() + n);
  Step(rc, st, observer);
  // Undefined (NaN) when the step did not move or the exact gradient vanishes.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool informative = exact_sq > 0.0;
  st->diag_cosine = CompareChange(before.data(), st->policy->params(), exact, exact_sq).cosine;
  st->diag_rel_err = informative ? rel_err / S / exact_sq : nan;
  st->diag_var = informative ? var / exact_sq : nan;
  st->diag_var_ratio = opt_var > 0.0 ? var / opt_var : nan;
  st->diag_mean_cosine =
      informative && mean_sq > 0.0 ? mean_dot / (std::sqrt(mean_sq) * std::sqrt(exact_sq)) : nan;
  st->diag_fit_err = informative && mean_sq > 0.0 ? fit / exact_sq : nan;
  // Shares of the expected update: its parts' mean over the S batches, against
  // their sum (the mean g_hat up to rounding), so the shares sum to 1.
  std::vector<double> whole(n, 0.0);
  for (int k = 0; k < kDifficultyBins; ++k) {
    for (size_t i = 0; i < n; ++i) {
      part_sum[k][i] /= S;
      whole[i] += part_sum[k][i];
    }
  }
  Shares(part_sum, whole, st->diag_update_share);
  Shares(exact_bin, exact, st->diag_exact_share);
  st->diag_valid = true;
}

}  // namespace advlab
