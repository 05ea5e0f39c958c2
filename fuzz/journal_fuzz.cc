// The sweep journal reader (experiments/journal.h) on the bytes of a journal
// file: DecodeJournalHeader on the bytes, ReadJournalHeader and ScanJournal on
// the file, HeaderMismatch against the header of a fixed sweep (the one the
// seeds come from), then what a resume does with the result: JournalWriter's
// Keep of the good bytes and an Append after them. Besides "no crash and only
// one-line UserErrors", every answer is checked against a plain in-memory
// model of the format (docs/sweeps.md): the header re-encodes to its bytes,
// the file and the in-memory decoders agree, good_bytes + dropped_bytes is the
// file size, the good records are exactly the leading records whose magic,
// run index and checksum hold, and the file after Keep scans clean.
//
// Input: byte 0 is a flag byte, the rest the journal's bytes. Flag 1 writes
// the header's true checksum into it and flag 2 every whole record's (after
// a good header), so mutations of the fields behind a checksum (the lengths,
// runs, values per run, run indices) reach the code that trusts them.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "experiments/journal.h"
#include "experiments/resume.h"
#include "experiments/sha256.h"
#include "experiments/sweep.h"
#include "fuzz/fuzz_util.h"
#include "sim/error.h"

namespace {

using advlab::DecodedHeader;
using advlab::Digest32;
using advlab::JournalHeader;
using S = DecodedHeader::Status;

constexpr uint64_t kHead = 8 + 8 + 32;  // record magic, run, identity
// ScanJournal trusts values_per_run (resume.cc scans only a header that
// HeaderMismatch accepted, whose V is the sweep's): other headers are scanned
// only while their records stay small.
constexpr uint64_t kMaxFuzzValues = uint64_t{1} << 17;

#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "journal_fuzz: %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                               \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

Digest32 Sha(const char* p, size_t n) {
  advlab::Sha256 h;
  h.Bytes(p, n);
  return h.Finish();
}

uint64_t Le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The header of the sweep the seeds were made by (fuzz/README.md):
// advlab sweep --env.name=choice --train.steps=20000 --train.eval_every=10000
//   --grid optim.lr=1,2 --seeds 2
const JournalHeader& Here() {
  static const JournalHeader h = [] {
    const advlab::SweepPlan plan = advlab::PlanSweep(
        {{"env.name", "choice"}, {"train.steps", "20000"}, {"train.eval_every", "10000"}},
        {advlab::GridAxis("optim.lr", {"1", "2"})}, 2);
    return advlab::SweepJournalHeader(plan);
  }();
  return h;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  FUZZ_CHECK(stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_size);
}

bool SameHeader(const DecodedHeader& a, const DecodedHeader& b) {
  return a.status == b.status && a.format == b.format && a.bytes == b.bytes &&
         a.identity == b.identity && a.header.advlab_version == b.header.advlab_version &&
         a.header.runs == b.header.runs && a.header.values_per_run == b.header.values_per_run &&
         a.header.description == b.header.description;
}

// Whether the whole record at `r` (rb bytes) is one ScanJournal must accept.
bool GoodRecord(const char* r, uint64_t rb, uint64_t runs) {
  return std::memcmp(r, advlab::kRecordMagic, 8) == 0 && Le64(r + 8) < runs &&
         Sha(r, rb - 32) == *reinterpret_cast<const Digest32*>(r + rb - 32);
}

// Scans `path` and checks the answer against the model (`bytes`: the file).
advlab::JournalScan CheckedScan(const std::string& path, const DecodedHeader& d,
                                const std::vector<char>& bytes) {
  const uint64_t V = d.header.values_per_run, rb = advlab::JournalRecordBytes(V);
  uint64_t seen = 0;
  const advlab::JournalScan scan =
      advlab::ScanJournal(path, d, [&](const advlab::JournalRecordView& v) {
        FUZZ_CHECK(v.ordinal == seen);
        FUZZ_CHECK(v.run < d.header.runs);
        const uint64_t at = d.bytes + seen * rb;
        FUZZ_CHECK(at + rb <= bytes.size());
        const char* r = bytes.data() + at;
        FUZZ_CHECK(GoodRecord(r, rb, d.header.runs));
        FUZZ_CHECK(v.run == Le64(r + 8));
        FUZZ_CHECK(std::memcmp(v.identity->data(), r + 16, 32) == 0);
        FUZZ_CHECK(V == 0 || std::memcmp(v.values, r + kHead, 8 * V) == 0);
        ++seen;
      });
  const uint64_t size = bytes.size();
  FUZZ_CHECK(scan.records == seen);
  FUZZ_CHECK(scan.good_bytes + scan.dropped_bytes == size);
  FUZZ_CHECK(scan.good_bytes >= d.bytes && (scan.good_bytes - d.bytes) % rb == 0);
  FUZZ_CHECK(scan.records == (scan.good_bytes - d.bytes) / rb);
  // What stops the scan: the end, a torn record, or a bad whole one.
  const uint64_t rest = scan.dropped_bytes;
  if (rest == 0) {
    FUZZ_CHECK(!scan.torn);
  } else if (rest < rb) {
    FUZZ_CHECK(scan.torn);
  } else {
    FUZZ_CHECK(!scan.torn);
    FUZZ_CHECK(!GoodRecord(bytes.data() + scan.good_bytes, rb, d.header.runs));
  }
  return scan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const char* base = getenv("TMPDIR");
    return std::string(base != nullptr ? base : "/tmp") + "/journal_fuzz." +
           std::to_string(getpid()) + ".journal";
  }();
  // JOURNAL_FUZZ_SHOW=1: print what each input decodes and scans to.
  static const bool show = getenv("JOURNAL_FUZZ_SHOW") != nullptr;
  const JournalHeader& here = Here();
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  // An exact-size copy: ASan sees any read past the end.
  std::vector<char> bytes(data + 1, data + size);
  const uint64_t n = bytes.size();

