// Reading config keys from the command line and from INI files.
//
// Both go through Boost.Program_options with every registered key declared as an
// option, so `--train.group_size=8`, `--train.group_size 8` and an INI line
// `group_size = 8` under `[train]` are the same key. Command-line keys override
// the file. Errors are UserErrors naming the key or FILE:LINE.
#ifndef ADVLAB_EXPERIMENTS_OPTIONS_H_
#define ADVLAB_EXPERIMENTS_OPTIONS_H_

#include <map>
#include <string>
#include <vector>

namespace advlab {

// Key -> value text from an INI file. Checks the syntax first so a malformed line
// is reported as "FILE:LINE: ...".
std::map<std::string, std::string> ReadIniFile(const std::string& path);

struct GridAxis {
  std::string key;
  std::vector<std::string> values;
};

struct CommandLine {
  std::map<std::string, std::string> keys;  // config keys given as --key=value
  std::string config_file;                  // --config
  std::string out;                          // --out
  bool force = false;                       // --force
  std::vector<GridAxis> grid;               // --grid key=v1,v2 (sweep)
  int64_t seeds = 1;                        // --seeds N (sweep)
  int threads = 1;                          // --threads T (sweep)
  std::vector<std::string> positional;      // the rest (file names, list topics)
};

// Parses the arguments after the command name. `sweep_options` enables --grid,
// --seeds and --threads. Unknown options raise UserError with a suggestion.
CommandLine ParseCommandLine(const std::vector<std::string>& args, bool sweep_options);

// keys of the file, overridden by the command line.
std::map<std::string, std::string> MergedKeys(const CommandLine& cl);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_OPTIONS_H_
