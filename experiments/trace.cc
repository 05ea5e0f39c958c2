#include "experiments/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>

#include "analysis/table.h"
#include "experiments/options.h"
#include "experiments/sweep.h"
#include "sim/check.h"
#include "sim/diagnostics.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/gradient.h"
#include "sim/loop.h"
#include "sim/step_observer.h"

namespace advlab {

const char kTraceArgs[] =
    "[--config FILE] [--key=value ...] --step T [--prompts N | --groups I,J,...]\n"
    "[--estimator A,B,...] [--json]";

const char kTraceUsage[] =
    "Replays the run to step T (the same bits as `advlab run`) and shows step T\n"
    "(0-based, T < train.steps) in full: the prompts drawn with their difficulty and\n"
    "exact success probability p, each group's rollouts (tokens, reward, length,\n"
    "truncation), the run's advantages with each --estimator's beside them, kept\n"
    "flags and baselines, the per-token loss coefficients of the first update, every\n"
    "update's gradient norm, and the parameter change against the exact gradient of\n"
    "the training objective (docs/trace.md).\n"
    "  --step T          the step shown (required)\n"
    "  --prompts N       show the first N groups of the batch (default 4)\n"
    "  --groups I,J,...  show these groups (batch slots, from 0) instead\n"
    "  --estimator A,B   estimators shown beside the run's, on the same rollouts; each\n"
    "                    is fed every replayed step's batch, so a stateful one has the\n"
    "                    state it would have had watching this run (default: the\n"
    "                    base estimator and each prefix of a modifier chain)\n"
    "  --json            every number with all digits, every group, one JSON object\n";

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The estimators shown beside the run's when --estimator is not given: the
// prefixes of a modifier chain ("grpo", "grpo+adora" for grpo+adora+dash), so
// each modifier's effect is one column to the next.
std::vector<std::string> DefaultEstimators(const std::string& run) {
  std::vector<std::string> out;
  size_t plus = run.find('+');
  while (plus != std::string::npos) {
    out.push_back(run.substr(0, plus));
    plus = run.find('+', plus + 1);
  }
  return out;
}

// Why `name` cannot be shown beside the run (it must compute its advantages
// from the run's batch alone), or "".
std::string ShadowRefusal(const RunConfig& rc, const Task& task, const std::string& name) {
  const EstimatorSpec spec = ParseEstimatorName(name, "--estimator");
  const std::string what = "--estimator " + name;
  if (spec.base->needs_greedy) {
    return what + ": " + spec.base->name + " decodes its own greedy responses, which the traced "
           "run did not sample; trace a run of it (--estimator.name=" + name + ") instead";
  }
  for (const ModifierEntry* m : spec.modifiers) {
    if (m->needs_reference || m->resamples) {
      return what + ": " + m->name + (m->resamples ? " resamples the batch" : " samples reference "
             "rollouts") + ", which the traced run did not; trace a run of it "
             "(--estimator.name=" + name + ") instead";
    }
  }
  if (spec.needs_groups() && rc.group_size < 2) {
    return what + " compares the rollouts of a group, but train.group_size = " +
           std::to_string(rc.group_size) + "; allowed: train.group_size >= 2";
  }
  if (spec.base->whitens_tokens && static_cast<int64_t>(rc.batch_prompts) * rc.group_size < 2) {
    return what + " whitens over the batch's tokens, which needs at least 2; allowed: "
           "train.batch_prompts x train.group_size >= 2";
  }
  if (spec.base->group_refusal) {
    const std::string why = spec.base->group_refusal(&rc.config, rc.group_size);
    if (!why.empty()) return what + ": " + why;
  }
  try {
    for (const ModifierEntry* m : spec.modifiers) {
      if (m->check) m->check(rc.config, task);
    }
  } catch (const UserError& e) {
    return what + ": " + e.what();
  }
  return "";
}

// A shadow estimator: its own instance and batch, fed every step's rollouts.
struct Shadow {
  std::string name;
  std::unique_ptr<Estimator> estimator;
  Batch batch;
};

class Tracer : public StepObserver {
 public:
  Tracer(const TraceOptions& options, StepTrace* out) : options_(options), out_(out) {}

  std::vector<Shadow> shadows;

