#include "experiments/advantage.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/registry.h"

namespace advlab {

const char kAdvantageUsage[] =
    "usage: advlab advantage --estimator NAME|all [--group-size G] [--lengths FILE]\n"
    "                        [--reference FILE] [--greedy FILE] [--values FILE]\n"
    "                        [--estimator.KEY=VALUE ...] [--json]\n"
    "\n"
    "Reads groups of rewards from stdin, one group per line, and prints the advantage\n"
    "the estimator gives each rollout (the same Compute call as training).\n"
    "\n"
    "  --estimator NAME  a registered estimator (`advlab list estimators`), optionally\n"
    "                    +modifiers (`advlab list modifiers`: grpo+dash, grpo+aapo), or\n"
    "                    `all` for every estimator that runs on rewards alone; those\n"
    "                    reading a greedy reward (remax) join `all` only with --greedy,\n"
    "                    those reading critic values (gae) only with --values\n"
    "  --group-size G    require exactly G rewards on every line\n"
    "  --lengths FILE    each rollout's length in tokens: same layout as stdin,\n"
    "                    positive integers\n"
    "  --reference FILE  the reference policy's rewards (+aapo needs them, other\n"
    "                    estimators refuse them): same layout as stdin, the i-th\n"
    "                    paired with the i-th rollout of the group\n"
    "  --greedy FILE     the greedy response's reward of each group, one number per\n"
    "                    line (remax needs them, other estimators refuse them)\n"
    "  --values FILE     the critic's value of every token (gae needs them, other\n"
    "                    estimators refuse them): one line per stdin line, one item\n"
    "                    per rollout, each item the rollout's values separated by\n"
    "                    commas, one per token (gae runs with gamma = lambda = 1 and\n"
    "                    updates no critic)\n"
    "  --estimator.KEY=VALUE  an estimator key (`advlab list keys`), e.g.\n"
    "                    --estimator.scale_rewards=batch; refused when no listed\n"
    "                    estimator reads it\n"
    "  --json            one JSON object {\"estimator\": ..., \"advantages\": ...}\n"
    "\n"
    "Input: whitespace-separated finite decimals; `reward:length` gives a rollout's\n"
    "length inline (default 1). Blank lines and lines starting with # are skipped,\n"
    "in every file.\n"
    "\n"
    "  $ printf '1 0 0 1\\n0 0 0 1\\n' | advlab advantage --estimator grpo\n"
    "  $ printf '0 0 1 1\\n' > ref.txt\n"
    "  $ printf '1 0 0 1\\n' | advlab advantage --estimator grpo+aapo --reference ref.txt\n"
    "  $ printf '0.5,0.6,0.7 0.2,0.4\\n' > values.txt\n"
    "  $ printf '1:3 0:2\\n' | advlab advantage --estimator gae --values values.txt\n";

namespace {

constexpr char kStdinName[] = "stdin";

// One non-blank, non-comment line: its 1-based number and its tokens.
struct DataLine {
  int line = 0;
  std::vector<std::string> tokens;
};

std::vector<DataLine> ReadDataLines(std::istream& in) {
  std::vector<DataLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    std::istringstream words(text);  // splits on any whitespace, '\r' included
    DataLine dl;
    dl.line = number;
    std::string word;
    while (words >> word) dl.tokens.push_back(word);
    if (dl.tokens.empty() || dl.tokens[0][0] == '#') continue;
    lines.push_back(std::move(dl));
  }
  return lines;
}

std::string Where(const std::string& source, int line, int column) {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

enum class NumberStatus { kOk, kNotNumber, kNotFinite };

// A finite decimal (optional sign, digits, point, exponent); no hex, no inf/nan.
NumberStatus ParseReward(const std::string& text, double* value) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;  // from_chars takes no '+'
  if (first == last || *first == '+') return NumberStatus::kNotNumber;
  const auto [ptr, ec] = std::from_chars(first, last, *value, std::chars_format::general);
  if (ptr != last) return NumberStatus::kNotNumber;
  if (ec == std::errc::result_out_of_range) {
    // Overflow (1e999) or underflow (1e-999): strtod tells which.
    *value = std::strtod(std::string(first, last).c_str(), nullptr);
  } else if (ec != std::errc()) {
    return NumberStatus::kNotNumber;
  }
  return std::isfinite(*value) ? NumberStatus::kOk : NumberStatus::kNotFinite;
}

enum class LengthStatus { kOk, kNotPositiveInteger, kTooLarge };

// An integer >= 1 in plain digits, at most kMaxRolloutLength.
LengthStatus ParseLength(const std::string& text, int* value) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return LengthStatus::kNotPositiveInteger;
  }
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) return LengthStatus::kTooLarge;
  if (ec != std::errc() || ptr != text.data() + text.size()) return LengthStatus::kNotPositiveInteger;
  if (v < 1) return LengthStatus::kNotPositiveInteger;
  if (v > kMaxRolloutLength) return LengthStatus::kTooLarge;
  *value = static_cast<int>(v);
  return LengthStatus::kOk;
}

