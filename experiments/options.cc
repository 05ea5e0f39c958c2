#include "experiments/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <cstdio>
#include <cstring>

#include <boost/program_options.hpp>

#include "sim/config.h"
#include "sim/error.h"

namespace po = boost::program_options;

namespace advlab {
namespace {

// A config file larger than this is not a config file (a results file given
// by mistake, say): refuse it instead of reading it all.
constexpr off_t kMaxIniBytes = 4 << 20;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 when s[i] does not
// start one (stray or truncated bytes are then shown as \xNN).
size_t Utf8Length(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (c >= 0xf8 || n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

std::string FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

// Every registered key as a string-valued option.
void AddKeyOptions(po::options_description* desc) {
  for (const KeySpec* spec : KeyRegistry::Get().All()) {
    desc->add_options()(spec->name.c_str(), po::value<std::string>(), spec->help.c_str());
  }
}

std::vector<std::string> KnownOptionNames(const po::options_description& desc) {
  std::vector<std::string> names;
  for (const auto& opt : desc.options()) names.push_back(opt->long_name());
  return names;
}

[[noreturn]] void UnknownOption(const std::string& name, const po::options_description& desc) {
  throw UserError("unknown key " + QuoteInput(name) + DidYouMean(name, KnownOptionNames(desc)) +
                  "; `advlab list keys` shows every key");
}

constexpr int64_t kMaxSeeds = 1000000;
constexpr int64_t kMaxThreads = 1024;

// The key of a grid axis: registered, and not a column the results file fills
// itself. `where` prefixes messages; `seeds_hint` says how to set the seeds there.
void CheckGridKey(const std::string& key, const std::string& where, const std::string& seeds_hint) {
  if (key == "seed") {
    throw UserError(where + ": 'seed' is a run column of the results file, not a grid key; "
                    "each grid point runs the seeds seed, seed + 1, ...: " + seeds_hint);
  }
  if (IsRunColumn(key)) {
    throw UserError(where + ": '" + key +
                    "' is a run column of the results file (each run's index), not a key");
  }
  if (KeyRegistry::Get().Find(key) == nullptr) {
    throw UserError(where + ": unknown key " + QuoteInput(key) +
                    DidYouMean(key, KeyRegistry::Get().Names()) +
                    "; `advlab list keys` shows every key");
  }
}

// "v1,v2,..." -> values (spaces around commas dropped).
std::vector<std::string> SplitGridValues(const std::string& text, const std::string& where) {
  std::vector<std::string> values;
  size_t begin = 0;
  for (;;) {
    size_t comma = text.find(',', begin);
    std::string v = Trim(text.substr(begin, comma == std::string::npos ? std::string::npos
                                                                       : comma - begin));
    if (v.empty()) throw UserError(where + ": empty value in " + QuoteInput(text));
    values.push_back(v);
    if (comma == std::string::npos) return values;
    begin = comma + 1;
  }
}

// An arm's name: [A-Za-z0-9_.-]+, so it reads the same in a results column,
// a --compare list and a message.
void CheckArmName(const std::string& name, const std::string& where) {
  bool ok = !name.empty();
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-');
  }
  if (!ok) {
    throw UserError(where + ": invalid arm name " + QuoteInput(name) +
                    "; allowed: letters, digits, '_', '.' and '-'");
  }
}

// One key of an arm: registered, not a run column, not given twice in the
// arm, and a valid value. `where` prefixes messages.
void AddArmKey(Arm* arm, const std::string& key, const std::string& value,
               const std::string& where) {
  if (IsRunColumn(key)) {
    throw UserError(where + ": '" + key + "' is a run column of the results file, not a key an "
                    "arm may set; every arm runs the same seeds (set the first with seed = S "
                    "outside the arms)");
  }
  const KeySpec* spec = KeyRegistry::Get().Find(key);
  if (spec == nullptr) {
    std::string hint = DidYouMean(key, KeyRegistry::Get().Names());
    if (hint.empty()) {  // a key written without its section, as under [train]
      for (const std::string& name : KeyRegistry::Get().Names()) {
        if (name.size() > key.size() && name.compare(name.size() - key.size(), key.size(), key) == 0 &&
            name[name.size() - key.size() - 1] == '.') {
          hint = " (did you mean '" + name + "'? an arm takes full dotted keys)";
          break;
        }
      }
    }
    throw UserError(where + ": unknown key " + QuoteInput(key) + hint +
                    "; `advlab list keys` shows every key");
  }
  for (const auto& kv : arm->keys) {
    if (kv.first == key) throw UserError(where + ": key '" + key + "' set twice in the arm");
  }
  try {
    CanonicalValue(*spec, value);
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
  arm->keys.emplace_back(key, value);
}

// Reads a whole config file, refusing anything but a readable regular text file.
std::string ReadConfigText(const std::string& path, const std::string& name) {
  // O_NONBLOCK: opening a fifo must not wait for a writer.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw UserError(name + ": cannot open config file: " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    throw UserError(name + ": cannot read config file: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    throw UserError(name + ": cannot use as config file: " + FileTypeName(st.st_mode) +
                    "; --config takes an INI file (`advlab list presets` shows the presets)");
  }
  if (st.st_size > kMaxIniBytes) {
    close(fd);
    throw UserError(name + ": cannot use as config file: " + std::to_string(st.st_size) +
                    " bytes, more than a config file's " + std::to_string(kMaxIniBytes));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      throw UserError(name + ": cannot read config file: " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxIniBytes)) break;  // grew meanwhile
  }
  close(fd);
  return text;
}

}  // namespace