  // Fix-ups (flag byte), so fields behind the checksums can be fuzzed.
  DecodedHeader d = advlab::DecodeJournalHeader(bytes.data(), n);
  if ((flags & 1) && d.status == S::kCorrupt && d.bytes > 0) {
    const Digest32 sum = Sha(bytes.data(), d.bytes - 32);
    std::memcpy(bytes.data() + d.bytes - 32, sum.data(), 32);
    d = advlab::DecodeJournalHeader(bytes.data(), n);
    FUZZ_CHECK(d.status == S::kOk);
  }
  const bool scannable = d.status == S::kOk && d.header.values_per_run <= kMaxFuzzValues;
  if ((flags & 2) && scannable) {
    const uint64_t rb = advlab::JournalRecordBytes(d.header.values_per_run);
    for (uint64_t at = d.bytes; at + rb <= n; at += rb) {
      const Digest32 sum = Sha(bytes.data() + at, rb - 32);
      std::memcpy(bytes.data() + at + rb - 32, sum.data(), 32);
    }
  }

  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (n > 0 && std::fwrite(bytes.data(), 1, n, f) != n) abort();
  std::fclose(f);

  advlab::ExpectOnlyUserError([&] {
    // The in-memory and the file decoders agree; the header round-trips.
    const DecodedHeader file = advlab::ReadJournalHeader(path);
    FUZZ_CHECK(SameHeader(d, file));
    switch (d.status) {
      case S::kNotJournal:
        FUZZ_CHECK(n < 8 || std::memcmp(bytes.data(), advlab::kJournalMagic, 8) != 0);
        break;
      case S::kOtherFormat:
        FUZZ_CHECK(d.format != advlab::kJournalFormat);
        break;
      case S::kTruncated:
        break;
      case S::kOk:
      case S::kCorrupt:
        if (d.status == S::kOk || d.bytes > 0) {
          const std::string enc = advlab::EncodeJournalHeader(d.header);
          FUZZ_CHECK(enc.size() == d.bytes && d.bytes <= n);
          FUZZ_CHECK(std::memcmp(enc.data(), bytes.data(), d.bytes - 32) == 0);
          FUZZ_CHECK((std::memcmp(enc.data() + d.bytes - 32, bytes.data() + d.bytes - 32, 32) == 0) ==
                     (d.status == S::kOk));
        }
        break;
    }
    // The refusal is a middle of a one-line message; "" only for our sweep.
    const std::string why = advlab::HeaderMismatch(d, here);
    FUZZ_CHECK(why.find('\n') == std::string::npos);
    const bool ours = d.status == S::kOk && d.header.advlab_version == here.advlab_version &&
                      d.header.description == here.description && d.header.runs == here.runs &&
                      d.header.values_per_run == here.values_per_run;
    FUZZ_CHECK(why.empty() == ours);
    if (show) {
      std::fprintf(stderr, "status %d, header %llu bytes, %s\n", static_cast<int>(d.status),
                   static_cast<unsigned long long>(d.bytes),
                   why.empty() ? "our sweep's" : ("mismatch: " + why).c_str());
    }
    if (!scannable) return;

    advlab::JournalScan scan = CheckedScan(path, d, bytes);
    if (show) {
      std::fprintf(stderr, "  %llu records, %llu good bytes, %llu dropped%s\n",
                   static_cast<unsigned long long>(scan.records),
                   static_cast<unsigned long long>(scan.good_bytes),
                   static_cast<unsigned long long>(scan.dropped_bytes), scan.torn ? " (torn)" : "");
    }
    // A resume: cut the bad tail, then append one more run.
    const uint64_t V = d.header.values_per_run;
    const uint64_t records = scan.records;
    {
      advlab::JournalWriter w(path, V);
      w.Keep(scan.good_bytes);
      FUZZ_CHECK(FileSize(path) == scan.good_bytes);
      if (d.header.runs > 0) {
        std::vector<double> values(V);
        for (uint64_t i = 0; i < V; ++i) values[i] = static_cast<double>(i) - 0.5;
        Digest32 identity{};
        identity[0] = 0x5a;
        w.Append(d.header.runs - 1, identity, values.data());
        const std::string rec =
            advlab::EncodeJournalRecord(d.header.runs - 1, identity, values.data(), V);
        bytes.resize(scan.good_bytes);
        bytes.insert(bytes.end(), rec.begin(), rec.end());
      } else {
        bytes.resize(scan.good_bytes);
      }
    }
    FUZZ_CHECK(FileSize(path) == bytes.size());
    scan = CheckedScan(path, d, bytes);
    FUZZ_CHECK(scan.dropped_bytes == 0 && !scan.torn);
    FUZZ_CHECK(scan.records == records + (d.header.runs > 0 ? 1 : 0));
  });
  return 0;
}
