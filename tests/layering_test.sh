#!/usr/bin/env bash
# The layering (cmake/layers.cmake), checked on the sources:
#   sim  <-  envs, policies, estimators, losses  <-  analysis, experiments
# Every #include of a project header ("X/...") in sim/ envs/ policies/
# estimators/ analysis/ experiments/ bench/ tests/ (.h .hpp .cc .cu .cuh) must
# point at a folder the including folder may use (the tables below, written
# once), and third-party headers are limited per folder (sim/: the standard
# library and Random123 only). Prints file:line, the rule and the include for
# every violation; exits 1 if there is any.
#   layering_test.sh SRC
set -eu
SRC=${1:?source dir}
cd "$SRC"

# Folder -> the project folders its library code may include.
# estimators/ may include policies/ (allowed; unused today). experiments/ uses
# analysis/ (main.cc's summary), the reverse is not allowed.
declare -A MAY=(
  [sim]="sim"
  [envs]="sim envs"
  [policies]="sim policies"
  [estimators]="sim policies estimators"
  [losses]="sim losses"
  [analysis]="sim envs policies estimators losses analysis"
  [experiments]="sim envs policies estimators losses analysis experiments"
  [tests]="*"
  [bench]="*"
)
# Test code inside a layer folder (*_test.cc, *_test.cu, testing.h) may include
# these as well: test helpers in tests/, and for envs/ the policies its tests
# train.
declare -A TEST_MAY=(
  [sim]="tests"
  [envs]="policies tests"
  [policies]="tests"
  [estimators]="tests"
  [losses]="tests"
  [analysis]="tests"
  [experiments]="tests"
)
# Folder -> the third-party / system headers (path prefixes) its library code
# may include besides the C++ standard library; "*": anything. Test code may
# also include gtest/ and gmock/.
declare -A EXT=(
  [sim]="Random123/"
  [envs]=""
  [policies]="Eigen/"
  [estimators]=""
  [losses]=""
  [analysis]="boost/math/"
  [experiments]="*"
  [tests]="*"
  [bench]="*"
)
TEST_EXT="gtest/ gmock/"
# The C++20 standard library, and the C library headers it includes.
STD="algorithm any array atomic barrier bit bitset cassert cctype cerrno cfenv cfloat charconv
chrono cinttypes climits clocale cmath codecvt compare complex concepts condition_variable
coroutine csetjmp csignal cstdarg cstddef cstdint cstdio cstdlib cstring ctime cuchar cwchar
cwctype deque exception execution filesystem format forward_list fstream functional future
initializer_list iomanip ios iosfwd iostream istream iterator latch limits list locale map
memory memory_resource mutex new numbers numeric optional ostream queue random ranges ratio
regex scoped_allocator semaphore set shared_mutex source_location span sstream stack
stdexcept stop_token streambuf string string_view syncstream system_error thread tuple
type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector
version assert.h ctype.h errno.h fenv.h float.h inttypes.h limits.h locale.h math.h setjmp.h
signal.h stdarg.h stddef.h stdint.h stdio.h stdlib.h string.h time.h uchar.h wchar.h wctype.h"
LAYERS="sim envs policies estimators losses analysis experiments bench tests"

# shellcheck disable=SC2086
mapfile -t FILES < <(find $LAYERS -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' \
  -o -name '*.cu' -o -name '*.cuh' \) | LC_ALL=C sort)
[ "${#FILES[@]}" -gt 0 ] || { echo "FAIL: no sources under $SRC"; exit 1; }

tables() {  # the tables, one "name folder value" line each, for awk
  local f
  for f in "${!MAY[@]}"; do echo "MAY $f ${MAY[$f]}"; done
  for f in "${!TEST_MAY[@]}"; do echo "TEST_MAY $f ${TEST_MAY[$f]}"; done
  for f in "${!EXT[@]}"; do echo "EXT $f ${EXT[$f]}"; done
  echo "TEST_EXT - $TEST_EXT"
  echo "STD - $(echo $STD)"
  echo "LAYERS - $LAYERS"
}

tables | awk '
  FNR == NR {  # the tables
    v = $0; sub(/^[^ ]+ [^ ]+ ?/, "", v)
    if ($1 == "STD" || $1 == "LAYERS" || $1 == "TEST_EXT") list[$1] = v; else tab[$1, $2] = v
    next
  }
  FNR == 1 {
    file = FILENAME; split(file, parts, "/"); folder = parts[1]
    base = parts[length(parts)]
    dir = file; sub(/\/[^\/]*$/, "", dir)
    test = (base ~ /_test\.(cc|cu)$/ || base == "testing.h")
  }
  /^[ \t]*#[ \t]*include[ \t]*[<"]/ {
    line = $0; sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    delim = substr(line, 1, 1)
    path = substr(line, 2); sub(/[>"].*$/, "", path)
    inc = $0; sub(/^[ \t]+/, "", inc); sub(/[ \t]*\/\/.*$/, "", inc)
    top = path; sub(/\/.*$/, "", top)
    if (path ~ /\// && has(list["LAYERS"], top)) {  # a project header
      if (!may_use(folder, top))
        report(top "/ is not below " folder "/ (" folder "/ may include: " uses(folder) ")")
      next
    }
    if (delim == "\"" && system("test -f \"" dir "/" path "\"") == 0) {
      report("project header by a relative path: spell it from the root (\"" folder "/...\")")
      next
    }
    if (delim == "<" && has(list["STD"], path)) next
    if (!ext_ok(folder, path))
      report("third-party header not allowed in " folder "/ (allowed: the C++ standard library" \
             (tab["EXT", folder] == "" ? "" : ", " tab["EXT", folder]) \
             (test ? ", in test code " list["TEST_EXT"] : "") ")")
  }
  function has(words, w,   n, a, i) {
    n = split(words, a, " ")
    for (i = 1; i <= n; i++) if (a[i] == w || a[i] == "*") return 1
    return 0
  }
  function uses(f) { return tab["MAY", f] (test && tab["TEST_MAY", f] != "" ? " + in test code: " tab["TEST_MAY", f] : "") }
  function may_use(f, t) {
    if (has(tab["MAY", f], t)) return 1
    return test && has(tab["TEST_MAY", f], t)
  }
  function prefix_ok(prefixes, p,   n, a, i) {
    n = split(prefixes, a, " ")
    for (i = 1; i <= n; i++)
      if (a[i] == "*" || substr(p, 1, length(a[i])) == a[i]) return 1
    return 0
  }
  function ext_ok(f, p) {
    if (prefix_ok(tab["EXT", f], p)) return 1
    return test && prefix_ok(list["TEST_EXT"], p)
  }
  function report(why) {
    printf "%s:%d: %s: %s\n", FILENAME, FNR, why, inc
    bad++
  }
  END {
    if (bad) { printf "FAIL: %d include(s) break the layering (tests/layering_test.sh)\n", bad; exit 1 }
    printf "layering_test: %d files checked, no upward or disallowed include\n", ARGC - 2
  }
' - "${FILES[@]}"