  void Prepared(const RunConfig& rc, RunState* st) override {
    for (Shadow& s : shadows) {
      s.batch.Clear();
      for (int g = 0; g < st->batch.num_groups(); ++g) s.batch.AppendGroup(st->batch, g);
      PrepareBatch(rc, st, &s.batch, s.estimator.get());
    }
    if (st->step != options_.step) return;
    const Batch& b = st->batch;
    const int64_t n = st->policy->num_params();
    out_->num_groups = b.num_groups();
    out_->num_rollouts = b.num_rollouts();
    out_->num_tokens = b.num_tokens();
    out_->num_params = n;
    before_.assign(st->policy->params(), st->policy->params() + n);
    ExactObjectiveGradient(rc, st, &exact_);
    exact_sq_ = Dot(exact_, exact_);
    out_->exact_norm = std::sqrt(exact_sq_);
    // Each estimator's gradient on the whole batch at the sampling parameters.
    SparseGrad g;
    g.Init(n, st->policy->grad_block_size());
    std::vector<double> dense;
    for (size_t e = 0; e <= shadows.size(); ++e) {
      const Batch& eb = e == 0 ? b : shadows[e - 1].batch;
      StepStats unused;
      MinibatchGradient(rc, st, eb, 0, eb.num_groups(), &g, &unused);
      g.ToDense(-1.0, &dense);
      TraceEstimator te;
      te.name = e == 0 ? rc.config.Str("estimator.name") : shadows[e - 1].name;
      te.run = e == 0;
      const double sq = Dot(dense, dense);
      te.norm = std::sqrt(sq);
      double err = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double d = dense[i] - exact_[i];
        err += d * d;
      }
      te.rel_err = exact_sq_ > 0.0 ? err / exact_sq_ : kNan;
      te.cosine = exact_sq_ > 0.0 && sq > 0.0 ? Dot(dense, exact_) / (te.norm * out_->exact_norm)
                                             : kNan;
      out_->estimators.push_back(te);
      if (e == 0) g_hat_ = dense;
    }
    // The groups shown.
    std::vector<int> slots = options_.groups;
    if (slots.empty()) {
      const int count = options_.json ? b.num_groups() : std::min(options_.prompts, b.num_groups());
      for (int i = 0; i < count; ++i) slots.push_back(i);
    }
    for (int slot : slots) {
      if (slot >= b.num_groups()) {
        throw UserError("--groups " + std::to_string(slot) + ": step " +
                        std::to_string(options_.step) + "'s batch has " +
                        std::to_string(b.num_groups()) + " groups; allowed: 0 to " +
                        std::to_string(b.num_groups() - 1));
      }
      TraceGroup tg;
      tg.slot = slot;
      tg.prompt = b.prompt[slot];
      tg.difficulty = st->task->difficulty(tg.prompt);
      tg.bin = DifficultyBin(tg.difficulty);
      tg.p = st->task->SuccessProbability(st->policy.get(), tg.prompt);
      for (int r = b.group_begin[slot]; r < b.group_begin[slot + 1]; ++r) {
        TraceRollout tr;
        for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
          tr.tokens.push_back(b.token[t]);
          tr.states.push_back(b.state[t]);
        }
        tr.reward = b.reward[r];
        tr.correct = b.correct[r] != 0;
        tr.truncated = b.truncated[r] != 0;
        tr.advantage.push_back(b.advantage[r]);
        for (const Shadow& s : shadows) tr.advantage.push_back(s.batch.advantage[r]);
        tr.kept = b.kept.empty() || b.kept[r] != 0;
        tr.baseline = b.baseline.empty() ? kNan : b.baseline[r];
        tr.control = rc.match_update ? st->match_advantage[r] : kNan;
        tg.rollouts.push_back(tr);
      }
      out_->groups.push_back(tg);
    }
  }

  void Gradient(const RunConfig& rc, RunState* st, int update, int g0, int g1) override {
    (void)rc;
    if (st->step != options_.step) return;
    TraceUpdate u;
    u.g0 = g0;
    u.g1 = g1;
    u.grad_norm = st->grad.Norm();
    out_->updates.push_back(u);
    if (update != 0) return;
    const Batch& b = st->batch;
    ADVLAB_CHECK_GE(st->coef.size(), static_cast<size_t>(b.num_tokens()));
    for (TraceGroup& tg : out_->groups) {
      if (tg.slot < g0 || tg.slot >= g1) continue;
      for (size_t i = 0; i < tg.rollouts.size(); ++i) {
        const int r = b.group_begin[tg.slot] + static_cast<int>(i);
        tg.rollouts[i].coef.assign(st->coef.begin() + b.token_begin[r],
                                   st->coef.begin() + b.token_begin[r + 1]);
      }
    }
  }

  void BeforeUpdate(const RunConfig& rc, RunState* st, int update, double applied) override {
    (void)rc;
    (void)update;
    if (st->step != options_.step) return;
    out_->updates.back().applied = applied;
    const int64_t n = st->policy->num_params();
    update_before_.assign(st->policy->params(), st->policy->params() + n);
  }

  void AfterUpdate(const RunConfig& rc, RunState* st, int update) override {
    (void)rc;
    if (st->step != options_.step) return;
    const double* p = st->policy->params();
    const int64_t n = st->policy->num_params();
    const ChangeVsExact c = CompareChange(update_before_.data(), p, exact_, exact_sq_);
    out_->updates.back().update_norm = c.norm;
    if (update != 0) return;
    out_->first_cosine = c.cosine;
    const int K = st->policy->num_actions();
    const bool tabular = st->policy->tabular_rows() != nullptr;
    for (int64_t i = 0; i < n; ++i) {
      const double u = p[i] - update_before_[i];
      if (u == 0.0 && g_hat_[i] == 0.0) continue;
      TraceParam tp;
      tp.index = i;
      if (tabular) {
        tp.state = static_cast<int32_t>(i / K);
        tp.action = static_cast<int32_t>(i % K);
      }
      tp.before = update_before_[i];
      tp.g_hat = g_hat_[i];
      tp.exact = exact_[i];
      tp.delta = u;
      out_->params.push_back(tp);
    }
  }

  // After the step: the cosine of the whole step's change with grad J, as
  // DiagnosedStep computes grad_cosine (the same loop, the same bits).
  void Finish(RunState* st) {
    const int64_t n = st->policy->num_params();
    const double* after = st->policy->params();
    out_->step_cosine = CompareChange(before_.data(), after, exact_, exact_sq_).cosine;
    out_->params_after.assign(after, after + n);
  }

 private:
  const TraceOptions& options_;
  StepTrace* out_;
  std::vector<double> before_, exact_, g_hat_, update_before_;
  double exact_sq_ = 0.0;  // |grad J|^2
};

