# Compile flags every advlab target gets. Determinism (DESIGN §3): no fast-math,
# no FMA contraction, no -march=native; the ISA is the baseline of the target
# unless ADVLAB_ISA says otherwise (results are identical either way: the code
# never lets SIMD width change the order of a floating-point reduction).
set(ADVLAB_ISA "" CACHE STRING "Extra ISA flags, e.g. -mavx2 (never -march=native)")
add_library(advlab_flags INTERFACE)
target_compile_options(advlab_flags INTERFACE
  -ffp-contract=off -fno-fast-math -fno-finite-math-only
  -Wall -Wextra -Wno-unused-parameter
  ${ADVLAB_ISA})
target_include_directories(advlab_flags INTERFACE ${PROJECT_SOURCE_DIR})
