// Reading config keys, grids and seeds from the command line and INI files.
//
// Every registered key is a command-line option (Boost.Program_options), so
// `--train.group_size=8`, `--train.group_size 8` and an INI line `group_size = 8`
// under `[train]` are the same key. INI files are parsed here line by line, so
// every message names FILE:LINE. Errors are UserErrors naming the key or file.
//
// An INI file may carry a whole experiment in a [sweep] section:
//   [sweep]
//   seeds = 8                                     # seeds per grid point
//   threads = 2                                   # optional; results do not depend on it
//   grid.estimator.name = reinforce, rloo, grpo   # one axis per line, in order
// The command line wins over the file: --seeds and --threads replace the file's;
// a --grid on a key the file grids over replaces that axis in place (other
// --grid axes follow the file's); a --key=value on a key the file grids over
// drops the axis and sets the single value.
#ifndef ADVLAB_EXPERIMENTS_OPTIONS_H_
#define ADVLAB_EXPERIMENTS_OPTIONS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace advlab {

// User input as a message shows it: non-printing bytes (and backslashes) as
// \xNN, cut after `max_chars` characters with "...". Keeps every error one
// short line whatever was typed or read from a file.
std::string PrintableInput(const std::string& text, size_t max_chars = 60);
// PrintableInput in single quotes: the form of user input inside messages.
std::string QuoteInput(const std::string& text, size_t max_chars = 60);

struct GridAxis {
  GridAxis() = default;
  // {key, values} braces keep working where the origin does not matter.
  GridAxis(std::string key_, std::vector<std::string> values_, std::string origin_ = "")
      : key(std::move(key_)), values(std::move(values_)), origin(std::move(origin_)) {}

  std::string key;
  std::vector<std::string> values;
  // Where the axis was given, the prefix of messages about its values:
  // "--grid optim.lr" or "FILE:LINE: grid.optim.lr" ("" reads as --grid KEY).
  std::string origin;
};

// The keys of an INI file and its [sweep] section.
struct IniFile {
  std::map<std::string, std::string> keys;  // dotted key -> value text
  std::map<std::string, int> lines;         // dotted key -> line, for messages
  std::vector<GridAxis> grid;               // [sweep] grid.KEY = v1, v2, ...
  int64_t seeds = 0;                        // [sweep] seeds (0: not given)
  int threads = 0;                          // [sweep] threads (0: not given)
};

// Reads and checks an INI file: it must be a readable regular file; a UTF-8
// byte-order mark is skipped; '#' and ';' start comments (whole lines or the
// rest of a line); every key must be registered and every value valid, else
// "FILE:LINE: ...".
IniFile ReadIniFile(const std::string& path);

struct CommandLine {
  std::map<std::string, std::string> keys;  // config keys given as --key=value
  std::string config_file;                  // --config
  std::string out;                          // --out
  bool force = false;                       // --force
  std::vector<GridAxis> grid;               // --grid key=v1,v2 (sweep)
  int64_t seeds = 0;                        // --seeds N (sweep; 0: not given)
  int threads = 0;                          // --threads T (sweep; 0: not given)
  std::vector<std::string> positional;      // the rest (file names, list topics)
};

// Parses the arguments after the command name. `sweep_options` enables --grid,
// --seeds and --threads. Unknown options raise UserError with a suggestion.
CommandLine ParseCommandLine(const std::vector<std::string>& args, bool sweep_options);

// What a run or sweep command asks for: the --config file with the command
// line on top (rules above).
struct Experiment {
  std::map<std::string, std::string> keys;
  std::vector<GridAxis> grid;
  int64_t seeds = 1;
  int threads = 1;
};
Experiment MergeExperiment(const CommandLine& cl);

// Names that the results file uses for its own run columns: never grid keys.
bool IsRunColumn(const std::string& key);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_OPTIONS_H_
