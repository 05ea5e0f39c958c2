// analysis_stats_probe: reads vectors from stdin and prints the analysis/stats.h
// statistics of them with %.17g, for tests/stats_scipy_test.py. Not installed.
//
// Input, one "key: values" line each (order free, blank lines ignored):
//   x: 1 2 3          the sample (required)
//   y: 4 5 6          a second sample: probability of improvement, and the paired
//                     comparison when it has x's length
//   level: 0.95       interval level (default 0.95)
//   resamples: 2000   bootstrap resamples (default 2000)
//   seed: 0           bootstrap seed (default 0); the stream is 0
//   p: 0.1 0.5        quantile levels
//   tau: 0 1          performance-profile thresholds
// Output: "name: v..." lines; NaN prints as "nan".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/stats.h"

namespace advlab {
namespace {

void Print(const char* name, const std::vector<double>& v) {
  std::printf("%s:", name);
  for (double d : v) std::printf(" %.17g", d);
  std::printf("\n");
}

void Print(const char* name, double v) { Print(name, std::vector<double>{v}); }
void Print(const char* name, Interval i) { Print(name, std::vector<double>{i.lo, i.hi}); }

int Main() {
  std::vector<double> x, y, ps, taus;
  double level = 0.95;
  int resamples = 2000;
  uint64_t seed = 0;
  bool have_x = false, have_y = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::istringstream in(line.substr(colon + 1));
    std::vector<double> values;
    for (std::string tok; in >> tok;) values.push_back(std::strtod(tok.c_str(), nullptr));
    if (key == "x") {
      x = values;
      have_x = true;
    } else if (key == "y") {
      y = values;
      have_y = true;
    } else if (key == "p") {
      ps = values;
    } else if (key == "tau") {
      taus = values;
    } else if (key == "level" && values.size() == 1) {
      level = values[0];
    } else if (key == "resamples" && values.size() == 1) {
      resamples = static_cast<int>(values[0]);
    } else if (key == "seed" && values.size() == 1) {
      seed = static_cast<uint64_t>(values[0]);
    } else {
      std::fprintf(stderr, "analysis_stats_probe: bad line '%s' (keys: x y level resamples "
                           "seed p tau, one value for level/resamples/seed)\n", line.c_str());
      return 2;
    }
  }
  if (!have_x) {
    std::fprintf(stderr, "analysis_stats_probe: no 'x:' line on stdin\n");
    return 2;
  }

  Print("n", static_cast<double>(x.size()));
  Print("mean", Mean(x));
  Print("median", Median(x));
  Print("iqm", Iqm(x));
  std::vector<double> q;
  for (double p : ps) q.push_back(Quantile(x, p));
  Print("quantile", q);
  Print("t_interval", TMeanInterval(x, level));
  for (Stat s : {Stat::kMean, Stat::kMedian, Stat::kIqm}) {
    const std::string name = std::string("boot_") + StatName(s);
    Print(name.c_str(), BootstrapCI(x, s, level, resamples, seed, 0));
  }
  Print("profile_higher", PerformanceProfile(x, taus, true));
  Print("profile_lower", PerformanceProfile(x, taus, false));
  if (have_y) {
    Print("poi_higher", ProbabilityOfImprovement(x, y, true));
    Print("poi_lower", ProbabilityOfImprovement(x, y, false));
    if (x.size() == y.size()) {
      const PairedComparison c = ComparePaired(x, y, true, level, resamples, seed, 0);
      Print("paired_sufficient", c.sufficient ? 1.0 : 0.0);
      Print("paired_diff_mean", c.diff_mean);
      Print("paired_diff_boot", c.diff_boot);
      Print("paired_diff_t", c.diff_t);
      Print("paired_poi", c.poi);
      Print("paired_poi_ci", c.poi_ci);
      Print("paired_verdict", static_cast<double>(c.verdict));
    }
  }
  return 0;
}

}  // namespace
}  // namespace advlab

int main() { return advlab::Main(); }