int64_t ParseCount(const std::string& name, const std::string& text, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    const std::string allowed =
        hi == std::numeric_limits<int64_t>::max()
            ? "an integer >= " + std::to_string(lo)
            : "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    throw UserError(name + ": invalid value " + QuoteInput(text) + "; allowed: " + allowed);
  }
  return static_cast<int64_t>(v);
}

double ParseNumber(const std::string& name, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x)) {
    throw UserError(name + ": invalid value " + QuoteInput(text) + "; allowed: a number");
  }
  return x;
}


std::string PrintableInput(const std::string& text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++chars) {
    if (chars == max_chars) return out + "...";
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : Utf8Length(text, i);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (n > 1) {
      out.append(text, i, n);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      n = 1;
    }
    i += n;
  }
  return out;
}

std::string QuoteInput(const std::string& text, size_t max_chars) {
  // Appended, not "'" + ...: GCC 12 warns falsely on the latter (bug 105329).
  std::string out(1, '\'');
  out += PrintableInput(text, max_chars);
  out += '\'';
  return out;
}

bool IsRunColumn(const std::string& key) { return key == "run_id" || key == "seed"; }

std::vector<std::string> SourceTreeDirs(const std::string& sub) {
  std::vector<std::string> dirs;
#ifdef ADVLAB_SOURCE_DIR
  dirs.push_back(std::string(ADVLAB_SOURCE_DIR) + "/" + sub);
#endif
  dirs.push_back(sub);
  return dirs;
}

const std::vector<std::string>& AnalysisKeyNames() {
  static const std::vector<std::string> kNames = {
      "metric", "measure",     "goal",   "match_metric", "by",    "stat",      "compare",
      "tune",   "tune_seeds",  "sensitivity", "within",  "level", "resamples", "bootstrap_seed"};
  return kNames;
}

IniFile ReadIniFile(const std::string& path) {
  const std::string name = PrintableInput(path, 200);
  return ReadIniText(ReadConfigText(path, name), name);
}

std::vector<std::string> OpeningComment(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    const size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || (line[b] != '#' && line[b] != ';')) break;
    const size_t t = line.find_first_not_of("#; \t", b);
    if (t == std::string::npos) {
      out.push_back("");
      continue;
    }
    out.push_back(line.substr(t, line.find_last_not_of(" \t\r") - t + 1));
  }
  return out;
}