// The lengths file: per data line, the lengths (checked) and the line number.
struct LengthLines {
  std::vector<std::vector<int>> lengths;
  std::vector<int> line;
};

LengthLines ReadLengthsFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw UserError(path + ": cannot open (--lengths)");
  LengthLines out;
  for (const DataLine& dl : ReadDataLines(file)) {
    std::vector<int> row;
    for (size_t c = 0; c < dl.tokens.size(); ++c) {
      int v = 0;
      switch (ParseLength(dl.tokens[c], &v)) {
        case LengthStatus::kOk:
          break;
        case LengthStatus::kNotPositiveInteger:
          throw UserError(Where(path, dl.line, static_cast<int>(c) + 1) + "'" + dl.tokens[c] +
                          "' is not a length; allowed: an integer >= 1");
        case LengthStatus::kTooLarge:
          throw UserError(Where(path, dl.line, static_cast<int>(c) + 1) + "length '" +
                          dl.tokens[c] + "' is above the limit " +
                          std::to_string(kMaxRolloutLength));
      }
      row.push_back(v);
    }
    out.lengths.push_back(std::move(row));
    out.line.push_back(dl.line);
  }
  return out;
}

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// One finite decimal of the file given to `option`; `where` names its place
// (FILE:LINE:COLUMN, and the item around it when it sits in a list).
double FileNumber(const std::string& where, const std::string& text, const std::string& option) {
  double v = 0.0;
  switch (ParseReward(text, &v)) {
    case NumberStatus::kOk:
      break;
    case NumberStatus::kNotNumber:
      throw UserError(where + "'" + text + "' is not a number; allowed: finite decimals" +
                      (text.find(':') != std::string::npos ? " (no reward:length in " + option + ")"
                                                           : ""));
    case NumberStatus::kNotFinite:
      throw UserError(where + "'" + text + "' is not a finite number; allowed: finite decimals");
  }
  return v;
}

// A file with one line per stdin group that has fewer or more data lines than
// groups: the message names what is missing or extra (`what`: "reference
// rewards", "values").
UserError FileEndsEarly(const std::string& path, size_t lines, const std::string& what,
                        const RewardTable& table, size_t g) {
  const size_t groups = static_cast<size_t>(table.batch.num_groups());
  return UserError(path + ": ends after " + Plural(lines, "line") + " of " + what + ", but " +
                   kStdinName + " has " + Plural(groups, "group") + "; missing the line for " +
                   kStdinName + ":" + std::to_string(table.line[g]) +
                   " (group " + std::to_string(g + 1) + ")");
}
UserError FileHasExtraLine(const std::string& path, int line, const std::string& what,
                           const RewardTable& table) {
  return UserError(Where(path, line, 1) + "extra line of " + what + ": " + kStdinName + " has " +
                   Plural(static_cast<size_t>(table.batch.num_groups()), "group"));
}

// A file of rewards (--reference, --greedy): per data line, the values (finite
// decimals, checked) as parsed and as typed, and the line number.
struct RewardLines {
  std::vector<std::vector<double>> values;
  std::vector<std::vector<std::string>> typed;
  std::vector<int> line;
};

RewardLines ReadRewardFile(const std::string& path, const std::string& option) {
  std::ifstream file(path);
  if (!file) throw UserError(path + ": cannot open (" + option + ")");
  RewardLines out;
  for (const DataLine& dl : ReadDataLines(file)) {
    std::vector<double> row;
    for (size_t c = 0; c < dl.tokens.size(); ++c) {
      const std::string where = Where(path, dl.line, static_cast<int>(c) + 1);
      row.push_back(FileNumber(where, dl.tokens[c], option));
    }
    out.values.push_back(std::move(row));
    out.typed.push_back(dl.tokens);
    out.line.push_back(dl.line);
  }
  return out;
}

