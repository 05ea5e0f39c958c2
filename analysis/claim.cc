#include "analysis/claim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "analysis/frame.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/error.h"
#include "sim/registry.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Bootstrap streams of the two comparisons (Purpose::kBootstrap under the
// analysis seed): fixed by which comparison a number belongs to.
constexpr uint32_t kFairStream = 3u << 28;
constexpr uint32_t kNaiveStream = kFairStream + kStreamsPerComparison;

bool Present(const Results& r, const std::string& key, const std::string& value) {
  const Column* c = r.FindColumn(key);
  for (size_t i = 0; c != nullptr && i < c->size(); ++i)
    if (DisplayCell(*c, i) == value) return true;
  return false;
}

// The group of `f` whose value of key `k` is `value` (nullptr: none active).
const Group* FindGroup(const RunFrame& f, const std::vector<Group>& groups, int k,
                       const std::string& value) {
  for (const Group& g : groups)
    if (!g.strata.empty() && f.display[static_cast<size_t>(k)][static_cast<size_t>(g.strata.front().front())] == value)
      return &g;
  return nullptr;
}

// Applies the verdict rules of claim.h to an oriented interval.
Verdict Judge(Claimed claimed, double lo, double hi, double t) {
  if (std::isnan(lo) || std::isnan(hi)) return Verdict::kInconclusive;
  switch (claimed) {
    case Claimed::kBetter:
      if (lo >= t) return Verdict::kHolds;
      if (hi < t) return Verdict::kDoesNotHold;
      break;
    case Claimed::kWorse:
      if (hi <= -t) return Verdict::kHolds;
      if (lo > -t) return Verdict::kDoesNotHold;
      break;
    case Claimed::kEqual:
      if (lo > -t && hi < t) return Verdict::kHolds;
      if (lo >= t || hi <= -t) return Verdict::kDoesNotHold;
      break;
  }
  return Verdict::kInconclusive;
}

// Compares treatment against `control` over the active runs of `f`, paired by
// seed (and by the keys outside `key` and `tuned`, as strata).
ClaimComparison Compare(const RunFrame& f, const ClaimSpec& c, const std::string& treatment,
                        const std::string& control, int key, int tuned, bool higher,
                        uint32_t stream) {
  ClaimComparison out;
  out.present = true;
  out.treatment = treatment;
  out.control = control;
  const std::vector<Group> groups = GroupRuns(f, {key});
  const Group* gt = FindGroup(f, groups, key, treatment);
  const Group* gc = FindGroup(f, groups, key, control);
  if (gt == nullptr || gc == nullptr) {
    out.failed_checks.push_back("no judged runs of " + (gt == nullptr ? treatment : control));
    out.effect = out.lo = out.hi = out.poi = kNaN;
    out.treatment_mean = out.control_mean = kNaN;
    out.treatment_step = out.control_step = kNaN;
    return out;
  }
  // Pairs differ only in the compared key, the keys an arm sets with it and
  // the tuned key; they share the seed and every other swept key.
  std::vector<int> group_keys = AttributeKeys(f, key, tuned);
  group_keys.push_back(key);
  if (tuned >= 0) group_keys.push_back(tuned);
  std::vector<std::vector<double>> vt, vc;
  PairedValues(f, *gt, *gc, group_keys, &vt, &vc, &out.censored);
  const PairedComparison pc = CompareStrata(vt, vc, higher, c.analysis.level, c.analysis.resamples,
                                            c.analysis.bootstrap_seed, stream);
  for (const auto& s : vt) out.pairs += static_cast<int64_t>(s.size());
  for (const Group* g : {gt, gc})
    for (const auto& s : g->strata)
      for (int64_t i : s)
        if (f.divergence[static_cast<size_t>(i)].diverged) out.diverged += 1;
  const double sign = higher ? 1.0 : -1.0;
  out.treatment_mean = pc.mean_a;
  out.control_mean = pc.mean_b;
  out.poi = pc.poi;
  if (pc.sufficient) {
    out.effect = sign * pc.diff_mean;
    const double a = sign * std::min(pc.diff_boot.lo, pc.diff_t.lo);
    const double b = sign * std::max(pc.diff_boot.hi, pc.diff_t.hi);
    out.lo = std::min(a, b);
    out.hi = std::max(a, b);
  } else {
    out.effect = out.lo = out.hi = kNaN;
  }
  out.treatment_step = GroupFinalMean(f, *gt, c.analysis.effective_step_metric);
  out.control_step = GroupFinalMean(f, *gc, c.analysis.effective_step_metric);

  if (out.pairs < c.min_pairs)
    out.failed_checks.push_back(IntString(out.pairs) + " seed pairs (the design needs " +
                                IntString(c.min_pairs) + ")");
  if (out.diverged > 0) out.failed_checks.push_back(IntString(out.diverged) + " runs diverged");
  if (out.pairs > 0 && static_cast<double>(out.censored) > c.max_censored * static_cast<double>(out.pairs))
    out.failed_checks.push_back(IntString(out.censored) + " of " + IntString(out.pairs) +
                                " pairs censored (a run never reached the threshold)");
  out.verdict = out.failed_checks.empty() ? Judge(c.claimed, out.lo, out.hi, c.threshold)
                                          : Verdict::kInconclusive;
  return out;
}

