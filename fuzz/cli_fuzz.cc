// The command-line parsers (experiments/options.h): the input's lines are the
// arguments of ParseCommandLine (with --grid, --arm, --seeds, --threads unless
// the first byte is odd), then MergeExperiment as `advlab sweep` runs it; each
// line is also given to ParseArm alone. --config is dropped: a fuzz input
// must not name files to read (ini_fuzz covers the file's text).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/options.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool sweep_options = (data[0] & 1) == 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> args;
  for (size_t pos = 0; pos <= text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    args.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  advlab::ExpectOnlyUserError([&] {
    advlab::CommandLine cl = advlab::ParseCommandLine(args, sweep_options);
    cl.config_file.clear();
    advlab::MergeExperiment(cl);
  });
  for (const std::string& a : args) {
    advlab::ExpectOnlyUserError([&] { advlab::ParseArm(a); });
  }
  return 0;
}