std::string RunSummary(const RunConfig& rc) {
  const Config& c = rc.config;
  std::string s;
  for (const char* key : {"env.name", "policy.kind", "estimator.name", "train.loss",
                          "train.loss_agg", "optim.name", "optim.lr", "train.batch_prompts",
                          "train.group_size"}) {
    s += (s.empty() ? "" : "  ") + std::string(key) + "=" + c.Str(key);
  }
  if (rc.epochs * rc.minibatches > 1) {
    s += "  train.epochs=" + c.Str("train.epochs") + "  train.minibatches=" + c.Str("train.minibatches");
  }
  if (rc.match_update) s += "  train.match_update=" + c.Str("train.match_update");
  if (rc.kl_coef > 0.0) s += "  kl.coef=" + c.Str("kl.coef") + "  kl.where=" + c.Str("kl.where");
  if (rc.max_grad_norm > 0.0) s += "  optim.max_grad_norm=" + c.Str("optim.max_grad_norm");
  return s;
}

// For each modifier of the run's chain: the column of the chain up to it and
// the column before it, when both are shown, give its factor per group.
void AddModifierWeights(const std::string& run_name, StepTrace* out) {
  const EstimatorSpec spec = ParseEstimatorName(run_name);
  std::string before = spec.base->name;
  auto column = [&](const std::string& name) {
    for (size_t e = 0; e < out->estimators.size(); ++e) {
      if (out->estimators[e].name == name) return static_cast<int>(e);
    }
    return -1;
  };
  for (const ModifierEntry* m : spec.modifiers) {
    const std::string after = before + "+" + m->name;
    const int b = column(before), a = column(after);
    before = after;
    if (a < 0 || b < 0) continue;
    for (TraceGroup& g : out->groups) {
      double w = kNan;
      bool varies = false;
      for (const TraceRollout& r : g.rollouts) {
        if (r.advantage[b] == 0.0) continue;
        const double ratio = r.advantage[a] / r.advantage[b];
        if (std::isnan(w)) {
          w = ratio;
        } else if (std::fabs(ratio - w) > 1e-12 * std::fabs(w)) {
          varies = true;
        }
      }
      g.modifiers.push_back(m->name);
      g.weights.push_back(varies ? kNan : w);
    }
  }
}

}  // namespace

