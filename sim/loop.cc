#include "sim/loop.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/check.h"
#include "sim/step_observer.h"

namespace advlab {

void InitRun(const RunConfig& rc, RunState* st) {
  const Config& c = rc.config;
  st->step = 0;
  st->evals_done = 0;
  st->rng = Philox(rc.seed);
  st->task = TaskRegistry::Get().Find(c.Str("env.name"))->make(c, rc.seed);
  st->policy = PolicyRegistry::Get().Find(c.Str("policy.kind"))->make(c, *st->task);
  st->optimizer =
      OptimizerRegistry::Get().Find(c.Str("optim.name"))->make(c, st->policy->num_params());
  st->estimator = MakeEstimator(c.Str("estimator.name"));
  st->estimator->Bind(EstimatorContext{&rc.config, st->task.get(), st->policy.get(),
                                       rc.false_positive, rc.false_negative});
  st->match_estimator.reset();
  if (rc.match_update) {
    // The baseline: the same keys, its own instance (and state), bound alike.
    st->match_estimator = MakeEstimator(c.Str("train.match_update"));
    st->match_estimator->Bind(EstimatorContext{&rc.config, st->task.get(), st->policy.get(),
                                               rc.false_positive, rc.false_negative});
  }
  st->loss = rc.loss->make(c);
  st->reference.reset();
  if (rc.kl_coef > 0.0 || rc.reference_rollouts) {
    st->reference = std::make_unique<ReferencePolicy>(*st->task);
  }
  st->updates = 0;
  st->kl_coef = rc.kl_coef;
  st->metrics = MetricAccumulator();
  st->grad.Init(st->policy->num_params(), st->policy->grad_block_size());
  if (rc.match_update) st->match_grad.Init(st->policy->num_params(), st->policy->grad_block_size());
  st->prompts.assign(rc.batch_prompts, 0);
  // The per-token scratch at its largest (B G rollouts of the task's longest
  // response, capped as the tasks cap their batch reservation), so no step grows it.
  const int64_t max_tokens = std::min<int64_t>(
      static_cast<int64_t>(rc.batch_prompts) * rc.group_size * st->task->max_length(),
      kMaxReservedTokens);
  st->coef.reserve(max_tokens);
  // The step's batch at its largest (B groups of G rollouts of the longest
  // response), so that no step grows it: rollouts write through a BatchView
  // (Batch::OpenView) within this capacity. Likewise AAPO's reference batch.
  const int64_t rollouts = static_cast<int64_t>(rc.batch_prompts) * rc.group_size;
  st->batch.Reserve(rc.batch_prompts, rollouts, rollouts * st->task->max_length());
  if (rc.reference_rollouts) {
    st->ref_batch.Reserve(rc.batch_prompts, rollouts, rollouts * st->task->max_length());
  }
  st->reference_generated.assign(rc.reference_cached ? st->task->num_prompts() : 0, 0);
  if (rc.match_update) {  // the baseline's outputs, as large as the batch's
    st->match_advantage.reserve(rollouts);
    st->match_kept.reserve(rollouts);
    st->match_token_advantage.reserve(max_tokens);
  }
  st->loss_rollouts.reserve(rollouts);  // a micro-batch's kept rollouts, for the loss
  st->loss_coef.reserve(rollouts);
  if (rc.loss->needs_ratio || rc.kl_coef > 0.0) st->logprob.reserve(max_tokens);
  if (rc.loss->batch_prepass) {
    st->loss_mark.reserve(max_tokens);
    st->prepass_rollouts.reserve(rollouts);
    st->prepass_first.reserve(rollouts);
    st->prepass_mark.reserve(rollouts);
  }
}

namespace {

// Exchanges the estimator outputs of the step's batch with the baseline's.
void SwapMatchOutputs(RunState* st) {
  st->batch.advantage.swap(st->match_advantage);
  st->batch.kept.swap(st->match_kept);
  st->batch.token_advantage.swap(st->match_token_advantage);
}

// train.match_update: the baseline's advantages on the step's batch (its KL
// shaping and statistics are the run's and are dropped; its state, if any,
// advances once per step on the same rollouts as the run's estimator).
void PrepareBaseline(const RunConfig& rc, RunState* st) {
  SwapMatchOutputs(st);
  st->batch.advantage.clear();  // fresh, as a sampled batch's
  st->batch.kept.clear();
  st->batch.token_advantage.clear();
  PrepareBatch(rc, st, &st->batch, st->match_estimator.get());
  SwapMatchOutputs(st);
}

// train.match_update: rescales the clipped gradient of groups [g0, g1)
// (norm `norm`) to the norm of the baseline's clipped gradient on the same
// groups at the same parameters. Returns the norm the optimizer gets. With
// sgd the update lr g then has the norm of the baseline's, lr |g_base|. A
// zero gradient stays zero; equal norms (the baseline is the run's estimator)
// leave every bit as it was. The baseline's backward is a measurement: it is
// not charged to the cost model.
double MatchUpdateNorm(const RunConfig& rc, RunState* st, int g0, int g1, double norm) {
  SwapMatchOutputs(st);
  StepStats unused;
  MinibatchGradient(rc, st, st->batch, g0, g1, &st->match_grad, &unused);
  SwapMatchOutputs(st);
  const double base = st->match_grad.Norm();
  const double target =
      rc.max_grad_norm > 0.0 && base > rc.max_grad_norm ? rc.max_grad_norm : base;
  if (norm == 0.0) return 0.0;
  if (target != norm) st->grad.Scale(target / norm);
  return target;
}

// baseline_rmse: sqrt(mean over rollouts of (b_r - E[R | q_r])^2) on the step's
// batch, with E[R | q] = fp + (1 - fp - fn) p(q) exact under the sampling policy
// (the parameters the rollouts were drawn with: no update has happened yet).
// Once per eval window, so its oracle calls cost one batch of prompts.
void MeasureBaselineError(const RunConfig& rc, RunState* st) {
  const Batch& b = st->batch;
  st->baseline_rmse = std::numeric_limits<double>::quiet_NaN();
  if (b.baseline.empty() || b.num_rollouts() == 0) return;
  ADVLAB_CHECK_EQ(b.baseline.size(), b.reward.size());
  const double scale = 1.0 - rc.false_positive - rc.false_negative;
  double ss = 0.0;
  for (int g = 0; g < b.num_groups(); ++g) {
    const double p = st->task->SuccessProbability(st->policy.get(), b.prompt[g]);
    const double target = rc.false_positive + scale * p;
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) {
      const double d = b.baseline[r] - target;
      ss += d * d;
    }
  }
  st->baseline_rmse = std::sqrt(ss / b.num_rollouts());
}

}  // namespace

