#include "sim/rng.h"

#include <gtest/gtest.h>

#include <set>

namespace advlab {
namespace {

// Random123's known-answer vectors (kat_vectors, "philox4x32 10" lines):
// counter (4 words), key (2 words) -> output (4 words).
TEST(PhiloxTest, Random123KnownAnswers) {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    Words4 w = Philox::Block(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(w.w[i], k.out[i]) << "word " << i;
  }
}

TEST(PhiloxTest, DrawUsesSeedAsKeyAndCoordinatesAsCounter) {
  const uint64_t seed = 0x299f31d0a4093822ULL;
  Philox rng(seed);
  Words4 a = rng.Draw(static_cast<Purpose>(0x03707344), 0x243f6a88, 0x85a308d3, 0x13198a2e);
  EXPECT_EQ(a.w[0], 0xd16cfe09u);
  EXPECT_EQ(a.w[3], 0x24126ea1u);
  // Different coordinates or purposes give different blocks.
  Words4 b = rng.Draw(Purpose::kRollout, 1, 2, 3);
  Words4 c = rng.Draw(Purpose::kPromptDraw, 1, 2, 3);
  Words4 d = rng.Draw(Purpose::kRollout, 1, 2, 4);
  EXPECT_NE(b.w[0], c.w[0]);
  EXPECT_NE(b.w[0], d.w[0]);
  // Same coordinates: same block, whatever was drawn in between.
  EXPECT_EQ(rng.Draw(Purpose::kRollout, 1, 2, 3).w[2], b.w[2]);
}

TEST(PhiloxTest, U01IsInsideTheOpenInterval) {
  EXPECT_GT(U01(0), 0.0);
  EXPECT_LT(U01(0xffffffffu), 1.0);
  EXPECT_EQ(U01(0), 0.5 / 4294967296.0);
  EXPECT_EQ(U01(0x80000000u), 0.5 + 0.5 / 4294967296.0);
}

TEST(PhiloxTest, UniformIndexCoversRangeAndIsRoughlyUniform) {
  EXPECT_EQ(UniformIndex(0, 7), 0u);
  EXPECT_EQ(UniformIndex(0xffffffffu, 7), 6u);
  Philox rng(42);
  int counts[10] = {0};
  const int n = 100000;
  for (int i = 0; i < n / 4; ++i) {
    Words4 w = rng.Draw(Purpose::kEval, static_cast<uint32_t>(i), 0, 0);
    for (int j = 0; j < 4; ++j) counts[UniformIndex(w.w[j], 10)]++;
  }
  // Each bin ~ Binomial(1e5, 0.1): sd ~ 95; 6 sd bounds.
  for (int b = 0; b < 10; ++b) {
    EXPECT_GT(counts[b], 10000 - 570) << b;
    EXPECT_LT(counts[b], 10000 + 570) << b;
  }
}

}  // namespace
}  // namespace advlab