StepTrace TraceStep(const RunConfig& rc, const TraceOptions& options) {
  if (options.step < 0 || options.step >= rc.steps) {
    throw UserError("--step " + std::to_string(options.step) + " is beyond the run: train.steps = " +
                    std::to_string(rc.steps) + "; allowed: 0 to " + std::to_string(rc.steps - 1));
  }
  for (int slot : options.groups) {
    if (slot < 0 || slot >= rc.batch_prompts) {
      throw UserError("--groups " + std::to_string(slot) + ": out of range; a batch has " +
                      "train.batch_prompts = " + std::to_string(rc.batch_prompts) +
                      " groups; allowed: 0 to " + std::to_string(rc.batch_prompts - 1));
    }
  }
  StepTrace out;
  out.step = options.step;
  out.steps = rc.steps;
  out.summary = RunSummary(rc);
  RunState st;
  InitRun(rc, &st);
  Tracer tracer(options, &out);
  const std::string run_name = rc.config.Str("estimator.name");
  std::vector<std::string> names =
      options.estimators.empty() ? DefaultEstimators(run_name) : options.estimators;
  for (const std::string& name : names) {
    if (name == run_name) continue;  // the run's own column
    bool repeated = false;
    for (const Shadow& s : tracer.shadows) repeated = repeated || s.name == name;
    if (repeated) continue;
    const std::string why = ShadowRefusal(rc, *st.task, name);
    if (!why.empty()) throw UserError(why);
    Shadow s;
    s.name = name;
    s.estimator = MakeEstimator(name);
    s.estimator->Bind(EstimatorContext{&rc.config, st.task.get(), st.policy.get(),
                                       rc.false_positive, rc.false_negative});
    tracer.shadows.push_back(std::move(s));
  }
  AdvanceRun(rc, &st, options.step + 1, nullptr, &tracer);
  tracer.Finish(&st);
  AddModifierWeights(run_name, &out);
  return out;
}

namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string Tokens(const std::vector<int32_t>& t) {
  std::string s;
  const size_t shown = std::min<size_t>(t.size(), 10);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) s += ' ';
    s += std::to_string(t[i]);
  }
  if (t.size() > shown) s += " ...";
  return s;
}

TableColumn Col(const std::string& header, bool right) { return {header, {header}, right}; }

// A rollout's coefficients: one value when every token has it.
std::string Coefs(const std::vector<double>& c) {
  if (c.empty()) return "(not in update 1)";
  bool same = true;
  for (double v : c) same = same && v == c[0];
  if (same) return c.size() == 1 ? Num(c[0]) : Num(c[0]) + " x" + std::to_string(c.size());
  return Num(c.front()) + " .. " + Num(c.back());
}

}  // namespace

