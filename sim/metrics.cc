#include "sim/metrics.h"

#include <limits>

#include "sim/check.h"

namespace advlab {
namespace {

using K = MetricKind;
using S = const StepView&;
using E = const EvalPoint&;

double D(int64_t v) { return static_cast<double>(v); }
double One(S) { return 1.0; }
double Rollouts(S s) { return D(s.batch.num_rollouts()); }

// The one table. Order = results-file order; append new metrics at the end
// (the golden digests hash the datasets by name, so order is free, but readers
// of old files expect the old ones to stay).
const std::vector<MetricSpec> kMetrics = {
    {"accuracy", "fraction", K::kEval,
     "exact mean success probability over the held eval prompts", nullptr, nullptr,
     [](E e) { return e.accuracy; }},
    {"accuracy_bin0", "fraction", K::kEval, "accuracy on eval prompts of difficulty [0, 0.25)",
     nullptr, nullptr, [](E e) { return e.accuracy_bin[0]; }},
    {"accuracy_bin1", "fraction", K::kEval, "accuracy on eval prompts of difficulty [0.25, 0.5)",
     nullptr, nullptr, [](E e) { return e.accuracy_bin[1]; }},
    {"accuracy_bin2", "fraction", K::kEval, "accuracy on eval prompts of difficulty [0.5, 0.75)",
     nullptr, nullptr, [](E e) { return e.accuracy_bin[2]; }},
    {"accuracy_bin3", "fraction", K::kEval, "accuracy on eval prompts of difficulty [0.75, 1]",
     nullptr, nullptr, [](E e) { return e.accuracy_bin[3]; }},
    {"pass_at_k", "fraction", K::kEval, "exact mean pass@k, 1 - (1 - p)^k (k = eval.pass_k)",
     nullptr, nullptr, [](E e) { return e.pass_at_k; }},
    {"entropy", "nats", K::kEval, "mean policy entropy at the first decision of the eval prompts",
     nullptr, nullptr, [](E e) { return e.entropy; }},
    {"kl_init", "nats", K::kEval,
     "mean exact KL(pi || pi_0) of the whole response distribution over the eval prompts",
     nullptr, nullptr,
     [](E e) { return e.kl_init; }},
    {"train_reward", "reward", K::kWindowMean,
     "mean observed (possibly noisy) verifier reward of the training rollouts",
     [](S s) { return s.stats.reward_sum; }, Rollouts, nullptr},
    {"response_length", "tokens", K::kWindowMean, "mean length of the training rollouts",
     [](S s) { return D(s.stats.length_sum); }, Rollouts, nullptr},
    {"zero_adv_frac", "fraction", K::kWindowMean, "share of rollouts with advantage exactly 0",
     [](S s) { return D(s.stats.zero_adv); }, Rollouts, nullptr},
    {"same_reward_group_frac", "fraction", K::kWindowMean,
     "share of groups whose rewards are all equal",
     [](S s) { return D(s.stats.same_groups); }, [](S s) { return D(s.batch.num_groups()); },
     nullptr},
    {"kept_frac", "fraction", K::kWindowMean, "share of rollouts kept by filters (DASH)",
     [](S s) { return D(s.stats.kept); }, Rollouts, nullptr},
    {"tokens_backprop", "tokens", K::kCumulative,
     "tokens with a non-zero loss coefficient, over every update since step 0",
     [](S s) { return D(s.stats.backprop); }, nullptr, nullptr},
    {"grad_norm", "norm", K::kWindowMean,
     "mean over steps of the mean pre-clip gradient norm of the step's updates",
     [](S s) { return s.stats.updates > 0 ? s.stats.grad_norm_sum / s.stats.updates : 0.0; },
     One, nullptr},
    {"truncated_frac", "fraction", K::kWindowMean, "share of rollouts cut at the length limit",
     [](S s) { return D(s.stats.truncated); }, Rollouts, nullptr},
    {"response_length_correct", "tokens", K::kWindowRatio,
     "mean length of the correct training rollouts",
     [](S s) { return D(s.stats.length_correct); }, [](S s) { return D(s.stats.correct); },
     nullptr},
    {"response_length_wrong", "tokens", K::kWindowRatio,
     "mean length of the wrong training rollouts",
     [](S s) { return D(s.stats.length_sum - s.stats.length_correct); },
     [](S s) { return D(s.batch.num_rollouts() - s.stats.correct); }, nullptr},
    {"train_accuracy", "fraction", K::kEval,
     "exact success probability on the current training distribution", nullptr, nullptr,
     [](E e) { return e.train_accuracy; }},
    {"grad_cosine", "cosine", K::kDiagnostic,
     "cosine between the last update before the eval and the exact gradient", nullptr, nullptr,
     [](E e) { return e.grad_cosine; }},
    {"grad_rel_err", "ratio", K::kDiagnostic,
     "mean |g_hat - grad J|^2 / |grad J|^2 over diagnostics.samples fresh batches", nullptr,
     nullptr, [](E e) { return e.grad_rel_err; }},
    {"grad_var", "ratio", K::kDiagnostic,
     "summed per-parameter variance of g_hat over those batches / |grad J|^2", nullptr, nullptr,
     [](E e) { return e.grad_var; }},
    {"grad_mean_cosine", "cosine", K::kDiagnostic,
     "cosine between the mean g_hat of those batches and the exact gradient (direction only)",
     nullptr, nullptr, [](E e) { return e.grad_mean_cosine; }},
    {"grad_fit_err", "ratio", K::kDiagnostic,
     "min_c |c mean g_hat - grad J|^2 / |grad J|^2: the bias left after the best rescaling",
     nullptr, nullptr, [](E e) { return e.grad_fit_err; }},
    {"tas_frac", "fraction", K::kWindowRatio,
     "ADORA: share of groups judged temporarily advantageous",
     [](S s) { return D(s.stats.tas_groups); }, [](S s) { return D(s.stats.judged_groups); },
     nullptr},
    {"sampling_rounds", "rounds", K::kWindowMean, "sampling rounds per step (DAPO resamples)",
     [](S s) { return D(s.sampling.rounds); }, One, nullptr},
    {"discarded_frac", "fraction", K::kWindowMean,
     "share of generated policy rollouts not in the batch (DAPO)",
     [](S s) {
       return D(s.sampling.generated_rollouts - s.sampling.extra_rollouts -
                s.batch.num_rollouts());
     },
     [](S s) { return D(s.sampling.generated_rollouts - s.sampling.extra_rollouts); }, nullptr},
    {"sim_cost", "cost units", K::kCumulative,
     "simulated compute cost since step 0 (docs/estimators.md, Compute cost)",
     [](S s) { return s.cost; }, nullptr, nullptr},
    {"clip_frac", "fraction", K::kWindowRatio,
     "clipping losses (ppo): share of loss tokens with an active clip",
     [](S s) { return D(s.stats.clipped); }, [](S s) { return D(s.stats.loss_tokens); },
     nullptr},
    {"kl_ref", "nats", K::kWindowRatio,
     "mean KL estimate (kl.estimator) of the sampled tokens to pi_0, when kl.coef > 0",
     [](S s) { return s.stats.kl_sum; }, [](S s) { return D(s.stats.kl_tokens); }, nullptr},
    {"samples", "rollouts", K::kCumulative,
     "rollouts generated since step 0, DAPO's discarded and AAPO/ReMax's extra ones included",
     [](S s) { return D(s.sampling.generated_rollouts); }, nullptr, nullptr},
    {"tokens_generated", "tokens", K::kCumulative,
     "tokens generated since step 0: the tokens of every rollout `samples` counts",
     [](S s) { return D(s.sampling.generated_tokens); }, nullptr, nullptr},
    {"update_norm", "norm", K::kWindowMean,
     "mean over the window's optimizer steps of the applied update's L2 norm (sgd: lr x the "
     "gradient norm after clipping and train.match_update; adam: its step's norm)",
     [](S s) { return s.stats.update_norm_sum; }, [](S s) { return D(s.stats.updates); },
     nullptr},
    {"adora_weight", "weight", K::kWindowRatio,
     "ADORA: mean weight applied per judged group (TAS and TDS alike)",
     [](S s) { return s.stats.weight_sum; }, [](S s) { return D(s.stats.judged_groups); },
     nullptr},
    {"tas_mixed_frac", "fraction", K::kWindowRatio,
     "ADORA: share of mixed groups (some rollout right, some wrong) judged temporarily "
     "advantageous",
     [](S s) { return D(s.stats.tas_mixed_groups); }, [](S s) { return D(s.stats.mixed_groups); },
     nullptr},
    {"entry_step_bin0", "step", K::kSchedule,
     "step training prompts of difficulty [0, 0.25) (last) entered the training distribution",
     nullptr, nullptr, [](E e) { return e.entry_step_bin[0]; }},
    {"entry_step_bin1", "step", K::kSchedule,
     "step training prompts of difficulty [0.25, 0.5) (last) entered the training distribution",
     nullptr, nullptr, [](E e) { return e.entry_step_bin[1]; }},
    {"entry_step_bin2", "step", K::kSchedule,
     "step training prompts of difficulty [0.5, 0.75) (last) entered the training distribution",
     nullptr, nullptr, [](E e) { return e.entry_step_bin[2]; }},
    {"entry_step_bin3", "step", K::kSchedule,
     "step training prompts of difficulty [0.75, 1] (last) entered the training distribution",
     nullptr, nullptr, [](E e) { return e.entry_step_bin[3]; }},
    {"update_share_bin0", "fraction", K::kDiagnostic,
     "share <g_k, g> / |g|^2 of the mean g_hat g from rollouts of prompts of difficulty [0, 0.25)",
     nullptr, nullptr, [](E e) { return e.update_share_bin[0]; }},
    {"update_share_bin1", "fraction", K::kDiagnostic,
     "share <g_k, g> / |g|^2 of the mean g_hat g from rollouts of prompts of difficulty [0.25, 0.5)",
     nullptr, nullptr, [](E e) { return e.update_share_bin[1]; }},
    {"update_share_bin2", "fraction", K::kDiagnostic,
     "share <g_k, g> / |g|^2 of the mean g_hat g from rollouts of prompts of difficulty [0.5, 0.75)",
     nullptr, nullptr, [](E e) { return e.update_share_bin[2]; }},
    {"update_share_bin3", "fraction", K::kDiagnostic,
     "share <g_k, g> / |g|^2 of the mean g_hat g from rollouts of prompts of difficulty [0.75, 1]",
     nullptr, nullptr, [](E e) { return e.update_share_bin[3]; }},
    {"exact_share_bin0", "fraction", K::kDiagnostic,
     "the same share of the exact gradient from training prompts of difficulty [0, 0.25)",
     nullptr, nullptr, [](E e) { return e.exact_share_bin[0]; }},
    {"exact_share_bin1", "fraction", K::kDiagnostic,
     "the same share of the exact gradient from training prompts of difficulty [0.25, 0.5)",
     nullptr, nullptr, [](E e) { return e.exact_share_bin[1]; }},
    {"exact_share_bin2", "fraction", K::kDiagnostic,
     "the same share of the exact gradient from training prompts of difficulty [0.5, 0.75)",
     nullptr, nullptr, [](E e) { return e.exact_share_bin[2]; }},
    {"exact_share_bin3", "fraction", K::kDiagnostic,
     "the same share of the exact gradient from training prompts of difficulty [0.75, 1]",
     nullptr, nullptr, [](E e) { return e.exact_share_bin[3]; }},
    {"adora_flip_frac", "fraction", K::kWindowRatio,
     "ADORA: share of re-judged groups (prompt judged before) whose label differs from the "
     "prompt's previous one",
     [](S s) { return D(s.stats.flipped_groups); }, [](S s) { return D(s.stats.rejudged_groups); },
     nullptr},
    {"baseline_rmse", "reward", K::kDiagnostic,
     "RMS over the rollouts of the last step before the eval of b_r - E[R | q_r]: the "
     "estimator's baseline against the exact expected reward of the prompt (NaN: no baseline)",
     nullptr, nullptr, [](E e) { return e.baseline_rmse; }},
    {"grad_var_ratio", "ratio", K::kDiagnostic,
     "grad_var over the variance of the `optimal` baseline's estimate on the same diagnostic "
     "batches (1: as good as the variance-optimal baseline)",
     nullptr, nullptr, [](E e) { return e.grad_var_ratio; }},
};

}  // namespace

const std::vector<MetricSpec>& Metrics() { return kMetrics; }

const std::vector<std::string>& MetricNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const MetricSpec& m : kMetrics) n.push_back(m.name);
    return n;
  }();
  return names;
}

