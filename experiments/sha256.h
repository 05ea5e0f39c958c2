// SHA-256 (OpenSSL EVP) over a byte stream, with little-endian integer and
// float appenders: the results digest (h5io.cc) and the sweep journal
// (journal.cc) hash with it. Buffered, so per-value appends stay cheap.
#ifndef ADVLAB_EXPERIMENTS_SHA256_H_
#define ADVLAB_EXPERIMENTS_SHA256_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "sim/check.h"

namespace advlab {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256() : ctx_(EVP_MD_CTX_new()) {
    ADVLAB_CHECK(ctx_ != nullptr);
    ADVLAB_CHECK(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Bytes(const void* data, size_t n) {
    buf_.append(static_cast<const char*>(data), n);
    if (buf_.size() >= kFlushBytes) Flush();
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void U64(uint64_t v) {
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(v >> (8 * i));
    Bytes(le, sizeof(le));
  }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    U64(bits);
  }
  void Str(const std::string& s) {
    I64(static_cast<int64_t>(s.size()));
    Bytes(s.data(), s.size());
  }

  // The 32 digest bytes; the hasher is spent afterwards.
  Digest Finish() {
    Flush();
    Digest md{};
    unsigned int len = 0;
    ADVLAB_CHECK(EVP_DigestFinal_ex(ctx_, md.data(), &len) == 1);
    ADVLAB_CHECK_EQ(len, md.size());
    return md;
  }
  std::string HexDigest() { return Hex(Finish()); }

  static std::string Hex(const Digest& md) {
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (uint8_t b : md) {
      hex.push_back(kHex[b >> 4]);
      hex.push_back(kHex[b & 0xf]);
    }
    return hex;
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 16;
  void Flush() {
    if (buf_.empty()) return;
    ADVLAB_CHECK(EVP_DigestUpdate(ctx_, buf_.data(), buf_.size()) == 1);
    buf_.clear();
  }

  EVP_MD_CTX* ctx_;
  std::string buf_;
};

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_SHA256_H_