void Step(const RunConfig& rc, RunState* st, StepObserver* observer) {
  st->task->AdvanceTraining(st->step, st->policy.get());
  SampleBatch(rc, st, st->rng, st->step, &st->batch);
  const bool measure = st->step + 1 == st->next_eval;
  // A trace shows every baseline (asking changes no advantage bit).
  st->batch.want_baseline = measure || observer != nullptr;
  StepStats ss = PrepareBatch(rc, st, &st->batch);
  // Before PrepareBaseline: the run's estimator's baseline, not the control's.
  if (measure) MeasureBaselineError(rc, st);
  if (rc.match_update) PrepareBaseline(rc, st);
  if (observer != nullptr) observer->Prepared(rc, st);
  // train.epochs passes; each splits the groups, in order, into
  // train.minibatches minibatches with one optimizer step each.
  const int64_t groups = st->batch.num_groups();
  for (int e = 0; e < rc.epochs; ++e) {
    for (int k = 0; k < rc.minibatches; ++k) {
      const int g0 = static_cast<int>(groups * k / rc.minibatches);
      const int g1 = static_cast<int>(groups * (k + 1) / rc.minibatches);
      if (g0 == g1 && rc.minibatches > 1) continue;
      MinibatchGradient(rc, st, st->batch, g0, g1, &st->grad, &ss);
      // ss.updates: the optimizer steps taken so far in this step.
      if (observer != nullptr) observer->Gradient(rc, st, static_cast<int>(ss.updates), g0, g1);
      const double gnorm = st->grad.Norm();  // before clipping (the logged grad_norm)
      double applied = gnorm;                  // the norm the optimizer gets
      if (rc.max_grad_norm > 0.0 && gnorm > rc.max_grad_norm) {
        st->grad.Scale(rc.max_grad_norm / gnorm);
        applied = rc.max_grad_norm;
      }
      if (rc.match_update) applied = MatchUpdateNorm(rc, st, g0, g1, applied);
      st->updates += 1;
      if (observer != nullptr) observer->BeforeUpdate(rc, st, static_cast<int>(ss.updates), applied);
      const bool dense = st->optimizer->Step(st->grad, st->updates, st->policy->params());
      if (dense) {
        st->policy->ParamsChanged();
      } else {
        st->policy->BlocksChanged(st->grad);
      }
      if (observer != nullptr) observer->AfterUpdate(rc, st, static_cast<int>(ss.updates));
      ss.grad_norm_sum += gnorm;
      ss.update_norm_sum += st->optimizer->UpdateNorm(applied);
      ss.updates += 1;
    }
  }
  // The adaptive KL controller (Ziegler et al. 2019, arXiv 1909.08593; verl
  // AdaptiveKLController, estimators.md §5.3), once a step after its updates:
  // KL = the mean over the step's rollouts of each one's token-mean KL
  // estimate (kl.estimator's value) of the sampling policy to pi_0 (verl's
  // current_kl), n = the rollouts the estimator saw (verl: n_steps = the batch
  // size in sequences). The next step uses the new coefficient.
  if (rc.kl_target > 0.0 && st->batch.num_rollouts() > 0) {
    const int n = st->batch.num_rollouts();
    st->kl_coef =
        AdaptiveKlCoefficient(st->kl_coef, ss.kl_seq_sum / n, rc.kl_target, rc.kl_horizon, n);
  }
  st->step += 1;
  st->metrics.AddStep(StepView{st->batch, ss, st->sampling, StepCost(rc, st->sampling, ss)});
}