// Reads --reference into table->extra.reference: the same number of rewards as
// each group on stdin, one line per group.
void ReadReference(const std::string& path, RewardTable* table) {
  const RewardLines ref = ReadRewardFile(path, "--reference");
  Batch& b = table->batch;
  const size_t groups = static_cast<size_t>(b.num_groups());
  for (size_t g = 0; g < groups; ++g) {
    const std::string stdin_line = std::string(kStdinName) + ":" + std::to_string(table->line[g]);
    if (g >= ref.values.size()) {
      throw FileEndsEarly(path, ref.values.size(), "reference rewards", *table, g);
    }
    const size_t n = static_cast<size_t>(b.group_size(static_cast<int>(g)));
    const size_t m = ref.values[g].size();
    if (m != n) {
      throw UserError(Where(path, ref.line[g], static_cast<int>(std::min(m, n)) + 1) +
                      (m > n ? "extra reference reward" : "missing reference reward") + ": " +
                      Plural(m, "reference reward") + " for " + Plural(n, "reward") + " on " +
                      stdin_line);
    }
    table->extra.reference.insert(table->extra.reference.end(), ref.values[g].begin(),
                                  ref.values[g].end());
    table->ref_typed.push_back(ref.typed[g]);
  }
  if (ref.values.size() > groups) {
    throw FileHasExtraLine(path, ref.line[groups], "reference rewards", *table);
  }
}

// Reads --greedy into table->extra.greedy: one reward per line, one line
// per group.
void ReadGreedy(const std::string& path, RewardTable* table) {
  const RewardLines greedy = ReadRewardFile(path, "--greedy");
  Batch& b = table->batch;
  const size_t groups = static_cast<size_t>(b.num_groups());
  for (size_t g = 0; g < greedy.values.size() && g < groups; ++g) {
    if (greedy.values[g].size() > 1) {
      throw UserError(Where(path, greedy.line[g], 2) + "extra value '" + greedy.typed[g][1] +
                      "'; allowed: one greedy reward per line, one line per group");
    }
  }
  if (greedy.values.size() < groups) {
    const size_t g = greedy.values.size();
    throw UserError(path + ": ends after " + Plural(g, "greedy reward") + ", but " + kStdinName +
                    " has " + Plural(groups, "group") + "; missing the one for " + kStdinName +
                    ":" + std::to_string(table->line[g]) + " (group " + std::to_string(g + 1) +
                    ")");
  }
  if (greedy.values.size() > groups) {
    throw UserError(Where(path, greedy.line[groups], 1) + "extra greedy reward: " + kStdinName +
                    " has " + Plural(groups, "group") + "; allowed: one line per group");
  }
  for (size_t g = 0; g < groups; ++g) {
    table->extra.greedy.push_back(greedy.values[g][0]);
    table->greedy_typed.push_back(greedy.typed[g][0]);
  }
}