void PrintTrace(const StepTrace& tr, std::ostream& out) {
  out << "advlab trace: step " << tr.step << " of train.steps = " << tr.steps << "\n";
  out << "run: " << tr.summary << "\n";
  out << "batch: " << tr.num_groups << " groups, " << tr.num_rollouts << " rollouts, "
      << tr.num_tokens << " tokens; shown: " << tr.groups.size() << " group"
      << (tr.groups.size() == 1 ? "" : "s") << " (--prompts N, --groups I,J,...)\n";
  out << "columns: R the observed reward, ok correct, len tokens, cut truncated; one column of\n"
         "advantages per estimator (* the run's), then the run's kept flag, baseline b and\n"
         "each token's loss coefficient in update 1 (gradient = sum_t coef_t grad log pi)\n";
  if (!tr.groups.empty() && !tr.groups[0].modifiers.empty()) {
    out << "after each group: each modifier's factor on its advantages (one column over the\n"
           "one before; - where those are all 0)\n";
  }
  bool any_baseline = false, any_control = false, any_dropped = false;
  for (const TraceGroup& g : tr.groups) {
    for (const TraceRollout& r : g.rollouts) {
      any_baseline = any_baseline || !std::isnan(r.baseline);
      any_control = any_control || !std::isnan(r.control);
      any_dropped = any_dropped || !r.kept;
    }
  }
  for (const TraceGroup& g : tr.groups) {
    Table t;
    t.columns = {Col("r", true), Col("tokens", false), Col("R", true),
                 Col("ok", true), Col("len", true),    Col("cut", true)};
    for (const TraceEstimator& e : tr.estimators) t.columns.push_back(Col(e.name + (e.run ? "*" : ""), true));
    if (any_control) t.columns.push_back(Col("control", true));
    if (any_dropped) t.columns.push_back(Col("kept", true));
    if (any_baseline) t.columns.push_back(Col("b", true));
    t.columns.push_back(Col("coef", true));
    for (size_t i = 0; i < g.rollouts.size(); ++i) {
      const TraceRollout& r = g.rollouts[i];
      std::vector<Cell> row = {IntCell(static_cast<int64_t>(i)), TextCell(Tokens(r.tokens)),
                               TextCell(Num(r.reward)), IntCell(r.correct),
                               IntCell(static_cast<int64_t>(r.tokens.size())), IntCell(r.truncated)};
      for (double a : r.advantage) row.push_back(TextCell(Num(a)));
      if (any_control) row.push_back(TextCell(Num(r.control)));
      if (any_dropped) row.push_back(IntCell(r.kept));
      if (any_baseline) row.push_back(TextCell(Num(r.baseline)));
      row.push_back(TextCell(Coefs(r.coef)));
      t.rows.push_back(row);
    }
    char head[160];
    std::snprintf(head, sizeof head, "group %d: prompt %d, difficulty %.3f (bin %d), p = %.4f",
                  g.slot, g.prompt, g.difficulty, g.bin, g.p);
    std::string mods;
    for (size_t i = 0; i < g.modifiers.size(); ++i) {
      mods += (i ? ", " : "; ") + g.modifiers[i] +
              (std::isnan(g.weights[i]) ? std::string(" -") : " x" + Num(g.weights[i]));
    }
    int kept = 0;
    for (const TraceRollout& r : g.rollouts) kept += r.kept ? 1 : 0;
    if (any_dropped) mods += "; kept " + std::to_string(kept) + " of " + std::to_string(g.rollouts.size());
    out << "\n" << head << mods << "\n" << FormatText(t);
  }
  out << "\nestimators on this batch: g_hat = the ascent direction of each one's loss on the\n"
         "whole batch at the sampling parameters, against grad J, the exact gradient of the\n"
         "training objective at step " << tr.step << " (|grad J| = " << Num(tr.exact_norm) << ")\n";
  {
    Table t;
    t.columns = {Col("estimator", false), Col("|g_hat|", true), Col("cos(g_hat, grad J)", true),
                 Col("|g_hat - grad J|^2/|grad J|^2", true)};
    for (const TraceEstimator& e : tr.estimators) {
      t.rows.push_back({TextCell(e.name + (e.run ? "*" : "")), TextCell(Num(e.norm)),
                        TextCell(Num(e.cosine)), TextCell(Num(e.rel_err))});
    }
    out << FormatText(t);
  }
  out << "\nupdates of the step (the run's optimizer; |grad| before clipping, applied = the\n"
         "norm the optimizer got, |dtheta| the parameter change):\n";
  {
    Table t;
    t.columns = {Col("update", true), Col("groups", false), Col("|grad|", true),
                 Col("applied", true), Col("|dtheta|", true)};
    for (size_t i = 0; i < tr.updates.size(); ++i) {
      const TraceUpdate& u = tr.updates[i];
      t.rows.push_back({IntCell(static_cast<int64_t>(i + 1)),
                        TextCell(std::to_string(u.g0) + "-" + std::to_string(u.g1 - 1)),
                        TextCell(Num(u.grad_norm)), TextCell(Num(u.applied)),
                        TextCell(Num(u.update_norm))});
    }
    out << FormatText(t);
  }
  std::vector<TraceParam> top = tr.params;
  std::stable_sort(top.begin(), top.end(), [](const TraceParam& a, const TraceParam& b) {
    return std::fabs(a.delta) > std::fabs(b.delta);
  });
  const size_t shown = std::min<size_t>(top.size(), 8);
  out << "\nupdate 1 moved " << tr.params.size() << " of " << tr.num_params << " parameters; the "
      << shown << " largest changes (all with --json):\n";
  if (!tr.updates.empty() && (tr.updates[0].g0 != 0 || tr.updates[0].g1 != tr.num_groups)) {
    out << "(update 1 is the minibatch of groups " << tr.updates[0].g0 << "-" << tr.updates[0].g1 - 1
        << "; g_hat is the whole batch's, so dtheta need not follow it)\n";
  }
  {
    Table t;
    t.columns = {Col("parameter", false), Col("before", true), Col("g_hat", true),
                 Col("grad J", true), Col("dtheta", true)};
    for (size_t i = 0; i < shown; ++i) {
      const TraceParam& p = top[i];
      const std::string name = p.state >= 0 ? "s=" + std::to_string(p.state) + " a=" + std::to_string(p.action)
                                            : "#" + std::to_string(p.index);
      t.rows.push_back({TextCell(name), TextCell(Num(p.before)), TextCell(Num(p.g_hat)),
                        TextCell(Num(p.exact)), TextCell(Num(p.delta))});
    }
    out << FormatText(t);
  }
  out << "\ncos(dtheta of update 1, grad J) = " << Num(tr.first_cosine)
      << "\ncos(dtheta of the whole step, grad J) = " << Num(tr.step_cosine)
      << "  (the grad_cosine metric's quantity)\n";
}

