// The INI reader (experiments/options.h ReadIniText, which ReadIniFile uses):
// any text is read or refused with one UserError line; a [quick] section it
// accepts goes through QuickOverrides as `advlab reproduce --quick` does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "experiments/options.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  advlab::ExpectOnlyUserError([&] {
    advlab::IniFile ini = advlab::ReadIniText(text, "fuzz.ini");
    advlab::QuickOverrides(ini.quick);
  });
  return 0;
}
