// Per-run measures (analysis/measures.h): parsing of --measure, the measure of
// one run's curves, and divergence detection.
#include "analysis/measures.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "analysis/table.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/metrics.h"
#include "sim/registry.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDefaultCollapseDelta = 0.1;

// The measure names, in MeasureKind order and index for index with MeasureForms().
const std::vector<std::string>& MeasureNames() {
  static const std::vector<std::string> names = {
      "final", "best", "auc", "auc_cost", "steps_to", "cost_to",
      "drawdown", "collapses", "at", "since_entry"};
  return names;
}

// The user's text in double quotes, non-printable bytes as \xNN, cut at 60
// characters, so a message stays one printable line.
std::string Quote(const std::string& text) {
  std::string out(1, '"');
  size_t n = 0;
  for (unsigned char ch : text) {
    if (++n > 60) {
      out += "...";
      break;
    }
    if (std::isprint(ch)) {
      out += static_cast<char>(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", ch);
      out += buf;
    }
  }
  out += '"';
  return out;
}

[[noreturn]] void Fail(const std::string& what, const std::string& text, const std::string& why) {
  throw UserError(what + ": " + Quote(text) + ": " + why + "; allowed: " +
                  JoinNames(MeasureForms()));
}

// A finite number spelled entirely by `s` (strtod syntax, no surrounding spaces).
bool ParseFinite(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// Whether y has reached threshold t in the direction of the goal.
bool Reached(double y, double t, bool higher_is_better) {
  return higher_is_better ? y >= t : y <= t;
}

// The trapezoidal mean height of y against x over the evals where both are finite.
template <class X>
double MeanHeight(const double* y, const X* x, int64_t n) {
  double area = 0, x_first = 0, x_prev = 0, y_prev = 0;
  int64_t points = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = static_cast<double>(x[i]);
    if (!std::isfinite(y[i]) || !std::isfinite(xi)) continue;
    if (points == 0) {
      x_first = xi;
    } else {
      area += (xi - x_prev) * (y_prev + y[i]) * 0.5;
    }
    x_prev = xi;
    y_prev = y[i];
    ++points;
  }
  const double span = x_prev - x_first;
  if (points < 2 || span == 0) return kNaN;
  return area / span;
}

}  // namespace

const std::vector<std::string>& MeasureForms() {
  static const std::vector<std::string> forms = {
      "final[:K]", "best", "auc", "auc_cost", "steps_to:T", "cost_to:T",
      "drawdown", "collapses[:D]", "at:T", "since_entry:T"};
  return forms;
}

Measure ParseMeasure(const std::string& text, const std::string& what) {
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const bool has_arg = colon != std::string::npos;
  const std::string arg = has_arg ? text.substr(colon + 1) : std::string();

  const std::vector<std::string>& names = MeasureNames();
  int index = -1;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) index = static_cast<int>(i);
  if (index < 0) {
    std::string hint = name.empty() ? std::string() : ClosestName(name, names);
    if (!hint.empty()) {
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == hint) hint = MeasureForms()[i];
      hint = " (did you mean " + Quote(hint) + "?)";
    }
    throw UserError(what + ": unknown measure " + Quote(text) + hint + "; allowed: " +
                    JoinNames(MeasureForms()));
  }

  Measure m;
  m.kind = static_cast<MeasureKind>(index);
  switch (m.kind) {
    case MeasureKind::kFinal: {
      m.param = 1;
      if (has_arg) {
        // Digits only: "final:2.0" or "final:+3" are not K spellings.
        bool digits = !arg.empty() && arg.size() <= 9;
        for (char ch : arg) digits = digits && ch >= '0' && ch <= '9';
        if (!digits || std::atol(arg.c_str()) <= 0)
          Fail(what, text, "K must be a positive integer");
        m.param = static_cast<double>(std::atol(arg.c_str()));
      }
      m.text = m.param == 1 ? "final" : "final:" + FormatDouble("%g", m.param);
      return m;
    }
    case MeasureKind::kCollapses: {
      m.param = kDefaultCollapseDelta;
      if (has_arg && (!ParseFinite(arg, &m.param) || !(m.param > 0)))
        Fail(what, text, "D must be a positive number");
      m.text = m.param == kDefaultCollapseDelta ? "collapses" : "collapses:" + FormatDouble("%g", m.param);
      m.higher_is_better = false;
      return m;
    }
    case MeasureKind::kBest:
    case MeasureKind::kAuc:
    case MeasureKind::kAucCost:
    case MeasureKind::kDrawdown:
      if (has_arg) Fail(what, text, name + " takes no parameter");
      m.param = 0;
      m.text = name;
      m.higher_is_better = m.kind != MeasureKind::kDrawdown;
      m.needs_cost = m.kind == MeasureKind::kAucCost;
      return m;
    case MeasureKind::kStepsTo:
    case MeasureKind::kCostTo:
    case MeasureKind::kAt:
    case MeasureKind::kSinceEntry:
      if (!has_arg) Fail(what, text, "missing threshold (" + MeasureForms()[index] + ")");
      if (!ParseFinite(arg, &m.param)) Fail(what, text, "T must be a finite number");
      m.text = name + ":" + FormatDouble("%g", m.param);
      m.higher_is_better = m.kind == MeasureKind::kAt;
      m.censorable = true;
      m.needs_cost = m.kind == MeasureKind::kCostTo;
      return m;
  }
  ADVLAB_CHECK(false);
  return m;
}