void Evaluate(const RunConfig& rc, RunState* st, double* m) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Task& task = *st->task;
  Policy& policy = *st->policy;
  // The training loop's advance: an eval at step t sees step t's training
  // window, the curriculum's decision at t included (Step repeats the call).
  task.AdvanceTraining(st->step, &policy);
  // pi_0 for kl_init: the run's reference when KL or AAPO built one, else built
  // here at the first eval (it is frozen, so sharing it changes no bit).
  if (!st->reference) st->reference = std::make_unique<ReferencePolicy>(task);
  Policy* reference = st->reference.get();
  const auto& eval = task.eval_prompts();
  double acc = 0.0, pass = 0.0, ent = 0.0, kl = 0.0;
  double bin_sum[kDifficultyBins] = {0, 0, 0, 0};
  int64_t bin_n[kDifficultyBins] = {0, 0, 0, 0};
  for (size_t i = 0; i < eval.size(); ++i) {
    const int32_t prompt = eval[i];
    const double p = task.SuccessProbability(&policy, prompt);
    acc += p;
    const int b = DifficultyBin(task.difficulty(prompt));
    bin_sum[b] += p;
    bin_n[b] += 1;
    double miss = 1.0;  // (1 - p)^k by repeated multiplication: exact order, no pow
    for (int j = 0; j < rc.pass_k; ++j) miss *= 1.0 - p;
    pass += 1.0 - miss;
    ent += policy.Entropy(task.FirstState(prompt));
    kl += task.SequenceKL(&policy, reference, prompt);  // over whole responses
  }
  const double n = static_cast<double>(eval.size());
  EvalPoint e;
  e.accuracy = acc / n;
  for (int b = 0; b < kDifficultyBins; ++b) e.accuracy_bin[b] = bin_n[b] ? bin_sum[b] / bin_n[b] : nan;
  e.pass_at_k = pass / n;
  e.entropy = ent / n;
  e.kl_init = kl / n;
  // Exact accuracy on the current training distribution (the true objective).
  std::vector<int32_t> prompts;
  std::vector<double> weights;
  task.TrainingDistribution(&prompts, &weights);
  for (size_t i = 0; i < prompts.size(); ++i) {
    e.train_accuracy += weights[i] * task.SuccessProbability(&policy, prompts[i]);
  }
  task.BinEntrySteps(e.entry_step_bin);
  e.grad_cosine = st->diag_valid ? st->diag_cosine : nan;
  e.grad_rel_err = st->diag_valid ? st->diag_rel_err : nan;
  e.grad_var = st->diag_valid ? st->diag_var : nan;
  e.grad_var_ratio = st->diag_valid ? st->diag_var_ratio : nan;
  e.grad_mean_cosine = st->diag_valid ? st->diag_mean_cosine : nan;
  e.grad_fit_err = st->diag_valid ? st->diag_fit_err : nan;
  for (int b = 0; b < kDifficultyBins; ++b) {
    e.update_share_bin[b] = st->diag_valid ? st->diag_update_share[b] : nan;
    e.exact_share_bin[b] = st->diag_valid ? st->diag_exact_share[b] : nan;
  }
  // Measured on the window's last step; the eval at step 0 has none.
  e.baseline_rmse = st->step > 0 && st->next_eval == st->step ? st->baseline_rmse : nan;
  st->metrics.Finish(e, m);
  st->diag_valid = false;
}

void AdvanceRun(const RunConfig& rc, RunState* st, int64_t stop, RunRecord* rec,
                StepObserver* observer) {
  ADVLAB_CHECK_LE(stop, rc.steps);
  const std::vector<int64_t> evals = rc.EvalSteps();
  const size_t M = MetricNames().size(), E = evals.size();
  std::vector<double> col(M);
  for (size_t e = static_cast<size_t>(st->evals_done); e < E; ++e) {
    st->next_eval = evals[e];
    while (st->step < evals[e] && st->step < stop) {
      if (rc.diagnostics && st->step + 1 == evals[e]) {
        DiagnosedStep(rc, st, observer);
      } else {
        Step(rc, st, observer);
      }
    }
    if (st->step < evals[e]) return;  // stopped between two eval points
    Evaluate(rc, st, col.data());
    st->evals_done = static_cast<int64_t>(e) + 1;
    if (rec != nullptr) {
      for (size_t i = 0; i < M; ++i) rec->values[i * E + e] = col[i];
    }
    if (st->step >= stop) return;
  }
}

RunRecord TrainRun(const RunConfig& rc) {
  RunState st;
  InitRun(rc, &st);
  RunRecord rec;
  rec.values.assign(MetricNames().size() * rc.EvalSteps().size(), 0.0);
  AdvanceRun(rc, &st, rc.steps, &rec);
  return rec;
}

}  // namespace advlab
