// Shared by the fuzz targets: the one outcome allowed for bad input.
#ifndef ADVLAB_FUZZ_FUZZ_UTIL_H_
#define ADVLAB_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/error.h"

namespace advlab {

// Runs `body`; a UserError is the expected refusal of bad input and must be one
// non-empty line (the CLI prints it as is). Any other exception escapes, so
// libFuzzer reports it as a crash (std::terminate), like a sanitizer finding.
template <typename F>
void ExpectOnlyUserError(F&& body) {
  try {
    body();
  } catch (const UserError& e) {
    const std::string msg = e.what();
    if (msg.empty() || msg.find('\n') != std::string::npos) {
      std::fprintf(stderr, "UserError is not one line: [%s]\n", msg.c_str());
      std::abort();
    }
  }
}

}  // namespace advlab

#endif  // ADVLAB_FUZZ_FUZZ_UTIL_H_