MeasureValue ComputeMeasure(const Measure& m, const RunCurves& c, bool higher_is_better) {
  ADVLAB_CHECK_GE(c.evals, 0);
  ADVLAB_CHECK(c.evals == 0 || (c.y != nullptr && c.steps != nullptr));
  const int64_t n = c.evals;
  const double* y = c.y;
  MeasureValue out;
  out.value = kNaN;
  if (n == 0) return out;
  switch (m.kind) {
    case MeasureKind::kFinal: {
      const int64_t k = static_cast<int64_t>(m.param);
      ADVLAB_CHECK_GE(k, 1);
      if (k > n) return out;  // fewer evals than K: undefined
      double sum = 0;
      for (int64_t i = n - k; i < n; ++i) sum += y[i];  // a NaN makes the sum NaN
      out.value = sum / static_cast<double>(k);
      return out;
    }
    case MeasureKind::kBest: {
      for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(y[i])) continue;
        if (std::isnan(out.value) || (higher_is_better ? y[i] > out.value : y[i] < out.value))
          out.value = y[i];
      }
      return out;
    }
    case MeasureKind::kAuc:
      out.value = MeanHeight(y, c.steps, n);
      return out;
    case MeasureKind::kAucCost:
      ADVLAB_CHECK(c.cost != nullptr);
      out.value = MeanHeight(y, c.cost, n);
      return out;
    case MeasureKind::kStepsTo:
    case MeasureKind::kCostTo: {
      const bool steps = m.kind == MeasureKind::kStepsTo;
      ADVLAB_CHECK(steps || c.cost != nullptr);
      int64_t i = 0;
      while (i < n && !Reached(y[i], m.param, higher_is_better)) ++i;
      out.censored = i == n;
      const int64_t at = out.censored ? n - 1 : i;  // censored: the run's budget
      out.value = steps ? static_cast<double>(c.steps[at]) : c.cost[at];
      return out;
    }
    case MeasureKind::kDrawdown:
    case MeasureKind::kCollapses: {
      // Over the defined values: a fall (higher is better) or a rise (min goal).
      const double sign = higher_is_better ? 1.0 : -1.0;
      double extreme = kNaN, prev = kNaN, worst = 0;
      int64_t collapses = 0, defined = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(y[i])) continue;
        if (defined > 0) {
          if (sign * (prev - y[i]) > m.param) ++collapses;
          if (sign * (extreme - y[i]) > worst) worst = sign * (extreme - y[i]);
        }
        if (defined == 0 || sign * (y[i] - extreme) > 0) extreme = y[i];
        prev = y[i];
        ++defined;
      }
      if (defined == 0) return out;
      out.value = m.kind == MeasureKind::kDrawdown ? worst : static_cast<double>(collapses);
      return out;
    }
    case MeasureKind::kAt: {
      ADVLAB_CHECK(c.match != nullptr);
      const double t = m.param;
      int64_t i = 0;
      while (i < n && !(c.match[i] >= t)) ++i;
      if (i == n) {
        out.censored = true;  // no bound: stays NaN
        return out;
      }
      if (i == 0) {
        out.value = y[0];
        return out;
      }
      const double f = (t - c.match[i - 1]) / (c.match[i] - c.match[i - 1]);
      const double dy = y[i] - y[i - 1];
      const double step = f * dy;  // two statements: no fused multiply-add
      out.value = y[i - 1] + step;
      return out;
    }
    case MeasureKind::kSinceEntry: {
      ADVLAB_CHECK(c.entry != nullptr);
      double entry = kNaN;
      for (int64_t i = 0; i < n && !std::isfinite(entry); ++i) entry = c.entry[i];
      if (!std::isfinite(entry)) return out;  // the bin never entered: undefined
      int64_t first = -1;                     // the first eval at or after entry
      for (int64_t i = 0; i < n && first < 0; ++i)
        if (static_cast<double>(c.steps[i]) >= entry) first = i;
      if (first < 0) return out;  // no eval after entry: nothing observed
      int64_t i = first;
      while (i < n && !Reached(y[i], m.param, higher_is_better)) ++i;
      out.censored = i == n;
      out.value = static_cast<double>(c.steps[out.censored ? n - 1 : i]) - entry;
      return out;
    }
  }
  ADVLAB_CHECK(false);
  return out;
}

Divergence FindDivergence(const Results& r, int64_t run) {
  ADVLAB_CHECK_GE(run, 0);
  ADVLAB_CHECK_LT(run, r.num_runs);
  const int64_t evals = r.num_evals();
  Divergence d;
  if (evals == 0) return d;

  // Which metrics are read for NaN: the eval kinds that this run defines somewhere.
  // One NaN at every eval is an empty difficulty bin, not a divergence, unless
  // every eval metric is, which means the policy diverged before the first eval.
  std::vector<char> read_nan(r.metrics.size(), 0);
  bool any_eval = false, any_defined = false;
  for (size_t k = 0; k < r.metrics.size(); ++k) {
    const Metric& m = r.metrics[k];
    ADVLAB_CHECK_EQ(static_cast<int64_t>(m.values.size()), r.num_runs * evals);
    const int index = MetricIndex(m.name);
    if (index < 0 || Metrics()[index].kind != MetricKind::kEval) continue;
    any_eval = true;
    const double* v = m.values.data() + run * evals;
    for (int64_t i = 0; i < evals && !read_nan[k]; ++i) read_nan[k] = !std::isnan(v[i]);
    any_defined = any_defined || read_nan[k];
  }
  if (any_eval && !any_defined) {
    d.diverged = true;
    d.step = r.steps[0];
    return d;
  }

  for (int64_t i = 0; i < evals; ++i) {
    for (size_t k = 0; k < r.metrics.size(); ++k) {
      const double v = r.metrics[k].values[run * evals + i];
      if (std::isinf(v) || (read_nan[k] && std::isnan(v))) {
        d.diverged = true;
        d.step = r.steps[i];
        return d;
      }
    }
  }
  return d;
}

}  // namespace advlab
