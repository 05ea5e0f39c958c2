#include "analysis/sensitivity.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "analysis/frame.h"
#include "analysis/stats.h"
#include "analysis/table.h"
#include "sim/check.h"
#include "sim/dmath.h"

namespace advlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One grid point of one arm: per stratum, the value of each seed position.
struct Point {
  std::vector<std::vector<double>> by_seed;   // [stratum][seed index], NaN-free entries
  std::vector<std::vector<char>> present;     // [stratum][seed index]
  std::vector<std::vector<double>> strata;    // the values as StratumValues gives them
};

bool Better(double a, double b, bool higher) { return higher ? a > b : a < b; }

// Scores of every arm from point statistics stats[arm][point]: normalises
// globally, integrates over axis x. Writes the normalisation used.
std::vector<double> Scores(const std::vector<std::vector<double>>& stats,
                           const std::vector<std::vector<double>>& axis, bool higher,
                           std::string* normalisation) {
  double best = kNaN, worst = kNaN;
  bool positive = true, any_nan = false;
  for (const auto& arm : stats)
    for (double s : arm) {
      if (std::isnan(s)) { any_nan = true; continue; }
      if (std::isnan(best) || Better(s, best, higher)) best = s;
      if (std::isnan(worst) || Better(worst, s, higher)) worst = s;
      positive = positive && s > 0.0;
    }
  (void)any_nan;
  if (normalisation) *normalisation = positive ? "ratio to the best" : "min-max";
  std::vector<double> out;
  for (size_t a = 0; a < stats.size(); ++a) {
    std::vector<double> q;
    for (double s : stats[a]) {
      if (std::isnan(s) || std::isnan(best)) { q.push_back(kNaN); continue; }
      if (positive) {
        q.push_back(higher ? s / best : best / s);
      } else {
        const double span = higher ? best - worst : worst - best;
        q.push_back(span == 0.0 ? 1.0 : (higher ? s - worst : worst - s) / span);
      }
    }
    const std::vector<double>& x = axis[a];
    double score = kNaN;
    if (q.size() == 1) {
      score = q[0];
    } else if (!q.empty()) {
      double area = 0.0;
      for (size_t i = 1; i < q.size(); ++i) area += 0.5 * (q[i - 1] + q[i]) * (x[i] - x[i - 1]);
      const double span = x.back() - x.front();
      score = span > 0.0 ? area / span : kNaN;
    }
    out.push_back(score);
  }
  return out;
}

std::vector<double> Ranks(const std::vector<double>& score) {
  std::vector<double> rank;
  for (size_t a = 0; a < score.size(); ++a) {
    double r = 1;
    for (size_t b = 0; b < score.size(); ++b)
      if (b != a && (std::isnan(score[a]) ? !std::isnan(score[b]) : score[b] > score[a])) r += 1;
    rank.push_back(r);
  }
  return rank;
}

}  // namespace

