// In-house double-precision exp, log, log1p and tanh.
//
// Why: libm results differ between glibc versions, compilers (builtins folded at
// compile time), vector paths (libmvec) and CUDA's libdevice, so a result that goes
// through std::exp is not bit-identical across builds. Every function here is
// plain IEEE-754 double arithmetic (+ - * / only, round-to-nearest), bit casts
// and selects, so it gives the same bits on any conforming build: Debug/Release,
// gcc/clang, SSE2/AVX2, CPU/GPU. Requirements on the build: -ffp-contract=off (and
// --fmad=false under nvcc), never -ffast-math (sim/features.h refuses it).
// No tables, no libm, no long double, no branches in Exp.
//
// Accuracy below is the max error vs a long double reference, measured by
// sim/dmath_test.cc (~1.8M points per function) and, in brackets, over 2e7
// further random points.
//
// Exp(x)   Cody-Waite: x = n*ln2 + r, n = rint(x/ln2) by the 1.5*2^52 magic add,
//          ln2 split into a 32-bit head (n*head exact) and a tail; the rounding
//          error of r = hi - lo is kept. exp(r) = 1 + r + rh^2/2 + tail, where
//          rh is r's high half (Veltkamp split, so rh^2 is exact) and tail holds
//          the rest: r^3 times the Taylor series 1/3! .. 1/14! (truncation
//          < 0.001 ulp for |r| <= ln2/2), Estrin's scheme. 1 + r + rh^2/2 is
//          carried as a double-double (two Fast2Sums), so the only rounding of
//          size 1/2 ulp is the last addition. Scaling by 2^n = 2^n1 * 2^n2
//          (n1 = rint(n/2)) built from exponent bits: the first product is exact,
//          the second rounds once, so results overflow to +inf and underflow
//          gradually to subnormals and 0 correctly. |x| is clamped to 746 first
//          (integer ops on the bits); exp(+inf) = +inf, exp(-inf) = +0, exp(NaN)
//          = NaN, exp(+-0) = 1 exactly. Branch-free: a loop of Exp vectorises
//          with gcc -O2 (SSE2 and AVX2) and clang -O2.
//          Max error 0.521 ulp [0.527] for normal results; 0.750 ulp for
//          subnormal results, which are rounded twice (to 53 bits, then to the
//          subnormal grid).
// Log(x)   fdlibm e_log.c reduction: x = 2^k * (1 + f), 1 + f in [sqrt2/2, sqrt2)
//          (subnormals first scaled by 2^54), s = f/(2+f),
//          log(1+f) = 2s + s*R(s^2), R the fdlibm minimax polynomial Lg1..Lg7
//          (Sun Microsystems fdlibm 5.3, e_log.c; |error| < 2^-58.45). Unlike
//          fdlibm, s is computed as a double-double sh + sl (exact 2+f, Dekker
//          product for the division residual) and k*ln2hi + 2*sh is summed
//          exactly, so the only rounding of size 1/2 ulp is the last addition.
//          Special inputs by selects: log(+-0) = -inf, log(x < 0) = NaN,
//          log(+inf) = +inf, log(NaN) = NaN, log(1) = +0 exactly.
//          Max error 0.540 ulp [0.546].
// Log1p(x) For x in (sqrt2/2 - 1, sqrt2 - 1) the Log kernel runs on f = x itself
//          (k = 0, nothing rounded). Elsewhere u = 1 + x is reduced as in Log and
//          c = (x - (u-1))/u, the first-order correction for the rounding of u,
//          is added to the low-order sum. |x| < 2^-54 returns x (so
//          log1p(1e-300) = 1e-300, log1p(-0) = -0). log1p(-1) = -inf,
//          log1p(x < -1) = NaN, log1p(+inf) = +inf, log1p(NaN) = NaN.
//          Max error 0.540 ulp [0.545].
// Tanh(x)  Odd by construction: computed on a = |x|, x's sign bit put back.
//          tanh(a) = U/(U + 2), U = expm1(2a): U's relative error enters damped
//          by 2/(U + 2) < 1 (the textbook (1 - t)/(1 + t), t = Exp(-2a),
//          amplifies t's error by t/(1 - t), 3.5 at a = 0.125: 3.55 ulp there).
//          expm1(2a) = (2^n - 1) + 2^n expm1(r) with Exp's reduction
//          2a = n ln2 + r (r's rounding error kept) and expm1(r) = r + rh^2/2 +
//          Exp's tail as a double-double; the sum by Fast2Sums, so U = u + u_lo
//          to ~2^-60. The quotient: d + d_lo = U + 2 (TwoSum), q0 = u * (1/d),
//          corrected by the residual U - q0 (d + d_lo) (Dekker's product), so
//          the last addition is the only rounding of size 1/2 ulp (first-order
//          corrections without that residual: 1.07 ulp, ~18% faster, but not
//          monotone next to 1). One path for all a: tiny a give U = 2a and
//          q0 = a exactly (a Taylor branch for a < 0.125 was tried: no more
//          accurate, 30% slower). a > 19.1 (tanh rounds to 1 from 19.06 on): 1.
//          Tanh(+-inf) = +-1, Tanh(-0) = -0, Tanh(NaN) = NaN. Branch-free
//          (selects on bit patterns, as in Exp) and ADVLAB_FORCEINLINE: a loop
//          of Tanh vectorises (the MLP policy's hidden layer).
//          Max error 0.589 ulp [0.601] (worst near |x| = ln2/4, where n steps).
//
// Exp is ADVLAB_FORCEINLINE: it must be inlined into the caller's loop for that
// loop to vectorise, and gcc -O2 will not inline it on its own.
#ifndef ADVLAB_SIM_DMATH_H_
#define ADVLAB_SIM_DMATH_H_

