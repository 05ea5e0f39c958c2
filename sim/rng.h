// Counter-based randomness: Philox4x32-10 (Salmon et al., SC'11, "Parallel random
// numbers: as easy as 1, 2, 3"), from Random123.
//
// Key   = the run's 64-bit seed, as two 32-bit words (lo, hi). Seeds are 32-bit
//         (the `seed` key), so the high word names a stream: 0 = training,
//         j + 1 = the j-th diagnostic batch (sim/diagnostics.cc).
// Counter = the coordinates of the draw: {a, b, c, purpose}, e.g.
//           {step, prompt slot, rollout block, kRollout}.
// A draw therefore never depends on a thread, a block or a loop order, and a run
// draws the same numbers alone, inside a sweep, on any thread or on a GPU. Runs of
// a sweep that share a seed share their random numbers on purpose (common random
// numbers make paired comparisons between estimators sharper).
//
// Each Philox call yields four 32-bit words; callers use all four (e.g. four
// rollouts per call). Conversions below are exact functions of the words.
#ifndef ADVLAB_SIM_RNG_H_
#define ADVLAB_SIM_RNG_H_

#include <cstdint>

#include <Random123/philox.h>

#include "sim/features.h"

namespace advlab {

// Purpose tags: the fourth counter word. Never reuse or renumber a tag once
// released: that would change every result.
enum class Purpose : uint32_t {
  kPool = 1,        // task instance: prompt pool, correct answers   {prompt, 0, 0}
  kPromptDraw = 2,  // training prompts of a step                    {step, slot/4, 0}
  kRollout = 3,     // response tokens                               {step, slot, block}
  kInit = 4,        // policy initialisation                         {param block, 0, 0}
  kBootstrap = 5,   // analysis resampling (not a run's stream)      {config, rep, block}
  kDrift = 6,       // stochastic drift schedules                    {step, ...}
  kEval = 7,        // sampled evaluation                            {eval, ...}
  kVerifier = 8,    // verifier noise                                {step, group, block}
  kCriticInit = 9,  // gae's MLP critic initialisation               {param block, 0, 0}
  kLossSelect = 10, // a batch-level loss's token pick (clip_cov)   {step, token/4, update}
};

struct Words4 {
  uint32_t w[4];
};

class Philox {
 public:
  ADVLAB_HD explicit Philox(uint64_t seed) {
    key_.v[0] = static_cast<uint32_t>(seed);
    key_.v[1] = static_cast<uint32_t>(seed >> 32);
  }

  // Raw block for an explicit counter (used by the known-answer tests).
  ADVLAB_HD static Words4 Block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                uint32_t k0, uint32_t k1) {
    r123::Philox4x32 gen;
    r123::Philox4x32::ctr_type ctr = {{c0, c1, c2, c3}};
    r123::Philox4x32::key_type key = {{k0, k1}};
    r123::Philox4x32::ctr_type out = gen(ctr, key);
    return Words4{{out.v[0], out.v[1], out.v[2], out.v[3]}};
  }

  // An independent stream: the key's high word XOR (2^31 | k). Training keys have
  // a high word 0 and diagnostic ones j + 1 < 2^31, so stream k >= 0 of any of
  // them never meets another (used for DAPO's resampling rounds).
  ADVLAB_HD Philox Stream(uint32_t k) const {
    Philox p(*this);
    p.key_.v[1] ^= 0x80000000u | k;
    return p;
  }

  // Four words for the draw at coordinates (a, b, c) with a purpose tag.
  ADVLAB_HD Words4 Draw(Purpose purpose, uint32_t a, uint32_t b, uint32_t c) const {
    return Block(a, b, c, static_cast<uint32_t>(purpose), key_.v[0], key_.v[1]);
  }

 private:
  r123::Philox4x32::key_type key_;
};

// Uniform double in the open interval (0, 1): (w + 1/2) / 2^32. Exact (every
// result is representable), never 0 or 1, so log(u) and log(1-u) are finite.
ADVLAB_HD inline double U01(uint32_t w) {
  return (static_cast<double>(w) + 0.5) * (1.0 / 4294967296.0);
}

// Integer in [0, n) by multiply-shift (Lemire): floor(w * n / 2^32). Bias at most
// n / 2^32 per value (2.4e-7 for n = 1024); an exact function of w.
ADVLAB_HD inline uint32_t UniformIndex(uint32_t w, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(w) * n) >> 32);
}

}  // namespace advlab

#endif  // ADVLAB_SIM_RNG_H_