Sensitivity ComputeSensitivity(const RunFrame& f, const AnalyzeOptions& o,
                               const std::vector<int>& arm_keys, int key) {
  const bool higher = HigherIsBetter(o);
  std::vector<int> ak = arm_keys;
  ak.push_back(key);
  const std::vector<Group> groups = GroupRuns(f, ak);
  // Seeds of the active runs, ascending: the joint resampling unit.
  std::set<int64_t> seed_set;
  for (int64_t i = 0; i < f.runs(); ++i)
    if (f.active[static_cast<size_t>(i)]) seed_set.insert(f.seed[static_cast<size_t>(i)]);
  const std::vector<int64_t> seeds(seed_set.begin(), seed_set.end());
  std::map<int64_t, size_t> seed_pos;
  for (size_t i = 0; i < seeds.size(); ++i) seed_pos[seeds[i]] = i;

  // Arms in order of first appearance; their points sorted by KEY.
  Sensitivity out;
  std::vector<std::vector<size_t>> arm_groups;
  std::vector<std::vector<std::string>> arm_exact;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<std::string> e(groups[g].exact.begin(), groups[g].exact.end() - 1);
    auto it = std::find(arm_exact.begin(), arm_exact.end(), e);
    if (it == arm_exact.end()) {
      arm_exact.push_back(e);
      arm_groups.emplace_back();
      SensitivityArm arm;
      arm.display.assign(groups[g].display.begin(), groups[g].display.end() - 1);
      for (size_t i = 0; i < arm_keys.size(); ++i)
        arm.label += (i ? ", " : "") + f.keys[static_cast<size_t>(arm_keys[i])] + "=" + arm.display[i];
      if (arm.label.empty()) arm.label = "all runs";
      out.arms.push_back(arm);
      it = arm_exact.end() - 1;
    }
    arm_groups[static_cast<size_t>(it - arm_exact.begin())].push_back(g);
  }
  const std::vector<double>& num = f.numeric[static_cast<size_t>(key)];
  const bool numeric = !std::isnan(num[0]);
  double xmin = kNaN, xmax = kNaN;
  for (int64_t i = 0; i < f.runs(); ++i) {
    const double v = num[static_cast<size_t>(i)];
    if (!f.active[static_cast<size_t>(i)] || std::isnan(v)) continue;
    xmin = std::isnan(xmin) ? v : std::min(xmin, v);
    xmax = std::isnan(xmax) ? v : std::max(xmax, v);
  }
  // Learning rates are swept geometrically: a key ending in "lr" gets a log axis
  // whenever its values are positive; any other key when they span a factor 10.
  const std::string& kname = f.keys[static_cast<size_t>(key)];
  const bool lr = kname.size() >= 2 && kname.compare(kname.size() - 2, 2, "lr") == 0;
  out.log_x = numeric && xmin > 0.0 && (xmax >= 10.0 * xmin || (lr && xmax > xmin));

  std::vector<std::vector<Point>> points(out.arms.size());
  std::vector<std::vector<double>> axis(out.arms.size()), stats(out.arms.size());
  uint32_t point_index = 0;
  for (size_t a = 0; a < out.arms.size(); ++a) {
    std::vector<size_t>& gs = arm_groups[a];
    auto value_of = [&](size_t g) { return num[static_cast<size_t>(groups[g].strata[0][0])]; };
    if (numeric) std::stable_sort(gs.begin(), gs.end(), [&](size_t x, size_t y) { return value_of(x) < value_of(y); });
    SensitivityArm& arm = out.arms[a];
    for (size_t p = 0; p < gs.size(); ++p) {
      const Group& g = groups[gs[p]];
      Point pt;
      for (const auto& s : g.strata) {
        pt.strata.push_back(StratumValues(f, s));
        std::vector<double> v(seeds.size(), kNaN);
        std::vector<char> has(seeds.size(), 0);
        for (int64_t i : s) {
          const size_t u = static_cast<size_t>(i);
          if (std::isnan(f.value[u]) && !f.divergence[u].diverged) continue;
          const size_t sp = seed_pos[f.seed[u]];
          v[sp] = f.value[u];
          has[sp] = 1;
        }
        pt.by_seed.push_back(std::move(v));
        pt.present.push_back(std::move(has));
      }
      const double x = numeric ? value_of(gs[p]) : static_cast<double>(p);
      arm.x.push_back(x);
      axis[a].push_back(out.log_x ? dm::Log(x) : x);
      arm.x_display.push_back(g.display.back());
      const std::vector<double> all = Pool(pt.strata);
      arm.n.push_back(static_cast<int64_t>(all.size()));
      const double s = ApplyStat(o.stat, all);
      const Interval ci = StratifiedCI(pt.strata, o.stat, o.level, o.resamples, o.bootstrap_seed,
                                       kSensitivityStream + 1u + point_index++ * 4096u);
      arm.y.push_back(s);
      arm.lo.push_back(ci.lo);
      arm.hi.push_back(ci.hi);
      stats[a].push_back(s);
      points[a].push_back(std::move(pt));
    }
    // Best / median / worst and the share within o.within of the best.
    std::vector<double> defined;
    double best = kNaN, worst = kNaN;
    for (size_t p = 0; p < arm.y.size(); ++p) {
      const double s = arm.y[p];
      if (std::isnan(s)) continue;
      defined.push_back(s);
      if (std::isnan(best) || Better(s, best, higher)) { best = s; arm.best_at = arm.x_display[p]; }
      if (std::isnan(worst) || Better(worst, s, higher)) worst = s;
    }
    arm.best = best;
    arm.worst = worst;
    arm.median = Median(defined);
    int64_t within = 0;
    for (double s : arm.y)
      if (!std::isnan(s) && std::fabs(s - best) <= o.within * std::fabs(best)) ++within;
    arm.within_share = arm.y.empty() ? kNaN : static_cast<double>(within) / static_cast<double>(arm.y.size());
  }
  const std::vector<double> score = Scores(stats, axis, higher, &out.normalisation);
  for (size_t a = 0; a < out.arms.size(); ++a) out.arms[a].score = score[a];

  // Ranking CI: seeds resampled jointly across every arm and point.
  const uint32_t ns = static_cast<uint32_t>(seeds.size());
  std::vector<std::vector<double>> ranks(out.arms.size());
  std::vector<uint32_t> idx(ns);
  std::vector<double> buf;
  std::vector<std::vector<double>> rs(out.arms.size());
  for (int rep = 0; rep < o.resamples && ns > 0; ++rep) {
    BootstrapIndices(o.bootstrap_seed, kSensitivityStream, static_cast<uint32_t>(rep), ns, idx.data());
    for (size_t a = 0; a < out.arms.size(); ++a) {
      rs[a].clear();
      for (const Point& pt : points[a]) {
        buf.clear();
        for (size_t s = 0; s < pt.by_seed.size(); ++s)
          for (uint32_t j = 0; j < ns; ++j)
            if (pt.present[s][idx[j]]) buf.push_back(pt.by_seed[s][idx[j]]);
        rs[a].push_back(ApplyStat(o.stat, buf));
      }
    }
    const std::vector<double> r = Ranks(Scores(rs, axis, higher, nullptr));
    for (size_t a = 0; a < r.size(); ++a) ranks[a].push_back(r[a]);
  }
  const double alpha = 1.0 - o.level;
  for (size_t a = 0; a < out.arms.size(); ++a) {
    SensitivityArm& arm = out.arms[a];
    if (ranks[a].empty()) {
      arm.rank_lo = arm.rank_hi = arm.p_first = kNaN;
      continue;
    }
    arm.rank_lo = Quantile(ranks[a], alpha / 2.0);
    arm.rank_hi = Quantile(ranks[a], 1.0 - alpha / 2.0);
    int64_t first = 0;
    for (double r : ranks[a]) first += r == 1.0 ? 1 : 0;
    arm.p_first = static_cast<double>(first) / static_cast<double>(ranks[a].size());
  }
  return out;
}