void PrintTraceJson(const StepTrace& tr, std::ostream& out) {
  auto ints = [](const std::vector<int32_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  out << "{\"step\": " << tr.step << ", \"steps\": " << tr.steps
      << ", \"run\": " << JsonString(tr.summary) << ", \"groups_in_batch\": " << tr.num_groups
      << ", \"rollouts\": " << tr.num_rollouts << ", \"tokens\": " << tr.num_tokens
      << ", \"num_params\": " << tr.num_params << ",\n \"exact_grad_norm\": " << JsonNumber(tr.exact_norm)
      << ",\n \"estimators\": [";
  for (size_t i = 0; i < tr.estimators.size(); ++i) {
    const TraceEstimator& e = tr.estimators[i];
    out << (i ? ",\n   " : "\n   ") << "{\"name\": " << JsonString(e.name)
        << ", \"run\": " << (e.run ? "true" : "false") << ", \"norm\": " << JsonNumber(e.norm)
        << ", \"cosine\": " << JsonNumber(e.cosine) << ", \"rel_err\": " << JsonNumber(e.rel_err) << "}";
  }
  out << "],\n \"groups\": [";
  for (size_t gi = 0; gi < tr.groups.size(); ++gi) {
    const TraceGroup& g = tr.groups[gi];
    out << (gi ? ",\n   " : "\n   ") << "{\"slot\": " << g.slot << ", \"prompt\": " << g.prompt
        << ", \"difficulty\": " << JsonNumber(g.difficulty) << ", \"bin\": " << g.bin
        << ", \"p\": " << JsonNumber(g.p) << ", \"modifiers\": [";
    for (size_t i = 0; i < g.modifiers.size(); ++i) {
      out << (i ? ", " : "") << "{\"name\": " << JsonString(g.modifiers[i])
          << ", \"weight\": " << JsonNumber(g.weights[i]) << "}";
    }
    out << "], \"rollouts\": [";
    for (size_t ri = 0; ri < g.rollouts.size(); ++ri) {
      const TraceRollout& r = g.rollouts[ri];
      out << (ri ? ",\n     " : "\n     ") << "{\"tokens\": " << ints(r.tokens)
          << ", \"states\": " << ints(r.states) << ", \"reward\": " << JsonNumber(r.reward)
          << ", \"correct\": " << (r.correct ? "true" : "false")
          << ", \"truncated\": " << (r.truncated ? "true" : "false")
          << ", \"advantage\": " << JsonNumbers(r.advantage)
          << ", \"kept\": " << (r.kept ? "true" : "false")
          << ", \"baseline\": " << JsonNumber(r.baseline) << ", \"control\": " << JsonNumber(r.control)
          << ", \"coef\": " << (r.coef.empty() ? std::string("null") : JsonNumbers(r.coef)) << "}";
    }
    out << "]}";
  }
  out << "],\n \"updates\": [";
  for (size_t i = 0; i < tr.updates.size(); ++i) {
    const TraceUpdate& u = tr.updates[i];
    out << (i ? ", " : "") << "{\"groups\": [" << u.g0 << ", " << u.g1 << "], \"grad_norm\": "
        << JsonNumber(u.grad_norm) << ", \"applied\": " << JsonNumber(u.applied)
        << ", \"update_norm\": " << JsonNumber(u.update_norm) << "}";
  }
  out << "],\n \"params\": [";
  for (size_t i = 0; i < tr.params.size(); ++i) {
    const TraceParam& p = tr.params[i];
    out << (i ? ",\n   " : "\n   ") << "{\"index\": " << p.index;
    if (p.state >= 0) out << ", \"state\": " << p.state << ", \"action\": " << p.action;
    out << ", \"before\": " << JsonNumber(p.before) << ", \"g_hat\": " << JsonNumber(p.g_hat)
        << ", \"grad_j\": " << JsonNumber(p.exact) << ", \"delta\": " << JsonNumber(p.delta) << "}";
  }
  out << "],\n \"first_update_cosine\": " << JsonNumber(tr.first_cosine)
      << ", \"step_cosine\": " << JsonNumber(tr.step_cosine) << "}\n";
}

namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : item.substr(a, b - a + 1));
  }
  return out;
}

}  // namespace