std::string StepRatio(const ClaimComparison& c) {
  if (std::isnan(c.treatment_step) || std::isnan(c.control_step) || c.control_step == 0.0) return "";
  return FormatDouble("%.2f", c.treatment_step / c.control_step);
}

// FormatDouble without the sign of a value that rounds to zero ("-0" -> "0").
std::string Signed(const char* fmt, double v) {
  std::string s = FormatDouble(fmt, v);
  if (!s.empty() && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string Interval3(const ClaimComparison& c, const char* fmt) {
  if (std::isnan(c.effect)) return "undefined";
  return Signed(fmt, c.effect) + " [" + Signed(fmt, c.lo) + ", " + Signed(fmt, c.hi) + "]";
}

std::string Paragraph(const ClaimSpec& c, const ClaimResult& r) {
  const char* fmt = MeasureValueFormat(c.analysis.measure);
  const ClaimComparison& f = r.fair;
  std::string p = "Fair comparison (" + f.label + "): on " + IntString(f.pairs) +
                  " seed pairs " + f.treatment + "'s " + r.measure_label + " was " +
                  FormatDouble(fmt, f.treatment_mean) + " against " + f.control + "'s " +
                  FormatDouble(fmt, f.control_mean) + "; the effect (positive = " + c.treatment +
                  " better) is " + Interval3(f, fmt) + " (95% CIs, bootstrap and t together), " +
                  "against a practical size of " + FormatDouble(fmt, c.threshold) + " (claimed: " +
                  ClaimedName(c.claimed) + "): " + VerdictName(f.verdict);
  if (!f.failed_checks.empty()) {
    p += " (design check failed: ";
    for (size_t i = 0; i < f.failed_checks.size(); ++i) p += (i ? "; " : "") + f.failed_checks[i];
    p += ")";
  }
  p += ".";
  if (!StepRatio(f).empty())
    p += " " + f.treatment + "'s applied update per optimizer step was " + StepRatio(f) + "x " +
         f.control + "'s (final " + c.analysis.effective_step_metric + ").";
  if (r.naive.present) {
    const ClaimComparison& n = r.naive;
    p += " The naive comparison (" + n.label + ") gives " + Interval3(n, fmt) + ": " +
         VerdictName(n.verdict);
    if (!StepRatio(n).empty()) p += ", with an update " + StepRatio(n) + "x " + n.control + "'s";
    p += n.verdict == f.verdict ? "; the fair control does not change the verdict."
                                : "; the fair control changes the verdict.";
  }
  return p;
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kHolds: return "holds";
    case Verdict::kDoesNotHold: return "does not hold";
    case Verdict::kInconclusive: break;
  }
  return "inconclusive";
}

const char* ClaimedName(Claimed c) {
  switch (c) {
    case Claimed::kBetter: return "better";
    case Claimed::kWorse: return "worse";
    case Claimed::kEqual: break;
  }
  return "equal";
}

void ValidateClaim(const Results& r, const ClaimSpec& c) {
  ValidateOptions(r, c.analysis);
  const Column* col = r.FindColumn(c.key);
  if (col == nullptr || c.key == "run_id" || c.key == "seed")
    throw UserError("claim " + c.name + ": key '" + c.key + "' is not a swept key of the sweep");
  if (c.key == c.analysis.tune_key)
    throw UserError("claim " + c.name + ": the compared key '" + c.key + "' cannot also be tuned");
  if (!(c.threshold > 0.0) || !std::isfinite(c.threshold))
    throw UserError("claim " + c.name + ": threshold must be a number > 0 (the smallest effect "
                    "that would matter, in the measure's units)");
  std::vector<std::string> present;
  for (size_t i = 0; i < col->size(); ++i) {
    const std::string v = DisplayCell(*col, i);
    if (std::find(present.begin(), present.end(), v) == present.end()) present.push_back(v);
  }
  for (const std::string* v : {&c.control, &c.treatment, &c.naive_control, &c.naive_treatment}) {
    if (v->empty() && v != &c.control && v != &c.treatment) continue;
    if (!Present(r, c.key, *v))
      throw UserError("claim " + c.name + ": no run has " + c.key + " = '" + *v + "'" +
                      DidYouMean(*v, present) + "; present: " + JoinNames(present));
  }
  const std::string& nt = c.naive_treatment.empty() ? c.treatment : c.naive_treatment;
  if (c.control == c.treatment || c.naive_control == nt)
    throw UserError("claim " + c.name + ": the treatment '" + c.treatment +
                    "' cannot also be a control");
  if (!c.naive_treatment.empty() && c.naive_control.empty() && c.analysis.tune_key.empty())
    throw UserError("claim " + c.name + ": naive_treatment needs naive_control or a tuned key");
}

ClaimResult EvaluateClaim(const Results& r, const ClaimSpec& c) {
  ValidateClaim(r, c);
  const AnalyzeOptions& o = c.analysis;
  const bool higher = HigherIsBetter(o);
  ClaimResult out;
  out.measure_label = MeasureLabel(o);

  RunFrame f = BuildFrame(r, o.metric, o.measure, MetricHigherIsBetter(o), o.match_metric);
  const int key = f.KeyIndex(c.key);
  const int tuned = o.tune_key.empty() ? -1 : f.KeyIndex(o.tune_key);
  // Only the compared arms enter tuning and statistics.
  for (int64_t i = 0; i < f.runs(); ++i) {
    const std::string& v = f.display[static_cast<size_t>(key)][static_cast<size_t>(i)];
    if (v != c.control && v != c.treatment && v != c.naive_control && v != c.naive_treatment)
      f.active[static_cast<size_t>(i)] = 0;
  }
  const RunFrame untuned = f;
  std::string control_value;  // the control's tuned value of the tuned key
  if (tuned >= 0) {
    const Tuning tuning = ApplyTuning(f, o, tuned);
    for (const TunedArm& t : tuning.arms) {
      const std::string& arm = f.display[static_cast<size_t>(key)][static_cast<size_t>(t.first_run)];
      const std::string value =
          t.chosen_run < 0 ? "-"
                           : f.display[static_cast<size_t>(tuned)][static_cast<size_t>(t.chosen_run)];
      out.tuned.push_back(c.key + "=" + arm + ": " + o.tune_key + " " + value);
      if (arm == c.control && t.chosen_run >= 0) control_value = value;
      if (t.check != "ok" && (arm == c.control || arm == c.treatment))
        out.tuning_notes.push_back(arm + ": " + t.check);
    }
  }
  const std::string tuned_label = tuned >= 0 ? ", each at its own " + o.tune_key +
                                                   " tuned on the " +
                                                   (o.tune_seeds < 0 ? std::string("lowest half of the")
                                                                     : IntString(o.tune_seeds)) +
                                                   " seeds"
                                             : "";
  const std::string& nt = c.naive_treatment.empty() ? c.treatment : c.naive_treatment;
  out.fair = Compare(f, c, c.treatment, c.control, key, tuned, higher, kFairStream);
  out.fair.label = c.treatment + " vs " + c.control + tuned_label;
  if (!out.tuning_notes.empty()) {
    out.fair.failed_checks.push_back("a tuned " + o.tune_key +
                                     " lies at the edge of its grid (the optimum may lie outside)");
    out.fair.verdict = Verdict::kInconclusive;
  }
  if (!c.naive_control.empty()) {
    out.naive = Compare(f, c, nt, c.naive_control, key, tuned, higher, kNaiveStream);
    out.naive.label = nt + " vs " + c.naive_control + tuned_label;
  } else if (tuned >= 0 && !control_value.empty()) {
    // The treatment at the control's tuned value, on the judged seeds.
    RunFrame g = untuned;
    std::set<int64_t> judged;
    for (int64_t i = 0; i < f.runs(); ++i)
      if (f.active[static_cast<size_t>(i)]) judged.insert(f.seed[static_cast<size_t>(i)]);
    for (int64_t i = 0; i < g.runs(); ++i) {
      const size_t u = static_cast<size_t>(i);
      if (g.display[static_cast<size_t>(tuned)][u] != control_value || !judged.count(g.seed[u]))
        g.active[u] = 0;
    }
    out.naive = Compare(g, c, nt, c.control, key, tuned, higher, kNaiveStream);
    out.naive.label = nt + " vs " + c.control + " both at the control's " + o.tune_key + " " +
                      control_value;
  }
  out.paragraph = Paragraph(c, out);
  return out;
}

std::string FormatEffect(const ClaimComparison& c, const AnalyzeOptions& o) {
  return Interval3(c, MeasureValueFormat(o.measure));
}

}  // namespace advlab