std::vector<Table> SensitivityTables(const Sensitivity& s, const RunFrame& f,
                                     const AnalyzeOptions& o, const std::vector<int>& arm_keys,
                                     int key) {
  const std::string lv = FormatDouble("%g", o.level * 100.0) + "%";
  const std::string& kname = f.keys[static_cast<size_t>(key)];
  const std::string stat = StatName(o.stat);
  const char* fmt = "%.4g";
  Table pts;
  pts.name = "sensitivity";
  pts.title = stat + " " + MeasureLabel(o) + " over " + kname + " (" + lv +
              " stratified bootstrap CIs)";
  for (int k : arm_keys) pts.columns.push_back({f.keys[static_cast<size_t>(k)], {f.keys[static_cast<size_t>(k)]}, false});
  pts.columns.push_back({kname, {kname}, true});
  pts.columns.push_back({"n", {"n"}, true});
  pts.columns.push_back(CiColumn(stat + " (" + lv + " boot)", stat));
  pts.columns.push_back({"within " + FormatDouble("%g", o.within * 100.0) + "% of best", {"within"}, false});
  Table rank;
  rank.name = "ranking";
  rank.title = "insensitivity to " + kname + " (mean normalised score over the grid, " +
               (s.log_x ? "log" : "linear") + " axis, " + s.normalisation +
               "; 1 = the best everywhere), ranked";
  for (int k : arm_keys) rank.columns.push_back({f.keys[static_cast<size_t>(k)], {f.keys[static_cast<size_t>(k)]}, false});
  rank.columns.push_back({"points", {"points"}, true});
  rank.columns.push_back({"best (at " + kname + ")", {"best", "best_at"}, true});
  rank.columns.push_back({"median", {"median"}, true});
  rank.columns.push_back({"worst", {"worst"}, true});
  rank.columns.push_back({"within " + FormatDouble("%g", o.within * 100.0) + "%", {"within_share"}, true});
  rank.columns.push_back({"score", {"score"}, true});
  rank.columns.push_back({"rank (" + lv + " boot)", {"rank_lo", "rank_hi"}, true});
  rank.columns.push_back({"P(rank 1)", {"p_first"}, true});
  std::vector<size_t> order(s.arms.size());
  for (size_t a = 0; a < order.size(); ++a) order[a] = a;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double x = s.arms[a].score, y = s.arms[b].score;
    return std::isnan(y) ? !std::isnan(x) : x > y;
  });
  const bool higher = HigherIsBetter(o);
  for (size_t a = 0; a < s.arms.size(); ++a) {
    const SensitivityArm& arm = s.arms[a];
    for (size_t p = 0; p < arm.y.size(); ++p) {
      std::vector<Cell> row;
      for (const auto& d : arm.display) row.push_back(TextCell(d));
      row.push_back(TextCell(arm.x_display[p]));
      row.push_back(IntCell(arm.n[p]));
      row.push_back(CiCell(arm.y[p], arm.lo[p], arm.hi[p], fmt));
      const bool in = !std::isnan(arm.y[p]) && std::fabs(arm.y[p] - arm.best) <= o.within * std::fabs(arm.best);
      row.push_back(TextCell(std::isnan(arm.y[p]) ? "-" : in ? "yes" : "no"));
      pts.rows.push_back(std::move(row));
    }
  }
  for (size_t a : order) {
    const SensitivityArm& arm = s.arms[a];
    std::vector<Cell> row;
    for (const auto& d : arm.display) row.push_back(TextCell(d));
    row.push_back(IntCell(static_cast<int64_t>(arm.y.size())));
    Cell b;
    b.fields = {NumberCell(arm.best, "%g").fields[0], TextCell(arm.best_at).fields[0]};
    b.text = std::isnan(arm.best) ? "-" : FormatDouble(fmt, arm.best) + " (" + arm.best_at + ")";
    row.push_back(b);
    row.push_back(NumberCell(arm.median, fmt));
    row.push_back(NumberCell(arm.worst, fmt));
    row.push_back(NumberCell(arm.within_share, "%.2f"));
    row.push_back(NumberCell(arm.score, "%.3f"));
    Cell r;
    r.fields = {NumberCell(arm.rank_lo, "%g").fields[0], NumberCell(arm.rank_hi, "%g").fields[0]};
    r.text = std::isnan(arm.rank_lo) ? "-" : "[" + FormatDouble("%g", arm.rank_lo) + ", " + FormatDouble("%g", arm.rank_hi) + "]";
    row.push_back(r);
    row.push_back(NumberCell(arm.p_first, "%.2f"));
    rank.rows.push_back(std::move(row));
  }
  rank.notes.push_back(std::string("best/worst: ") + (higher ? "highest/lowest" : "lowest/highest") +
                       " grid point; within: share of grid points whose " + stat +
                       " lies within " + FormatDouble("%g", o.within * 100.0) + "% of the arm's best");
  rank.notes.push_back("rank CI: seeds resampled jointly across arms and grid points (paired)");
  return {pts, rank};
}

}  // namespace advlab