IniFile ReadIniText(std::string text, const std::string& name) {
  // A UTF-8 byte-order mark (some editors write one) is not part of line 1.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);

  IniFile ini;
  ini.comment = OpeningComment(text);
  std::string section;
  std::map<std::string, int> sweep_lines;  // [sweep] key -> line, to refuse repeats
  std::map<std::string, int> arm_lines;    // arm name -> line of its section
  std::map<std::string, int> analysis_lines;  // [analysis] key -> line
  Arm* arm = nullptr;                      // the [arm.NAME] section being read
  size_t pos = 0;
  for (int n = 1; pos < text.size(); ++n) {
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    const std::string where = name + ":" + std::to_string(n) + ": ";
    if (line.find('\0') != std::string::npos) {
      throw UserError(where + "a NUL byte: not a text file; --config takes an INI file");
    }
    // '#' and ';' start a comment at the start of a line or after a space or
    // tab, so "a;b" stays a value (a claim's statement may hold one).
    size_t cut = 0;
    while ((cut = line.find_first_of("#;", cut)) != std::string::npos &&
           cut > 0 && line[cut - 1] != ' ' && line[cut - 1] != '\t')
      ++cut;
    std::string t = Trim(line.substr(0, cut));
    if (t.empty()) continue;
    if (t[0] == '[') {
      if (t.back() != ']' || Trim(t.substr(1, t.size() - 2)).empty()) {
        throw UserError(where + "malformed section header " + QuoteInput(t) +
                        "; expected '[section]'");
      }
      section = Trim(t.substr(1, t.size() - 2));
      arm = nullptr;
      if (section == "arm" || section.rfind("arm.", 0) == 0) {
        const std::string arm_name = section.size() > 4 ? section.substr(4) : "";
        CheckArmName(arm_name, where + "[" + section + "]");
        if (arm_lines.count(arm_name)) {
          throw UserError(where + "[arm." + arm_name + "] given twice (first on line " +
                          std::to_string(arm_lines[arm_name]) + "); give each arm once");
        }
        arm_lines[arm_name] = n;
        ini.arms.push_back(Arm{arm_name, {}, where + "[arm." + arm_name + "]"});
        arm = &ini.arms.back();
      }
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos || Trim(t.substr(0, eq)).empty()) {
      throw UserError(where + "malformed line " + QuoteInput(t) +
                      "; expected 'key = value', '[section]' or a # or ; comment");
    }
    const std::string key = Trim(t.substr(0, eq));
    const std::string value = Trim(t.substr(eq + 1));

    if (arm != nullptr) {  // full dotted keys: the same text as in --arm
      AddArmKey(arm, key, value, where + "[" + section + "] " + PrintableInput(key));
      continue;
    }
    if (section == "analysis") {
      const auto& names = AnalysisKeyNames();
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        throw UserError(where + "unknown [analysis] key " + QuoteInput(key) +
                        DidYouMean(key, names) + "; allowed: " + JoinNames(names) +
                        " (the `advlab analyze` options, '_' for '-')");
      }
      if (analysis_lines.count(key)) {
        throw UserError(where + "[analysis] " + QuoteInput(key) + " set twice (first on line " +
                        std::to_string(analysis_lines[key]) + ")");
      }
      if (value.empty()) throw UserError(where + "[analysis] " + key + " needs a value");
      analysis_lines[key] = n;
      ini.analysis.push_back(IniLine{key, value, where + "[analysis] " + key});
      continue;
    }
    if (section == "claim" || section == "quick") {
      auto& lines = section == "claim" ? ini.claim : ini.quick;
      for (const IniLine& l : lines)
        if (l.key == key) throw UserError(where + "[" + section + "] " + QuoteInput(key) + " set twice");
      lines.push_back(IniLine{key, value, where + "[" + section + "] " + key});
      continue;
    }
    if (section == "sweep") {
      if (sweep_lines.count(key)) {
        throw UserError(where + "[sweep] " + QuoteInput(key) + " set twice (first on line " +
                        std::to_string(sweep_lines[key]) + ")");
      }
      sweep_lines[key] = n;
      if (key == "seeds") {
        ini.seeds = ParseCount(where + "seeds", value, 1, kMaxSeeds);
      } else if (key == "threads") {
        ini.threads = static_cast<int>(ParseCount(where + "threads", value, 1, kMaxThreads));
      } else if (key.rfind("grid.", 0) == 0 && key.size() > 5) {
        GridAxis axis;
        axis.key = key.substr(5);
        axis.origin = where + key;
        CheckGridKey(axis.key, axis.origin,
                     "set their number with [sweep] seeds = N and the first with seed = S");
        axis.values = SplitGridValues(value, axis.origin);
        ini.grid.push_back(axis);
      } else {
        throw UserError(where + "unknown [sweep] key " + QuoteInput(key) +
                        DidYouMean(key, {"seeds", "threads"}) +
                        "; allowed: seeds, threads, grid.KEY (e.g. grid.estimator.name = grpo, rloo)");
      }
      continue;
    }

    const std::string full = section.empty() ? key : section + "." + key;
    if (ini.lines.count(full)) {
      throw UserError(where + "key " + QuoteInput(full) + " set twice (first on line " +
                      std::to_string(ini.lines[full]) + ")");
    }
    const KeySpec* spec = KeyRegistry::Get().Find(full);
    if (spec == nullptr) {
      throw UserError(where + "unknown key " + QuoteInput(full) +
                      DidYouMean(full, KeyRegistry::Get().Names()) +
                      "; `advlab list keys` shows every key");
    }
    try {
      CanonicalValue(*spec, value);
    } catch (const UserError& e) {
      throw UserError(where + e.what());
    }
    ini.lines[full] = n;
    ini.keys[full] = value;
  }
  for (const GridAxis& axis : ini.grid) {
    auto it = ini.lines.find(axis.key);
    if (it != ini.lines.end()) {
      throw UserError(axis.origin + ": '" + axis.key + "' is also set on line " +
                      std::to_string(it->second) + "; keep one");
    }
  }
  return ini;
}