int TraceCommand(const std::vector<std::string>& args, std::ostream& out) {
  TraceOptions options;
  bool have_step = false, have_prompts = false;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    const size_t eq = a.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    const bool ours = a == "--step" || a == "--prompts" || a == "--groups" || a == "--estimator";
    if (ours) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw UserError(a + " needs a value");
        value = args[++i];
      }
      if (a == "--step") {
        options.step = ParseCount("--step", value, 0, int64_t{1} << 40);
        have_step = true;
      } else if (a == "--prompts") {
        options.prompts = static_cast<int>(ParseCount("--prompts", value, 1, 1 << 30));
        have_prompts = true;
      } else if (a == "--groups") {
        for (const std::string& g : SplitList(value)) {
          options.groups.push_back(static_cast<int>(ParseCount("--groups", g, 0, 1 << 30)));
        }
      } else {
        for (const std::string& e : SplitList(value)) {
          if (e.empty()) throw UserError("--estimator: an empty name in " + QuoteInput(value));
          ParseEstimatorName(e, "--estimator");
          options.estimators.push_back(e);
        }
      }
    } else if (a == "--json" && !inline_value) {
      options.json = true;
    } else {
      rest.push_back(args[i]);
    }
  }
  if (!have_step) throw UserError("--step T is required (the step to show, from 0)");
  if (have_prompts && !options.groups.empty()) {
    throw UserError("--prompts and --groups: give one (how many groups, or which)");
  }
  const CommandLine cl = ParseCommandLine(rest, false);
  if (!cl.positional.empty()) {
    throw UserError("unexpected argument " + QuoteInput(cl.positional[0]) +
                    "; keys are given as --key=value");
  }
  if (!cl.out.empty() || cl.force || cl.restart || cl.quiet) {
    throw UserError("`advlab trace` writes no file (--out, --force, --restart, --quiet); its "
                    "output goes to stdout, --json for programs");
  }
  const Experiment e = MergeExperiment(cl);
  if (!e.grid.empty()) {
    throw UserError(e.grid.front().origin + ": `advlab trace` replays one run, not a grid; pick "
                    "one value with --" + e.grid.front().key + "=VALUE");
  }
  if (!e.arms.empty()) {
    throw UserError(e.arms.front().origin + ": `advlab trace` replays one run, not arms; give the "
                    "arm's keys as --KEY=VALUE");
  }
  const SweepPlan plan = PlanSweep(e.keys, {}, 1, 1, {});
  const StepTrace trace = TraceStep(plan.Run(0), options);
  if (options.json) {
    PrintTraceJson(trace, out);
  } else {
    PrintTrace(trace, out);
  }
  return 0;
}

}  // namespace advlab
