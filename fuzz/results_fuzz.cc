// The results reader (experiments/h5io.h ReadResultsFile) on the raw bytes of
// a file: HDF5's own parser sees the input first, so crashes inside libhdf5
// are possible (see fuzz/README.md). What the reader returns must be a
// consistent Results: DigestResults checks every shape against num_runs and
// the steps.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "experiments/h5io.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const char* base = getenv("TMPDIR");
    return std::string(base != nullptr ? base : "/tmp") + "/results_fuzz." +
           std::to_string(getpid()) + ".h5";
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) abort();
  std::fclose(f);
  advlab::ExpectOnlyUserError([&] { advlab::DigestResults(advlab::ReadResultsFile(path)); });
  return 0;
}
