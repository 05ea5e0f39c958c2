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

#endif  // ADVLAB_SIM_FEATURES_H_