CommandLine ParseCommandLine(const std::vector<std::string>& args, bool sweep_options) {
  po::options_description desc;
  desc.add_options()("config", po::value<std::string>(), "INI file of keys")(
      "out", po::value<std::string>(), "output file")("force", "overwrite the output file")(
      "restart", "discard the output's journal and start over")(
      "quiet", "no progress lines on stderr");
  if (sweep_options) {
    desc.add_options()("grid", po::value<std::vector<std::string>>(), "key=v1,v2,...")(
        "arm", po::value<std::vector<std::string>>(), "NAME: key=value, ...")(
        "seeds", po::value<std::string>(), "seeds per grid point")(
        "threads", po::value<std::string>(), "worker threads")(
        "shard", po::value<std::string>(), "I/N: this shard's runs")(
        "shard-from-env", "the shard of a Slurm or Grid Engine job array");
  }
  AddKeyOptions(&desc);
  po::options_description positional_desc;
  positional_desc.add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(desc).add(positional_desc);
  po::positional_options_description pos;
  pos.add("positional", -1);

  po::variables_map vm;
  try {
    po::parsed_options parsed = po::command_line_parser(args)
                                    .options(all)
                                    .positional(pos)
                                    .style(po::command_line_style::unix_style ^
                                           po::command_line_style::allow_guessing)
                                    .allow_unregistered()
                                    .run();
    for (const auto& o : parsed.options) {
      if (o.unregistered) UnknownOption(o.string_key, desc);
    }
    po::store(parsed, vm);
  } catch (const po::multiple_occurrences& e) {
    throw UserError("option " + QuoteInput(e.get_option_name()) + " given twice");
  } catch (const po::error& e) {
    throw UserError(PrintableInput(e.what(), 200));
  }

  CommandLine cl;
  for (const auto& kv : vm) {
    const std::string& name = kv.first;
    if (name == "config") {
      cl.config_file = kv.second.as<std::string>();
    } else if (name == "out") {
      cl.out = kv.second.as<std::string>();
    } else if (name == "force") {
      cl.force = true;
    } else if (name == "restart") {
      cl.restart = true;
    } else if (name == "quiet") {
      cl.quiet = true;
    } else if (name == "seeds") {
      cl.seeds = ParseCount("--seeds", kv.second.as<std::string>(), 1, kMaxSeeds);
    } else if (name == "threads") {
      cl.threads = static_cast<int>(
          ParseCount("--threads", kv.second.as<std::string>(), 1, kMaxThreads));
    } else if (name == "grid") {
      for (const std::string& g : kv.second.as<std::vector<std::string>>()) {
        size_t eq = g.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == g.size()) {
          throw UserError("--grid " + QuoteInput(g) + ": expected key=v1,v2,...");
        }
        GridAxis axis;
        axis.key = g.substr(0, eq);
        axis.origin = "--grid " + PrintableInput(axis.key);
        CheckGridKey(axis.key, axis.origin,
                     "set their number with --seeds N and the first with --seed=S");
        axis.values = SplitGridValues(g.substr(eq + 1), axis.origin);
        for (const auto& other : cl.grid) {
          if (other.key == axis.key) {
            throw UserError("--grid: key '" + axis.key + "' swept twice; give its values in one --grid");
          }
        }
        cl.grid.push_back(axis);
      }
    } else if (name == "arm") {
      for (const std::string& text : kv.second.as<std::vector<std::string>>()) {
        Arm arm = ParseArm(text);
        for (const Arm& other : cl.arms) {
          if (other.name == arm.name) {
            throw UserError("--arm " + arm.name + ": arm '" + arm.name +
                            "' given twice; give each arm once");
          }
        }
        cl.arms.push_back(std::move(arm));
      }
    } else if (name == "shard") {
      cl.shard = kv.second.as<std::string>();
    } else if (name == "shard-from-env") {
      cl.shard_from_env = true;
    } else if (name == "positional") {
      cl.positional = kv.second.as<std::vector<std::string>>();
    } else {
      cl.keys[name] = kv.second.as<std::string>();
    }
  }
  for (const auto& axis : cl.grid) {
    if (cl.keys.count(axis.key)) {
      throw UserError("key '" + axis.key + "' is both set (--" + axis.key +
                      ") and swept (--grid); keep one");
    }
  }
  return cl;
}

