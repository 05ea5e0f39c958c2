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
//
// Arms are named configs that differ in any keys; a sweep runs every arm crossed
// with the grid (arm-major, in declaration order) and the same seeds in each, so
// runs pair by seed (common random numbers). On the command line:
//   --arm 'aapo_g4: estimator.name=grpo+aapo, train.group_size=4'
// and in a file, one section per arm holding full dotted keys:
//   [arm.aapo_g4]
//   estimator.name = grpo+aapo
//   train.group_size = 4
// An [analysis] section holds the defaults of `advlab analyze` and `advlab
// report` for the sweep's results file (stored there as the `analysis`
// attribute), one analyze option per line without its dashes:
//   [analysis]
//   measure = auc
//   tune = optim.lr            # each arm tuned on the tuning seeds
//   compare = arm=grpo_g8,aapo_g4
// The sweep checks them against its plan before any run starts; options given
// to `advlab analyze` replace the file's.
// An arm's keys replace the base config's (the file's keys and --KEY=VALUE); an
// arm may set no key (the base config itself) but not a gridded key or `seed`.
// A --arm with the name of a file arm replaces that arm in place; other --arm
// follow the file's arms.
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

// A named config of a sweep: keys that replace the base config's.
struct Arm {
  std::string name;                                         // [A-Za-z0-9_.-]+
  std::vector<std::pair<std::string, std::string>> keys;    // in the order given
  // Where the arm was given, the prefix of messages about it: "--arm NAME" or
  // "FILE:LINE: [arm.NAME]".
  std::string origin;
};

// One line of an [analysis], [claim] or [quick] section, read as text (the
// command that uses the section checks it).
struct IniLine {
  std::string key;     // [analysis]: an analyze option without "--", '_' for '-'
  std::string value;
  std::string origin;  // "FILE:LINE: [SECTION] KEY", the prefix of messages
};

// The analyze options an [analysis] section may set (in the order `advlab analyze --help` lists them).
const std::vector<std::string>& AnalysisKeyNames();

// The keys of an INI file and its [sweep] section.
struct IniFile {
  std::map<std::string, std::string> keys;  // dotted key -> value text
  std::map<std::string, int> lines;         // dotted key -> line, for messages
  std::vector<GridAxis> grid;               // [sweep] grid.KEY = v1, v2, ...
  int64_t seeds = 0;                        // [sweep] seeds (0: not given)
  int threads = 0;                          // [sweep] threads (0: not given)
  std::vector<Arm> arms;                    // [arm.NAME] sections, in file order
  std::vector<IniLine> analysis;            // [analysis] lines, in file order
  // `advlab reproduce` (experiments/reproduce.h): the claim a preset decides and
  // the overrides of its --quick form; a sweep ignores both.
  std::vector<IniLine> claim;               // [claim] lines
  std::vector<IniLine> quick;               // [quick] lines
  // The file's opening comment (OpeningComment): its first line describes the
  // file (`advlab list presets`), a claim's next lines its design.
  std::vector<std::string> comment;
};

// The comment lines a file opens with (after a UTF-8 byte-order mark), up to
// the first line that is not a comment ('#' or ';' after optional blanks; a
// blank line ends it): each without its markers and surrounding blanks.
std::vector<std::string> OpeningComment(const std::string& text);

// Reads and checks an INI file: it must be a readable regular file; a UTF-8
// byte-order mark is skipped; '#' and ';' start comments (whole lines, or the
// rest of a line after a space or tab: "a;b" is a value); every key must be
// registered and every value valid, else
// "FILE:LINE: ...".
IniFile ReadIniFile(const std::string& path);
// ReadIniFile on text already read; `name` (printable) prefixes the messages.
IniFile ReadIniText(std::string text, const std::string& name);

struct CommandLine {
  std::map<std::string, std::string> keys;  // config keys given as --key=value
  std::string config_file;                  // --config
  std::string out;                          // --out
  bool force = false;                       // --force
  bool restart = false;                     // --restart: discard OUT.journal
  bool quiet = false;                       // --quiet: no progress on stderr
  std::vector<GridAxis> grid;               // --grid key=v1,v2 (sweep)
  int64_t seeds = 0;                        // --seeds N (sweep; 0: not given)
  int threads = 0;                          // --threads T (sweep; 0: not given)
  std::vector<Arm> arms;                    // --arm 'NAME: k=v, ...' (sweep)
  std::string shard;                        // --shard I/N as given (sweep; "": none)
  bool shard_from_env = false;              // --shard-from-env (sweep)
  std::vector<std::string> positional;      // the rest (file names, list topics)
};

// Parses the arguments after the command name. `sweep_options` enables --grid,
// --arm, --seeds and --threads. Unknown options raise UserError with a suggestion.
CommandLine ParseCommandLine(const std::vector<std::string>& args, bool sweep_options);

// What a run or sweep command asks for: the --config file with the command
// line on top (rules above).
struct Experiment {
  std::map<std::string, std::string> keys;
  std::vector<GridAxis> grid;
  std::vector<Arm> arms;
  std::vector<IniLine> analysis;  // the file's [analysis] section
  int64_t seeds = 1;
  int threads = 1;
};
Experiment MergeExperiment(const CommandLine& cl);

// A [quick] section as command-line overrides of its file (seeds, grid.KEY =
// values, KEY = value), each checked; throws UserError naming the line.
CommandLine QuickOverrides(const std::vector<IniLine>& quick);

// Parses the text of --arm, "NAME: key=value, key=value" (no key: the base
// config); checks the name, the keys (registered, not `seed`, each once) and
// their values. Throws UserError prefixed by "--arm NAME".
Arm ParseArm(const std::string& text);

// An integer in [lo, hi] (hi = INT64_MAX: no upper bound) or a finite number,
// from an option or a file; `name` prefixes the message ("--seeds", "FILE:LINE:
// [claim] threshold"). UserError "NAME: invalid value 'X'; allowed: ..." otherwise.
int64_t ParseCount(const std::string& name, const std::string& text, int64_t lo, int64_t hi);
double ParseNumber(const std::string& name, const std::string& text);

// Where a folder of the source tree (e.g. "experiments/presets") is looked
// for: the tree advlab was built from, then the working directory.
std::vector<std::string> SourceTreeDirs(const std::string& sub);

// Names that the results file uses for its own run columns: never grid keys.
bool IsRunColumn(const std::string& key);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_OPTIONS_H_
