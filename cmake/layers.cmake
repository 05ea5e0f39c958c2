# The layering (docs: DESIGN; checked by tests/layering_test.sh):
#   sim  <-  envs, policies, estimators, losses  <-  analysis, experiments
# sim/ is the bottom; envs/, policies/ and estimators/ include sim/ (estimators/
# may include policies/); analysis/ and experiments/ anything below; nothing
# includes upward. Each folder compiles against only what it uses:
#   advlab_<folder>_api  what including the folder's headers needs (its third-
#                        party headers, the layers below); upper layers link it
#   ADVLAB_FOLDER_USES   set at the top of each folder's CMakeLists.txt: what a
#                        translation unit of the folder compiles against (its api
#                        and the dependencies only its .cc files include); the
#                        folder's OBJECT library and its advlab_test()s link it.
# The layers are linked as these interface targets, never as OBJECT libraries:
# the objects reach every binary once, through advlab_all (whole archive).

# advlab_layer(FOLDER USES targets...): defines advlab_<FOLDER>_api.
function(advlab_layer folder)
  cmake_parse_arguments(PARSE_ARGV 1 L "" "" "USES")
  add_library(advlab_${folder}_api INTERFACE)
  target_link_libraries(advlab_${folder}_api INTERFACE advlab_flags ${L_USES})
endfunction()

# sim/ is the bottom layer: the standard library and Random123 only. HDF5's and
# Eigen's include directories are not on its path, but Boost's and OpenSSL's
# headers live in /usr/include, where every compile finds them:
# cmake/bottom_layer_guard.h, forced into every sim/ translation unit, poisons
# identifiers that Boost, HDF5 and Eigen headers declare, so including one of
# them in sim/ fails to compile (tests/layering_test.sh checks that it does).
add_library(advlab_bottom_layer_guard INTERFACE)
target_compile_options(advlab_bottom_layer_guard INTERFACE
  "SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/bottom_layer_guard.h")
add_library(advlab::bottom_layer_guard ALIAS advlab_bottom_layer_guard)

# Every advlab_test() binary (`cmake --build B --target advlab_unit_tests`
# builds them all; `ctest -L unit` runs them).
add_custom_target(advlab_unit_tests)

# advlab_test(NAME SOURCES... [USES targets...]): a GoogleTest binary linked with
# every component (advlab_all), compiled against ADVLAB_FOLDER_USES of the folder
# that declares it, plus USES (a test may include a sibling layer's headers).
function(advlab_test name)
  cmake_parse_arguments(PARSE_ARGV 1 T "" "" "USES")
  if(NOT ADVLAB_FOLDER_USES)
    message(FATAL_ERROR "advlab_test(${name}): set ADVLAB_FOLDER_USES in ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE advlab_all ${ADVLAB_FOLDER_USES} ${T_USES}
                        GTest::gtest GTest::gtest_main)
  # GCC 12 false positive on inlined std::string concatenation (GCC bug 105329).
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS unit)
  add_dependencies(advlab_unit_tests ${name})
endfunction()