Arm ParseArm(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    throw UserError("--arm " + QuoteInput(text) +
                    ": expected 'NAME: key=value, key=value' (e.g. 'aapo_g4: "
                    "estimator.name=grpo+aapo, train.group_size=4')");
  }
  Arm arm;
  arm.name = Trim(text.substr(0, colon));
  CheckArmName(arm.name, "--arm " + QuoteInput(text));
  arm.origin = "--arm " + arm.name;
  const std::string body = Trim(text.substr(colon + 1));
  if (body.empty()) return arm;  // the base config, named
  size_t begin = 0;
  for (;;) {
    const size_t comma = body.find(',', begin);
    const std::string item =
        Trim(body.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    const size_t eq = item.find('=');
    if (eq == std::string::npos || Trim(item.substr(0, eq)).empty() ||
        Trim(item.substr(eq + 1)).empty()) {
      throw UserError(arm.origin + ": expected key=value, got " + QuoteInput(item) +
                      " (keys are separated by commas)");
    }
    const std::string key = Trim(item.substr(0, eq));
    AddArmKey(&arm, key, Trim(item.substr(eq + 1)), arm.origin + ": " + PrintableInput(key));
    if (comma == std::string::npos) return arm;
    begin = comma + 1;
  }
}

CommandLine QuickOverrides(const std::vector<IniLine>& quick) {
  CommandLine cl;
  for (const IniLine& l : quick) {
    if (l.key == "seeds") {
      cl.seeds = ParseCount(l.origin, l.value, 1, kMaxSeeds);
    } else if (l.key.rfind("grid.", 0) == 0 && l.key.size() > 5) {
      GridAxis axis;
      axis.key = l.key.substr(5);
      axis.origin = l.origin;
      CheckGridKey(axis.key, axis.origin, "set their number with seeds = N");
      axis.values = SplitGridValues(l.value, axis.origin);
      cl.grid.push_back(axis);
    } else {
      const KeySpec* spec = KeyRegistry::Get().Find(l.key);
      if (spec == nullptr || IsRunColumn(l.key) || l.key == "seed") {
        throw UserError(l.origin + ": unknown key " + QuoteInput(l.key) +
                        DidYouMean(l.key, KeyRegistry::Get().Names()) +
                        "; [quick] takes seeds, grid.KEY and full dotted keys");
      }
      try {
        CanonicalValue(*spec, l.value);
      } catch (const UserError& e) {
        throw UserError(l.origin + ": " + e.what());
      }
      cl.keys[l.key] = l.value;
    }
  }
  return cl;
}

Experiment MergeExperiment(const CommandLine& cl) {
  Experiment e;
  if (!cl.config_file.empty()) {
    IniFile ini = ReadIniFile(cl.config_file);
    e.keys = std::move(ini.keys);
    e.grid = std::move(ini.grid);
    e.arms = std::move(ini.arms);
    e.analysis = std::move(ini.analysis);
    if (ini.seeds > 0) e.seeds = ini.seeds;
    if (ini.threads > 0) e.threads = ini.threads;
  }
  for (const auto& kv : cl.keys) {
    e.keys[kv.first] = kv.second;
    // A single value on the command line replaces the file's axis over the key.
    std::erase_if(e.grid, [&](const GridAxis& a) { return a.key == kv.first; });
  }
  for (const GridAxis& axis : cl.grid) {
    bool replaced = false;
    for (GridAxis& a : e.grid) {
      if (a.key == axis.key) {
        a = axis;  // in place: the file's axis order stays
        replaced = true;
      }
    }
    if (!replaced) e.grid.push_back(axis);
  }
  for (const Arm& arm : cl.arms) {
    bool replaced = false;
    for (Arm& a : e.arms) {
      if (a.name == arm.name) {
        a = arm;  // in place: the file's arm order stays
        replaced = true;
      }
    }
    if (!replaced) e.arms.push_back(arm);
  }
  // A --KEY=VALUE that every arm replaces would reach no run.
  for (const auto& kv : cl.keys) {
    if (e.arms.empty()) break;
    bool every = true;
    for (const Arm& a : e.arms) {
      bool sets = false;
      for (const auto& ak : a.keys) sets = sets || ak.first == kv.first;
      every = every && sets;
    }
    if (every) {
      throw UserError("--" + kv.first + ": every arm sets '" + kv.first + "' (" +
                      e.arms.front().origin + ", ...), so the value would reach no run; change "
                      "it in the arms (--arm 'NAME: ...' replaces the arm NAME)");
    }
  }
  if (cl.seeds > 0) e.seeds = cl.seeds;
  if (cl.threads > 0) e.threads = cl.threads;
  return e;
}

}  // namespace advlab