int MetricIndex(const std::string& name) {
  for (size_t i = 0; i < kMetrics.size(); ++i)
    if (name == kMetrics[i].name) return static_cast<int>(i);
  return -1;
}

const char* MetricKindName(MetricKind kind) {
  switch (kind) {
    case K::kEval: return "eval";
    case K::kDiagnostic: return "diagnostic";
    case K::kWindowMean: return "window mean";
    case K::kWindowRatio: return "window ratio";
    case K::kCumulative: return "cumulative";
    case K::kSchedule: return "schedule";
  }
  return "?";
}

MetricAccumulator::MetricAccumulator() : num_(kMetrics.size(), 0.0), den_(kMetrics.size(), 0.0) {}

void MetricAccumulator::AddStep(const StepView& step) {
  steps_ += 1;
  for (size_t i = 0; i < kMetrics.size(); ++i) {
    const MetricSpec& m = kMetrics[i];
    if (m.num != nullptr) num_[i] += m.num(step);
    if (m.den != nullptr) den_[i] += m.den(step);
  }
}

void MetricAccumulator::Finish(const EvalPoint& eval, double* out) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < kMetrics.size(); ++i) {
    const MetricSpec& m = kMetrics[i];
    switch (m.kind) {
      case K::kEval:
      case K::kDiagnostic:
      case K::kSchedule: out[i] = m.at_eval(eval); break;
      // Over no step, 0/0 would be a NaN of the other sign: say NaN explicitly.
      case K::kWindowMean: out[i] = steps_ > 0 ? num_[i] / den_[i] : nan; break;
      case K::kWindowRatio: out[i] = den_[i] > 0.0 ? num_[i] / den_[i] : nan; break;
      case K::kCumulative: out[i] = num_[i]; break;
    }
  }
  for (size_t i = 0; i < kMetrics.size(); ++i) {
    if (kMetrics[i].kind != K::kCumulative) num_[i] = den_[i] = 0.0;
  }
  steps_ = 0;
}

}  // namespace advlab
