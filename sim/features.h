// Compiler and platform quirks live here, nowhere else (cf. Random123 features/,
// XGBoost XGBOOST_DEVICE). Code shared by the CPU loop and CUDA kernels is marked
// ADVLAB_HD and must be header-only, allocation-free and libm-free.
#ifndef ADVLAB_SIM_FEATURES_H_
#define ADVLAB_SIM_FEATURES_H_

#if defined(__CUDACC__)
#define ADVLAB_HD __host__ __device__
#define ADVLAB_FORCEINLINE __forceinline__
#else
#define ADVLAB_HD
#define ADVLAB_FORCEINLINE inline __attribute__((always_inline))
#endif

#if defined(__FAST_MATH__)
#error "advlab must not be built with -ffast-math: results would depend on the build"
#endif

#define ADVLAB_RESTRICT __restrict__

// Loop unrolling hint, spelled for the compiler at hand.
#define ADVLAB_PRAGMA_(x) _Pragma(#x)
#if defined(__CUDACC__)
#define ADVLAB_UNROLL(n) ADVLAB_PRAGMA_(unroll n)
#else
#define ADVLAB_UNROLL(n) ADVLAB_PRAGMA_(GCC unroll n)
#endif

// Runtime ISA dispatch for hot loops (GCC function multi-versioning): the binary
// stays baseline x86-64 and uses AVX2 where the CPU has it. Safe for determinism
// because hot loops vectorise across independent elements only (no reduction is
// reordered), which tests pin: same bits on SSE2 and AVX2.
#if !defined(__CUDACC__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(ADVLAB_NO_MULTIVERSION)
#define ADVLAB_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define ADVLAB_MULTIVERSION
#endif

#endif  // ADVLAB_SIM_FEATURES_H_
