#include "experiments/options.h"

#include <fstream>
#include <sstream>

#include <boost/program_options.hpp>

#include "sim/config.h"
#include "sim/error.h"

namespace po = boost::program_options;

namespace advlab {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
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

[[noreturn]] void UnknownOption(const std::string& where, const std::string& name,
                                const po::options_description& desc) {
  throw UserError(where + "unknown key '" + name + "'" + DidYouMean(name, KnownOptionNames(desc)) +
                  "; `advlab list keys` shows every key");
}

}  // namespace

std::map<std::string, std::string> ReadIniFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open config file");
  // Syntax check with line numbers (Boost reports no line).
  std::string line, section;
  std::map<std::string, int> seen;  // key -> line, to refuse duplicates
  for (int n = 1; std::getline(in, line); ++n) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    const std::string where = path + ":" + std::to_string(n) + ": ";
    if (t[0] == '[') {
      if (t.back() != ']' || t.size() < 3) {
        throw UserError(where + "malformed section header '" + t + "'; expected '[section]'");
      }
      section = Trim(t.substr(1, t.size() - 2));
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos || Trim(t.substr(0, eq)).empty()) {
      throw UserError(where + "malformed line '" + t +
                      "'; expected 'key = value', '[section]' or a # comment");
    }
    std::string key = Trim(t.substr(0, eq));
    if (!section.empty()) key = section + "." + key;
    if (seen.count(key)) {
      throw UserError(where + "key '" + key + "' set twice (first on line " +
                      std::to_string(seen[key]) + ")");
    }
    seen[key] = n;
    if (KeyRegistry::Get().Find(key) == nullptr) {
      throw UserError(where + "unknown key '" + key + "'" +
                      DidYouMean(key, KeyRegistry::Get().Names()));
    }
  }
  // The file is well formed: let Boost.Program_options read it.
  po::options_description desc;
  AddKeyOptions(&desc);
  po::variables_map vm;
  try {
    std::ifstream again(path);
    po::store(po::parse_config_file(again, desc, false), vm);
  } catch (const po::error& e) {
    throw UserError(path + ": " + e.what());
  }
  std::map<std::string, std::string> keys;
  for (const auto& kv : vm) keys[kv.first] = Trim(kv.second.as<std::string>());
  return keys;
}

CommandLine ParseCommandLine(const std::vector<std::string>& args, bool sweep_options) {
  po::options_description desc;
  desc.add_options()("config", po::value<std::string>(), "INI file of keys")(
      "out", po::value<std::string>(), "output file")("force", "overwrite the output file");
  if (sweep_options) {
    desc.add_options()("grid", po::value<std::vector<std::string>>(), "key=v1,v2,...")(
        "seeds", po::value<std::string>(), "seeds per grid point")(
        "threads", po::value<std::string>(), "worker threads");
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
      if (o.unregistered) UnknownOption("", o.string_key, desc);
    }
    po::store(parsed, vm);
  } catch (const po::multiple_occurrences& e) {
    throw UserError("option '" + e.get_option_name() + "' given twice");
  } catch (const po::error& e) {
    throw UserError(e.what());
  }

  CommandLine cl;
  auto parse_int = [](const std::string& name, const std::string& text, int64_t lo, int64_t hi) {
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < lo || v > hi) {
      throw UserError("--" + name + ": invalid value '" + text + "'; allowed: an integer in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return static_cast<int64_t>(v);
  };
  for (const auto& kv : vm) {
    const std::string& name = kv.first;
    if (name == "config") {
      cl.config_file = kv.second.as<std::string>();
    } else if (name == "out") {
      cl.out = kv.second.as<std::string>();
    } else if (name == "force") {
      cl.force = true;
    } else if (name == "seeds") {
      cl.seeds = parse_int("seeds", kv.second.as<std::string>(), 1, 1000000);
    } else if (name == "threads") {
      cl.threads = static_cast<int>(parse_int("threads", kv.second.as<std::string>(), 1, 1024));
    } else if (name == "grid") {
      for (const std::string& g : kv.second.as<std::vector<std::string>>()) {
        size_t eq = g.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == g.size()) {
          throw UserError("--grid '" + g + "': expected key=v1,v2,...");
        }
        GridAxis axis;
        axis.key = g.substr(0, eq);
        FindKey(axis.key);  // unknown key: UserError with a suggestion
        std::stringstream ss(g.substr(eq + 1));
        std::string v;
        while (std::getline(ss, v, ',')) {
          if (v.empty()) throw UserError("--grid '" + g + "': empty value");
          axis.values.push_back(v);
        }
        for (const auto& other : cl.grid) {
          if (other.key == axis.key) throw UserError("--grid: key '" + axis.key + "' swept twice");
        }
        cl.grid.push_back(axis);
      }
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

std::map<std::string, std::string> MergedKeys(const CommandLine& cl) {
  std::map<std::string, std::string> keys;
  if (!cl.config_file.empty()) keys = ReadIniFile(cl.config_file);
  for (const auto& kv : cl.keys) keys[kv.first] = kv.second;
  return keys;
}

}  // namespace advlab
