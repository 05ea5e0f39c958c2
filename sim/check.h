// Internal invariant checks (cf. OpenSpiel SPIEL_CHECK_*): on failure they print
// file:line and both values, then abort. They guard programming errors; bad user
// input is reported with advlab::UserError instead (see sim/error.h).
#ifndef ADVLAB_SIM_CHECK_H_
#define ADVLAB_SIM_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace advlab::internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

template <class A, class B>
std::string Describe(const char* expr, const A& a, const B& b) {
  std::ostringstream os;
  os.precision(17);
  os << expr << " (" << a << " vs " << b << ")";
  return os.str();
}

}  // namespace advlab::internal

#define ADVLAB_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::advlab::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

#define ADVLAB_CHECK_OP_(a, b, op)                                          \
  do {                                                                      \
    const auto& advlab_a_ = (a);                                            \
    const auto& advlab_b_ = (b);                                            \
    if (!(advlab_a_ op advlab_b_))                                          \
      ::advlab::internal::CheckFailed(                                      \
          __FILE__, __LINE__,                                               \
          ::advlab::internal::Describe(#a " " #op " " #b, advlab_a_, advlab_b_)); \
  } while (0)

#define ADVLAB_CHECK_EQ(a, b) ADVLAB_CHECK_OP_(a, b, ==)
#define ADVLAB_CHECK_NE(a, b) ADVLAB_CHECK_OP_(a, b, !=)
#define ADVLAB_CHECK_LT(a, b) ADVLAB_CHECK_OP_(a, b, <)
#define ADVLAB_CHECK_LE(a, b) ADVLAB_CHECK_OP_(a, b, <=)
#define ADVLAB_CHECK_GT(a, b) ADVLAB_CHECK_OP_(a, b, >)
#define ADVLAB_CHECK_GE(a, b) ADVLAB_CHECK_OP_(a, b, >=)

// ADVLAB_HD_CHECK: the check for host/device step functions (ADVLAB_HD). On the
// host it is ADVLAB_CHECK; in a CUDA kernel it prints file:line and the
// condition, then traps (no strings, no exceptions on the device). Step
// functions check only invariants that planning guarantees: bad input never
// reaches them.
#if defined(__CUDA_ARCH__)
#define ADVLAB_HD_CHECK(cond)                                                    \
  do {                                                                           \
    if (!(cond)) {                                                               \
      printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
      __trap();                                                                  \
    }                                                                            \
  } while (0)
#else
#define ADVLAB_HD_CHECK(cond) ADVLAB_CHECK(cond)
#endif

#endif  // ADVLAB_SIM_CHECK_H_