// Reads --values into table->batch.value, in token order: one line per group, one
// item per rollout (the group's rewards on stdin, index-paired), each item the
// rollout's per-token values separated by commas, as many as its length.
void ReadValues(const std::string& path, RewardTable* table) {
  std::ifstream file(path);
  if (!file) throw UserError(path + ": cannot open (--values)");
  const std::vector<DataLine> lines = ReadDataLines(file);
  Batch& b = table->batch;
  const size_t groups = static_cast<size_t>(b.num_groups());
  b.value.clear();
  for (size_t g = 0; g < groups; ++g) {
    const std::string stdin_line = std::string(kStdinName) + ":" + std::to_string(table->line[g]);
    if (g >= lines.size()) throw FileEndsEarly(path, lines.size(), "values", *table, g);
    const DataLine& dl = lines[g];
    const size_t n = static_cast<size_t>(b.group_size(static_cast<int>(g)));
    const size_t m = dl.tokens.size();
    if (m != n) {
      throw UserError(Where(path, dl.line, static_cast<int>(std::min(m, n)) + 1) +
                      (m > n ? "extra item" : "missing item") + ": " + Plural(m, "item") +
                      " of values for " + Plural(n, "reward") + " on " + stdin_line +
                      "; allowed: one item per rollout, its values separated by commas");
    }
    for (size_t c = 0; c < n; ++c) {
      const std::string& item = dl.tokens[c];
      const std::string where = Where(path, dl.line, static_cast<int>(c) + 1);
      // Inside a list of values, name the item and the value that is wrong.
      const std::string list =
          item.find(',') == std::string::npos ? "" : "'" + item + "': ";
      size_t count = 0;
      for (size_t start = 0;;) {
        const size_t comma = item.find(',', start);
        const std::string text =
            item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        b.value.push_back(FileNumber(where + list, text, "--values"));
        ++count;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      const int r = b.group_begin[g] + static_cast<int>(c);
      const size_t length = static_cast<size_t>(b.length(r));
      if (count != length) {
        throw UserError(where + "'" + item + "': " + Plural(count, "value") + " for a rollout of " +
                        Plural(length, "token") + " (" + stdin_line + ":" +
                        std::to_string(c + 1) + "); allowed: one value per token, separated "
                        "by commas");
      }
    }
  }
  if (lines.size() > groups) throw FileHasExtraLine(path, lines[groups].line, "values", *table);
  ADVLAB_CHECK_EQ(b.value.size(), static_cast<size_t>(b.num_tokens()));
}

// "all" and every estimator that runs here (with --greedy or --values where it
// needs one): what --estimator allows.
std::vector<std::string> AllowedEstimators() {
  std::vector<std::string> allowed = {"all"};
  for (const auto& n : BareRewardEstimatorNames(true, true)) allowed.push_back(n);
  return allowed;
}

// The estimators named by --estimator, in registry order for `all` (those that
// read a greedy reward only when --greedy gives one, critic values only when
// --values does).
std::vector<std::string> ResolveEstimators(const std::string& name, bool have_greedy,
                                           bool have_values) {
  const std::vector<std::string> allowed = AllowedEstimators();
  if (name == "all") return BareRewardEstimatorNames(have_greedy, have_values);
  // A base estimator, optionally with +modifiers (grpo+adora). The base is
  // checked first against what runs here (no oracle), then the whole name by
  // the estimator.name key's parser.
  const std::string base = name.substr(0, name.find('+'));
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find(base);
  if (entry == nullptr) {
    throw UserError("--estimator: unknown estimator '" + base + "'" + DidYouMean(base, allowed) +
                    "; allowed: " + JoinNames(allowed));
  }
  ParseEstimatorName(name, "--estimator");
  if (entry->needs_task) {
    throw UserError("--estimator: '" + name +
                    "' needs a task's exact oracle and cannot run on bare rewards; allowed: " +
                    JoinNames(allowed));
  }
  return {name};
}

// The advantages the registered estimator `name` gives the batch: a fresh
// estimator and a copy of the batch, then Bind and Compute, as in training.
// PlanEstimators has checked the batch: the step does not throw.
// The reference and greedy rewards reach the estimator through its sampling
// hook (SampleExtra), served from the files; no resampling on bare rewards.
std::vector<double> RunEstimator(const std::string& name, const Batch& batch,
                                 const FixedSampler& given, const Config* config) {
  Batch b = batch;
  FixedSampler extra = given;
  std::unique_ptr<Estimator> estimator = MakeEstimator(name);
  // Training binds every estimator to its run; here there is none: no task or
  // policy, and the config only when --estimator.KEY options were given (else
  // all null: estimators use their defaults).
  EstimatorContext context;
  context.config = config;
  estimator->Bind(context);
  estimator->SampleExtra(&extra, b);
  estimator->Compute(&b);
  ADVLAB_CHECK_EQ(b.advantage.size(), b.reward.size());
  return std::vector<double>(b.advantage.begin(), b.advantage.end());
}

// Registered names whose entry satisfies `pred`, for messages ("none" if none).
template <typename Registry, typename Pred>
std::string NamesWhere(Pred pred) {
  std::vector<std::string> names;
  for (const auto* e : Registry::Get().All()) {
    if (pred(*e)) names.push_back(e->name);
  }
  return names.empty() ? "none registered" : JoinNames(names);
}

// --reference, --greedy and --values are required by the estimators that read
// them and refused for the others: a file that silently changes nothing misleads.
void CheckExtraInputs(const std::string& estimator, const std::vector<std::string>& names,
                      const RewardFiles& files) {
  const bool have_ref = !files.reference.empty(), have_greedy = !files.greedy.empty();
  const bool have_values = !files.values.empty();
  const std::string ref_mods = NamesWhere<ModifierRegistry>(
      [](const ModifierEntry& m) { return m.needs_reference; });
  const std::string greedy_ests = NamesWhere<EstimatorRegistry>(
      [](const EstimatorEntry& e) { return e.needs_greedy; });
  const std::string values_ests = NamesWhere<EstimatorRegistry>(
      [](const EstimatorEntry& e) { return e.needs_values; });
  bool any_ref = false, any_greedy = false, any_values = false;
  for (const auto& name : names) {
    const EstimatorSpec spec = ParseEstimatorName(name, "--estimator");
    for (const ModifierEntry* m : spec.modifiers) {
      if (!m->needs_reference) continue;
      any_ref = true;
      if (!have_ref) {
        throw UserError("--estimator " + name + ": " + m->name +
                        " needs the reference policy's rewards; give --reference FILE (one line "
                        "per group, as many rewards as the group's line on stdin)");
      }
    }
    if (spec.base->needs_greedy) {
      any_greedy = true;
      if (!have_greedy) {
        throw UserError("--estimator " + name + ": " + spec.base->name +
                        " needs the greedy response's reward of each group; give --greedy FILE "
                        "(one number per line, one line per group)");
      }
    }
    if (spec.base->needs_values) {
      any_values = true;
      if (!have_values) {
        throw UserError("--estimator " + name + ": " + spec.base->name +
                        " needs the critic's value of every token; give --values FILE (one line "
                        "per group, one item per rollout: its values separated by commas, one "
                        "per token)");
      }
    }
  }
  if (have_ref && !any_ref) {
    throw UserError("--reference: estimator '" + estimator +
                    "' reads no reference rewards; allowed only with a modifier that does (" +
                    ref_mods + "), e.g. --estimator grpo+aapo");
  }
  if (have_greedy && !any_greedy) {
    if (estimator == "all") {
      throw UserError("--greedy: no registered estimator reads greedy rewards");
    }
    throw UserError("--greedy: estimator '" + estimator +
                    "' reads no greedy rewards; allowed only with an estimator that does (" +
                    greedy_ests + "), or with `all`");
  }
  if (have_values && !any_values) {
    if (estimator == "all") {
      throw UserError("--values: no registered estimator reads critic values");
    }
    throw UserError("--values: estimator '" + estimator +
                    "' reads no critic values; allowed only with an estimator that does (" +
                    values_ests + "), or with `all`");
  }
}

int ParseGroupSize(const std::string& text) {
  int v = 0;
  if (ParseLength(text, &v) != LengthStatus::kOk) {
    throw UserError("--group-size: invalid value '" + text + "'; allowed: an integer from 1 to " +
                    std::to_string(kMaxRolloutLength));
  }
  return v;
}

// ---- output -------------------------------------------------------------------

std::string FormatFixed(double a) {
  if (std::isnan(a)) return "nan";
  if (std::isinf(a)) return a > 0 ? "inf" : "-inf";
  if (a == 0.0) a = 0.0;  // no "-0.000000" for an exact zero
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", a);
  return buf;
}

std::string FormatJsonNumber(double a) {
  if (!std::isfinite(a)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", a);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// [[a, b, ...], [...]]: one inner list per group.
std::string JsonGroups(const Batch& batch, const std::vector<double>& adv) {
  std::string s = "[";
  for (int g = 0; g < batch.num_groups(); ++g) {
    s += g == 0 ? "[" : ", [";
    for (int r = batch.group_begin[g]; r < batch.group_begin[g + 1]; ++r) {
      if (r > batch.group_begin[g]) s += ", ";
      s += FormatJsonNumber(adv[static_cast<size_t>(r)]);
    }
    s += "]";
  }
  return s + "]";
}

void WriteJson(const std::string& estimator, const std::vector<std::string>& names,
               const RewardTable& table, const std::vector<std::vector<double>>& adv,
               std::ostream& out) {
  out << "{\"estimator\": " << JsonString(estimator) << ", \"advantages\": ";
  if (estimator == "all") {
    out << "{";
    for (size_t e = 0; e < names.size(); ++e) {
      out << (e == 0 ? "" : ", ") << JsonString(names[e]) << ": " << JsonGroups(table.batch, adv[e]);
    }
    out << "}";
  } else {
    out << JsonGroups(table.batch, adv[0]);
  }
  out << "}\n";
}

// One block per group: the rewards as typed, the lengths (when any is not 1),
// then one row of advantages per estimator; every cell right-aligned to one width
// over the whole output so that columns line up across groups.
void WriteText(const std::string& estimator, const std::vector<std::string>& names,
               const RewardTable& table, const std::vector<std::vector<double>>& adv,
               std::ostream& out) {
  const Batch& batch = table.batch;
  bool show_lengths = false;
  for (int r = 0; r < batch.num_rollouts(); ++r) show_lengths |= batch.length(r) != 1;

  std::vector<std::vector<std::string>> cells(names.size());  // [estimator][rollout]
  size_t width = 1;
  for (size_t e = 0; e < names.size(); ++e) {
    for (double a : adv[e]) {
      cells[e].push_back(FormatFixed(a));
      width = std::max(width, cells[e].back().size());
    }
  }
  for (const auto& row : table.typed) {
    for (const auto& t : row) width = std::max(width, t.size());
  }
  for (const auto& row : table.ref_typed) {
    for (const auto& t : row) width = std::max(width, t.size());
  }
  const bool show_ref = !table.ref_typed.empty();
  for (int r = 0; r < batch.num_rollouts() && show_lengths; ++r) {
    width = std::max(width, std::to_string(batch.length(r)).size());
  }
  size_t label = std::string(show_ref ? "reference" : "reward").size();
  for (const auto& n : names) label = std::max(label, n.size());

  auto row = [&](const std::string& name, int g, auto cell) {
    std::string s = "  " + name + std::string(label - name.size(), ' ');
    for (int r = batch.group_begin[g]; r < batch.group_begin[g + 1]; ++r) {
      const std::string c = cell(r);
      s += "  " + std::string(width - std::min(width, c.size()), ' ') + c;
    }
    out << s << "\n";
  };

  out << (estimator == "all" ? "estimators (all): " : "estimator: ") << JoinNames(names) << "  ("
      << Plural(static_cast<size_t>(batch.num_groups()), "group") << ", "
      << Plural(static_cast<size_t>(batch.num_rollouts()), "rollout") << ", "
      << Plural(static_cast<size_t>(batch.num_tokens()), "token") << ")\n";
  out << "per input line: the rewards as typed, "
      << (show_ref ? "the reference rewards (--reference), " : "")
      << (show_lengths ? "the lengths in tokens, " : "")
      << "then each rollout's advantage A (6 decimals; --json for all digits)\n";
  for (int g = 0; g < batch.num_groups(); ++g) {
    out << "\n" << kStdinName << ":" << table.line[static_cast<size_t>(g)] << "  (group " << g + 1
        << ", G = " << batch.group_size(g);
    if (!table.greedy_typed.empty()) {
      out << ", greedy reward " << table.greedy_typed[static_cast<size_t>(g)];
    }
    out << ")\n";
    const int first = batch.group_begin[g];
    row("reward", g, [&](int r) { return table.typed[static_cast<size_t>(g)][static_cast<size_t>(r - first)]; });
    if (show_ref) {
      row("reference", g, [&](int r) {
        return table.ref_typed[static_cast<size_t>(g)][static_cast<size_t>(r - first)];
      });
    }
    if (show_lengths) row("length", g, [&](int r) { return std::to_string(batch.length(r)); });
    for (size_t e = 0; e < names.size(); ++e) {
      row(names[e], g, [&](int r) { return cells[e][static_cast<size_t>(r)]; });
    }
  }
}

}  // namespace

RewardTable ParseRewardTable(std::istream& in, const std::string& lengths_file, int group_size) {
  RewardFiles files;
  files.lengths = lengths_file;
  return ParseRewardTable(in, files, group_size);
}

RewardTable ParseRewardTable(std::istream& in, const RewardFiles& files, int group_size) {
  const std::string& lengths_file = files.lengths;
  const std::vector<DataLine> lines = ReadDataLines(in);
  if (lines.empty()) throw UserError(std::string(kStdinName) + ": no rewards");
  LengthLines file_lengths;
  const bool have_file = !lengths_file.empty();
  if (have_file) file_lengths = ReadLengthsFile(lengths_file);

  RewardTable table;
  Batch& b = table.batch;
  b.Clear();
  std::vector<int> lengths;  // [rollouts]
  long long total_tokens = 0;
  for (size_t k = 0; k < lines.size(); ++k) {
    const DataLine& dl = lines[k];
    const int n = static_cast<int>(dl.tokens.size());
    std::vector<std::string> typed;
    std::vector<int> group_lengths;
    for (int c = 0; c < n; ++c) {
      const std::string& token = dl.tokens[static_cast<size_t>(c)];
      const std::string where = Where(kStdinName, dl.line, c + 1);
      const size_t colon = token.find(':');
      const std::string reward_text = token.substr(0, colon);
      // Inside a reward:length pair, name the pair and the part that is wrong.
      const std::string pair = colon == std::string::npos ? "" : "'" + token + "': ";
      double reward = 0.0;
      switch (ParseReward(reward_text, &reward)) {
        case NumberStatus::kOk:
          break;
        case NumberStatus::kNotNumber:
          throw UserError(where + pair + "'" + reward_text + "' is not a number");
        case NumberStatus::kNotFinite:
          throw UserError(where + pair + "'" + reward_text +
                          "' is not a finite number; allowed: finite decimals");
      }
      int length = 0;  // 0: not given inline
      if (colon != std::string::npos) {
        const std::string length_text = token.substr(colon + 1);
        switch (ParseLength(length_text, &length)) {
          case LengthStatus::kOk:
            break;
          case LengthStatus::kNotPositiveInteger:
            throw UserError(where + pair + "length '" + length_text +
                            "' is not an integer >= 1");
          case LengthStatus::kTooLarge:
            throw UserError(where + pair + "length '" + length_text + "' is above the limit " +
                            std::to_string(kMaxRolloutLength));
        }
      }
      typed.push_back(reward_text);
      b.reward.push_back(reward);
      group_lengths.push_back(length);
    }
    if (group_size > 0 && n != group_size) {
      throw UserError(Where(kStdinName, dl.line, std::min(n, group_size) + 1) + "line has " +
                      Plural(static_cast<size_t>(n), "reward") + "; --group-size is " +
                      std::to_string(group_size));
    }
    if (have_file) {
      if (k >= file_lengths.lengths.size()) {
        throw UserError(Where(kStdinName, dl.line, 1) + "no line of lengths for this group in " +
                        lengths_file + " (it has " +
                        Plural(file_lengths.lengths.size(), "line") + " of lengths, stdin has " +
                        Plural(lines.size(), "group") + ")");
      }
      const std::vector<int>& fl = file_lengths.lengths[k];
      const int fline = file_lengths.line[k];
      const int m = static_cast<int>(fl.size());
      if (m != n) {
        throw UserError(Where(lengths_file, fline, std::min(m, n) + 1) +
                        (m > n ? "extra length" : "missing length") + ": " +
                        Plural(static_cast<size_t>(m), "length") + " for " +
                        Plural(static_cast<size_t>(n), "reward") + " on " + kStdinName + ":" +
                        std::to_string(dl.line));
      }
      for (int c = 0; c < n; ++c) {
        int& length = group_lengths[static_cast<size_t>(c)];
        const int from_file = fl[static_cast<size_t>(c)];
        if (length != 0 && length != from_file) {
          throw UserError(Where(kStdinName, dl.line, c + 1) + "'" +
                          dl.tokens[static_cast<size_t>(c)] + "' gives length " +
                          std::to_string(length) + " but " + lengths_file + ":" +
                          std::to_string(fline) + ":" + std::to_string(c + 1) + " gives " +
                          std::to_string(from_file));
        }
        length = from_file;
      }
    }
    for (int c = 0; c < n; ++c) {
      int& length = group_lengths[static_cast<size_t>(c)];
      if (length == 0) length = 1;
      total_tokens += length;
      if (total_tokens > kMaxTotalTokens) {
        throw UserError(Where(kStdinName, dl.line, c + 1) + "more than " +
                        std::to_string(kMaxTotalTokens) + " tokens in all");
      }
      lengths.push_back(length);
    }
    b.prompt.push_back(static_cast<int32_t>(k));
    b.group_begin.push_back(static_cast<int32_t>(b.reward.size()));
    table.typed.push_back(std::move(typed));
    table.line.push_back(dl.line);
  }
  if (have_file && file_lengths.lengths.size() > lines.size()) {
    throw UserError(Where(lengths_file, file_lengths.line[lines.size()], 1) +
                    "extra line of lengths: " + kStdinName + " has " +
                    Plural(lines.size(), "group"));
  }

  const size_t rollouts = b.reward.size();
  b.correct.resize(rollouts);
  b.truncated.assign(rollouts, 0);
  for (size_t r = 0; r < rollouts; ++r) {
    b.correct[r] = b.reward[r] > 0.0 ? 1 : 0;
    b.token_begin.push_back(b.token_begin.back() + lengths[r]);
  }
  b.ResizeTokens(static_cast<int>(total_tokens));  // tokens, states, logprobs: 0
  if (!files.reference.empty()) ReadReference(files.reference, &table);
  if (!files.greedy.empty()) ReadGreedy(files.greedy, &table);
  if (!files.values.empty()) ReadValues(files.values, &table);
  return table;
}

void PlanEstimators(const std::string& estimator, const std::vector<std::string>& names,
                    const RewardTable& table) {
  for (const auto& name : names) {
    const std::string refusal =
        BareBatchRefusal(ParseEstimatorName(name, "--estimator"), table.batch, table.extra);
    if (refusal.empty()) continue;
    throw UserError(estimator == "all" ? "estimator '" + name + "': " + refusal : refusal);
  }
}

Batch ParseRewardGroups(std::istream& in, const std::string& lengths_file, int group_size) {
  return ParseRewardTable(in, lengths_file, group_size).batch;
}

std::vector<std::string> BareRewardEstimatorNames(bool with_greedy, bool with_values) {
  std::vector<std::string> names;
  for (const EstimatorEntry* e : EstimatorRegistry::Get().All()) {
    if (e->name != "all" && !e->needs_task && (with_greedy || !e->needs_greedy) &&
        (with_values || !e->needs_values)) {
      names.push_back(e->name);
    }
  }
  return names;
}

int AdvantageCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out) {
  static const std::vector<std::string> kOptions = {
      "--estimator", "--group-size", "--lengths", "--reference",
      "--greedy",    "--values",     "--json",    "--help"};
  std::string estimator;
  RewardFiles files;
  int group_size = 0;
  bool json = false;
  std::map<std::string, std::string> keys;  // --estimator.KEY=VALUE
  std::vector<std::string> key_order;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string inline_value;
    bool has_inline_value = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_inline_value = true;
    }
    auto value = [&]() -> std::string {
      if (has_inline_value) return inline_value;
      if (i + 1 >= args.size()) throw UserError(a + " needs a value");
      return args[++i];
    };
    if (a == "--estimator") {
      estimator = value();
      if (estimator.empty()) throw UserError("--estimator needs a value");
    } else if (a.rfind("--estimator.", 0) == 0) {
      const std::string key = a.substr(2);
      if (key == "estimator.name") throw UserError("advantage: use --estimator NAME, not --" + key);
      if (keys.count(key) == 0) key_order.push_back(key);
      keys[key] = value();
    } else if (a == "--group-size") {
      group_size = ParseGroupSize(value());
    } else if (a == "--lengths" || a == "--reference" || a == "--greedy" || a == "--values") {
      std::string& path = a == "--lengths"     ? files.lengths
                          : a == "--reference" ? files.reference
                          : a == "--greedy"    ? files.greedy
                                               : files.values;
      path = value();
      if (path.empty()) throw UserError(a + " needs a value");
    } else if ((a == "--json" || a == "--help" || a == "-h") && !has_inline_value) {
      if (a == "--json") {
        json = true;
      } else {
        out << kAdvantageUsage;
        return 0;
      }
    } else if (!a.empty() && a[0] == '-') {
      throw UserError("advantage: unknown option '" + args[i] + "'" + DidYouMean(a, kOptions) +
                      "; allowed: " + JoinNames(kOptions));
    } else {
      throw UserError("advantage: unexpected argument '" + a +
                      "'; rewards are read from stdin, one group per line");
    }
  }
  if (estimator.empty()) {
    throw UserError("advantage: --estimator NAME is required; allowed: " +
                    JoinNames(AllowedEstimators()));
  }
  std::vector<std::string> names =
      ResolveEstimators(estimator, !files.greedy.empty(), !files.values.empty());
  if (names.empty()) throw UserError("--estimator all: no registered estimator runs on rewards alone");
  CheckExtraInputs(estimator, names, files);
  // --estimator.KEY options: each estimator's config, validated (range, choices)
  // and refused when no listed estimator reads the key, before reading stdin.
  std::vector<Config> configs;
  if (!keys.empty()) {
    std::vector<const Config*> runs;
    for (const auto& name : names) {
      std::map<std::string, std::string> overrides = keys;
      overrides["estimator.name"] = name;
      configs.push_back(Config::Resolve(overrides));
    }
    for (const Config& c : configs) runs.push_back(&c);
    CheckKeysRead(key_order, runs);
  }
  const RewardTable table = ParseRewardTable(in, files, group_size);
  if (estimator == "all") {
    // `all` leaves out the estimators that refuse these group sizes (grpo_passk
    // on a singleton, passk and pkpo on groups smaller than their k).
    std::vector<std::string> fit;
    for (const auto& name : names) {
      const EstimatorEntry* base = ParseEstimatorName(name, "--estimator").base;
      bool refused = false;
      for (int g = 0; g < table.batch.num_groups() && base->group_refusal; ++g) {
        const int n = table.batch.group_size(g);
        refused = refused || (n > 0 && !base->group_refusal(nullptr, n).empty());
      }
      if (!refused) fit.push_back(name);
    }
    names = fit;
  }
  PlanEstimators(estimator, names, table);

  std::vector<std::vector<double>> adv;
  for (size_t k = 0; k < names.size(); ++k) {
    adv.push_back(RunEstimator(names[k], table.batch, table.extra,
                               configs.empty() ? nullptr : &configs[k]));
  }
  if (json) {
    WriteJson(estimator, names, table, adv, out);
  } else {
    WriteText(estimator, names, table, adv, out);
  }
  return 0;
}

}  // namespace advlab