#include <cstdint>
#include <cstring>

#include "sim/features.h"

namespace advlab {
namespace dm {

// Bit casts via memcpy: std::bit_cast is not available in device code and a
// union would be undefined behaviour in C++. Compilers turn these into moves.
ADVLAB_HD ADVLAB_FORCEINLINE uint64_t AsBits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

ADVLAB_HD ADVLAB_FORCEINLINE double FromBits(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

namespace detail {

// 1.5 * 2^52: adding it rounds a double with |v| < 2^51 to an integer (ties to
// even) and leaves that integer, two's complement, in the low mantissa bits.
constexpr double kRoundMagic = 0x1.8p52;
constexpr double kInvLn2 = 0x1.71547652b82fep0;
// ln2 = kLn2Hi + kLn2Lo (fdlibm). kLn2Hi has 32 significant bits, so k*kLn2Hi is
// exact for integers |k| < 2^21.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;

constexpr uint64_t kInfBits = 0x7ff0000000000000ULL;
constexpr uint64_t kNanBits = 0x7ff8000000000000ULL;
constexpr uint64_t kNegInfBits = 0xfff0000000000000ULL;

// 2^k from the magic-add sum t = k + kRoundMagic (k + 1023 in [1, 2046]). The
// shift drops everything but the low 12 bits of (k + 1023): the magic's own
// mantissa bit (2^51) and exponent fall off the top.
ADVLAB_HD ADVLAB_FORCEINLINE double Pow2FromMagic(double t) {
  return FromBits((AsBits(t) + 1023) << 52);
}

// High 26 bits of a (Veltkamp split, 2^27 + 1): a*a's high part is then exact.
// Needs round-to-nearest and no FMA contraction; |a| must be far from overflow.
ADVLAB_HD ADVLAB_FORCEINLINE double SplitHigh(double a) {
  const double g = a * 134217729.0;
  return g - (g - a);
}

// Splits x > 0 (normal or subnormal) as 2^k * (1 + f), 1 + f in [sqrt2/2, sqrt2);
// returns f (exact) and k as a double. Garbage, but no UB, for x <= 0, inf, NaN:
// callers fix those by selects (LogSpecial).
ADVLAB_HD ADVLAB_FORCEINLINE double LogReduce(double x, double* dk) {
  // Subnormals: scale by 2^54 into the normal range, take 54 off k.
  const bool tiny = x < 0x1p-1022;
  const double xs = tiny ? x * 0x1p54 : x;
  const double k_adjust = tiny ? 54.0 : 0.0;
  const uint64_t bits = AsBits(xs);
  // Adding 1.0's bits minus (sqrt2/2)'s bits carries into the exponent exactly
  // when the mantissa is >= sqrt2, so biased = k + 1023 for m in [sqrt2/2, sqrt2).
  const uint64_t biased = (bits + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL)) >> 52;
  const double m = FromBits(bits - (biased << 52) + (1023ULL << 52));
  // k as a double without an int->double conversion (vectorisable on SSE2).
  *dk = (FromBits(0x4330000000000000ULL | biased) - (0x1p52 + 1023.0)) - k_adjust;
  return m - 1.0;  // exact (Sterbenz)
}

// k*ln2 + log(1+f) + c for integer k, f exact in [sqrt2/2-1, sqrt2-1] and a
// small correction c (0 for Log; see Log1p).
ADVLAB_HD ADVLAB_FORCEINLINE double LogKernel(double dk, double f, double c) {
  // fdlibm e_log.c minimax coefficients (|error| < 2^-58.45 on [0, 0.1716]).
  constexpr double kLg1 = 0x1.5555555555593p-1;  // 6.666666666666735130e-01
  constexpr double kLg2 = 0x1.999999997fa04p-2;  // 3.999999999940941908e-01
  constexpr double kLg3 = 0x1.2492494229359p-2;  // 2.857142874366239149e-01
  constexpr double kLg4 = 0x1.c71c51d8e78afp-3;  // 2.222219843214978396e-01
  constexpr double kLg5 = 0x1.7466496cb03dep-3;  // 1.818357216161805012e-01
  constexpr double kLg6 = 0x1.39a09d078c69fp-3;  // 1.531383769920937332e-01
  constexpr double kLg7 = 0x1.2f112df3e5244p-3;  // 1.479819860511658591e-01
  // s = f/(2+f) as an unevaluated sum sh + sl accurate to ~2^-106: 2+f is exact
  // as d + dl (Fast2Sum), sh*d exact as p + p_err (Dekker's product), so the
  // residual f - sh*(d + dl) is known to far below an ulp of it.
  const double d = 2.0 + f;
  const double dl = (2.0 - d) + f;
  const double sh = f / d;
  const double p = sh * d;
  const double sh_hi = SplitHigh(sh);
  const double sh_lo = sh - sh_hi;
  const double d_hi = SplitHigh(d);
  const double d_lo = d - d_hi;
  const double p_err = (((sh_hi * d_hi - p) + sh_hi * d_lo) + sh_lo * d_hi) + sh_lo * d_lo;
  const double sl = (((f - p) - p_err) - sh * dl) / d;  // f - p is exact (Sterbenz)
  // log(1+f) = log(1+s) - log(1-s) = 2s + s*R(s^2), R the fdlibm minimax fit.
  const double z = sh * sh;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  // k*ln2hi + 2*sh is summed exactly as s1 + e1 (Fast2Sum: |k*ln2hi| >= 0.69 >
  // |2*sh| unless k = 0); the rest is small (|s*R| < 0.01 * |result|), so only the
  // last addition rounds by as much as 1/2 ulp.
  const double a = dk * kLn2Hi;  // exact
  const double two_sh = 2.0 * sh;
  const double s1 = a + two_sh;
  const double e1 = (a - s1) + two_sh;
  const double lo = ((dk * kLn2Lo + c) + 2.0 * sl) + sh * r;
  return s1 + (e1 + lo);
}

// Log's special inputs, by selects: +-0 -> -inf, < 0 -> NaN, +inf, NaN.
ADVLAB_HD ADVLAB_FORCEINLINE double LogSpecial(double x, double y) {
  y = (x == 0.0) ? FromBits(kNegInfBits) : y;
  y = (x < 0.0) ? FromBits(kNanBits) : y;
  y = (x == FromBits(kInfBits)) ? x : y;
  y = (x != x) ? x : y;  // NaN in, same NaN out
  return y;
}

// The reduction shared by Exp and Tanh: x = n ln2 + r + r_err (Cody-Waite; n =
// rint(x / ln2) by the magic add, t = n + kRoundMagic kept for Pow2FromMagic) and
// the pieces of exp(r) = 1 + r + half_rh2 + tail: r = rh + rl with rh of 26 bits
// (Veltkamp split), so rh^2/2 is exact; tail = (rh rl + rl^2/2) + r^3 q3(r),
// q3(r) = sum_{k=3..14} r^(k-3)/k! by Estrin's scheme, small enough that its
// rounding errors are far below an ulp of the result. r_err is the rounding
// error of r (exact when |hi| >= |lo|; otherwise r is tiny and it does not
// matter): exp(r + r_err) ~= exp(r) + r_err exp(r).
struct ExpReduction {
  double t, n, r, r_err, half_rh2, tail;
};

ADVLAB_HD ADVLAB_FORCEINLINE ExpReduction ReduceExp(double x) {
  // Taylor coefficients 1/k!, k = 3..14, correctly rounded.
  constexpr double kC3 = 0x1.5555555555555p-3;
  constexpr double kC4 = 0x1.5555555555555p-5;
  constexpr double kC5 = 0x1.1111111111111p-7;
  constexpr double kC6 = 0x1.6c16c16c16c17p-10;
  constexpr double kC7 = 0x1.a01a01a01a01ap-13;
  constexpr double kC8 = 0x1.a01a01a01a01ap-16;
  constexpr double kC9 = 0x1.71de3a556c734p-19;
  constexpr double kC10 = 0x1.27e4fb7789f5cp-22;
  constexpr double kC11 = 0x1.ae64567f544e4p-26;
  constexpr double kC12 = 0x1.1eed8eff8d898p-29;
  constexpr double kC13 = 0x1.6124613a86d09p-33;
  constexpr double kC14 = 0x1.93974a8c07c9dp-37;
  ExpReduction e;
  e.t = x * kInvLn2 + kRoundMagic;
  e.n = e.t - kRoundMagic;                    // rint(x / ln2)
  const double hi = x - e.n * kLn2Hi;         // exact
  const double lo = e.n * kLn2Lo;
  e.r = hi - lo;                              // |r| <= ~0.347
  e.r_err = (hi - e.r) - lo;
  const double r = e.r;
  const double rh = SplitHigh(r);
  const double rl = r - rh;
  e.half_rh2 = 0.5 * (rh * rh);
  const double r2 = r * r;
  const double r4 = r2 * r2;
  const double r8 = r4 * r4;
  const double q3 = ((kC3 + kC4 * r) + (kC5 + kC6 * r) * r2) +
                    ((kC7 + kC8 * r) + (kC9 + kC10 * r) * r2) * r4 +
                    ((kC11 + kC12 * r) + (kC13 + kC14 * r) * r2) * r8;
  e.tail = (rh * rl + 0.5 * (rl * rl)) + (r2 * r) * q3;
  return e;
}

}  // namespace detail

ADVLAB_HD ADVLAB_FORCEINLINE double Exp(double x) {
  using detail::kRoundMagic;

  // Clamp |x| to 746 (exp(746) overflows, exp(-746) underflows, both naturally
  // through the scaling below) so that n stays in range. Integer ops on the bit
  // pattern only, on purpose: gcc turns any float compare-and-select here into a
  // branch, threads or sinks the float work into it, and then (-ftrapping-math)
  // will not if-convert, so the loop would not vectorise. Unsigned differences
  // of non-negative bit patterns (< 2^63) compare them by their top bit.
  // NaN is left alone and propagates through the arithmetic.
  {
    constexpr uint64_t kAbsMask = 0x7fffffffffffffffULL;
    constexpr uint64_t kBoundBits = 0x4087500000000000ULL;  // 746.0
    const uint64_t bits = AsBits(x);
    const uint64_t abs_bits = bits & kAbsMask;
    const uint64_t is_nan = uint64_t{0} - ((detail::kInfBits - abs_bits) >> 63);
    const uint64_t clamp = (uint64_t{0} - ((kBoundBits - abs_bits) >> 63)) & ~is_nan;
    x = FromBits((bits & ~clamp) | (((bits & ~kAbsMask) | kBoundBits) & clamp));
  }
  const detail::ExpReduction red = detail::ReduceExp(x);  // |n| <= 1076
  const double n = red.n, r = red.r, r_err = red.r_err;
  const double half_rh2 = red.half_rh2, tail = red.tail;

  // 1 + r + rh^2/2 as s2 + (e1 + e2) by two Fast2Sums (|1| >= |r|, s1 >= rh^2/2),
  // so the only rounding of size 1/2 ulp is the last addition.
  const double s1 = 1.0 + r;
  const double e1 = (1.0 - s1) + r;
  const double s2 = s1 + half_rh2;
  const double e2 = (s1 - s2) + half_rh2;
  const double y = s2 + ((e1 + e2) + (tail + r_err * s2));  // in [0.70, 1.42]

  // 2^n = 2^n1 * 2^n2, n1 = rint(n/2): both factors are normal for |n| <= 1077.
  const double t1 = n * 0.5 + kRoundMagic;
  const double n1 = t1 - kRoundMagic;
  const double t2 = (n - n1) + kRoundMagic;
  return (y * detail::Pow2FromMagic(t1)) * detail::Pow2FromMagic(t2);
}

ADVLAB_HD inline double Log(double x) {
  double dk;
  const double f = detail::LogReduce(x, &dk);
  return detail::LogSpecial(x, detail::LogKernel(dk, f, 0.0));
}

// IEEE square root (correctly rounded on every backend, so not in-house): the
// one spelling host/device code uses.
ADVLAB_HD ADVLAB_FORCEINLINE double Sqrt(double x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return __builtin_sqrt(x);
#endif
}

ADVLAB_HD inline double Log1p(double x) {
  // Near 0, 1 + x is already in the kernel's range: use f = x itself (exact),
  // nothing is rounded. Elsewhere reduce u = 1 + x and add c, the first-order
  // correction for the rounding of u: log(u + d) = log(u) + d/u + O(d^2), with
  // d = x - (u - 1) exact. c is 0 for x < -0.29 (u exact) and below 2^-53
  // relative to the result for x > 0.41, so its own rounding is harmless.
  constexpr double kLow = -0x1.2bec333018866p-2;  // sqrt2/2 - 1
  constexpr double kHigh = 0x1.a827999fcef34p-2;  // sqrt2 - 1
  const double u = 1.0 + x;
  double dk;
  const double fu = detail::LogReduce(u, &dk);
  const bool near0 = x > kLow && x < kHigh;
  const double f = near0 ? x : fu;
  dk = near0 ? 0.0 : dk;
  // NaN for u = 0 or inf; LogSpecial overrides those results.
  const double c = near0 ? 0.0 : (x - (u - 1.0)) / u;
  const double y = detail::LogSpecial(u, detail::LogKernel(dk, f, c));
  // |x| < 2^-54: log1p(x) = x*(1 - x/2 + ...) rounds to x; this also keeps -0 and
  // keeps subnormal x away from the kernel, whose s = x/2 would lose bits.
  return (x > -0x1p-54 && x < 0x1p-54) ? x : y;
}

ADVLAB_HD ADVLAB_FORCEINLINE double Tanh(double x) {
  // 1/k!, k = 3..14, as in Exp.
  constexpr uint64_t kSignMask = 0x8000000000000000ULL;
  constexpr uint64_t kBoundBits = 0x403319999999999aULL;  // 19.1

  const uint64_t bits = AsBits(x);
  const uint64_t sign = bits & kSignMask;
  const uint64_t abs_bits = bits & ~kSignMask;
  // a = min(|x|, 19.1) by integer ops on the bits (NaN is clamped too and
  // restored at the end), so that n = rint(2a / ln2) <= 55. Masks are all ones
  // or zero.
  const uint64_t over = uint64_t{0} - ((kBoundBits - abs_bits) >> 63);  // |x| > 19.1
  const uint64_t is_nan = uint64_t{0} - ((detail::kInfBits - abs_bits) >> 63);
  const double a = FromBits((abs_bits & ~over) | (kBoundBits & over));

  // Reduction as in Exp: 2a = n ln2 + r + r_err.
  const double y = 2.0 * a;  // exact
  const detail::ExpReduction red = detail::ReduceExp(y);  // 0 <= n <= 55
  const double t = red.t, r = red.r, r_err = red.r_err;
  const double half_rh2 = red.half_rh2, tail = red.tail;
  // expm1(r + r_err) = s1 + p_lo: r + rh^2/2 by a Fast2Sum (|r| >= r^2/2, rh^2
  // exact), the rest (Exp's tail, r_err * exp(r)) is small.
  const double s1 = r + half_rh2;
  const double e1 = (r - s1) + half_rh2;
  const double p_lo = e1 + (tail + r_err * (1.0 + r));
  // U = expm1(2a) = (2^n - 1) + 2^n (s1 + p_lo) = u + u_lo. 2^n - 1 is exact for
  // n <= 53 (n = 54, 55 only where tanh rounds to within an ulp of 1); products
  // by 2^n are exact; |2^n - 1| >= |2^n s1| for n >= 1 (Fast2Sum), and for n = 0
  // the first sum is exact anyway.
  const double scale = detail::Pow2FromMagic(t);
  const double big = scale - 1.0;
  const double b1 = scale * s1;
  const double s = big + b1;
  const double e = (big - s) + b1;
  const double w = e + scale * p_lo;
  const double u = s + w;
  const double u_lo = w - (u - s);  // Fast2Sum: |s| >= |w|
  // tanh(a) = U / D, D = U + 2 = d + d_lo (TwoSum). q0 = u / d (as u * rho,
  // rho = 1/d), corrected by the residual U - q0 D, exact up to ~2^-106 (Dekker's
  // product q0 d = p + p_err; u - p is exact by Sterbenz): the roundings of d,
  // rho and q0 cancel to first order.
  const double d = u + 2.0;
  const double bv = d - u;
  const double d_lo = ((u - (d - bv)) + (2.0 - bv)) + u_lo;
  const double rho = 1.0 / d;
  const double q0 = u * rho;
  const double p = q0 * d;
  const double qh = detail::SplitHigh(q0);
  const double ql = q0 - qh;
  const double dh = detail::SplitHigh(d);
  const double dl = d - dh;
  const double p_err = (((qh * dh - p) + qh * dl) + ql * dh) + ql * dl;
  const double resid = (((u - p) - p_err) + u_lo) - q0 * d_lo;
  const double th = q0 + resid * rho;

  // Selects on the bit patterns (as in Exp: gcc turns float selects into
  // branches, and a loop of Tanh would not vectorise).
  const uint64_t mag = (AsBits(th) & ~over) | (AsBits(1.0) & over);
  return FromBits(((mag | sign) & ~is_nan) | (bits & is_nan));
}

}  // namespace dm
}  // namespace advlab

#endif  // ADVLAB_SIM_DMATH_H_
