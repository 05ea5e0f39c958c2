// `advlab advantage` (experiments/advantage.h AdvantageCommand): its options,
// stdin and side files, through planning and every estimator's Compute. The
// input is sections split at lines "%%": the arguments (one per line), stdin,
// then the --lengths, --reference, --greedy and --values files; each non-empty
// side-file section is written to a temp file and passed with its option (such
// options in the arguments are dropped: an input must not name files to read).
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/advantage.h"
#include "fuzz/fuzz_util.h"

namespace {

const char* const kFileOptions[] = {"--lengths", "--reference", "--greedy", "--values"};

std::vector<std::string> Split(const std::string& text, const std::string& sep) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t at = text.find(sep, pos);
    if (at == std::string::npos) {
      parts.push_back(text.substr(pos));
      return parts;
    }
    parts.push_back(text.substr(pos, at - pos));
    pos = at + sep.size();
  }
}

bool IsFileOption(const std::string& arg) {
  for (const char* o : kFileOptions) {
    if (arg.rfind(o, 0) == 0) return true;
  }
  return false;
}

const std::string& TempDir() {
  static const std::string dir = [] {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/advantage_fuzz.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return tmpl;
  }();
  return dir;
}

void WriteFile(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), f) != text.size()) abort();
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> sections =
      Split(std::string(reinterpret_cast<const char*>(data), size), "\n%%\n");
  std::vector<std::string> args;
  for (const std::string& a : Split(sections[0], "\n")) {
    if (!IsFileOption(a)) args.push_back(a);
  }
  // A dropped file option may leave its value behind: harmless, it is then an
  // unexpected argument (refused).
  for (size_t k = 2; k < sections.size() && k < 6; ++k) {
    if (sections[k].empty()) continue;  // an empty section: no such file
    const std::string path = TempDir() + "/" + (kFileOptions[k - 2] + 2);
    WriteFile(path, sections[k]);
    args.push_back(kFileOptions[k - 2]);
    args.push_back(path);
  }
  std::istringstream in(sections.size() > 1 ? sections[1] : "");
  std::ostringstream out;
  advlab::ExpectOnlyUserError([&] { advlab::AdvantageCommand(args, in, out); });
  return 0;
}
