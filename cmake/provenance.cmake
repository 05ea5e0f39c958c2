# Build provenance, stored in /provenance of results files (left out of digests).
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  OUTPUT_VARIABLE ADVLAB_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT ADVLAB_GIT_COMMIT)
  set(ADVLAB_GIT_COMMIT "unknown")
endif()
string(TOUPPER "${CMAKE_BUILD_TYPE}" _bt)
set(ADVLAB_FLAGS_TEXT "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_bt}} -ffp-contract=off ${ADVLAB_ISA}")
string(STRIP "${ADVLAB_FLAGS_TEXT}" ADVLAB_FLAGS_TEXT)
add_library(advlab_provenance INTERFACE)
target_compile_definitions(advlab_provenance INTERFACE
  ADVLAB_GIT_COMMIT="${ADVLAB_GIT_COMMIT}"
  ADVLAB_BUILD_TYPE="${CMAKE_BUILD_TYPE}"
  ADVLAB_CXX_FLAGS="${ADVLAB_FLAGS_TEXT}")
